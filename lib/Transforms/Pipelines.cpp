//===- Pipelines.cpp - hssm-lower-to-cpu and hssm-lower-to-nvvm -----------===//
//
// Upstream passes do everything after the hssm ops become loops.
//
//===----------------------------------------------------------------------===//

#include "hssm/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::hssm;

void mlir::hssm::buildLowerToCpuPipeline(OpPassManager &pm) {
  pm.addPass(createHSSMDecompose());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createHSSMLowerToLoops());
  // Zero fills of the `zero` mode.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // bf16 <-> f32 conversions as integer arithmetic: no libgcc helpers needed.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::hssm::registerHSSMPipelines() {
  PassPipelineRegistration<>(
      "hssm-lower-to-cpu",
      "Lowers hssm ops to loops and then to the LLVM dialect for the host",
      [](OpPassManager &pm) { buildLowerToCpuPipeline(pm); });
}
