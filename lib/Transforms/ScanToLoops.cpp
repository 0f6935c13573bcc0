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

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::hssm;

namespace {

/// The widest vector access of a thread (ld/st.v4.b32).
constexpr int64_t kPieceBytes = 16;

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
                                 /*decodeRow=*/false);
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
///
/// Given `blockThreads` (GPU: the block of consecutive channels of one row
/// group that gpu.barrier synchronizes), the block stages the group's B and
/// C rows once, widened to f32, in workgroup memory, and every thread reads
/// them from there. They are the same for all channels; loaded and widened
/// by each thread they took two thirds of its registers (158 at 4 rows),
/// which capped the state rows in flight per SM. Given `blockBytes`, the
/// loop of `rows` rows per iteration takes blocks of as many channels as
/// make that many bytes of each state row (threadsFor). Each thread widens
/// its bf16 state row as 32-bit words (toF32ByWords): one instruction per
/// state instead of two (936 -> 904 per warp of 4 rows; D2 itself did not
/// move measurably: bench/results/r29/variants.txt).
///
/// Given `shuffleStatesBytes` as well (GPU), a channel's row of new states
/// of at least that many bytes is stored whole-sector: a thread's own row
/// (64 bytes for f32 at N = 16) would go out as four 16-byte stores, each
/// writing a quarter of a 32-byte sector per lane. The rows of each group
/// of lanes are transposed by xor shuffles so that each store writes whole
/// rows (transposePieces). On the H200 this took D2-f32 from 0.785 to 0.835
/// of the copy bound, and did nothing for bf16 rows (32 bytes, halves):
/// bench/results/r18/variants.txt.
///
/// Given `smallBatch`, a batch of at most that many decode rows takes a
/// second loop with one row per iteration (a run-time branch): a batch too
/// small to fill a GPU waits on one thread's chain, which grows with its
/// rows. With `prefetchBeforeWait` (GPU, programmatic launch) that loop
/// also asks the L2 for its state row before it waits for the kernel
/// before it (prefetchStateThenWait). bench/results/r22 and r24.
struct DecodeScanToLoops : OpRewritePattern<StateUpdateOp> {
  DecodeScanToLoops(MLIRContext *ctx, const DecodeScanOptions &o)
      : OpRewritePattern(ctx), rows(std::max<int64_t>(o.rows, 1)),
        channelMajor(o.channelMajor), blockThreads(o.blockThreads),
        blockBytes(o.blockBytes), shuffleStatesBytes(o.shuffleStatesBytes),
        smallBatch(o.smallBatch), prefetchBeforeWait(o.prefetchBeforeWait) {}

