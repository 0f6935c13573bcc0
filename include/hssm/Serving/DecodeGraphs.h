//===- DecodeGraphs.h - One layer's decode steps as CUDA graphs -*- C++ -*-===//
//
// A decode step is a few microseconds of kernels behind tens of launches;
// replaying a CUDA graph launches it at once. A graph fixes its buffers'
// addresses and its sizes, so this keeps one set of device buffers (x, out,
// query_start_loc, state_indices, dst_state_indices, has_initial_state) at
// fixed addresses, sized for the largest batch, and captures one graph per
// decode batch size (1, 2, 4, ..., 256 by default) over them. A step of R
// decodes replays the smallest size >= R, its extra rows padded onto the
// pool's pad_slot_id (padDecodeBatch): they give zero output and touch no
// state. CUDA builds only (HSSMServingCuda).
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_SERVING_DECODEGRAPHS_H
#define HSSM_SERVING_DECODEGRAPHS_H

#include "hssm/Harness/Harness.h"
#include "hssm/Runtime/Args.h"
#include "hssm/Runtime/Cuda.h"
#include "hssm/Runtime/DevicePool.h"
#include "hssm/Serving/BatchBuilder.h"

#include <map>
#include <memory>
#include <vector>

namespace hssm::serving {

class DecodeGraphs {
public:
  /// One layer of the model.
  struct Layer {
    /// The branch compiled for the GPU from historyBranchSource(config)
    /// (an artifact's or the CUDA JIT's invoker): it takes device buffers.
    Invoker branch;
    /// Sizes, activation and state types, and the pad slot baked into the
    /// branch; mode mamba1.
    BranchConfig config;
    /// The nine weights on the device, in historyBranchSource's order
    /// (in_proj .. out_proj); see residentWeights().
    std::vector<Buffer> weights;
    /// The layer's pool; it must outlive the graphs.
    cuda::DevicePool *pool = nullptr;
  };

  struct Options {
    /// Batch sizes to capture; empty means 1, 2, 4, ..., 256. Sizes past the
    /// first one that holds every usable slot of the pool are dropped: no
    /// decode batch has more live rows than the pool has slots.
    std::vector<int64_t> sizes;
    /// Before each step, fill the pad rows' outputs with NaN; after it, read
    /// them back and fail unless they are exactly zero. For tests and the
    /// long check: two small copies per step.
    bool checkPadRows = false;
  };

  /// Allocates the fixed buffers, runs one plain launch of an all-pad batch
  /// of the largest size (it loads the kernels and cuBLAS outside any
  /// capture, and must touch no state), then captures every size. Errors
  /// (a config that does not match the pool, bad sizes, a failed
  /// allocation, launch or capture) name the value and leave the pool as it
  /// was.
  static Status create(const Layer &layer, const Options &options,
                       std::unique_ptr<DecodeGraphs> &out);
  ~DecodeGraphs();
  DecodeGraphs(const DecodeGraphs &) = delete;
  DecodeGraphs &operator=(const DecodeGraphs &) = delete;

  /// One decode-only step by graph replay: x [R, Hd] (host, the activation
  /// type) -> out [R, Hd] (host) for the R rows of `batch`. The batch is
  /// checked (decode-only, R <= the largest size, checkBatch against the
  /// pool) and x and out too, before anything is written; then the padded
  /// batch's inputs and metadata are uploaded into the fixed buffers, the
  /// graph of the chosen size is replayed, and the R live rows' outputs are
  /// downloaded. R = 0 does nothing.
  Status run(const Buffer &x, const StepBatch &batch, const Buffer &out);
  /// The same step with the branch launched directly (no graph) on the same
  /// buffers and padded batch, to compare replayed with launched.
  Status launch(const Buffer &x, const StepBatch &batch, const Buffer &out);

  /// The captured sizes, ascending.
  const std::vector<int64_t> &sizes() const { return graphSizes; }
  /// The smallest captured size >= rows, or -1 when rows exceeds them all.
  int64_t sizeFor(int64_t rows) const;
  /// The size the last successful step ran at (0 before any).
  int64_t lastSize() const { return lastRows; }
  /// The fixed device buffers at the largest size (x and out [max, Hd],
  /// query_start_loc [max + 1], the others [max]), e.g. to inspect the
  /// padded output.
  struct Buffers {
    Buffer x, out, queryStartLoc, stateIndices, dstStateIndices,
        hasInitialState;
  };
  const Buffers &buffers() const { return fixed; }

private:
  DecodeGraphs() = default;
  Status step(bool replay, const Buffer &x, const StepBatch &batch,
              const Buffer &out);
  /// The branch's arguments for a batch of `rows` rows on the fixed
  /// buffers.
  std::vector<Arg> arguments(int64_t rows) const;
  Status upload(const Buffer &x, const StepBatch &padded);
  Status poisonPadRows(int64_t live, int64_t rows);
  Status checkPadRowsZero(int64_t live, int64_t rows);
  Status invoke(int64_t rows);

  Layer layer;
  Options options;
  std::vector<int64_t> graphSizes;
  std::map<int64_t, std::unique_ptr<cuda::Graph>> graphs;
  Buffers fixed;
  std::vector<void *> owned; ///< device allocations, freed by the destructor
  int64_t lastRows = 0;
};

/// Uploads `model`'s nine weights into `residents` and returns their device
/// buffers in historyBranchSource's order, for DecodeGraphs::Layer. They
/// stay keyed by the model's host pointers, so mirrorToDevice(branch,
/// residents) passes the same device copies.
Status residentWeights(harness::Model &model, cuda::DeviceResidents &residents,
                       std::vector<Buffer> &weights);

} // namespace hssm::serving

#endif // HSSM_SERVING_DECODEGRAPHS_H
