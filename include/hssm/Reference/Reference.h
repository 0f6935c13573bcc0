//===- Reference.h - The plain reference of SPEC.md --------------*- C++ -*-===//
//
// One straight loop per formula line of SPEC.md sections 2-4, accumulating in
// f64. It shares no code with the compiler or the runtime (beyond the dtype
// rounding helpers) and exists only for tests and `hssm-run --check`.
//
// All tensors are row-major float vectors holding values already rounded to
// their storage type; the pools round what they store to their own dtype,
// as the compiled path's pools do.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_REFERENCE_REFERENCE_H
#define HSSM_REFERENCE_REFERENCE_H

#include "hssm/Runtime/DType.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace hssm::ref {

struct Sizes {
  int64_t hd = 0; ///< hidden (x_in and output width)
  int64_t d = 0;  ///< intermediate
  int64_t n = 0;  ///< state size
  int64_t r = 0;  ///< time-step rank
  int64_t w = 0;  ///< conv width
};

/// Mamba-1 parameters (SPEC.md section 2), row-major.
struct Weights {
  std::vector<float> inProj;     ///< [2D, Hd]
  std::vector<float> convWeight; ///< [D, W]
  std::vector<float> convBias;   ///< [D]
  std::vector<float> xProj;      ///< [R + 2N, D]
  std::vector<float> dtProj;     ///< [D, R]
  std::vector<float> dtBias;     ///< [D]
  std::vector<float> a;          ///< [D, N] (already negative)
  std::vector<float> dSkip;      ///< [D]
  std::vector<float> outProj;    ///< [Hd, D]
};

/// The state pool: conv [slots, W-1, D] and ssm [slots, D, N].
struct Pool {
  int64_t numSlots = 0;
  int64_t padSlotId = -1;
  DType convDType = DType::F32;
  DType ssmDType = DType::F32;
  std::vector<float> conv;
  std::vector<float> ssm;
};

/// One step's metadata (SPEC.md section 3). An empty dstStateIndices means
/// "same as stateIndices".
struct Batch {
  std::vector<int32_t> queryStartLoc;
  std::vector<int32_t> stateIndices;
  std::vector<int32_t> dstStateIndices;
  std::vector<uint8_t> hasInitialState;
  int64_t numDecodes = 0;
  int64_t numPrefills = 0;
};

/// Allocates a zeroed pool for `sizes`.
Pool makePool(const Sizes &sizes, int64_t numSlots, int64_t padSlotId,
              DType convDType, DType ssmDType);

/// Runs the mamba1 history branch over one step: xIn [T, Hd] -> out [T, Hd],
/// reading and writing `pool`. Pad rows produce zeros and touch no slot.
/// Decode rows always read their slot. The batch is assumed valid.
/// With `projectionInputs`, the values that feed a projection (the conv
/// output xc, the x_proj output [delta; B; C], the scan output y) are
/// rounded to that type where they are computed, as a compiled path that
/// stores them so rounds them for every later use; without, they stay
/// exact.
void mamba1Step(const Sizes &sizes, const Weights &weights, const Batch &batch,
                const std::vector<float> &xIn, Pool &pool,
                std::vector<double> &out,
                std::optional<DType> projectionInputs = std::nullopt);

/// SPEC.md section 4, flat: out[t] = sum_{t' <= t} x[t'] for t < count, else 0.
void prefixSum(const std::vector<float> &x, int64_t numTokens, int64_t width,
               int64_t count, std::vector<double> &out);

/// Segmented prefix sum: resets at each query_start_loc boundary, starts from
/// state[slot] (when the row has an initial state; decodes always do), writes
/// the running sum back to state[dst slot]. state is [slots, width], stored
/// as `stateDType`. Pad rows give zeros.
void segmentedPrefixSum(const std::vector<float> &x, int64_t width,
                        const Batch &batch, int64_t padSlotId,
                        DType stateDType, std::vector<float> &state,
                        std::vector<double> &out);

} // namespace hssm::ref

#endif // HSSM_REFERENCE_REFERENCE_H
