//===- ScanCommon.cpp - The recurrence, shared by the scan lowerings ------===//

#include "ScanCommon.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

using namespace mlir;
using namespace mlir::hssm;

Value mlir::hssm::loadVecF32(OpBuilder &b, Location loc, Value memref,
                             ValueRange indices, int64_t n) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  Value v = vector::LoadOp::create(b, loc, VectorType::get({n}, elem), memref,
                                   indices, /*nontemporal=*/false,
                                   vectorAlignment(memref, n));
  if (elem.isF32())
    return v;
  return arith::ExtFOp::create(b, loc, VectorType::get({n}, b.getF32Type()),
                               v);
}

ScanRow ScanRow::load(OpBuilder &b, Location loc, const ScanOperands &ops,
                      Value d, Value zero, bool log2eOnDt) {
  ScanRow row;
  row.zero = zero;
  row.log2eOnDt = log2eOnDt;
  VectorType vecType = ops.vecType(b);
  Value a = loadVecF32(b, loc, ops.a, {d, zero}, ops.n);
  row.aLog2e = log2eOnDt ? a
                         : arith::MulFOp::create(
                               b, loc, a,
                               constF32Like(b, loc, float(M_LOG2E), vecType));
  row.skip = loadF32(b, loc, ops.skip, {d});
  if (ops.deltaBias)
    row.deltaBias = loadF32(b, loc, ops.deltaBias, {d});
  return row;
}

Value mlir::hssm::tokenDelta(OpBuilder &b, Location loc,
                             const ScanOperands &ops, const ScanRow &row,
                             Value t, Value d) {
  Value dt = loadF32(b, loc, ops.delta, {t, d});
  if (row.deltaBias)
    dt = arith::AddFOp::create(b, loc, dt, row.deltaBias);
  if (ops.softplus)
    dt = softplus(b, loc, dt);
  return dt;
}

Value mlir::hssm::scanToken(OpBuilder &b, Location loc,
                            const ScanOperands &ops, const ScanRow &row,
                            Value t, Value d, Value h, bool writeOutput,
                            Value *dtOut, Value *yOut) {
  VectorType vecType = ops.vecType(b);
  Value zeroIdx = row.zero;
  Value dt = tokenDelta(b, loc, ops, row, t, d);
  if (dtOut)
    *dtOut = dt;
  Value u = loadF32(b, loc, ops.u, {t, d});
  Value dtu = arith::MulFOp::create(b, loc, dt, u);
  Value bRow = loadVecF32(b, loc, ops.bMat, {t, zeroIdx}, ops.n);
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
  Value cRow = loadVecF32(b, loc, ops.cMat, {t, zeroIdx}, ops.n);
  Value ch = vector::ReductionOp::create(
      b, loc, vector::CombiningKind::ADD,
      arith::MulFOp::create(b, loc, cRow, next));
  Value y = arith::AddFOp::create(b, loc, ch,
                                  arith::MulFOp::create(b, loc, row.skip, u));
  if (ops.z)
    y = arith::MulFOp::create(b, loc, y,
                              silu(b, loc, loadF32(b, loc, ops.z, {t, d})));
  if (yOut)
    *yOut = y;
  else
    storeF32(b, loc, y, ops.out, {t, d});
  return next;
}

Value mlir::hssm::loadInitialState(OpBuilder &b, Location loc,
                                   const ScanOperands &ops,
                                   const RowInfo &info, Value d,
                                   Value zeroIdx) {
  VectorType vecType = ops.vecType(b);
  return scf::IfOp::create(
             b, loc, info.readsState,
             [&](OpBuilder &b, Location loc) {
               scf::YieldOp::create(b, loc,
                                    loadVecF32(b, loc, ops.state,
                                               {info.srcSlot, d, zeroIdx},
                                               ops.n));
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
                                 Value d, Value zero) {
  Type stateElem = cast<MemRefType>(ops.state.getType()).getElementType();
  if (!stateElem.isF32())
    h = arith::TruncFOp::create(b, loc, VectorType::get({ops.n}, stateElem),
                                h);
  vector::StoreOp::create(b, loc, h, ops.state,
                          ValueRange{slot, d, zero},
                          /*nontemporal=*/false, vectorAlignment(ops.state, ops.n));
}
