//===- Pipelines.cpp - hssm-lower-to-cpu and hssm-lower-to-nvvm -----------===//
//
// Upstream passes do everything after the hssm ops become loops.
//
//===----------------------------------------------------------------------===//

#include "hssm/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"

#include <mutex>

using namespace mlir;
using namespace mlir::hssm;

void mlir::hssm::buildLowerToCpuPipeline(OpPassManager &pm) {
  pm.addPass(createHSSMDecompose());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createHSSMFuseCombineIntoProjection());
  // Prefill scans in chunks of 64 tokens joined by the associative rule,
  // prefill convs in chunks, channels in vector groups: the same lowerings
  // as on the GPU, so CI runs the GPU's loops on the CPU.
  HSSMLowerToLoopsOptions loops;
  loops.scanChunk = 64;
  loops.convChunk = 64;
  loops.convChannels = 8;
  loops.decodeScanRows = 2;
  // Batches of one decode take the one-row loop, larger ones the grouped
  // loop: CI's JIT tests run both sides of the GPU's run-time branch.
  loops.decodeScanSmallBatch = 1;
  loops.decodeConvRows = 2;
  loops.fastMath = true;
  loops.convTokensPerStep = 4;
  loops.scanTokensPerStep = 2;
  pm.addPass(createHSSMLowerToLoops(loops));
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

