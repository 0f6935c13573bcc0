//===- KernelOccupancy.cpp - launch bounds for outlined kernels ----------===//
//
// ptxas gives a kernel as many registers as it likes unless the kernel says
// how many threads a block has and how many blocks an SM should hold
// (.maxntid, .minnctapersm). A latency-bound kernel wants more warps in
// flight than its unconstrained register count lets an SM hold. See
// Passes.td.
//
//===----------------------------------------------------------------------===//

#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir::hssm {
#define GEN_PASS_DEF_HSSMKERNELOCCUPANCY
#include "hssm/Transforms/Passes.h.inc"
} // namespace mlir::hssm

using namespace mlir;

namespace {

struct HSSMKernelOccupancyPass
    : public hssm::impl::HSSMKernelOccupancyBase<HSSMKernelOccupancyPass> {
  using Base::Base;
  void runOnOperation() override {
    if (minBlocksPerSm <= 0)
      return;
    if (blockThreads <= 0) {
      getOperation()->emitError("hssm-kernel-occupancy: block-threads must "
                                "be positive with min-blocks-per-sm, got ")
          << int64_t(blockThreads);
      return signalPassFailure();
    }
    Builder b(&getContext());
    getOperation()->walk([&](gpu::GPUFuncOp func) {
      if (!func.isKernel())
        return;
      func->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
                    b.getDenseI32ArrayAttr({int32_t(blockThreads), 1, 1}));
      func->setAttr(NVVM::NVVMDialect::getMinctasmAttrName(),
                    b.getI32IntegerAttr(int32_t(minBlocksPerSm)));
    });
  }
};

} // namespace
