//===- ProgrammaticLaunch.cpp - kernels that wait for the one before -----===//
//
// Each kernel starts with griddepcontrol.launch_dependents and
// griddepcontrol.wait and is renamed with kProgrammaticLaunchSuffix, which
// tells the runtime to launch it with programmatic stream serialization.
// See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "hssm/Runtime/LaunchConventions.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::hssm {
#define GEN_PASS_DEF_HSSMPROGRAMMATICLAUNCH
#include "hssm/Transforms/Passes.h.inc"
} // namespace mlir::hssm

using namespace mlir;

namespace {

struct HSSMProgrammaticLaunchPass
    : public mlir::hssm::impl::HSSMProgrammaticLaunchBase<
          HSSMProgrammaticLaunchPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    // Old kernel reference -> new one, for the launches.
    llvm::DenseMap<SymbolRefAttr, SymbolRefAttr> renamed;
    for (auto gpuModule : module.getOps<gpu::GPUModuleOp>()) {
      SymbolTable symbols(gpuModule);
      for (auto func : llvm::to_vector(gpuModule.getOps<gpu::GPUFuncOp>())) {
        if (!func.isKernel() ||
            func.getName().ends_with(::hssm::kProgrammaticLaunchSuffix))
          continue;
        // A kernel that waits already (a lowering placed its wait after
        // hints that read nothing a kernel before it writes) keeps its own.
        bool waits = func.walk([](NVVM::GriddepcontrolOp op) {
                           return op.getKind() == NVVM::GridDepActionKind::wait
                                      ? WalkResult::interrupt()
                                      : WalkResult::advance();
                         })
                         .wasInterrupted();
        OpBuilder b = OpBuilder::atBlockBegin(&func.getBody().front());
        NVVM::GriddepcontrolOp::create(
            b, func.getLoc(), NVVM::GridDepActionKind::launch_dependents);
        if (!waits)
          NVVM::GriddepcontrolOp::create(b, func.getLoc(),
                                         NVVM::GridDepActionKind::wait);
        auto oldRef =
            SymbolRefAttr::get(gpuModule.getNameAttr(),
                               {FlatSymbolRefAttr::get(func.getNameAttr())});
        std::string name =
            (func.getName() + ::hssm::kProgrammaticLaunchSuffix).str();
        if (failed(symbols.rename(func, StringAttr::get(ctx, name)))) {
          func.emitError("hssm-programmatic-launch: cannot rename the "
                         "kernel to ")
              << name;
          return signalPassFailure();
        }
        renamed[oldRef] =
            SymbolRefAttr::get(gpuModule.getNameAttr(),
                               {FlatSymbolRefAttr::get(func.getNameAttr())});
      }
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = renamed.find(launch.getKernel());
      if (it != renamed.end())
        launch.setKernelAttr(it->second);
    });
  }
};

} // namespace
