//===- ScanToLoops.cpp - hssm.selective_scan / hssm.state_update to loops -===//
//
// One parallel iteration per (row, channel), sequential over the row's
// tokens (SPEC.md section 2). The channel's N states travel through the
// token loop as one fp32 vector (registers on the GPU), so a low-precision
// pool is rounded once, at the end of the row.
//
//===----------------------------------------------------------------------===//

#include "LoopUtils.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::hssm;

namespace {

/// 16 when every row of `n` elements that a vector access along the last
/// dimension of `memref` starts at is 16-byte aligned: the last dimension is
/// contiguous and the offset and the other strides are static multiples of
/// 16 bytes. hssm functions require 16-byte aligned buffers (cuMemAlloc and
/// malloc give more), so the row start is then aligned too.
llvm::MaybeAlign rowAlignment(Value memref, int64_t n) {
  auto type = cast<MemRefType>(memref.getType());
  int64_t bytes = type.getElementTypeBitWidth() / 8;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || strides.empty() ||
      strides.back() != 1 || ShapedType::isDynamic(offset) ||
      (offset * bytes) % 16 != 0 || (n * bytes) % 16 != 0)
    return llvm::MaybeAlign();
  for (int64_t stride : ArrayRef<int64_t>(strides).drop_back())
    if (ShapedType::isDynamic(stride) || (stride * bytes) % 16 != 0)
      return llvm::MaybeAlign();
  return llvm::MaybeAlign(16);
}

template <typename ScanOp>
struct ScanToLoops : OpRewritePattern<ScanOp> {
  using OpRewritePattern<ScanOp>::OpRewritePattern;
  static constexpr bool isDecode = std::is_same_v<ScanOp, StateUpdateOp>;

  LogicalResult matchAndRewrite(ScanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<BatchValues> batch =
        getBatchValues(op, op.getBatch(), rewriter);
    if (failed(batch))
      return failure();
    Value rowBegin =
        isDecode ? constIndex(rewriter, loc, 0) : batch->numDecodes;
    Value rowEnd = isDecode ? batch->numDecodes : batch->numReqs;
    Value channels = dimValue(rewriter, loc, op.getA(), 0);
    Value zeroIdx = constIndex(rewriter, loc, 0);
    Value one = constIndex(rewriter, loc, 1);

    scf::ParallelOp::create(
        rewriter, loc, ValueRange{rowBegin, zeroIdx},
        ValueRange{rowEnd, channels}, ValueRange{one, one},
        [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value row = ivs[0], d = ivs[1];
          RowInfo info =
              loadRow(b, loc, *batch, row, op.getPadSlotId(), isDecode);
          scf::IfOp::create(
              b, loc, info.isPad,
              [&](OpBuilder &b, Location loc) {
                zeroColumn(b, loc, op.getOut(), info.begin, info.end, d);
                scf::YieldOp::create(b, loc);
              },
              [&](OpBuilder &b, Location loc) {
                emitLiveRow(b, loc, op, info, d);
                scf::YieldOp::create(b, loc);
              });
        });
    rewriter.eraseOp(op);
    return success();
  }

  /// Loads the N contiguous elements at `indices` as an fp32 vector, with
  /// the alignment the layout proves (128-bit loads on the GPU).
  static Value loadVecF32(OpBuilder &b, Location loc, Value memref,
                          ValueRange indices, int64_t n) {
    Type elem = cast<MemRefType>(memref.getType()).getElementType();
    Value v = vector::LoadOp::create(b, loc, VectorType::get({n}, elem),
                                     memref, indices, /*nontemporal=*/false,
                                     rowAlignment(memref, n));
    if (elem.isF32())
      return v;
    return arith::ExtFOp::create(b, loc, VectorType::get({n}, b.getF32Type()),
                                 v);
  }

