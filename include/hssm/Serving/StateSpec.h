//===- StateSpec.h - Shapes, dtypes and bytes of a state slot -*- C++ -*-===//
//
// What vLLM's HybridSSMAdapter.get_state_shape / get_state_dtype /
// get_kv_cache_spec answer (a MambaSpec): per tensor-parallel rank, one pool
// slot holds a conv state [W-1, D/tp] and an SSM state [D/tp, N] (SPEC.md
// section 3), each in its own storage type. The pool manager, the adapter
// and whoever sizes device memory all derive their numbers from this one
// struct, so they cannot disagree about a slot.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_SERVING_STATESPEC_H
#define HSSM_SERVING_STATESPEC_H

#include "hssm/Runtime/DType.h"
#include "hssm/Runtime/Status.h"

#include <array>
#include <cstdint>
#include <optional>

namespace hssm::serving {

/// The sizes a state spec is derived from (the model's, not the rank's).
struct StateSpecOptions {
  int64_t tpSize = 1;           ///< tensor-parallel degree
  int64_t intermediateSize = 0; ///< D, over all ranks
  int64_t stateSize = 0;        ///< N
  int64_t convKernelSize = 4;   ///< W
  DType modelDType = DType::F32;
  /// State storage types; unset means "auto": the model's dtype, as vLLM's
  /// mamba_cache_dtype = "auto" does.
  std::optional<DType> convStateDType, ssmStateDType;
};

/// One rank's state slot.
struct StateSpec {
  int64_t tpSize = 1;
  int64_t intermediateSize = 0;      ///< D
  int64_t localIntermediateSize = 0; ///< Dl = D / tp
  int64_t stateSize = 0;             ///< N
  int64_t convKernelSize = 0;        ///< W
  DType modelDType = DType::F32;
  DType convStateDType = DType::F32;
  DType ssmStateDType = DType::F32;

  /// get_state_shape: conv [W-1, Dl] (d contiguous), ssm [Dl, N].
  std::array<int64_t, 2> convStateShape() const {
    return {convKernelSize - 1, localIntermediateSize};
  }
  std::array<int64_t, 2> ssmStateShape() const {
    return {localIntermediateSize, stateSize};
  }
  /// get_state_dtype: (conv, ssm).
  std::array<DType, 2> stateDTypes() const {
    return {convStateDType, ssmStateDType};
  }
  /// Bytes of one slot's conv state, SSM state, and both (the page size of
  /// the MambaSpec: one slot is one page).
  int64_t convStateBytes() const;
  int64_t ssmStateBytes() const;
  int64_t pageSizeBytes() const { return convStateBytes() + ssmStateBytes(); }

  bool operator==(const StateSpec &o) const;
  bool operator!=(const StateSpec &o) const { return !(*this == o); }
};

/// Checks the sizes (tp >= 1, D >= 1 and divisible by tp, W in 2..5, N in
/// 1..256) and derives the spec. The message names the value and the rule.
Status makeStateSpec(const StateSpecOptions &options, StateSpec &out);

} // namespace hssm::serving

#endif // HSSM_SERVING_STATESPEC_H
