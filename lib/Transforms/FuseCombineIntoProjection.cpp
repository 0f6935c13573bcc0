//===- FuseCombineIntoProjection.cpp - swa + out_proj(y) in one GEMM ------===//
//
//   %s = alloc                          // the branch's output
//   hssm.linear x(%y) weight(%w) out(%s)
//   (deallocs of other temporaries)
//   hssm.combine swa(%a) ssm(%s) out(%o)
// becomes
//   memref.copy %a, %o                  // only when %o is not %a
//   hssm.linear x(%y) weight(%w) out(%o) {accumulate}
//
//===----------------------------------------------------------------------===//

#include "hssm/Dialect/HSSM/HSSMDialect.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hssm {
#define GEN_PASS_DEF_HSSMFUSECOMBINEINTOPROJECTION
#include "hssm/Transforms/Passes.h.inc"
} // namespace mlir::hssm

using namespace mlir;
using namespace mlir::hssm;

namespace {

bool isDealloc(Operation *op) {
  return isa<memref::DeallocOp, gpu::DeallocOp>(op);
}

struct FuseCombineIntoProjection : OpRewritePattern<CombineOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CombineOp combine,
                                PatternRewriter &rewriter) const override {
    Value ssm = combine.getSsm();
    Operation *alloc = ssm.getDefiningOp();
    if (!alloc || !isa<memref::AllocOp, gpu::AllocOp>(alloc))
      return rewriter.notifyMatchFailure(combine, "ssm is not a local buffer");
    LinearOp linear;
    for (Operation *user : ssm.getUsers()) {
      if (user == combine || isDealloc(user))
        continue;
      auto candidate = dyn_cast<LinearOp>(user);
      if (!candidate || candidate.getOut() != ssm || linear)
        return rewriter.notifyMatchFailure(combine,
                                           "ssm has another reader or writer");
      linear = candidate;
    }
    if (!linear || linear.getAccumulate() ||
        linear->getBlock() != combine->getBlock() ||
        !linear->isBeforeInBlock(combine))
      return rewriter.notifyMatchFailure(combine, "no plain linear before");
    // Only deallocations between them: nothing else may see `out` early.
    for (Operation *op = linear->getNextNode(); op != combine;
         op = op->getNextNode())
      if (!isDealloc(op))
        return rewriter.notifyMatchFailure(combine, "work in between");
    Value swa = combine.getSwa(), out = combine.getOut();
    // memref.copy cannot convert element types.
    if (swa != out && cast<MemRefType>(swa.getType()).getElementType() !=
                          cast<MemRefType>(out.getType()).getElementType())
      return rewriter.notifyMatchFailure(combine, "swa and out types differ");
    if (linear.getX() == out || linear.getWeight() == out ||
        linear.getBias() == out)
      return rewriter.notifyMatchFailure(combine, "out is a GEMM input");

    rewriter.setInsertionPoint(linear);
    if (swa != out)
      memref::CopyOp::create(rewriter, combine.getLoc(), swa, out);
    rewriter.modifyOpInPlace(linear, [&] {
      linear.getOutMutable().assign(out);
      linear.setAccumulate(true);
    });
    rewriter.eraseOp(combine);
    // The temporary is dead: only its deallocation is left.
    if (llvm::all_of(ssm.getUsers(), isDealloc)) {
      for (Operation *user : llvm::make_early_inc_range(ssm.getUsers()))
        rewriter.eraseOp(user);
      rewriter.eraseOp(alloc);
    }
    return success();
  }
};

struct HSSMFuseCombineIntoProjectionPass
    : public hssm::impl::HSSMFuseCombineIntoProjectionBase<
          HSSMFuseCombineIntoProjectionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseCombineIntoProjection>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
