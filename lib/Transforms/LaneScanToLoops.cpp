//===- LaneScanToLoops.cpp - hssm.selective_scan, N split across lanes ----===//
//
// The prefill scan is bound by its exponentials: one per (token, channel,
// state). The chunked lowering computes each of them twice (once to find
// the chunk carries, once for the outputs); the sequential one computes
// each once but has one thread per channel, too few to keep the GPU's
// exp2 units busy. Here a channel's N states are split across `lanes`
// consecutive iterations of the parallel channel dimension, which the GPU
// mapping makes lanes of one warp: each walks every token of the row once,
// holding N / lanes states in registers, and the lanes exchange values with
// gpu.shuffle:
//   - lane j owns the tokens t0 + j of each group of `lanes` tokens: it
//     reads their delta, u and z and computes dt = softplus(delta + b_dt)
//     and the gate silu(z) once, and broadcasts dt and dt * u to the others;
//   - the lanes' partial sums C . h of a group's tokens are reduced so that
//     each token's sum lands in its owner (sumToOwners), which writes
//     (C . h + Dskip u) silu(z).
// A token past the row's end gets dt = u = 0 (its decay is exp2(0) = 1 and
// its input 0, so it leaves h as it is) and is not stored, so every lane
// runs the same trip count, as the shuffles need.
//
// Loads are software-pipelined: the inputs of the next `tokensPerStep`
// tokens are loaded while the current ones are computed (the loop carries
// them), because a GPU has few warps of this kernel per SM to hide memory
// latency with. The steps whose next step is inside the row run in a main
// loop without clamps or masks; the last one or two in a tail loop that
// clamps and masks.
//
// B and C are the same for every channel of a token. Given `blockThreads`
// (the GPU block of consecutive iterations of one row), the block stages
// each step once in workgroup memory: every thread loads a piece of the
// step's B and C (widened to f32 once, not by each channel) and of its
// channels' delta, u and z, and stores it in one of two buffers (the next
// step's is written after this one's arithmetic, one gpu.barrier per
// step); the lanes read their B, C and owned inputs from there, and the
// loop carries nothing but h. Its loop then has the rows as a third
// dimension, outside the pipeline's tile, so that the GPU dispatches a
// row's blocks together (forRowsOutermost). Without staging, every lane
// loads and widens its own B and C of every token, and the loop carries a
// step of loads in registers.
//
// A step's groups of `lanes` tokens each go through three phases: the
// owned token's dt, dt u and gate; the recurrence; the sums and the store.
// Either phase by phase over the whole step (every group's dt, then every
// recurrence, then every sum), so that the long chains of one (softplus,
// the shuffles of the sums) have the other groups' beside them; or, for
// batches of few prefill rows (diagonalRows), diagonally (group g + 1's dt
// and g - 1's sums beside g's recurrence), which keeps the exp2 unit busy
// where a scheduler has only one warp of the kernel. The host picks one of
// the two kernels by the batch.
//
// GPU only: the iterations of a channel must be lanes of one warp, so the
// parallel channel dimension (D * lanes) must be a multiple of 32 and map
// to consecutive threads (the NVVM pipeline's block shapes do).
//
//===----------------------------------------------------------------------===//

#include "LoopUtils.h"
#include "ScanCommon.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/SmallBitVector.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::hssm;

namespace {

constexpr int64_t kWarpSize = 32;

struct LaneScanToLoops : OpRewritePattern<SelectiveScanOp> {
  LaneScanToLoops(MLIRContext *ctx, const LaneScanOptions &o)
      : OpRewritePattern(ctx, /*benefit=*/3), lanes(o.lanes),
        groupsPerStep(
            std::max<int64_t>(1, (o.tokensPerStep + o.lanes - 1) / o.lanes)),
        channelMajor(o.channelMajor), blockThreads(o.blockThreads),
        stageRowsF32(o.stageRowsF32), padOwnedRows(o.padOwnedRows),
        prefetchSteps(std::clamp<int64_t>(o.prefetchSteps, 1, 2)),
        longestFirst(o.longestFirst), diagonalRows(o.diagonalRows) {}

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    ScanOperands ops = ScanOperands::of(op);
    int64_t d = cast<MemRefType>(ops.a.getType()).getDimSize(0);
    if (!llvm::isPowerOf2_64(lanes) || lanes > kWarpSize ||
        ShapedType::isDynamic(d) || ops.n % lanes != 0 ||
        (d * lanes) % kWarpSize != 0)
      return rewriter.notifyMatchFailure(
          op, "needs lanes a power of two up to 32, a static D with D * "
              "lanes a multiple of 32, and N a multiple of lanes");
    Location loc = op.getLoc();
    FailureOr<BatchValues> batch = getBatchValues(op, op.getBatch(), rewriter);
    if (failed(batch))
      return failure();
    OpBuilder &b = rewriter;
    int64_t stageK = stagedPerThread(ops, d);
    // The scan's loops, with a step's groups diagonally or phase by phase.
    auto loops = [&](OpBuilder &b, Location loc, bool diagonal) {
      auto body = [&](OpBuilder &b, Location loc, Value row, Value i) {
        // One kernel ranks the rows, the other has too few (diagonalRows).
        if (stageK > 0 && longestFirst && !diagonal)
          row = longestFirstRow(b, loc, *batch, row, i);
        Thread th = Thread::of(b, loc, i, lanes);
        if (stageK > 0)
          th.stage = makeStaging(b, loc, ops, i, th.d, stageK);
        RowInfo info = loadRow(b, loc, *batch, row, op.getPadSlotId(),
                               /*decodeRow=*/false);
        scf::IfOp::create(
            b, loc, info.isPad,
            [&](OpBuilder &b, Location loc) {
              // Each lane zeros the outputs of the tokens it owns.
              zeroColumn(b, loc, ops.out,
                         arith::AddIOp::create(b, loc, info.begin, th.lane),
                         info.end, th.d, lanes);
              scf::YieldOp::create(b, loc);
            },
            [&](OpBuilder &b, Location loc) {
              emitLiveRow(b, loc, ops, info, th, diagonal);
              scf::YieldOp::create(b, loc);
            });
      };
      Value iterations = constIndex(b, loc, d * lanes);
      if (stageK > 0)
        forRowsOutermost(b, loc, *batch, iterations, body);
      else
        forRowsAndLanes(b, loc, *batch, iterations, body);
    };
    // Outside the loops, so that the GPU gets one kernel per order, each
    // with its own registers, and the host picks one by the batch.
    ifAtMost(b, loc, batch->numPrefills, diagonalRows, loops);
    rewriter.eraseOp(op);
    return success();
  }

private:
  using Body = function_ref<void(OpBuilder &, Location, Value, Value)>;

