//===- HybridSSMAdapter.h - The history branch as a serving layer -*- C++ -*-//
//
// The face of vLLM's HybridSSMAdapter (model_executor/layers/
// hybrid_ssm_adapter.py): built from the layer's sizes, it answers the KV
// cache manager's questions (get_state_shape, get_state_dtype,
// get_kv_cache_spec), is bound to its layer's state pool, and runs the
// history branch over one step's flattened tokens through a compiled
// function (an Invoker: the CPU JIT or a GPU artifact, given host buffers in
// the argument order of BranchSource.h) and the layer's weights.
//
// Modes (SPEC.md sections 1 and 4): `zero` adds nothing and touches no state
// (needs no compiled branch); `prefix_sum` and `mamba1` run the branch, which
// must have been compiled from branchConfig() in that mode.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_SERVING_HYBRIDSSMADAPTER_H
#define HSSM_SERVING_HYBRIDSSMADAPTER_H

#include "hssm/Harness/BranchSource.h"
#include "hssm/Harness/Harness.h"
#include "hssm/Runtime/Args.h"
#include "hssm/Runtime/Batch.h"
#include "hssm/Serving/StatePool.h"
#include "hssm/Serving/StateSpec.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

namespace hssm::serving {

/// The constructor arguments of vLLM's adapter, plus what its configs give.
struct AdapterConfig {
  int64_t hiddenSize = 0;       ///< Hd: width of x_in and of the output
  int64_t ssmStateSize = 16;    ///< N
  int64_t convKernelSize = 4;   ///< W
  int64_t intermediateSize = 0; ///< D, over all ranks
  int64_t timeStepRank = 0;     ///< R; 0 means ceil(Hd / 16)
  DType modelDType = DType::F32;
  /// Unset: the model's dtype (vLLM's mamba_cache_dtype = "auto").
  std::optional<DType> convStateDType, ssmStateDType;
  int64_t tpSize = 1;
  BranchMode mode = BranchMode::Mamba1;
};

/// The adapter config of a layer compiled from `branch` (tp_size 1): the
/// inverse of HybridSSMAdapter::branchConfig.
AdapterConfig adapterConfigFor(const BranchConfig &branch);

class HybridSSMAdapter {
public:
  /// Checks the sizes (those of makeStateSpec, Hd >= 1, R >= 1).
  static Status create(const AdapterConfig &config,
                       std::unique_ptr<HybridSSMAdapter> &out);

  /// get_state_shape: (conv [W-1, D/tp], ssm [D/tp, N]).
  std::array<std::array<int64_t, 2>, 2> getStateShape() const {
    return {spec.convStateShape(), spec.ssmStateShape()};
  }
  /// get_state_dtype: (conv, ssm).
  std::array<DType, 2> getStateDtype() const { return spec.stateDTypes(); }
  /// get_kv_cache_spec: the slot layout a pool for this layer must have.
  const StateSpec &getKvCacheSpec() const { return spec; }
  BranchMode mode() const { return config.mode; }
  const AdapterConfig &adapterConfig() const { return config; }

  /// The branch to compile for this layer (one rank's sizes) with
  /// `padSlotId` baked in (the pool's).
  BranchConfig branchConfig(int64_t padSlotId = -1) const;

  /// Binds layer `layer` of `pools`, whose spec must equal
  /// getKvCacheSpec(). The manager must outlive the binding. When its states
  /// live in a store (device pools), the branch gets the store's pool
  /// buffers and must take them (DeviceLongCheck.cpp shows one such
  /// invoker).
  Status bindPool(StatePoolManager &pools, int64_t layer);
  /// Sets the compiled branch and this layer's weights. The model's config
  /// must be branchConfig(p) for some pad slot p (checked against the pool's
  /// at forward time, since the branch bakes it in).
  Status bindBranch(Invoker fn, harness::Model model);

  /// A prefill-only step (num_decodes = 0): x [T, Hd] -> out [T, Hd], in
  /// the model's dtype, reading and writing the bound pool. In prefix_sum
  /// mode, out[t] sums x over t' <= t < num_prefill_tokens.
  Status forwardHistoryBranchPrefill(const Buffer &x, const BatchView &batch,
                                     const Buffer &out);
  /// A decode-only step (num_prefills = 0; pad rows allowed). In
  /// prefix_sum mode the sum runs over the first num_decode_tokens tokens.
  Status forwardHistoryBranchDecode(const Buffer &x, const BatchView &batch,
                                    const Buffer &out);
  /// A whole step, decodes first then prefills, in one call.
  ///
  /// All three check the bindings, the buffers ([T, Hd] in the model's
  /// dtype) and the batch (checkBatch against the pool) before anything is
  /// written. mamba1 needs tp_size = 1: one rank's x_proj and out_proj
  /// products are partial sums that need an all-reduce this runtime lacks.
  Status forwardMixed(const Buffer &x, const BatchView &batch,
                      const Buffer &out);

private:
  enum class Entry { Prefill, Decode, Mixed };
  HybridSSMAdapter() = default;
  Status forward(Entry entry, const Buffer &x, const BatchView &batch,
                 const Buffer &out);

  AdapterConfig config;
  StateSpec spec;
  StatePoolManager *pools = nullptr;
  int64_t layer = -1;
  Invoker branch;
  std::optional<harness::Model> model;
};

} // namespace hssm::serving

#endif // HSSM_SERVING_HYBRIDSSMADAPTER_H
