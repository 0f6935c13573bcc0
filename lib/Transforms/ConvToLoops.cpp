//===- ConvToLoops.cpp - hssm.conv1d / hssm.conv_update to loops ----------===//
//
// One parallel iteration per (row, group of K channels); the W-1 older
// inputs travel as loop-carried values through the row's tokens, so every
// input is read once and the final window is exactly what the conv state
// must hold. The state is [slot, W-1, D], d contiguous, so a group's window
// entries, inputs and outputs are vector accesses of K elements.
//
// conv_update with `decodeRows` > 1: one iteration per (R consecutive decode
// rows, channel group), every row's window and input loaded before any
// arithmetic, so that a GPU thread has R rows' loads in flight. As in the
// decode state update, a pad row (and a row past num_decodes, clamped to
// the last) reads slot 0 and stores no state, so no branch stands between
// the loads; an empty pool (no slot 0) leaves only pad rows: zeros.
//
//===----------------------------------------------------------------------===//

#include "LoopUtils.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::hssm;

namespace {

template <typename ConvOp>
struct ConvToLoops : OpRewritePattern<ConvOp> {
  ConvToLoops(MLIRContext *ctx, int64_t channelsWanted, bool channelMajor,
              int64_t decodeChannels, int64_t decodeRows,
              int64_t decodeBlockThreads)
      : OpRewritePattern<ConvOp>(ctx), channelsWanted(channelsWanted),
        decodeChannels(decodeChannels),
        decodeRows(std::max<int64_t>(decodeRows, 1)),
        decodeBlockThreads(decodeBlockThreads), channelMajor(channelMajor) {}
  static constexpr bool isDecode = std::is_same_v<ConvOp, ConvUpdateOp>;

  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<BatchValues> batch =
        getBatchValues(op, op.getBatch(), rewriter);
    if (failed(batch))
      return failure();
    int64_t width = op.getWeight().getType().getDimSize(1);
    int64_t padSlot = op.getPadSlotId();
    Value x = op.getX(), weight = op.getWeight(), bias = op.getBias();
    Value state = op.getConvState(), out = op.getOut();
    bool applySilu = op.getSilu();

    Value rowBegin = isDecode ? constIndex(rewriter, loc, 0) : batch->numDecodes;
    Value rowEnd = isDecode ? batch->numDecodes : batch->numReqs;
    int64_t k = channelsPerIteration(op.getWeight().getType().getDimSize(0),
                                     isDecode ? decodeChannels
                                              : channelsWanted);
    Value groups =
        Channels::count(rewriter, loc, dimValue(rewriter, loc, weight, 0), k);
    if (isDecode && decodeRows > 1) {
      emitDecodeGroups(rewriter, loc, op, *batch, groups, k, width);
      rewriter.eraseOp(op);
      return success();
    }

    forRowsAndChannels(
        rewriter, loc, rowBegin, rowEnd, groups, channelMajor,
        [&](OpBuilder &b, Location loc, Value row, Value g) {
          Channels d = Channels::group(b, loc, g, k);
          RowInfo info = loadRow(b, loc, *batch, row, padSlot, isDecode);
          scf::IfOp::create(
              b, loc, info.isPad,
              [&](OpBuilder &b, Location loc) {
                zeroColumns(b, loc, out, info.begin, info.end, d);
                scf::YieldOp::create(b, loc);
              },
              [&](OpBuilder &b, Location loc) {
                emitLiveRow(b, loc, info, d, width, x, weight, bias, state,
                            out, applySilu);
                scf::YieldOp::create(b, loc);
              });
        },
        isDecode ? decodeBlockThreads : 0);
    rewriter.eraseOp(op);
    return success();
  }

  static void emitLiveRow(OpBuilder &b, Location loc, const RowInfo &info,
                          const Channels &d, int64_t width, Value x, Value weight,
                          Value bias, Value state, Value out, bool applySilu) {
    Value zeroF = constF32Like(b, loc, 0.0f, d.type(b));
    // The window of the W-1 inputs before the row's first token, oldest
    // first: from the slot when the row has an initial state, else zeros.
    SmallVector<Value> window;
    for (int64_t k = 0; k < width - 1; ++k) {
      auto read = scf::IfOp::create(
          b, loc, info.readsState,
          [&](OpBuilder &b, Location loc) {
            Value v = loadChannels(b, loc, state,
                                   {info.srcSlot, constIndex(b, loc, k)}, d);
            scf::YieldOp::create(b, loc, v);
          },
          [&](OpBuilder &b, Location loc) {
            scf::YieldOp::create(b, loc, zeroF);
          });
      window.push_back(read.getResult(0));
    }
    ConvTaps taps = ConvTaps::load(b, loc, weight, bias, d);
    SmallVector<Value> last = convTokens(b, loc, taps, x, out, info.begin,
                                         info.end, d, window, applySilu);
    // The window after the last token is the new conv state.
    for (int64_t k = 0; k < width - 1; ++k)
      storeChannels(b, loc, last[k], state,
                    {info.dstSlot, constIndex(b, loc, k)}, d);
  }

