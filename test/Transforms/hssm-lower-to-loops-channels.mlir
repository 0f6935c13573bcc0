// RUN: hssm-opt %s -hssm-lower-to-loops="conv-channels=8 decode-scan-rows=2" | FileCheck %s
// RUN: hssm-opt %s -hssm-lower-to-loops="conv-channels=3" | FileCheck %s --check-prefix=ONE
// RUN: hssm-opt %s -hssm-lower-to-loops="decode-scan-rows=2 decode-scan-block-threads=32" | FileCheck %s --check-prefix=STAGE
// RUN: hssm-opt %s -hssm-lower-to-loops="decode-conv-rows=2 decode-conv-channels=8 decode-conv-block-threads=16" | FileCheck %s --check-prefix=CROWS
// RUN: hssm-opt %s -hssm-lower-to-loops="decode-scan-rows=2 decode-scan-block-threads=64" | FileCheck %s --check-prefix=NOSTAGE
// RUN: hssm-opt %s -hssm-lower-to-loops="decode-scan-rows=2 decode-scan-block-threads=32 decode-scan-shuffle-states=32" | FileCheck %s --check-prefix=SHUF
// RUN: hssm-opt %s -hssm-lower-to-loops="decode-scan-rows=2 decode-scan-block-threads=32 decode-scan-shuffle-states=64" | FileCheck %s --check-prefix=NOSHUF
// RUN: hssm-opt %s -hssm-lower-to-loops="decode-scan-rows=4 decode-scan-small-batch=8 decode-scan-block-threads=32" | FileCheck %s --check-prefix=SMALL
// RUN: hssm-opt %s -hssm-lower-to-loops="decode-scan-rows=4 decode-scan-small-batch=8 decode-scan-block-threads=32 decode-scan-prefetch-before-wait=true" | FileCheck %s --check-prefix=PREF
// RUN: hssm-opt %s -hssm-lower-to-loops="decode-scan-rows=4 decode-scan-small-batch=8 decode-scan-block-threads=64 decode-scan-block-bytes=1024" | FileCheck %s --check-prefix=BYTES
// RUN: hssm-opt %s -hssm-lower-to-loops="decode-scan-rows=4 decode-scan-small-batch=8 decode-scan-block-threads=64 decode-scan-block-bytes=1000" | FileCheck %s --check-prefix=NOBYTES

// Channel groups: with conv-channels=K, conv_update runs one iteration per
// (row, K adjacent channels) and moves the group's conv state, inputs and
// outputs as vector<K> accesses along d (the state is [slot, W-1, D], d
// contiguous); a channel count that K does not divide keeps one channel per
// iteration (ONE). Row groups: with decode-scan-rows=R, state_update runs
// one iteration per (R decode rows, channel), loading A once and the R
// states before any arithmetic.

