//===- Harness.h - Host-side driving of a compiled history branch -*- C++ -*-//
//
// What hssm-run, the tests and the benchmark share: random models at real
// sizes, the state pool as host bytes in its storage types, a serving trace
// and the scheduler that turns it into batches (decodes first), one step
// through a compiled function, and the comparison with the reference.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_HARNESS_HARNESS_H
#define HSSM_HARNESS_HARNESS_H

#include "hssm/Harness/BranchSource.h"
#include "hssm/Runtime/Args.h"
#include "hssm/Reference/Reference.h"
#include "hssm/Runtime/Batch.h"

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace hssm::harness {

/// A buffer in a storage type, as host bytes.
struct HostTensor {
  DType type = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  HostTensor() = default;
  HostTensor(DType type, std::vector<int64_t> shape);
  int64_t numElements() const;
  float get(size_t i) const { return loadElement(bytes.data(), i, type); }
  void set(size_t i, float v) { storeElement(bytes.data(), i, type, v); }
  /// All elements as floats.
  std::vector<float> toFloats() const;
  Buffer buffer();
};

/// A model's parameters in their storage types, and the same values as
/// floats for the reference.
struct Model {
  BranchConfig config;
  HostTensor inProj, convWeight, convBias, xProj, dtProj, dtBias, a, dSkip,
      outProj;
  ref::Weights weights;
};

/// Random parameters with Mamba's initialisation scales: A = -(1..N),
/// softplus(dt_bias) in [1e-3, 1e-1], Dskip = 1.
Model makeRandomModel(const BranchConfig &config, uint64_t seed);

/// The state pool as host bytes in its storage types.
struct Pool {
  HostTensor conv; ///< [slots, W-1, D]
  HostTensor ssm;  ///< [slots, D, N]
  int64_t numSlots = 0;
  int64_t padSlotId = -1;
};
Pool makePool(const BranchConfig &config, int64_t numSlots);
/// The same contents as the reference's pool.
ref::Pool toReferencePool(const Pool &pool, const BranchConfig &config);

/// The checkable view of a reference batch of `numTokens` tokens (decode
/// token count = decode count, the rest are prefill tokens).
BatchView batchView(const ref::Batch &batch, int64_t numTokens);

/// One step's inputs.
struct Step {
  ref::Batch batch;
  HostTensor x;               ///< [T, Hd], activation type
  std::vector<float> xFloat;  ///< the same values as floats
  int64_t numTokens() const { return x.shape.empty() ? 0 : x.shape[0]; }
  BatchView view(int64_t *numPrefillTokens = nullptr) const;
};

/// Random x for a batch.
Step makeStep(const BranchConfig &config, ref::Batch batch, std::mt19937_64 &rng);

/// The batch arguments of a history_branch function.
struct BranchMetadata {
  Buffer queryStartLoc, stateIndices, dstStateIndices, hasInitialState;
  int64_t numDecodes = 0, numPrefills = 0, numPrefillTokens = 0;
};
/// The arguments of a function compiled from historyBranchSource, in its
/// order: x, the layer's weights, its pool buffers, the batch, out.
std::vector<Arg> branchArgs(const Buffer &x, Model &model, const Buffer &conv,
                            const Buffer &ssm, const BranchMetadata &batch,
                            const Buffer &out);

/// Checks the batch (SPEC.md section 3) and runs `invoke` (a function
/// compiled from historyBranchSource, given host buffers) on it, writing
/// `out` [T, Hd] in the activation type.
Status runStep(const Invoker &invoke, Model &model, Pool &pool,
               const Step &step, HostTensor &out);

/// Tolerances (SPEC.md section 5). f32 storage: 1e-4 relative plus 1e-5
/// absolute. With f16/bf16 storage of activations or states, eps is the
/// largest unit roundoff among them (2^-11 f16, 2^-8 bf16): an element may be
/// off by 2 eps relative (its own rounding, and a state rounded the other way
/// at a tie) plus eps times the tensor's largest magnitude (roundings that
/// enter a sum whose terms cancel).
struct Tolerance {
  double rtol = 1e-4, atol = 1e-5, atolScale = 0;
};
Tolerance toleranceFor(DType act, DType conv, DType ssm);
/// toleranceFor for a branch that also rounds `count` intermediates to the
/// activation type (the GPU pipeline rounds xc, x_proj's output and y, the
/// inputs of cuBLAS products, as vLLM does): each adds one unit roundoff of
/// `act` to rtol and to atolScale.
Tolerance withRoundedIntermediates(Tolerance t, DType act, int count);

/// Largest errors of `got` against `want`, and whether every element is
/// within `atol + atolScale * max|want| + rtol * |want|`.
struct Comparison {
  double maxAbs = 0, maxRel = 0;
  double scale = 0, rms = 0; ///< max |want| and root mean square of want
  size_t worst = 0;
  bool ok = true;
  size_t count = 0;
};
Comparison compare(const std::vector<float> &got,
                   const std::vector<double> &want, const Tolerance &tol);

//===----------------------------------------------------------------------===//
// Serving traces
//===----------------------------------------------------------------------===//

/// One step of a trace: requests scheduled with their new token counts, and
/// requests that finish after the step (their slots are freed).
struct TraceStep {
  std::vector<std::pair<int64_t, int64_t>> work; ///< (request id, tokens)
  std::vector<int64_t> finished;
};
using Trace = std::vector<TraceStep>;

/// A built-in trace: arrivals, chunked prefills, decodes, finishes.
Trace makeBuiltinTrace(uint64_t seed, int64_t numSteps, int64_t maxRequests);
/// Parses the text trace format (see README): one step per line,
/// `id:tokens` entries, `-id` to finish a request, `#` comments.
Status parseTrace(const std::string &text, Trace &out);

/// Turns trace steps into batches: keeps each request's slot and tokens
/// computed, orders decodes (requests past their prefill with one new token)
/// first, and frees slots of finished requests.
class Scheduler {
public:
  explicit Scheduler(int64_t numSlots, int64_t padSlotId = -1);
  /// Builds the batch of `step`; fails when the pool is full.
  Status schedule(const TraceStep &step, ref::Batch &batch,
                  std::vector<int64_t> &order);
  /// Frees the slots of the step's finished requests.
  void finish(const TraceStep &step);
  int64_t liveRequests() const { return int64_t(slotOf.size()); }

private:
  std::map<int64_t, int32_t> slotOf;
  std::map<int64_t, int64_t> computed;
  std::set<int32_t> freeSlots;
};

} // namespace hssm::harness

#endif // HSSM_HARNESS_HARNESS_H
