//===- DecomposeHistoryBranch.cpp - history_branch into primitives --------===//
//
// SPEC.md section 2 as a chain of hssm ops. Temporaries are fp32 whatever
// the storage type (accumulation is fp32 anyway, and this keeps the branch
// within the f32 tolerance end to end); the GPU pipeline stores the ones
// that feed projections in the activation type instead, so that cuBLAS
// multiplies them (as vLLM's chain does). x and z, and delta_r, B and C, are
// strided views of the projection outputs: nothing is split or transposed.
//
//===----------------------------------------------------------------------===//

#include "LoopUtils.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hssm {
#define GEN_PASS_DEF_HSSMDECOMPOSE
#include "hssm/Transforms/Passes.h.inc"
} // namespace mlir::hssm

using namespace mlir;
using namespace mlir::hssm;

namespace {

struct DecomposeHistoryBranch : OpRewritePattern<HistoryBranchOp> {
  DecomposeHistoryBranch(MLIRContext *ctx, bool deviceAlloc,
                         bool gemmInputsInActivationType)
      : OpRewritePattern(ctx), deviceAlloc(deviceAlloc),
        gemmInputsInActivationType(gemmInputsInActivationType) {}

  LogicalResult matchAndRewrite(HistoryBranchOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    switch (op.getMode()) {
    case BranchMode::zero: {
      Type elem = op.getOut().getType().getElementType();
      Value zero = arith::ConstantOp::create(rewriter, loc,
                                             rewriter.getZeroAttr(elem));
      rewriter.replaceOpWithNewOp<linalg::FillOp>(op, zero, op.getOut());
      return success();
    }
    case BranchMode::prefix_sum: {
      auto batchOp = op.getBatch().getDefiningOp<BatchOp>();
      if (!batchOp)
        return op.emitOpError(
            "needs its batch from an hssm.batch op to be decomposed");
      rewriter.replaceOpWithNewOp<PrefixSumOp>(
          op, op.getX(), batchOp.getNumPrefillTokens(), op.getOut());
      return success();
    }
    case BranchMode::mamba1:
      decomposeMamba1(op, rewriter);
      return success();
    }
    return failure();
  }

private:
  /// A [T, cols] temporary of `elem` (fp32 unless given).
  Value allocTemp(PatternRewriter &b, Location loc, Value tokens,
                  int64_t cols, SmallVectorImpl<Value> &temps,
                  Type elem = {}) const {
    auto type = MemRefType::get({ShapedType::kDynamic, cols},
                                elem ? elem : b.getF32Type());
    Value buf;
    if (deviceAlloc)
      buf = gpu::AllocOp::create(b, loc, type, /*asyncToken=*/Type(),
                                 ValueRange{}, ValueRange{tokens},
                                 ValueRange{})
                .getMemref();
    else
      buf = memref::AllocOp::create(b, loc, type, ValueRange{tokens});
    temps.push_back(buf);
    return buf;
  }

