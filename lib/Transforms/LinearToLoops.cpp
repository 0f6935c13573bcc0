//===- LinearToLoops.cpp - hssm.linear to loops ---------------------------===//
//
// The CPU form of a projection: one parallel iteration per output element,
// an fp32 dot product over K. The reduction may be reassociated, which lets
// LLVM vectorize it; fp32 accumulation keeps SPEC.md's tolerance.
//
//===----------------------------------------------------------------------===//

#include "LoopUtils.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::hssm;

namespace {

struct LinearToLoops : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getX(), w = op.getWeight(), bias = op.getBias();
    Value out = op.getOut();
    Value zeroIdx = constIndex(rewriter, loc, 0);
    Value one = constIndex(rewriter, loc, 1);
    Value tokens = dimValue(rewriter, loc, x, 0);
    Value rows = dimValue(rewriter, loc, w, 0);
    Value depth = dimValue(rewriter, loc, w, 1);
    auto fm = arith::FastMathFlagsAttr::get(
        rewriter.getContext(),
        arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);

    scf::ParallelOp::create(
        rewriter, loc, ValueRange{zeroIdx, zeroIdx}, ValueRange{tokens, rows},
        ValueRange{one, one}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value t = ivs[0], m = ivs[1];
          Value init = bias ? loadF32(b, loc, bias, {m}) : constF32(b, loc, 0);
          if (op.getAccumulate())
            init = arith::AddFOp::create(b, loc, init,
                                         loadF32(b, loc, out, {t, m}));
          auto dot = scf::ForOp::create(
              b, loc, zeroIdx, depth, one, ValueRange{init},
              [&](OpBuilder &b, Location loc, Value k, ValueRange acc) {
                Value p = arith::MulFOp::create(
                    b, loc, loadF32(b, loc, x, {t, k}),
                    loadF32(b, loc, w, {m, k}), fm);
                scf::YieldOp::create(
                    b, loc,
                    Value(arith::AddFOp::create(b, loc, acc[0], p, fm)));
              });
          storeF32(b, loc, dot.getResult(0), out, {t, m});
        });
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::hssm::populateLinearToLoopsPatterns(RewritePatternSet &patterns) {
  patterns.add<LinearToLoops>(patterns.getContext());
}