  static void emitLiveRow(OpBuilder &b, Location loc, ScanOp op,
                          const RowInfo &info, Value d) {
    int64_t n = op.getA().getType().getDimSize(1);
    auto vecType = VectorType::get({n}, b.getF32Type());
    Value zeroIdx = constIndex(b, loc, 0);
    Value one = constIndex(b, loc, 1);
    Value state = op.getSsmState();

    // h_{t0-1}: the row's slot when it has an initial state, else zeros.
    Value hInit =
        scf::IfOp::create(
            b, loc, info.readsState,
            [&](OpBuilder &b, Location loc) {
              scf::YieldOp::create(
                  b, loc,
                  loadVecF32(b, loc, state, {info.srcSlot, d, zeroIdx}, n));
            },
            [&](OpBuilder &b, Location loc) {
              Value zeros = arith::ConstantOp::create(
                  b, loc, DenseElementsAttr::get(vecType, 0.0f));
              scf::YieldOp::create(b, loc, zeros);
            })
            .getResult(0);
    // exp(dt * A) = exp2(dt * (A * log2(e))): the scaled row is computed once
    // per row, and exp2 is the GPU's native exponential (ex2.approx).
    Value aRow = arith::MulFOp::create(
        b, loc, loadVecF32(b, loc, op.getA(), {d, zeroIdx}, n),
        arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(vecType, float(M_LOG2E))));
    Value skip = loadF32(b, loc, op.getD(), {d});
    Value deltaBias =
        op.getDeltaBias() ? loadF32(b, loc, op.getDeltaBias(), {d}) : Value();

    auto tokens = scf::ForOp::create(
        b, loc, info.begin, info.end, one, ValueRange{hInit},
        [&](OpBuilder &b, Location loc, Value t, ValueRange carried) {
          Value dt = loadF32(b, loc, op.getDelta(), {t, d});
          if (deltaBias)
            dt = arith::AddFOp::create(b, loc, dt, deltaBias);
          if (op.getDeltaSoftplus())
            dt = softplus(b, loc, dt);
          Value u = loadF32(b, loc, op.getU(), {t, d});
          Value dtu = arith::MulFOp::create(b, loc, dt, u);
          Value bRow = loadVecF32(b, loc, op.getB(), {t, zeroIdx}, n);
          Value cRow = loadVecF32(b, loc, op.getC(), {t, zeroIdx}, n);
          // h = exp(dt * A) * h + dt * B * u
          Value decay = math::Exp2Op::create(
              b, loc,
              arith::MulFOp::create(
                  b, loc, vector::BroadcastOp::create(b, loc, vecType, dt),
                  aRow));
          Value h = arith::AddFOp::create(
              b, loc, arith::MulFOp::create(b, loc, decay, carried[0]),
              arith::MulFOp::create(
                  b, loc, vector::BroadcastOp::create(b, loc, vecType, dtu),
                  bRow));
          Value ch = vector::ReductionOp::create(
              b, loc, vector::CombiningKind::ADD,
              arith::MulFOp::create(b, loc, cRow, h));
          Value y =
              arith::AddFOp::create(b, loc, ch, arith::MulFOp::create(b, loc, skip, u));
          if (op.getZ())
            y = arith::MulFOp::create(
                b, loc, y, silu(b, loc, loadF32(b, loc, op.getZ(), {t, d})));
          storeF32(b, loc, y, op.getOut(), {t, d});
          scf::YieldOp::create(b, loc, h);
        });

    // h_{t1} to the destination slot, rounded once to the pool's type.
    Value hFinal = tokens.getResult(0);
    Type stateElem = op.getSsmState().getType().getElementType();
    if (!stateElem.isF32())
      hFinal = arith::TruncFOp::create(
          b, loc, VectorType::get({n}, stateElem), hFinal);
    vector::StoreOp::create(b, loc, hFinal, state,
                            ValueRange{info.dstSlot, d, zeroIdx},
                            /*nontemporal=*/false, rowAlignment(state, n));
  }
};

} // namespace

void mlir::hssm::populateScanToLoopsPatterns(RewritePatternSet &patterns) {
  patterns.add<ScanToLoops<SelectiveScanOp>, ScanToLoops<StateUpdateOp>>(
      patterns.getContext());
}
