//===- LayerStateStore.h - Where a pool manager's states live -*- C++ -*-===//
//
// StatePoolManager keeps the slot bookkeeping (free list, null slot, double
// frees) and, by default, the states as host bytes. A store keeps them
// elsewhere -- one device pool per layer on the GPU (DeviceStatePools.h) --
// so the same manager, batch builder and adapter serve device-resident
// pools. Every slot operation acts on all layers, since a request holds the
// same slot in every layer.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_SERVING_LAYERSTATESTORE_H
#define HSSM_SERVING_LAYERSTATESTORE_H

#include "hssm/Runtime/Args.h"
#include "hssm/Runtime/Status.h"

#include <cstdint>
#include <vector>

namespace hssm::serving {

class LayerStateStore {
public:
  virtual ~LayerStateStore() = default;
  virtual int64_t numLayers() const = 0;
  /// Zeroes `slot` in every layer (a request starting from no state).
  virtual Status zeroSlot(int64_t slot) = 0;
  /// Copies slot `src` to `dst` in every layer (fork, checkpoint).
  virtual Status copySlot(int64_t src, int64_t dst) = 0;
  /// Layer `layer`'s pools as compiled branches take them: conv
  /// [slots, W-1, Dl] and ssm [slots, Dl, N], in the store's memory.
  virtual Buffer conv(int64_t layer) const = 0;
  virtual Buffer ssm(int64_t layer) const = 0;
  /// Layer `layer`'s bytes, in their storage types (for checks).
  virtual Status read(int64_t layer, std::vector<uint8_t> &conv,
                      std::vector<uint8_t> &ssm) const = 0;
};

} // namespace hssm::serving

#endif // HSSM_SERVING_LAYERSTATESTORE_H
