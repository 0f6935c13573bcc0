// RUN: hssm-opt %s -canonicalize | FileCheck %s

// A zero-mode branch is a zero fill of its output; a combine with a branch
// buffer that only ever holds zeros is a copy of the attention output (or
// nothing, in place). Anything else is left alone.

// CHECK-LABEL: func.func @zero_branch_to_fill(
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: !hssm.batch, %[[O:[a-zA-Z0-9_]+]]: memref<?x8xf32>)
// CHECK-NOT:  hssm.history_branch
// CHECK:      %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT:  hssm.history_branch
// CHECK:      linalg.fill ins(%[[ZERO]] : f32) outs(%[[O]] : memref<?x8xf32>)
// CHECK-NOT:  hssm.history_branch
// CHECK:      return
func.func @zero_branch_to_fill(
    %x: memref<?x8xf32>, %w_in: memref<32x8xf32>, %cw: memref<16x4xf32>,
    %cb: memref<16xf32>, %wx: memref<10x16xf32>, %wdt: memref<16x2xf32>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>, %ss: memref<?x16x4xf32>,
    %b: !hssm.batch, %out: memref<?x8xf32>) {
  hssm.history_branch <zero> x(%x : memref<?x8xf32>)
      in_proj(%w_in : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>)
      x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>)
      A(%A : memref<16x4xf32>) D(%D : memref<16xf32>)
      out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>)
      batch(%b) out(%out : memref<?x8xf32>)
  return
}

// The zero is of the output's element type.
// CHECK-LABEL: func.func @zero_branch_to_fill_bf16(
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x8xbf16>)
// CHECK-NOT:  hssm.history_branch
// CHECK:      %[[ZERO:.*]] = arith.constant 0.000000e+00 : bf16
// CHECK:      linalg.fill ins(%[[ZERO]] : bf16) outs(%[[O]] : memref<?x8xbf16>)
// CHECK-NOT:  hssm.history_branch
// CHECK:      return
func.func @zero_branch_to_fill_bf16(
    %x: memref<?x8xbf16>, %w_in: memref<32x8xbf16>, %cw: memref<16x4xbf16>,
    %cb: memref<16xbf16>, %wx: memref<10x16xbf16>, %wdt: memref<16x2xbf16>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xbf16>, %cs: memref<?x3x16xbf16>,
    %ss: memref<?x16x4xbf16>, %b: !hssm.batch, %out: memref<?x8xbf16>) {
  hssm.history_branch <zero> x(%x : memref<?x8xbf16>)
      in_proj(%w_in : memref<32x8xbf16>)
      conv(%cw : memref<16x4xbf16>, %cb : memref<16xbf16>)
      x_proj(%wx : memref<10x16xbf16>)
      dt_proj(%wdt : memref<16x2xbf16>, %bdt : memref<16xf32>)
      A(%A : memref<16x4xf32>) D(%D : memref<16xf32>)
      out_proj(%wo : memref<8x16xbf16>)
      state(%cs : memref<?x3x16xbf16>, %ss : memref<?x16x4xbf16>)
      batch(%b) out(%out : memref<?x8xbf16>)
  return
}

// Negative: a mamba1 branch stays as it is.
// CHECK-LABEL: func.func @mamba1_branch_untouched(
// CHECK-NOT:  linalg.fill
// CHECK:      hssm.history_branch <mamba1> x(%{{[a-z0-9]+}} : memref<?x8xf32>)
// CHECK-SAME: batch(%{{[a-z0-9]+}}) out(%{{[a-z0-9]+}} : memref<?x8xf32>){{$}}
// CHECK-NOT:  linalg.fill
// CHECK:      return
func.func @mamba1_branch_untouched(
    %x: memref<?x8xf32>, %w_in: memref<32x8xf32>, %cw: memref<16x4xf32>,
    %cb: memref<16xf32>, %wx: memref<10x16xf32>, %wdt: memref<16x2xf32>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>, %ss: memref<?x16x4xf32>,
    %b: !hssm.batch, %out: memref<?x8xf32>) {
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>)
      in_proj(%w_in : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>)
      x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>)
      A(%A : memref<16x4xf32>) D(%D : memref<16xf32>)
      out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>)
      batch(%b) out(%out : memref<?x8xf32>)
  return
}

