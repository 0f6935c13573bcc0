// RUN: hssm-opt %s -hssm-lower-to-loops=scan-chunk=64 | FileCheck %s
// RUN: hssm-opt %s -hssm-lower-to-loops="scan-chunk=64 device-alloc=true" | FileCheck %s --check-prefix=DEV

// A prefill scan cut into chunks of 64 tokens: (1) each chunk from zero,
// (2) the chunks' initial states by the associative rule, (3) each chunk
// again from its initial state, writing the outputs.
// CHECK-LABEL: func.func @scan(
// CHECK-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<?x32x16xbf16>
// CHECK-SAME: %[[Y:[a-zA-Z0-9_]+]]: memref<?x32xf32>
// CHECK-DAG:  %[[C64:.*]] = arith.constant 64 : index
// CHECK:      %[[T:.*]] = memref.dim
// CHECK:      %[[NC:.*]] = arith.ceildivui %[[T]], %[[C64]] : index
// CHECK:      %[[FLAT:.*]] = arith.muli %[[NP:[a-z0-9_]+]], %[[NC]] : index
// CHECK:      %[[DECAYS:.*]] = memref.alloc(%[[NP]], %[[NC]]) : memref<?x?x32x16xf32>
// CHECK:      %[[STATES:.*]] = memref.alloc(%[[NP]], %[[NC]]) : memref<?x?x32x16xf32>
//   1. chunk-local: a = exp2(A log2 e * sum dt), b = the state from zero.
// CHECK:      scf.parallel (%[[RC:[a-z0-9_]+]], %[[D:[a-z0-9_]+]]) = (%{{.*}}, %{{.*}}) to (%[[FLAT]], %{{.*}})
// CHECK:        arith.divui %[[RC]], %[[NC]]
// CHECK:        arith.remui %[[RC]], %[[NC]]
// CHECK:        scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, f32)
// CHECK:          math.exp2
// CHECK-NOT:      memref.store {{.*}} %[[Y]]
// CHECK:        %[[SUM:.*]] = vector.broadcast %{{.*}}#1 : f32 to vector<16xf32>
// CHECK:        math.exp2
// CHECK:        vector.store %{{.*}}, %[[DECAYS]]
// CHECK:        vector.store %{{.*}}#0, %[[STATES]]
//   2. per row and channel, sequentially over the chunks: h = a h + b.
// CHECK:      scf.parallel
// CHECK:        arith.ceildivui
// CHECK:        scf.for {{.*}} -> (vector<16xf32>)
// CHECK:          vector.load %[[DECAYS]]
// CHECK:          vector.load %[[STATES]]
// CHECK:          vector.store %{{.*}}, %[[STATES]]
// CHECK:        arith.truncf %{{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK:        vector.store %{{.*}}, %[[SS]]
//   3. the outputs, from each chunk's true initial state.
// CHECK:      scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%[[FLAT]], %{{.*}})
// CHECK:          vector.load %[[STATES]]
// CHECK:          vector.reduction <add>
// CHECK:          memref.store %{{.*}}, %[[Y]]
// CHECK:      memref.dealloc %[[DECAYS]]
// CHECK:      memref.dealloc %[[STATES]]

// DEV-LABEL: func.func @scan(
// DEV: gpu.alloc ({{.*}}) : memref<?x?x32x16xf32>
// DEV: gpu.dealloc
func.func @scan(%qsl: memref<?xi32>, %si: memref<?xi32>, %init: memref<?xi8>,
                %nd: index, %np: index, %npt: index,
                %u: memref<?x32xf32>, %dt: memref<?x32xf32>,
                %A: memref<32x16xf32>, %B: memref<?x16xf32>,
                %C: memref<?x16xf32>, %D: memref<32xf32>,
                %ss: memref<?x32x16xbf16>, %y: memref<?x32xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.selective_scan u(%u : memref<?x32xf32>) delta(%dt : memref<?x32xf32>)
      A(%A : memref<32x16xf32>) B(%B : memref<?x16xf32>) C(%C : memref<?x16xf32>)
      D(%D : memref<32xf32>) state(%ss : memref<?x32x16xbf16>) batch(%b)
      out(%y : memref<?x32xf32>)
  return
}
