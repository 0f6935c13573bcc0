//===- LibdeviceFtz.cpp - libdevice's flush-to-zero paths -----------------===//
//
// libdevice picks between IEEE and flush-to-zero code with
// __nvvm_reflect("__CUDA_FTZ"), which reads the module flag
// nvvm-reflect-ftz; MLIR's GPU lowering does not set it. See Passes.td for
// why the scan wants it and why the functions' own denormal mode stays IEEE.
//
//===----------------------------------------------------------------------===//

#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::hssm {
#define GEN_PASS_DEF_HSSMLIBDEVICEFTZ
#include "hssm/Transforms/Passes.h.inc"
} // namespace mlir::hssm

using namespace mlir;

namespace {

struct HSSMLibdeviceFtzPass
    : public hssm::impl::HSSMLibdeviceFtzBase<HSSMLibdeviceFtzPass> {
  void runOnOperation() override {
    // The flag goes in the module that becomes one llvm::Module (a
    // gpu.module), unless it has flags already.
    Operation *root = getOperation();
    if (root->getNumRegions() != 1 || !root->getRegion(0).hasOneBlock())
      return;
    Block &body = root->getRegion(0).front();
    if (!body.getOps<LLVM::ModuleFlagsOp>().empty())
      return;
    MLIRContext *ctx = &getContext();
    OpBuilder b = OpBuilder::atBlockEnd(&body);
    if (!body.empty() && body.back().hasTrait<OpTrait::IsTerminator>())
      b.setInsertionPoint(&body.back());
    auto flag = LLVM::ModuleFlagAttr::get(
        ctx, LLVM::ModFlagBehavior::Override,
        StringAttr::get(ctx, "nvvm-reflect-ftz"),
        IntegerAttr::get(IntegerType::get(ctx, 32), 1));
    LLVM::ModuleFlagsOp::create(b, root->getLoc(), b.getArrayAttr({flag}));
  }
};

} // namespace