  /// body(row, i) for every row and iteration i of the (channel, lane)
  /// dimension, as the other lowerings' loops are.
  void forRowsAndLanes(OpBuilder &b, Location loc, const BatchValues &batch,
                       Value iterations, Body body) const {
    forRowsAndChannels(b, loc, batch.numDecodes, batch.numReqs, iterations,
                       channelMajor, body);
  }

  /// The same loop with the rows moved to a third dimension: (1, i, row),
  /// or (i, 1, row) when channel-major. The pipeline's tile (1 x
  /// blockThreads, or blockThreads x 1) falls on the first two, so blocks
  /// and threads are as in forRowsAndLanes, and the GPU mapping puts the
  /// rows on the grid's slowest dimension (z): a row's blocks are
  /// dispatched together, row after row. With the rows on x, a long row's
  /// last blocks could start last and end long after the others (P2).
  void forRowsOutermost(OpBuilder &b, Location loc, const BatchValues &batch,
                        Value iterations, Body body) const {
    Value zero = constIndex(b, loc, 0), one = constIndex(b, loc, 1);
    SmallVector<Value, 3> ubs = {one, iterations, batch.numReqs};
    if (channelMajor)
      std::swap(ubs[0], ubs[1]);
    scf::ParallelOp::create(b, loc, ValueRange{zero, zero, batch.numDecodes},
                            ubs, ValueRange{one, one, one},
                            [&](OpBuilder &b, Location loc, ValueRange ivs) {
                              body(b, loc, ivs[2], ivs[channelMajor ? 0 : 1]);
                            });
  }

