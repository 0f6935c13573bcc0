//===- ChunkedConvToLoops.cpp - hssm.conv1d, chunked over time ------------===//
//
// The prefill conv in chunks of `chunk` tokens that run in parallel: unlike
// the scan, a chunk needs no carry, since its window of W-1 older inputs is
// in x itself (or, before the row's first token, in the conv state). One
// iteration per (row, chunk, channel group) computes the outputs of the
// chunk's tokens; the row's first chunk also writes its last W-1 raw inputs
// to the dst slot, after it has read the old state. With chunks of at least
// W-1 tokens no other chunk reads the state (their windows lie in x), and a
// valid batch lets no other row read a slot that a row writes (the
// runtime's batch check), so no other iteration can see the write: one
// kernel, not a second loop nest (a second launch) after every chunk has
// read the state. Shorter chunks keep that second loop nest.
// A group is K adjacent channels, moved as vectors (see Channels).
//
//===----------------------------------------------------------------------===//

#include "LoopUtils.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::hssm;

namespace {

struct ChunkedConvToLoops : OpRewritePattern<Conv1dOp> {
  ChunkedConvToLoops(MLIRContext *ctx, int64_t chunk, int64_t channelsWanted,
                     bool channelMajor, int64_t tokensPerStep,
                     int64_t blockThreads)
      : OpRewritePattern(ctx, /*benefit=*/2), chunk(chunk),
        channelsWanted(channelsWanted), channelMajor(channelMajor),
        tokensPerStep(tokensPerStep), blockThreads(blockThreads) {}

  LogicalResult matchAndRewrite(Conv1dOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<BatchValues> batch = getBatchValues(op, op.getBatch(), rewriter);
    if (failed(batch))
      return failure();
    OpBuilder &b = rewriter;
    int64_t width = op.getWeight().getType().getDimSize(1);
    Value x = op.getX(), weight = op.getWeight(), bias = op.getBias();
    Value state = op.getConvState(), out = op.getOut();
    Value zero = constIndex(b, loc, 0);
    PrefillChunks chunks =
        PrefillChunks::make(b, loc, *batch, x, chunk, /*compact=*/true);
    int64_t lanes = channelsPerIteration(
        op.getWeight().getType().getDimSize(0), channelsWanted);
    Value groups =
        Channels::count(b, loc, dimValue(b, loc, weight, 0), lanes);
    auto group = [&](OpBuilder &b, Location loc, Value g) {
      return Channels::group(b, loc, g, lanes);
    };

    // Input p of the row (begin <= p: x; before it: the state or zero).
    auto input = [&](OpBuilder &b, Location loc, const RowInfo &info, Value p,
                     const Channels &d) -> Value {
      Value inRow = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                          p, info.begin);
      return scf::IfOp::create(
                 b, loc, inRow,
                 [&](OpBuilder &b, Location loc) {
                   scf::YieldOp::create(b, loc,
                                        loadChannels(b, loc, x, {p}, d));
                 },
                 [&](OpBuilder &b, Location loc) {
                   // state[k] holds input begin - (W-1) + k.
                   Value k = arith::AddIOp::create(
                       b, loc, arith::SubIOp::create(b, loc, p, info.begin),
                       constIndex(b, loc, width - 1));
                   Value v = scf::IfOp::create(
                                 b, loc, info.readsState,
                                 [&](OpBuilder &b, Location loc) {
                                   scf::YieldOp::create(
                                       b, loc,
                                       loadChannels(b, loc, state,
                                                    {info.srcSlot, k}, d));
                                 },
                                 [&](OpBuilder &b, Location loc) {
                                   scf::YieldOp::create(
                                       b, loc,
                                       constF32Like(b, loc, 0.0f, d.type(b)));
                                 })
                                 .getResult(0);
                   scf::YieldOp::create(b, loc, v);
                 })
          .getResult(0);
    };