// CHECK-LABEL: func.func @conv_update(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x16xbf16>, %[[W:[a-zA-Z0-9_]+]]: memref<16x4xf32>,
// CHECK-SAME: %[[BIAS:[a-zA-Z0-9_]+]]: memref<16xbf16>, %[[CS:[a-zA-Z0-9_]+]]: memref<?x3x16xbf16>, %[[O:[a-zA-Z0-9_]+]]: memref<?x16xbf16>)
// CHECK:      %[[C8:.*]] = arith.constant 8 : index
// CHECK:      %[[G:.*]] = arith.divui %{{[a-z0-9_]+}}, %[[C8]] : index
// CHECK:      scf.parallel (%{{[a-z0-9_]+}}, %[[GI:[a-z0-9_]+]]) = (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) to (%{{[a-z0-9_]+}}, %[[G]]) step
// CHECK:        %[[D0:.*]] = arith.muli %[[GI]], %{{[a-z0-9_]+}} : index
//   Pad rows: eight zeros per store.
// CHECK:        vector.store %{{[a-z0-9_]+}}, %[[O]][%{{[a-z0-9_]+}}, %[[D0]]] {alignment = 16 : i64} : memref<?x16xbf16>, vector<8xbf16>
//   The window: three 16-byte loads of the slot.
// CHECK-COUNT-3: vector.load %[[CS]][%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[D0]]] {alignment = 16 : i64} : memref<?x3x16xbf16>, vector<8xbf16>
//   Taps: one row of W weights per channel, regrouped into one vector per tap.
// CHECK-COUNT-8: vector.load %[[W]][%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<16x4xf32>, vector<4xf32>
// CHECK:        vector.from_elements {{.*}} : vector<8xf32>
// CHECK:        vector.load %[[BIAS]][%[[D0]]] {alignment = 16 : i64} : memref<16xbf16>, vector<8xbf16>
// CHECK:        scf.for
// CHECK:          vector.load %[[X]][%{{[a-z0-9_]+}}, %[[D0]]] {alignment = 16 : i64} : memref<?x16xbf16>, vector<8xbf16>
// CHECK:          math.exp %{{[a-z0-9_]+}} : vector<8xf32>
// CHECK:          vector.store %{{[a-z0-9_]+}}, %[[O]][%{{[a-z0-9_]+}}, %[[D0]]] {alignment = 16 : i64} : memref<?x16xbf16>, vector<8xbf16>
// CHECK:        }
// CHECK-COUNT-3: vector.store %{{[a-z0-9_]+}}, %[[CS]][%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %[[D0]]] {alignment = 16 : i64} : memref<?x3x16xbf16>, vector<8xbf16>

// Two decode rows per iteration of conv_update: both rows' windows and
// inputs are loaded (a pad row reads slot 0) before the taps and any
// arithmetic; each row then stores its output (zero for a pad row) where
// it is live, and its shifted window where it is not a pad row.
// CROWS-LABEL: func.func @conv_update(
// CROWS-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x16xbf16>, %[[W:[a-zA-Z0-9_]+]]: memref<16x4xf32>,
// CROWS-SAME: %[[BIAS:[a-zA-Z0-9_]+]]: memref<16xbf16>, %[[CS:[a-zA-Z0-9_]+]]: memref<?x3x16xbf16>, %[[O:[a-zA-Z0-9_]+]]: memref<?x16xbf16>)
// CROWS:      %[[GROUPS:.*]] = arith.ceildivui %{{.*}}, %{{.*}} : index
// CROWS:      scf.parallel (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) = (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) to (%[[GROUPS]], %{{[a-z0-9_]+}}) step
// CROWS:        %[[LIVE0:.*]] = arith.cmpi ult
// CROWS:        %[[LIVE1:.*]] = arith.cmpi ult
// CROWS-NOT:    arith.mulf
// CROWS-COUNT-3: vector.load %[[CS]]
// CROWS:        vector.load %[[X]]
// CROWS-NOT:    arith.mulf
// CROWS-COUNT-3: vector.load %[[CS]]
// CROWS:        vector.load %[[X]]
// CROWS:        vector.load %[[W]]
// CROWS:        scf.if %[[LIVE0]] {
// CROWS:          vector.store %{{.*}}, %[[O]]
// CROWS:          scf.if
// CROWS-COUNT-3:    vector.store %{{.*}}, %[[CS]]
// CROWS:        scf.if %[[LIVE1]] {
// CROWS:          vector.store %{{.*}}, %[[O]]
// CROWS:          scf.if
// CROWS-COUNT-3:    vector.store %{{.*}}, %[[CS]]
// CROWS:      } else {
// CROWS-NOT:    vector.store %{{.*}}, %[[CS]]
//   The loop names its GPU block (decode-conv-block-threads) for
//   hssm-tile-parallel-loops.
// CROWS:      } {hssm.tile_sizes = array<i64: 1, 16>}

