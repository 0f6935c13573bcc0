//===- TileParallelLoops.cpp - per-loop tiles of scf.parallel -------------===//
//
// The GPU block of a kernel is the tile of its scf.parallel loop. One tile
// for every loop of a function (upstream's scf-parallel-loop-tiling) makes
// one kernel's best block everyone's; a lowering names its own tile on the
// loop instead (hssm.tile_sizes). See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "LoopUtils.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"

namespace mlir::hssm {
#define GEN_PASS_DEF_HSSMTILEPARALLELLOOPS
#include "hssm/Transforms/Passes.h.inc"
} // namespace mlir::hssm

using namespace mlir;

namespace {

struct HSSMTileParallelLoopsPass
    : public hssm::impl::HSSMTileParallelLoopsBase<HSSMTileParallelLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<scf::ParallelOp, 2> loops;
    getInnermostParallelLoops(getOperation(), loops);
    for (scf::ParallelOp loop : loops) {
      SmallVector<int64_t> sizes(tileSizes.begin(), tileSizes.end());
      if (auto own = loop->getAttrOfType<DenseI64ArrayAttr>(
              hssm::kTileSizesAttr)) {
        if (own.size() != loop.getNumLoops() ||
            llvm::any_of(own.asArrayRef(), [](int64_t s) { return s <= 0; })) {
          loop.emitOpError("hssm.tile_sizes needs one positive size per "
                           "dimension (")
              << loop.getNumLoops() << "), got " << own;
          return signalPassFailure();
        }
        sizes.assign(own.asArrayRef().begin(), own.asArrayRef().end());
        loop->removeAttr(hssm::kTileSizesAttr);
      }
      if (loop.getNumReductions() != 0 || sizes.empty())
        continue;
      scf::tileParallelLoop(loop, sizes, noMinMaxBounds);
    }
  }
};

} // namespace