  /// With the rows on the grid's z, the z-th block row takes the z-th
  /// longest prefill row (ties by batch order), so that the longest rows
  /// start first and the short ones fill in after them: a scan's block
  /// runs as long as its row, and a long row dispatched late ends late (P2:
  /// its 2048-token row starts 40% into the dispatch in batch order). The
  /// block ranks the rows itself: thread t < num_prefills counts the rows
  /// that go before row t, the one whose rank is z writes t to workgroup
  /// memory, a barrier. That costs num_prefills loads per thread, so past
  /// blockThreads prefill rows (many short rows, where the order matters
  /// little) the batch order stays. Only in the phase-order kernel: the
  /// diagonal one has at most diagonalRows rows to order, and in one
  /// kernel with P1's single row the ranking's code cost P1 0.45 -> 0.36
  /// (r18, lanes 4). H200, lanes 2 (bench/results/r26/variants.txt): P2
  /// 275 -> 230 us, P1 as before, L-pre and L-mix within 0.5%.
  Value longestFirstRow(OpBuilder &b, Location loc, const BatchValues &batch,
                        Value row, Value i) const {
    Value nd = batch.numDecodes, np = batch.numPrefills;
    Value zero = constIndex(b, loc, 0), one = constIndex(b, loc, 1);
    Value z = arith::SubIOp::create(b, loc, row, nd);
    Value tid =
        arith::RemUIOp::create(b, loc, i, constIndex(b, loc, blockThreads));
    Value chosen = workgroupBuffer(b, loc, {1}, b.getI32Type());
    auto lengthOf = [&](OpBuilder &b, Location loc, Value r) {
      Value at = arith::AddIOp::create(b, loc, nd, r);
      Value begin = loadIndex(b, loc, batch.queryStartLoc, at);
      Value end = loadIndex(b, loc, batch.queryStartLoc,
                            arith::AddIOp::create(b, loc, at, one));
      return arith::SubIOp::create(b, loc, end, begin).getResult();
    };
    auto cmp = [&](OpBuilder &b, Location loc, arith::CmpIPredicate p,
                   Value x, Value y) {
      return arith::CmpIOp::create(b, loc, p, x, y).getResult();
    };
    Value ranked = cmp(b, loc, arith::CmpIPredicate::ule, np,
                       constIndex(b, loc, blockThreads));
    return scf::IfOp::create(
               b, loc, ranked,
               [&](OpBuilder &b, Location loc) {
                 ifThen(b, loc, cmp(b, loc, arith::CmpIPredicate::ult, tid, np),
                        [&](OpBuilder &b, Location loc) {
                   Value mine = lengthOf(b, loc, tid);
                   auto count = scf::ForOp::create(
                       b, loc, zero, np, one, ValueRange{zero},
                       [&](OpBuilder &b, Location loc, Value s,
                           ValueRange acc) {
                         Value len = lengthOf(b, loc, s);
                         Value before = arith::OrIOp::create(
                             b, loc,
                             cmp(b, loc, arith::CmpIPredicate::ugt, len, mine),
                             arith::AndIOp::create(
                                 b, loc,
                                 cmp(b, loc, arith::CmpIPredicate::eq, len,
                                     mine),
                                 cmp(b, loc, arith::CmpIPredicate::ult, s,
                                     tid)));
                         Value next = arith::AddIOp::create(
                             b, loc, acc[0],
                             arith::SelectOp::create(b, loc, before, one,
                                                     zero));
                         scf::YieldOp::create(b, loc, next);
                       });
                   ifThen(b, loc,
                          cmp(b, loc, arith::CmpIPredicate::eq,
                              count.getResult(0), z),
                          [&](OpBuilder &b, Location loc) {
                     memref::StoreOp::create(
                         b, loc,
                         arith::IndexCastOp::create(b, loc, b.getI32Type(),
                                                    tid),
                         chosen, ValueRange{zero});
                   });
                 });
                 gpu::BarrierOp::create(b, loc);
                 Value r = loadIndex(b, loc, chosen, zero);
                 scf::YieldOp::create(b, loc,
                                      ValueRange{arith::AddIOp::create(
                                          b, loc, nd, r)});
               },
               [&](OpBuilder &b, Location loc) {
                 scf::YieldOp::create(b, loc, row);
               })
        .getResult(0);
  }

  /// What the block stages per step (see the file comment), in workgroup
  /// memory with two buffers (the leading dimension):
  ///   rows: 2 x 2 (B, C) x S (tokens of the step) x N, f32 (or as stored,
  ///   see stageRowsF32);
  ///   delta, u, z: 2 x S x (BC + pad) (the block's channels, each token's
  ///   row padded, see ownedRowPad), as stored.
  /// This thread's piece: B and C states [n, n + k) of token `rowToken`,
  /// and channels [c, c + m) of token `chanToken` of delta, u and z. A lane
  /// reads its owned tokens' delta, u, z at channel `dLocal`.
  struct Staging {
    Value rows, delta, u, z;
    Value rowToken, n, chanToken, c, blockD0, dLocal;
    int64_t k = 0, m = 0;
  };

  static Type elementType(Value memref) {
    return cast<MemRefType>(memref.getType()).getElementType();
  }

  /// The staging buffers and the piece of them of iteration i (channel d).
  Staging makeStaging(OpBuilder &b, Location loc, const ScanOperands &ops,
                      Value i, Value d, int64_t k) const {
    Staging st;
    int64_t s = stepTokens(), bc = blockThreads / lanes;
    st.k = k;
    st.m = s / lanes;
    Type rowType = elementType(ops.bMat);
    if (stageRowsF32 || rowType != elementType(ops.cMat))
      rowType = b.getF32Type();
    st.rows = workgroupBuffer(b, loc, {2, 2, s, ops.n}, rowType);
    auto ownedBuffer = [&](Value in) {
      Type elem = elementType(in);
      return workgroupBuffer(b, loc, {2, s, bc + ownedRowPad(bc, st.m, elem)},
                             elem);
    };
    st.delta = ownedBuffer(ops.delta);
    st.u = ownedBuffer(ops.u);
    if (ops.z)
      st.z = ownedBuffer(ops.z);
    Value tid =
        arith::RemUIOp::create(b, loc, i, constIndex(b, loc, blockThreads));
    auto split = [&](int64_t piece, int64_t width, Value &outer, Value &inner) {
      Value first =
          arith::MulIOp::create(b, loc, tid, constIndex(b, loc, piece));
      outer = arith::DivUIOp::create(b, loc, first, constIndex(b, loc, width));
      inner = arith::RemUIOp::create(b, loc, first, constIndex(b, loc, width));
    };
    split(k, ops.n, st.rowToken, st.n);
    split(st.m, bc, st.chanToken, st.c);
    st.dLocal = arith::DivUIOp::create(b, loc, tid, constIndex(b, loc, lanes));
    st.blockD0 = arith::SubIOp::create(b, loc, d, st.dLocal);
    return st;
  }