    // The new conv state of a live row: its inputs end-(W-1) .. end-1, read
    // whole before any is written (dst may be src).
    auto writeState = [&](OpBuilder &b, Location loc, const RowInfo &info,
                          const Channels &d) {
      SmallVector<Value> window;
      for (int64_t k = 0; k < width - 1; ++k) {
        Value p = arith::SubIOp::create(b, loc, info.end,
                                        constIndex(b, loc, width - 1 - k));
        window.push_back(input(b, loc, info, p, d));
      }
      for (int64_t k = 0; k < width - 1; ++k)
        storeChannels(b, loc, window[k], state,
                      {info.dstSlot, constIndex(b, loc, k)}, d);
    };
    auto ifNotPad = [&](OpBuilder &b, Location loc, Value cond,
                        const RowInfo &info,
                        function_ref<void(OpBuilder &, Location)> body) {
      Value notPad = info.notPad(b, loc);
      if (cond)
        notPad = arith::AndIOp::create(b, loc, cond, notPad);
      ifThen(b, loc, notPad, body);
    };
    bool fusedState = chunk >= width - 1;

    // Outputs, chunk by chunk (and the state, by each row's first chunk).
    forRowsAndChannels(
        b, loc, zero, chunks.count, groups, channelMajor,
        [&](OpBuilder &b, Location loc, Value rc, Value g) {
          Channels d = group(b, loc, g);
          PrefillChunks::Chunk ch =
              chunks.at(b, loc, *batch, rc, op.getPadSlotId());
          const RowInfo &info = ch.info;
          Value t0 = ch.t0, t1 = ch.t1;
          scf::IfOp::create(b, loc, ch.live, [&](OpBuilder &b, Location loc) {
            scf::IfOp::create(
                b, loc, info.isPad,
                [&](OpBuilder &b, Location loc) {
                  zeroColumns(b, loc, out, t0, t1, d);
                  scf::YieldOp::create(b, loc);
                },
                [&](OpBuilder &b, Location loc) {
                  SmallVector<Value> window;
                  for (int64_t k = 0; k < width - 1; ++k) {
                    Value p = arith::SubIOp::create(
                        b, loc, t0, constIndex(b, loc, width - 1 - k));
                    window.push_back(input(b, loc, info, p, d));
                  }
                  ConvTaps taps = ConvTaps::load(b, loc, weight, bias, d);
                  convTokens(b, loc, taps, x, out, t0, t1, d, window,
                             op.getSilu(), tokensPerStep);
                  scf::YieldOp::create(b, loc);
                });
            scf::YieldOp::create(b, loc);
          });
          // A row's first chunk exists even when the row has no tokens.
          if (fusedState)
            ifNotPad(b, loc,
                     arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                           ch.c, zero),
                     info, [&](OpBuilder &b, Location loc) {
                       writeState(b, loc, info, d);
                     });
        },
        blockThreads);
    if (fusedState) {
      rewriter.eraseOp(op);
      return success();
    }

    // Chunks shorter than W-1: the state after every chunk has read it.
    forRowsAndChannels(
        b, loc, zero, batch->numPrefills, groups, channelMajor,
        [&](OpBuilder &b, Location loc, Value r, Value g) {
          Value row = arith::AddIOp::create(b, loc, batch->numDecodes, r);
          Channels d = group(b, loc, g);
          RowInfo info = loadRow(b, loc, *batch, row, op.getPadSlotId(), false);
          ifNotPad(b, loc, Value(), info, [&](OpBuilder &b, Location loc) {
            writeState(b, loc, info, d);
          });
        });
    rewriter.eraseOp(op);
    return success();
  }

private:
  int64_t chunk, channelsWanted;
  bool channelMajor;
  int64_t tokensPerStep, blockThreads;
};

} // namespace

void mlir::hssm::populateChunkedConvToLoopsPatterns(RewritePatternSet &patterns,
                                                    int64_t chunk,
                                                    int64_t channels,
                                                    bool channelMajor,
                                                    int64_t tokensPerStep,
                                                    int64_t blockThreads) {
  patterns.add<ChunkedConvToLoops>(patterns.getContext(), chunk, channels,
                                   channelMajor, tokensPerStep, blockThreads);
}
