//===- ScanCommon.cpp - The recurrence, shared by the scan lowerings ------===//

#include "ScanCommon.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

using namespace mlir;
using namespace mlir::hssm;

Value mlir::hssm::loadVecF32(OpBuilder &b, Location loc, Value memref,
                             ValueRange indices, int64_t n) {
  return toF32(b, loc, loadVector(b, loc, memref, indices, n));
}

ScanRow ScanRow::load(OpBuilder &b, Location loc, const ScanOperands &ops,
                      Value d, Value first, bool log2eOnDt, int64_t count) {
  int64_t k = count > 0 ? count : ops.n;
  ScanRow row;
  row.log2eOnDt = log2eOnDt;
  VectorType vecType = VectorType::get({k}, b.getF32Type());
  Value a = loadVecF32(b, loc, ops.a, {d, first}, k);
  row.aLog2e = log2eOnDt ? a
                         : arith::MulFOp::create(
                               b, loc, a,
                               constF32Like(b, loc, float(M_LOG2E), vecType));
  row.skip = loadF32(b, loc, ops.skip, {d});
  if (ops.deltaBias)
    row.deltaBias = loadF32(b, loc, ops.deltaBias, {d});
  return row;
}

/// dt from delta's stored value: (+ bias), softplus'd when asked.
static Value deltaFrom(OpBuilder &b, Location loc, const ScanOperands &ops,
                       const ScanRow &row, Value raw) {
  Value dt = toF32(b, loc, raw);
  if (row.deltaBias)
    dt = arith::AddFOp::create(b, loc, dt, row.deltaBias);
  if (ops.softplus)
    dt = softplus(b, loc, dt);
  return dt;
}

/// Input `i` of token t, channel d (the order of loadTokenInputs).
static Value loadTokenInput(OpBuilder &b, Location loc,
                            const ScanOperands &ops, Value t, Value d,
                            unsigned i) {
  auto row = [&](Value memref) {
    return loadVector(b, loc, memref, {t, constIndex(b, loc, 0)}, ops.n);
  };
  switch (i) {
  case 0: return memref::LoadOp::create(b, loc, ops.delta, ValueRange{t, d});
  case 1: return memref::LoadOp::create(b, loc, ops.u, ValueRange{t, d});
  case 2: return row(ops.bMat);
  case 3: return row(ops.cMat);
  default: return memref::LoadOp::create(b, loc, ops.z, ValueRange{t, d});
  }
}

SmallVector<Value> mlir::hssm::loadTokenInputs(OpBuilder &b, Location loc,
                                               const ScanOperands &ops,
                                               Value t, Value d,
                                               bool forOutput) {
  unsigned count = forOutput ? (ops.z ? 5 : 4) : 3;
  SmallVector<Value> in;
  for (unsigned i = 0; i < count; ++i)
    in.push_back(loadTokenInput(b, loc, ops, t, d, i));
  return in;
}

Value mlir::hssm::scanToken(OpBuilder &b, Location loc,
                            const ScanOperands &ops, const ScanRow &row,
                            Value t, Value d, Value h, bool writeOutput,
                            Value *dtOut, Value *yOut) {
  // Each load where its value is first needed: the fewest values live.
  return scanTokenWith(
      b, loc, ops, row,
      [&](unsigned i) { return loadTokenInput(b, loc, ops, t, d, i); }, t, d,
      h, writeOutput, dtOut, yOut);
}

Value mlir::hssm::scanTokenFrom(OpBuilder &b, Location loc,
                                const ScanOperands &ops, const ScanRow &row,
                                ValueRange inputs, Value t, Value d, Value h,
                                bool writeOutput, Value *dtOut, Value *yOut) {
  return scanTokenWith(
      b, loc, ops, row, [&](unsigned i) { return inputs[i]; }, t, d, h,
      writeOutput, dtOut, yOut);
}

Value mlir::hssm::scanTokenWith(OpBuilder &b, Location loc,
                                const ScanOperands &ops, const ScanRow &row,
                                function_ref<Value(unsigned)> input, Value t,
                                Value d, Value h, bool writeOutput,
                                Value *dtOut, Value *yOut) {
  VectorType vecType = ops.vecType(b);
  Value dt = deltaFrom(b, loc, ops, row, input(0));
  if (dtOut)
    *dtOut = dt;
  Value u = toF32(b, loc, input(1));
  Value dtu = arith::MulFOp::create(b, loc, dt, u);
  Value bRow = toF32(b, loc, input(2));
  // h = exp2(dt * A log2(e)) * h + dt * B * u
  Value dtScaled = row.log2eOnDt
                       ? arith::MulFOp::create(
                             b, loc, dt, constF32(b, loc, float(M_LOG2E)))
                       : dt;
  Value decay = math::Exp2Op::create(
      b, loc,
      arith::MulFOp::create(
          b, loc, vector::BroadcastOp::create(b, loc, vecType, dtScaled),
          row.aLog2e));
  Value next = arith::AddFOp::create(
      b, loc, arith::MulFOp::create(b, loc, decay, h),
      arith::MulFOp::create(b, loc,
                            vector::BroadcastOp::create(b, loc, vecType, dtu),
                            bRow));
  if (!writeOutput)
    return next;
  Value cRow = toF32(b, loc, input(3));
  Value ch = vector::ReductionOp::create(
      b, loc, vector::CombiningKind::ADD,
      arith::MulFOp::create(b, loc, cRow, next));
  Value y = arith::AddFOp::create(b, loc, ch,
                                  arith::MulFOp::create(b, loc, row.skip, u));
  if (ops.z)
    y = arith::MulFOp::create(b, loc, y, silu(b, loc, toF32(b, loc, input(4))));
  if (yOut)
    *yOut = y;
  else
    storeF32(b, loc, y, ops.out, {t, d});
  return next;
}

Value mlir::hssm::loadInitialState(OpBuilder &b, Location loc,
                                   const ScanOperands &ops,
                                   const RowInfo &info, Value d,
                                   Value first, int64_t count) {
  int64_t k = count > 0 ? count : ops.n;
  VectorType vecType = VectorType::get({k}, b.getF32Type());
  return scf::IfOp::create(
             b, loc, info.readsState,
             [&](OpBuilder &b, Location loc) {
               scf::YieldOp::create(b, loc,
                                    loadVecF32(b, loc, ops.state,
                                               {info.srcSlot, d, first}, k));
             },
             [&](OpBuilder &b, Location loc) {
               Value zeros = arith::ConstantOp::create(
                   b, loc, DenseElementsAttr::get(vecType, 0.0f));
               scf::YieldOp::create(b, loc, zeros);
             })
      .getResult(0);
}

void mlir::hssm::storeFinalState(OpBuilder &b, Location loc,
                                 const ScanOperands &ops, Value h, Value slot,
                                 Value d, Value first) {
  int64_t k = cast<VectorType>(h.getType()).getNumElements();
  Type stateElem = cast<MemRefType>(ops.state.getType()).getElementType();
  if (!stateElem.isF32())
    h = arith::TruncFOp::create(b, loc, VectorType::get({k}, stateElem), h);
  vector::StoreOp::create(b, loc, h, ops.state, ValueRange{slot, d, first},
                          /*nontemporal=*/false,
                          vectorAlignment(ops.state, k));
}
