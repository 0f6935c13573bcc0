//===- DevicePool.h - One layer's state pool on the GPU ---------*- C++ -*-===//
//
// SPEC.md section 3's pool on the device: conv state [slots, W-1, D] and SSM
// state [slots, D, N], each in its own storage type, with the pad slot. The
// two buffers are what compiled branches take as their pool arguments.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_RUNTIME_DEVICEPOOL_H
#define HSSM_RUNTIME_DEVICEPOOL_H

#include "hssm/Runtime/Args.h"
#include "hssm/Runtime/Batch.h"
#include "hssm/Runtime/DType.h"

#include <memory>
#include <vector>

namespace hssm::cuda {

class DevicePool {
public:
  struct Spec {
    int64_t numSlots = 0;
    int64_t convWidth = 4;  ///< W
    int64_t channels = 0;   ///< D (per rank)
    int64_t stateSize = 16; ///< N
    DType convDType = DType::BF16;
    DType ssmDType = DType::BF16;
    int64_t padSlotId = -1; ///< -1, or a reserved slot in [0, numSlots)
  };

  /// Allocates a zeroed pool; a bad spec or a failed allocation is an error
  /// that names the value (and, for memory, the bytes asked for).
  static Status create(const Spec &spec, std::unique_ptr<DevicePool> &out);
  ~DevicePool();
  DevicePool(const DevicePool &) = delete;
  DevicePool &operator=(const DevicePool &) = delete;

  const Spec &spec() const { return poolSpec; }
  PoolLimits limits() const { return {poolSpec.numSlots, poolSpec.padSlotId}; }
  /// The device buffers, shaped for compiled branches.
  Buffer conv() const;
  Buffer ssm() const;

  /// Zeroes one slot (a request starting from no state).
  Status zeroSlot(int64_t slot);
  /// Copies one slot's conv and SSM state to another (fork, checkpoint).
  Status copySlot(int64_t from, int64_t to);
  /// Both buffers to or from the host, as bytes in their storage types.
  Status download(std::vector<uint8_t> &conv, std::vector<uint8_t> &ssm) const;
  Status upload(const std::vector<uint8_t> &conv,
                const std::vector<uint8_t> &ssm);

private:
  DevicePool() = default;
  Status checkSlot(int64_t slot, const char *what) const;
  size_t convSlotBytes() const;
  size_t ssmSlotBytes() const;

  Spec poolSpec;
  void *convData = nullptr;
  void *ssmData = nullptr;
};

} // namespace hssm::cuda

#endif // HSSM_RUNTIME_DEVICEPOOL_H
