//===- ConvToLoops.cpp - hssm.conv1d / hssm.conv_update to loops ----------===//
//
// One parallel iteration per (row, channel); the W-1 older inputs travel as
// loop-carried values through the row's tokens, so every input is read once
// and the final window is exactly what the conv state must hold.
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
  using OpRewritePattern<ConvOp>::OpRewritePattern;
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
    Value channels = dimValue(rewriter, loc, weight, 0);
    Value zeroIdx = constIndex(rewriter, loc, 0);
    Value one = constIndex(rewriter, loc, 1);

    scf::ParallelOp::create(
        rewriter, loc, ValueRange{rowBegin, zeroIdx},
        ValueRange{rowEnd, channels}, ValueRange{one, one},
        [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value row = ivs[0], d = ivs[1];
          RowInfo info = loadRow(b, loc, *batch, row, padSlot, isDecode);
          scf::IfOp::create(
              b, loc, info.isPad,
              [&](OpBuilder &b, Location loc) {
                zeroColumn(b, loc, out, info.begin, info.end, d);
                scf::YieldOp::create(b, loc);
              },
              [&](OpBuilder &b, Location loc) {
                emitLiveRow(b, loc, info, d, width, x, weight, bias, state,
                            out, applySilu);
                scf::YieldOp::create(b, loc);
              });
        });
    rewriter.eraseOp(op);
    return success();
  }

  static void emitLiveRow(OpBuilder &b, Location loc, const RowInfo &info,
                          Value d, int64_t width, Value x, Value weight,
                          Value bias, Value state, Value out, bool applySilu) {
    Value zeroF = constF32(b, loc, 0.0f);
    // The window of the W-1 inputs before the row's first token, oldest
    // first: from the slot when the row has an initial state, else zeros.
    SmallVector<Value> window;
    for (int64_t k = 0; k < width - 1; ++k) {
      auto read = scf::IfOp::create(
          b, loc, info.readsState,
          [&](OpBuilder &b, Location loc) {
            Value v = loadF32(b, loc, state,
                              {info.srcSlot, constIndex(b, loc, k), d});
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
      storeF32(b, loc, last[k], state,
               {info.dstSlot, constIndex(b, loc, k), d});
  }
};

} // namespace

void mlir::hssm::populateConvToLoopsPatterns(RewritePatternSet &patterns) {
  patterns.add<ConvToLoops<Conv1dOp>, ConvToLoops<ConvUpdateOp>>(
      patterns.getContext());
}
