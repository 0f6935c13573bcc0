//===- ChunkedScanToLoops.cpp - hssm.selective_scan, chunked over time ----===//
//
// A prefill row of thousands of tokens gives the sequential lowering one
// thread per channel walking every token. Here each row is cut into chunks
// of `chunk` tokens that run in parallel, joined by SPEC.md's associative
// rule (a0, b0) o (a1, b1) = (a1 a0, a1 b0 + b1):
//   1. per (row, chunk, channel): the chunk's decay product
//      a = exp2(A log2(e) * sum dt) and its state b from zero;
//   2. per (row, channel): sequentially over the chunks, each chunk's true
//      initial state h (stored over b) and h = a h + b; the last h goes to
//      the destination slot;
//   3. per (row, chunk, channel): the chunk again from its initial state,
//      writing the outputs.
// The exponentials are computed twice; the parallelism is `chunk` times
// larger. The carries live in fp32 temporaries [prefill rows, chunks, D, N].
//
//===----------------------------------------------------------------------===//

#include "LoopUtils.h"
#include "ScanCommon.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::hssm;

namespace {

struct ChunkedScanToLoops : OpRewritePattern<SelectiveScanOp> {
  ChunkedScanToLoops(MLIRContext *ctx, int64_t chunk, bool deviceAlloc,
                     bool channelMajor, int64_t tokensPerStep)
      : OpRewritePattern(ctx, /*benefit=*/2), chunk(chunk),
        deviceAlloc(deviceAlloc), channelMajor(channelMajor),
        tokensPerStep(tokensPerStep) {}

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<BatchValues> batch = getBatchValues(op, op.getBatch(), rewriter);
    if (failed(batch))
      return failure();
    ScanOperands ops = ScanOperands::of(op);
    OpBuilder &b = rewriter;
    Value zero = constIndex(b, loc, 0);
    PrefillChunks chunks =
        PrefillChunks::make(b, loc, *batch, ops.u, chunk);
    Value rows = batch->numPrefills;
    Value channels = dimValue(b, loc, ops.a, 0);

    int64_t d = cast<MemRefType>(ops.a.getType()).getDimSize(0);
    auto carryType =
        MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic, d, ops.n},
                        b.getF32Type());
    SmallVector<Value> sizes = {rows, chunks.maxChunks};
    if (ShapedType::isDynamic(d))
      sizes.push_back(channels);
    Value decays = allocate(b, loc, carryType, sizes);
    Value states = allocate(b, loc, carryType, sizes);

    auto chunkOf = [&](OpBuilder &b, Location loc, Value rc) {
      return chunks.at(b, loc, *batch, rc, op.getPadSlotId());
    };
    auto forChunks = [&](function_ref<void(OpBuilder &, Location, Value,
                                           Value)> body) {
      forRowsAndChannels(b, loc, zero, chunks.count, channels, channelMajor,
                         body);
    };

    // 1. Each chunk from a zero state: its decay product and final state.
    forChunks([&](OpBuilder &b, Location loc, Value rc, Value dIdx) {
      auto ch = chunkOf(b, loc, rc);
      Value work =
          arith::AndIOp::create(b, loc, ch.live, ch.info.notPad(b, loc));
      scf::IfOp::create(b, loc, work, [&](OpBuilder &b, Location loc) {
        Value z = constIndex(b, loc, 0);
        ScanRow row = ScanRow::load(b, loc, ops, dIdx, z);
        Value h0 = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(ops.vecType(b), 0.0f));
        SmallVector<Value> loop =
            chunkTokens(b, loc, ops, row, ch.t0, ch.t1, dIdx, h0,
                        /*writeOutput=*/false);
        // prod_t exp2(dt_t A log2 e) = exp2(A log2 e * sum_t dt_t)
        Value decay = math::Exp2Op::create(
            b, loc,
            arith::MulFOp::create(b, loc, row.aLog2e,
                                  vector::BroadcastOp::create(
                                      b, loc, ops.vecType(b),
                                      loop[1])));
        vector::StoreOp::create(b, loc, decay, decays,
                                ValueRange{ch.r, ch.c, dIdx, z});
        vector::StoreOp::create(b, loc, loop[0], states,
                                ValueRange{ch.r, ch.c, dIdx, z});
        scf::YieldOp::create(b, loc);
      });
    });

    // 2. The chunks' true initial states, sequentially per row and channel.
    forRowsAndChannels(
        b, loc, zero, rows, channels, channelMajor,
        [&](OpBuilder &b, Location loc, Value r, Value dIdx) {
          Value row = arith::AddIOp::create(b, loc, batch->numDecodes, r);
          RowInfo info = loadRow(b, loc, *batch, row, op.getPadSlotId(), false);
          Value notPad = info.notPad(b, loc);
          scf::IfOp::create(b, loc, notPad, [&](OpBuilder &b, Location loc) {
            Value z = constIndex(b, loc, 0);
            Value h = loadInitialState(b, loc, ops, info, dIdx, z);
            Value len = arith::SubIOp::create(b, loc, info.end, info.begin);
            Value count = arith::CeilDivUIOp::create(b, loc, len, chunks.chunkLen);
            // Chunks in steps of carryChunksPerStep: their carries are
            // loaded before the step's first store, so the walk is not one
            // memory round trip per chunk.
            VectorType vt = ops.vecType(b);
            SmallVector<Value> last = steppedTokenLoop(
                b, loc, z, count, carryChunksPerStep, ValueRange{h},
                [&](OpBuilder &b, Location loc, Value c) -> SmallVector<Value> {
                  return {vector::LoadOp::create(b, loc, vt, decays,
                                                 ValueRange{r, c, dIdx, z}),
                          vector::LoadOp::create(b, loc, vt, states,
                                                 ValueRange{r, c, dIdx, z})};
                },
                [&](OpBuilder &b, Location loc, Value c, ValueRange in,
                    ValueRange carried) -> SmallVector<Value> {
                  vector::StoreOp::create(b, loc, carried[0], states,
                                          ValueRange{r, c, dIdx, z});
                  return {arith::AddFOp::create(
                      b, loc, arith::MulFOp::create(b, loc, in[0], carried[0]),
                      in[1])};
                });
            storeFinalState(b, loc, ops, last[0], info.dstSlot, dIdx, z);
            scf::YieldOp::create(b, loc);
          });
        });

    // 3. Each chunk again from its true initial state, writing the outputs
    // (zeros for pad rows).
    forChunks([&](OpBuilder &b, Location loc, Value rc, Value dIdx) {
      auto ch = chunkOf(b, loc, rc);
      scf::IfOp::create(b, loc, ch.live, [&](OpBuilder &b, Location loc) {
        scf::IfOp::create(
            b, loc, ch.info.isPad,
            [&](OpBuilder &b, Location loc) {
              zeroColumn(b, loc, ops.out, ch.t0, ch.t1, dIdx);
              scf::YieldOp::create(b, loc);
            },
            [&](OpBuilder &b, Location loc) {
              Value z = constIndex(b, loc, 0);
              ScanRow row = ScanRow::load(b, loc, ops, dIdx, z);
              Value h0 = vector::LoadOp::create(b, loc, ops.vecType(b), states,
                                                ValueRange{ch.r, ch.c, dIdx, z});
              chunkTokens(b, loc, ops, row, ch.t0, ch.t1, dIdx, h0,
                          /*writeOutput=*/true);
              scf::YieldOp::create(b, loc);
            });
        scf::YieldOp::create(b, loc);
      });
    });

    release(b, loc, decays);
    release(b, loc, states);
    rewriter.eraseOp(op);
    return success();
  }

