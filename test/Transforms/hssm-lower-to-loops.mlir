// RUN: hssm-opt %s -hssm-lower-to-loops | FileCheck %s
// RUN: hssm-opt %s -hssm-lower-to-loops=keep-linear=true | FileCheck %s --check-prefix=KEEP

// The loop form of each primitive. Prefill ops run rows
// [num_decodes, num_decodes + num_prefills), decode ops rows [0, num_decodes);
// each (row, channel) walks the row's tokens [qsl[row], qsl[row + 1]) with
// fp32 values whatever the storage type; pad rows store zeros and touch no
// slot. (Where an op's operands are two loads, their order is the C++
// compiler's: those are CHECK-DAG.)

// SSA names inside one line are captured with [a-z0-9_]+, not .*.

//===----------------------------------------------------------------------===//
// hssm.conv1d: bf16 storage, f32 bias, silu, pad_slot_id = 0
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @conv1d(
// CHECK-SAME: %[[QSL:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[SI:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[INIT:[a-zA-Z0-9_]+]]: memref<?xi8>,
// CHECK-SAME: %[[ND:[a-zA-Z0-9_]+]]: index, %[[NP:[a-zA-Z0-9_]+]]: index, %[[NPT:[a-zA-Z0-9_]+]]: index,
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x16xbf16>, %[[W:[a-zA-Z0-9_]+]]: memref<16x4xbf16>, %[[BIAS:[a-zA-Z0-9_]+]]: memref<16xf32>,
// CHECK-SAME: %[[CS:[a-zA-Z0-9_]+]]: memref<?x3x16xbf16>, %[[O:[a-zA-Z0-9_]+]]: memref<?x16xbf16>)
// CHECK-NOT:  hssm.
// CHECK:      %[[NREQ:.*]] = arith.addi %[[ND]], %[[NP]] : index
// CHECK:      %[[C16:.*]] = arith.constant 16 : index
// CHECK:      scf.parallel (%[[ROW:[a-z0-9_]+]], %[[D:[a-z0-9_]+]]) = (%[[ND]], %{{[a-z0-9_]+}}) to (%[[NREQ]], %[[C16]]) step
//   The row's tokens and slots; the destination defaults to state_indices.
// CHECK:      %[[NEXT:.*]] = arith.addi %[[ROW]], %{{[a-z0-9_]+}} : index
// CHECK-NEXT: %[[BEGIN_I32:.*]] = memref.load %[[QSL]][%[[ROW]]] : memref<?xi32>
// CHECK-NEXT: %[[BEGIN:.*]] = arith.index_cast %[[BEGIN_I32]] : i32 to index
// CHECK-NEXT: %[[END_I32:.*]] = memref.load %[[QSL]][%[[NEXT]]] : memref<?xi32>
// CHECK-NEXT: %[[END:.*]] = arith.index_cast %[[END_I32]] : i32 to index
// CHECK-NEXT: %[[SRC_I32:.*]] = memref.load %[[SI]][%[[ROW]]] : memref<?xi32>
// CHECK-NEXT: %[[SRC:.*]] = arith.index_cast %[[SRC_I32]] : i32 to index
// CHECK-NEXT: %[[DST_I32:.*]] = memref.load %[[SI]][%[[ROW]]] : memref<?xi32>
// CHECK-NEXT: %[[DST:.*]] = arith.index_cast %[[DST_I32]] : i32 to index
// CHECK-NEXT: %[[PAD:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[ISPAD:.*]] = arith.cmpi eq, %[[SRC]], %[[PAD]] : index
// CHECK-NEXT: %[[FLAG:.*]] = memref.load %[[INIT]][%[[ROW]]] : memref<?xi8>
// CHECK-NEXT: %[[FALSE:.*]] = arith.constant 0 : i8
// CHECK-NEXT: %[[READS:.*]] = arith.cmpi ne, %[[FLAG]], %[[FALSE]] : i8
//   Pad row: zero outputs, no state access.
// CHECK-NEXT: scf.if %[[ISPAD]] {
// CHECK-NEXT:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:   scf.for %[[T:[a-z0-9_]+]] = %[[BEGIN]] to %[[END]] step %[[ONE]] {
// CHECK-NEXT:     %[[ZB:.*]] = arith.truncf %[[ZERO]] : f32 to bf16
// CHECK-NEXT:     memref.store %[[ZB]], %[[O]][%[[T]], %[[D]]] : memref<?x16xbf16>
// CHECK-NEXT:   }
// CHECK-NEXT: } else {
//   Live row: the W-1 older inputs from the slot when it has an initial
//   state, else zeros.
// CHECK-NEXT:   %[[ZW:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[OLD0:.*]] = scf.if %[[READS]] -> (f32) {
// CHECK-NEXT:     %[[K0:.*]] = arith.constant 0 : index
// CHECK-NEXT:     %[[S0:.*]] = memref.load %[[CS]][%[[SRC]], %[[K0]], %[[D]]] : memref<?x3x16xbf16>
// CHECK-NEXT:     %[[S0F:.*]] = arith.extf %[[S0]] : bf16 to f32
// CHECK-NEXT:     scf.yield %[[S0F]] : f32
// CHECK-NEXT:   } else {
// CHECK-NEXT:     scf.yield %[[ZW]] : f32
// CHECK-NEXT:   }
// CHECK-NEXT:   %[[OLD1:.*]] = scf.if %[[READS]] -> (f32) {
// CHECK:          memref.load %[[CS]][%[[SRC]], %{{[a-z0-9_]+}}, %[[D]]] : memref<?x3x16xbf16>
// CHECK:        %[[OLD2:.*]] = scf.if %[[READS]] -> (f32) {
// CHECK:          memref.load %[[CS]][%[[SRC]], %{{[a-z0-9_]+}}, %[[D]]] : memref<?x3x16xbf16>
//   The W taps and the bias, read once per channel.
// CHECK:        %[[K0:.*]] = arith.constant 0 : index
// CHECK-NEXT:   %[[W0:.*]] = memref.load %[[W]][%[[D]], %[[K0]]] : memref<16x4xbf16>
// CHECK-NEXT:   %[[W0F:.*]] = arith.extf %[[W0]] : bf16 to f32
// CHECK-NEXT:   %[[K1:.*]] = arith.constant 1 : index
// CHECK-NEXT:   %[[W1:.*]] = memref.load %[[W]][%[[D]], %[[K1]]] : memref<16x4xbf16>
// CHECK-NEXT:   %[[W1F:.*]] = arith.extf %[[W1]] : bf16 to f32
// CHECK-NEXT:   %[[K2:.*]] = arith.constant 2 : index
// CHECK-NEXT:   %[[W2:.*]] = memref.load %[[W]][%[[D]], %[[K2]]] : memref<16x4xbf16>
// CHECK-NEXT:   %[[W2F:.*]] = arith.extf %[[W2]] : bf16 to f32
// CHECK-NEXT:   %[[K3:.*]] = arith.constant 3 : index
// CHECK-NEXT:   %[[W3:.*]] = memref.load %[[W]][%[[D]], %[[K3]]] : memref<16x4xbf16>
// CHECK-NEXT:   %[[W3F:.*]] = arith.extf %[[W3]] : bf16 to f32
// CHECK-NEXT:   %[[BD:.*]] = memref.load %[[BIAS]][%[[D]]] : memref<16xf32>
//   Over the tokens, the window travels as three loop-carried f32 values.
// CHECK:        %[[WIN:.*]]:3 = scf.for %[[T:[a-z0-9_]+]] = %[[BEGIN]] to %[[END]] step %{{[a-z0-9_]+}} iter_args(%[[P0:[a-z0-9_]+]] = %[[OLD0]], %[[P1:[a-z0-9_]+]] = %[[OLD1]], %[[P2:[a-z0-9_]+]] = %[[OLD2]]) -> (f32, f32, f32) {
// CHECK-NEXT:     %[[XT:.*]] = memref.load %[[X]][%[[T]], %[[D]]] : memref<?x16xbf16>
// CHECK-NEXT:     %[[XTF:.*]] = arith.extf %[[XT]] : bf16 to f32
// CHECK-NEXT:     %[[M0:.*]] = arith.mulf %[[W0F]], %[[P0]] : f32
// CHECK-NEXT:     %[[A0:.*]] = arith.addf %[[BD]], %[[M0]] : f32
// CHECK-NEXT:     %[[M1:.*]] = arith.mulf %[[W1F]], %[[P1]] : f32
// CHECK-NEXT:     %[[A1:.*]] = arith.addf %[[A0]], %[[M1]] : f32
// CHECK-NEXT:     %[[M2:.*]] = arith.mulf %[[W2F]], %[[P2]] : f32
// CHECK-NEXT:     %[[A2:.*]] = arith.addf %[[A1]], %[[M2]] : f32
// CHECK-NEXT:     %[[M3:.*]] = arith.mulf %[[W3F]], %[[XTF]] : f32
// CHECK-NEXT:     %[[ACC:.*]] = arith.addf %[[A2]], %[[M3]] : f32
//   silu(acc) = acc / (1 + exp(-acc))
// CHECK-NEXT:     %[[NEG:.*]] = arith.negf %[[ACC]] : f32
// CHECK-NEXT:     %[[E:.*]] = math.exp %[[NEG]] : f32
// CHECK-NEXT:     %[[C1F:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:     %[[DEN:.*]] = arith.addf %[[C1F]], %[[E]] : f32
// CHECK-NEXT:     %[[ACT:.*]] = arith.divf %[[ACC]], %[[DEN]] : f32
// CHECK-NEXT:     %[[ACTB:.*]] = arith.truncf %[[ACT]] : f32 to bf16
// CHECK-NEXT:     memref.store %[[ACTB]], %[[O]][%[[T]], %[[D]]] : memref<?x16xbf16>
// CHECK-NEXT:     scf.yield %[[P1]], %[[P2]], %[[XTF]] : f32, f32, f32
// CHECK-NEXT:   }
//   The final window is the new conv state, in the destination slot.
// CHECK:        %[[N0:.*]] = arith.truncf %[[WIN]]#0 : f32 to bf16
// CHECK-NEXT:   memref.store %[[N0]], %[[CS]][%[[DST]], %{{[a-z0-9_]+}}, %[[D]]] : memref<?x3x16xbf16>
// CHECK:        %[[N1:.*]] = arith.truncf %[[WIN]]#1 : f32 to bf16
// CHECK-NEXT:   memref.store %[[N1]], %[[CS]][%[[DST]], %{{[a-z0-9_]+}}, %[[D]]] : memref<?x3x16xbf16>
// CHECK:        %[[N2:.*]] = arith.truncf %[[WIN]]#2 : f32 to bf16
// CHECK-NEXT:   memref.store %[[N2]], %[[CS]][%[[DST]], %{{[a-z0-9_]+}}, %[[D]]] : memref<?x3x16xbf16>
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
// CHECK-NOT:  hssm.
func.func @conv1d(%qsl: memref<?xi32>, %si: memref<?xi32>, %init: memref<?xi8>,
                  %nd: index, %np: index, %npt: index,
                  %x: memref<?x16xbf16>, %w: memref<16x4xbf16>,
                  %bias: memref<16xf32>, %cs: memref<?x3x16xbf16>,
                  %o: memref<?x16xbf16>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.conv1d x(%x : memref<?x16xbf16>) weight(%w : memref<16x4xbf16>)
      bias(%bias : memref<16xf32>) state(%cs : memref<?x3x16xbf16>) batch(%b)
      out(%o : memref<?x16xbf16>) {silu, pad_slot_id = 0}
  return
}

//===----------------------------------------------------------------------===//
// hssm.conv_update: f32, W = 2, no bias, no silu, explicit destinations
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @conv_update(
// CHECK-SAME: %[[QSL:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[SI:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[DSTI:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[INIT:[a-zA-Z0-9_]+]]: memref<?xi8>,
// CHECK-SAME: %[[ND:[a-zA-Z0-9_]+]]: index, %[[NP:[a-zA-Z0-9_]+]]: index, %[[NPT:[a-zA-Z0-9_]+]]: index,
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x16xf32>, %[[W:[a-zA-Z0-9_]+]]: memref<16x2xf32>, %[[CS:[a-zA-Z0-9_]+]]: memref<?x1x16xf32>, %[[O:[a-zA-Z0-9_]+]]: memref<?x16xf32>)
// CHECK-NOT:  hssm.
// CHECK:      %[[C0:.*]] = arith.constant 0 : index
// CHECK:      scf.parallel (%[[ROW:[a-z0-9_]+]], %[[D:[a-z0-9_]+]]) = (%[[C0]], %{{[a-z0-9_]+}}) to (%[[ND]], %{{[a-z0-9_]+}}) step
//   A decode row's token is the row itself: query_start_loc is not read.
// CHECK-NOT:  memref.load %[[QSL]]
// CHECK:      %[[SRC_I32:.*]] = memref.load %[[SI]][%[[ROW]]] : memref<?xi32>
// CHECK-NEXT: %[[SRC:.*]] = arith.index_cast %[[SRC_I32]] : i32 to index
// CHECK-NEXT: %[[DST_I32:.*]] = memref.load %[[DSTI]][%[[ROW]]] : memref<?xi32>
// CHECK-NEXT: %[[DST:.*]] = arith.index_cast %[[DST_I32]] : i32 to index
// CHECK-NEXT: %[[PAD:.*]] = arith.constant -1 : index
// CHECK-NEXT: %[[ISPAD:.*]] = arith.cmpi eq, %[[SRC]], %[[PAD]] : index
//   Decodes always read their slot: has_initial_state is not loaded.
// CHECK-NOT:  memref.load %[[INIT]]
// CHECK-NEXT: %[[TRUE:.*]] = arith.constant true
// CHECK-NEXT: scf.if %[[ISPAD]] {
// CHECK:        scf.for %[[T:[a-z0-9_]+]] =
// CHECK-NEXT:     memref.store %{{[a-z0-9_]+}}, %[[O]][%[[T]], %[[D]]] : memref<?x16xf32>
// CHECK-NEXT:   }
// CHECK-NEXT: } else {
// CHECK-NEXT:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[OLD:.*]] = scf.if %[[TRUE]] -> (f32) {
// CHECK:          memref.load %[[CS]][%[[SRC]], %{{[a-z0-9_]+}}, %[[D]]] : memref<?x1x16xf32>
// CHECK:        %[[W0:.*]] = memref.load %[[W]][%[[D]], %{{[a-z0-9_]+}}] : memref<16x2xf32>
// CHECK:        %[[W1:.*]] = memref.load %[[W]][%[[D]], %{{[a-z0-9_]+}}] : memref<16x2xf32>
// CHECK-NEXT:   %[[NOBIAS:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:        %[[NEW:.*]] = scf.for %[[T:[a-z0-9_]+]] = %{{[a-z0-9_]+}} to %{{[a-z0-9_]+}} step %{{[a-z0-9_]+}} iter_args(%[[P0:[a-z0-9_]+]] = %[[OLD]]) -> (f32) {
// CHECK-NEXT:     %[[XT:.*]] = memref.load %[[X]][%[[T]], %[[D]]] : memref<?x16xf32>
// CHECK-NEXT:     %[[M0:.*]] = arith.mulf %[[W0]], %[[P0]] : f32
//   No bias: the sum starts at zero.
// CHECK-NEXT:     %[[A0:.*]] = arith.addf %[[NOBIAS]], %[[M0]] : f32
// CHECK-NEXT:     %[[M1:.*]] = arith.mulf %[[W1]], %[[XT]] : f32
// CHECK-NEXT:     %[[ACC:.*]] = arith.addf %[[A0]], %[[M1]] : f32
//   No silu, no conversion: the sum is stored as it is.
// CHECK-NEXT:     memref.store %[[ACC]], %[[O]][%[[T]], %[[D]]] : memref<?x16xf32>
// CHECK-NEXT:     scf.yield %[[XT]] : f32
// CHECK-NEXT:   }
// CHECK:        memref.store %[[NEW]], %[[CS]][%[[DST]], %{{[a-z0-9_]+}}, %[[D]]] : memref<?x1x16xf32>
// CHECK-NEXT: }
// CHECK-NOT:  math.exp
// CHECK-NOT:  hssm.
func.func @conv_update(%qsl: memref<?xi32>, %si: memref<?xi32>,
                       %dst: memref<?xi32>, %init: memref<?xi8>, %nd: index,
                       %np: index, %npt: index, %x: memref<?x16xf32>,
                       %w: memref<16x2xf32>, %cs: memref<?x1x16xf32>,
                       %o: memref<?x16xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) dst_state_indices(%dst : memref<?xi32>)
      has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.conv_update x(%x : memref<?x16xf32>) weight(%w : memref<16x2xf32>)
      state(%cs : memref<?x1x16xf32>) batch(%b) out(%o : memref<?x16xf32>)
  return
}

