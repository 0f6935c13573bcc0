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
#include "llvm/Support/MathExtras.h"


using namespace mlir;
using namespace mlir::hssm;

namespace {

constexpr int64_t kWarpSize = 32;

struct LaneScanToLoops : OpRewritePattern<SelectiveScanOp> {
  LaneScanToLoops(MLIRContext *ctx, int64_t lanes, int64_t tokensPerStep,
                  bool channelMajor)
      : OpRewritePattern(ctx, /*benefit=*/3), lanes(lanes),
        groupsPerStep(std::max<int64_t>(1, (tokensPerStep + lanes - 1) / lanes)),
        channelMajor(channelMajor) {}

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
    forRowsAndChannels(
        b, loc, batch->numDecodes, batch->numReqs,
        constIndex(b, loc, d * lanes), channelMajor,
        [&](OpBuilder &b, Location loc, Value row, Value i) {
          Thread th = Thread::of(b, loc, i, lanes);
          RowInfo info = loadRow(b, loc, *batch, row, op.getPadSlotId(),
                                 /*alwaysRead=*/false);
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
                emitLiveRow(b, loc, ops, info, th);
                scf::YieldOp::create(b, loc);
              });
        });
    rewriter.eraseOp(op);
    return success();
  }

private:
  /// Where an iteration i of the (channel, lane) dimension sits.
  struct Thread {
    Value d;        ///< channel: i / lanes
    Value lane;     ///< i % lanes (index)
    Value n0;       ///< first state of the lane: lane * N / lanes
    Value groupI32; ///< the warp lane of the channel's lane 0, as i32
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

  int64_t statesPerLane(const ScanOperands &ops) const {
    return ops.n / lanes;
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
      Value t = clamp(b, loc,
                      arith::AddIOp::create(
                          b, loc, t0,
                          arith::AddIOp::create(
                              b, loc, th.lane, constIndex(b, loc, g * lanes))),
                      last);
      in.push_back(memref::LoadOp::create(b, loc, ops.delta, ValueRange{t, th.d}));
      in.push_back(memref::LoadOp::create(b, loc, ops.u, ValueRange{t, th.d}));
      if (ops.z)
        in.push_back(memref::LoadOp::create(b, loc, ops.z, ValueRange{t, th.d}));
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
    for (int64_t j = 0; j < groupsPerStep * lanes; ++j) {
      Value t = clamp(
          b, loc, arith::AddIOp::create(b, loc, t0, constIndex(b, loc, j)),
          last);
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
    Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(),
                                               kWarpSize);
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
      Value offset =
          arith::ConstantIntOp::create(b, loc, b.getI32Type(), bit);
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

  /// The step's tokens from h, given what loadOwned and loadRows read
  /// (`owned`, `rows`); returns h after
  /// them and stores the outputs of the owned tokens. With `end`, tokens at
  /// or past it get dt = u = 0 (h stays as it is) and are not stored;
  /// without, the step is inside the row.
  Value computeStep(OpBuilder &b, Location loc, const ScanOperands &ops,
                    const ScanRow &row, const Thread &th, Value t0, Value end,
                    ValueRange owned, ValueRange rows, Value h) const {
    VectorType vt = laneVecType(b, ops);
    int64_t perGroup = ownedPerGroup(ops);
    Value zeroF = constF32(b, loc, 0.0f);
    for (int64_t g = 0; g < groupsPerStep; ++g) {
      ValueRange own = owned.slice(g * perGroup, perGroup);
      Value t = arith::AddIOp::create(
          b, loc, t0,
          arith::AddIOp::create(b, loc, th.lane,
                                constIndex(b, loc, g * lanes)));
      // The owned token's dt and u; 0 past the row's end.
      Value dt = toF32(b, loc, own[0]);
      if (row.deltaBias)
        dt = arith::AddFOp::create(b, loc, dt, row.deltaBias);
      if (ops.softplus)
        dt = softplus(b, loc, dt);
      Value u = toF32(b, loc, own[1]);
      Value live;
      if (end) {
        live =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, t, end);
        dt = arith::SelectOp::create(b, loc, live, dt, zeroF);
        u = arith::SelectOp::create(b, loc, live, u, zeroF);
      }
      Value dtu = arith::MulFOp::create(b, loc, dt, u);
      SmallVector<Value> partials;
      for (int64_t j = 0; j < lanes; ++j) {
        ValueRange bc = rows.slice(2 * (g * lanes + j), 2);
        Value src = arith::AddIOp::create(
            b, loc, th.groupI32,
            arith::ConstantIntOp::create(b, loc, b.getI32Type(), j));
        Value dtJ = shuffle(b, loc, dt, src, gpu::ShuffleMode::IDX);
        Value dtuJ = shuffle(b, loc, dtu, src, gpu::ShuffleMode::IDX);
        // h = exp2(dt A log2(e)) h + dt u B
        Value decay = math::Exp2Op::create(
            b, loc,
            arith::MulFOp::create(
                b, loc, vector::BroadcastOp::create(b, loc, vt, dtJ),
                row.aLog2e));
        h = arith::AddFOp::create(
            b, loc, arith::MulFOp::create(b, loc, decay, h),
            arith::MulFOp::create(
                b, loc, vector::BroadcastOp::create(b, loc, vt, dtuJ),
                toF32(b, loc, bc[0])));
        partials.push_back(vector::ReductionOp::create(
            b, loc, vector::CombiningKind::ADD,
            arith::MulFOp::create(b, loc, toF32(b, loc, bc[1]), h)));
      }
      Value y = sumToOwners(b, loc, th, partials);
      y = arith::AddFOp::create(b, loc, y,
                                arith::MulFOp::create(b, loc, row.skip, u));
      if (ops.z)
        y = arith::MulFOp::create(b, loc, y, silu(b, loc, toF32(b, loc, own[2])));
      if (!live) {
        storeF32(b, loc, y, ops.out, {t, th.d});
        continue;
      }
      scf::IfOp::create(b, loc, live, [&](OpBuilder &b, Location loc) {
        storeF32(b, loc, y, ops.out, {t, th.d});
        scf::YieldOp::create(b, loc);
      });
    }
    return h;
  }

  /// Steps [from, to) of the row in a loop carrying h and the step's loads
  /// (loadOwned, then loadRows): each iteration first issues the next
  /// step's loads, to be in flight while this step computes. With
  /// `last`/`end` the steps may reach past the row (clamped loads, masked
  /// tokens); without, every step they touch is inside it.
  ValueRange emitSteps(OpBuilder &b, Location loc, const ScanOperands &ops,
                       const ScanRow &row, const Thread &th, Value from,
                       Value to, Value last, Value end,
                       ValueRange carried) const {
    Value step = constIndex(b, loc, groupsPerStep * lanes);
    size_t ownedSize = groupsPerStep * ownedPerGroup(ops);
    auto loop = scf::ForOp::create(
        b, loc, from, to, step, carried,
        [&](OpBuilder &b, Location loc, Value t0, ValueRange c) {
          Value next = arith::AddIOp::create(b, loc, t0, step);
          SmallVector<Value> yield = {Value()};
          llvm::append_range(yield, loadOwned(b, loc, ops, th, next, last));
          llvm::append_range(yield, loadRows(b, loc, ops, th, next, last));
          yield[0] = computeStep(b, loc, ops, row, th, t0, end,
                                 c.slice(1, ownedSize),
                                 c.drop_front(1 + ownedSize), c[0]);
          scf::YieldOp::create(b, loc, yield);
        });
    return loop.getResults();
  }

  int64_t ownedPerGroup(const ScanOperands &ops) const {
    return ops.z ? 3 : 2;
  }

  void emitLiveRow(OpBuilder &b, Location loc, const ScanOperands &ops,
                   const RowInfo &info, Thread th) const {
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
              Value step = constIndex(b, loc, groupsPerStep * lanes);
              SmallVector<Value> init = {hInit};
              llvm::append_range(
                  init, loadOwned(b, loc, ops, th, info.begin, last));
              llvm::append_range(init,
                                 loadRows(b, loc, ops, th, info.begin, last));
              // Steps whose next step is inside the row need no clamps or
              // masks: [begin, mainEnd), mainEnd = begin + (len - S rounded
              // down to a multiple of S), begin when len < S. The rest, at
              // most two steps, clamp and mask.
              Value len = arith::SubIOp::create(b, loc, info.end, info.begin);
              Value room = arith::SelectOp::create(
                  b, loc,
                  arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, len,
                                        step),
                  arith::SubIOp::create(b, loc, len, step),
                  constIndex(b, loc, 0));
              Value mainEnd = arith::AddIOp::create(
                  b, loc, info.begin,
                  arith::MulIOp::create(
                      b, loc, arith::DivUIOp::create(b, loc, room, step),
                      step));
              ValueRange main = emitSteps(b, loc, ops, row, th, info.begin,
                                          mainEnd, Value(), Value(), init);
              ValueRange tail = emitSteps(b, loc, ops, row, th, mainEnd,
                                          info.end, last, info.end, main);
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
};

} // namespace

void mlir::hssm::populateLaneScanToLoopsPatterns(RewritePatternSet &patterns,
                                                 int64_t lanes,
                                                 int64_t tokensPerStep,
                                                 bool channelMajor) {
  patterns.add<LaneScanToLoops>(patterns.getContext(), lanes, tokensPerStep,
                                channelMajor);
}