// ONE-LABEL: func.func @conv_update(
// ONE-NOT:   vector.load
// ONE:       memref.load %{{[a-z0-9_]+}}[%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}] : memref<?x3x16xbf16>
func.func @conv_update(%qsl: memref<?xi32>, %si: memref<?xi32>,
                       %init: memref<?xi8>, %nd: index, %np: index,
                       %npt: index, %x: memref<?x16xbf16>,
                       %w: memref<16x4xf32>, %bias: memref<16xbf16>,
                       %cs: memref<?x3x16xbf16>, %o: memref<?x16xbf16>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.conv_update x(%x : memref<?x16xbf16>) weight(%w : memref<16x4xf32>)
      bias(%bias : memref<16xbf16>) state(%cs : memref<?x3x16xbf16>)
      batch(%b) out(%o : memref<?x16xbf16>) {silu}
  return
}

// CHECK-LABEL: func.func @state_update(
// CHECK-SAME: %[[ND:[a-zA-Z0-9_]+]]: index, %{{[a-zA-Z0-9_]+}}: index,
// CHECK-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<?x32x16xbf16>, %[[Y:[a-zA-Z0-9_]+]]: memref<?x32xf32>)
// CHECK:      %[[GROUPS:.*]] = arith.ceildivui %[[ND]], %{{[a-z0-9_]+}} : index
// CHECK:      scf.parallel (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) = (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) to (%[[GROUPS]], %{{[a-z0-9_]+}}) step
//   Rows 2g and 2g+1, each clamped to num_decodes - 1 and live only below
//   num_decodes.
// CHECK:      %[[LIVE0:.*]] = arith.cmpi ult, %{{[a-z0-9_]+}}, %[[ND]] : index
// CHECK:      arith.minui
// CHECK:      %[[LIVE1:.*]] = arith.cmpi ult, %{{[a-z0-9_]+}}, %[[ND]] : index
// CHECK:      arith.minui
//   A once, then both rows' states (two 32-byte rows of the pool), before
//   any arithmetic.
// CHECK:      vector.load %{{[a-z0-9_]+}}[%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<32x16xf32>, vector<16xf32>
// CHECK-NOT:  arith.mulf
//   Each row widened as 32-bit words: state 2k is word k shifted up 16
//   bits, state 2k + 1 word k's top half.
// CHECK:      %[[H0:.*]] = vector.load %[[SS]][%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<?x32x16xbf16>, vector<16xbf16>
// CHECK-NEXT: %[[W0:.*]] = vector.bitcast %[[H0]] : vector<16xbf16> to vector<8xi32>
// CHECK-NEXT: %[[SH:.*]] = arith.constant dense<16> : vector<8xi32>
// CHECK-NEXT: %[[EVEN:.*]] = arith.shli %[[W0]], %[[SH]] : vector<8xi32>
// CHECK-NEXT: %[[TOP:.*]] = arith.constant dense<-65536> : vector<8xi32>
// CHECK-NEXT: %[[ODD:.*]] = arith.andi %[[W0]], %[[TOP]] : vector<8xi32>
// CHECK-NEXT: %[[BOTH:.*]] = vector.interleave %[[EVEN]], %[[ODD]] : vector<8xi32> -> vector<16xi32>
// CHECK-NEXT: vector.bitcast %[[BOTH]] : vector<16xi32> to vector<16xf32>
// CHECK-NOT:  arith.mulf
// CHECK:      %[[H1:.*]] = vector.load %[[SS]][%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<?x32x16xbf16>, vector<16xbf16>
// CHECK-NEXT: vector.bitcast %[[H1]] : vector<16xbf16> to vector<8xi32>
// CHECK-NOT:  memref<32x16xf32>, vector<16xf32>
// CHECK-NOT:  scf.for
// CHECK-COUNT-2: vector.reduction <add>
//   Then the stores, rounded once to bf16, each behind its row's liveness.
// CHECK:      scf.if %[[LIVE0]] {
// CHECK:        vector.store %{{[a-z0-9_]+}}, %[[SS]][%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<?x32x16xbf16>, vector<16xbf16>
// CHECK:      scf.if %[[LIVE1]] {
// CHECK:        vector.store %{{[a-z0-9_]+}}, %[[SS]][%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<?x32x16xbf16>, vector<16xbf16>
// CHECK-NOT:  scf.for

