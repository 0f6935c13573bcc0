//===- ScanCommon.h - The recurrence, shared by the scan lowerings -*- C++ -*-//
//
// One token of SPEC.md section 2's recurrence for one channel, with its N
// states as an fp32 vector: used by the sequential lowering (one loop over a
// row's tokens) and by the chunked one (chunks of a row in parallel, joined
// by the associative rule).
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_LIB_TRANSFORMS_SCANCOMMON_H
#define HSSM_LIB_TRANSFORMS_SCANCOMMON_H

#include "LoopUtils.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::hssm {

/// The operands of a selective_scan / state_update.
struct ScanOperands {
  Value u, delta, a, bMat, cMat, skip, z, deltaBias, state, out;
  bool softplus = false;
  int64_t n = 0;
  template <typename ScanOp> static ScanOperands of(ScanOp op) {
    ScanOperands o;
    o.u = op.getU();
    o.delta = op.getDelta();
    o.a = op.getA();
    o.bMat = op.getB();
    o.cMat = op.getC();
    o.skip = op.getD();
    o.z = op.getZ();
    o.deltaBias = op.getDeltaBias();
    o.state = op.getSsmState();
    o.out = op.getOut();
    o.softplus = op.getDeltaSoftplus();
    o.n = op.getA().getType().getDimSize(1);
    return o;
  }
  VectorType vecType(OpBuilder &b) const {
    return VectorType::get({n}, b.getF32Type());
  }
};

/// What one channel's recurrence needs besides the token: A * log2(e) (the
/// decay is exp2(dt * A * log2(e)), the GPU's native exponential), Dskip and
/// the time-step bias. For a single token (a decode), `log2eOnDt` keeps A
/// as it is and scales dt instead: one multiply, not N.
struct ScanRow {
  Value aLog2e, skip, deltaBias;
  bool log2eOnDt = false;
  /// Channel d's row, A for `count` of its states (0: all N) from state
  /// index `first`.
  static ScanRow load(OpBuilder &b, Location loc, const ScanOperands &ops,
                      Value d, Value first, bool log2eOnDt = false,
                      int64_t count = 0);
};

/// The N contiguous elements at `indices` as an fp32 vector.
Value loadVecF32(OpBuilder &b, Location loc, Value memref, ValueRange indices,
                 int64_t n);

/// What token t of channel d reads, in the storage types: delta, u, the B
/// row, and with `forOutput` the C row and z (when there is one).
SmallVector<Value> loadTokenInputs(OpBuilder &b, Location loc,
                                   const ScanOperands &ops, Value t, Value d,
                                   bool forOutput);

/// scanToken with its inputs from `input(i)` (i in loadTokenInputs' order),
/// called where each is first needed.
Value scanTokenWith(OpBuilder &b, Location loc, const ScanOperands &ops,
                    const ScanRow &row, function_ref<Value(unsigned)> input,
                    Value t, Value d, Value h, bool writeOutput,
                    Value *dtOut = nullptr, Value *yOut = nullptr);

/// scanToken on what loadTokenInputs(t, d, writeOutput) read.
Value scanTokenFrom(OpBuilder &b, Location loc, const ScanOperands &ops,
                    const ScanRow &row, ValueRange inputs, Value t, Value d,
                    Value h, bool writeOutput, Value *dtOut = nullptr,
                    Value *yOut = nullptr);

/// h_{t-1} -> h_t for token t, channel d; with `writeOutput`, also
/// out[t, d] = (C . h_t + Dskip u) silu(z). `dtOut`, when given, receives
/// the token's dt; `yOut`, when given, receives that output instead of it
/// being stored.
Value scanToken(OpBuilder &b, Location loc, const ScanOperands &ops,
                const ScanRow &row, Value t, Value d, Value h,
                bool writeOutput, Value *dtOut = nullptr,
                Value *yOut = nullptr);

/// h_{t0-1}: the row's slot when it reads its state, else zeros.
/// `count` of its states (0: all N) from state index `first`.
Value loadInitialState(OpBuilder &b, Location loc, const ScanOperands &ops,
                       const RowInfo &info, Value d, Value first,
                       int64_t count = 0);

/// Writes h (K states) to state[slot, d, first : first + K], rounded once
/// to the pool's type.
void storeFinalState(OpBuilder &b, Location loc, const ScanOperands &ops,
                     Value h, Value slot, Value d, Value first);

} // namespace mlir::hssm

#endif // HSSM_LIB_TRANSFORMS_SCANCOMMON_H
