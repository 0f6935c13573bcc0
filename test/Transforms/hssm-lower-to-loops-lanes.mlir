// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=4 lane-scan-tokens-per-step=4" | FileCheck %s
// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=4 lane-scan-tokens-per-step=8" | FileCheck %s --check-prefix=STEP8
// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=3" | FileCheck %s --check-prefix=ODD
// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=4 lane-scan-tokens-per-step=4 lane-scan-block-threads=64" | FileCheck %s --check-prefix=STAGE
// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=4 lane-scan-tokens-per-step=4 lane-scan-block-threads=256" | FileCheck %s --check-prefix=NOSTAGE
// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=4 lane-scan-tokens-per-step=4 lane-scan-block-threads=64 lane-scan-stage-f32=false" | FileCheck %s --check-prefix=STAGE16
// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=4 lane-scan-tokens-per-step=8 lane-scan-block-threads=128" | FileCheck %s --check-prefix=PAD
// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=4 lane-scan-tokens-per-step=4 lane-scan-block-threads=64 lane-scan-prefetch-steps=2" | FileCheck %s --check-prefix=PF2
// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=4 lane-scan-tokens-per-step=8 lane-scan-block-threads=128 lane-scan-pad-owned=false" | FileCheck %s --check-prefix=NOPAD
// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=4 lane-scan-tokens-per-step=4 lane-scan-block-threads=64 lane-scan-longest-first=true" | FileCheck %s --check-prefix=LONG
// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=4 lane-scan-tokens-per-step=16 lane-scan-diagonal-rows=1" | FileCheck %s --check-prefix=DIAG
// RUN: hssm-opt %s -split-input-file -hssm-lower-to-loops="scan-lanes=4 lane-scan-tokens-per-step=4 lane-scan-block-threads=64 lane-scan-longest-first=true lane-scan-diagonal-rows=1" | FileCheck %s --check-prefix=DIAGLONG

// The prefill scan with each channel's 16 states split across 4 lanes of a
// warp: the parallel loop has D * 4 = 128 iterations, each holding 4
// states, and walks the row's tokens once, 4 per step, each step's loads
// issued one step ahead (the loop carries them). Steps whose next step is
// inside the row run in a main loop without clamps or masks; the last one
// or two in a tail loop that clamps the loads and masks the tokens.
// CHECK-LABEL: func.func @scan(
// CHECK-SAME: %[[A:[a-zA-Z0-9_]+]]: memref<32x16xf32>
// CHECK-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<?x32x16xbf16>
// CHECK-SAME: %[[Y:[a-zA-Z0-9_]+]]: memref<?x32xbf16>
// CHECK-DAG:  %[[C128:.*]] = arith.constant 128 : index
// CHECK:      scf.parallel (%[[ROW:[a-z0-9_]+]], %[[I:[a-z0-9_]+]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %[[C128]])
// CHECK:        %[[D:.*]] = arith.divui %[[I]], %[[C4:.*]] : index
// CHECK:        %[[LANE:.*]] = arith.remui %[[I]], %[[C4]] : index
//   Pad rows: each lane zeros every 4th token.
// CHECK:        scf.if
// CHECK:          scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:            memref.store %{{.*}}, %[[Y]][%[[T]], %[[D]]]
// CHECK:        } else {
// CHECK:          %[[N0:.*]] = arith.muli %[[LANE]], %{{.*}} : index
// CHECK:          vector.load %[[A]][%[[D]], %[[N0]]] {{.*}} vector<4xf32>
// CHECK:          vector.load %[[SS]][%{{.*}}, %[[D]], %[[N0]]] {{.*}} vector<4xbf16>
//   The main loop: the next step's 3 owned loads and 8 row slices first,
//   unclamped.
// CHECK:          %[[MAIN:.*]]:12 = scf.for %{{.*}} to %[[MAINEND:[a-z0-9_]+]] step %{{.*}} iter_args({{.*}}) -> (vector<4xf32>, bf16, bf16, bf16, vector<4xbf16>, vector<4xbf16>, vector<4xbf16>, vector<4xbf16>, vector<4xbf16>, vector<4xbf16>, vector<4xbf16>, vector<4xbf16>)
// CHECK-NOT:        arith.minui
// CHECK-COUNT-3:    memref.load
// CHECK-COUNT-8:    vector.load
// CHECK-NOT:        math.exp2
//   The owner's softplus(delta + b_dt) and gate silu(z) first; then per
//   token: dt and dt * u from their owner, the lane's 4 decays, h by one
//   FMA, its C . h partial sum.
// CHECK:            math.absf
// CHECK:            math.exp
// CHECK:            arith.divf
// CHECK-NOT:        math.exp2
// CHECK:            gpu.shuffle idx
// CHECK:            gpu.shuffle idx
// CHECK:            math.exp2 %{{.*}} : vector<4xf32>
// CHECK:            math.fma %{{.*}} : vector<4xf32>
// CHECK:            vector.reduction <add>, %{{.*}} : vector<4xf32> into f32
// CHECK-COUNT-3:    math.exp2 %{{.*}} : vector<4xf32>
//   The 4 tokens' sums reach their owners in 3 shuffles (2 + 1).
// CHECK:            gpu.shuffle xor %{{.*}}, %[[C2I:.*]], %{{.*}} : f32
// CHECK:            gpu.shuffle xor %{{.*}}, %[[C2I]], %{{.*}} : f32
// CHECK:            gpu.shuffle xor %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK-NOT:        gpu.shuffle
// CHECK-NOT:        scf.if
// CHECK:            memref.store %{{.*}}, %[[Y]][%{{.*}}, %[[D]]]
// CHECK:            scf.yield
//   The tail loop: the same, its loads clamped to the row's last token and
//   its stores masked.
// CHECK:          %[[TAIL:.*]]:12 = scf.for %{{.*}} = %[[MAINEND]] to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[MAIN]]#0,
// CHECK:            arith.minui
// CHECK:            gpu.shuffle idx
// CHECK:            scf.if
// CHECK:              memref.store %{{.*}}, %[[Y]][%{{.*}}, %[[D]]]
// CHECK:          arith.truncf %{{.*}} : vector<4xf32> to vector<4xbf16>
// CHECK:          vector.store %{{.*}}, %[[SS]][%{{.*}}, %[[D]], %[[N0]]]