// Staged (GPU blocks of 32 channels of one row group): the block loads the
// group's B and C rows once, widened to f32, into workgroup memory
// ([rows][B, C][N]), after every row's state, delta and u loads are issued
// and before a barrier; each thread then reads its B and C rows from there.
// Blocks of 64 over D = 32 leave half their threads idle, so no barrier may
// stand in the body: not staged. Either way the loop names its block (tile).
// STAGE-LABEL: func.func @state_update(
// STAGE-SAME: %{{[a-zA-Z0-9_]+}}: memref<32x16xf32>, %[[BM:[a-zA-Z0-9_]+]]: memref<?x16xf32>, %[[CM:[a-zA-Z0-9_]+]]: memref<?x16xf32>,
// STAGE:      %[[BUF:.*]] = memref.alloca() {alignment = 16 : i64} : memref<2x2x16xf32, #gpu.address_space<workgroup>>
// STAGE-COUNT-2: vector.load %{{.*}} : memref<?x32x16xbf16>, vector<16xbf16>
// STAGE:      %[[TID:.*]] = arith.remui %{{.*}}, %{{.*}} : index
// STAGE:      %[[R:.*]] = arith.divui %{{.*}}, %{{.*}} : index
// STAGE:      %[[N:.*]] = arith.remui %{{.*}}, %{{.*}} : index
// STAGE:      %[[T:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// STAGE:      %[[BV:.*]] = memref.load %[[BM]][%[[T]], %[[N]]] : memref<?x16xf32>
// STAGE-NEXT: %[[CV:.*]] = memref.load %[[CM]][%[[T]], %[[N]]] : memref<?x16xf32>
// STAGE:      memref.store %[[BV]], %[[BUF]][%[[R]], %{{.*}}, %[[N]]]
// STAGE:      memref.store %[[CV]], %[[BUF]][%[[R]], %{{.*}}, %[[N]]]
// STAGE-NEXT: gpu.barrier
// STAGE-NOT:  vector.load %[[BM]]
// STAGE-NOT:  vector.load %[[CM]]
// STAGE-COUNT-4: vector.load %[[BUF]][%{{.*}}, %{{.*}}, %{{.*}}] {alignment = 16 : i64} : memref<2x2x16xf32, #gpu.address_space<workgroup>>, vector<16xf32>
// STAGE-NOT:  gpu.barrier
// STAGE-NOT:  gpu.shuffle
// STAGE:      } {hssm.tile_sizes = array<i64: 1, 32>}
// Shuffled stores (a channel's 16 bf16 states, 32 bytes, are two 16-byte
// pieces, at least decode-scan-shuffle-states=32): lanes 2k and 2k+1 trade
// pieces by one xor-1 shuffle per 32-bit word, so that each store writes
// channel 2k's or 2k+1's whole row; each row is stored right after it is
// computed. Rows of 32 bytes under a threshold of 64 are stored whole by
// their own thread (NOSHUF).
// SHUF-LABEL: func.func @state_update(
// SHUF-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<?x32x16xbf16>,
// SHUF:      gpu.barrier
// SHUF:      %[[W0:.*]] = vector.bitcast %{{.*}} : vector<16xbf16> to vector<8xi32>
// SHUF:      %[[J0:.*]] = arith.remui %{{.*}}, %{{.*}} : index
// SHUF-COUNT-4: gpu.shuffle  xor %{{.*}}, %{{.*}}, %{{.*}} : i32
// SHUF:      %[[P0:.*]] = vector.from_elements %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : vector<4xi32>
// SHUF-NEXT: %[[P1:.*]] = vector.from_elements %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : vector<4xi32>
//   Lane j = d mod 2 stores piece j of channels d - j and d - j + 1.
// SHUF:      scf.if
// SHUF:      %[[J:.*]] = arith.remui %[[D:[a-z0-9_]+]], %{{.*}} : index
// SHUF-NEXT: %[[BASE:.*]] = arith.subi %[[D]], %[[J]] : index
// SHUF-NEXT: %[[C8:.*]] = arith.constant 8 : index
// SHUF-NEXT: %[[AT:.*]] = arith.muli %[[J]], %[[C8]] : index
// SHUF-NEXT: %[[V0:.*]] = vector.bitcast %[[P0]] : vector<4xi32> to vector<8xbf16>
// SHUF:      %[[CH0:.*]] = arith.addi %[[BASE]], %{{.*}} : index
// SHUF-NEXT: vector.store %[[V0]], %[[SS]][%{{.*}}, %[[CH0]], %[[AT]]] {alignment = 16 : i64} : memref<?x32x16xbf16>, vector<8xbf16>
// SHUF-NEXT: %[[V1:.*]] = vector.bitcast %[[P1]] : vector<4xi32> to vector<8xbf16>
// SHUF:      %[[CH1:.*]] = arith.addi %[[BASE]], %{{.*}} : index
// SHUF-NEXT: vector.store %[[V1]], %[[SS]][%{{.*}}, %[[CH1]], %[[AT]]] {alignment = 16 : i64} : memref<?x32x16xbf16>, vector<8xbf16>
//   Then the second row: its pieces, its shuffles, its stores.
// SHUF:      vector.bitcast %{{.*}} : vector<16xbf16> to vector<8xi32>
// SHUF-COUNT-4: gpu.shuffle  xor
// SHUF-NOT:  vector.store %{{.*}}, %[[SS]]{{.*}} vector<16xbf16>
// NOSHUF-LABEL: func.func @state_update(
// NOSHUF-NOT: gpu.shuffle
// NOSHUF:     vector.store %{{.*}} : memref<?x32x16xbf16>, vector<16xbf16>
// NOSTAGE-LABEL: func.func @state_update(
// NOSTAGE-NOT: memref.alloca
// NOSTAGE-NOT: gpu.barrier
// NOSTAGE:     } {hssm.tile_sizes = array<i64: 1, 64>}

