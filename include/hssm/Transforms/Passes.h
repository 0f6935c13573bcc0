//===- Passes.h - hssm passes and pipelines ---------------------*- C++ -*-===//
#ifndef HSSM_TRANSFORMS_PASSES_H
#define HSSM_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace hssm {

#define GEN_PASS_DECL
#include "hssm/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hssm/Transforms/Passes.h.inc"

/// hssm.history_branch -> primitives + linear ops.
void populateDecomposeHistoryBranchPatterns(RewritePatternSet &patterns,
                                            bool deviceAlloc);
/// Each primitive to loops; one populate function per family.
void populateConvToLoopsPatterns(RewritePatternSet &patterns);
void populateScanToLoopsPatterns(RewritePatternSet &patterns);
void populateLinearToLoopsPatterns(RewritePatternSet &patterns);
void populateElementwiseToLoopsPatterns(RewritePatternSet &patterns);

/// Options of the CPU and GPU pipelines.
struct CpuPipelineOptions {};
struct NvvmPipelineOptions {
  std::string chip = "sm_90";
  std::string features = "+ptx80";
  unsigned optLevel = 3;
};

/// hssm -> LLVM dialect for the host (the JIT's and CI's path).
void buildLowerToCpuPipeline(OpPassManager &pm);
/// hssm -> gpu kernels -> NVVM -> PTX in a gpu.binary, host code -> LLVM.
void buildLowerToNvvmPipeline(OpPassManager &pm,
                              const NvvmPipelineOptions &options);
/// Registers `hssm-lower-to-cpu` and `hssm-lower-to-nvvm`.
void registerHSSMPipelines();

} // namespace hssm
} // namespace mlir

#endif // HSSM_TRANSFORMS_PASSES_H
