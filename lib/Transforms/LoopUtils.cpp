//===- LoopUtils.cpp - Helpers shared by the loop lowerings ---------------===//

#include "LoopUtils.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>

using namespace mlir;
using namespace mlir::hssm;

Value mlir::hssm::loadF32(OpBuilder &b, Location loc, Value memref,
                          ValueRange indices) {
  Value v = memref::LoadOp::create(b, loc, memref, indices);
  if (v.getType().isF32())
    return v;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
}

void mlir::hssm::storeF32(OpBuilder &b, Location loc, Value value,
                          Value memref, ValueRange indices) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  if (elem != value.getType())
    value = arith::TruncFOp::create(b, loc, elem, value);
  memref::StoreOp::create(b, loc, value, memref, indices);
}

Value mlir::hssm::loadIndex(OpBuilder &b, Location loc, Value memref,
                            Value index) {
  Value v = memref::LoadOp::create(b, loc, memref, index);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

Value mlir::hssm::constF32(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

Value mlir::hssm::constIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value mlir::hssm::silu(OpBuilder &b, Location loc, Value v) {
  Value neg = arith::NegFOp::create(b, loc, v);
  Value e = math::ExpOp::create(b, loc, neg);
  Value den = arith::AddFOp::create(b, loc, constF32(b, loc, 1.0f), e);
  return arith::DivFOp::create(b, loc, v, den);
}

/// log1p(e) to a few ulps with log alone: log(u) * e / (u - 1), u = 1 + e,
/// cancels the rounding of u (Goldberg's trick). The plain log(1 + e) that
/// LLVM lowerings use loses all digits of e below 2^-24, and softplus of
/// the usual dt biases (-7..-2) lives there.
static Value accurateLog1p(OpBuilder &b, Location loc, Value e) {
  Value one = constF32(b, loc, 1.0f);
  Value u = arith::AddFOp::create(b, loc, one, e);
  Value um1 = arith::SubFOp::create(b, loc, u, one);
  Value ratio = arith::DivFOp::create(
      b, loc, arith::MulFOp::create(b, loc, math::LogOp::create(b, loc, u), e),
      um1);
  // u == 1 (e below half an ulp of 1): log1p(e) = e. u == inf: log(u).
  Value tiny = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, um1,
                                     constF32(b, loc, 0.0f));
  Value huge = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, u,
                                     constF32(b, loc, INFINITY));
  Value r = arith::SelectOp::create(b, loc, tiny, e, ratio);
  return arith::SelectOp::create(b, loc, huge, u, r);
}

Value mlir::hssm::softplus(OpBuilder &b, Location loc, Value v) {
  Value e = math::ExpOp::create(b, loc, v);
  Value soft = accurateLog1p(b, loc, e);
  Value big = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, v,
                                    constF32(b, loc, 20.0f));
  return arith::SelectOp::create(b, loc, big, v, soft);
}

Value mlir::hssm::dimValue(OpBuilder &b, Location loc, Value memref,
                           int64_t dim) {
  int64_t size = cast<MemRefType>(memref.getType()).getDimSize(dim);
  if (!ShapedType::isDynamic(size))
    return constIndex(b, loc, size);
  return memref::DimOp::create(b, loc, memref, dim);
}

FailureOr<BatchValues> mlir::hssm::getBatchValues(Operation *user,
                                                  Value batch, OpBuilder &b) {
  auto batchOp = batch.getDefiningOp<BatchOp>();
  if (!batchOp)
    return user->emitOpError(
        "needs its batch from an hssm.batch op to be lowered");
  BatchValues v;
  v.queryStartLoc = batchOp.getQueryStartLoc();
  v.stateIndices = batchOp.getStateIndices();
  v.dstStateIndices = batchOp.getDstStateIndices()
                          ? batchOp.getDstStateIndices()
                          : batchOp.getStateIndices();
  v.hasInitialState = batchOp.getHasInitialState();
  v.numDecodes = batchOp.getNumDecodes();
  v.numPrefills = batchOp.getNumPrefills();
  v.numReqs = arith::AddIOp::create(b, user->getLoc(), v.numDecodes,
                                    v.numPrefills);
  return v;
}

RowInfo mlir::hssm::loadRow(OpBuilder &b, Location loc,
                            const BatchValues &batch, Value row,
                            int64_t padSlotId, bool alwaysRead) {
  RowInfo info;
  Value next = arith::AddIOp::create(b, loc, row, constIndex(b, loc, 1));
  info.begin = loadIndex(b, loc, batch.queryStartLoc, row);
  info.end = loadIndex(b, loc, batch.queryStartLoc, next);
  info.srcSlot = loadIndex(b, loc, batch.stateIndices, row);
  info.dstSlot = loadIndex(b, loc, batch.dstStateIndices, row);
  info.isPad = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                     info.srcSlot,
                                     constIndex(b, loc, padSlotId));
  if (alwaysRead) {
    info.readsState = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1);
  } else {
    Value flag = memref::LoadOp::create(b, loc, batch.hasInitialState, row);
    Value zero = arith::ConstantIntOp::create(b, loc, flag.getType(), 0);
    info.readsState = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                            flag, zero);
  }
  return info;
}

void mlir::hssm::zeroColumn(OpBuilder &b, Location loc, Value memref,
                            Value begin, Value end, Value col) {
  Value zero = constF32(b, loc, 0.0f);
  scf::ForOp::create(b, loc, begin, end, constIndex(b, loc, 1), ValueRange{},
                     [&](OpBuilder &b, Location loc, Value t, ValueRange) {
                       storeF32(b, loc, zero, memref, {t, col});
                       scf::YieldOp::create(b, loc);
                     });
}

ConvTaps ConvTaps::load(OpBuilder &b, Location loc, Value weight, Value bias,
                        Value d) {
  ConvTaps c;
  int64_t width = cast<MemRefType>(weight.getType()).getDimSize(1);
  for (int64_t k = 0; k < width; ++k)
    c.taps.push_back(loadF32(b, loc, weight, {d, constIndex(b, loc, k)}));
  c.bias = bias ? loadF32(b, loc, bias, {d}) : constF32(b, loc, 0.0f);
  return c;
}

SmallVector<Value> mlir::hssm::convTokens(OpBuilder &b, Location loc,
                                          const ConvTaps &taps, Value x,
                                          Value out, Value begin, Value end,
                                          Value d, ValueRange window,
                                          bool applySilu) {
  int64_t width = int64_t(taps.taps.size());
  auto tokens = scf::ForOp::create(
      b, loc, begin, end, constIndex(b, loc, 1), window,
      [&](OpBuilder &b, Location loc, Value t, ValueRange carried) {
        Value xt = loadF32(b, loc, x, {t, d});
        Value acc = taps.bias;
        for (int64_t k = 0; k < width - 1; ++k)
          acc = arith::AddFOp::create(
              b, loc, acc,
              arith::MulFOp::create(b, loc, taps.taps[k], carried[k]));
        acc = arith::AddFOp::create(
            b, loc, acc,
            arith::MulFOp::create(b, loc, taps.taps[width - 1], xt));
        storeF32(b, loc, applySilu ? silu(b, loc, acc) : acc, out, {t, d});
        SmallVector<Value> shifted(carried.drop_front());
        shifted.push_back(xt);
        scf::YieldOp::create(b, loc, shifted);
      });
  return SmallVector<Value>(tokens.getResults());
}
