//===- LowerToLoops.cpp - The hssm-lower-to-loops pass --------------------===//
//
// Assembles the per-family loop lowerings; each lives in its own file.
//
//===----------------------------------------------------------------------===//

#include "hssm/Dialect/HSSM/HSSMDialect.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::hssm {
#define GEN_PASS_DEF_HSSMLOWERTOLOOPS
#include "hssm/Transforms/Passes.h.inc"
} // namespace mlir::hssm

using namespace mlir;
using namespace mlir::hssm;

namespace {

struct HSSMLowerToLoopsPass
    : public hssm::impl::HSSMLowerToLoopsBase<HSSMLowerToLoopsPass> {
  using HSSMLowerToLoopsBase::HSSMLowerToLoopsBase;
  void runOnOperation() override {
    // Kernels read the batch's buffers, so the batch must be built in the
    // function that is lowered, not passed in.
    WalkResult batchArg = getOperation()->walk([&](Block *block) {
      for (BlockArgument arg : block->getArguments()) {
        if (!isa<BatchType>(arg.getType()))
          continue;
        emitError(arg.getLoc())
            << "an !hssm.batch block argument cannot be lowered: build the "
               "batch with hssm.batch from its buffers in the same function";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (batchArg.wasInterrupted())
      return signalPassFailure();
    // The float ops that were there before: fast-math leaves them alone.
    llvm::DenseSet<Operation *> before;
    if (fastMath)
      getOperation()->walk([&](arith::ArithFastMathInterface op) {
        before.insert(op);
      });
    RewritePatternSet patterns(&getContext());
    populateConvToLoopsPatterns(
        patterns, convChannels, channelMajor,
        decodeConvChannels > 0 ? decodeConvChannels : convChannels,
        decodeConvRows, decodeConvBlockThreads);
    DecodeScanOptions decode;
    decode.rows = decodeScanRows;
    decode.channelMajor = channelMajor;
    decode.blockThreads = decodeScanBlockThreads;
    decode.blockBytes = decodeScanBlockBytes;
    decode.shuffleStatesBytes = decodeScanShuffleStates;
    decode.smallBatch = decodeScanSmallBatch;
    decode.prefetchBeforeWait = decodeScanPrefetchBeforeWait;
    populateScanToLoopsPatterns(patterns, decode);
    if (convChunk > 0)
      populateChunkedConvToLoopsPatterns(patterns, convChunk, convChannels,
                                         channelMajor, convTokensPerStep,
                                         convBlockThreads);
    if (scanChunk > 0)
      populateChunkedScanToLoopsPatterns(patterns, scanChunk, deviceAlloc,
                                         channelMajor, scanTokensPerStep);
    if (scanLanes > 0) {
      LaneScanOptions lane;
      lane.lanes = scanLanes;
      lane.tokensPerStep = laneScanTokensPerStep;
      lane.channelMajor = channelMajor;
      lane.blockThreads = laneScanBlockThreads;
      lane.stageRowsF32 = laneScanStageF32;
      lane.padOwnedRows = laneScanPadOwned;
      lane.prefetchSteps = laneScanPrefetchSteps;
      lane.longestFirst = laneScanLongestFirst;
      lane.diagonalRows = laneScanDiagonalRows;
      populateLaneScanToLoopsPatterns(patterns, lane);
    }
    populateElementwiseToLoopsPatterns(patterns);
    if (!keepLinear)
      populateLinearToLoopsPatterns(patterns);
    walkAndApplyPatterns(getOperation(), std::move(patterns));

    // Every primitive must be gone (a pattern that failed left a diagnostic);
    // hssm.batch ops die with their last user.
    WalkResult left = getOperation()->walk([&](Operation *op) {
      if (!isa<HSSMDialect>(op->getDialect()) || isa<BatchOp>(op) ||
          (keepLinear && isa<LinearOp>(op)))
        return WalkResult::advance();
      op->emitOpError("was not lowered to loops");
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      return signalPassFailure();
    getOperation()->walk([](BatchOp op) {
      if (op->use_empty())
        op->erase();
    });
    if (fastMath)
      markFastMath(before);
  }

  /// Per SPEC.md, arithmetic is fp32 with no prescribed rounding order; FMAs
  /// halve the scan's instruction count on the GPU, where kernels are
  /// issue-bound. Only exp and divf (silu, softplus) are made approximate.
  void markFastMath(const llvm::DenseSet<Operation *> &before) {
    getOperation()->walk([&](arith::ArithFastMathInterface op) {
      if (before.contains(op))
        return;
      arith::FastMathFlagsAttr old = op.getFastMathFlagsAttr();
      arith::FastMathFlags flags =
          (old ? old.getValue() : arith::FastMathFlags::none) |
          arith::FastMathFlags::contract;
      if (isa<math::ExpOp, arith::DivFOp>(op))
        flags = flags | arith::FastMathFlags::afn;
      op->setAttr(op.getFastMathAttrName(),
                  arith::FastMathFlagsAttr::get(op->getContext(), flags));
    });
  }
};

} // namespace