// Staged (blocks of 64 iterations of one row): each step's B and C (f32)
// and delta, u, z (as stored) go through two buffers in workgroup memory.
// The loop carries h and the buffer the step reads; it issues the next
// step's global loads first, computes from the buffer, stores the next step
// into the other buffer, then waits at a barrier.
// The rows are the loop's third dimension, outside the tile of (1, block
// threads) that the NVVM pipeline cuts: the GPU dispatches a row's blocks
// together, row after row.
// STAGE-LABEL: func.func @scan(
// STAGE:       scf.parallel (%{{.*}}, %[[I:.*]], %[[ROW:.*]]) = (%[[Z:.*]], %[[Z]], %[[ND:.*]]) to (%{{.*}}, %c128, %{{.*}}) step
// STAGE:         arith.divui %[[I]], %{{.*}} : index
// STAGE:       %[[ROWS:.*]] = memref.alloca() {alignment = 16 : i64} : memref<2x2x4x16xf32, #gpu.address_space<workgroup>>
// STAGE:       %[[DELTA:.*]] = memref.alloca() {alignment = 16 : i64} : memref<2x4x16xbf16, #gpu.address_space<workgroup>>
// STAGE-COUNT-2: memref.alloca() {alignment = 16 : i64} : memref<2x4x16xbf16, #gpu.address_space<workgroup>>
//   The first step into buffer 0.
// STAGE:       vector.store %{{.*}}, %[[ROWS]][%[[C0:[a-z0-9_]+]], %{{.*}}] {{.*}} vector<1xf32>
// STAGE:       vector.store %{{.*}}, %[[DELTA]][%[[C0]], %{{.*}}] {{.*}} vector<1xbf16>
// STAGE:       gpu.barrier
// STAGE:       scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %[[BUF:.*]] = %[[C0]]) -> (vector<4xf32>, index)
// STAGE:         %[[NEXT:.*]] = arith.subi %{{.*}}, %[[BUF]] : index
// STAGE-COUNT-5:  vector.load %{{.*}} : memref<?x{{16|32}}xbf16>, vector<1xbf16>
// STAGE:         memref.load %[[DELTA]][%[[BUF]], %{{.*}}, %{{.*}}]
// STAGE:         math.absf
// STAGE:         vector.load %[[ROWS]][%[[BUF]], %{{.*}}] {{.*}} vector<4xf32>
// STAGE:         gpu.shuffle idx
// STAGE:         vector.store %{{.*}}, %[[ROWS]][%[[NEXT]], %{{.*}}] {{.*}} vector<1xf32>
// STAGE:         gpu.barrier
// STAGE-NEXT:    scf.yield %{{.*}}, %[[NEXT]] : vector<4xf32>, index

