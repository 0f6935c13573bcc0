//===- StatePool.h - The per-layer state pools and their slots --*- C++ -*-===//
//
// The job of vLLM's MambaManager for the history branch: one state pool per
// layer (host bytes in the states' storage types, SPEC.md section 3), and
// one slot allocator shared by all layers, since a request holds the same
// slot in every layer. Slots are handed out zeroed, freed once, copied
// across all layers (fork / checkpoint), and slot 0 is never handed out when
// it is the reserved null slot (pad_slot_id = 0). The states are host bytes,
// or live in a LayerStateStore (on the GPU: DeviceStatePools.h).
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_SERVING_STATEPOOL_H
#define HSSM_SERVING_STATEPOOL_H

#include "hssm/Harness/Harness.h"
#include "hssm/Runtime/Batch.h"
#include "hssm/Serving/LayerStateStore.h"
#include "hssm/Serving/StateSpec.h"

#include <cstdint>
#include <memory>
#include <set>
#include <vector>

namespace hssm::serving {

class StatePoolManager {
public:
  /// Builds `numLayers` zeroed pools of `numSlots` slots for `spec`.
  /// `padSlotId` is -1 (no reserved slot) or 0 (slot 0 is the null slot:
  /// pad rows point at it and it is never allocated). Errors: no layers,
  /// fewer than one usable slot, a pad_slot_id other than -1 or 0, or more
  /// slots than i32 state_indices can name.
  static Status create(const StateSpec &spec, int64_t numLayers,
                       int64_t numSlots, int64_t padSlotId,
                       std::unique_ptr<StatePoolManager> &out);
  /// The same over `store`'s states instead of host pools; the store must
  /// hold `numLayers` layers of pools shaped for `spec` and `numSlots`
  /// (checked).
  static Status create(const StateSpec &spec, int64_t numLayers,
                       int64_t numSlots, int64_t padSlotId,
                       std::unique_ptr<LayerStateStore> store,
                       std::unique_ptr<StatePoolManager> &out);

  // Adapters keep pointers to the layer pools: never copied or moved.
  StatePoolManager(const StatePoolManager &) = delete;
  StatePoolManager &operator=(const StatePoolManager &) = delete;

  /// Hands out the lowest free slot, zeroed in every layer (a new request
  /// starts from zeros even if it reads its slot). Fails when every usable
  /// slot is taken, naming the pool size, or when the store cannot zero it
  /// (the slot then stays free).
  Status allocate(int32_t &slot);
  /// Returns `slot` to the free list. Freeing a slot that is out of range,
  /// the null slot, or not allocated (a double free) is an error and changes
  /// nothing.
  Status free(int64_t slot);
  /// Copies slot `src`'s conv and SSM states to slot `dst` in every layer
  /// (forking a request, or checkpointing one). Both must be allocated;
  /// `src == dst` is a no-op.
  Status copySlot(int64_t src, int64_t dst);

  bool isAllocated(int64_t slot) const;
  int64_t numSlots() const { return slots; }
  int64_t padSlotId() const { return pad; }
  /// Slots that can be handed out: all but the null slot.
  int64_t numUsableSlots() const { return slots - (pad == 0 ? 1 : 0); }
  int64_t numFree() const { return int64_t(freeSlots.size()); }
  int64_t numAllocated() const { return numUsableSlots() - numFree(); }
  int64_t numLayers() const { return layers; }
  const StateSpec &spec() const { return stateSpec; }
  /// What checkBatch needs to know about the pools.
  PoolLimits limits() const { return {slots, pad}; }
  /// Whether the states are host pools (layer() is valid), not a store's.
  bool onHost() const { return !stateStore; }
  /// Layer `i`'s host pool: conv [slots, W-1, Dl], ssm [slots, Dl, N]. Only
  /// when onHost().
  harness::Pool &layer(int64_t i) { return pools[size_t(i)]; }
  const harness::Pool &layer(int64_t i) const { return pools[size_t(i)]; }
  /// The store holding the states, or null when onHost().
  LayerStateStore *store() const { return stateStore.get(); }
  /// Layer `i`'s pools as compiled branches take them (host or store
  /// memory).
  void stateBuffers(int64_t i, Buffer &conv, Buffer &ssm);
  /// Layer `i`'s bytes in their storage types, wherever they live.
  Status readLayer(int64_t i, std::vector<uint8_t> &conv,
                   std::vector<uint8_t> &ssm) const;
  /// Bytes of all layers' pools.
  int64_t totalBytes() const;

private:
  StatePoolManager() = default;
  /// Why `slot` cannot be used as an allocated slot, or success.
  Status checkAllocated(const char *what, int64_t slot) const;

  static Status checkSizes(int64_t numLayers, int64_t numSlots,
                           int64_t padSlotId);
  void initSlots();

  StateSpec stateSpec;
  int64_t layers = 0;
  int64_t slots = 0;
  int64_t pad = -1;
  std::vector<harness::Pool> pools; ///< empty when a store holds the states
  std::unique_ptr<LayerStateStore> stateStore;
  std::set<int32_t> freeSlots;
  std::vector<bool> allocated;
};

} // namespace hssm::serving

#endif // HSSM_SERVING_STATEPOOL_H
