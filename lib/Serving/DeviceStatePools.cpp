//===- DeviceStatePools.cpp - Every layer's state pool on the GPU ---------===//

#include "hssm/Serving/DeviceStatePools.h"

#include <string>

using namespace hssm;
using namespace hssm::serving;

static std::string num(int64_t v) { return std::to_string(v); }

Status DeviceStatePools::create(const StateSpec &spec, int64_t numLayers,
                                int64_t numSlots, int64_t padSlotId,
                                std::unique_ptr<DeviceStatePools> &out) {
  if (numLayers < 1)
    return Status::error("device state pools: num_layers = " + num(numLayers) +
                         " is less than 1");
  std::unique_ptr<DeviceStatePools> store(new DeviceStatePools);
  cuda::DevicePool::Spec ps;
  ps.numSlots = numSlots;
  ps.convWidth = spec.convKernelSize;
  ps.channels = spec.localIntermediateSize;
  ps.stateSize = spec.stateSize;
  ps.convDType = spec.convStateDType;
  ps.ssmDType = spec.ssmStateDType;
  ps.padSlotId = padSlotId;
  for (int64_t l = 0; l < numLayers; ++l) {
    std::unique_ptr<cuda::DevicePool> pool;
    if (Status st = cuda::DevicePool::create(ps, pool); !st)
      return Status::error("device state pools: layer " + num(l) + ": " +
                           st.message());
    store->pools.push_back(std::move(pool));
  }
  out = std::move(store);
  return Status::success();
}

Status DeviceStatePools::zeroSlot(int64_t slot) {
  for (size_t l = 0; l < pools.size(); ++l)
    if (Status st = pools[l]->zeroSlot(slot); !st)
      return Status::error("layer " + num(int64_t(l)) + ": " + st.message());
  return Status::success();
}

Status DeviceStatePools::copySlot(int64_t src, int64_t dst) {
  for (size_t l = 0; l < pools.size(); ++l)
    if (Status st = pools[l]->copySlot(src, dst); !st)
      return Status::error("layer " + num(int64_t(l)) + ": " + st.message());
  return Status::success();
}

Status DeviceStatePools::read(int64_t i, std::vector<uint8_t> &conv,
                              std::vector<uint8_t> &ssm) const {
  if (i < 0 || i >= numLayers())
    return Status::error("device state pools: layer " + num(i) +
                         " is outside [0, " + num(numLayers()) + ")");
  return pools[size_t(i)]->download(conv, ssm);
}