// B and C staged as stored (bf16): each lane widens the 4 states it reads.
// STAGE16-LABEL: func.func @scan(
// STAGE16:       %[[ROWS:.*]] = memref.alloca() {alignment = 16 : i64} : memref<2x2x4x16xbf16, #gpu.address_space<workgroup>>
// STAGE16:       vector.store %{{.*}}, %[[ROWS]][{{.*}}] {{.*}} vector<1xbf16>
// STAGE16:       scf.for {{.*}} -> (vector<4xf32>, index)
// STAGE16:         %[[B:.*]] = vector.load %[[ROWS]][{{.*}}] {alignment = 8 : i64} : {{.*}}, vector<4xbf16>
// STAGE16-NEXT:    arith.extf %[[B]] : vector<4xbf16> to vector<4xf32>

// Loads two steps ahead: the main loop also carries the next step's raw B,
// C, delta, u, z (loaded one step before), stages those after the step's
// arithmetic, and loads the step after next (t0 + 2 S).
// PF2-LABEL: func.func @scan(
// PF2:       gpu.barrier
// PF2:       scf.for %[[T0:.*]] = %{{.*}} to %{{.*}} step %[[S:.*]] iter_args(%{{.*}} = %{{.*}}, %[[BUF:.*]] = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %[[DC:.*]] = %{{.*}}, %[[UC:.*]] = %{{.*}}, %[[ZC:.*]] = %{{.*}}) -> (vector<4xf32>, index, vector<1xbf16>, vector<1xbf16>, vector<1xbf16>, vector<1xbf16>, vector<1xbf16>)
// PF2:         %[[NEXT:.*]] = arith.addi %[[T0]], %[[S]] : index
// PF2:         %[[NB:.*]] = arith.subi %{{.*}}, %[[BUF]] : index
// PF2:         %[[AHEAD:.*]] = arith.addi %[[NEXT]], %[[S]] : index
// PF2:         %[[T2:.*]] = arith.addi %[[AHEAD]], %{{.*}} : index
// PF2:         %[[BN:.*]] = vector.load %{{.*}}[%[[T2]], %{{.*}}] {{.*}} : memref<?x16xbf16>, vector<1xbf16>
// PF2:         vector.store %[[DC]], %{{.*}}[%[[NB]], %{{.*}}, %{{.*}}] {{.*}} : memref<2x4x16xbf16, #gpu.address_space<workgroup>>, vector<1xbf16>
// PF2:         vector.store %[[UC]], %{{.*}}[%[[NB]], %{{.*}}, %{{.*}}]
// PF2:         vector.store %[[ZC]], %{{.*}}[%[[NB]], %{{.*}}, %{{.*}}]
// PF2-NEXT:    gpu.barrier
// PF2-NEXT:    scf.yield %{{.*}}, %[[NB]], %[[BN]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} :

// Blocks of 128 (32 channels): each token's row of staged delta, u, z would
// be 64 bytes, and lanes 0 and 2 (tokens j and j + 2) would read the same
// banks; 4 bf16 of padding (72-byte rows) puts the 4 lanes' rows in
// distinct banks. B and C rows (read by every lane alike) are not padded.
// PAD-LABEL: func.func @scan(
// PAD:       memref.alloca() {{.*}} : memref<2x2x8x16xf32, #gpu.address_space<workgroup>>
// PAD-COUNT-3: memref.alloca() {alignment = 16 : i64} : memref<2x8x36xbf16, #gpu.address_space<workgroup>>
// PAD:       vector.store %{{.*}} {alignment = 4 : i64} : memref<2x8x36xbf16, #gpu.address_space<workgroup>>, vector<2xbf16>
// NOPAD-LABEL: func.func @scan(
// NOPAD-COUNT-3: memref.alloca() {alignment = 16 : i64} : memref<2x8x32xbf16, #gpu.address_space<workgroup>>

// Blocks of 256 iterations would span two rows (D * lanes = 128): no
// staging.
// NOSTAGE-LABEL: func.func @scan(
// NOSTAGE-NOT:   memref.alloca
// NOSTAGE-NOT:   gpu.barrier
// NOSTAGE:       gpu.shuffle idx
// NOSTAGE-NOT:   gpu.barrier

// Lanes that are not a power of two cannot sum by halving: the sequential
// lowering stays.
// ODD-LABEL: func.func @scan(
// ODD-NOT:   gpu.shuffle
// ODD:       scf.for {{.*}} -> (vector<16xf32>)
// ODD-NOT:   gpu.shuffle

