//===- HSSMOps.td - The hssm dialect -----------------------*- tablegen -*-===//
//
// Ops of the Mamba-style history branch of hybrid attention layers
// (SPEC.md). They work on memrefs: the state pool is updated in place and
// buffers are owned by the caller, so every operand declares whether it is
// read, written or both.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_OPS
#define HSSM_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Dialect
//===----------------------------------------------------------------------===//

def HSSM_Dialect : Dialect {
  let name = "hssm";
  let cppNamespace = "::mlir::hssm";
  let summary = "Mamba-style state-space history branch of hybrid attention";
  let description = [{
    Models one scheduler step of the SSM history branch that hybrid models add
    to sliding-window attention: the flattened batch of decodes and prefills,
    the per-slot state pool, the causal conv1d, the selective scan, the
    decode-time updates, the projections and the combine with attention.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasCanonicalizer = 0;
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

class HSSM_Op<string mnemonic, list<Trait> traits = []>
    : Op<HSSM_Dialect, mnemonic, traits>;

//===----------------------------------------------------------------------===//
// Types, attributes, constraints
//===----------------------------------------------------------------------===//

def HSSM_BatchType : TypeDef<HSSM_Dialect, "Batch"> {
  let mnemonic = "batch";
  let summary = "one step's batch metadata";
  let description = [{
    The metadata of one flattened batch (SPEC.md section 3), produced by
    `hssm.batch`. The ops that walk sequences take it as one value.
  }];
  let builderCall = "$_builder.getType<::mlir::hssm::BatchType>()";
}

def HSSM_ModeZero : I32EnumAttrCase<"zero", 0>;
def HSSM_ModePrefixSum : I32EnumAttrCase<"prefix_sum", 1>;
def HSSM_ModeMamba1 : I32EnumAttrCase<"mamba1", 2>;
def HSSM_BranchMode : I32EnumAttr<"BranchMode", "history branch mode",
    [HSSM_ModeZero, HSSM_ModePrefixSum, HSSM_ModeMamba1]> {
  let cppNamespace = "::mlir::hssm";
  let genSpecializedAttr = 0;
}
def HSSM_BranchModeAttr : EnumAttr<HSSM_Dialect, HSSM_BranchMode, "mode"> {
  let assemblyFormat = "`<` $value `>`";
}

// Storage element types (SPEC.md section 2).
defvar HSSM_StorageTypes = [F32, F16, BF16];
def HSSM_Act1D : MemRefRankOf<HSSM_StorageTypes, [1]>;
def HSSM_Act2D : MemRefRankOf<HSSM_StorageTypes, [2]>;
def HSSM_F32_1D : MemRefRankOf<[F32], [1]>;
def HSSM_F32_2D : MemRefRankOf<[F32], [2]>;
def HSSM_State2D : MemRefRankOf<HSSM_StorageTypes, [2]>;
def HSSM_State3D : MemRefRankOf<HSSM_StorageTypes, [3]>;
def HSSM_I32_1D : MemRefRankOf<[I32], [1]>;
def HSSM_I8_1D : MemRefRankOf<[I8], [1]>;

def HSSM_PadSlotAttr : DefaultValuedAttr<
    ConfinedAttr<I64Attr, [IntMinValue<-1>]>, "-1">;

//===----------------------------------------------------------------------===//
// Batch metadata
//===----------------------------------------------------------------------===//

def HSSM_BatchOp : HSSM_Op<"batch", [Pure]> {
  let summary = "bundles one step's batch metadata";
  let description = [{
    Names the buffers and counts of one flattened batch: decodes (one token
    each) come first, then prefills. `dst_state_indices` is optional and
    defaults to `state_indices`. The op reads nothing; the ops that take the
    batch read the buffers.

    ```mlir
    %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
           state_indices(%si : memref<?xi32>)
           has_initial_state(%init : memref<?xi8>)
           decodes(%nd, %ndt) prefills(%np, %npt)
    ```
  }];
  let arguments = (ins HSSM_I32_1D:$query_start_loc,
                       HSSM_I32_1D:$state_indices,
                       Optional<HSSM_I32_1D>:$dst_state_indices,
                       HSSM_I8_1D:$has_initial_state,
                       Index:$num_decodes, Index:$num_decode_tokens,
                       Index:$num_prefills, Index:$num_prefill_tokens);
  let results = (outs HSSM_BatchType:$batch);
  let assemblyFormat = [{
    `query_start_loc` `(` $query_start_loc `:` type($query_start_loc) `)`
    `state_indices` `(` $state_indices `:` type($state_indices) `)`
    (`dst_state_indices` `(` $dst_state_indices^ `:` type($dst_state_indices) `)`)?
    `has_initial_state` `(` $has_initial_state `:` type($has_initial_state) `)`
    `decodes` `(` $num_decodes `,` $num_decode_tokens `)`
    `prefills` `(` $num_prefills `,` $num_prefill_tokens `)`
    attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Conv1d
//===----------------------------------------------------------------------===//

class HSSM_ConvOp<string mnemonic, string rows> : HSSM_Op<mnemonic> {
  let arguments = (ins
    Arg<HSSM_Act2D, "inputs [T, D]", [MemRead]>:$x,
    Arg<HSSM_Act2D, "weight [D, W]", [MemRead]>:$weight,
    Arg<Optional<HSSM_Act1D>, "bias [D]", [MemRead]>:$bias,
    Arg<HSSM_State3D, "conv state pool [slots, W-1, D]",
        [MemRead, MemWrite]>:$conv_state,
    HSSM_BatchType:$batch,
    Arg<HSSM_Act2D, "outputs [T, D]", [MemWrite]>:$out,
    UnitAttr:$silu,
    HSSM_PadSlotAttr:$pad_slot_id);
  let assemblyFormat = [{
    `x` `(` $x `:` type($x) `)`
    `weight` `(` $weight `:` type($weight) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    `state` `(` $conv_state `:` type($conv_state) `)`
    `batch` `(` $batch `)`
    `out` `(` $out `:` type($out) `)`
    attr-dict
  }];
  let hasVerifier = 1;
}

def HSSM_Conv1dOp : HSSM_ConvOp<"conv1d", "prefill"> {
  let summary = "varlen causal conv1d over the prefill rows, with conv state";
  let description = [{
    For each prefill row (rows `num_decodes ..`) and channel d:
    `out[t, d] = act(bias[d] + sum_k weight[d, k] * x[t - (W-1) + k, d])`,
    where inputs before the row's first token come from the row's conv-state
    slot when it has an initial state, else zero, and `act` is silu when
    `silu` is set. Afterwards the destination slot holds the row's last W-1
    raw inputs, oldest first. Pad rows write zeros and touch no slot.

    ```mlir
    hssm.conv1d x(%x : memref<?x1536xf32>) weight(%w : memref<1536x4xf32>)
      bias(%b : memref<1536xf32>) state(%cs : memref<?x3x1536xf32>)
      batch(%batch) out(%o : memref<?x1536xf32>) {silu}
    ```
  }];
}

def HSSM_ConvUpdateOp : HSSM_ConvOp<"conv_update", "decode"> {
  let summary = "one-token conv update for the decode rows";
  let description = [{
    The decode form of `hssm.conv1d`: each decode row (rows `0 ..
    num_decodes`) has one token and always reads its slot; the window is
    shifted by one and written to the destination slot.

    ```mlir
    hssm.conv_update x(%x : memref<?x1536xf32>) weight(%w : memref<1536x4xf32>)
      state(%cs : memref<?x3x1536xf32>) batch(%batch)
      out(%o : memref<?x1536xf32>) {silu}
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Selective scan
//===----------------------------------------------------------------------===//

class HSSM_ScanOp<string mnemonic> : HSSM_Op<mnemonic,
    [AttrSizedOperandSegments]> {
  let arguments = (ins
    Arg<HSSM_Act2D, "conv output u [T, D]", [MemRead]>:$u,
    Arg<HSSM_Act2D, "time step [T, D]", [MemRead]>:$delta,
    Arg<HSSM_F32_2D, "A [D, N]", [MemRead]>:$A,
    Arg<HSSM_Act2D, "B [T, N]", [MemRead]>:$B,
    Arg<HSSM_Act2D, "C [T, N]", [MemRead]>:$C,
    Arg<HSSM_F32_1D, "skip D [D]", [MemRead]>:$D,
    Arg<Optional<HSSM_Act2D>, "gate z [T, D]", [MemRead]>:$z,
    Arg<Optional<HSSM_F32_1D>, "time-step bias [D]", [MemRead]>:$delta_bias,
    Arg<HSSM_State3D, "SSM state pool [slots, D, N]",
        [MemRead, MemWrite]>:$ssm_state,
    HSSM_BatchType:$batch,
    Arg<HSSM_Act2D, "outputs y [T, D]", [MemWrite]>:$out,
    UnitAttr:$delta_softplus,
    HSSM_PadSlotAttr:$pad_slot_id);
  let assemblyFormat = [{
    `u` `(` $u `:` type($u) `)`
    `delta` `(` $delta `:` type($delta) `)`
    `A` `(` $A `:` type($A) `)`
    `B` `(` $B `:` type($B) `)`
    `C` `(` $C `:` type($C) `)`
    `D` `(` $D `:` type($D) `)`
    (`z` `(` $z^ `:` type($z) `)`)?
    (`delta_bias` `(` $delta_bias^ `:` type($delta_bias) `)`)?
    `state` `(` $ssm_state `:` type($ssm_state) `)`
    `batch` `(` $batch `)`
    `out` `(` $out `:` type($out) `)`
    attr-dict
  }];
  let hasVerifier = 1;
}

def HSSM_SelectiveScanOp : HSSM_ScanOp<"selective_scan"> {
  let summary = "varlen selective scan over the prefill rows, with SSM state";
  let description = [{
    For each prefill row and channel d, over the row's tokens in order
    (SPEC.md section 2): `dt = softplus(delta + delta_bias)` (softplus when
    `delta_softplus` is set), `h = exp(dt * A) * h + dt * B * u`,
    `out = (C . h + D * u) * silu(z)`. `h` starts from the row's slot when it
    has an initial state, else zero; the final `h` goes to the destination
    slot. Pad rows write zeros and touch no slot.

    ```mlir
    hssm.selective_scan u(%u : memref<?x1536xf32>) delta(%dt : memref<?x1536xf32>)
      A(%A : memref<1536x16xf32>) B(%B : memref<?x16xf32>) C(%C : memref<?x16xf32>)
      D(%D : memref<1536xf32>) z(%z : memref<?x1536xf32>)
      delta_bias(%db : memref<1536xf32>) state(%ss : memref<?x1536x16xf32>)
      batch(%batch) out(%y : memref<?x1536xf32>) {delta_softplus}
    ```
  }];
}

def HSSM_StateUpdateOp : HSSM_ScanOp<"state_update"> {
  let summary = "one-token SSM state update for the decode rows";
  let description = [{
    The decode form of `hssm.selective_scan`: one step of the recurrence per
    decode row, always from the row's slot.

    ```mlir
    hssm.state_update u(%u : memref<?x1536xf32>) delta(%dt : memref<?x1536xf32>)
      A(%A : memref<1536x16xf32>) B(%B : memref<?x16xf32>) C(%C : memref<?x16xf32>)
      D(%D : memref<1536xf32>) state(%ss : memref<?x1536x16xf32>)
      batch(%batch) out(%y : memref<?x1536xf32>)
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Projections, combine, prefix sums
//===----------------------------------------------------------------------===//

def HSSM_LinearOp : HSSM_Op<"linear"> {
  let summary = "a projection: out = x * weight^T (+ bias) (+ out)";
  let description = [{
    `out[t, m] = sum_k x[t, k] * weight[m, k] + bias[m]`, accumulated in
    fp32. With `accumulate`, the product is added to what `out` holds (the
    combine of SWA and SSM folded into out_proj as `C` with `beta = 1`).

    ```mlir
    hssm.linear x(%x : memref<?x768xf32>) weight(%w : memref<3072x768xf32>)
      out(%xz : memref<?x3072xf32>)
    ```
  }];
  let arguments = (ins
    Arg<HSSM_Act2D, "x [T, K]", [MemRead]>:$x,
    Arg<HSSM_Act2D, "weight [M, K]", [MemRead]>:$weight,
    Arg<Optional<HSSM_Act1D>, "bias [M]", [MemRead]>:$bias,
    Arg<HSSM_Act2D, "out [T, M]", [MemRead, MemWrite]>:$out,
    UnitAttr:$accumulate);
  let assemblyFormat = [{
    `x` `(` $x `:` type($x) `)`
    `weight` `(` $weight `:` type($weight) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    `out` `(` $out `:` type($out) `)`
    attr-dict
  }];
  let hasVerifier = 1;
}

def HSSM_CombineOp : HSSM_Op<"combine"> {
  let summary = "adds the history branch to the attention output";
  let description = [{
    `out = swa + ssm`, elementwise over `[T, Hd]`, in fp32. `out` may alias
    `swa`.

    ```mlir
    hssm.combine swa(%a : memref<?x768xf32>) ssm(%s : memref<?x768xf32>)
      out(%a : memref<?x768xf32>)
    ```
  }];
  let arguments = (ins
    Arg<HSSM_Act2D, "attention output [T, Hd]", [MemRead]>:$swa,
    Arg<HSSM_Act2D, "history branch [T, Hd]", [MemRead]>:$ssm,
    Arg<HSSM_Act2D, "sum [T, Hd]", [MemWrite]>:$out);
  let assemblyFormat = [{
    `swa` `(` $swa `:` type($swa) `)`
    `ssm` `(` $ssm `:` type($ssm) `)`
    `out` `(` $out `:` type($out) `)`
    attr-dict
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def HSSM_PrefixSumOp : HSSM_Op<"prefix_sum"> {
  let summary = "flat prefix sum over the first `count` tokens";
  let description = [{
    SPEC.md section 4: `out[t] = sum_{t' <= t} x[t']` for `t < count`, zero
    for the other tokens. No state, no reset at sequence boundaries.

    ```mlir
    hssm.prefix_sum x(%x : memref<?x768xf32>) count(%n)
      out(%o : memref<?x768xf32>)
    ```
  }];
  let arguments = (ins
    Arg<HSSM_Act2D, "x [T, Hd]", [MemRead]>:$x,
    Index:$count,
    Arg<HSSM_Act2D, "out [T, Hd]", [MemWrite]>:$out);
  let assemblyFormat = [{
    `x` `(` $x `:` type($x) `)` `count` `(` $count `)`
    `out` `(` $out `:` type($out) `)` attr-dict
  }];
  let hasVerifier = 1;
}

def HSSM_SegmentedPrefixSumOp : HSSM_Op<"segmented_prefix_sum"> {
  let summary = "prefix sum that resets per sequence and continues from state";
  let description = [{
    Per row of the batch, a running sum over the row's tokens, started from
    the row's state slot (`[slots, Hd]`) when it has an initial state (decode
    rows always do) and written back to the destination slot. Without a state
    operand every row starts from zero. Pad rows write zeros.

    ```mlir
    hssm.segmented_prefix_sum x(%x : memref<?x768xf32>)
      state(%s : memref<?x768xf32>) batch(%b) out(%o : memref<?x768xf32>)
    ```
  }];
  let arguments = (ins
    Arg<HSSM_Act2D, "x [T, Hd]", [MemRead]>:$x,
    Arg<Optional<HSSM_State2D>, "state pool [slots, Hd]",
        [MemRead, MemWrite]>:$state,
    HSSM_BatchType:$batch,
    Arg<HSSM_Act2D, "out [T, Hd]", [MemWrite]>:$out,
    HSSM_PadSlotAttr:$pad_slot_id);
  let assemblyFormat = [{
    `x` `(` $x `:` type($x) `)`
    (`state` `(` $state^ `:` type($state) `)`)?
    `batch` `(` $batch `)`
    `out` `(` $out `:` type($out) `)` attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// The whole branch
//===----------------------------------------------------------------------===//

def HSSM_HistoryBranchOp : HSSM_Op<"history_branch"> {
  let summary = "the whole SSM history branch of one step";
  let description = [{
    SPEC.md section 2 over a whole flattened batch: the op a user writes.
    `mode` picks `zero` (writes zeros), `prefix_sum` (the flat test rule over
    the prefill tokens) or `mamba1` (in_proj, conv1d, x_proj, dt_proj, the
    selective scan and out_proj, with conv and SSM state in the pool).

    ```mlir
    hssm.history_branch <mamba1> x(%x : memref<?x768xf32>)
      in_proj(%wi : memref<3072x768xf32>)
      conv(%cw : memref<1536x4xf32>, %cb : memref<1536xf32>)
      x_proj(%wx : memref<80x1536xf32>)
      dt_proj(%wdt : memref<1536x48xf32>, %bdt : memref<1536xf32>)
      A(%A : memref<1536x16xf32>) D(%D : memref<1536xf32>)
      out_proj(%wo : memref<768x1536xf32>)
      state(%cs : memref<?x3x1536xf32>, %ss : memref<?x1536x16xf32>)
      batch(%b) out(%o : memref<?x768xf32>)
    ```
  }];
  let arguments = (ins
    HSSM_BranchModeAttr:$mode,
    Arg<HSSM_Act2D, "x_in [T, Hd]", [MemRead]>:$x,
    Arg<HSSM_Act2D, "W_in [2D, Hd]", [MemRead]>:$in_proj,
    Arg<HSSM_Act2D, "conv weight [D, W]", [MemRead]>:$conv_weight,
    Arg<HSSM_Act1D, "conv bias [D]", [MemRead]>:$conv_bias,
    Arg<HSSM_Act2D, "W_x [R + 2N, D]", [MemRead]>:$x_proj,
    Arg<HSSM_Act2D, "W_dt [D, R]", [MemRead]>:$dt_proj,
    Arg<HSSM_F32_1D, "b_dt [D]", [MemRead]>:$dt_bias,
    Arg<HSSM_F32_2D, "A [D, N]", [MemRead]>:$A,
    Arg<HSSM_F32_1D, "Dskip [D]", [MemRead]>:$D,
    Arg<HSSM_Act2D, "W_out [Hd, D]", [MemRead]>:$out_proj,
    Arg<HSSM_State3D, "conv state pool [slots, W-1, D]",
        [MemRead, MemWrite]>:$conv_state,
    Arg<HSSM_State3D, "SSM state pool [slots, D, N]",
        [MemRead, MemWrite]>:$ssm_state,
    HSSM_BatchType:$batch,
    Arg<HSSM_Act2D, "out [T, Hd]", [MemWrite]>:$out,
    HSSM_PadSlotAttr:$pad_slot_id);
  let assemblyFormat = [{
    $mode
    `x` `(` $x `:` type($x) `)`
    `in_proj` `(` $in_proj `:` type($in_proj) `)`
    `conv` `(` $conv_weight `:` type($conv_weight) `,`
               $conv_bias `:` type($conv_bias) `)`
    `x_proj` `(` $x_proj `:` type($x_proj) `)`
    `dt_proj` `(` $dt_proj `:` type($dt_proj) `,`
                  $dt_bias `:` type($dt_bias) `)`
    `A` `(` $A `:` type($A) `)`
    `D` `(` $D `:` type($D) `)`
    `out_proj` `(` $out_proj `:` type($out_proj) `)`
    `state` `(` $conv_state `:` type($conv_state) `,`
                $ssm_state `:` type($ssm_state) `)`
    `batch` `(` $batch `)`
    `out` `(` $out `:` type($out) `)`
    attr-dict
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

#endif // HSSM_OPS
