//===- ScanToLoops.cpp - hssm.selective_scan / hssm.state_update to loops -===//
//
// One parallel iteration per (row, channel), sequential over the row's
// tokens (SPEC.md section 2). The channel's N states travel through the
// token loop as one fp32 vector (registers on the GPU), so a low-precision
// pool is rounded once, at the end of the row.
//
//===----------------------------------------------------------------------===//

#include "LoopUtils.h"
#include "ScanCommon.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::hssm;

namespace {

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

  static void emitLiveRow(OpBuilder &b, Location loc, ScanOp op,
                          const RowInfo &info, Value d) {
    ScanOperands ops = ScanOperands::of(op);
    Value zero = constIndex(b, loc, 0), one = constIndex(b, loc, 1);
    Value hInit = loadInitialState(b, loc, ops, info, d, zero);
    ScanRow row = ScanRow::load(b, loc, ops, d, zero);
    auto tokens = scf::ForOp::create(
        b, loc, info.begin, info.end, one, ValueRange{hInit},
        [&](OpBuilder &b, Location loc, Value t, ValueRange carried) {
          Value h = scanToken(b, loc, ops, row, t, d, carried[0],
                              /*writeOutput=*/true);
          scf::YieldOp::create(b, loc, h);
        });
    storeFinalState(b, loc, ops, tokens.getResult(0), info.dstSlot, d, zero);
  }
};

} // namespace

void mlir::hssm::populateScanToLoopsPatterns(RewritePatternSet &patterns) {
  patterns.add<ScanToLoops<SelectiveScanOp>, ScanToLoops<StateUpdateOp>>(
      patterns.getContext());
}