// With lane-scan-diagonal-rows=1, the scan's loops twice, behind a branch
// on the prefill count: a batch of one prefill row takes the step's four
// token groups diagonally, group 0's and 1's dt (softplus, math.absf)
// before group 0's exponentials, group 2's after them; more rows take them
// phase by phase, all four dt first.
// DIAG-LABEL: func.func @scan(
// DIAG-SAME: %{{[a-zA-Z0-9_]+}}: index, %[[NP:[a-zA-Z0-9_]+]]: index, %{{[a-zA-Z0-9_]+}}: index,
// DIAG:       %[[FEW:.*]] = arith.cmpi ule, %[[NP]], %{{.*}} : index
// DIAG:       scf.if %[[FEW]] {
// DIAG:         scf.parallel
// DIAG:           scf.for
// DIAG:             math.absf
// DIAG:             math.absf
// DIAG-NOT:         math.absf
// DIAG:             math.exp2 %{{.*}} : vector<4xf32>
// DIAG:             math.absf
// DIAG:       } else {
// DIAG:         scf.parallel
// DIAG:           scf.for
// DIAG:             math.absf
// DIAG-NOT:         math.exp2
// DIAG:             math.absf
// DIAG-NOT:         math.exp2
// DIAG:             math.absf
// DIAG-NOT:         math.exp2
// DIAG:             math.absf
// DIAG:             math.exp2 %{{.*}} : vector<4xf32>

// With both, only the phase-order loops rank the rows (the diagonal ones
// take at most diagonal-rows rows, in batch order): one workgroup i32 for
// the chosen row, in the second loop nest only.
// DIAGLONG-LABEL: func.func @scan(
// DIAGLONG:       scf.if %{{.*}} {
// DIAGLONG:         scf.parallel
// DIAGLONG-NOT:       memref<1xi32, #gpu.address_space<workgroup>>
// DIAGLONG:           scf.reduce
// DIAGLONG:       } else {
// DIAGLONG:         scf.parallel
// DIAGLONG:           memref.alloca() {alignment = 16 : i64} : memref<1xi32, #gpu.address_space<workgroup>>

// Eight tokens per step: two groups of 4, each with its own owned loads.
// STEP8-LABEL: func.func @scan(
// STEP8:       scf.for {{.*}} -> (vector<4xf32>, bf16, bf16, bf16, bf16, bf16, bf16, vector<4xbf16>
// STEP8-COUNT-8: math.exp2 %{{.*}} : vector<4xf32>
// STEP8-NOT:   math.exp2 %{{.*}} : vector<4xf32>
// STEP8:       scf.yield
func.func @scan(%qsl: memref<?xi32>, %si: memref<?xi32>, %init: memref<?xi8>,
                %nd: index, %np: index, %npt: index,
                %u: memref<?x32xbf16>, %dt: memref<?x32xbf16>,
                %A: memref<32x16xf32>, %B: memref<?x16xbf16>,
                %C: memref<?x16xbf16>, %D: memref<32xf32>,
                %z: memref<?x32xbf16>, %db: memref<32xf32>,
                %ss: memref<?x32x16xbf16>, %y: memref<?x32xbf16>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.selective_scan u(%u : memref<?x32xbf16>) delta(%dt : memref<?x32xbf16>)
      A(%A : memref<32x16xf32>) B(%B : memref<?x16xbf16>) C(%C : memref<?x16xbf16>)
      D(%D : memref<32xf32>) z(%z : memref<?x32xbf16>)
      delta_bias(%db : memref<32xf32>) state(%ss : memref<?x32x16xbf16>)
      batch(%b) out(%y : memref<?x32xbf16>) {delta_softplus}
  return
}

// -----

