//===- LinearToCall.cpp - hssm.linear to calls of the runtime's GEMM ------===//
//
// GEMMs go to a library (cuBLAS) rather than to generated kernels: the pass
// replaces each eligible hssm.linear by a call whose name encodes the element
// types, so the runtime can pick the cublasGemmEx data types.
//
//===----------------------------------------------------------------------===//

#include "hssm/Dialect/HSSM/HSSMDialect.h"
#include "hssm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::hssm {
#define GEN_PASS_DEF_HSSMLINEARTOCALL
#include "hssm/Transforms/Passes.h.inc"
} // namespace mlir::hssm

using namespace mlir;
using namespace mlir::hssm;

namespace {

std::string typeName(Type t) {
  if (t.isF32())
    return "f32";
  if (t.isF16())
    return "f16";
  return "bf16";
}

/// memref<?x?xT, strided<[?, ?], offset: ?>>: one declaration serves every
/// shape and layout.
MemRefType dynamic2D(Type elem) {
  MLIRContext *ctx = elem.getContext();
  auto layout = StridedLayoutAttr::get(
      ctx, ShapedType::kDynamic, {ShapedType::kDynamic, ShapedType::kDynamic});
  return MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic}, elem,
                         layout);
}

struct HSSMLinearToCallPass
    : public hssm::impl::HSSMLinearToCallBase<HSSMLinearToCallPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<LinearOp> linears;
    module.walk([&](LinearOp op) { linears.push_back(op); });
    for (LinearOp op : linears) {
      Type xElem = op.getX().getType().getElementType();
      Type wElem = op.getWeight().getType().getElementType();
      Type oElem = op.getOut().getType().getElementType();
      // cuBLAS multiplies operands of one type; a bias would need a second
      // kernel. Those cases keep the loop lowering.
      bool narrowOut = !oElem.isF32() && oElem != xElem;
      if (op.getBias() || xElem != wElem || narrowOut)
        continue;
      std::string name = "hssm_linear_" + typeName(xElem) + "_" +
                         typeName(wElem) + "_" + typeName(oElem);
      OpBuilder b(op);
      Location loc = op.getLoc();
      Type i32 = b.getI32Type();
      auto calleeType = FunctionType::get(
          &getContext(),
          {dynamic2D(xElem), dynamic2D(wElem), dynamic2D(oElem), i32}, {});
      auto callee = module.lookupSymbol<func::FuncOp>(name);
      if (!callee) {
        OpBuilder top = OpBuilder::atBlockBegin(module.getBody());
        callee = func::FuncOp::create(top, loc, name, calleeType);
        callee.setPrivate();
        callee->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                        UnitAttr::get(&getContext()));
      }
      auto cast = [&](Value v, Type elem) -> Value {
        return memref::CastOp::create(b, loc, dynamic2D(elem), v);
      };
      Value acc = arith::ConstantIntOp::create(b, loc, i32,
                                               op.getAccumulate() ? 1 : 0);
      func::CallOp::create(b, loc, callee,
                           ValueRange{cast(op.getX(), xElem),
                                      cast(op.getWeight(), wElem),
                                      cast(op.getOut(), oElem), acc});
      op.erase();
    }
  }
};

} // namespace
