//===- ScanToLoops.cpp - hssm.selective_scan / hssm.state_update to loops -===//
//
// One parallel iteration per (row, channel), sequential over the row's
// tokens (SPEC.md section 2). The channel's N states travel through the
// token loop as one fp32 vector (registers on the GPU), so a low-precision
// pool is rounded once, at the end of the row.
//
// A decode row has exactly one token, so state_update is straight-line code
// with no token loop (DecodeScanToLoops below).
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

/// hssm.selective_scan: one iteration per (prefill row, channel), a loop over
/// the row's tokens.
struct ScanToLoops : OpRewritePattern<SelectiveScanOp> {
  ScanToLoops(MLIRContext *ctx, bool channelMajor)
      : OpRewritePattern(ctx), channelMajor(channelMajor) {}

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<BatchValues> batch =
        getBatchValues(op, op.getBatch(), rewriter);
    if (failed(batch))
      return failure();
    forRowsAndChannels(
        rewriter, loc, batch->numDecodes, batch->numReqs,
        dimValue(rewriter, loc, op.getA(), 0), channelMajor,
        [&](OpBuilder &b, Location loc, Value row, Value d) {
          RowInfo info = loadRow(b, loc, *batch, row, op.getPadSlotId(),
                                 /*alwaysRead=*/false);
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

  static void emitLiveRow(OpBuilder &b, Location loc, SelectiveScanOp op,
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

private:
  bool channelMajor;
};

/// hssm.state_update: a decode row has exactly one token, so the body is
/// straight-line code. One iteration takes `rows` consecutive decode rows
/// of one channel: A, Dskip and b_dt are loaded once for all of them, and
/// every row's state is loaded before any arithmetic, so a GPU thread has
/// `rows` state rows in flight. A pad row (and, in the last group, a row
/// past num_decodes, clamped to the last one) reads slot 0 and its result
/// is dropped: no branch stands between the loads. An empty pool has no
/// slot 0, and then every row must be a pad row: zeros only.
struct DecodeScanToLoops : OpRewritePattern<StateUpdateOp> {
  DecodeScanToLoops(MLIRContext *ctx, int64_t rows, bool channelMajor)
      : OpRewritePattern(ctx), rows(std::max<int64_t>(rows, 1)),
        channelMajor(channelMajor) {}

  LogicalResult matchAndRewrite(StateUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<BatchValues> batch =
        getBatchValues(op, op.getBatch(), rewriter);
    if (failed(batch))
      return failure();
    OpBuilder &b = rewriter;
    Value zero = constIndex(b, loc, 0);
    Value numDecodes = batch->numDecodes;
    Value groups =
        rows == 1 ? numDecodes
                  : arith::CeilDivUIOp::create(b, loc, numDecodes,
                                               constIndex(b, loc, rows));
    Value hasSlots =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt,
                              dimValue(b, loc, op.getSsmState(), 0), zero);
    forRowsAndChannels(
        b, loc, zero, groups, dimValue(b, loc, op.getA(), 0), channelMajor,
        [&](OpBuilder &b, Location loc, Value group, Value d) {
          SmallVector<Row> members = rowsOf(b, loc, *batch, op, group);
          scf::IfOp::create(
              b, loc, hasSlots,
              [&](OpBuilder &b, Location loc) {
                emitRows(b, loc, op, members, d);
                scf::YieldOp::create(b, loc);
              },
              [&](OpBuilder &b, Location loc) {
                Value zeroF = constF32(b, loc, 0.0f);
                for (const Row &r : members)
                  ifLive(b, loc, r, [&](OpBuilder &b, Location loc) {
                    storeF32(b, loc, zeroF, op.getOut(), {r.info.begin, d});
                  });
                scf::YieldOp::create(b, loc);
              });
        });
    rewriter.eraseOp(op);
    return success();
  }

private:
  struct Row {
    RowInfo info;
    Value live; ///< null when every row of the group is live (rows == 1)
  };

  SmallVector<Row> rowsOf(OpBuilder &b, Location loc, const BatchValues &batch,
                          StateUpdateOp op, Value group) const {
    SmallVector<Row> out;
    Value last;
    if (rows > 1)
      last = arith::SubIOp::create(b, loc, batch.numDecodes,
                                   constIndex(b, loc, 1));
    for (int64_t i = 0; i < rows; ++i) {
      Row r;
      Value row = group;
      if (rows > 1) {
        row = arith::AddIOp::create(
            b, loc,
            arith::MulIOp::create(b, loc, group, constIndex(b, loc, rows)),
            constIndex(b, loc, i));
        r.live = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row,
                                       batch.numDecodes);
        row = arith::MinUIOp::create(b, loc, row, last);
      }
      r.info = loadRow(b, loc, batch, row, op.getPadSlotId(),
                       /*alwaysRead=*/true);
      out.push_back(r);
    }
    return out;
  }

  static void ifLive(OpBuilder &b, Location loc, const Row &r,
                     function_ref<void(OpBuilder &, Location)> body) {
    if (!r.live)
      return body(b, loc);
    scf::IfOp::create(b, loc, r.live, [&](OpBuilder &b, Location loc) {
      body(b, loc);
      scf::YieldOp::create(b, loc);
    });
  }

  static void emitRows(OpBuilder &b, Location loc, StateUpdateOp op,
                       ArrayRef<Row> group, Value d) {
    ScanOperands ops = ScanOperands::of(op);
    Value zero = constIndex(b, loc, 0);
    ScanRow channel = ScanRow::load(b, loc, ops, d, zero, /*log2eOnDt=*/true);
    SmallVector<Value> h;
    for (const Row &r : group) {
      Value slot = arith::SelectOp::create(b, loc, r.info.isPad, zero,
                                           r.info.srcSlot);
      h.push_back(loadVecF32(b, loc, ops.state, {slot, d, zero}, ops.n));
    }
    SmallVector<Value> y(group.size());
    for (auto [i, r] : llvm::enumerate(group))
      h[i] = scanToken(b, loc, ops, channel, r.info.begin, d, h[i],
                       /*writeOutput=*/true, /*dtOut=*/nullptr, &y[i]);
    Value zeroF = constF32(b, loc, 0.0f);
    for (auto [i, r] : llvm::enumerate(group)) {
      ifLive(b, loc, r, [&](OpBuilder &b, Location loc) {
        scf::IfOp::create(
            b, loc, r.info.isPad,
            [&](OpBuilder &b, Location loc) {
              storeF32(b, loc, zeroF, ops.out, {r.info.begin, d});
              scf::YieldOp::create(b, loc);
            },
            [&](OpBuilder &b, Location loc) {
              storeF32(b, loc, y[i], ops.out, {r.info.begin, d});
              storeFinalState(b, loc, ops, h[i], r.info.dstSlot, d, zero);
              scf::YieldOp::create(b, loc);
            });
      });
    }
  }

  int64_t rows;
  bool channelMajor;
};

} // namespace

void mlir::hssm::populateScanToLoopsPatterns(RewritePatternSet &patterns,
                                             int64_t decodeRows,
                                             bool channelMajor) {
  patterns.add<ScanToLoops>(patterns.getContext(), channelMajor);
  patterns.add<DecodeScanToLoops>(patterns.getContext(), decodeRows,
                                  channelMajor);
}
