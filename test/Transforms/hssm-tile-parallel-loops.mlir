// RUN: hssm-opt %s -split-input-file -verify-diagnostics -hssm-tile-parallel-loops="tile-sizes=1,128 no-min-max-bounds=true" | FileCheck %s

// A loop that names its tile (hssm.tile_sizes) gets it; the others get
// tile-sizes. The attribute is gone afterwards.

// CHECK-LABEL: func.func @tiles(
// CHECK:       %[[C64:.*]] = arith.constant 64 : index
// CHECK:       %[[S64:.*]] = arith.muli %{{.*}}, %[[C64]] : index
// CHECK:       scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}) step (%{{.*}}, %[[S64]])
// CHECK-NEXT:    scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %[[S64]]) step
// CHECK:       %[[C128:.*]] = arith.constant 128 : index
// CHECK:       %[[S128:.*]] = arith.muli %{{.*}}, %[[C128]] : index
// CHECK:       scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}}) step (%{{.*}}, %[[S128]])
// CHECK-NEXT:    scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %[[S128]]) step
// CHECK-NOT:   hssm.tile_sizes
func.func @tiles(%rows: index, %cols: index, %out: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %cols) step (%c1, %c1) {
    memref.store %f, %out[%i, %j] : memref<?x?xf32>
    scf.reduce
  } {hssm.tile_sizes = array<i64: 1, 64>}
  scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %cols) step (%c1, %c1) {
    memref.store %f, %out[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}

// -----

func.func @wrong_rank(%n: index, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  // expected-error @+1 {{hssm.tile_sizes needs one positive size per dimension (1), got array<i64: 1, 64>}}
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %f, %out[%i] : memref<?xf32>
    scf.reduce
  } {hssm.tile_sizes = array<i64: 1, 64>}
  return
}
