//===- LongCheck.h - A long serving run checked request by request -*- C++ -*-//
//
// Drives the whole serving path (pool manager, batch builder, adapters of
// several layers, a compiled branch) through a random trace of many steps:
// arrivals, chunked prefills of random sizes, decodes, forks (copySlot),
// preemption (the slot is freed, the request later restarts from scratch),
// finishes, and a pool that runs full so arrivals wait. Every step, each
// request's output rows must equal running that request alone through the
// reference (ref::mamba1Step on its own one-slot pool, fed the same tokens),
// within harness::toleranceFor. Every `faultEvery` steps a batch with bad
// metadata is submitted first: it must be rejected with every layer's pool
// byte-for-byte unchanged, and the trace then goes on with every request's
// state intact (checked against the reference states too).
//
// Where the states live and how a layer runs is a LongCheckBackend: host
// pools and a branch on host buffers (runLongCheck with an Invoker, the CPU
// path), or device pools with decode steps replayed as CUDA graphs
// (runDeviceLongCheck in DeviceLongCheck.h).
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_SERVING_LONGCHECK_H
#define HSSM_SERVING_LONGCHECK_H

#include "hssm/Harness/BranchSource.h"
#include "hssm/Harness/Harness.h"
#include "hssm/Runtime/Args.h"
#include "hssm/Runtime/Status.h"
#include "hssm/Serving/BatchBuilder.h"
#include "hssm/Serving/StatePool.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace hssm::serving {

struct LongCheckOptions {
  /// Sizes, storage types and pad slot (-1 or 0) of every layer; the mode
  /// must be mamba1. Default: tiny sizes (Hd 64, D 128, N 16, R 4, W 4).
  BranchConfig branch = [] {
    BranchConfig c;
    c.hd = 64;
    c.d = 128;
    c.n = 16;
    c.r = 4;
    c.w = 4;
    return c;
  }();
  int64_t steps = 1000;
  int64_t numLayers = 2;
  /// Pool slots (small, so the pool runs full and arrivals wait).
  int64_t numSlots = 8;
  /// Tokens scheduled per step at most (decodes first, then prefill chunks).
  int64_t tokenBudget = 48;
  int64_t maxPromptTokens = 40;
  int64_t maxChunkTokens = 24;
  int64_t maxDecodeTokens = 16;
  /// Per step: chance of one arrival (and again of a second).
  double arrivalProbability = 0.3;
  double preemptProbability = 0.03;
  double forkProbability = 0.02;
  /// A bad batch is submitted every this many steps (0: never).
  int64_t faultEvery = 50;
  /// Decode-only steps are (half the time) padded to this many rows and run
  /// through the decode entry, as a CUDA graph replay would (0: never).
  int64_t graphBatchSize = 8;
  uint64_t seed = 1;
  /// Intermediates the compiled branch rounds to the activation type (the
  /// GPU pipeline: 3); widens the tolerance (withRoundedIntermediates).
  int roundedIntermediates = 0;
  /// The type the compiled branch stores projection inputs in (the GPU
  /// pipeline: the activation type), which the reference then rounds them
  /// to as well (ref::mamba1Step); none: the reference keeps them exact.
  std::optional<DType> projectionInputs;
};

struct LongCheckReport {
  int64_t steps = 0;
  int64_t tokens = 0;
  int64_t requestsArrived = 0;
  int64_t requestsServed = 0; ///< finished, slot freed
  int64_t preemptions = 0;
  int64_t forks = 0;
  int64_t faultsInjected = 0;
  int64_t faultsRejected = 0;
  int64_t poolFullSteps = 0; ///< steps where arrivals waited for a slot
  int64_t paddedSteps = 0;   ///< decode-only steps padded for graph replay
  int64_t graphSteps = 0;    ///< decode-only steps replayed as CUDA graphs
  int64_t rowsChecked = 0;   ///< request rows compared with the reference
  double maxAbsError = 0;    ///< largest |got - reference| of any output
  double maxRelError = 0;
  /// One line with every figure above.
  std::string summary() const;
};

/// Runs the check with `branch`, which must be compiled from
/// historyBranchSource(options.branch) and take host buffers. Returns the
/// first failure (a row outside tolerance, a fault accepted or one that
/// changed a pool, a pad row that is not zero, a leaked slot...), naming
/// the step, the request and the layer; `report` holds the figures so far.
Status runLongCheck(const LongCheckOptions &options, const Invoker &branch,
                    LongCheckReport &report);

/// Where the check keeps its states and how it runs a layer.
class LongCheckBackend {
public:
  virtual ~LongCheckBackend() = default;
  /// The pool manager of all layers (host pools, or a store's).
  virtual Status makePools(const StateSpec &spec, int64_t numLayers,
                           int64_t numSlots, int64_t padSlotId,
                           std::unique_ptr<StatePoolManager> &out) = 0;
  /// The branch layer `layer`'s adapter runs (host x, out and metadata, and
  /// the manager's pool buffers) with `model`, which the adapter then owns:
  /// its tensors' host buffers stay where they are.
  virtual Status layerBranch(int64_t layer, harness::Model &model,
                             Invoker &branch) = 0;
  /// The most rows a decode-only step may have for replayDecode; 0 when the
  /// backend has no graphs.
  virtual int64_t maxReplayRows() const { return 0; }
  /// Layer `layer`'s decode-only step as a graph replay: x [R, Hd] ->
  /// out [R, Hd] (host) for the R rows of `batch`, which the backend pads;
  /// it checks the batch first and that the pad rows give zeros.
  virtual Status replayDecode(int64_t layer, const StepBatch &batch,
                              const Buffer &x, const Buffer &out);
};

/// runLongCheck on `backend` (the Invoker form uses host pools).
Status runLongCheck(const LongCheckOptions &options, LongCheckBackend &backend,
                    LongCheckReport &report);

} // namespace hssm::serving

#endif // HSSM_SERVING_LONGCHECK_H