//===----------------------------------------------------------------------===//
// hssm.selective_scan: bf16 delta and state, z, delta_bias, softplus
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @selective_scan(
// CHECK-SAME: %[[QSL:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[SI:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[DSTI:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[INIT:[a-zA-Z0-9_]+]]: memref<?xi8>,
// CHECK-SAME: %[[ND:[a-zA-Z0-9_]+]]: index, %[[NP:[a-zA-Z0-9_]+]]: index, %[[NPT:[a-zA-Z0-9_]+]]: index,
// CHECK-SAME: %[[U:[a-zA-Z0-9_]+]]: memref<?x32xf32>, %[[DT:[a-zA-Z0-9_]+]]: memref<?x32xbf16>, %[[A:[a-zA-Z0-9_]+]]: memref<32x16xf32>,
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: memref<?x16xf32>, %[[C:[a-zA-Z0-9_]+]]: memref<?x16xf32>, %[[DS:[a-zA-Z0-9_]+]]: memref<32xf32>,
// CHECK-SAME: %[[Z:[a-zA-Z0-9_]+]]: memref<?x32xf32>, %[[DB:[a-zA-Z0-9_]+]]: memref<32xf32>, %[[SS:[a-zA-Z0-9_]+]]: memref<?x32x16xbf16>, %[[Y:[a-zA-Z0-9_]+]]: memref<?x32xf32>)
// CHECK-NOT:  hssm.
// CHECK:      %[[NREQ:.*]] = arith.addi %[[ND]], %[[NP]] : index
// CHECK:      scf.parallel (%[[ROW:[a-z0-9_]+]], %[[D:[a-z0-9_]+]]) = (%[[ND]], %{{[a-z0-9_]+}}) to (%[[NREQ]], %{{[a-z0-9_]+}}) step
// CHECK:      %[[BEGIN:.*]] = arith.index_cast %{{[a-z0-9_]+}} : i32 to index
// CHECK:      %[[END:.*]] = arith.index_cast %{{[a-z0-9_]+}} : i32 to index
// CHECK:      memref.load %[[SI]][%[[ROW]]] : memref<?xi32>
// CHECK-NEXT: %[[SRC:.*]] = arith.index_cast
// CHECK-NEXT: memref.load %[[DSTI]][%[[ROW]]] : memref<?xi32>
// CHECK-NEXT: %[[DST:.*]] = arith.index_cast
// CHECK-NEXT: %[[PAD:.*]] = arith.constant -1 : index
// CHECK-NEXT: %[[ISPAD:.*]] = arith.cmpi eq, %[[SRC]], %[[PAD]] : index
// CHECK-NEXT: %[[FLAG:.*]] = memref.load %[[INIT]][%[[ROW]]] : memref<?xi8>
// CHECK:      %[[READS:.*]] = arith.cmpi ne, %[[FLAG]]
// CHECK-NEXT: scf.if %[[ISPAD]] {
// CHECK:        scf.for %[[T:[a-z0-9_]+]] = %[[BEGIN]] to %[[END]]
// CHECK-NEXT:     memref.store %{{[a-z0-9_]+}}, %[[Y]][%[[T]], %[[D]]] : memref<?x32xf32>
// CHECK-NEXT:   }
// CHECK-NEXT: } else {
//   h_init: the channel's 16 states as one f32 vector, from the slot or zero.
// CHECK:        %[[H0:.*]] = scf.if %[[READS]] -> (vector<16xf32>) {
// CHECK-NEXT:     %[[HS:.*]] = vector.load %[[SS]][%[[SRC]], %[[D]], %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<?x32x16xbf16>, vector<16xbf16>
// CHECK-NEXT:     %[[HSF:.*]] = arith.extf %[[HS]] : vector<16xbf16> to vector<16xf32>
// CHECK-NEXT:     scf.yield %[[HSF]] : vector<16xf32>
// CHECK-NEXT:   } else {
// CHECK-NEXT:     %[[HZ:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK-NEXT:     scf.yield %[[HZ]] : vector<16xf32>
// CHECK-NEXT:   }
//   A * log2(e), once per row: the decay is exp2(dt * A * log2(e)).
// CHECK-NEXT:   %[[ARAW:.*]] = vector.load %[[A]][%[[D]], %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<32x16xf32>, vector<16xf32>
// CHECK-NEXT:   %[[L2E:.*]] = arith.constant dense<1.44269502> : vector<16xf32>
// CHECK-NEXT:   %[[AROW:.*]] = arith.mulf %[[ARAW]], %[[L2E]] : vector<16xf32>
// CHECK-NEXT:   %[[SKIP:.*]] = memref.load %[[DS]][%[[D]]] : memref<32xf32>
// CHECK-NEXT:   %[[BIAS:.*]] = memref.load %[[DB]][%[[D]]] : memref<32xf32>
// CHECK-NEXT:   %[[HT:.*]] = scf.for %[[T:[a-z0-9_]+]] = %[[BEGIN]] to %[[END]] step %{{[a-z0-9_]+}} iter_args(%[[H:[a-z0-9_]+]] = %[[H0]]) -> (vector<16xf32>) {
//   dt = softplus(delta + delta_bias) = max(v, 0) + log1p(exp(-|v|)), with
//   log1p(e) = e * Q(e) on [0, 1], Q of degree 8 by Estrin's scheme (powers
//   e^2 and e^4, eight FMAs, the last two on e^4).
// CHECK-NEXT:     %[[DTB:.*]] = memref.load %[[DT]][%[[T]], %[[D]]] : memref<?x32xbf16>
// CHECK-NEXT:     %[[DTF:.*]] = arith.extf %[[DTB]] : bf16 to f32
// CHECK-NEXT:     %[[V:.*]] = arith.addf %[[DTF]], %[[BIAS]] : f32
// CHECK-NEXT:     %[[AV:.*]] = math.absf %[[V]] : f32
// CHECK-NEXT:     %[[NAV:.*]] = arith.negf %[[AV]] : f32
// CHECK-NEXT:     %[[EV:.*]] = math.exp %[[NAV]] : f32
// CHECK-NEXT:     %[[ZF:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:     %[[POS:.*]] = arith.maxnumf %[[V]], %[[ZF]] : f32
// CHECK-NEXT:     %[[E2:.*]] = arith.mulf %[[EV]], %[[EV]] : f32
// CHECK-NEXT:     %[[E4:.*]] = arith.mulf %[[E2]], %[[E2]] : f32
// CHECK-COUNT-6:  math.fma
// CHECK:          %[[Q48:.*]] = math.fma %{{.*}}, %[[E4]], %{{.*}} : f32
// CHECK-NEXT:     %[[Q:.*]] = math.fma %[[Q48]], %[[E4]], %{{.*}} : f32
// CHECK-NEXT:     %[[LOG1P:.*]] = arith.mulf %[[Q]], %[[EV]] : f32
// CHECK-NEXT:     %[[DELTA:.*]] = arith.addf %[[POS]], %[[LOG1P]] : f32
// CHECK-NEXT:     %[[UT:.*]] = memref.load %[[U]][%[[T]], %[[D]]] : memref<?x32xf32>
// CHECK-NEXT:     %[[DU:.*]] = arith.mulf %[[DELTA]], %[[UT]] : f32
// CHECK:          %[[BT:.*]] = vector.load %[[B]][%[[T]], %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<?x16xf32>, vector<16xf32>
//   h = exp2(dt * A log2(e)) * h + (dt * u) * B
// CHECK-DAG:      %[[DTV:.*]] = vector.broadcast %[[DELTA]] : f32 to vector<16xf32>
// CHECK-DAG:      %[[DA:.*]] = arith.mulf %[[DTV]], %[[AROW]] : vector<16xf32>
// CHECK-DAG:      %[[DECAY:.*]] = math.exp2 %[[DA]] : vector<16xf32>
// CHECK-DAG:      %[[DUV:.*]] = vector.broadcast %[[DU]] : f32 to vector<16xf32>
// CHECK-DAG:      %[[DBU:.*]] = arith.mulf %[[DUV]], %[[BT]] : vector<16xf32>
// CHECK-DAG:      %[[DH:.*]] = arith.mulf %[[DECAY]], %[[H]] : vector<16xf32>
// CHECK:          %[[HN:.*]] = arith.addf %[[DH]], %[[DBU]] : vector<16xf32>
//   y = (C . h + Dskip * u) * silu(z)
// CHECK:          %[[CT:.*]] = vector.load %[[C]][%[[T]], %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<?x16xf32>, vector<16xf32>
// CHECK-NEXT:     %[[CH:.*]] = arith.mulf %[[CT]], %[[HN]] : vector<16xf32>
// CHECK-NEXT:     %[[DOT:.*]] = vector.reduction <add>, %[[CH]] : vector<16xf32> into f32
// CHECK-NEXT:     %[[SU:.*]] = arith.mulf %[[SKIP]], %[[UT]] : f32
// CHECK-NEXT:     %[[YT:.*]] = arith.addf %[[DOT]], %[[SU]] : f32
// CHECK-NEXT:     %[[ZT:.*]] = memref.load %[[Z]][%[[T]], %[[D]]] : memref<?x32xf32>
// CHECK-NEXT:     %[[NZ:.*]] = arith.negf %[[ZT]] : f32
// CHECK-NEXT:     %[[EZ:.*]] = math.exp %[[NZ]] : f32
// CHECK-NEXT:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:     %[[DEN:.*]] = arith.addf %[[ONE]], %[[EZ]] : f32
// CHECK-NEXT:     %[[SZ:.*]] = arith.divf %[[ZT]], %[[DEN]] : f32
// CHECK-NEXT:     %[[YG:.*]] = arith.mulf %[[YT]], %[[SZ]] : f32
// CHECK-NEXT:     memref.store %[[YG]], %[[Y]][%[[T]], %[[D]]] : memref<?x32xf32>
// CHECK-NEXT:     scf.yield %[[HN]] : vector<16xf32>
// CHECK-NEXT:   }
//   h_final to the destination slot, rounded once to bf16.
// CHECK-NEXT:   %[[HB:.*]] = arith.truncf %[[HT]] : vector<16xf32> to vector<16xbf16>
// CHECK-NEXT:   vector.store %[[HB]], %[[SS]][%[[DST]], %[[D]], %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<?x32x16xbf16>, vector<16xbf16>
// CHECK-NEXT: }
// CHECK-NOT:  hssm.
func.func @selective_scan(%qsl: memref<?xi32>, %si: memref<?xi32>,
                          %dst: memref<?xi32>, %init: memref<?xi8>,
                          %nd: index, %np: index, %npt: index,
                          %u: memref<?x32xf32>, %dt: memref<?x32xbf16>,
                          %A: memref<32x16xf32>, %B: memref<?x16xf32>,
                          %C: memref<?x16xf32>, %D: memref<32xf32>,
                          %z: memref<?x32xf32>, %db: memref<32xf32>,
                          %ss: memref<?x32x16xbf16>, %y: memref<?x32xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) dst_state_indices(%dst : memref<?xi32>)
      has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.selective_scan u(%u : memref<?x32xf32>) delta(%dt : memref<?x32xbf16>)
      A(%A : memref<32x16xf32>) B(%B : memref<?x16xf32>)
      C(%C : memref<?x16xf32>) D(%D : memref<32xf32>) z(%z : memref<?x32xf32>)
      delta_bias(%db : memref<32xf32>) state(%ss : memref<?x32x16xbf16>)
      batch(%b) out(%y : memref<?x32xf32>) {delta_softplus}
  return
}

