//===- ElementwiseToLoops.cpp - combine and prefix sums to loops ----------===//

#include "LoopUtils.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::hssm;

namespace {

/// out = swa + ssm, one parallel iteration per element.
struct CombineToLoops : OpRewritePattern<CombineOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CombineOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value zero = constIndex(rewriter, loc, 0), one = constIndex(rewriter, loc, 1);
    scf::ParallelOp::create(
        rewriter, loc, ValueRange{zero, zero},
        ValueRange{dimValue(rewriter, loc, op.getOut(), 0),
                   dimValue(rewriter, loc, op.getOut(), 1)},
        ValueRange{one, one}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value sum = arith::AddFOp::create(
              b, loc, loadF32(b, loc, op.getSwa(), ivs),
              loadF32(b, loc, op.getSsm(), ivs));
          storeF32(b, loc, sum, op.getOut(), ivs);
        });
    rewriter.eraseOp(op);
    return success();
  }
};

/// SPEC.md section 4, flat: one parallel iteration per column, a running sum
/// over the first `count` tokens and zeros after them.
struct PrefixSumToLoops : OpRewritePattern<PrefixSumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PrefixSumOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value zero = constIndex(rewriter, loc, 0), one = constIndex(rewriter, loc, 1);
    Value tokens = dimValue(rewriter, loc, op.getOut(), 0);
    // A unit outer dimension keeps every hssm loop nest (row, column)-shaped,
    // which is how the GPU pipeline tiles it onto blocks and threads.
    scf::ParallelOp::create(
        rewriter, loc, ValueRange{zero, zero},
        ValueRange{one, dimValue(rewriter, loc, op.getOut(), 1)},
        ValueRange{one, one}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value col = ivs[1];
          scf::ForOp::create(
              b, loc, zero, op.getCount(), one,
              ValueRange{constF32(b, loc, 0)},
              [&](OpBuilder &b, Location loc, Value t, ValueRange acc) {
                Value sum = arith::AddFOp::create(
                    b, loc, acc[0], loadF32(b, loc, op.getX(), {t, col}));
                storeF32(b, loc, sum, op.getOut(), {t, col});
                scf::YieldOp::create(b, loc, sum);
              });
          zeroColumn(b, loc, op.getOut(), op.getCount(), tokens, col);
        });
    rewriter.eraseOp(op);
    return success();
  }
};

/// Per (row, column): a running sum over the row's tokens, from the row's
/// state slot when it has one, written back to the destination slot.
struct SegmentedPrefixSumToLoops : OpRewritePattern<SegmentedPrefixSumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SegmentedPrefixSumOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<BatchValues> batch =
        getBatchValues(op, op.getBatch(), rewriter);
    if (failed(batch))
      return failure();
    Value state = op.getState();
    Value zero = constIndex(rewriter, loc, 0), one = constIndex(rewriter, loc, 1);
    scf::ParallelOp::create(
        rewriter, loc, ValueRange{zero, zero},
        ValueRange{batch->numReqs, dimValue(rewriter, loc, op.getOut(), 1)},
        ValueRange{one, one}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value row = ivs[0], col = ivs[1];
          RowInfo info = loadRow(b, loc, *batch, row, op.getPadSlotId(),
                                 /*decodeRow=*/false);
          // Decode rows always continue from their slot.
          Value isDecode = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::ult, row, batch->numDecodes);
          Value reads = arith::OrIOp::create(b, loc, info.readsState, isDecode);
          scf::IfOp::create(
              b, loc, info.isPad,
              [&](OpBuilder &b, Location loc) {
                zeroColumn(b, loc, op.getOut(), info.begin, info.end, col);
                scf::YieldOp::create(b, loc);
              },
              [&](OpBuilder &b, Location loc) {
                Value zeroF = constF32(b, loc, 0);
                Value init = zeroF;
                if (state)
                  init = scf::IfOp::create(
                             b, loc, reads,
                             [&](OpBuilder &b, Location loc) {
                               scf::YieldOp::create(
                                   b, loc,
                                   loadF32(b, loc, state, {info.srcSlot, col}));
                             },
                             [&](OpBuilder &b, Location loc) {
                               scf::YieldOp::create(b, loc, zeroF);
                             })
                             .getResult(0);
                auto sums = scf::ForOp::create(
                    b, loc, info.begin, info.end, one, ValueRange{init},
                    [&](OpBuilder &b, Location loc, Value t, ValueRange acc) {
                      Value sum = arith::AddFOp::create(
                          b, loc, acc[0], loadF32(b, loc, op.getX(), {t, col}));
                      storeF32(b, loc, sum, op.getOut(), {t, col});
                      scf::YieldOp::create(b, loc, sum);
                    });
                if (state)
                  storeF32(b, loc, sums.getResult(0), state,
                           {info.dstSlot, col});
                scf::YieldOp::create(b, loc);
              });
        });
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::hssm::populateElementwiseToLoopsPatterns(
    RewritePatternSet &patterns) {
  patterns.add<CombineToLoops, PrefixSumToLoops, SegmentedPrefixSumToLoops>(
      patterns.getContext());
}
