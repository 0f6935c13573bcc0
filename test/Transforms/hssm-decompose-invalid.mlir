// RUN: hssm-opt %s -split-input-file -hssm-decompose -verify-diagnostics

// What -hssm-decompose cannot decompose.

// A mamba1 branch needs a static D for the column views of xz.
func.func @mamba1_dynamic_inner(
    %x: memref<?x8xf32>, %w_in: memref<?x8xf32>, %cw: memref<?x4xf32>,
    %cb: memref<?xf32>, %wx: memref<10x?xf32>, %wdt: memref<?x2xf32>,
    %bdt: memref<?xf32>, %A: memref<?x4xf32>, %D: memref<?xf32>,
    %wo: memref<8x?xf32>, %cs: memref<?x3x?xf32>, %ss: memref<?x?x4xf32>,
    %b: !hssm.batch, %o: memref<?x8xf32>) {
  // expected-error @+1 {{'hssm.history_branch' op needs static D (conv_weight dimension 0) and R (dt_proj dimension 1) to be decomposed}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>)
      in_proj(%w_in : memref<?x8xf32>)
      conv(%cw : memref<?x4xf32>, %cb : memref<?xf32>)
      x_proj(%wx : memref<10x?xf32>)
      dt_proj(%wdt : memref<?x2xf32>, %bdt : memref<?xf32>)
      A(%A : memref<?x4xf32>) D(%D : memref<?xf32>)
      out_proj(%wo : memref<8x?xf32>)
      state(%cs : memref<?x3x?xf32>, %ss : memref<?x?x4xf32>)
      batch(%b) out(%o : memref<?x8xf32>)
  return
}

// -----

// ... and a static R for the views of x_dbl.
func.func @mamba1_dynamic_rank(
    %x: memref<?x8xf32>, %w_in: memref<32x8xf32>, %cw: memref<16x4xf32>,
    %cb: memref<16xf32>, %wx: memref<?x16xf32>, %wdt: memref<16x?xf32>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>, %ss: memref<?x16x4xf32>,
    %b: !hssm.batch, %o: memref<?x8xf32>) {
  // expected-error @+1 {{needs static D (conv_weight dimension 0) and R (dt_proj dimension 1)}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>)
      in_proj(%w_in : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>)
      x_proj(%wx : memref<?x16xf32>)
      dt_proj(%wdt : memref<16x?xf32>, %bdt : memref<16xf32>)
      A(%A : memref<16x4xf32>) D(%D : memref<16xf32>)
      out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>)
      batch(%b) out(%o : memref<?x8xf32>)
  return
}

// -----

// A prefix_sum branch reads its count from the hssm.batch op.
func.func @prefix_sum_batch_argument(
    %x: memref<?x8xf32>, %w_in: memref<32x8xf32>, %cw: memref<16x4xf32>,
    %cb: memref<16xf32>, %wx: memref<10x16xf32>, %wdt: memref<16x2xf32>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>, %ss: memref<?x16x4xf32>,
    %b: !hssm.batch, %o: memref<?x8xf32>) {
  // expected-error @+1 {{needs its batch from an hssm.batch op to be decomposed}}
  hssm.history_branch <prefix_sum> x(%x : memref<?x8xf32>)
      in_proj(%w_in : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>)
      x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>)
      A(%A : memref<16x4xf32>) D(%D : memref<16xf32>)
      out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>)
      batch(%b) out(%o : memref<?x8xf32>)
  return
}
