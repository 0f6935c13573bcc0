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
#include "mlir/Pass/PassOptions.h"

namespace mlir {
class RewritePatternSet;
namespace hssm {

#define GEN_PASS_DECL
#include "hssm/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hssm/Transforms/Passes.h.inc"

/// hssm.history_branch -> primitives + linear ops.
void populateDecomposeHistoryBranchPatterns(RewritePatternSet &patterns,
                                            bool deviceAlloc,
                                            bool gemmInputsInActivationType);
/// Each primitive to loops; one populate function per family.
/// `channels`: adjacent channels per parallel iteration (vector accesses),
/// used where the channel count is a static multiple of it.
/// `channelMajor`: see forRowsAndChannels (LoopUtils.h).
/// `decodeChannels`: the same for conv_update; `decodeRows`: decode rows
/// per parallel iteration of conv_update.
void populateConvToLoopsPatterns(RewritePatternSet &patterns,
                                 int64_t channels = 1,
                                 bool channelMajor = false,
                                 int64_t decodeChannels = 1,
                                 int64_t decodeRows = 1,
                                 int64_t decodeBlockThreads = 0);
/// conv1d over prefill rows in chunks of `chunk` tokens run in parallel.
void populateChunkedConvToLoopsPatterns(RewritePatternSet &patterns,
                                        int64_t chunk, int64_t channels = 1,
                                        bool channelMajor = false,
                                        int64_t tokensPerStep = 1,
                                        int64_t blockThreads = 0);
/// How hssm lowers state_update (see DecodeScanToLoops, ScanToLoops.cpp):
/// `rows` decode rows per parallel iteration; on the GPU, `blockThreads`
/// consecutive channels of one row group per block, which stages the
/// group's B and C in workgroup memory (0: none), or, for the loop with
/// `rows` rows, as many as make a block's part of each state row
/// `blockBytes` long (0: blockThreads); new state rows of at least
/// `shuffleStatesBytes` stored transposed across lanes (0: never); batches
/// of at most `smallBatch` rows one row per iteration (0: no branch), that
/// loop prefetching its state before griddepcontrol.wait
/// (`prefetchBeforeWait`).
struct DecodeScanOptions {
  int64_t rows = 1;
  bool channelMajor = false;
  int64_t blockThreads = 0;
  int64_t blockBytes = 0;
  int64_t shuffleStatesBytes = 0;
  int64_t smallBatch = 0;
  bool prefetchBeforeWait = false;
};
void populateScanToLoopsPatterns(RewritePatternSet &patterns,
                                 const DecodeScanOptions &decode);
/// selective_scan chunked over time (`chunk` tokens), joined by the
/// associative rule; carries in fp32 temporaries (gpu.alloc when
/// `deviceAlloc`).
void populateChunkedScanToLoopsPatterns(RewritePatternSet &patterns,
                                        int64_t chunk, bool deviceAlloc,
                                        bool channelMajor = false,
                                        int64_t tokensPerStep = 1);
/// How hssm's lane scan lowers selective_scan: each channel's N states split
/// across `lanes` iterations that the GPU mapping makes lanes of one warp
/// (gpu.shuffle); one pass over the tokens, `tokensPerStep` of them loaded
/// ahead. With `blockThreads` (consecutive iterations of one row that a GPU
/// block runs and gpu.barrier synchronizes), the block shares each step's
/// B and C through workgroup memory, B and C widened to f32 once
/// (`stageRowsF32`) or as stored, the owned delta/u/z rows padded against
/// bank conflicts (`padOwnedRows`), each step's loads issued
/// `prefetchSteps` (1 or 2) steps ahead, the rows taken longest first
/// (`longestFirst`), and, where a batch has at most `diagonalRows` prefill
/// rows, a step's groups of `lanes` tokens through their phases (dt,
/// recurrence, sums) diagonally, not phase by phase.
struct LaneScanOptions {
  int64_t lanes = 4;
  int64_t tokensPerStep = 16;
  bool channelMajor = false;
  int64_t blockThreads = 0;
  bool stageRowsF32 = true;
  bool padOwnedRows = true;
  int64_t prefetchSteps = 1;
  bool longestFirst = false;
  int64_t diagonalRows = 0;
};
void populateLaneScanToLoopsPatterns(RewritePatternSet &patterns,
                                     const LaneScanOptions &options);
void populateLinearToLoopsPatterns(RewritePatternSet &patterns);
void populateElementwiseToLoopsPatterns(RewritePatternSet &patterns);

/// Options of `hssm-lower-to-nvvm`.
struct NvvmPipelineOptions : public PassPipelineOptions<NvvmPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("Target SM"),
                           llvm::cl::init("sm_90")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX features"),
                               llvm::cl::init("+ptx80")};
  Option<unsigned> optLevel{*this, "opt-level",
                            llvm::cl::desc("LLVM optimization level"),
                            llvm::cl::init(3)};
  Option<std::string> libdevice{
      *this, "libdevice",
      llvm::cl::desc("libdevice bitcode to link (default: found in the CUDA "
                     "toolkit)"),
      llvm::cl::init("")};
  Option<int64_t> scanChunk{
      *this, "scan-chunk",
      llvm::cl::desc("Tokens per chunk of the chunked prefill scan (where "
                     "the lane scan does not apply)"),
      llvm::cl::init(128)};
  Option<int64_t> convChannels{
      *this, "conv-channels",
      llvm::cl::desc("Adjacent channels per thread in conv1d (vector loads "
                     "along d)"),
      llvm::cl::init(8)};
  Option<int64_t> decodeConvChannels{
      *this, "decode-conv-channels",
      llvm::cl::desc("Adjacent channels per thread in conv_update"),
      llvm::cl::init(4)};
  Option<int64_t> decodeConvRows{
      *this, "decode-conv-rows",
      llvm::cl::desc("Decode rows per thread in conv_update"),
      llvm::cl::init(8)};
  Option<int64_t> decodeScanRows{
      *this, "decode-scan-rows",
      llvm::cl::desc("Decode rows per thread in the state update"),
      llvm::cl::init(4)};
  Option<int64_t> decodeScanSmallBatch{
      *this, "decode-scan-small-batch",
      llvm::cl::desc("Decode batches of at most this many rows run the "
                     "state update with one row per thread (0: always "
                     "decode-scan-rows; bench/results/r22/sweep.txt)"),
      llvm::cl::init(16)};
  Option<bool> decodeScanPrefetch{
      *this, "decode-scan-prefetch",
      llvm::cl::desc("With programmatic-launch, the small-batch state "
                     "update prefetches its state rows into the L2 before it "
                     "waits for the kernel before it "
                     "(decode-scan-prefetch-before-wait; the grouped loop "
                     "gained nothing from it: bench/results/r24)"),
      llvm::cl::init(true)};
  Option<int64_t> blockSize{
      *this, "block-size",
      llvm::cl::desc("Threads per block along channels/columns"),
      llvm::cl::init(128)};
  Option<int64_t> convTokensPerStep{
      *this, "conv-tokens-per-step",
      llvm::cl::desc("Tokens per iteration of the chunked conv's token loop"),
      llvm::cl::init(8)};
  Option<int64_t> scanTokensPerStep{
      *this, "scan-tokens-per-step",
      llvm::cl::desc("Tokens per iteration of the chunked scan's token loops"),
      llvm::cl::init(1)};
  Option<int64_t> scanLanes{
      *this, "scan-lanes",
      llvm::cl::desc("Lanes of a warp that share one channel's states in the "
                     "prefill scan, one pass over the tokens (0: the chunked "
                     "scan). Needs block-size a multiple of 32 and block-rows "
                     "1 unless channel-major"),
      llvm::cl::init(2)};
  Option<int64_t> laneScanTokensPerStep{
      *this, "lane-scan-tokens-per-step",
      llvm::cl::desc("Tokens the lane scan loads ahead per step"),
      llvm::cl::init(16)};
  Option<bool> decodeScanStage{
      *this, "decode-scan-stage",
      llvm::cl::desc("The state update's blocks load their rows' B and C "
                     "once into shared memory (where a block holds one row "
                     "group)"),
      llvm::cl::init(true)};
  Option<int64_t> decodeScanBlockBytes{
      *this, "decode-scan-block-bytes",
      llvm::cl::desc("The state update's grouped loop (decode-scan-rows) "
                     "takes blocks of as many channels as make this many "
                     "bytes of each state row (0, or with "
                     "min-blocks-per-sm: decode-block-size)"),
      llvm::cl::init(4096)};
  Option<int64_t> decodeScanShuffleStates{
      *this, "decode-scan-shuffle-states",
      llvm::cl::desc("With decode-scan-stage, a channel's new states of at "
                     "least this many bytes are transposed across lanes so "
                     "that each store writes whole rows (0: never)"),
      llvm::cl::init(64)};
  Option<bool> laneScanStage{
      *this, "lane-scan-stage",
      llvm::cl::desc("The lane scan's blocks load each step's B and C once "
                     "into shared memory (where a block holds one row)"),
      llvm::cl::init(true)};
  Option<bool> laneScanStageF32{
      *this, "lane-scan-stage-f32",
      llvm::cl::desc("Staged B and C are widened to f32 once per block "
                     "(false: kept as stored, widened by each lane)"),
      llvm::cl::init(true)};
  Option<int64_t> laneScanPrefetchSteps{
      *this, "lane-scan-prefetch-steps",
      llvm::cl::desc("Steps ahead the staged lane scan issues its global "
                     "loads (1 or 2)"),
      llvm::cl::init(2)};
  Option<bool> laneScanLongestFirst{
      *this, "lane-scan-longest-first",
      llvm::cl::desc("The staged lane scan takes the prefill rows longest "
                     "first (grid z = rank by length; in the phase-order "
                     "kernel, not the one for lane-scan-diagonal-rows)"),
      llvm::cl::init(true)};
  Option<bool> laneScanPadOwned{
      *this, "lane-scan-pad-owned",
      llvm::cl::desc("Staged delta/u/z rows padded against shared-memory "
                     "bank conflicts"),
      llvm::cl::init(true)};
  Option<int64_t> laneScanDiagonalRows{
      *this, "lane-scan-diagonal-rows",
      llvm::cl::desc("Batches with at most this many prefill rows take the "
                     "lane scan's token groups through their phases "
                     "diagonally (latency-bound: few blocks per SM); 0: "
                     "never"),
      llvm::cl::init(1)};
  Option<bool> fastMath{
      *this, "fast-math",
      llvm::cl::desc("FMA contraction, approximate exp/division in silu and "
                     "softplus (hssm-lower-to-loops fast-math)"),
      llvm::cl::init(true)};
  Option<bool> channelMajor{
      *this, "channel-major",
      llvm::cl::desc("Channel groups on blockIdx.x/threadIdx.x, rows (or "
                     "chunks) on y"),
      llvm::cl::init(true)};
  Option<int64_t> convChunk{
      *this, "conv-chunk",
      llvm::cl::desc("Tokens per chunk of the parallel prefill conv (0: the "
                     "scan's chunk)"),
      llvm::cl::init(128)};
  Option<int64_t> blockRows{
      *this, "block-rows",
      llvm::cl::desc("Rows (or chunks, or tokens) per block: threads of one "
                     "block that share a channel's weights"),
      llvm::cl::init(1)};
  Option<int64_t> decodeBlockSize{
      *this, "decode-block-size",
      llvm::cl::desc("Threads per block of the decode updates (conv_update; "
                     "the state update where decode-scan-stage is on), "
                     "whatever block-size the other kernels get"),
      llvm::cl::init(64)};
  Option<int64_t> convBlockSize{
      *this, "conv-block-size",
      llvm::cl::desc("Threads per block of the chunked prefill conv (0: "
                     "block-size)"),
      llvm::cl::init(0)};
  Option<bool> programmaticLaunch{
      *this, "programmatic-launch",
      llvm::cl::desc("Kernels wait for the kernel before them in their "
                     "first instruction and are launched while it runs "
                     "(hssm-programmatic-launch; sm_90 and later)"),
      llvm::cl::init(true)};
  Option<int64_t> minBlocksPerSm{
      *this, "min-blocks-per-sm",
      llvm::cl::desc("Blocks an SM should hold at once: ptxas caps the "
                     "registers to fit them (hssm-kernel-occupancy; 0: no "
                     "cap)"),
      llvm::cl::init(0)};
};

/// hssm -> LLVM dialect for the host (the JIT's and CI's path).
void buildLowerToCpuPipeline(OpPassManager &pm);
/// hssm -> gpu kernels -> NVVM -> PTX in a gpu.binary, host code -> LLVM
/// calling the runtime's mgpu* functions.
void buildLowerToNvvmPipeline(OpPassManager &pm,
                              const NvvmPipelineOptions &options);
/// libdevice.10.bc of the CUDA toolkit (CUDA_HOME, CUDA_PATH, CUDA_ROOT,
/// /usr/local/cuda, /usr/lib/cuda), or "" when none is found.
std::string findLibdevice();
/// The same pipeline as pass-pipeline text (for tests and tools).
std::string lowerToNvvmPipelineText(const NvvmPipelineOptions &options);
/// Registers `hssm-lower-to-cpu` and `hssm-lower-to-nvvm`.
void registerHSSMPipelines();

} // namespace hssm
} // namespace mlir

#endif // HSSM_TRANSFORMS_PASSES_H
