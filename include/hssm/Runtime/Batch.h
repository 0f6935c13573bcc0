//===- Batch.h - One scheduler step's batch metadata and its check -*- C++ -*-//
//
// SPEC.md section 3: the flattened batch of one step (decodes first, then
// prefills) and the rules it must obey before any kernel touches a pool.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_RUNTIME_BATCH_H
#define HSSM_RUNTIME_BATCH_H

#include "hssm/Runtime/Status.h"

#include <cstdint>

namespace hssm {

/// Host view of one step's metadata. Pointers are borrowed, not owned.
struct BatchView {
  int64_t numReqs = 0;
  int64_t numTokens = 0;                ///< T
  const int32_t *queryStartLoc = nullptr; ///< [numReqs + 1]
  const int32_t *stateIndices = nullptr;  ///< [numReqs]
  const int32_t *dstStateIndices = nullptr; ///< [numReqs] or null (= stateIndices)
  const uint8_t *hasInitialState = nullptr; ///< [numReqs]
  int64_t numDecodes = 0;
  int64_t numDecodeTokens = 0;
  int64_t numPrefills = 0;
  int64_t numPrefillTokens = 0;
};

/// The pool facts the check needs.
struct PoolLimits {
  int64_t numSlots = 0;
  int64_t padSlotId = -1;
};

/// Checks every rule of SPEC.md section 3. On failure the message names the
/// field, the row (where there is one) and the rule. Reads only; writes
/// nothing.
Status checkBatch(const BatchView &batch, const PoolLimits &pool);

} // namespace hssm

#endif // HSSM_RUNTIME_BATCH_H