  /// Elements added to each token's row of a staged owned input (BC
  /// channels of `elem`) so that the rows a warp reads at once (tokens j to
  /// j + lanes - 1, its 32 / lanes channels in each) fall in distinct
  /// shared-memory banks (32 of 4 bytes): unpadded 16-bit rows of 32
  /// channels are 64 bytes apart, and every other lane's row shares its
  /// banks. A multiple of the stores' `m` elements, which keeps them
  /// aligned; 0 when no pad up to one bank row avoids the conflicts.
  int64_t ownedRowPad(int64_t bc, int64_t m, Type elem) const {
    int64_t bytes = elem.getIntOrFloatBitWidth() / 8;
    if (!padOwnedRows || bytes == 0 || 4 % bytes != 0)
      return 0;
    int64_t spanWords =
        std::max<int64_t>(1, (kWarpSize / lanes) * bytes / 4);
    for (int64_t pad = 0; pad * bytes <= 128; pad += m) {
      if (((bc + pad) * bytes) % 4 != 0)
        continue;
      int64_t rowWords = (bc + pad) * bytes / 4;
      llvm::SmallBitVector used(32);
      bool distinct = true;
      for (int64_t r = 0; r < lanes && distinct; ++r)
        for (int64_t w = 0; w < spanWords && distinct; ++w) {
          int64_t bank = (r * rowWords + w) % 32;
          distinct = !used.test(bank);
          used.set(bank);
        }
      if (distinct)
        return pad;
    }
    return 0;
  }

  /// Where an iteration i of the (channel, lane) dimension sits.
  struct Thread {
    Value d;        ///< channel: i / lanes
    Value lane;     ///< i % lanes (index)
    Value n0;       ///< first state of the lane: lane * N / lanes
    Value groupI32; ///< the warp lane of the channel's lane 0, as i32
    Staging stage;  ///< where the step's inputs are staged (k = 0: not)
    static Thread of(OpBuilder &b, Location loc, Value i, int64_t lanes) {
      Thread th;
      Value l = constIndex(b, loc, lanes);
      th.d = arith::DivUIOp::create(b, loc, i, l);
      th.lane = arith::RemUIOp::create(b, loc, i, l);
      Value warpLane = arith::IndexCastOp::create(
          b, loc, b.getI32Type(),
          arith::RemUIOp::create(b, loc, i, constIndex(b, loc, kWarpSize)));
      th.groupI32 = arith::SubIOp::create(
          b, loc, warpLane,
          arith::IndexCastOp::create(b, loc, b.getI32Type(), th.lane));
      return th;
    }
  };

  int64_t statesPerLane(const ScanOperands &ops) const { return ops.n / lanes; }
  int64_t stepTokens() const { return groupsPerStep * lanes; }

  /// The states of B (and as many of C) each thread stages per step, or 0
  /// where staging does not apply: it needs every block inside one row (D *
  /// lanes a multiple of blockThreads, so that all of a block's threads
  /// reach the same barriers) and a step's S x N states, and S x BC
  /// channels, split evenly into pieces that do not cross a token.
  int64_t stagedPerThread(const ScanOperands &ops, int64_t d) const {
    int64_t perStep = stepTokens() * ops.n;
    if (blockThreads <= 0 || blockThreads % lanes != 0 ||
        (d * lanes) % blockThreads != 0 || perStep % blockThreads != 0)
      return 0;
    int64_t k = perStep / blockThreads;
    int64_t channels = blockThreads / lanes, m = stepTokens() / lanes;
    return ops.n % k == 0 && channels % m == 0 ? k : 0;
  }

  /// This thread's piece of the step from `t0` (clamped as in loadOwned),
  /// as stored: B, C, delta, u (and z).
  SmallVector<Value> loadStage(OpBuilder &b, Location loc,
                               const ScanOperands &ops, const Staging &st,
                               Value t0, Value last) const {
    Value t =
        clamp(b, loc, arith::AddIOp::create(b, loc, t0, st.rowToken), last);
    SmallVector<Value> raw = {loadVector(b, loc, ops.bMat, {t, st.n}, st.k),
                              loadVector(b, loc, ops.cMat, {t, st.n}, st.k)};
    Value tc =
        clamp(b, loc, arith::AddIOp::create(b, loc, t0, st.chanToken), last);
    Value c = arith::AddIOp::create(b, loc, st.blockD0, st.c);
    for (Value in : {ops.delta, ops.u, ops.z})
      if (in)
        raw.push_back(loadVector(b, loc, in, {tc, c}, st.m));
    return raw;
  }

