//===- BatchCheck.cpp - The rules of one step's batch metadata ------------===//
//
// SPEC.md section 3. The check runs on the host before any kernel touches a
// pool, so that a bad batch is reported before anything is written. Messages
// use the SPEC's field names (query_start_loc, state_indices, ...) and name
// the row and the rule.
//
//===----------------------------------------------------------------------===//

#include "hssm/Runtime/Batch.h"

#include <cstdint>
#include <string>
#include <unordered_map>

namespace hssm {

namespace {

std::string at(const char *field, int64_t row) {
  return std::string(field) + "[" + std::to_string(row) + "]";
}

std::string num(int64_t v) { return std::to_string(v); }

/// Checks one count is not negative.
Status checkCount(const char *field, int64_t value) {
  if (value < 0)
    return Status::error(std::string(field) + " = " + num(value) +
                         " is negative: counts must be >= 0");
  return Status::success();
}

} // namespace

Status checkBatch(const BatchView &batch, const PoolLimits &pool) {
  const int64_t numReqs = batch.numReqs;

  // Counts first: everything below indexes by them.
  for (auto [field, value] :
       {std::pair<const char *, int64_t>{"num_reqs", batch.numReqs},
        {"num_tokens", batch.numTokens},
        {"num_decodes", batch.numDecodes},
        {"num_decode_tokens", batch.numDecodeTokens},
        {"num_prefills", batch.numPrefills},
        {"num_prefill_tokens", batch.numPrefillTokens},
        {"num_slots", pool.numSlots}})
    if (Status s = checkCount(field, value); !s)
      return s;

  if (numReqs > 0) {
    if (!batch.queryStartLoc)
      return Status::error(
          "query_start_loc is null but num_reqs = " + num(numReqs) +
          ": it must hold num_reqs + 1 offsets");
    if (!batch.stateIndices)
      return Status::error("state_indices is null but num_reqs = " +
                           num(numReqs) + ": it must hold one slot per row");
    if (!batch.hasInitialState)
      return Status::error("has_initial_state is null but num_reqs = " +
                           num(numReqs) + ": it must hold one flag per row");
  }

  if (batch.numDecodes + batch.numPrefills != numReqs)
    return Status::error("num_decodes (" + num(batch.numDecodes) +
                         ") + num_prefills (" + num(batch.numPrefills) +
                         ") != num_reqs (" + num(numReqs) +
                         "): every row is a decode or a prefill");
  if (batch.numDecodeTokens != batch.numDecodes)
    return Status::error("num_decode_tokens (" + num(batch.numDecodeTokens) +
                         ") != num_decodes (" + num(batch.numDecodes) +
                         "): a decode has exactly one token");
  if (batch.numDecodeTokens + batch.numPrefillTokens != batch.numTokens)
    return Status::error("num_decode_tokens (" + num(batch.numDecodeTokens) +
                         ") + num_prefill_tokens (" +
                         num(batch.numPrefillTokens) + ") != num_tokens (" +
                         num(batch.numTokens) +
                         "): decode and prefill tokens make up the step");

  // query_start_loc: starts at 0, never decreases, ends at T. Together these
  // keep every offset inside [0, T].
  const int32_t *qsl = batch.queryStartLoc;
  if (!qsl) {
    // Only reachable with num_reqs == 0: an empty step has no tokens.
    if (batch.numTokens != 0)
      return Status::error(
          "query_start_loc is null but num_tokens = " + num(batch.numTokens) +
          ": query_start_loc[num_reqs] must equal num_tokens");
  } else {
    if (qsl[0] != 0)
      return Status::error("query_start_loc[0] = " + num(qsl[0]) +
                           " is not 0: offsets must start at 0");
    for (int64_t r = 0; r < numReqs; ++r) {
      if (qsl[r + 1] < qsl[r])
        return Status::error(at("query_start_loc", r + 1) + " = " +
                             num(qsl[r + 1]) + " is less than " +
                             at("query_start_loc", r) + " = " + num(qsl[r]) +
                             ": offsets must be non-decreasing");
    }
    if (qsl[numReqs] != batch.numTokens)
      return Status::error(at("query_start_loc", numReqs) + " = " +
                           num(qsl[numReqs]) +
                           " is not num_tokens = " + num(batch.numTokens) +
                           ": the last offset must equal the token count");
    for (int64_t r = 0; r < batch.numDecodes; ++r) {
      int64_t len = int64_t(qsl[r + 1]) - qsl[r];
      if (len != 1)
        return Status::error("row " + num(r) + " is a decode but " +
                             at("query_start_loc", r + 1) + " - " +
                             at("query_start_loc", r) + " = " + num(len) +
                             ": a decode row has exactly one token");
    }
  }

  // Slots. A row reading pad_slot_id is padding: nothing else about it
  // matters. Live rows must read and write real slots.
  auto inPool = [&](int64_t slot) { return slot >= 0 && slot < pool.numSlots; };
  // dst slot -> the live row writing it; sized by rows, not by the pool.
  std::unordered_map<int64_t, int64_t> writer;
  writer.reserve(static_cast<size_t>(numReqs));
  for (int64_t r = 0; r < numReqs; ++r) {
    int64_t src = batch.stateIndices[r];
    if (src == pool.padSlotId)
      continue;
    if (!inPool(src))
      return Status::error(at("state_indices", r) + " = " + num(src) +
                           " is outside [0, " + num(pool.numSlots) +
                           ") and is not pad_slot_id = " + num(pool.padSlotId) +
                           ": a slot must exist in the pool");
    const char *dstField =
        batch.dstStateIndices ? "dst_state_indices" : "state_indices";
    int64_t dst = batch.dstStateIndices ? batch.dstStateIndices[r] : src;
    if (!inPool(dst))
      return Status::error(at(dstField, r) + " = " + num(dst) +
                           " is outside [0, " + num(pool.numSlots) +
                           "): a live row must write a slot of the pool");
    if (dst == pool.padSlotId)
      return Status::error(at(dstField, r) + " = " + num(dst) +
                           " is pad_slot_id but " + at("state_indices", r) +
                           " = " + num(src) +
                           " is live: a live row may not write the pad slot");
    auto [it, inserted] = writer.emplace(dst, r);
    if (!inserted)
      return Status::error(at(dstField, it->second) + " and " +
                           at(dstField, r) + " both = " + num(dst) +
                           ": two live rows may not write the same slot");
  }
  // Rows run in parallel (and decodes before prefills), so a slot that one
  // row writes must not be another row's initial state: its value would
  // depend on the order. A row may read and write its own slot.
  if (batch.dstStateIndices) {
    for (int64_t r = 0; r < numReqs; ++r) {
      int64_t src = batch.stateIndices[r];
      if (src == pool.padSlotId)
        continue;
      auto it = writer.find(src);
      if (it != writer.end() && it->second != r)
        return Status::error(
            at("dst_state_indices", it->second) + " = " + num(src) +
            " is also " + at("state_indices", r) +
            ": a slot written in a step may not be read by another row");
    }
  }
  return Status::success();
}

} // namespace hssm