//===----------------------------------------------------------------------===//
// hssm.state_update: f32, no z, no delta_bias, no softplus
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @state_update(
// CHECK-SAME: %[[QSL:[a-zA-Z0-9_]+]]: memref<?xi32>,
// CHECK-SAME: %[[INIT:[a-zA-Z0-9_]+]]: memref<?xi8>, %[[ND:[a-zA-Z0-9_]+]]: index,
// CHECK-SAME: %[[U:[a-zA-Z0-9_]+]]: memref<?x32xf32>, %[[DT:[a-zA-Z0-9_]+]]: memref<?x32xf32>, %[[A:[a-zA-Z0-9_]+]]: memref<32x16xf32>,
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: memref<?x16xf32>, %[[C:[a-zA-Z0-9_]+]]: memref<?x16xf32>, %[[DS:[a-zA-Z0-9_]+]]: memref<32xf32>,
// CHECK-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<?x32x16xf32>, %[[Y:[a-zA-Z0-9_]+]]: memref<?x32xf32>)
// CHECK:      %[[C0:.*]] = arith.constant 0 : index
// CHECK:      scf.parallel (%[[ROW:[a-z0-9_]+]], %[[D:[a-z0-9_]+]]) = (%[[C0]], %{{[a-z0-9_]+}}) to (%[[ND]], %{{[a-z0-9_]+}}) step
// CHECK-NOT:  memref.load %[[INIT]]
//   A decode reads its slot unconditionally and has one token, the row's
//   own (decodes come first, one token each: query_start_loc is not read):
//   straight-line code, no token loop. The state is loaded before any
//   branch; a pad row reads slot 0 instead of its own and stores no state.
// CHECK-NOT:  memref.load %[[QSL]]
// CHECK:      %[[SLOT:.*]] = arith.index_cast %{{[a-z0-9_]+}} : i32 to index
// CHECK:      %[[PAD:.*]] = arith.cmpi eq, %[[SLOT]], %{{[a-z0-9_-]+}} : index
// CHECK:      %[[SRC:.*]] = arith.select %[[PAD]], %{{[a-z0-9_]+}}, %[[SLOT]] : index
// CHECK-NEXT: %[[H0:.*]] = vector.load %[[SS]][%[[SRC]], %[[D]], %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<?x32x16xf32>, vector<16xf32>
// CHECK-NOT:  scf.for
//   delta is used as it is.
// CHECK:      %[[DELTA:.*]] = memref.load %[[DT]][%[[ROW]], %[[D]]] : memref<?x32xf32>
// CHECK-NEXT: %[[UT:.*]] = memref.load %[[U]][%[[ROW]], %[[D]]] : memref<?x32xf32>
// CHECK-NEXT: arith.mulf %[[DELTA]], %[[UT]] : f32
// CHECK:      math.exp2 %{{[a-z0-9_]+}} : vector<16xf32>
// CHECK:      %[[HT:.*]] = arith.addf %{{[a-z0-9_]+}}, %{{[a-z0-9_]+}} : vector<16xf32>
// CHECK:      %[[DOT:.*]] = vector.reduction <add>, %{{[a-z0-9_]+}} : vector<16xf32> into f32
// CHECK-NEXT: %[[SU:.*]] = arith.mulf %{{[a-z0-9_]+}}, %[[UT]] : f32
//   No gate.
// CHECK-NEXT: %[[YT:.*]] = arith.addf %[[DOT]], %[[SU]] : f32
// CHECK:      scf.if %[[PAD]] {
// CHECK-NEXT:   memref.store %{{[a-z0-9_]+}}, %[[Y]][%[[ROW]], %[[D]]] : memref<?x32xf32>
// CHECK-NEXT: } else {
// CHECK-NEXT:   memref.store %[[YT]], %[[Y]][%[[ROW]], %[[D]]] : memref<?x32xf32>
//   An f32 pool takes the state without conversion.
// CHECK-NEXT:   vector.store %[[HT]], %[[SS]][%{{[a-z0-9_]+}}, %[[D]], %{{[a-z0-9_]+}}] {alignment = 16 : i64} : memref<?x32x16xf32>, vector<16xf32>
// CHECK-NEXT: }
//   An empty pool: every row is padding.
// CHECK:      } else {
// CHECK-NEXT:   %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   memref.store %[[Z]], %[[Y]][%[[ROW]], %[[D]]] : memref<?x32xf32>
// CHECK-NEXT: }
// CHECK-NOT:  scf.for
// CHECK-NOT:  math.log
// CHECK-NOT:  hssm.
func.func @state_update(%qsl: memref<?xi32>, %si: memref<?xi32>,
                        %init: memref<?xi8>, %nd: index, %np: index,
                        %npt: index, %u: memref<?x32xf32>,
                        %dt: memref<?x32xf32>, %A: memref<32x16xf32>,
                        %B: memref<?x16xf32>, %C: memref<?x16xf32>,
                        %D: memref<32xf32>, %ss: memref<?x32x16xf32>,
                        %y: memref<?x32xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.state_update u(%u : memref<?x32xf32>) delta(%dt : memref<?x32xf32>)
      A(%A : memref<32x16xf32>) B(%B : memref<?x16xf32>)
      C(%C : memref<?x16xf32>) D(%D : memref<32xf32>)
      state(%ss : memref<?x32x16xf32>) batch(%b) out(%y : memref<?x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// hssm.linear
//===----------------------------------------------------------------------===//

// bf16 inputs, f32 bias, f16 output, accumulate.
// CHECK-LABEL: func.func @linear(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x8xbf16>, %[[W:[a-zA-Z0-9_]+]]: memref<32x8xbf16>, %[[BIAS:[a-zA-Z0-9_]+]]: memref<32xf32>, %[[O:[a-zA-Z0-9_]+]]: memref<?x32xf16>)
// CHECK:      %[[T:.*]] = memref.dim %[[X]], %{{[a-z0-9_]+}} : memref<?x8xbf16>
// CHECK:      %[[M:.*]] = arith.constant 32 : index
// CHECK:      %[[K:.*]] = arith.constant 8 : index
// CHECK:      scf.parallel (%[[I:[a-z0-9_]+]], %[[J:[a-z0-9_]+]]) = (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) to (%[[T]], %[[M]]) step
// CHECK-NEXT:   %[[BJ:.*]] = memref.load %[[BIAS]][%[[J]]] : memref<32xf32>
// CHECK-NEXT:   %[[OLD:.*]] = memref.load %[[O]][%[[I]], %[[J]]] : memref<?x32xf16>
// CHECK-NEXT:   %[[OLDF:.*]] = arith.extf %[[OLD]] : f16 to f32
// CHECK-NEXT:   %[[INIT:.*]] = arith.addf %[[BJ]], %[[OLDF]] : f32
// CHECK-NEXT:   %[[DOT:.*]] = scf.for %[[KK:[a-z0-9_]+]] = %{{[a-z0-9_]+}} to %[[K]] step %{{[a-z0-9_]+}} iter_args(%[[ACC:[a-z0-9_]+]] = %[[INIT]]) -> (f32) {
// CHECK-DAG:      %[[WV:.*]] = memref.load %[[W]][%[[J]], %[[KK]]] : memref<32x8xbf16>
// CHECK-DAG:      %[[WF:.*]] = arith.extf %[[WV]] : bf16 to f32
// CHECK-DAG:      %[[XV:.*]] = memref.load %[[X]][%[[I]], %[[KK]]] : memref<?x8xbf16>
// CHECK-DAG:      %[[XF:.*]] = arith.extf %[[XV]] : bf16 to f32
// CHECK:          %[[P:.*]] = arith.mulf %[[XF]], %[[WF]] fastmath<reassoc,contract> : f32
// CHECK-NEXT:     %[[S:.*]] = arith.addf %[[ACC]], %[[P]] fastmath<reassoc,contract> : f32
// CHECK-NEXT:     scf.yield %[[S]] : f32
// CHECK-NEXT:   }
// CHECK-NEXT:   %[[R:.*]] = arith.truncf %[[DOT]] : f32 to f16
// CHECK-NEXT:   memref.store %[[R]], %[[O]][%[[I]], %[[J]]] : memref<?x32xf16>
// CHECK-NEXT:   scf.reduce
// CHECK-NOT:  hssm.
// KEEP-LABEL: func.func @linear(
// KEEP-NOT:   scf.parallel
// KEEP:       hssm.linear x(%{{.*}} : memref<?x8xbf16>) weight(%{{.*}} : memref<32x8xbf16>) bias(%{{.*}} : memref<32xf32>) out(%{{.*}} : memref<?x32xf16>) {accumulate}
// KEEP-NOT:   scf.parallel
func.func @linear(%x: memref<?x8xbf16>, %w: memref<32x8xbf16>,
                  %bias: memref<32xf32>, %o: memref<?x32xf16>) {
  hssm.linear x(%x : memref<?x8xbf16>) weight(%w : memref<32x8xbf16>)
      bias(%bias : memref<32xf32>) out(%o : memref<?x32xf16>) {accumulate}
  return
}

// f32, no bias, no accumulate: the sum starts at zero and out is not read.
// CHECK-LABEL: func.func @linear_plain(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x8xf32>, %[[W:[a-zA-Z0-9_]+]]: memref<32x8xf32>, %[[O:[a-zA-Z0-9_]+]]: memref<?x32xf32>)
// CHECK:      scf.parallel (%[[I:[a-z0-9_]+]], %[[J:[a-z0-9_]+]]) =
// CHECK-NEXT:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[DOT:.*]] = scf.for %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}} to %{{[a-z0-9_]+}} step %{{[a-z0-9_]+}} iter_args(%{{[a-z0-9_]+}} = %[[ZERO]]) -> (f32) {
// CHECK-NOT:      arith.extf
// CHECK:        }
// CHECK-NEXT:   memref.store %[[DOT]], %[[O]][%[[I]], %[[J]]] : memref<?x32xf32>
// CHECK-NOT:  memref.load %[[O]]
// KEEP-LABEL: func.func @linear_plain(
// KEEP:       hssm.linear
func.func @linear_plain(%x: memref<?x8xf32>, %w: memref<32x8xf32>,
                        %o: memref<?x32xf32>) {
  hssm.linear x(%x : memref<?x8xf32>) weight(%w : memref<32x8xf32>)
      out(%o : memref<?x32xf32>)
  return
}

//===----------------------------------------------------------------------===//
// hssm.combine, hssm.prefix_sum, hssm.segmented_prefix_sum
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @combine(
// CHECK-SAME: %[[SWA:[a-zA-Z0-9_]+]]: memref<?x8xf32>, %[[SSM:[a-zA-Z0-9_]+]]: memref<?x8xbf16>, %[[O:[a-zA-Z0-9_]+]]: memref<?x8xf16>)
// CHECK:      %[[T:.*]] = memref.dim %[[O]], %{{[a-z0-9_]+}} : memref<?x8xf16>
// CHECK-NEXT: %[[HD:.*]] = arith.constant 8 : index
// CHECK-NEXT: scf.parallel (%[[I:[a-z0-9_]+]], %[[J:[a-z0-9_]+]]) = (%{{[a-z0-9_]+}}, %{{[a-z0-9_]+}}) to (%[[T]], %[[HD]]) step
// CHECK-DAG:    %[[SV:.*]] = memref.load %[[SSM]][%[[I]], %[[J]]] : memref<?x8xbf16>
// CHECK-DAG:    %[[SF:.*]] = arith.extf %[[SV]] : bf16 to f32
// CHECK-DAG:    %[[AV:.*]] = memref.load %[[SWA]][%[[I]], %[[J]]] : memref<?x8xf32>
// CHECK:        %[[SUM:.*]] = arith.addf %[[AV]], %[[SF]] : f32
// CHECK-NEXT:   %[[R:.*]] = arith.truncf %[[SUM]] : f32 to f16
// CHECK-NEXT:   memref.store %[[R]], %[[O]][%[[I]], %[[J]]] : memref<?x8xf16>
// CHECK-NEXT:   scf.reduce
// CHECK-NOT:  hssm.
func.func @combine(%a: memref<?x8xf32>, %s: memref<?x8xbf16>,
                   %o: memref<?x8xf16>) {
  hssm.combine swa(%a : memref<?x8xf32>) ssm(%s : memref<?x8xbf16>)
      out(%o : memref<?x8xf16>)
  return
}

// One parallel iteration per column (under a unit outer dimension that keeps
// every loop nest (row, column)-shaped for the GPU tiling): a running sum over
// [0, count), then zeros over [count, T).
// CHECK-LABEL: func.func @prefix_sum(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x8xbf16>, %[[N:[a-zA-Z0-9_]+]]: index, %[[O:[a-zA-Z0-9_]+]]: memref<?x8xf32>)
// CHECK:      %[[C0:.*]] = arith.constant 0 : index
// CHECK:      %[[C1:.*]] = arith.constant 1 : index
// CHECK:      %[[T:.*]] = memref.dim %[[O]], %{{[a-z0-9_]+}} : memref<?x8xf32>
// CHECK-NEXT: %[[HD:.*]] = arith.constant 8 : index
// CHECK-NEXT: scf.parallel (%{{[a-z0-9_]+}}, %[[J:[a-z0-9_]+]]) = (%[[C0]], %[[C0]]) to (%[[C1]], %[[HD]]) step
// CHECK-NEXT:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   scf.for %[[I:[a-z0-9_]+]] = %[[C0]] to %[[N]] step %{{[a-z0-9_]+}} iter_args(%[[ACC:[a-z0-9_]+]] = %[[ZERO]]) -> (f32) {
// CHECK-NEXT:     %[[XV:.*]] = memref.load %[[X]][%[[I]], %[[J]]] : memref<?x8xbf16>
// CHECK-NEXT:     %[[XF:.*]] = arith.extf %[[XV]] : bf16 to f32
// CHECK-NEXT:     %[[S:.*]] = arith.addf %[[ACC]], %[[XF]] : f32
// CHECK-NEXT:     memref.store %[[S]], %[[O]][%[[I]], %[[J]]] : memref<?x8xf32>
// CHECK-NEXT:     scf.yield %[[S]] : f32
// CHECK-NEXT:   }
// CHECK-NEXT:   %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:   scf.for %[[I:[a-z0-9_]+]] = %[[N]] to %[[T]] step %[[ONE]] {
// CHECK-NEXT:     memref.store %[[Z]], %[[O]][%[[I]], %[[J]]] : memref<?x8xf32>
// CHECK-NEXT:   }
// CHECK-NEXT:   scf.reduce
// CHECK-NOT:  hssm.
func.func @prefix_sum(%x: memref<?x8xbf16>, %n: index, %o: memref<?x8xf32>) {
  hssm.prefix_sum x(%x : memref<?x8xbf16>) count(%n) out(%o : memref<?x8xf32>)
  return
}

// Every row, decodes and prefills: rows [0, num_decodes + num_prefills).
// A row continues from its slot when it has an initial state or is a decode.
// CHECK-LABEL: func.func @segmented_prefix_sum(
// CHECK-SAME: %[[QSL:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[SI:[a-zA-Z0-9_]+]]: memref<?xi32>, %[[INIT:[a-zA-Z0-9_]+]]: memref<?xi8>,
// CHECK-SAME: %[[ND:[a-zA-Z0-9_]+]]: index, %[[NP:[a-zA-Z0-9_]+]]: index, %[[NPT:[a-zA-Z0-9_]+]]: index,
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x8xf32>, %[[ST:[a-zA-Z0-9_]+]]: memref<?x8xbf16>, %[[O:[a-zA-Z0-9_]+]]: memref<?x8xf32>)
// CHECK:      %[[NREQ:.*]] = arith.addi %[[ND]], %[[NP]] : index
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : index
// CHECK:      scf.parallel (%[[ROW:[a-z0-9_]+]], %[[J:[a-z0-9_]+]]) = (%[[C0]], %[[C0]]) to (%[[NREQ]], %{{[a-z0-9_]+}}) step
// CHECK:      %[[BEGIN:.*]] = arith.index_cast %{{[a-z0-9_]+}} : i32 to index
// CHECK:      %[[END:.*]] = arith.index_cast %{{[a-z0-9_]+}} : i32 to index
// CHECK:      %[[SRC:.*]] = arith.index_cast %{{[a-z0-9_]+}} : i32 to index
// CHECK:      %[[DST:.*]] = arith.index_cast %{{[a-z0-9_]+}} : i32 to index
// CHECK-NEXT: %[[PAD:.*]] = arith.constant -1 : index
// CHECK-NEXT: %[[ISPAD:.*]] = arith.cmpi eq, %[[SRC]], %[[PAD]] : index
// CHECK:      %[[FLAG:.*]] = memref.load %[[INIT]][%[[ROW]]] : memref<?xi8>
// CHECK:      %[[HAS:.*]] = arith.cmpi ne, %[[FLAG]], %{{[a-z0-9_]+}} : i8
// CHECK-NEXT: %[[DEC:.*]] = arith.cmpi ult, %[[ROW]], %[[ND]] : index
// CHECK-NEXT: %[[READS:.*]] = arith.ori %[[HAS]], %[[DEC]] : i1
// CHECK-NEXT: scf.if %[[ISPAD]] {
// CHECK:        scf.for %[[I:[a-z0-9_]+]] = %[[BEGIN]] to %[[END]]
// CHECK-NEXT:     memref.store %{{[a-z0-9_]+}}, %[[O]][%[[I]], %[[J]]] : memref<?x8xf32>
// CHECK-NEXT:   }
// CHECK-NEXT: } else {
// CHECK-NEXT:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[S0:.*]] = scf.if %[[READS]] -> (f32) {
// CHECK-NEXT:     %[[SV:.*]] = memref.load %[[ST]][%[[SRC]], %[[J]]] : memref<?x8xbf16>
// CHECK-NEXT:     %[[SF:.*]] = arith.extf %[[SV]] : bf16 to f32
// CHECK-NEXT:     scf.yield %[[SF]] : f32
// CHECK-NEXT:   } else {
// CHECK-NEXT:     scf.yield %[[ZERO]] : f32
// CHECK-NEXT:   }
// CHECK-NEXT:   %[[SUM:.*]] = scf.for %[[I:[a-z0-9_]+]] = %[[BEGIN]] to %[[END]] step %{{[a-z0-9_]+}} iter_args(%[[ACC:[a-z0-9_]+]] = %[[S0]]) -> (f32) {
// CHECK-NEXT:     %[[XV:.*]] = memref.load %[[X]][%[[I]], %[[J]]] : memref<?x8xf32>
// CHECK-NEXT:     %[[S:.*]] = arith.addf %[[ACC]], %[[XV]] : f32
// CHECK-NEXT:     memref.store %[[S]], %[[O]][%[[I]], %[[J]]] : memref<?x8xf32>
// CHECK-NEXT:     scf.yield %[[S]] : f32
// CHECK-NEXT:   }
// CHECK-NEXT:   %[[SB:.*]] = arith.truncf %[[SUM]] : f32 to bf16
// CHECK-NEXT:   memref.store %[[SB]], %[[ST]][%[[DST]], %[[J]]] : memref<?x8xbf16>
// CHECK-NEXT: }
// CHECK-NOT:  hssm.
func.func @segmented_prefix_sum(%qsl: memref<?xi32>, %si: memref<?xi32>,
                                %init: memref<?xi8>, %nd: index, %np: index,
                                %npt: index, %x: memref<?x8xf32>,
                                %s: memref<?x8xbf16>, %o: memref<?x8xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.segmented_prefix_sum x(%x : memref<?x8xf32>)
      state(%s : memref<?x8xbf16>) batch(%b) out(%o : memref<?x8xf32>)
  return
}

// Without a state operand every row starts from zero and nothing is stored
// but the outputs.
// CHECK-LABEL: func.func @segmented_prefix_sum_stateless(
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x8xf32>)
// CHECK:      scf.if %{{[a-z0-9_]+}} {
// CHECK:      } else {
// CHECK-NEXT:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:   scf.for %{{[a-z0-9_]+}} = %{{[a-z0-9_]+}} to %{{[a-z0-9_]+}} step %{{[a-z0-9_]+}} iter_args(%{{[a-z0-9_]+}} = %[[ZERO]]) -> (f32) {
// CHECK:          memref.store %{{[a-z0-9_]+}}, %[[O]]
// CHECK-NEXT:     scf.yield
// CHECK-NEXT:   }
// CHECK-NEXT: }
// CHECK-NOT:  hssm.
func.func @segmented_prefix_sum_stateless(%qsl: memref<?xi32>,
                                          %si: memref<?xi32>,
                                          %init: memref<?xi8>, %nd: index,
                                          %np: index, %npt: index,
                                          %x: memref<?x8xf32>,
                                          %o: memref<?x8xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.segmented_prefix_sum x(%x : memref<?x8xf32>) batch(%b)
      out(%o : memref<?x8xf32>)
  return
}
