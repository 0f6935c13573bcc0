// RUN: hssm-opt %s -hssm-lower-to-loops=scan-chunk=64 | FileCheck %s
// RUN: hssm-opt %s -hssm-lower-to-loops="scan-chunk=64 device-alloc=true" | FileCheck %s --check-prefix=DEV
// RUN: hssm-opt %s -hssm-lower-to-loops="scan-chunk=64 scan-tokens-per-step=2" | FileCheck %s --check-prefix=STEP

// A prefill scan cut into chunks of 64 tokens: (1) each chunk from zero,
// (2) the chunks' initial states by the associative rule, (3) each chunk
// again from its initial state, writing the outputs.
// CHECK-LABEL: func.func @scan(
// CHECK-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<?x32x16xbf16>
// CHECK-SAME: %[[Y:[a-zA-Z0-9_]+]]: memref<?x32xf32>
// CHECK-DAG:  %[[C64:.*]] = arith.constant 64 : index
// CHECK:      %[[T:.*]] = memref.dim
// CHECK:      %[[NC0:.*]] = arith.ceildivui %[[T]], %[[C64]] : index
// CHECK:      %[[NC:.*]] = arith.maxui %[[NC0]], %{{.*}} : index
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

// With two tokens per step, pass 1's loop takes tokens t and t+1, loading
// both before either's exp2, then the odd token left over one by one.
// STEP-LABEL: func.func @scan(
// STEP:       %[[TWO:.*]] = arith.constant 2 : index
// STEP:       scf.for %[[T:[a-z0-9_]+]] = %{{[a-z0-9_]+}} to %{{[a-z0-9_]+}} step %[[TWO]] iter_args({{.*}}) -> (vector<16xf32>, f32)
// STEP:         memref.load %{{[a-z0-9_]+}}[%[[T]], %{{[a-z0-9_]+}}]
// STEP:         %[[T1:.*]] = arith.addi %[[T]], %{{[a-z0-9_]+}} : index
// STEP-NOT:     math.exp2
// STEP:         memref.load %{{[a-z0-9_]+}}[%[[T1]], %{{[a-z0-9_]+}}]
// STEP:         math.exp2
// STEP:         math.exp2
// STEP:       scf.for {{.*}} step %{{[a-z0-9_]+}} iter_args({{.*}}) -> (vector<16xf32>, f32)
// STEP:         math.exp2

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

// RUN: hssm-opt %s -hssm-lower-to-loops=conv-chunk=64 | FileCheck %s --check-prefix=CONV
// RUN: hssm-opt %s -hssm-lower-to-loops=conv-chunk=2 | FileCheck %s --check-prefix=CONV2
// RUN: hssm-opt %s -hssm-lower-to-loops="conv-chunk=64 conv-block-threads=32" | FileCheck %s --check-prefix=CONVB