  /// conv_update, decodeRows rows per iteration (see the file comment).
  void emitDecodeGroups(OpBuilder &b, Location loc, ConvOp op,
                        const BatchValues &batch, Value channelGroups,
                        int64_t k, int64_t width) const {
    Value zero = constIndex(b, loc, 0);
    Value state = op.getConvState(), out = op.getOut(), x = op.getX();
    Value rowGroups = arith::CeilDivUIOp::create(
        b, loc, batch.numDecodes, constIndex(b, loc, decodeRows));
    Value hasSlots = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::sgt, dimValue(b, loc, state, 0), zero);
    forRowsAndChannels(
        b, loc, zero, rowGroups, channelGroups, channelMajor,
        [&](OpBuilder &b, Location loc, Value group, Value g) {
          Channels d = Channels::group(b, loc, g, k);
          SmallVector<DecodeRow> rows = loadDecodeRows(
              b, loc, batch, group, decodeRows, op.getPadSlotId());
          Value zeroF = constF32Like(b, loc, 0.0f, d.type(b));
          scf::IfOp::create(
              b, loc, hasSlots,
              [&](OpBuilder &b, Location loc) {
                SmallVector<SmallVector<Value>> windows;
                SmallVector<Value> inputs;
                for (const DecodeRow &r : rows) {
                  const RowInfo &info = r.info;
                  Value slot = arith::SelectOp::create(b, loc, info.isPad,
                                                       zero, info.srcSlot);
                  SmallVector<Value> w;
                  for (int64_t j = 0; j < width - 1; ++j)
                    w.push_back(loadChannels(
                        b, loc, state, {slot, constIndex(b, loc, j)}, d));
                  windows.push_back(w);
                  inputs.push_back(loadChannels(b, loc, x, {info.begin}, d));
                }
                ConvTaps taps =
                    ConvTaps::load(b, loc, op.getWeight(), op.getBias(), d);
                for (auto [i, r] : llvm::enumerate(rows)) {
                  const RowInfo &info = r.info;
                  Value y = convOutput(b, loc, taps, windows[i], inputs[i],
                                       op.getSilu());
                  ifThen(b, loc, r.live, [&](OpBuilder &b, Location loc) {
                    storeChannels(
                        b, loc,
                        arith::SelectOp::create(b, loc, info.isPad, zeroF, y),
                        out, {info.begin}, d);
                    Value notPad = info.notPad(b, loc);
                    ifThen(b, loc, notPad, [&](OpBuilder &b, Location loc) {
                      // The window shifted by the row's one token.
                      for (int64_t j = 0; j < width - 1; ++j)
                        storeChannels(
                            b, loc,
                            j + 1 < width - 1 ? windows[i][j + 1] : inputs[i],
                            state, {info.dstSlot, constIndex(b, loc, j)}, d);
                    });
                  });
                }
                scf::YieldOp::create(b, loc);
              },
              [&](OpBuilder &b, Location loc) {
                for (const DecodeRow &r : rows)
                  ifThen(b, loc, r.live, [&](OpBuilder &b, Location loc) {
                    storeChannels(b, loc, zeroF, out, {r.info.begin}, d);
                  });
                scf::YieldOp::create(b, loc);
              });
        },
        decodeBlockThreads);
  }

private:
  int64_t channelsWanted, decodeChannels, decodeRows, decodeBlockThreads;
  bool channelMajor;
};

} // namespace

void mlir::hssm::populateConvToLoopsPatterns(RewritePatternSet &patterns,
                                             int64_t channels,
                                             bool channelMajor,
                                             int64_t decodeChannels,
                                             int64_t decodeRows,
                                             int64_t decodeBlockThreads) {
  patterns.add<ConvToLoops<Conv1dOp>, ConvToLoops<ConvUpdateOp>>(
      patterns.getContext(), channels, channelMajor, decodeChannels,
      decodeRows, decodeBlockThreads);
}
