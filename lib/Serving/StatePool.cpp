//===- StatePool.cpp - The per-layer state pools and their slots ----------===//

#include "hssm/Serving/StatePool.h"

#include <cstring>
#include <limits>
#include <string>

using namespace hssm;
using namespace hssm::serving;

static std::string num(int64_t v) { return std::to_string(v); }

Status StatePoolManager::create(const StateSpec &spec, int64_t numLayers,
                                int64_t numSlots, int64_t padSlotId,
                                std::unique_ptr<StatePoolManager> &out) {
  if (numLayers < 1)
    return Status::error("num_layers = " + num(numLayers) +
                         " is less than 1: a pool manager serves layers");
  if (padSlotId != -1 && padSlotId != 0)
    return Status::error("pad_slot_id = " + num(padSlotId) +
                         " is neither -1 nor 0 (the reserved null slot)");
  int64_t reserved = padSlotId == 0 ? 1 : 0;
  if (numSlots - reserved < 1)
    return Status::error("num_slots = " + num(numSlots) + " leaves " +
                         num(numSlots - reserved) +
                         " usable slots (pad_slot_id = " + num(padSlotId) +
                         "): a pool needs at least one");
  if (numSlots > std::numeric_limits<int32_t>::max())
    return Status::error("num_slots = " + num(numSlots) +
                         " does not fit the i32 state_indices");
  std::unique_ptr<StatePoolManager> m(new StatePoolManager);
  m->stateSpec = spec;
  m->slots = numSlots;
  m->pad = padSlotId;
  const int64_t w = spec.convKernelSize, dl = spec.localIntermediateSize,
                n = spec.stateSize;
  for (int64_t l = 0; l < numLayers; ++l) {
    harness::Pool p;
    p.conv = harness::HostTensor(spec.convStateDType, {numSlots, w - 1, dl});
    p.ssm = harness::HostTensor(spec.ssmStateDType, {numSlots, dl, n});
    p.numSlots = numSlots;
    p.padSlotId = padSlotId;
    m->pools.push_back(std::move(p));
  }
  m->allocated.assign(size_t(numSlots), false);
  for (int64_t s = reserved; s < numSlots; ++s)
    m->freeSlots.insert(int32_t(s));
  out = std::move(m);
  return Status::success();
}

bool StatePoolManager::isAllocated(int64_t slot) const {
  return slot >= 0 && slot < slots && allocated[size_t(slot)];
}

int64_t StatePoolManager::totalBytes() const {
  return numLayers() * slots * stateSpec.pageSizeBytes();
}

Status StatePoolManager::allocate(int32_t &slot) {
  if (freeSlots.empty())
    return Status::error(
        "state pool is full: all " + num(numUsableSlots()) +
        " usable slots of the " + num(slots) + "-slot pool are allocated" +
        (pad == 0 ? " (slot 0 is the reserved null slot)" : ""));
  slot = *freeSlots.begin();
  freeSlots.erase(freeSlots.begin());
  allocated[size_t(slot)] = true;
  // Zeroed in every layer: stale state of the previous owner must never
  // leak into a new request, whatever its has_initial_state says.
  const size_t convBytes = size_t(stateSpec.convStateBytes()),
               ssmBytes = size_t(stateSpec.ssmStateBytes());
  for (harness::Pool &p : pools) {
    std::memset(p.conv.bytes.data() + size_t(slot) * convBytes, 0, convBytes);
    std::memset(p.ssm.bytes.data() + size_t(slot) * ssmBytes, 0, ssmBytes);
  }
  return Status::success();
}

Status StatePoolManager::checkAllocated(const char *what, int64_t slot) const {
  if (slot < 0 || slot >= slots)
    return Status::error(std::string(what) + " slot " + num(slot) +
                         " is outside [0, " + num(slots) + ")");
  if (slot == pad)
    return Status::error(std::string(what) + " slot " + num(slot) +
                         " is the reserved null slot (pad_slot_id)");
  if (!allocated[size_t(slot)])
    return Status::error(std::string(what) + " slot " + num(slot) +
                         " is not allocated");
  return Status::success();
}

Status StatePoolManager::free(int64_t slot) {
  if (Status st = checkAllocated("freed", slot); !st)
    return Status::error(st.message() +
                         (slot >= 0 && slot < slots && slot != pad
                              ? ": a double free, or a slot never handed out"
                              : ""));
  allocated[size_t(slot)] = false;
  freeSlots.insert(int32_t(slot));
  return Status::success();
}

Status StatePoolManager::copySlot(int64_t src, int64_t dst) {
  if (Status st = checkAllocated("copy source", src); !st)
    return st;
  if (Status st = checkAllocated("copy destination", dst); !st)
    return st;
  if (src == dst)
    return Status::success();
  const size_t convBytes = size_t(stateSpec.convStateBytes()),
               ssmBytes = size_t(stateSpec.ssmStateBytes());
  for (harness::Pool &p : pools) {
    std::memcpy(p.conv.bytes.data() + size_t(dst) * convBytes,
                p.conv.bytes.data() + size_t(src) * convBytes, convBytes);
    std::memcpy(p.ssm.bytes.data() + size_t(dst) * ssmBytes,
                p.ssm.bytes.data() + size_t(src) * ssmBytes, ssmBytes);
  }
  return Status::success();
}