// Negative: a prefix_sum branch stays as well.
// CHECK-LABEL: func.func @prefix_sum_branch_untouched(
// CHECK-NOT:  linalg.fill
// CHECK:      hssm.history_branch <prefix_sum>
// CHECK-NOT:  linalg.fill
// CHECK:      return
func.func @prefix_sum_branch_untouched(
    %x: memref<?x8xf32>, %w_in: memref<32x8xf32>, %cw: memref<16x4xf32>,
    %cb: memref<16xf32>, %wx: memref<10x16xf32>, %wdt: memref<16x2xf32>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>, %ss: memref<?x16x4xf32>,
    %b: !hssm.batch, %out: memref<?x8xf32>) {
  hssm.history_branch <prefix_sum> x(%x : memref<?x8xf32>)
      in_proj(%w_in : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>)
      x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>)
      A(%A : memref<16x4xf32>) D(%D : memref<16xf32>)
      out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>)
      batch(%b) out(%out : memref<?x8xf32>)
  return
}

// CHECK-LABEL: func.func @combine_zero_alloc_to_copy(
// CHECK-SAME: %[[SWA:[a-zA-Z0-9_]+]]: memref<?x8xf32>
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x8xf32>
// CHECK:      %[[TMP:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK:      linalg.fill ins(%{{.*}} : f32) outs(%[[TMP]] : memref<?x8xf32>)
// CHECK-NOT:  hssm.combine
// CHECK:      memref.copy %[[SWA]], %[[O]] : memref<?x8xf32> to memref<?x8xf32>
// CHECK-NOT:  hssm.combine
// CHECK:      memref.dealloc %[[TMP]] : memref<?x8xf32>
// CHECK-NEXT: return
func.func @combine_zero_alloc_to_copy(%swa: memref<?x8xf32>,
                                      %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %t = memref.dim %swa, %c0 : memref<?x8xf32>
  %tmp = memref.alloc(%t) : memref<?x8xf32>
  linalg.fill ins(%zero : f32) outs(%tmp : memref<?x8xf32>)
  hssm.combine swa(%swa : memref<?x8xf32>) ssm(%tmp : memref<?x8xf32>)
      out(%out : memref<?x8xf32>)
  memref.dealloc %tmp : memref<?x8xf32>
  return
}

// In place (out is swa): nothing is left to do.
// CHECK-LABEL: func.func @combine_zero_alloc_in_place(
// CHECK-SAME: %[[SWA:[a-zA-Z0-9_]+]]: memref<?x8xbf16>
// CHECK:      %[[TMP:.*]] = memref.alloc(%{{.*}}) : memref<?x8xbf16>
// CHECK:      linalg.fill ins(%{{.*}} : bf16) outs(%[[TMP]] : memref<?x8xbf16>)
// CHECK-NEXT: memref.dealloc %[[TMP]] : memref<?x8xbf16>
// CHECK-NEXT: return
// CHECK-NOT:  hssm.combine
// CHECK-NOT:  memref.copy
func.func @combine_zero_alloc_in_place(%swa: memref<?x8xbf16>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : bf16
  %t = memref.dim %swa, %c0 : memref<?x8xbf16>
  %tmp = memref.alloc(%t) : memref<?x8xbf16>
  linalg.fill ins(%zero : bf16) outs(%tmp : memref<?x8xbf16>)
  hssm.combine swa(%swa : memref<?x8xbf16>) ssm(%tmp : memref<?x8xbf16>)
      out(%swa : memref<?x8xbf16>)
  memref.dealloc %tmp : memref<?x8xbf16>
  return
}

// The two rewrites together: a zero branch into a temporary, then combined.
// CHECK-LABEL: func.func @zero_branch_then_combine(
// CHECK-SAME: !hssm.batch, %[[SWA:[a-zA-Z0-9_]+]]: memref<?x8xf32>, %[[O:[a-zA-Z0-9_]+]]: memref<?x8xf32>)
// CHECK-NOT:  hssm.history_branch
// CHECK-NOT:  hssm.combine
// CHECK:      linalg.fill
// CHECK-NEXT: memref.copy %[[SWA]], %[[O]] : memref<?x8xf32> to memref<?x8xf32>
// CHECK-NOT:  hssm.combine
// CHECK:      return
func.func @zero_branch_then_combine(
    %x: memref<?x8xf32>, %w_in: memref<32x8xf32>, %cw: memref<16x4xf32>,
    %cb: memref<16xf32>, %wx: memref<10x16xf32>, %wdt: memref<16x2xf32>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>, %ss: memref<?x16x4xf32>,
    %b: !hssm.batch, %swa: memref<?x8xf32>, %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?x8xf32>
  %tmp = memref.alloc(%t) : memref<?x8xf32>
  hssm.history_branch <zero> x(%x : memref<?x8xf32>)
      in_proj(%w_in : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>)
      x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>)
      A(%A : memref<16x4xf32>) D(%D : memref<16xf32>)
      out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>)
      batch(%b) out(%tmp : memref<?x8xf32>)
  hssm.combine swa(%swa : memref<?x8xf32>) ssm(%tmp : memref<?x8xf32>)
      out(%out : memref<?x8xf32>)
  memref.dealloc %tmp : memref<?x8xf32>
  return
}