  /// Columns [offset, offset + size) of a [T, cols] buffer.
  static Value columns(PatternRewriter &b, Location loc, Value buf,
                       Value tokens, int64_t offset, int64_t size) {
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0),
                                         b.getIndexAttr(offset)};
    SmallVector<OpFoldResult> sizes = {tokens, b.getIndexAttr(size)};
    SmallVector<OpFoldResult> strides = {b.getIndexAttr(1), b.getIndexAttr(1)};
    return memref::SubViewOp::create(b, loc, buf, offsets, sizes, strides);
  }

  void decomposeMamba1(HistoryBranchOp op, PatternRewriter &b) const {
    Location loc = op.getLoc();
    // The verifier guarantees static W and N; D and R must be static for the
    // column views below.
    int64_t d = op.getConvWeight().getType().getDimSize(0);
    int64_t n = op.getA().getType().getDimSize(1);
    int64_t r = op.getDtProj().getType().getDimSize(1);
    Value tokens = dimValue(b, loc, op.getX(), 0);
    Value batch = op.getBatch();
    int64_t pad = op.getPadSlotId();
    SmallVector<Value> temps;

    Value xz = allocTemp(b, loc, tokens, 2 * d, temps);
    LinearOp::create(b, loc, op.getX(), op.getInProj(), Value(), xz, false);
    Value x = columns(b, loc, xz, tokens, 0, d);
    Value z = columns(b, loc, xz, tokens, d, d);

    // Temporaries that feed a projection: fp32, or the activation type when
    // projections must multiply operands of one type (cuBLAS).
    Type gemmInput = gemmInputsInActivationType
                         ? op.getX().getType().getElementType()
                         : b.getF32Type();
    Value xc = allocTemp(b, loc, tokens, d, temps, gemmInput);
    ConvUpdateOp::create(b, loc, x, op.getConvWeight(), op.getConvBias(),
                         op.getConvState(), batch, xc, true, pad);
    Conv1dOp::create(b, loc, x, op.getConvWeight(), op.getConvBias(),
                     op.getConvState(), batch, xc, true, pad);

    Value xdbl = allocTemp(b, loc, tokens, r + 2 * n, temps, gemmInput);
    LinearOp::create(b, loc, xc, op.getXProj(), Value(), xdbl, false);
    Value dtIn = columns(b, loc, xdbl, tokens, 0, r);
    Value bMat = columns(b, loc, xdbl, tokens, r, n);
    Value cMat = columns(b, loc, xdbl, tokens, r + n, n);

    Value dt = allocTemp(b, loc, tokens, d, temps);
    LinearOp::create(b, loc, dtIn, op.getDtProj(), Value(), dt, false);

    Value y = allocTemp(b, loc, tokens, d, temps, gemmInput);
    StateUpdateOp::create(b, loc, xc, dt, op.getA(), bMat, cMat, op.getD(), z,
                          op.getDtBias(), op.getSsmState(), batch, y, true,
                          pad);
    SelectiveScanOp::create(b, loc, xc, dt, op.getA(), bMat, cMat, op.getD(),
                            z, op.getDtBias(), op.getSsmState(), batch, y,
                            true, pad);
    LinearOp::create(b, loc, y, op.getOutProj(), Value(), op.getOut(), false);

    for (Value t : temps) {
      if (deviceAlloc)
        gpu::DeallocOp::create(b, loc, /*asyncToken=*/Type(), ValueRange{}, t);
      else
        memref::DeallocOp::create(b, loc, t);
    }
    b.eraseOp(op);
  }

  bool deviceAlloc;
  bool gemmInputsInActivationType;
};

struct HSSMDecomposePass
    : public hssm::impl::HSSMDecomposeBase<HSSMDecomposePass> {
  using HSSMDecomposeBase::HSSMDecomposeBase;
  void runOnOperation() override {
    bool failedOp = false;
    getOperation()->walk([&](HistoryBranchOp op) {
      int64_t d = op.getConvWeight().getType().getDimSize(0);
      int64_t r = op.getDtProj().getType().getDimSize(1);
      if (op.getMode() == BranchMode::mamba1 &&
          (ShapedType::isDynamic(d) || ShapedType::isDynamic(r))) {
        op.emitOpError("needs static D (conv_weight dimension 0) and R "
                       "(dt_proj dimension 1) to be decomposed");
        failedOp = true;
      }
      if (op.getMode() == BranchMode::prefix_sum &&
          !op.getBatch().getDefiningOp<BatchOp>()) {
        op.emitOpError(
            "needs its batch from an hssm.batch op to be decomposed");
        failedOp = true;
      }
    });
    if (failedOp)
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    populateDecomposeHistoryBranchPatterns(patterns, deviceAlloc,
                                           gemmInputsInActivationType);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

void mlir::hssm::populateDecomposeHistoryBranchPatterns(
    RewritePatternSet &patterns, bool deviceAlloc,
    bool gemmInputsInActivationType) {
  patterns.add<DecomposeHistoryBranch>(patterns.getContext(), deviceAlloc,
                                       gemmInputsInActivationType);
}