private:
  /// Tokens [t0, t1) of channel d from h0: returns h, and without outputs
  /// also the sum of the tokens' dt. One token per step keeps each load next
  /// to its use (the fewest values live); several issue all loads first.
  SmallVector<Value> chunkTokens(OpBuilder &b, Location loc,
                                 const ScanOperands &ops, const ScanRow &row,
                                 Value t0, Value t1, Value d, Value h0,
                                 bool writeOutput) const {
    SmallVector<Value> init = {h0};
    if (!writeOutput)
      init.push_back(constF32(b, loc, 0.0f));
    return steppedTokenLoop(
        b, loc, t0, t1, tokensPerStep, init,
        [&](OpBuilder &b, Location loc, Value t) {
          if (tokensPerStep == 1)
            return SmallVector<Value>{};
          return loadTokenInputs(b, loc, ops, t, d, writeOutput);
        },
        [&](OpBuilder &b, Location loc, Value t, ValueRange in,
            ValueRange carried) -> SmallVector<Value> {
          Value dt;
          Value *dtOut = writeOutput ? nullptr : &dt;
          Value h = in.empty() ? scanToken(b, loc, ops, row, t, d, carried[0],
                                           writeOutput, dtOut)
                               : scanTokenFrom(b, loc, ops, row, in, t, d,
                                               carried[0], writeOutput, dtOut);
          if (writeOutput)
            return {h};
          return {h, arith::AddFOp::create(b, loc, carried[1], dt)};
        });
  }

  Value allocate(OpBuilder &b, Location loc, MemRefType type,
                 ValueRange sizes) const {
    if (deviceAlloc)
      return gpu::AllocOp::create(b, loc, type, /*asyncToken=*/Type(),
                                  ValueRange{}, sizes, ValueRange{})
          .getMemref();
    return memref::AllocOp::create(b, loc, type, sizes);
  }
  void release(OpBuilder &b, Location loc, Value buffer) const {
    if (deviceAlloc)
      gpu::DeallocOp::create(b, loc, /*asyncToken=*/Type(), ValueRange{},
                             buffer);
    else
      memref::DeallocOp::create(b, loc, buffer);
  }

  int64_t chunk;
  bool deviceAlloc, channelMajor;
  int64_t tokensPerStep;
  /// The carry pass's chunks per step (see steppedTokenLoop).
  static constexpr int64_t carryChunksPerStep = 4;
};

} // namespace

void mlir::hssm::populateChunkedScanToLoopsPatterns(RewritePatternSet &patterns,
                                                    int64_t chunk,
                                                    bool deviceAlloc,
                                                    bool channelMajor,
                                                    int64_t tokensPerStep) {
  patterns.add<ChunkedScanToLoops>(patterns.getContext(), chunk, deviceAlloc,
                                   channelMajor, tokensPerStep);
}