// The prefill conv in chunks: outputs per (row, chunk, channel), each
// chunk's window read from x (or the state before the row's first token);
// the row's first chunk (c == 0, whether or not the row has tokens) then
// writes the new state, its last W-1 inputs read whole before any store.
// One loop nest: chunks of at least W-1 tokens never read the state.
// The chunks are numbered by token position (PrefillChunks' compact form):
// floor(T / 64) + num_prefills indices (none without prefills); prefill
// row r owns those from f(r) = floor((b_r - b_0) / 64) + r on, found by a
// binary search over f; c = rc - f(r) is the chunk within the row.
// CONV-LABEL: func.func @conv(
// CONV-SAME: %[[QSL:[a-zA-Z0-9_]+]]: memref<?xi32>, %{{[a-zA-Z0-9_]+}}: memref<?xi32>, %{{[a-zA-Z0-9_]+}}: memref<?xi8>, %[[ND:[a-zA-Z0-9_]+]]: index, %[[NP:[a-zA-Z0-9_]+]]: index,
// CONV-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x32xf32>, %[[W:[a-zA-Z0-9_]+]]: memref<32x4xf32>, %[[CS:[a-zA-Z0-9_]+]]: memref<?x3x32xf32>, %[[O:[a-zA-Z0-9_]+]]: memref<?x32xf32>
// CONV:      %[[TC:.*]] = arith.divui %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : index
// CONV-NEXT: %[[SLOTS:.*]] = arith.addi %[[TC]], %[[NP]] : index
// CONV-NEXT: %[[NONE:.*]] = arith.cmpi eq, %[[NP]], %{{.*}} : index
// CONV-NEXT: %[[COUNT:.*]] = arith.select %[[NONE]], %{{.*}}, %[[SLOTS]] : index
// CONV:      scf.parallel (%[[RC:[a-z0-9_]+]], %{{[a-z0-9_]+}}) = (%{{.*}}, %{{.*}}) to (%[[COUNT]], %{{.*}})
// CONV:        %[[B0:.*]] = memref.load %[[QSL]][%[[ND]]] : memref<?xi32>
// CONV:        %[[FOUND:.*]]:2 = scf.while (%[[LO:.*]] = %{{.*}}, %[[HI:.*]] = %[[NP]]) : (index, index) -> (index, index) {
// CONV:          %[[MID:.*]] = arith.divui
// CONV:          %[[AT:.*]] = arith.addi %[[ND]], %[[MID]] : index
// CONV:          memref.load %[[QSL]][%[[AT]]]
// CONV:          %[[FMID:.*]] = arith.addi %{{.*}}, %[[MID]] : index
// CONV:          %[[FITS:.*]] = arith.cmpi ule, %[[FMID]], %[[RC]] : index
// CONV:          arith.select %[[FITS]], %[[MID]], %{{.*}} : index
// CONV:          arith.select %[[FITS]], %{{.*}}, %[[MID]] : index
// CONV:        %[[FR:.*]] = arith.addi %{{[0-9]+}}, %[[FOUND]]#0 : index
// CONV:        %[[C:.*]] = arith.subi %[[RC]], %[[FR]] : index
// CONV:        arith.cmpi sge
// CONV:        memref.load %[[X]]
// CONV:        memref.load %[[CS]]
// CONV:        scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32)
// CONV:          memref.store %{{.*}}, %[[O]]
// CONV-NOT:    memref.store %{{.*}}, %[[CS]]
// CONV:        %[[FIRST:.*]] = arith.cmpi eq, %[[C]], %{{.*}} : index
// CONV:        %[[LIVE:.*]] = arith.andi %[[FIRST]], %{{.*}} : i1
// CONV:        scf.if %[[LIVE]] {
// CONV-COUNT-3: memref.load %[[CS]]
// CONV-COUNT-3: memref.store %{{.*}}, %[[CS]]
// CONV-NOT:  scf.parallel

// Chunks of 2 tokens: chunk 1's window reaches into the state, so the new
// state is written by a second loop nest, after every chunk has read it.
// CONV2-LABEL: func.func @conv(
// CONV2:      scf.parallel
// CONV2-NOT:  memref.store %{{.*}} : memref<?x3x32xf32>
// CONV2:      scf.parallel
// CONV2-COUNT-3: memref.store %{{.*}} : memref<?x3x32xf32>
func.func @conv(%qsl: memref<?xi32>, %si: memref<?xi32>, %init: memref<?xi8>,
                %nd: index, %np: index, %npt: index, %x: memref<?x32xf32>,
                %w: memref<32x4xf32>, %cs: memref<?x3x32xf32>,
                %o: memref<?x32xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.conv1d x(%x : memref<?x32xf32>) weight(%w : memref<32x4xf32>)
      state(%cs : memref<?x3x32xf32>) batch(%b) out(%o : memref<?x32xf32>) {silu}
  return
}

// With conv-block-threads the chunked conv's one loop nest names its GPU
// block for hssm-tile-parallel-loops; the scan's loops do not.
// CONVB-LABEL: func.func @scan(
// CONVB-NOT:   hssm.tile_sizes
// CONVB-LABEL: func.func @conv(
// CONVB:       scf.parallel
// CONVB:       } {hssm.tile_sizes = array<i64: 1, 32>}
// CONVB-NOT:   scf.parallel
