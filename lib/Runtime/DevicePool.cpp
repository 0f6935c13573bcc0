//===- DevicePool.cpp - One layer's state pool on the GPU -----------------===//

#include "hssm/Runtime/DevicePool.h"
#include "hssm/Runtime/Cuda.h"

#include "CudaDriver.h"

using namespace hssm;
using namespace hssm::cuda;

static Elem elemOf(DType t) {
  return t == DType::F32 ? Elem::F32 : t == DType::F16 ? Elem::F16 : Elem::BF16;
}

Status DevicePool::create(const Spec &spec, std::unique_ptr<DevicePool> &out) {
  auto num = [](int64_t v) { return std::to_string(v); };
  if (spec.numSlots < 1)
    return Status::error("device pool: num_slots = " + num(spec.numSlots) +
                         " must be >= 1");
  if (spec.convWidth < 2 || spec.convWidth > 5)
    return Status::error("device pool: conv width W = " +
                         num(spec.convWidth) + " must be in [2, 5]");
  if (spec.stateSize < 1 || spec.stateSize > 256)
    return Status::error("device pool: state size N = " +
                         num(spec.stateSize) + " must be in [1, 256]");
  if (spec.channels < 1)
    return Status::error("device pool: D = " + num(spec.channels) +
                         " must be >= 1");
  if (spec.padSlotId < -1 || spec.padSlotId >= spec.numSlots)
    return Status::error("device pool: pad_slot_id = " + num(spec.padSlotId) +
                         " must be -1 or a slot of the pool");
  std::unique_ptr<DevicePool> pool(new DevicePool);
  pool->poolSpec = spec;
  size_t convBytes = pool->convSlotBytes() * size_t(spec.numSlots);
  size_t ssmBytes = pool->ssmSlotBytes() * size_t(spec.numSlots);
  if (Status st = allocate(convBytes, &pool->convData); !st)
    return Status::error("device pool: conv state of " + num(spec.numSlots) +
                         " slots: " + st.message());
  if (Status st = allocate(ssmBytes, &pool->ssmData); !st)
    return Status::error("device pool: SSM state of " + num(spec.numSlots) +
                         " slots: " + st.message());
  if (Status st = memsetZero(pool->convData, convBytes); !st)
    return st;
  if (Status st = memsetZero(pool->ssmData, ssmBytes); !st)
    return st;
  out = std::move(pool);
  return Status::success();
}

DevicePool::~DevicePool() {
  (void)release(convData);
  (void)release(ssmData);
}

size_t DevicePool::convSlotBytes() const {
  return size_t(poolSpec.convWidth - 1) * size_t(poolSpec.channels) *
         dtypeSize(poolSpec.convDType);
}

size_t DevicePool::ssmSlotBytes() const {
  return size_t(poolSpec.channels) * size_t(poolSpec.stateSize) *
         dtypeSize(poolSpec.ssmDType);
}

Buffer DevicePool::conv() const {
  return Buffer{convData,
                {poolSpec.numSlots, poolSpec.convWidth - 1, poolSpec.channels},
                elemOf(poolSpec.convDType)};
}

Buffer DevicePool::ssm() const {
  return Buffer{ssmData,
                {poolSpec.numSlots, poolSpec.channels, poolSpec.stateSize},
                elemOf(poolSpec.ssmDType)};
}

Status DevicePool::checkSlot(int64_t slot, const char *what) const {
  if (slot < 0 || slot >= poolSpec.numSlots)
    return Status::error(std::string("device pool: ") + what + " slot " +
                         std::to_string(slot) + " is outside [0, " +
                         std::to_string(poolSpec.numSlots) + ")");
  if (slot == poolSpec.padSlotId)
    return Status::error(std::string("device pool: ") + what + " slot " +
                         std::to_string(slot) +
                         " is the reserved pad slot");
  return Status::success();
}

Status DevicePool::zeroSlot(int64_t slot) {
  if (Status st = checkSlot(slot, "zeroed"); !st)
    return st;
  char *conv = static_cast<char *>(convData) + size_t(slot) * convSlotBytes();
  char *ssm = static_cast<char *>(ssmData) + size_t(slot) * ssmSlotBytes();
  if (Status st = memsetZero(conv, convSlotBytes()); !st)
    return st;
  return memsetZero(ssm, ssmSlotBytes());
}

Status DevicePool::copySlot(int64_t from, int64_t to) {
  if (Status st = checkSlot(from, "source"); !st)
    return st;
  if (Status st = checkSlot(to, "destination"); !st)
    return st;
  if (from == to)
    return Status::success();
  if (Status st = init(); !st)
    return st;
  auto copy = [&](void *base, size_t slotBytes) -> Status {
    auto at = [&](int64_t s) {
      return CUdeviceptr(reinterpret_cast<uintptr_t>(base) +
                         size_t(s) * slotBytes);
    };
    if (CUresult r = HSSM_CU(cuMemcpyDtoD)(at(to), at(from), slotBytes))
      return Status::error("device pool: cuMemcpyDtoD of slot " +
                           std::to_string(from) + " to " + std::to_string(to) +
                           " failed: error " + std::to_string(int(r)));
    return Status::success();
  };
  if (Status st = copy(convData, convSlotBytes()); !st)
    return st;
  return copy(ssmData, ssmSlotBytes());
}

Status DevicePool::download(std::vector<uint8_t> &conv,
                            std::vector<uint8_t> &ssm) const {
  conv.resize(convSlotBytes() * size_t(poolSpec.numSlots));
  ssm.resize(ssmSlotBytes() * size_t(poolSpec.numSlots));
  if (Status st = copyToHost(conv.data(), convData, conv.size()); !st)
    return st;
  return copyToHost(ssm.data(), ssmData, ssm.size());
}

Status DevicePool::upload(const std::vector<uint8_t> &conv,
                          const std::vector<uint8_t> &ssm) {
  if (conv.size() != convSlotBytes() * size_t(poolSpec.numSlots) ||
      ssm.size() != ssmSlotBytes() * size_t(poolSpec.numSlots))
    return Status::error("device pool: upload sizes do not match the pool");
  if (Status st = copyToDevice(convData, conv.data(), conv.size()); !st)
    return st;
  return copyToDevice(ssmData, ssm.data(), ssm.size());
}
