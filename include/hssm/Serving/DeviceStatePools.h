//===- DeviceStatePools.h - Every layer's state pool on the GPU -*- C++ -*-===//
//
// A LayerStateStore of one cuda::DevicePool per layer, so that a
// StatePoolManager allocates, zeroes, copies and frees slots whose states
// never leave the device. CUDA builds only (HSSMServingCuda).
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_SERVING_DEVICESTATEPOOLS_H
#define HSSM_SERVING_DEVICESTATEPOOLS_H

#include "hssm/Runtime/DevicePool.h"
#include "hssm/Serving/LayerStateStore.h"
#include "hssm/Serving/StateSpec.h"

#include <memory>
#include <vector>

namespace hssm::serving {

class DeviceStatePools : public LayerStateStore {
public:
  /// `numLayers` zeroed device pools of `numSlots` slots shaped by `spec`,
  /// with `padSlotId`. A failed allocation names the layer and frees what
  /// was allocated.
  static Status create(const StateSpec &spec, int64_t numLayers,
                       int64_t numSlots, int64_t padSlotId,
                       std::unique_ptr<DeviceStatePools> &out);

  cuda::DevicePool &layer(int64_t i) { return *pools[size_t(i)]; }
  const cuda::DevicePool &layer(int64_t i) const { return *pools[size_t(i)]; }

  int64_t numLayers() const override { return int64_t(pools.size()); }
  Status zeroSlot(int64_t slot) override;
  Status copySlot(int64_t src, int64_t dst) override;
  Buffer conv(int64_t i) const override { return pools[size_t(i)]->conv(); }
  Buffer ssm(int64_t i) const override { return pools[size_t(i)]->ssm(); }
  Status read(int64_t i, std::vector<uint8_t> &conv,
              std::vector<uint8_t> &ssm) const override;

private:
  DeviceStatePools() = default;
  std::vector<std::unique_ptr<cuda::DevicePool>> pools;
};

} // namespace hssm::serving

#endif // HSSM_SERVING_DEVICESTATEPOOLS_H
