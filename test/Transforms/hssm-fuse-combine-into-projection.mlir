// RUN: hssm-opt %s -hssm-decompose -hssm-fuse-combine-into-projection | FileCheck %s

// The attention output is updated in place: out_proj accumulates into it
// (beta = 1), the branch's temporary output is gone.
// CHECK-LABEL: func.func @layer_in_place(
// CHECK-SAME: %[[SWA:[a-z0-9_]+]]: memref<?x16xf32>
// CHECK-NOT: memref.copy
// CHECK: hssm.linear x(%{{.*}} : memref<?x32xf32>) weight(%{{.*}} : memref<16x32xf32>) out(%[[SWA]] : memref<?x16xf32>) {accumulate}
// CHECK-NOT: hssm.combine
// CHECK-NOT: memref.alloc(%{{.*}}) : memref<?x16xf32>
// CHECK: return
func.func @layer_in_place(%swa: memref<?x16xf32>, %w_in: memref<64x16xf32>,
    %cw: memref<32x4xf32>, %cb: memref<32xf32>, %wx: memref<34x32xf32>,
    %wdt: memref<32x2xf32>, %bdt: memref<32xf32>, %A: memref<32x16xf32>,
    %D: memref<32xf32>, %wo: memref<16x32xf32>, %cs: memref<?x3x32xf32>,
    %ss: memref<?x32x16xf32>, %qsl: memref<?xi32>, %si: memref<?xi32>,
    %init: memref<?xi8>, %n: index, %x: memref<?x16xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?x16xf32>
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%n, %n) prefills(%n, %n)
  %s = memref.alloc(%t) : memref<?x16xf32>
  hssm.history_branch <mamba1> x(%x : memref<?x16xf32>)
      in_proj(%w_in : memref<64x16xf32>)
      conv(%cw : memref<32x4xf32>, %cb : memref<32xf32>)
      x_proj(%wx : memref<34x32xf32>)
      dt_proj(%wdt : memref<32x2xf32>, %bdt : memref<32xf32>)
      A(%A : memref<32x16xf32>) D(%D : memref<32xf32>)
      out_proj(%wo : memref<16x32xf32>)
      state(%cs : memref<?x3x32xf32>, %ss : memref<?x32x16xf32>)
      batch(%b) out(%s : memref<?x16xf32>)
  hssm.combine swa(%swa : memref<?x16xf32>) ssm(%s : memref<?x16xf32>)
      out(%swa : memref<?x16xf32>)
  memref.dealloc %s : memref<?x16xf32>
  return
}

// Into a separate output: copy swa there first, then accumulate.
// CHECK-LABEL: func.func @layer_out_of_place(
// CHECK-SAME: %[[A:[a-z0-9_]+]]: memref<?x16xf32>, %[[O:[a-z0-9_]+]]: memref<?x16xf32>
// CHECK: memref.copy %[[A]], %[[O]] : memref<?x16xf32> to memref<?x16xf32>
// CHECK-NEXT: hssm.linear x(%{{.*}} : memref<?x32xf32>) weight(%{{.*}} : memref<16x32xf32>) out(%[[O]] : memref<?x16xf32>) {accumulate}
// CHECK-NOT: hssm.combine
func.func @layer_out_of_place(%a: memref<?x16xf32>, %o: memref<?x16xf32>,
    %y: memref<?x32xf32>, %wo: memref<16x32xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %a, %c0 : memref<?x16xf32>
  %s = memref.alloc(%t) : memref<?x16xf32>
  hssm.linear x(%y : memref<?x32xf32>) weight(%wo : memref<16x32xf32>)
      out(%s : memref<?x16xf32>)
  hssm.combine swa(%a : memref<?x16xf32>) ssm(%s : memref<?x16xf32>)
      out(%o : memref<?x16xf32>)
  memref.dealloc %s : memref<?x16xf32>
  return
}

// A combine that also changes the element type keeps its own pass (a copy
// cannot convert).
// CHECK-LABEL: func.func @types_differ(
// CHECK: hssm.combine
func.func @types_differ(%a: memref<?x16xf32>, %o: memref<?x16xbf16>,
    %y: memref<?x32xf32>, %wo: memref<16x32xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %a, %c0 : memref<?x16xf32>
  %s = memref.alloc(%t) : memref<?x16xf32>
  hssm.linear x(%y : memref<?x32xf32>) weight(%wo : memref<16x32xf32>)
      out(%s : memref<?x16xf32>)
  hssm.combine swa(%a : memref<?x16xf32>) ssm(%s : memref<?x16xf32>)
      out(%o : memref<?x16xbf16>)
  memref.dealloc %s : memref<?x16xf32>
  return
}

// The branch output is also read elsewhere: nothing changes.
// CHECK-LABEL: func.func @output_also_read(
// CHECK: hssm.linear x(%{{.*}}) weight(%{{.*}}) out(%[[S:[a-z0-9_]+]] : memref<?x16xf32>)
// CHECK-NOT: accumulate
// CHECK: hssm.combine swa(%{{.*}}) ssm(%[[S]] : memref<?x16xf32>)
// CHECK: memref.copy %[[S]]
func.func @output_also_read(%a: memref<?x16xf32>, %y: memref<?x32xf32>,
    %wo: memref<16x32xf32>, %keep: memref<?x16xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %a, %c0 : memref<?x16xf32>
  %s = memref.alloc(%t) : memref<?x16xf32>
  hssm.linear x(%y : memref<?x32xf32>) weight(%wo : memref<16x32xf32>)
      out(%s : memref<?x16xf32>)
  hssm.combine swa(%a : memref<?x16xf32>) ssm(%s : memref<?x16xf32>)
      out(%a : memref<?x16xf32>)
  memref.copy %s, %keep : memref<?x16xf32> to memref<?x16xf32>
  return
}

// Work between the projection and the combine: nothing changes.
// CHECK-LABEL: func.func @work_in_between(
// CHECK: hssm.linear
// CHECK-NOT: accumulate
// CHECK: hssm.prefix_sum
// CHECK: hssm.combine
func.func @work_in_between(%a: memref<?x16xf32>, %y: memref<?x32xf32>,
    %wo: memref<16x32xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %a, %c0 : memref<?x16xf32>
  %s = memref.alloc(%t) : memref<?x16xf32>
  hssm.linear x(%y : memref<?x32xf32>) weight(%wo : memref<16x32xf32>)
      out(%s : memref<?x16xf32>)
  hssm.prefix_sum x(%a : memref<?x16xf32>) count(%n) out(%a : memref<?x16xf32>)
  hssm.combine swa(%a : memref<?x16xf32>) ssm(%s : memref<?x16xf32>)
      out(%a : memref<?x16xf32>)
  memref.dealloc %s : memref<?x16xf32>
  return
}