// D * lanes = 24 is not whole warps, and N = 2 is fewer states than lanes:
// both keep the sequential lowering (one iteration per channel, no
// shuffles).
// CHECK-LABEL: func.func @not_whole_warps(
// CHECK-NOT:   gpu.shuffle
// CHECK:       scf.for {{.*}} -> (vector<16xf32>)
// CHECK-NOT:   gpu.shuffle
// CHECK-LABEL: func.func @fewer_states_than_lanes(
// CHECK-NOT:   gpu.shuffle
// CHECK:       scf.for {{.*}} -> (vector<2xf32>)
// CHECK-NOT:   gpu.shuffle
func.func @not_whole_warps(%qsl: memref<?xi32>, %si: memref<?xi32>, %init: memref<?xi8>,
                %nd: index, %np: index, %npt: index,
                %u: memref<?x6xf32>, %dt: memref<?x6xf32>,
                %A: memref<6x16xf32>, %B: memref<?x16xf32>,
                %C: memref<?x16xf32>, %D: memref<6xf32>,
                %ss: memref<?x6x16xf32>, %y: memref<?x6xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.selective_scan u(%u : memref<?x6xf32>) delta(%dt : memref<?x6xf32>)
      A(%A : memref<6x16xf32>) B(%B : memref<?x16xf32>) C(%C : memref<?x16xf32>)
      D(%D : memref<6xf32>) state(%ss : memref<?x6x16xf32>) batch(%b)
      out(%y : memref<?x6xf32>)
  return
}
func.func @fewer_states_than_lanes(%qsl: memref<?xi32>, %si: memref<?xi32>, %init: memref<?xi8>,
                %nd: index, %np: index, %npt: index,
                %u: memref<?x32xf32>, %dt: memref<?x32xf32>,
                %A: memref<32x2xf32>, %B: memref<?x2xf32>,
                %C: memref<?x2xf32>, %D: memref<32xf32>,
                %ss: memref<?x32x2xf32>, %y: memref<?x32xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.selective_scan u(%u : memref<?x32xf32>) delta(%dt : memref<?x32xf32>)
      A(%A : memref<32x2xf32>) B(%B : memref<?x2xf32>) C(%C : memref<?x2xf32>)
      D(%D : memref<32xf32>) state(%ss : memref<?x32x2xf32>) batch(%b)
      out(%y : memref<?x32xf32>)
  return
}

// Longest first (staged, rows on the grid's z): block row z ranks the
// prefill rows by length and scans the z-th longest. Thread t < num_prefills
// counts the rows longer than row t, or as long and earlier; the thread
// whose count is z writes t to workgroup memory; a barrier; every thread
// reads it. Past 64 (the block) prefill rows, the batch order.
// LONG-LABEL: func.func @scan(
// LONG-SAME: %[[QSL:[a-zA-Z0-9_]+]]: memref<?xi32>, %{{[a-zA-Z0-9_]+}}: memref<?xi32>, %{{[a-zA-Z0-9_]+}}: memref<?xi8>, %[[ND:[a-zA-Z0-9_]+]]: index, %[[NP:[a-zA-Z0-9_]+]]: index,
// LONG:      scf.parallel (%{{.*}}, %[[I:[a-zA-Z0-9_]+]], %[[ROW:[a-zA-Z0-9_]+]]) =
// LONG:      %[[Z:.*]] = arith.subi %[[ROW]], %[[ND]] : index
// LONG:      %[[TID:.*]] = arith.remui %[[I]], %{{.*}} : index
// LONG:      %[[CHOSEN:.*]] = memref.alloca() {alignment = 16 : i64} : memref<1xi32, #gpu.address_space<workgroup>>
// LONG:      %[[SMALL:.*]] = arith.cmpi ule, %[[NP]], %{{.*}} : index
// LONG:      %[[R:.*]] = scf.if %[[SMALL]] -> (index) {
// LONG:        arith.cmpi ult, %[[TID]], %[[NP]] : index
// LONG:        %[[MINE:.*]] = arith.subi
// LONG:        %[[RANK:.*]] = scf.for %[[S:.*]] = %{{.*}} to %[[NP]] step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (index) {
// LONG:          memref.load %[[QSL]]
// LONG:          memref.load %[[QSL]]
// LONG:          %[[LEN:.*]] = arith.subi
// LONG:          %[[EARLIER:.*]] = arith.cmpi ult, %[[S]], %[[TID]] : index
// LONG:          %[[SAME:.*]] = arith.cmpi eq, %[[LEN]], %[[MINE]] : index
// LONG:          %[[TIE:.*]] = arith.andi %[[SAME]], %[[EARLIER]] : i1
// LONG:          %[[LONGER:.*]] = arith.cmpi ugt, %[[LEN]], %[[MINE]] : index
// LONG:          arith.ori %[[LONGER]], %[[TIE]] : i1
// LONG:        %[[IS:.*]] = arith.cmpi eq, %[[RANK]], %[[Z]] : index
// LONG:        scf.if %[[IS]] {
// LONG:          memref.store %{{.*}}, %[[CHOSEN]][%{{.*}}]
// LONG:        gpu.barrier
// LONG:        %[[PICK:.*]] = memref.load %[[CHOSEN]][%{{.*}}]
// LONG:        %[[PICKI:.*]] = arith.index_cast %[[PICK]] : i32 to index
// LONG:        %[[NEW:.*]] = arith.addi %[[ND]], %[[PICKI]] : index
// LONG:        scf.yield %[[NEW]] : index
// LONG:      } else {
// LONG:        scf.yield %[[ROW]] : index
// LONG:      memref.load %{{.*}}[%[[R]]]
