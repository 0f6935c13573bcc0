//===- DeviceLongCheck.cpp - The long check with its states on the GPU ----===//

#include "hssm/Serving/DeviceLongCheck.h"

#include "hssm/Runtime/Cuda.h"
#include "hssm/Serving/DecodeGraphs.h"
#include "hssm/Serving/DeviceStatePools.h"

#include <algorithm>

using namespace hssm;
using namespace hssm::serving;

namespace {

/// Device pools, resident weights, and one DecodeGraphs per layer.
class DeviceBackend : public LongCheckBackend {
public:
  DeviceBackend(const LongCheckOptions &o, Invoker device,
                std::vector<int64_t> sizes)
      : config(o.branch), device(std::move(device)) {
    graphOptions.sizes = std::move(sizes);
    graphOptions.checkPadRows = true;
  }

  Status makePools(const StateSpec &spec, int64_t numLayers, int64_t numSlots,
                   int64_t padSlotId,
                   std::unique_ptr<StatePoolManager> &out) override {
    std::unique_ptr<DeviceStatePools> store;
    if (Status st = DeviceStatePools::create(spec, numLayers, numSlots,
                                             padSlotId, store);
        !st)
      return st;
    pools = store.get(); // owned by the manager from here on
    return StatePoolManager::create(spec, numLayers, numSlots, padSlotId,
                                    std::move(store), out);
  }

  Status layerBranch(int64_t layer, harness::Model &model,
                     Invoker &branch) override {
    if (!pools || layer != int64_t(graphs.size()))
      return Status::error("device long check: layers are bound in order, "
                           "after the pools");
    // The adapter hands over host x, out and metadata (copied per call),
    // the model's host weights (their resident copies are passed) and the
    // device pools (passed as they are).
    auto residents = std::make_shared<cuda::DeviceResidents>();
    DecodeGraphs::Layer l;
    if (Status st = residentWeights(model, *residents, l.weights); !st)
      return st;
    cuda::DevicePool &pool = pools->layer(layer);
    if (Status st = residents->addOnDevice(pool.conv()); !st)
      return st;
    if (Status st = residents->addOnDevice(pool.ssm()); !st)
      return st;
    branch = cuda::mirrorToDevice(device, residents);
    l.branch = device;
    l.config = config;
    l.pool = &pool;
    std::unique_ptr<DecodeGraphs> g;
    if (Status st = DecodeGraphs::create(l, graphOptions, g); !st)
      return st;
    graphs.push_back(std::move(g));
    return Status::success();
  }

  int64_t maxReplayRows() const override {
    return graphs.empty() ? 0 : graphs.front()->sizes().back();
  }

  Status replayDecode(int64_t layer, const StepBatch &batch, const Buffer &x,
                      const Buffer &out) override {
    if (layer < 0 || layer >= int64_t(graphs.size()))
      return Status::error("device long check: no graphs for layer " +
                           std::to_string(layer));
    return graphs[size_t(layer)]->run(x, batch, out);
  }

private:
  BranchConfig config;
  Invoker device;
  DecodeGraphs::Options graphOptions;
  DeviceStatePools *pools = nullptr;
  std::vector<std::unique_ptr<DecodeGraphs>> graphs;
};

} // namespace

Status hssm::serving::runDeviceLongCheck(const LongCheckOptions &options,
                                         const Invoker &deviceBranch,
                                         LongCheckReport &report,
                                         const std::vector<int64_t> &sizes) {
  report = LongCheckReport();
  if (!deviceBranch)
    return Status::error("device long check: the branch invoker is empty");
  if (Status st = cuda::init(); !st)
    return Status::error("device long check: " + st.message());
  // hssm-lower-to-nvvm stores cuBLAS's inputs in the activation type: the
  // reference rounds them the same way, and the tolerance still allows for
  // the values that land on neighbouring numbers of that type on the two
  // sides.
  LongCheckOptions o = options;
  o.roundedIntermediates = std::max(o.roundedIntermediates, 3);
  if (!o.projectionInputs)
    o.projectionInputs = o.branch.act;
  DeviceBackend backend(o, deviceBranch, sizes);
  return runLongCheck(o, backend, report);
}
