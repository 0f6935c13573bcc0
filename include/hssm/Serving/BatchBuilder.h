//===- BatchBuilder.h - One step's batch from its requests -*- C++ -*-===//
//
// Turns what the scheduler picked for a step (each request's new tokens,
// tokens already computed and slot) into SPEC.md section 3 metadata: decodes
// first, then prefills, offsets, slots and has_initial_state, checked with
// hssm::checkBatch. A decode-only batch can be padded to a fixed row count
// (pad rows point at pad_slot_id, one token each) so that one captured CUDA
// graph replays for every batch up to that size.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_SERVING_BATCHBUILDER_H
#define HSSM_SERVING_BATCHBUILDER_H

#include "hssm/Reference/Reference.h"
#include "hssm/Runtime/Batch.h"
#include "hssm/Runtime/Status.h"

#include <cstdint>
#include <vector>

namespace hssm::serving {

/// One request's share of a step.
struct ScheduledRequest {
  int64_t id = 0;
  int64_t newTokens = 0;      ///< tokens this step, >= 1
  int64_t computedTokens = 0; ///< tokens already in its state, >= 0
  int64_t slot = 0;           ///< its pool slot
  /// A request past its first tokens with exactly one new token reads its
  /// state and adds one: a decode. Everything else is a prefill (a chunked
  /// one when it has computed tokens).
  bool isDecode() const { return computedTokens > 0 && newTokens == 1; }
};

/// One step's metadata and which request each row serves.
struct StepBatch {
  /// query_start_loc, state_indices, has_initial_state, num_decodes,
  /// num_prefills; dst_state_indices is left empty (= state_indices).
  ref::Batch batch;
  /// Row -> index into the request list given to buildBatch; -1 for a pad
  /// row.
  std::vector<int64_t> rowRequest;
  int64_t numPadRows = 0;

  int64_t numRows() const { return int64_t(rowRequest.size()); }
  int64_t numTokens() const {
    return batch.queryStartLoc.empty() ? 0 : batch.queryStartLoc.back();
  }
  int64_t numDecodes() const { return batch.numDecodes; }
  int64_t numPrefills() const { return batch.numPrefills; }
  int64_t numPrefillTokens() const { return numTokens() - batch.numDecodes; }
  /// First token of row `r`, and one past its last.
  int64_t rowBegin(int64_t r) const { return batch.queryStartLoc[size_t(r)]; }
  int64_t rowEnd(int64_t r) const { return batch.queryStartLoc[size_t(r) + 1]; }
  /// The batch as the runtime's view (borrows this object's vectors).
  BatchView view() const;
};

/// Orders `requests` decodes first (each group keeps its order), builds the
/// metadata and checks it against `pool`. Errors: a request with no new
/// tokens or negative computed tokens, a request id listed twice, a request
/// on the pad slot, and every rule of checkBatch (a slot outside the pool,
/// two rows on one slot...).
Status buildBatch(const std::vector<ScheduledRequest> &requests,
                  const PoolLimits &pool, StepBatch &out);

/// Pads a decode-only batch with rows (slot = pad_slot_id, one token each,
/// has_initial_state = 1 like every decode) up to `targetRows`, for CUDA
/// graph replay at a fixed size; the caller adds one (ignored) input row per
/// pad row. Errors, leaving `batch` unchanged: the batch has prefills, it
/// has more rows than `targetRows`, or the padded batch fails checkBatch.
Status padDecodeBatch(StepBatch &batch, int64_t targetRows,
                      const PoolLimits &pool);

} // namespace hssm::serving

#endif // HSSM_SERVING_BATCHBUILDER_H