// Small batches (at most decode-scan-small-batch decode rows, a run-time
// test) take a loop of one row per thread, over all decode rows, with one
// row's B and C staged; larger ones groups of decode-scan-rows. One row's
// 16 states are half a block of 32 threads: the staging buffer has a pad
// row that the other half fills, so that no branch guards the staging.
// SMALL-LABEL: func.func @state_update(
// SMALL-SAME: %[[ND:[a-zA-Z0-9_]+]]: index,
// SMALL:      %[[C8:.*]] = arith.constant 8 : index
// SMALL:      %[[IS:.*]] = arith.cmpi ule, %[[ND]], %[[C8]] : index
// SMALL-NEXT: scf.if %[[IS]] {
// SMALL-NOT:  arith.ceildivui
// SMALL:      scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%[[ND]], %{{.*}})
// SMALL:      memref.alloca() {alignment = 16 : i64} : memref<2x2x16xf32, #gpu.address_space<workgroup>>
// SMALL-COUNT-1: vector.load %{{.*}} : memref<?x32x16xbf16>, vector<16xbf16>
// SMALL-NOT:  vector.load %{{.*}} : memref<?x32x16xbf16>, vector<16xbf16>
// SMALL-NOT:  scf.if
// SMALL:      gpu.barrier
// SMALL:      } else {
// SMALL:      %[[G:.*]] = arith.ceildivui %[[ND]], %{{.*}} : index
// SMALL:      scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%[[G]], %{{.*}})
// SMALL:      memref.alloca() {alignment = 16 : i64} : memref<4x2x16xf32, #gpu.address_space<workgroup>>
// SMALL-COUNT-4: vector.load %{{.*}} : memref<?x32x16xbf16>, vector<16xbf16>

