//===- WorkgroupAllocas.cpp - workgroup allocas become attributions -------===//
//
// A lowering that wants memory shared by a GPU block writes a memref.alloca
// in workgroup memory inside the loop the kernel comes from; the GPU
// lowering only knows such memory as a gpu.func's workgroup attribution.
// See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::hssm {
#define GEN_PASS_DEF_HSSMWORKGROUPALLOCAS
#include "hssm/Transforms/Passes.h.inc"
} // namespace mlir::hssm

using namespace mlir;

namespace {

/// The alignment a workgroup buffer gets when its alloca names none: enough
/// for the widest vector access (16 bytes).
constexpr int64_t kDefaultAlignment = 16;

bool inWorkgroupMemory(MemRefType type) {
  auto space = dyn_cast_or_null<gpu::AddressSpaceAttr>(type.getMemorySpace());
  return space && space.getValue() == gpu::AddressSpace::Workgroup;
}

struct HSSMWorkgroupAllocasPass
    : public hssm::impl::HSSMWorkgroupAllocasBase<HSSMWorkgroupAllocasPass> {
  void runOnOperation() override {
    WalkResult result = getOperation()->walk([&](gpu::GPUFuncOp func) {
      if (!func.isKernel())
        return WalkResult::advance();
      SmallVector<memref::AllocaOp> allocas;
      func.walk([&](memref::AllocaOp op) {
        if (inWorkgroupMemory(op.getType()))
          allocas.push_back(op);
      });
      for (memref::AllocaOp op : allocas) {
        MemRefType type = op.getType();
        if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
          op.emitOpError("workgroup memory needs a static shape and the "
                         "identity layout, got ")
              << type;
          return WalkResult::interrupt();
        }
        BlockArgument buffer = func.addWorkgroupAttribution(type, op.getLoc());
        int64_t align = op.getAlignment().value_or(kDefaultAlignment);
        func.setWorkgroupAttributionAttr(
            func.getNumWorkgroupAttributions() - 1,
            LLVM::LLVMDialect::getAlignAttrName(),
            IntegerAttr::get(IntegerType::get(&getContext(), 64), align));
        op.replaceAllUsesWith(buffer);
        op.erase();
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