std::string mlir::hssm::findLibdevice() {
  std::vector<std::string> roots;
  for (const char *var : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (const char *v = std::getenv(var))
      roots.push_back(v);
  roots.push_back("/usr/local/cuda");
  roots.push_back("/usr/lib/cuda");
  for (const std::string &root : roots) {
    std::string path = root + "/nvvm/libdevice/libdevice.10.bc";
    if (llvm::sys::fs::exists(path))
      return path;
  }
  return "";
}

std::string
mlir::hssm::lowerToNvvmPipelineText(const NvvmPipelineOptions &options) {
  std::string rows = std::to_string(int64_t(options.blockRows));
  std::string cols = std::to_string(int64_t(options.blockSize));
  std::string block = options.channelMajor ? cols + "," + rows
                                           : rows + "," + cols;
  int64_t convChunk =
      options.convChunk > 0 ? options.convChunk : options.scanChunk;
  std::string target = "chip=" + options.chip + " features=" +
                       options.features +
                       " O=" + std::to_string(unsigned(options.optLevel));
  // griddepcontrol needs sm_90: older chips launch the usual way.
  llvm::StringRef chip = options.chip;
  unsigned smVersion = 0;
  if (chip.consume_front("sm_"))
    (void)chip.take_while(llvm::isDigit).getAsInteger(10, smVersion);
  std::string programmatic =
      options.programmaticLaunch && smVersion >= 90
          ? "hssm-programmatic-launch,"
          : "";
  // fast-math: libdevice's flush-to-zero paths (exp2 is one MUFU op).
  std::string ftz = options.fastMath ? "hssm-libdevice-ftz," : "";
  // The lane scan's shuffles need each channel's lanes in one warp:
  // consecutive threads, whole warps.
  int64_t scanLanes = options.scanLanes;
  if (options.blockSize % 32 != 0 ||
      (options.blockRows != 1 && !options.channelMajor))
    scanLanes = 0;
  // Staged B and C need a block's threads in one row (same barriers).
  int64_t stageThreads =
      options.laneScanStage && options.blockRows == 1 ? options.blockSize : 0;
  // The decode updates name their own blocks (hssm.tile_sizes): one row
  // group, decode-block-size channels.
  int64_t decodeStageThreads =
      options.decodeScanStage ? options.decodeBlockSize : 0;
  // exp and log become libdevice calls; link it by path so that the PTX does
  // not depend on how the environment names the CUDA toolkit.
  std::string libdevice =
      options.libdevice.empty() ? findLibdevice() : options.libdevice.getValue();
  if (!libdevice.empty())
    target += " l=" + libdevice;
  // The loops of hssm-lower-to-loops are scf.parallel over (row, channel):
  // tiles of block-rows x block-size map them to blocks and threads.
  // gpu-async-region puts allocations and launches on streams, which the
  // runtime's mgpu* functions implement.
  // Projections go to the runtime's cuBLAS wrapper where the types allow.
  return "hssm-decompose{device-alloc=true "
         "gemm-inputs-in-activation-type=true},"
         "canonicalize,"
         "hssm-fuse-combine-into-projection,hssm-linear-to-call,"
         "hssm-lower-to-loops{device-alloc=true scan-chunk=" +
         std::to_string(int64_t(options.scanChunk)) +
         " conv-chunk=" + std::to_string(convChunk) +
         " conv-channels=" + std::to_string(int64_t(options.convChannels)) +
         " decode-conv-channels=" +
         std::to_string(int64_t(options.decodeConvChannels)) +
         " decode-conv-rows=" +
         std::to_string(int64_t(options.decodeConvRows)) +
         " conv-block-threads=" +
         std::to_string(int64_t(options.convBlockSize)) +
         " decode-conv-block-threads=" +
         std::to_string(int64_t(options.decodeBlockSize)) +
         " channel-major=" + (options.channelMajor ? "true" : "false") +
         " fast-math=" + (options.fastMath ? "true" : "false") +
         " scan-tokens-per-step=" +
         std::to_string(int64_t(options.scanTokensPerStep)) +
         " conv-tokens-per-step=" +
         std::to_string(int64_t(options.convTokensPerStep)) +
         " decode-scan-rows=" +
         std::to_string(int64_t(options.decodeScanRows)) +
         " decode-scan-small-batch=" +
         std::to_string(int64_t(options.decodeScanSmallBatch)) +
         " decode-scan-prefetch-before-wait=" +
         (!programmatic.empty() && options.decodeScanPrefetch ? "true"
                                                              : "false") +
         " decode-scan-block-threads=" + std::to_string(decodeStageThreads) +
         " decode-scan-shuffle-states=" +
         std::to_string(int64_t(options.decodeScanShuffleStates)) +
         " scan-lanes=" + std::to_string(scanLanes) +
         " lane-scan-tokens-per-step=" +
         std::to_string(int64_t(options.laneScanTokensPerStep)) +
         " lane-scan-block-threads=" + std::to_string(stageThreads) +
         " lane-scan-stage-f32=" +
         (options.laneScanStageF32 ? "true" : "false") +
         " lane-scan-longest-first=" +
         (options.laneScanLongestFirst ? "true" : "false") +
         " lane-scan-pad-owned=" +
         (options.laneScanPadOwned ? "true" : "false") +
         " lane-scan-prefetch-steps=" +
         std::to_string(int64_t(options.laneScanPrefetchSteps)) +
         "},"
         "func.func(convert-linalg-to-parallel-loops,"
         "hssm-tile-parallel-loops{tile-sizes=" +
         block +
         " no-min-max-bounds=true},gpu-map-parallel-loops,"
         "convert-parallel-loops-to-gpu),"
         "gpu-launch-sink-index-computations,gpu-kernel-outlining," +
         programmatic +
         "func.func(gpu-async-region),lower-affine,"
         "convert-scf-to-cf,nvvm-attach-target{" +
         target +
         "},gpu.module(hssm-workgroup-allocas,hssm-kernel-occupancy{"
         "min-blocks-per-sm=" +
         std::to_string(int64_t(options.minBlocksPerSm)) + " block-threads=" +
         std::to_string(
             std::max({int64_t(options.blockSize * options.blockRows),
                       int64_t(options.decodeBlockSize),
                       int64_t(options.convBlockSize)})) +
         "},convert-gpu-to-nvvm," + ftz +
         "reconcile-unrealized-casts),"
         "expand-strided-metadata,lower-affine,gpu-to-llvm,convert-to-llvm,"
         "reconcile-unrealized-casts,gpu-module-to-binary{format=isa},"
         "canonicalize,cse";
}

void mlir::hssm::buildLowerToNvvmPipeline(OpPassManager &pm,
                                          const NvvmPipelineOptions &options) {
  // Every stage is upstream but the hssm passes: a textual pipeline keeps the
  // stages readable in one place, and -dump-pass-pipeline shows the same.
  // Parsing it needs the passes registered, in tools that do not do so.
  static std::once_flag registered;
  std::call_once(registered, [] {
    registerAllPasses();
    registerHSSMPasses();
  });
  if (failed(parsePassPipeline(lowerToNvvmPipelineText(options), pm)))
    llvm::report_fatal_error("hssm-lower-to-nvvm: bad pipeline text");
}

void mlir::hssm::registerHSSMPipelines() {
  PassPipelineRegistration<NvvmPipelineOptions>(
      "hssm-lower-to-nvvm",
      "Lowers hssm ops to GPU kernels, NVVM and PTX (in gpu.binary ops), and "
      "host code to the LLVM dialect calling the runtime",
      [](OpPassManager &pm, const NvvmPipelineOptions &options) {
        buildLowerToNvvmPipeline(pm, options);
      });
  PassPipelineRegistration<>(
      "hssm-lower-to-cpu",
      "Lowers hssm ops to loops and then to the LLVM dialect for the host",
      [](OpPassManager &pm) { buildLowerToCpuPipeline(pm); });
}