// decode-scan-block-bytes sizes the grouped loop's blocks by its state
// rows: 1024 bytes of 32-byte bf16 rows are 32 channels, which divide D =
// 32, so that loop stages B and C in blocks of 32; the one-row loop keeps
// decode-scan-block-threads (64, more than D: no staging). 1000 bytes are
// no whole number of rows: both loops keep 64.
// BYTES-LABEL: func.func @state_update(
// BYTES:      scf.if
// BYTES-NOT:  memref.alloca
// BYTES-NOT:  gpu.barrier
// BYTES:      } {hssm.tile_sizes = array<i64: 1, 64>}
// BYTES:      } else {
// BYTES:      memref.alloca() {alignment = 16 : i64} : memref<4x2x16xf32, #gpu.address_space<workgroup>>
// BYTES:      gpu.barrier
// BYTES:      } {hssm.tile_sizes = array<i64: 1, 32>}
// NOBYTES-LABEL: func.func @state_update(
// NOBYTES-NOT: gpu.barrier
// NOBYTES:     } {hssm.tile_sizes = array<i64: 1, 64>}
// NOBYTES-NOT: gpu.barrier
// NOBYTES:     } {hssm.tile_sizes = array<i64: 1, 64>}

// With decode-scan-prefetch-before-wait, the one-row loop first reads the
// row's slot (clamped into the pool), asks the L2 for that slot's state row
// of its channel, and waits for the kernel before it; then it reads the slot
// again and loads the state. The grouped loop does neither.
// PREF-LABEL: func.func @state_update(
// PREF-SAME: %{{[a-zA-Z0-9_]+}}: memref<?xi32>, %[[SI:[a-zA-Z0-9_]+]]: memref<?xi32>,
// PREF:      scf.parallel (%[[ROW:[a-z0-9_]+]], %[[D:[a-z0-9_]+]]) =
// PREF-NOT:  vector.load
// PREF:      %[[STALE:.*]] = memref.load %[[SI]][%[[ROW]]] : memref<?xi32>
// PREF:      %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %{{.*}} : index
// PREF-NEXT: %[[SLOT:.*]] = arith.select %[[IN]], %{{.*}}, %{{.*}} : index
// PREF:      memref.extract_strided_metadata
// PREF:      memref.extract_aligned_pointer_as_index
// PREF:      %[[P:.*]] = llvm.inttoptr %{{.*}} : i64 to !llvm.ptr
// PREF-NEXT: nvvm.prefetch level = L2, %[[P]] : !llvm.ptr
// PREF:      nvvm.griddepcontrol wait
// PREF:      %{{.*}} = memref.load %[[SI]][%[[ROW]]] : memref<?xi32>
// PREF:      vector.load %{{.*}} : memref<?x32x16xbf16>, vector<16xbf16>
// PREF:      } else {
// PREF:      arith.ceildivui
// PREF-NOT:  nvvm.
// PREF:      return

// ONE-LABEL: func.func @state_update(
// ONE-NOT:   arith.ceildivui
// ONE-COUNT-1: vector.reduction <add>
// ONE-NOT:   vector.reduction
func.func @state_update(%qsl: memref<?xi32>, %si: memref<?xi32>,
                        %init: memref<?xi8>, %nd: index, %np: index,
                        %npt: index, %u: memref<?x32xf32>,
                        %dt: memref<?x32xf32>, %A: memref<32x16xf32>,
                        %B: memref<?x16xf32>, %C: memref<?x16xf32>,
                        %D: memref<32xf32>, %ss: memref<?x32x16xbf16>,
                        %y: memref<?x32xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.state_update u(%u : memref<?x32xf32>) delta(%dt : memref<?x32xf32>)
      A(%A : memref<32x16xf32>) B(%B : memref<?x16xf32>)
      C(%C : memref<?x16xf32>) D(%D : memref<32xf32>)
      state(%ss : memref<?x32x16xbf16>) batch(%b) out(%y : memref<?x32xf32>)
  return
}
