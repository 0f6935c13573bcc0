//===- Passes.td - hssm passes -----------------------------*- tablegen -*-===//
#ifndef HSSM_TRANSFORMS_PASSES
#define HSSM_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def HSSMDecompose : Pass<"hssm-decompose"> {
  let summary = "Decomposes hssm.history_branch into primitives and linear ops";
  let description = [{
    Per mode: `zero` becomes a zero fill, `prefix_sum` a flat prefix sum over
    the prefill tokens, `mamba1` the chain in_proj, conv_update (decodes),
    conv1d (prefills), x_proj, dt_proj, state_update (decodes),
    selective_scan (prefills) and out_proj, with fp32 temporaries. Conv and
    scan read their operands as strided views of the projection outputs, so
    no operand is copied or transposed.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::gpu::GPUDialect"];
  let options = [
    Option<"deviceAlloc", "device-alloc", "bool", /*default=*/"false",
           "Allocate temporaries with gpu.alloc (for the GPU path)">,
    Option<"gemmInputsInActivationType", "gemm-inputs-in-activation-type",
           "bool", /*default=*/"false",
           "Store the temporaries that feed projections (conv output, x_proj "
           "output, scan output) in the activation type, so that every "
           "projection multiplies operands of one type (a cuBLAS GEMM); "
           "arithmetic stays fp32">,
  ];
}

def HSSMLowerToLoops : Pass<"hssm-lower-to-loops"> {
  let summary = "Lowers hssm primitives to scf/memref/arith/math loops";
  let description = [{
    Every primitive becomes an `scf.parallel` over (row, channel) (or over
    (token, column) for the elementwise and linear ops), with a sequential
    `scf.for` over each row's tokens that reads its bounds and slots from the
    batch buffers. The same loops run on the CPU and, mapped to blocks and
    threads, on the GPU. Arithmetic is fp32 whatever the storage type.

    The options shape the loops for the GPU without changing what they
    compute: groups of adjacent channels moved as vectors (`conv-channels`,
    `decode-conv-channels`), groups of decode rows per iteration of the
    straight-line state update (`decode-scan-rows`), prefill convs and scans
    cut into chunks run in parallel (`conv-chunk`, `scan-chunk`), the GPU's
    one-pass prefill scan with each channel's states split across lanes of
    a warp (`scan-lanes`, `lane-scan-tokens-per-step`; it takes precedence
    over `scan-chunk` where it applies), each step of it staged in memory
    shared by a GPU block (`lane-scan-block-threads`), token loops that load several
    tokens before computing (`*-tokens-per-step`), the loop dimensions'
    order (`channel-major`), and FMA contraction with approximate
    exp/division in silu and softplus (`fast-math`). `hssm-lower-to-nvvm`
    picks the values `bench/results/r7/variants.txt`,
    `bench/results/r14/variants.txt` and `bench/results/r15/variants.txt`
    measured best.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
  let options = [
    Option<"keepLinear", "keep-linear", "bool", /*default=*/"false",
           "Leave hssm.linear for a library call (cuBLAS on the GPU)">,
    Option<"scanChunk", "scan-chunk", "int64_t", /*default=*/"0",
           "Cut prefill scans into chunks of this many tokens that run in "
           "parallel, joined by the associative rule (0: sequential)">,
    Option<"convChunk", "conv-chunk", "int64_t", /*default=*/"0",
           "Cut prefill convs into chunks of this many tokens that run in "
           "parallel (0: one loop per row)">,
    Option<"deviceAlloc", "device-alloc", "bool", /*default=*/"false",
           "Allocate the lowering's temporaries with gpu.alloc">,
    Option<"decodeConvChannels", "decode-conv-channels", "int64_t",
           /*default=*/"0",
           "conv-channels for conv_update alone (0: conv-channels)">,
    Option<"convChannels", "conv-channels", "int64_t", /*default=*/"1",
           "Adjacent channels per parallel iteration of conv1d and (unless "
           "decode-conv-channels is set) "
           "conv_update, moved as vectors (where D is a static multiple)">,
    Option<"decodeConvRows", "decode-conv-rows", "int64_t",
           /*default=*/"1",
           "Decode rows per parallel iteration of conv_update (one channel "
           "group each; every row's window and input loaded before any "
           "arithmetic)">,
    Option<"decodeConvBlockThreads", "decode-conv-block-threads", "int64_t",
           /*default=*/"0",
           "GPU only: conv_update's loop asks hssm-tile-parallel-loops for "
           "blocks of this many channel groups of one row group "
           "(hssm.tile_sizes; 0: the pipeline's tile)">,
    Option<"decodeScanRows", "decode-scan-rows", "int64_t",
           /*default=*/"1",
           "Decode rows per parallel iteration of state_update (one channel "
           "each; the channel's A is loaded once for them)">,
    Option<"decodeScanSmallBatch", "decode-scan-small-batch", "int64_t",
           /*default=*/"0",
           "With decode-scan-rows above 1: a run-time branch gives decode "
           "batches of at most this many rows one row per parallel "
           "iteration, whose dependent chain is shorter (a batch too small "
           "to fill a GPU is bound by it); larger batches get "
           "decode-scan-rows (0: no branch)">,
    Option<"decodeScanPrefetchBeforeWait", "decode-scan-prefetch-before-wait",
           "bool", /*default=*/"false",
           "GPU only (sm_90, programmatic launch): the one-row-per-thread "
           "state update asks the L2 for its state row, at the slot it reads "
           "from state_indices then, before griddepcontrol.wait (which it "
           "issues itself); after the wait it reads the slot again and the "
           "state, from the L2. Hides the DRAM latency of a small batch "
           "behind the kernel before it. A prefetch changes no value: a "
           "slot read before the wait may be stale, and then only the hint "
           "is wasted">,
    Option<"decodeScanBlockThreads", "decode-scan-block-threads", "int64_t",
           /*default=*/"0",
           "GPU only: state_update's channels run in blocks of this many "
           "consecutive ones of one row group, which gpu.barrier "
           "synchronizes (a GPU block; the loop asks "
           "hssm-tile-parallel-loops for it by hssm.tile_sizes). Where D is a multiple of it, the "
           "block loads the group's B and C once, widened to f32, into "
           "workgroup memory that its threads read (0: each loads its own)">,
    Option<"decodeScanBlockBytes", "decode-scan-block-bytes", "int64_t",
           /*default=*/"0",
           "GPU only, with decode-scan-block-threads: the state update's "
           "loop with decode-scan-rows rows per iteration takes blocks of as "
           "many channels as make this many bytes of each state row, where "
           "that is whole warps, at most 1024, and divides D (0: "
           "decode-scan-block-threads); the one-row loop keeps "
           "decode-scan-block-threads">,
    Option<"decodeScanShuffleStates", "decode-scan-shuffle-states",
           "int64_t", /*default=*/"0",
           "GPU only, with decode-scan-block-threads a multiple of 32: a "
           "channel's row of new states of at least this many bytes (whole "
           "16-byte pieces, a power of two of them) is transposed across "
           "adjacent lanes by xor shuffles, so that each store instruction "
           "writes whole rows, not a piece of every lane's (0: never)">,
    Option<"convTokensPerStep", "conv-tokens-per-step", "int64_t",
           /*default=*/"1",
           "Tokens per iteration of the chunked prefill conv's token loop, "
           "their inputs loaded before the first store">,
    Option<"convBlockThreads", "conv-block-threads", "int64_t",
           /*default=*/"0",
           "GPU only: the chunked prefill conv's loop asks "
           "hssm-tile-parallel-loops for blocks of this many channel groups "
           "of one chunk (hssm.tile_sizes; 0: the pipeline's tile)">,
    Option<"scanTokensPerStep", "scan-tokens-per-step", "int64_t",
           /*default=*/"1",
           "Tokens per iteration of the chunked prefill scan's token loops, "
           "their loads issued before their arithmetic">,
    Option<"scanLanes", "scan-lanes", "int64_t", /*default=*/"0",
           "GPU only: split each channel's N states of the prefill scan "
           "across this many (a power of two) consecutive iterations, lanes "
           "of one warp that exchange values with gpu.shuffle and walk the "
           "tokens once; used where D * lanes is a multiple of 32 (0: off)">,
    Option<"laneScanTokensPerStep", "lane-scan-tokens-per-step", "int64_t",
           /*default=*/"8",
           "Tokens per step of the lane scan, loaded one step ahead">,
    Option<"laneScanBlockThreads", "lane-scan-block-threads", "int64_t",
           /*default=*/"0",
           "GPU only: the lane scan's channel iterations run in blocks of "
           "this many consecutive ones of one row, which gpu.barrier "
           "synchronizes (a GPU block). Where D * lanes is a multiple of it, "
           "the block loads each step's B and C once, widened to f32, into "
           "workgroup memory that its lanes read (0: every lane loads its "
           "own)">,
    Option<"laneScanStageF32", "lane-scan-stage-f32", "bool",
           /*default=*/"true",
           "With lane-scan-block-threads: stage B and C widened to f32 once "
           "per block (false: as stored, widened by each lane after its "
           "shared-memory read, half the bytes read for 16-bit B and C)">,
    Option<"laneScanPrefetchSteps", "lane-scan-prefetch-steps", "int64_t",
           /*default=*/"1",
           "With lane-scan-block-threads: issue each step's global loads "
           "this many steps ahead (1 or 2; with 2, a step's loads wait a "
           "whole step in registers before they are staged, more time for "
           "their latency than one step of arithmetic)">,
    Option<"laneScanLongestFirst", "lane-scan-longest-first", "bool",
           /*default=*/"false",
           "With lane-scan-block-threads (the rows on the grid's z): block "
           "row z scans the z-th longest prefill row, so that long rows "
           "start first (ranked in each block; batch order past "
           "lane-scan-block-threads prefill rows; not in the kernel for "
           "lane-scan-diagonal-rows)">,
    Option<"laneScanDiagonalRows", "lane-scan-diagonal-rows", "int64_t",
           /*default=*/"0",
           "Where a batch has at most this many prefill rows (checked at run "
           "time), a lane-scan step's token groups go through their phases "
           "diagonally: group g + 1's dt and gate and group g - 1's sums and "
           "stores beside group g's recurrence; past it, each phase over the "
           "whole step (0: always the latter)">,
    Option<"laneScanPadOwned", "lane-scan-pad-owned", "bool",
           /*default=*/"true",
           "With lane-scan-block-threads: pad each token's row of the staged "
           "delta, u and z so that the rows a warp's lanes read together "
           "fall in distinct shared-memory banks">,
    Option<"fastMath", "fast-math", "bool", /*default=*/"false",
           "Mark the lowering's float arithmetic `contract` (mul + add may "
           "become one FMA) and the exponentials and divisions of silu and "
           "softplus `afn` (the GPU's approximate exp and division, a few "
           "ulp); softplus's log1p is a polynomial, exact to a few ulps">,
    Option<"channelMajor", "channel-major", "bool", /*default=*/"false",
           "Make channel groups the first dimension of the (row, channel) "
           "loops (blockIdx.x / threadIdx.x once mapped to the GPU)">,
  ];
}

def HSSMFuseCombineIntoProjection : Pass<"hssm-fuse-combine-into-projection"> {
  let summary = "Folds swa + ssm into the projection that produces ssm";
  let description = [{
    When the history branch's output buffer is a local allocation written
    only by an `hssm.linear` (out_proj, after -hssm-decompose) and read only
    by an `hssm.combine`, the combine becomes the GEMM's `C` operand with
    `beta = 1`: `swa` is copied to the combine's output (nothing, when it is
    written in place), the linear accumulates into it, and the temporary
    disappears. One pass over the [T, Hd] output instead of three.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def HSSMLinearToCall : Pass<"hssm-linear-to-call", "::mlir::ModuleOp"> {
  let summary = "Turns hssm.linear into calls of the runtime's GEMM";
  let description = [{
    Each `hssm.linear` without bias whose x and weight have the same element
    type becomes a call of `hssm_linear_<x>_<w>_<out>(x, weight, out,
    accumulate : i32)`, declared with the C interface; the runtime implements
    it with cuBLAS (lib/Runtime/CudaBlas.cpp). Operands are cast to fully
    dynamic strided memrefs. Other linears are left for the loop lowering.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def HSSMWorkgroupAllocas : Pass<"hssm-workgroup-allocas"> {
  let summary = "Makes kernels' workgroup-memory allocas workgroup attributions";
  let description = [{
    The loop lowerings ask for memory shared by a GPU block with a
    `memref.alloca` in `#gpu.address_space<workgroup>` inside the parallel
    loop that becomes the kernel (the lane scan's staged B and C). Once the
    loops are outlined, this pass makes each such alloca in a `gpu.func`
    kernel one of its workgroup attributions (static shared memory, one
    buffer per block), keeping the alloca's alignment, so that
    `convert-gpu-to-nvvm` lowers it. Run on the gpu.module before that.
    Workgroup memory needs a static shape and the identity layout; an
    alloca without them is an error.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def HSSMTileParallelLoops : Pass<"hssm-tile-parallel-loops"> {
  let summary = "Tiles innermost scf.parallel loops, each by its own sizes "
                "where it names them";
  let description = [{
    Upstream's `scf-parallel-loop-tiling` gives every innermost parallel
    loop the same tile, and the tile becomes the GPU block
    (`gpu-map-parallel-loops`). The kernels want different blocks: the
    decode updates run faster in blocks of 64 threads, the prefill conv
    and scan in blocks of 128 (bench/results/r18/variants.txt). A loop
    lowering that wants its own block puts `hssm.tile_sizes` (a
    DenseI64ArrayAttr, one size per dimension) on its scf.parallel; this
    pass tiles such a loop by those sizes and every other innermost loop by
    `tile-sizes`, with upstream's `scf::tileParallelLoop`, and drops the
    attribute. Loops with reductions are left alone, as upstream does.
  }];
  let options = [
    ListOption<"tileSizes", "tile-sizes", "int64_t",
               "Tile sizes of loops that do not name their own">,
    Option<"noMinMaxBounds", "no-min-max-bounds", "bool",
           /*default=*/"false",
           "Inner loops of the full tile size, guarded by an scf.if, "
           "instead of min/max bounds">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect"];
}

def HSSMKernelOccupancy : Pass<"hssm-kernel-occupancy"> {
  let summary = "Asks ptxas for registers that let an SM hold N blocks";
  let description = [{
    Sets `nvvm.maxntid` (block-threads, 1, 1) and `nvvm.minctasm`
    (min-blocks-per-sm) on every kernel of the operation (a gpu.module),
    which become PTX's `.maxntid` and `.minnctapersm`: ptxas then caps
    the registers of a thread at 65536 / (block-threads * N), spilling
    what does not fit. For latency-bound kernels whose register count
    holds too few warps per SM. 0 (the default) changes nothing.
  }];
  let options = [
    Option<"minBlocksPerSm", "min-blocks-per-sm", "int64_t", /*default=*/"0",
           "Blocks an SM should hold at once (0: no bound)">,
    Option<"blockThreads", "block-threads", "int64_t", /*default=*/"0",
           "Threads of a block, at most (the launches' block size)">,
  ];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect"];
}

def HSSMProgrammaticLaunch
    : Pass<"hssm-programmatic-launch", "::mlir::ModuleOp"> {
  let summary = "Lets each kernel launch while the one before it finishes";
  let description = [{
    Programmatic dependent launch (sm_90): every kernel of the module's
    gpu.modules starts with `griddepcontrol.launch_dependents` (the kernel
    after it may be scheduled now) and `griddepcontrol.wait` (nothing of
    this kernel runs until the kernel before it has finished and its
    writes are visible). The next kernel's launch and block scheduling then
    overlap this kernel's run instead of following it: about 0.3 us per
    kernel, which short decode kernels in a CUDA graph feel.

    The wait comes before anything else, so the kernel reads no memory
    that a kernel before it may still be writing; launched the usual way,
    the two instructions do nothing. The kernel's symbol gets the suffix
    `__hssm_pdl` (its gpu.launch_func ops follow): the runtime launches
    exactly those kernels with the programmatic stream serialization
    attribute, which is safe only for a kernel that waits.
  }];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect"];
}

def HSSMLibdeviceFtz : Pass<"hssm-libdevice-ftz"> {
  let summary = "Makes libdevice take its flush-to-zero paths";
  let description = [{
    Adds the module flag `nvvm-reflect-ftz = 1` to the operation (a
    gpu.module) unless it has module flags already. libdevice's exp2f then
    is one `ex2.approx.ftz.f32` (one MUFU op) instead of the IEEE form,
    which wraps it in a range test and two rescaling multiplies; the scan's
    decay exponentials are its bound, so `hssm-lower-to-nvvm` runs this
    when `fast-math` is set. Only libdevice's results flush (below 2^-126,
    far under SPEC.md's tolerances). The functions' own f32 denormal mode
    stays IEEE on purpose: in flush mode the backend turns every bf16 -> f32
    widening into an F2F on the same pipe as the exponentials, where IEEE
    mode makes it an integer shift.
  }];
}

#endif // HSSM_TRANSFORMS_PASSES
