// RUN: hssm-opt %s -hssm-lower-to-cpu | FileCheck %s \
// RUN:   --implicit-check-not=hssm. --implicit-check-not=scf. \
// RUN:   --implicit-check-not=memref. --implicit-check-not=arith. \
// RUN:   --implicit-check-not=math. --implicit-check-not=linalg. \
// RUN:   --implicit-check-not=cf. --implicit-check-not=func.func \
// RUN:   --implicit-check-not=unrealized_conversion_cast \
// RUN:   --implicit-check-not=llvm.fpext --implicit-check-not=llvm.fptrunc

// The whole CPU pipeline (decompose, canonicalize, loops, LLVM) ends in the
// LLVM dialect only: no hssm, scf, cf, memref, arith, math or linalg op and
// no cast left over. bf16 conversions are integer arithmetic (no fpext /
// fptrunc, which would need libgcc helpers).

// The allocation functions the temporaries need are declared.
// CHECK-DAG:  llvm.func @malloc(i64) -> !llvm.ptr
// CHECK-DAG:  llvm.func @free(!llvm.ptr)

// A small mamba1 branch (Hd 8, D 16, N 4, R 2, W 4), bf16 state pools.
// CHECK-LABEL: llvm.func @mamba1_branch(
//   Memref descriptors are expanded: x is (ptr, ptr, offset, sizes, strides).
// CHECK-SAME: %{{[a-z0-9]+}}: !llvm.ptr, %{{[a-z0-9]+}}: !llvm.ptr, %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64
//   fp32 temporaries come from malloc ...
// CHECK:      llvm.call @malloc
//   bf16 conv state read eight channels at a time (conv-channels=8) as its
//   bits and widened by shifting.
// CHECK:      %[[RAW:.*]] = llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr -> vector<8xbf16>
// CHECK-NEXT: %[[BITS:.*]] = llvm.bitcast %[[RAW]] : vector<8xbf16> to vector<8xi16>
// CHECK:      llvm.shl
// CHECK:      llvm.intr.exp
//   The scan's C . h over the N states.
// CHECK:      "llvm.intr.vector.reduce.fadd"(%{{.*}}) {{.*}} : (f32, vector<4xf32>) -> f32
//   The final state, rounded to bf16 in integer arithmetic and stored.
// CHECK:      llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : vector<4xbf16>, !llvm.ptr
// CHECK:      llvm.call @free
// CHECK:      llvm.return
func.func @mamba1_branch(
    %x: memref<?x8xf32>, %w_in: memref<32x8xf32>, %cw: memref<16x4xf32>,
    %cb: memref<16xf32>, %wx: memref<10x16xf32>, %wdt: memref<16x2xf32>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xf32>, %cs: memref<?x3x16xbf16>,
    %ss: memref<?x16x4xbf16>, %qsl: memref<?xi32>, %si: memref<?xi32>,
    %init: memref<?xi8>, %nd: index, %np: index, %npt: index,
    %o: memref<?x8xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>)
      in_proj(%w_in : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>)
      x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>)
      A(%A : memref<16x4xf32>) D(%D : memref<16xf32>)
      out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xbf16>, %ss : memref<?x16x4xbf16>)
      batch(%b) out(%o : memref<?x8xf32>)
  return
}

// prefix_sum mode: a running sum, then zeros; no allocation.
// CHECK-LABEL: llvm.func @prefix_sum_branch(
// CHECK-NOT:  llvm.call @malloc
// CHECK:      llvm.fadd
// CHECK:      llvm.store
// CHECK:      llvm.return
func.func @prefix_sum_branch(
    %x: memref<?x8xf32>, %w_in: memref<32x8xf32>, %cw: memref<16x4xf32>,
    %cb: memref<16xf32>, %wx: memref<10x16xf32>, %wdt: memref<16x2xf32>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %qsl: memref<?xi32>, %si: memref<?xi32>,
    %init: memref<?xi8>, %nd: index, %np: index, %npt: index,
    %o: memref<?x8xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
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

// zero mode: the fill becomes a loop of zero stores.
// CHECK-LABEL: llvm.func @zero_branch(
// CHECK:      %[[ZERO:.*]] = llvm.mlir.constant(0.000000e+00 : f32) : f32
// CHECK:      llvm.store %[[ZERO]], %{{.*}} : f32, !llvm.ptr
// CHECK-NOT:  llvm.fadd
// CHECK:      llvm.return
func.func @zero_branch(
    %x: memref<?x8xf32>, %w_in: memref<32x8xf32>, %cw: memref<16x4xf32>,
    %cb: memref<16xf32>, %wx: memref<10x16xf32>, %wdt: memref<16x2xf32>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %qsl: memref<?xi32>, %si: memref<?xi32>,
    %init: memref<?xi8>, %n: index, %o: memref<?x8xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%n, %n) prefills(%n, %n)
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