  LogicalResult matchAndRewrite(StateUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<BatchValues> batch =
        getBatchValues(op, op.getBatch(), rewriter);
    if (failed(batch))
      return failure();
    OpBuilder &b = rewriter;
    // A batch too small to fill the GPU is bound by one thread's chain of
    // dependent instructions, which grows with its rows: one row per
    // thread for it, `rows` for larger batches (run-time branch).
    ifAtMost(b, loc, batch->numDecodes, rows == 1 ? 0 : smallBatch,
             [&](OpBuilder &b, Location loc, bool small) {
               emitLoop(b, loc, op, *batch, small ? 1 : rows);
             });
    rewriter.eraseOp(op);
    return success();
  }

private:
  /// The parallel loop over (group of `rows` decode rows, channel).
  void emitLoop(OpBuilder &b, Location loc, StateUpdateOp op,
                const BatchValues &batch, int64_t rows) const {
    Value zero = constIndex(b, loc, 0);
    Value numDecodes = batch.numDecodes;
    Value groups =
        rows == 1 ? numDecodes
                  : arith::CeilDivUIOp::create(b, loc, numDecodes,
                                               constIndex(b, loc, rows));
    Value hasSlots =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt,
                              dimValue(b, loc, op.getSsmState(), 0), zero);
    int64_t threads = threadsFor(op, rows);
    bool staged = stages(op, threads);
    forRowsAndChannels(
        b, loc, zero, groups, dimValue(b, loc, op.getA(), 0), channelMajor,
        [&](OpBuilder &b, Location loc, Value group, Value d) {
          if (prefetchBeforeWait && rows == 1)
            prefetchStateThenWait(b, loc, op, batch, group, d, hasSlots);
          SmallVector<DecodeRow> members =
              loadDecodeRows(b, loc, batch, group, rows, op.getPadSlotId());
          int64_t n = op.getA().getType().getDimSize(1);
          Value rowsBuf =
              staged ? workgroupBuffer(b, loc,
                                       {stagedRows(rows, n, threads), 2, n},
                                       b.getF32Type())
                     : Value();
          scf::IfOp::create(
              b, loc, hasSlots,
              [&](OpBuilder &b, Location loc) {
                emitRows(b, loc, op, members, d, rowsBuf, threads);
                scf::YieldOp::create(b, loc);
              },
              [&](OpBuilder &b, Location loc) {
                Value zeroF = constF32(b, loc, 0.0f);
                for (const DecodeRow &r : members)
                  ifThen(b, loc, r.live, [&](OpBuilder &b, Location loc) {
                    storeF32(b, loc, zeroF, op.getOut(), {r.info.begin, d});
                  });
                scf::YieldOp::create(b, loc);
              });
        },
        threads);
  }

  /// The block of a loop with `loopRows` decode rows per iteration: for
  /// the grouped loop, as many channels as make blockBytes of each state
  /// row (where that is whole warps, at most 1024, dividing D), else
  /// blockThreads. On the H200 a block's 4 KB of each row did best for
  /// bf16 (128 channels) and f32 (64) states alike:
  /// bench/results/r29/variants.txt.
  int64_t threadsFor(StateUpdateOp op, int64_t loopRows) const {
    MemRefType a = op.getA().getType();
    if (blockThreads <= 0 || blockBytes <= 0 || loopRows == 1 ||
        ShapedType::isDynamic(a.getDimSize(1)))
      return blockThreads;
    int64_t rowBits =
        a.getDimSize(1) *
        cast<MemRefType>(op.getSsmState().getType()).getElementTypeBitWidth();
    if ((blockBytes * 8) % rowBits)
      return blockThreads;
    int64_t threads = blockBytes * 8 / rowBits;
    int64_t d = a.getDimSize(0);
    if (threads % 32 != 0 || threads > 1024 || ShapedType::isDynamic(d) ||
        d % threads != 0)
      return blockThreads;
    return threads;
  }

  /// Staging applies where every block of `threads` lies inside one row
  /// group (D a multiple of it, so all its threads reach the barrier).
  bool stages(StateUpdateOp op, int64_t threads) const {
    int64_t d = op.getA().getType().getDimSize(0);
    return threads > 0 && !ShapedType::isDynamic(d) &&
           !ShapedType::isDynamic(op.getA().getType().getDimSize(1)) &&
           d % threads == 0;
  }

  /// Before anything else of the one-row loop (GPU, programmatic launch):
  /// the L2 is asked for the state row of the slot that state_indices holds
  /// now, which a kernel still running before this one might be writing
  /// (out-of-pool values prefetch slot 0), and then the kernel waits for
  /// that kernel (griddepcontrol.wait, which hssm-programmatic-launch then
  /// does not add). The row's real loads come after the wait; the prefetch
  /// only moves their line into the L2 early.
  void prefetchStateThenWait(OpBuilder &b, Location loc, StateUpdateOp op,
                             const BatchValues &batch, Value row, Value d,
                             Value hasSlots) const {
    Value zero = constIndex(b, loc, 0);
    Value slot = loadIndex(b, loc, batch.stateIndices, row);
    Value inPool =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, slot,
                              dimValue(b, loc, op.getSsmState(), 0));
    slot = arith::SelectOp::create(b, loc, inPool, slot, zero);
    ifThen(b, loc, hasSlots, [&](OpBuilder &b, Location loc) {
      prefetchToL2(b, loc, op.getSsmState(), {slot, d, zero});
    });
    NVVM::GriddepcontrolOp::create(b, loc, NVVM::GridDepActionKind::wait);
  }

  /// Rows of the staging buffer: `rows`, and pad rows up to a whole number
  /// of blocks of elements, which the threads past the group's rows fill
  /// (so that no branch guards the staging: LLVM moved the state loads
  /// below such a branch, and they then waited for the staged loads).
  int64_t stagedRows(int64_t rows, int64_t n, int64_t threads) const {
    int64_t padded = llvm::divideCeil(rows * n, threads) * threads;
    return llvm::divideCeil(padded, n);
  }

  /// The new states go out transposed (transposePieces) where a channel's
  /// row has at least shuffleStatesBytes and is a power of two of 16-byte
  /// pieces, at most a warp of them, and the block is whole warps.
  bool shufflesStates(StateUpdateOp op, int64_t threads) const {
    auto stateType = cast<MemRefType>(op.getSsmState().getType());
    int64_t bytes = op.getA().getType().getDimSize(1) *
                    stateType.getElementTypeBitWidth() / 8;
    int64_t count = bytes / kPieceBytes;
    return shuffleStatesBytes > 0 && bytes >= shuffleStatesBytes &&
           bytes % kPieceBytes == 0 && llvm::isPowerOf2_64(count) &&
           count <= 32 && threads % 32 == 0;
  }

  /// The new states `h` of this thread's channel d, rounded to the pool's
  /// type, as P pieces of 16 bytes (vector<4xi32>), transposed across each
  /// group of P adjacent lanes by xor shuffles: afterwards lane j = d mod P
  /// holds piece j of channels d - j, ..., d - j + P - 1, so that store k
  /// of the group writes the whole row of channel d - j + k. Every lane of
  /// the warp must run it (the shuffles), so it stands outside branches.
  SmallVector<Value> transposePieces(OpBuilder &b, Location loc,
                                     const ScanOperands &ops, Value h,
                                     Value d) const {
    Type stateElem = cast<MemRefType>(ops.state.getType()).getElementType();
    int64_t n = cast<VectorType>(h.getType()).getNumElements();
    if (!stateElem.isF32())
      h = arith::TruncFOp::create(b, loc, VectorType::get({n}, stateElem), h);
    int64_t words = n * stateElem.getIntOrFloatBitWidth() / 32;
    int64_t pieces = words / 4;
    Type i32 = b.getI32Type();
    Value w = vector::BitCastOp::create(b, loc, VectorType::get({words}, i32),
                                        h);
    SmallVector<SmallVector<Value, 4>> p(pieces);
    for (int64_t q = 0; q < pieces; ++q)
      for (int64_t c = 0; c < 4; ++c)
        p[q].push_back(vector::ExtractOp::create(b, loc, w, q * 4 + c));
    Value j = arith::RemUIOp::create(b, loc, d, constIndex(b, loc, pieces));
    Value width = arith::ConstantIntOp::create(b, loc, i32, 32);
    for (int64_t bit = 1; bit < pieces; bit <<= 1) {
      // Pieces q and q | bit trade places with the partner lane j ^ bit:
      // the lane whose `bit` is set sends q and takes the partner's q | bit.
      Value hi = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::ne,
          arith::AndIOp::create(b, loc, j, constIndex(b, loc, bit)),
          constIndex(b, loc, 0));
      Value offset = arith::ConstantIntOp::create(b, loc, i32, bit);
      for (int64_t q = 0; q < pieces; ++q) {
        if (q & bit)
          continue;
        for (int64_t c = 0; c < 4; ++c) {
          Value lo = p[q][c], up = p[q | bit][c];
          Value send = arith::SelectOp::create(b, loc, hi, lo, up);
          Value got = gpu::ShuffleOp::create(b, loc, send, offset, width,
                                             gpu::ShuffleMode::XOR)
                          .getShuffleResult();
          p[q][c] = arith::SelectOp::create(b, loc, hi, got, lo);
          p[q | bit][c] = arith::SelectOp::create(b, loc, hi, up, got);
        }
      }
    }
    SmallVector<Value> out;
    for (int64_t q = 0; q < pieces; ++q)
      out.push_back(vector::FromElementsOp::create(
          b, loc, VectorType::get({4}, i32), p[q]));
    return out;
  }

  /// Stores transposePieces' result: piece k to channel d - j + k, at
  /// states j * (16 bytes) of it.
  void storePieces(OpBuilder &b, Location loc, const ScanOperands &ops,
                   ArrayRef<Value> pieces, Value dstSlot, Value d) const {
    auto stateType = cast<MemRefType>(ops.state.getType());
    int64_t count = pieces.size();
    int64_t perPiece =
        kPieceBytes / (stateType.getElementTypeBitWidth() / 8);
    Value j = arith::RemUIOp::create(b, loc, d, constIndex(b, loc, count));
    Value d0 = arith::SubIOp::create(b, loc, d, j);
    Value at = arith::MulIOp::create(b, loc, j, constIndex(b, loc, perPiece));
    for (int64_t k = 0; k < count; ++k) {
      Value v = vector::BitCastOp::create(
          b, loc, VectorType::get({perPiece}, stateType.getElementType()),
          pieces[k]);
      Value c = arith::AddIOp::create(b, loc, d0, constIndex(b, loc, k));
      vector::StoreOp::create(b, loc, v, ops.state, ValueRange{dstSlot, c, at},
                              /*nontemporal=*/false,
                              vectorAlignment(ops.state, perPiece));
    }
  }

  /// The group's B and C rows into `buf` ([stagedRows][B, C][N], f32):
  /// thread tid of the block takes state n of member r for e = tid, tid +
  /// threads, ... below stagedRows * N (members past the group's rows
  /// read its first row into the pad rows); then a barrier.
  void stageRows(OpBuilder &b, Location loc, StateUpdateOp op,
                 ArrayRef<DecodeRow> group, Value d, Value buf,
                 int64_t threads) const {
    ScanOperands ops = ScanOperands::of(op);
    int64_t rows = group.size();
    int64_t total = stagedRows(rows, ops.n, threads) * ops.n;
    Value tid = arith::RemUIOp::create(b, loc, d, constIndex(b, loc, threads));
    for (int64_t first = 0; first + threads <= total; first += threads) {
      Value e = arith::AddIOp::create(b, loc, tid, constIndex(b, loc, first));
      Value r = arith::DivUIOp::create(b, loc, e, constIndex(b, loc, ops.n));
      Value n = arith::RemUIOp::create(b, loc, e, constIndex(b, loc, ops.n));
      // Member r's token (r is this thread's, not a constant).
      Value t = group.front().info.begin;
      for (int64_t k = 1; k < rows; ++k)
        t = arith::SelectOp::create(
            b, loc,
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, r,
                                  constIndex(b, loc, k)),
            group[k].info.begin, t);
      // Both loads before either store, which would wait for its load.
      Value rowsIn[] = {ops.bMat, ops.cMat}, got[2];
      for (int64_t which = 0; which < 2; ++which)
        got[which] =
            memref::LoadOp::create(b, loc, rowsIn[which], ValueRange{t, n});
      for (int64_t which = 0; which < 2; ++which)
        memref::StoreOp::create(b, loc, toF32(b, loc, got[which]), buf,
                                ValueRange{r, constIndex(b, loc, which), n});
    }
    gpu::BarrierOp::create(b, loc);
  }

  /// With `rowsBuf`, B and C of member i come from its staged rows, staged
  /// after the state loads are issued (a barrier would hold them back).
  void emitRows(OpBuilder &b, Location loc, StateUpdateOp op,
                ArrayRef<DecodeRow> group, Value d, Value rowsBuf,
                int64_t threads) const {
    ScanOperands ops = ScanOperands::of(op);
    Value zero = constIndex(b, loc, 0);
    ScanRow channel = ScanRow::load(b, loc, ops, d, zero, /*log2eOnDt=*/true);
    SmallVector<Value> h;
    for (const DecodeRow &r : group) {
      Value slot = arith::SelectOp::create(b, loc, r.info.isPad, zero,
                                           r.info.srcSlot);
      h.push_back(toF32ByWords(
          b, loc, loadVector(b, loc, ops.state, {slot, d, zero}, ops.n)));
    }
    // Staged: every row's delta, u (and z) are loaded with the states,
    // before the barrier, so that their latency overlaps the staging.
    SmallVector<SmallVector<Value>> own;
    if (rowsBuf) {
      for (const DecodeRow &r : group) {
        SmallVector<Value> in;
        for (Value src : {ops.delta, ops.u, ops.z})
          if (src)
            in.push_back(memref::LoadOp::create(b, loc, src,
                                                ValueRange{r.info.begin, d}));
        own.push_back(in);
      }
      stageRows(b, loc, op, group, d, rowsBuf, threads);
    }
    bool shuffled = rowsBuf && shufflesStates(op, threads);
    SmallVector<SmallVector<Value>> pieces(group.size());
    SmallVector<Value> y(group.size());
    Value zeroF = constF32(b, loc, 0.0f);
    auto storeRow = [&](size_t i, const DecodeRow &r) {
      ifThen(b, loc, r.live, [&](OpBuilder &b, Location loc) {
        scf::IfOp::create(
            b, loc, r.info.isPad,
            [&](OpBuilder &b, Location loc) {
              storeF32(b, loc, zeroF, ops.out, {r.info.begin, d});
              scf::YieldOp::create(b, loc);
            },
            [&](OpBuilder &b, Location loc) {
              storeF32(b, loc, y[i], ops.out, {r.info.begin, d});
              // Block-uniform (one row group per block): no divergence.
              if (shuffled)
                storePieces(b, loc, ops, pieces[i], r.info.dstSlot, d);
              else
                storeFinalState(b, loc, ops, h[i], r.info.dstSlot, d, zero);
              scf::YieldOp::create(b, loc);
            });
      });
    };
    for (auto [i, r] : llvm::enumerate(group)) {
      if (!rowsBuf) {
        h[i] = scanToken(b, loc, ops, channel, r.info.begin, d, h[i],
                         /*writeOutput=*/true, /*dtOut=*/nullptr, &y[i]);
        continue;
      }
      Value member = constIndex(b, loc, int64_t(i));
      auto input = [&](unsigned which) -> Value {
        if (which == 2 || which == 3)
          return loadVector(
              b, loc, rowsBuf,
              {member, constIndex(b, loc, which - 2), zero}, ops.n);
        return own[i][which == 4 ? 2 : which];
      };
      h[i] = scanTokenWith(b, loc, ops, channel, input, r.info.begin, d, h[i],
                           /*writeOutput=*/true, /*dtOut=*/nullptr, &y[i]);
      // Stored as soon as computed, so that no row's pieces wait in
      // registers for the others' (at 4 rows, stored after all of them:
      // f32 158 -> 246 registers, bf16 121 -> 203).
      if (shuffled) {
        pieces[i] = transposePieces(b, loc, ops, h[i], d);
        storeRow(i, r);
      }
    }
    if (!shuffled)
      for (auto [i, r] : llvm::enumerate(group))
        storeRow(i, r);
  }

  int64_t rows;
  bool channelMajor;
  int64_t blockThreads;
  int64_t blockBytes;
  int64_t shuffleStatesBytes;
  int64_t smallBatch;
  bool prefetchBeforeWait;
};

} // namespace

void mlir::hssm::populateScanToLoopsPatterns(RewritePatternSet &patterns,
                                             const DecodeScanOptions &decode) {
  patterns.add<ScanToLoops>(patterns.getContext(), decode.channelMajor);
  patterns.add<DecodeScanToLoops>(patterns.getContext(), decode);
}
