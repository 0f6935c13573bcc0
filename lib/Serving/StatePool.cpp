//===- StatePool.cpp - The per-layer state pools and their slots ----------===//

#include "hssm/Serving/StatePool.h"

#include <cstring>
#include <limits>
#include <string>

using namespace hssm;
using namespace hssm::serving;

static std::string num(int64_t v) { return std::to_string(v); }

Status StatePoolManager::checkSizes(int64_t numLayers, int64_t numSlots,
                                    int64_t padSlotId) {
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
  return Status::success();
}

void StatePoolManager::initSlots() {
  allocated.assign(size_t(slots), false);
  for (int64_t s = pad == 0 ? 1 : 0; s < slots; ++s)
    freeSlots.insert(int32_t(s));
}

Status StatePoolManager::create(const StateSpec &spec, int64_t numLayers,
                                int64_t numSlots, int64_t padSlotId,
                                std::unique_ptr<StatePoolManager> &out) {
  if (Status st = checkSizes(numLayers, numSlots, padSlotId); !st)
    return st;
  std::unique_ptr<StatePoolManager> m(new StatePoolManager);
  m->stateSpec = spec;
  m->layers = numLayers;
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
  m->initSlots();
  out = std::move(m);
  return Status::success();
}

static Elem elemOf(DType t) {
  return t == DType::F32 ? Elem::F32 : t == DType::F16 ? Elem::F16 : Elem::BF16;
}

Status StatePoolManager::create(const StateSpec &spec, int64_t numLayers,
                                int64_t numSlots, int64_t padSlotId,
                                std::unique_ptr<LayerStateStore> store,
                                std::unique_ptr<StatePoolManager> &out) {
  if (Status st = checkSizes(numLayers, numSlots, padSlotId); !st)
    return st;
  if (!store)
    return Status::error("the state store is null");
  if (store->numLayers() != numLayers)
    return Status::error("the state store holds " + num(store->numLayers()) +
                         " layers, the manager serves " + num(numLayers));
  // A store shaped for another spec would be read and written out of
  // bounds by every compiled branch: refuse it here, once.
  const int64_t w = spec.convKernelSize, dl = spec.localIntermediateSize,
                n = spec.stateSize;
  for (int64_t l = 0; l < numLayers; ++l) {
    Buffer c = store->conv(l), s = store->ssm(l);
    if (c.shape != std::vector<int64_t>{numSlots, w - 1, dl} ||
        c.elem != elemOf(spec.convStateDType) ||
        s.shape != std::vector<int64_t>{numSlots, dl, n} ||
        s.elem != elemOf(spec.ssmStateDType))
      return Status::error("the state store's layer " + num(l) +
                           " is not shaped for the spec and " + num(numSlots) +
                           " slots (conv [" + num(numSlots) + ", " +
                           num(w - 1) + ", " + num(dl) + "] " +
                           dtypeName(spec.convStateDType) + ", ssm [" +
                           num(numSlots) + ", " + num(dl) + ", " + num(n) +
                           "] " + dtypeName(spec.ssmStateDType) + ")");
  }
  std::unique_ptr<StatePoolManager> m(new StatePoolManager);
  m->stateSpec = spec;
  m->layers = numLayers;
  m->slots = numSlots;
  m->pad = padSlotId;
  m->stateStore = std::move(store);
  m->initSlots();
  out = std::move(m);
  return Status::success();
}

void StatePoolManager::stateBuffers(int64_t i, Buffer &conv, Buffer &ssm) {
  if (stateStore) {
    conv = stateStore->conv(i);
    ssm = stateStore->ssm(i);
    return;
  }
  conv = pools[size_t(i)].conv.buffer();
  ssm = pools[size_t(i)].ssm.buffer();
}

Status StatePoolManager::readLayer(int64_t i, std::vector<uint8_t> &conv,
                                   std::vector<uint8_t> &ssm) const {
  if (i < 0 || i >= layers)
    return Status::error("layer " + num(i) + " is outside the manager's " +
                         num(layers) + " layers");
  if (stateStore)
    return stateStore->read(i, conv, ssm);
  conv = pools[size_t(i)].conv.bytes;
  ssm = pools[size_t(i)].ssm.bytes;
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
  const int32_t s = *freeSlots.begin();
  // Zeroed in every layer: stale state of the previous owner must never
  // leak into a new request, whatever its has_initial_state says.
  if (stateStore) {
    // A failed zeroing hands nothing out: the slot stays free.
    if (Status st = stateStore->zeroSlot(s); !st)
      return Status::error("allocating slot " + num(s) +
                           ": zeroing it failed: " + st.message());
  } else {
    const size_t convBytes = size_t(stateSpec.convStateBytes()),
                 ssmBytes = size_t(stateSpec.ssmStateBytes());
    for (harness::Pool &p : pools) {
      std::memset(p.conv.bytes.data() + size_t(s) * convBytes, 0, convBytes);
      std::memset(p.ssm.bytes.data() + size_t(s) * ssmBytes, 0, ssmBytes);
    }
  }
  freeSlots.erase(freeSlots.begin());
  allocated[size_t(s)] = true;
  slot = s;
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
  if (stateStore) {
    if (Status st = stateStore->copySlot(src, dst); !st)
      return Status::error("copying slot " + num(src) + " to " + num(dst) +
                           ": " + st.message());
    return Status::success();
  }
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