// Negative: the temporary is filled with a non-zero value.
// CHECK-LABEL: func.func @combine_nonzero_fill_untouched(
// CHECK-SAME: %[[SWA:[a-zA-Z0-9_]+]]: memref<?x8xf32>
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x8xf32>
// CHECK:      %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK:      %[[TMP:.*]] = memref.alloc
// CHECK:      linalg.fill ins(%[[ONE]] : f32) outs(%[[TMP]] : memref<?x8xf32>)
// CHECK-NEXT: hssm.combine swa(%[[SWA]] : memref<?x8xf32>) ssm(%[[TMP]] : memref<?x8xf32>) out(%[[O]] : memref<?x8xf32>)
// CHECK-NOT:  memref.copy
func.func @combine_nonzero_fill_untouched(%swa: memref<?x8xf32>,
                                          %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %t = memref.dim %swa, %c0 : memref<?x8xf32>
  %tmp = memref.alloc(%t) : memref<?x8xf32>
  linalg.fill ins(%one : f32) outs(%tmp : memref<?x8xf32>)
  hssm.combine swa(%swa : memref<?x8xf32>) ssm(%tmp : memref<?x8xf32>)
      out(%out : memref<?x8xf32>)
  memref.dealloc %tmp : memref<?x8xf32>
  return
}

// Negative: zero-filled, but then written by another op.
// CHECK-LABEL: func.func @combine_alloc_written_untouched(
// CHECK:      %[[TMP:.*]] = memref.alloc
// CHECK:      linalg.fill ins(%{{.*}} : f32) outs(%[[TMP]] : memref<?x8xf32>)
// CHECK-NEXT: hssm.linear x(%{{.*}} : memref<?x4xf32>) weight(%{{.*}} : memref<8x4xf32>) out(%[[TMP]] : memref<?x8xf32>) {accumulate}
// CHECK-NEXT: hssm.combine swa(%{{.*}} : memref<?x8xf32>) ssm(%[[TMP]] : memref<?x8xf32>) out(%{{.*}} : memref<?x8xf32>)
// CHECK-NOT:  memref.copy
func.func @combine_alloc_written_untouched(%swa: memref<?x8xf32>,
                                           %x: memref<?x4xf32>,
                                           %w: memref<8x4xf32>,
                                           %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %t = memref.dim %swa, %c0 : memref<?x8xf32>
  %tmp = memref.alloc(%t) : memref<?x8xf32>
  linalg.fill ins(%zero : f32) outs(%tmp : memref<?x8xf32>)
  hssm.linear x(%x : memref<?x4xf32>) weight(%w : memref<8x4xf32>)
      out(%tmp : memref<?x8xf32>) {accumulate}
  hssm.combine swa(%swa : memref<?x8xf32>) ssm(%tmp : memref<?x8xf32>)
      out(%out : memref<?x8xf32>)
  memref.dealloc %tmp : memref<?x8xf32>
  return
}

// Negative: a zero-filled buffer that is not a local allocation (the caller
// may see it) is not assumed to stay zero.
// CHECK-LABEL: func.func @combine_argument_untouched(
// CHECK-SAME: %[[SWA:[a-zA-Z0-9_]+]]: memref<?x8xf32>
// CHECK-SAME: %[[S:[a-zA-Z0-9_]+]]: memref<?x8xf32>
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x8xf32>
// CHECK:      linalg.fill ins(%{{.*}} : f32) outs(%[[S]] : memref<?x8xf32>)
// CHECK-NEXT: hssm.combine swa(%[[SWA]] : memref<?x8xf32>) ssm(%[[S]] : memref<?x8xf32>) out(%[[O]] : memref<?x8xf32>)
// CHECK-NOT:  memref.copy
func.func @combine_argument_untouched(%swa: memref<?x8xf32>,
                                      %ssm: memref<?x8xf32>,
                                      %out: memref<?x8xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%ssm : memref<?x8xf32>)
  hssm.combine swa(%swa : memref<?x8xf32>) ssm(%ssm : memref<?x8xf32>)
      out(%out : memref<?x8xf32>)
  return
}