  /// Stores what loadStage read into buffer `buf`, B and C in the staging
  /// type.
  static void storeStage(OpBuilder &b, Location loc, const Staging &st,
                         Value buf, ValueRange raw) {
    bool widen = elementType(st.rows).isF32();
    for (int64_t which = 0; which < 2; ++which)
      vector::StoreOp::create(
          b, loc, widen ? toF32(b, loc, raw[which]) : raw[which], st.rows,
          ValueRange{buf, constIndex(b, loc, which), st.rowToken, st.n},
          /*nontemporal=*/false, vectorAlignment(st.rows, st.k));
    Value dst[] = {st.delta, st.u, st.z};
    for (size_t j = 2; j < raw.size(); ++j)
      vector::StoreOp::create(
          b, loc, raw[j], dst[j - 2], ValueRange{buf, st.chanToken, st.c},
          /*nontemporal=*/false, vectorAlignment(dst[j - 2], st.m));
  }

  /// The token of group g of a step that the lane owns, from the step's
  /// first: lane + g * lanes.
  Value ownedOffset(OpBuilder &b, Location loc, const Thread &th,
                    int64_t g) const {
    return arith::AddIOp::create(b, loc, th.lane,
                                 constIndex(b, loc, g * lanes));
  }

  /// What loadOwned reads for group g, from buffer `buf` of the staging
  /// memory.
  SmallVector<Value> stagedOwned(OpBuilder &b, Location loc, const Thread &th,
                                 Value buf, int64_t g) const {
    Value tok = ownedOffset(b, loc, th, g);
    SmallVector<Value> in;
    for (Value src : {th.stage.delta, th.stage.u, th.stage.z})
      if (src)
        in.push_back(memref::LoadOp::create(
            b, loc, src, ValueRange{buf, tok, th.stage.dLocal}));
    return in;
  }

  VectorType laneVecType(OpBuilder &b, const ScanOperands &ops) const {
    return VectorType::get({statesPerLane(ops)}, b.getF32Type());
  }

  /// What the tokens of the step from `t0` that this lane owns (one per
  /// group of `lanes`) read: delta, u and z, as stored. With `last`,
  /// indices past the row clamp to its last token; without, the step is
  /// inside the row.
  SmallVector<Value> loadOwned(OpBuilder &b, Location loc,
                               const ScanOperands &ops, const Thread &th,
                               Value t0, Value last) const {
    SmallVector<Value> in;
    for (int64_t g = 0; g < groupsPerStep; ++g) {
      Value t = clamp(
          b, loc, arith::AddIOp::create(b, loc, t0, ownedOffset(b, loc, th, g)),
          last);
      in.push_back(
          memref::LoadOp::create(b, loc, ops.delta, ValueRange{t, th.d}));
      in.push_back(memref::LoadOp::create(b, loc, ops.u, ValueRange{t, th.d}));
      if (ops.z)
        in.push_back(
            memref::LoadOp::create(b, loc, ops.z, ValueRange{t, th.d}));
    }
    return in;
  }

  /// The lane's slices of B and C for every token of the step from `t0`
  /// (clamped as in loadOwned).
  SmallVector<Value> loadRows(OpBuilder &b, Location loc,
                              const ScanOperands &ops, const Thread &th,
                              Value t0, Value last) const {
    SmallVector<Value> in;
    int64_t k = statesPerLane(ops);
    for (int64_t j = 0; j < stepTokens(); ++j) {
      Value t =
          clamp(b, loc,
                arith::AddIOp::create(b, loc, t0, constIndex(b, loc, j)), last);
      in.push_back(loadVector(b, loc, ops.bMat, {t, th.n0}, k));
      in.push_back(loadVector(b, loc, ops.cMat, {t, th.n0}, k));
    }
    return in;
  }

  static Value clamp(OpBuilder &b, Location loc, Value t, Value last) {
    return last ? arith::MinUIOp::create(b, loc, t, last).getResult() : t;
  }

  Value shuffle(OpBuilder &b, Location loc, Value v, Value offset,
                gpu::ShuffleMode mode) const {
    Value width =
        arith::ConstantIntOp::create(b, loc, b.getI32Type(), kWarpSize);
    return gpu::ShuffleOp::create(b, loc, v, offset, width, mode)
        .getShuffleResult();
  }

