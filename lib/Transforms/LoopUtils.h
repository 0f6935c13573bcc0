//===- LoopUtils.h - Helpers shared by the loop lowerings -------*- C++ -*-===//
//
// Loads that widen to fp32, stores that round to the storage type, the
// activation functions of SPEC.md, and the batch buffers behind a
// !hssm.batch value.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_LIB_TRANSFORMS_LOOPUTILS_H
#define HSSM_LIB_TRANSFORMS_LOOPUTILS_H

#include "hssm/Dialect/HSSM/HSSMDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::hssm {

/// Loads memref[indices] and widens it to f32.
Value loadF32(OpBuilder &b, Location loc, Value memref, ValueRange indices);
/// Rounds the f32 `value` to the memref's element type and stores it.
void storeF32(OpBuilder &b, Location loc, Value value, Value memref,
              ValueRange indices);
/// Loads an i32 metadata element as an index.
Value loadIndex(OpBuilder &b, Location loc, Value memref, Value index);

Value constF32(OpBuilder &b, Location loc, float v);
Value constIndex(OpBuilder &b, Location loc, int64_t v);
/// silu(v) = v / (1 + exp(-v)).
Value silu(OpBuilder &b, Location loc, Value v);
/// softplus(v) = v if v > 20 else log1p(exp(v)) (SPEC.md section 2).
Value softplus(OpBuilder &b, Location loc, Value v);
/// The size of dimension `dim` of `memref` as an index value.
Value dimValue(OpBuilder &b, Location loc, Value memref, int64_t dim);

/// The buffers and counts of one batch, taken from its hssm.batch op.
struct BatchValues {
  Value queryStartLoc, stateIndices, dstStateIndices, hasInitialState;
  Value numDecodes, numPrefills, numReqs;
};
/// Fails (with a diagnostic on `user`) when the batch does not come from an
/// hssm.batch op in reach.
FailureOr<BatchValues> getBatchValues(Operation *user, Value batch,
                                      OpBuilder &b);

/// What one row of a pool-reading loop needs: its token range, whether it
/// is padding, whether it reads its slot, and its source and destination
/// slots.
struct RowInfo {
  Value begin, end, isPad, readsState, srcSlot, dstSlot;
};
/// Reads the row's metadata. `alwaysRead` is set for decode rows.
RowInfo loadRow(OpBuilder &b, Location loc, const BatchValues &batch,
                Value row, int64_t padSlotId, bool alwaysRead);

/// A channel's conv taps and bias (zero without one), as fp32.
struct ConvTaps {
  SmallVector<Value> taps;
  Value bias;
  static ConvTaps load(OpBuilder &b, Location loc, Value weight, Value bias,
                       Value d);
};

/// The tokens [begin, end) of one channel of the causal conv, starting from
/// `window` (the W-1 older inputs, oldest first): writes act(conv) to
/// out[t, d] and returns the window after the last token.
SmallVector<Value> convTokens(OpBuilder &b, Location loc,
                              const ConvTaps &taps, Value x, Value out,
                              Value begin, Value end, Value d,
                              ValueRange window, bool applySilu);

/// for t in [begin, end): memref[t, col] = 0 (the outputs of a pad row).
void zeroColumn(OpBuilder &b, Location loc, Value memref, Value begin,
                Value end, Value col);

} // namespace mlir::hssm

#endif // HSSM_LIB_TRANSFORMS_LOOPUTILS_H
