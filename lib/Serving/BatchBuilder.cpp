//===- BatchBuilder.cpp - One step's batch from its requests ------------===//

#include "hssm/Serving/BatchBuilder.h"
#include "hssm/Harness/Harness.h"

#include <limits>
#include <set>
#include <string>

using namespace hssm;
using namespace hssm::serving;

static std::string num(int64_t v) { return std::to_string(v); }

BatchView StepBatch::view() const {
  return ::hssm::harness::batchView(batch, numTokens());
}

Status hssm::serving::buildBatch(const std::vector<ScheduledRequest> &requests,
                                 const PoolLimits &pool, StepBatch &out) {
  std::set<int64_t> ids;
  int64_t tokens = 0;
  for (const ScheduledRequest &r : requests) {
    std::string who = "request " + num(r.id);
    if (r.newTokens < 1)
      return Status::error(who + " has " + num(r.newTokens) +
                           " new tokens: a scheduled request adds at least 1");
    if (r.computedTokens < 0)
      return Status::error(who + " has " + num(r.computedTokens) +
                           " computed tokens: the count cannot be negative");
    if (!ids.insert(r.id).second)
      return Status::error(who + " is scheduled twice in one step");
    // Slots must survive the narrowing to i32 unchanged for checkBatch to
    // see the value the caller gave.
    if (r.slot < std::numeric_limits<int32_t>::min() ||
        r.slot > std::numeric_limits<int32_t>::max())
      return Status::error(who + " has slot " + num(r.slot) +
                           ", which does not fit the i32 state_indices");
    // checkBatch would take such a row for padding and skip it silently.
    if (r.slot == pool.padSlotId)
      return Status::error(who + " has slot " + num(r.slot) +
                           ", the pad slot: a request needs a real slot");
    tokens += r.newTokens;
    if (tokens > std::numeric_limits<int32_t>::max())
      return Status::error("the step's token count exceeds the i32 range of "
                           "query_start_loc");
  }

  StepBatch b;
  b.batch.queryStartLoc.push_back(0);
  for (bool decodes : {true, false}) {
    for (size_t i = 0; i < requests.size(); ++i) {
      const ScheduledRequest &r = requests[i];
      if (r.isDecode() != decodes)
        continue;
      b.batch.queryStartLoc.push_back(b.batch.queryStartLoc.back() +
                                      int32_t(r.newTokens));
      b.batch.stateIndices.push_back(int32_t(r.slot));
      b.batch.hasInitialState.push_back(r.computedTokens > 0 ? 1 : 0);
      b.rowRequest.push_back(int64_t(i));
      ++(decodes ? b.batch.numDecodes : b.batch.numPrefills);
    }
  }
  if (Status st = checkBatch(b.view(), pool); !st)
    return st;
  out = std::move(b);
  return Status::success();
}

Status hssm::serving::padDecodeBatch(StepBatch &batch, int64_t targetRows,
                                     const PoolLimits &pool) {
  if (batch.numPrefills() != 0)
    return Status::error(
        "cannot pad a batch with " + num(batch.numPrefills()) +
        " prefills: only decode-only batches replay a fixed-size graph");
  if (batch.numRows() > targetRows)
    return Status::error("cannot pad a batch of " + num(batch.numRows()) +
                         " decodes to " + num(targetRows) +
                         " rows: it is already larger");
  StepBatch padded = batch;
  for (int64_t r = batch.numRows(); r < targetRows; ++r) {
    padded.batch.queryStartLoc.push_back(padded.batch.queryStartLoc.back() + 1);
    padded.batch.stateIndices.push_back(int32_t(pool.padSlotId));
    // Explicit destinations stay one per row.
    if (!padded.batch.dstStateIndices.empty())
      padded.batch.dstStateIndices.push_back(int32_t(pool.padSlotId));
    padded.batch.hasInitialState.push_back(1);
    padded.rowRequest.push_back(-1);
    ++padded.batch.numDecodes;
    ++padded.numPadRows;
  }
  if (Status st = checkBatch(padded.view(), pool); !st)
    return st;
  batch = std::move(padded);
  return Status::success();
}
