//===- ScanToLoops.cpp - hssm.selective_scan / hssm.state_update to loops -===//
//
// One parallel iteration per (row, channel), sequential over the row's
// tokens (SPEC.md section 2). The channel's N states travel through the
// token loop as one fp32 vector (registers on the GPU), so a low-precision
// pool is rounded once, at the end of the row.
//
// A decode row has exactly one token, so state_update is straight-line code
// with no token loop, over K adjacent channels per iteration: the K states
// (K * N contiguous elements of the slot) are all loaded before any
// arithmetic, which keeps more bytes in flight per GPU thread.
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
  ScanToLoops(MLIRContext *ctx, int64_t decodeChannels, bool channelMajor)
      : OpRewritePattern<ScanOp>(ctx), decodeChannels(decodeChannels),
        channelMajor(channelMajor) {}
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
    int64_t k = isDecode ? channelsPerIteration(
                               op.getA().getType().getDimSize(0),
                               decodeChannels)
                         : 1;
    Value groups =
        Channels::count(rewriter, loc, dimValue(rewriter, loc, op.getA(), 0), k);
    Value zeroIdx = constIndex(rewriter, loc, 0);
    Value one = constIndex(rewriter, loc, 1);

    forRowsAndChannels(
        rewriter, loc, rowBegin, rowEnd, groups, channelMajor,
        [&](OpBuilder &b, Location loc, Value row, Value g) {
          Channels d = Channels::group(b, loc, g, k);
          RowInfo info =
              loadRow(b, loc, *batch, row, op.getPadSlotId(), isDecode);
          scf::IfOp::create(
              b, loc, info.isPad,
              [&](OpBuilder &b, Location loc) {
                zeroColumns(b, loc, op.getOut(), info.begin, info.end, d);
                scf::YieldOp::create(b, loc);
              },
              [&](OpBuilder &b, Location loc) {
                if constexpr (isDecode)
                  emitDecodeRow(b, loc, op, info, d);
                else
                  emitLiveRow(b, loc, op, info, d.d0);
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

  /// The row's one token (begin) for the group's channels.
  static void emitDecodeRow(OpBuilder &b, Location loc, ScanOp op,
                            const RowInfo &info, const Channels &ch) {
    ScanOperands ops = ScanOperands::of(op);
    Value zero = constIndex(b, loc, 0);
    SmallVector<Value> h;
    for (int64_t j = 0; j < ch.k; ++j)
      h.push_back(loadVecF32(b, loc, ops.state,
                             {info.srcSlot, ch.at(b, loc, j), zero}, ops.n));
    for (int64_t j = 0; j < ch.k; ++j) {
      Value d = ch.at(b, loc, j);
      ScanRow row = ScanRow::load(b, loc, ops, d, zero, /*log2eOnDt=*/true);
      h[j] = scanToken(b, loc, ops, row, info.begin, d, h[j],
                       /*writeOutput=*/true);
    }
    for (int64_t j = 0; j < ch.k; ++j)
      storeFinalState(b, loc, ops, h[j], info.dstSlot, ch.at(b, loc, j),
                      zero);
  }

private:
  int64_t decodeChannels;
  bool channelMajor;
};

} // namespace

void mlir::hssm::populateScanToLoopsPatterns(RewritePatternSet &patterns,
                                             int64_t decodeChannels,
                                             bool channelMajor) {
  patterns.add<ScanToLoops<SelectiveScanOp>, ScanToLoops<StateUpdateOp>>(
      patterns.getContext(), decodeChannels, channelMajor);
}
