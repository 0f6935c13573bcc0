// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops -verify-diagnostics

// The loops read the batch buffers and counts from the hssm.batch op: a
// batch passed in as a block argument cannot be lowered, and the pass fails
// before rewriting anything.

// expected-error @+1 {{an !hssm.batch block argument cannot be lowered}}
func.func @conv1d_batch_argument(%b: !hssm.batch, %x: memref<?x16xf32>,
                                 %w: memref<16x4xf32>,
                                 %cs: memref<?x3x16xf32>) {
  hssm.conv1d x(%x : memref<?x16xf32>) weight(%w : memref<16x4xf32>)
      state(%cs : memref<?x3x16xf32>) batch(%b) out(%x : memref<?x16xf32>)
  return
}

// -----

// A batch that comes from elsewhere than hssm.batch (here a cast) is
// reported by the op that needs it.
func.func @state_update_batch_from_cast(%u: memref<?x16xf32>,
                                        %A: memref<16x4xf32>,
                                        %B: memref<?x4xf32>, %D: memref<16xf32>,
                                        %ss: memref<?x16x4xf32>, %i: i64) {
  %b = builtin.unrealized_conversion_cast %i : i64 to !hssm.batch
  // expected-error @+2 {{'hssm.state_update' op needs its batch from an hssm.batch op to be lowered}}
  // expected-error @+1 {{'hssm.state_update' op was not lowered to loops}}
  hssm.state_update u(%u : memref<?x16xf32>) delta(%u : memref<?x16xf32>)
      A(%A : memref<16x4xf32>) B(%B : memref<?x4xf32>) C(%B : memref<?x4xf32>)
      D(%D : memref<16xf32>) state(%ss : memref<?x16x4xf32>) batch(%b)
      out(%u : memref<?x16xf32>)
  return
}

// -----

func.func @segmented_batch_from_cast(%x: memref<?x16xf32>, %i: i64) {
  %b = builtin.unrealized_conversion_cast %i : i64 to !hssm.batch
  // expected-error @+2 {{'hssm.segmented_prefix_sum' op needs its batch from an hssm.batch op to be lowered}}
  // expected-error @+1 {{was not lowered to loops}}
  hssm.segmented_prefix_sum x(%x : memref<?x16xf32>) batch(%b)
      out(%x : memref<?x16xf32>)
  return
}

// -----

// A history_branch is not a primitive: -hssm-decompose must run first.
func.func @history_branch_not_decomposed(
    %x: memref<?x8xf32>, %w_in: memref<32x8xf32>, %cw: memref<16x4xf32>,
    %cb: memref<16xf32>, %wx: memref<10x16xf32>, %wdt: memref<16x2xf32>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>, %ss: memref<?x16x4xf32>,
    %qsl: memref<?xi32>, %si: memref<?xi32>, %init: memref<?xi8>,
    %n: index, %o: memref<?x8xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%n, %n) prefills(%n, %n)
  // expected-error @+1 {{'hssm.history_branch' op was not lowered to loops}}
  hssm.history_branch <zero> x(%x : memref<?x8xf32>)
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
