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
  // Option values as pipeline text.
  auto num = [](int64_t v) { return std::to_string(v); };
  auto flag = [](bool v) -> std::string { return v ? "true" : "false"; };
  std::string rows = num(options.blockRows);
  std::string cols = num(options.blockSize);
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
  // hssm-kernel-occupancy's .maxntid is the largest block named here; the
  // blocks that decode-scan-block-bytes sizes by the state type are not.
  int64_t decodeBlockBytes =
      options.minBlocksPerSm > 0 ? 0 : options.decodeScanBlockBytes;
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
         num(options.scanChunk) + " conv-chunk=" + num(convChunk) +
         " conv-channels=" + num(options.convChannels) +
         " decode-conv-channels=" + num(options.decodeConvChannels) +
         " decode-conv-rows=" + num(options.decodeConvRows) +
         " conv-block-threads=" + num(options.convBlockSize) +
         " decode-conv-block-threads=" + num(options.decodeBlockSize) +
         " channel-major=" + flag(options.channelMajor) +
         " fast-math=" + flag(options.fastMath) +
         " scan-tokens-per-step=" + num(options.scanTokensPerStep) +
         " conv-tokens-per-step=" + num(options.convTokensPerStep) +
         " decode-scan-rows=" + num(options.decodeScanRows) +
         " decode-scan-small-batch=" + num(options.decodeScanSmallBatch) +
         " decode-scan-prefetch-before-wait=" +
         flag(!programmatic.empty() && options.decodeScanPrefetch) +
         " decode-scan-block-threads=" + num(decodeStageThreads) +
         " decode-scan-block-bytes=" + num(decodeBlockBytes) +
         " decode-scan-shuffle-states=" + num(options.decodeScanShuffleStates) +
         " scan-lanes=" + num(scanLanes) +
         " lane-scan-tokens-per-step=" + num(options.laneScanTokensPerStep) +
         " lane-scan-block-threads=" + num(stageThreads) +
         " lane-scan-stage-f32=" + flag(options.laneScanStageF32) +
         " lane-scan-longest-first=" + flag(options.laneScanLongestFirst) +
         " lane-scan-pad-owned=" + flag(options.laneScanPadOwned) +
         " lane-scan-prefetch-steps=" + num(options.laneScanPrefetchSteps) +
         " lane-scan-diagonal-rows=" + num(options.laneScanDiagonalRows) +
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
         num(options.minBlocksPerSm) + " block-threads=" +
         num(std::max({int64_t(options.blockSize * options.blockRows),
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