  /// The group's C . h partial sums (one per token, in every lane) summed
  /// over the lanes, token j's sum landing in lane j: recursive halving,
  /// each step keeping the half of the tokens whose index has the lane's bit
  /// and receiving the partner's values for them (lanes - 1 shuffles for
  /// the group, not lanes * log2(lanes)).
  Value sumToOwners(OpBuilder &b, Location loc, const Thread &th,
                    SmallVector<Value> partials) const {
    for (int64_t bit = lanes / 2; bit >= 1; bit /= 2) {
      Value upper = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::ne,
          arith::AndIOp::create(b, loc, th.lane, constIndex(b, loc, bit)),
          constIndex(b, loc, 0));
      Value offset = arith::ConstantIntOp::create(b, loc, b.getI32Type(), bit);
      int64_t half = partials.size() / 2;
      SmallVector<Value> kept;
      for (int64_t k = 0; k < half; ++k) {
        Value lo = partials[k], hi = partials[k + half];
        Value keep = arith::SelectOp::create(b, loc, upper, hi, lo);
        Value give = arith::SelectOp::create(b, loc, upper, lo, hi);
        kept.push_back(arith::AddFOp::create(
            b, loc, keep,
            shuffle(b, loc, give, offset, gpu::ShuffleMode::XOR)));
      }
      partials = std::move(kept);
    }
    return partials.front();
  }

  /// The lane's B and C of the step's token j, as f32 vectors.
  using RowsOf =
      function_ref<std::pair<Value, Value>(OpBuilder &, Location, int64_t)>;
  /// What the lane's owned token of group g reads (loadOwned's order).
  using OwnedOf =
      function_ref<SmallVector<Value>(OpBuilder &, Location, int64_t)>;

  /// The step's tokens from h, given where the owned tokens' inputs
  /// (`ownedOf`) and B and C (`rowsOf`) are; returns h after
  /// them and stores the outputs of the owned tokens. With `end`, tokens at
  /// or past it get dt = u = 0 (h stays as it is) and are not stored;
  /// without, the step is inside the row.
  Value computeStep(OpBuilder &b, Location loc, const ScanOperands &ops,
                    const ScanRow &row, const Thread &th, Value t0, Value end,
                    bool diagonal, OwnedOf ownedOf, RowsOf rowsOf,
                    Value h) const {
    // Each group of `lanes` tokens goes through three phases: the owned
    // token's dt, dt u and gate; the recurrence over the group's tokens;
    // the sums and the store of the owned token. The emitted order (which
    // ptxas largely keeps) decides what a phase's latency has beside it.
    struct Owned {
      Value t, live, dt, dtu, u, gate;
    };
    VectorType vt = laneVecType(b, ops);
    Value zeroF = constF32(b, loc, 0.0f);
    auto ownedPhase = [&](int64_t g) {
      SmallVector<Value> in = ownedOf(b, loc, g);
      Owned o;
      o.t = arith::AddIOp::create(b, loc, t0, ownedOffset(b, loc, th, g));
      // The owned token's dt and u; 0 past the row's end.
      o.dt = toF32(b, loc, in[0]);
      if (row.deltaBias)
        o.dt = arith::AddFOp::create(b, loc, o.dt, row.deltaBias);
      if (ops.softplus)
        o.dt = softplus(b, loc, o.dt);
      o.u = toF32(b, loc, in[1]);
      if (end) {
        o.live =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, o.t, end);
        o.dt = arith::SelectOp::create(b, loc, o.live, o.dt, zeroF);
        o.u = arith::SelectOp::create(b, loc, o.live, o.u, zeroF);
      }
      o.dtu = arith::MulFOp::create(b, loc, o.dt, o.u);
      if (ops.z)
        o.gate = silu(b, loc, toF32(b, loc, in[2]));
      return o;
    };
    // The recurrence over group g's tokens; their C . h partial sums.
    auto recurrence = [&](int64_t g, const Owned &o) {
      SmallVector<Value> partials;
      for (int64_t j = 0; j < lanes; ++j) {
        auto [bRow, cRow] = rowsOf(b, loc, g * lanes + j);
        Value src = arith::AddIOp::create(
            b, loc, th.groupI32,
            arith::ConstantIntOp::create(b, loc, b.getI32Type(), j));
        Value dtJ = shuffle(b, loc, o.dt, src, gpu::ShuffleMode::IDX);
        Value dtuJ = shuffle(b, loc, o.dtu, src, gpu::ShuffleMode::IDX);
        // h = exp2(dt A log2(e)) h + dt u B, as one FMA on h: the chain
        // from token to token is one operation deep.
        Value decay = math::Exp2Op::create(
            b, loc,
            arith::MulFOp::create(b, loc,
                                  vector::BroadcastOp::create(b, loc, vt, dtJ),
                                  row.aLog2e));
        h = math::FmaOp::create(
            b, loc, decay, h,
            arith::MulFOp::create(
                b, loc, vector::BroadcastOp::create(b, loc, vt, dtuJ), bRow));
        partials.push_back(vector::ReductionOp::create(
            b, loc, vector::CombiningKind::ADD,
            arith::MulFOp::create(b, loc, cRow, h)));
      }
      return partials;
    };
    auto sumAndStore = [&](const Owned &o, SmallVector<Value> partials) {
      Value y = sumToOwners(b, loc, th, std::move(partials));
      y = arith::AddFOp::create(b, loc, y,
                                arith::MulFOp::create(b, loc, row.skip, o.u));
      if (o.gate)
        y = arith::MulFOp::create(b, loc, y, o.gate);
      if (!o.live) {
        storeF32(b, loc, y, ops.out, {o.t, th.d});
        return;
      }
      scf::IfOp::create(b, loc, o.live, [&](OpBuilder &b, Location loc) {
        storeF32(b, loc, y, ops.out, {o.t, th.d});
        scf::YieldOp::create(b, loc);
      });
    };
    SmallVector<Owned> owned;
    SmallVector<SmallVector<Value>> partials;
    if (!diagonal) {
      // Each phase over the whole step: the long chains of one (softplus,
      // the reductions' shuffles) have the other groups' beside them.
      for (int64_t g = 0; g < groupsPerStep; ++g)
        owned.push_back(ownedPhase(g));
      for (int64_t g = 0; g < groupsPerStep; ++g)
        partials.push_back(recurrence(g, owned[g]));
      for (int64_t g = 0; g < groupsPerStep; ++g)
        sumAndStore(owned[g], partials[g]);
      return h;
    }
    // Diagonally: group g + 1's dt (FMA-pipe work) and group g - 1's sums
    // (shuffles) beside group g's exponentials, which keeps the exp2 unit
    // busy through the step, not only in its middle, where a scheduler has
    // a single warp to switch to (see diagonalRows).
    owned.push_back(ownedPhase(0));
    for (int64_t g = 0; g < groupsPerStep; ++g) {
      if (g + 1 < groupsPerStep)
        owned.push_back(ownedPhase(g + 1));
      partials.push_back(recurrence(g, owned[g]));
      if (g > 0)
        sumAndStore(owned[g - 1], partials[g - 1]);
    }
    sumAndStore(owned.back(), partials.back());
    return h;
  }

  /// The lane's B and C of token j of the step in buffer `buf` of the
  /// staging memory.
  std::pair<Value, Value> stagedRows(OpBuilder &b, Location loc,
                                     const ScanOperands &ops, const Thread &th,
                                     Value buf, int64_t j) const {
    auto at = [&](int64_t which) -> Value {
      int64_t k = statesPerLane(ops);
      return toF32(b, loc,
                   vector::LoadOp::create(
                       b, loc, VectorType::get({k}, elementType(th.stage.rows)),
                       th.stage.rows,
                       ValueRange{buf, constIndex(b, loc, which),
                                  constIndex(b, loc, j), th.n0},
                       /*nontemporal=*/false,
                       vectorAlignment(th.stage.rows, k)));
    };
    return {at(0), at(1)};
  }

  /// Steps [from, to) of the row in a loop; each iteration first issues
  /// the next step's loads, to be in flight while this step computes.
  /// Staged, the loop carries h and the buffer that holds this step's
  /// inputs; the next step's go to the other buffer after this step's
  /// arithmetic, and a barrier ends the step. Not staged, it carries h and
  /// the step's loadOwned and loadRows values. With `last`/`end` the steps
  /// may reach past the row (clamped loads, masked tokens); without, every
  /// step they touch is inside it.
  ValueRange emitSteps(OpBuilder &b, Location loc, const ScanOperands &ops,
                       const ScanRow &row, const Thread &th, Value from,
                       Value to, Value last, Value end, bool diagonal,
                       ValueRange carried) const {
    Value step = constIndex(b, loc, stepTokens());
    auto loop = scf::ForOp::create(
        b, loc, from, to, step, carried,
        [&](OpBuilder &b, Location loc, Value t0, ValueRange c) {
          Value next = arith::AddIOp::create(b, loc, t0, step);
          if (th.stage.k == 0) {
            size_t perGroup = ownedPerGroup(ops);
            ValueRange owned = c.slice(1, groupsPerStep * perGroup);
            ValueRange rows = c.drop_front(1 + owned.size());
            SmallVector<Value> yield = {Value()};
            llvm::append_range(yield, loadOwned(b, loc, ops, th, next, last));
            llvm::append_range(yield, loadRows(b, loc, ops, th, next, last));
            yield[0] = computeStep(
                b, loc, ops, row, th, t0, end, diagonal,
                [&](OpBuilder &, Location, int64_t g) {
                  return SmallVector<Value>(
                      owned.slice(g * perGroup, perGroup));
                },
                [&](OpBuilder &b, Location loc, int64_t j) {
                  return std::make_pair(toF32(b, loc, rows[2 * j]),
                                        toF32(b, loc, rows[2 * j + 1]));
                },
                c[0]);
            scf::YieldOp::create(b, loc, yield);
            return;
          }
          Value buf = c[1];
          Value nextBuf =
              arith::SubIOp::create(b, loc, constIndex(b, loc, 1), buf);
          // The loads of step t0 + prefetchSteps * S; with 2, the next
          // step's were issued one step ago and are carried.
          Value ahead = prefetchSteps == 1
                            ? next
                            : arith::AddIOp::create(b, loc, next, step);
          SmallVector<Value> raw =
              loadStage(b, loc, ops, th.stage, ahead, last);
          Value h = computeStep(
              b, loc, ops, row, th, t0, end, diagonal,
              [&](OpBuilder &b, Location loc, int64_t g) {
                return stagedOwned(b, loc, th, buf, g);
              },
              [&](OpBuilder &b, Location loc, int64_t j) {
                return stagedRows(b, loc, ops, th, buf, j);
              },
              c[0]);
          SmallVector<Value> yield = {h, nextBuf};
          if (prefetchSteps == 1) {
            storeStage(b, loc, th.stage, nextBuf, raw);
          } else {
            storeStage(b, loc, th.stage, nextBuf, c.drop_front(2));
            llvm::append_range(yield, raw);
          }
          gpu::BarrierOp::create(b, loc);
          scf::YieldOp::create(b, loc, yield);
        });
    return loop.getResults();
  }

  int64_t ownedPerGroup(const ScanOperands &ops) const { return ops.z ? 3 : 2; }

  void emitLiveRow(OpBuilder &b, Location loc, const ScanOperands &ops,
                   const RowInfo &info, Thread th, bool diagonal) const {
    int64_t k = statesPerLane(ops);
    th.n0 = arith::MulIOp::create(b, loc, th.lane, constIndex(b, loc, k));
    ScanRow row =
        ScanRow::load(b, loc, ops, th.d, th.n0, /*log2eOnDt=*/false, k);
    Value hInit = loadInitialState(b, loc, ops, info, th.d, th.n0, k);
    // A row without tokens keeps its state; there is nothing to load.
    Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                      info.begin, info.end);
    Value h =
        scf::IfOp::create(
            b, loc, any,
            [&](OpBuilder &b, Location loc) {
              Value last = arith::SubIOp::create(b, loc, info.end,
                                                 constIndex(b, loc, 1));
              Value step = constIndex(b, loc, stepTokens());
              SmallVector<Value> init = {hInit};
              if (th.stage.k > 0) {
                // The first step's inputs into buffer 0.
                Value buf = constIndex(b, loc, 0);
                SmallVector<Value> first =
                    loadStage(b, loc, ops, th.stage, info.begin, last);
                SmallVector<Value> second;
                if (prefetchSteps == 2)
                  second = loadStage(
                      b, loc, ops, th.stage,
                      arith::AddIOp::create(b, loc, info.begin, step), last);
                storeStage(b, loc, th.stage, buf, first);
                gpu::BarrierOp::create(b, loc);
                init.push_back(buf);
                llvm::append_range(init, second);
              } else {
                llvm::append_range(
                    init, loadOwned(b, loc, ops, th, info.begin, last));
                llvm::append_range(init,
                                   loadRows(b, loc, ops, th, info.begin, last));
              }
              // Steps whose loads ahead (P = 1 step, or prefetchSteps when
              // staged) are inside the row need no clamps or masks:
              // [begin, mainEnd), mainEnd = begin + (len - P S rounded down
              // to a multiple of S), begin when len < P S. The rest, at
              // most P + 1 steps, clamp and mask.
              int64_t aheadSteps = th.stage.k > 0 ? prefetchSteps : 1;
              Value aheadTokens = constIndex(b, loc, aheadSteps * stepTokens());
              Value len = arith::SubIOp::create(b, loc, info.end, info.begin);
              Value room = arith::SelectOp::create(
                  b, loc,
                  arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, len,
                                        aheadTokens),
                  arith::SubIOp::create(b, loc, len, aheadTokens),
                  constIndex(b, loc, 0));
              Value mainEnd = arith::AddIOp::create(
                  b, loc, info.begin,
                  arith::MulIOp::create(
                      b, loc, arith::DivUIOp::create(b, loc, room, step),
                      step));
              ValueRange main =
                  emitSteps(b, loc, ops, row, th, info.begin, mainEnd, Value(),
                            Value(), diagonal, init);
              ValueRange tail =
                  emitSteps(b, loc, ops, row, th, mainEnd, info.end, last,
                            info.end, diagonal, main);
              scf::YieldOp::create(b, loc, tail.front());
            },
            [&](OpBuilder &b, Location loc) {
              scf::YieldOp::create(b, loc, hInit);
            })
            .getResult(0);
    storeFinalState(b, loc, ops, h, info.dstSlot, th.d, th.n0);
  }

  int64_t lanes, groupsPerStep;
  bool channelMajor;
  int64_t blockThreads;
  /// Staged B and C widened to f32 once per block (true), or kept as stored
  /// and widened by each lane that reads them: half the shared-memory bytes
  /// per read for 16-bit B and C, at one widening per state and token.
  bool stageRowsF32;
  /// Staged owned rows padded against bank conflicts (ownedRowPad).
  bool padOwnedRows;
  /// Staged: how many steps ahead a step's global loads are issued (1 or
  /// 2; with 2 they wait a whole step in registers before their stores).
  int64_t prefetchSteps;
  bool longestFirst;
  /// Up to this many prefill rows, a step's groups go through their
  /// phases diagonally (computeStep), past it phase by phase; 0: always
  /// phase by phase. Few rows give each SM few blocks of the scan, and
  /// each scheduler one warp or two, which needs the diagonal order's
  /// independent work beside each exponential; many rows give it warps to
  /// switch to, and the phase order does better there (H200, lanes 2: P1,
  /// one row, 496 us diagonal against 541; P2, 29 rows, 276 against 303;
  /// L-mix 903 against 930).
  int64_t diagonalRows;
};

} // namespace

void mlir::hssm::populateLaneScanToLoopsPatterns(
    RewritePatternSet &patterns, const LaneScanOptions &options) {
  patterns.add<LaneScanToLoops>(patterns.getContext(), options);
}
