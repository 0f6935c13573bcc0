// RUN: hssm-opt %s | FileCheck %s
// RUN: hssm-opt %s | hssm-opt | FileCheck %s
// RUN: hssm-opt %s --mlir-print-op-generic | hssm-opt | FileCheck %s

// Every hssm op in its custom form: each case prints back what it parsed
// (optional operands present or absent, unit attributes, a non-default
// pad_slot_id, the default one elided), also after a trip through the
// generic form.

//===----------------------------------------------------------------------===//
// hssm.batch
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @batch(
// CHECK-SAME: %[[QSL:[a-zA-Z0-9_]+]]: memref<?xi32>
// CHECK-SAME: %[[SI:[a-zA-Z0-9_]+]]: memref<?xi32>
// CHECK-SAME: %[[DST:[a-zA-Z0-9_]+]]: memref<?xi32>
// CHECK-SAME: %[[INIT:[a-zA-Z0-9_]+]]: memref<?xi8>
// CHECK-SAME: %[[ND:[a-zA-Z0-9_]+]]: index, %[[NDT:[a-zA-Z0-9_]+]]: index
// CHECK-SAME: %[[NP:[a-zA-Z0-9_]+]]: index, %[[NPT:[a-zA-Z0-9_]+]]: index
// CHECK-SAME: -> (!hssm.batch, !hssm.batch)
// CHECK:      %[[B0:.*]] = hssm.batch query_start_loc(%[[QSL]] : memref<?xi32>) state_indices(%[[SI]] : memref<?xi32>) has_initial_state(%[[INIT]] : memref<?xi8>) decodes(%[[ND]], %[[NDT]]) prefills(%[[NP]], %[[NPT]]){{$}}
// CHECK:      %[[B1:.*]] = hssm.batch query_start_loc(%[[QSL]] : memref<?xi32>) state_indices(%[[SI]] : memref<?xi32>) dst_state_indices(%[[DST]] : memref<?xi32>) has_initial_state(%[[INIT]] : memref<?xi8>) decodes(%[[ND]], %[[NDT]]) prefills(%[[NP]], %[[NPT]]){{$}}
// CHECK:      return %[[B0]], %[[B1]] : !hssm.batch, !hssm.batch
func.func @batch(%qsl: memref<?xi32>, %si: memref<?xi32>, %dst: memref<?xi32>,
                 %init: memref<?xi8>, %nd: index, %ndt: index, %np: index,
                 %npt: index) -> (!hssm.batch, !hssm.batch) {
  %b0 = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>)
      has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %ndt) prefills(%np, %npt)
  %b1 = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>)
      dst_state_indices(%dst : memref<?xi32>)
      has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %ndt) prefills(%np, %npt)
  return %b0, %b1 : !hssm.batch, !hssm.batch
}

// Static buffers and constant counts that agree: 2 decodes + 1 prefill of 5
// tokens, 7 tokens in all.
// CHECK-LABEL: func.func @batch_static(
// CHECK-DAG:  %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:  %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:  %[[C5:.*]] = arith.constant 5 : index
// CHECK:      %[[B:.*]] = hssm.batch query_start_loc(%{{.*}} : memref<4xi32>) state_indices(%{{.*}} : memref<3xi32>) dst_state_indices(%{{.*}} : memref<3xi32>) has_initial_state(%{{.*}} : memref<3xi8>) decodes(%[[C2]], %[[C2]]) prefills(%[[C1]], %[[C5]])
// CHECK:      hssm.segmented_prefix_sum x(%{{.*}} : memref<7x8xf32>) batch(%[[B]]) out(%{{.*}} : memref<7x8xf32>){{$}}
func.func @batch_static(%qsl: memref<4xi32>, %si: memref<3xi32>,
                        %dst: memref<3xi32>, %init: memref<3xi8>,
                        %x: memref<7x8xf32>, %o: memref<7x8xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c5 = arith.constant 5 : index
  %b = hssm.batch query_start_loc(%qsl : memref<4xi32>)
      state_indices(%si : memref<3xi32>)
      dst_state_indices(%dst : memref<3xi32>)
      has_initial_state(%init : memref<3xi8>)
      decodes(%c2, %c2) prefills(%c1, %c5)
  hssm.segmented_prefix_sum x(%x : memref<7x8xf32>) batch(%b)
      out(%o : memref<7x8xf32>)
  return
}

//===----------------------------------------------------------------------===//
// hssm.conv1d, hssm.conv_update
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @conv1d(
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: !hssm.batch
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x64xf32>
// CHECK-SAME: %[[W:[a-zA-Z0-9_]+]]: memref<64x4xf32>
// CHECK-SAME: %[[BIAS:[a-zA-Z0-9_]+]]: memref<64xf32>
// CHECK-SAME: %[[CS:[a-zA-Z0-9_]+]]: memref<?x3x64xf32>
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x64xf32>
// CHECK-NEXT: hssm.conv1d x(%[[X]] : memref<?x64xf32>) weight(%[[W]] : memref<64x4xf32>) state(%[[CS]] : memref<?x3x64xf32>) batch(%[[B]]) out(%[[O]] : memref<?x64xf32>){{$}}
// CHECK-NEXT: hssm.conv1d x(%[[X]] : memref<?x64xf32>) weight(%[[W]] : memref<64x4xf32>) bias(%[[BIAS]] : memref<64xf32>) state(%[[CS]] : memref<?x3x64xf32>) batch(%[[B]]) out(%[[O]] : memref<?x64xf32>) {silu}{{$}}
// CHECK-NEXT: hssm.conv1d x(%[[X]] : memref<?x64xf32>) weight(%[[W]] : memref<64x4xf32>) bias(%[[BIAS]] : memref<64xf32>) state(%[[CS]] : memref<?x3x64xf32>) batch(%[[B]]) out(%[[O]] : memref<?x64xf32>) {pad_slot_id = 0 : i64, silu}{{$}}
// The default pad_slot_id is elided.
// CHECK-NEXT: hssm.conv1d x(%[[X]] : memref<?x64xf32>) weight(%[[W]] : memref<64x4xf32>) state(%[[CS]] : memref<?x3x64xf32>) batch(%[[B]]) out(%[[O]] : memref<?x64xf32>){{$}}
// CHECK-NEXT: return
func.func @conv1d(%b: !hssm.batch, %x: memref<?x64xf32>, %w: memref<64x4xf32>,
                  %bias: memref<64xf32>, %cs: memref<?x3x64xf32>,
                  %o: memref<?x64xf32>) {
  hssm.conv1d x(%x : memref<?x64xf32>) weight(%w : memref<64x4xf32>)
      state(%cs : memref<?x3x64xf32>) batch(%b) out(%o : memref<?x64xf32>)
  hssm.conv1d x(%x : memref<?x64xf32>) weight(%w : memref<64x4xf32>)
      bias(%bias : memref<64xf32>) state(%cs : memref<?x3x64xf32>) batch(%b)
      out(%o : memref<?x64xf32>) {silu}
  hssm.conv1d x(%x : memref<?x64xf32>) weight(%w : memref<64x4xf32>)
      bias(%bias : memref<64xf32>) state(%cs : memref<?x3x64xf32>) batch(%b)
      out(%o : memref<?x64xf32>) {silu, pad_slot_id = 0}
  hssm.conv1d x(%x : memref<?x64xf32>) weight(%w : memref<64x4xf32>)
      state(%cs : memref<?x3x64xf32>) batch(%b) out(%o : memref<?x64xf32>)
      {pad_slot_id = -1}
  return
}

// Low-precision storage, each operand its own type; W at both ends of 2..5.
// CHECK-LABEL: func.func @conv_update(
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: !hssm.batch
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x64xbf16>
// CHECK-SAME: %[[W:[a-zA-Z0-9_]+]]: memref<64x4xf16>
// CHECK-SAME: %[[BIAS:[a-zA-Z0-9_]+]]: memref<64xf32>
// CHECK-SAME: %[[CS:[a-zA-Z0-9_]+]]: memref<?x3x64xf16>
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x64xbf16>
// CHECK-SAME: %[[W2:[a-zA-Z0-9_]+]]: memref<64x2xf32>
// CHECK-SAME: %[[CS2:[a-zA-Z0-9_]+]]: memref<8x1x64xf32>
// CHECK-SAME: %[[W5:[a-zA-Z0-9_]+]]: memref<64x5xf32>
// CHECK-SAME: %[[CS5:[a-zA-Z0-9_]+]]: memref<?x4x64xbf16>
// CHECK-NEXT: hssm.conv_update x(%[[X]] : memref<?x64xbf16>) weight(%[[W]] : memref<64x4xf16>) state(%[[CS]] : memref<?x3x64xf16>) batch(%[[B]]) out(%[[O]] : memref<?x64xbf16>){{$}}
// CHECK-NEXT: hssm.conv_update x(%[[X]] : memref<?x64xbf16>) weight(%[[W]] : memref<64x4xf16>) bias(%[[BIAS]] : memref<64xf32>) state(%[[CS]] : memref<?x3x64xf16>) batch(%[[B]]) out(%[[O]] : memref<?x64xbf16>) {silu}{{$}}
// CHECK-NEXT: hssm.conv_update x(%[[X]] : memref<?x64xbf16>) weight(%[[W2]] : memref<64x2xf32>) state(%[[CS2]] : memref<8x1x64xf32>) batch(%[[B]]) out(%[[O]] : memref<?x64xbf16>) {pad_slot_id = 7 : i64}{{$}}
// CHECK-NEXT: hssm.conv_update x(%[[X]] : memref<?x64xbf16>) weight(%[[W5]] : memref<64x5xf32>) bias(%[[BIAS]] : memref<64xf32>) state(%[[CS5]] : memref<?x4x64xbf16>) batch(%[[B]]) out(%[[O]] : memref<?x64xbf16>) {pad_slot_id = 0 : i64, silu}{{$}}
// CHECK-NEXT: return
func.func @conv_update(%b: !hssm.batch, %x: memref<?x64xbf16>,
                       %w: memref<64x4xf16>, %bias: memref<64xf32>,
                       %cs: memref<?x3x64xf16>, %o: memref<?x64xbf16>,
                       %w2: memref<64x2xf32>, %cs2: memref<8x1x64xf32>,
                       %w5: memref<64x5xf32>, %cs5: memref<?x4x64xbf16>) {
  hssm.conv_update x(%x : memref<?x64xbf16>) weight(%w : memref<64x4xf16>)
      state(%cs : memref<?x3x64xf16>) batch(%b) out(%o : memref<?x64xbf16>)
  hssm.conv_update x(%x : memref<?x64xbf16>) weight(%w : memref<64x4xf16>)
      bias(%bias : memref<64xf32>) state(%cs : memref<?x3x64xf16>) batch(%b)
      out(%o : memref<?x64xbf16>) {silu}
  hssm.conv_update x(%x : memref<?x64xbf16>) weight(%w2 : memref<64x2xf32>)
      state(%cs2 : memref<8x1x64xf32>) batch(%b) out(%o : memref<?x64xbf16>)
      {pad_slot_id = 7}
  hssm.conv_update x(%x : memref<?x64xbf16>) weight(%w5 : memref<64x5xf32>)
      bias(%bias : memref<64xf32>) state(%cs5 : memref<?x4x64xbf16>)
      batch(%b) out(%o : memref<?x64xbf16>) {silu, pad_slot_id = 0}
  return
}

//===----------------------------------------------------------------------===//
// hssm.selective_scan, hssm.state_update
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @selective_scan(
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: !hssm.batch
// CHECK-SAME: %[[U:[a-zA-Z0-9_]+]]: memref<?x64xf32>
// CHECK-SAME: %[[DT:[a-zA-Z0-9_]+]]: memref<?x64xf32>
// CHECK-SAME: %[[A:[a-zA-Z0-9_]+]]: memref<64x16xf32>
// CHECK-SAME: %[[BM:[a-zA-Z0-9_]+]]: memref<?x16xf32>
// CHECK-SAME: %[[CM:[a-zA-Z0-9_]+]]: memref<?x16xf32>
// CHECK-SAME: %[[D:[a-zA-Z0-9_]+]]: memref<64xf32>
// CHECK-SAME: %[[Z:[a-zA-Z0-9_]+]]: memref<?x64xf32>
// CHECK-SAME: %[[DB:[a-zA-Z0-9_]+]]: memref<64xf32>
// CHECK-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<?x64x16xf32>
// CHECK-SAME: %[[Y:[a-zA-Z0-9_]+]]: memref<?x64xf32>
// CHECK-NEXT: hssm.selective_scan u(%[[U]] : memref<?x64xf32>) delta(%[[DT]] : memref<?x64xf32>) A(%[[A]] : memref<64x16xf32>) B(%[[BM]] : memref<?x16xf32>) C(%[[CM]] : memref<?x16xf32>) D(%[[D]] : memref<64xf32>) state(%[[SS]] : memref<?x64x16xf32>) batch(%[[B]]) out(%[[Y]] : memref<?x64xf32>){{$}}
// CHECK-NEXT: hssm.selective_scan u(%[[U]] : memref<?x64xf32>) delta(%[[DT]] : memref<?x64xf32>) A(%[[A]] : memref<64x16xf32>) B(%[[BM]] : memref<?x16xf32>) C(%[[CM]] : memref<?x16xf32>) D(%[[D]] : memref<64xf32>) z(%[[Z]] : memref<?x64xf32>) delta_bias(%[[DB]] : memref<64xf32>) state(%[[SS]] : memref<?x64x16xf32>) batch(%[[B]]) out(%[[Y]] : memref<?x64xf32>) {delta_softplus, pad_slot_id = 0 : i64}{{$}}
// Only one of the two optional operands: the segment sizes tell which.
// CHECK-NEXT: hssm.selective_scan u(%[[U]] : memref<?x64xf32>) delta(%[[DT]] : memref<?x64xf32>) A(%[[A]] : memref<64x16xf32>) B(%[[BM]] : memref<?x16xf32>) C(%[[CM]] : memref<?x16xf32>) D(%[[D]] : memref<64xf32>) z(%[[Z]] : memref<?x64xf32>) state(%[[SS]] : memref<?x64x16xf32>) batch(%[[B]]) out(%[[Y]] : memref<?x64xf32>) {delta_softplus}{{$}}
// CHECK-NEXT: hssm.selective_scan u(%[[U]] : memref<?x64xf32>) delta(%[[DT]] : memref<?x64xf32>) A(%[[A]] : memref<64x16xf32>) B(%[[BM]] : memref<?x16xf32>) C(%[[CM]] : memref<?x16xf32>) D(%[[D]] : memref<64xf32>) delta_bias(%[[DB]] : memref<64xf32>) state(%[[SS]] : memref<?x64x16xf32>) batch(%[[B]]) out(%[[Y]] : memref<?x64xf32>){{$}}
// CHECK-NEXT: return
func.func @selective_scan(%b: !hssm.batch, %u: memref<?x64xf32>,
                          %dt: memref<?x64xf32>, %A: memref<64x16xf32>,
                          %B: memref<?x16xf32>, %C: memref<?x16xf32>,
                          %D: memref<64xf32>, %z: memref<?x64xf32>,
                          %db: memref<64xf32>, %ss: memref<?x64x16xf32>,
                          %y: memref<?x64xf32>) {
  hssm.selective_scan u(%u : memref<?x64xf32>) delta(%dt : memref<?x64xf32>)
      A(%A : memref<64x16xf32>) B(%B : memref<?x16xf32>)
      C(%C : memref<?x16xf32>) D(%D : memref<64xf32>)
      state(%ss : memref<?x64x16xf32>) batch(%b) out(%y : memref<?x64xf32>)
  hssm.selective_scan u(%u : memref<?x64xf32>) delta(%dt : memref<?x64xf32>)
      A(%A : memref<64x16xf32>) B(%B : memref<?x16xf32>)
      C(%C : memref<?x16xf32>) D(%D : memref<64xf32>)
      z(%z : memref<?x64xf32>) delta_bias(%db : memref<64xf32>)
      state(%ss : memref<?x64x16xf32>) batch(%b) out(%y : memref<?x64xf32>)
      {delta_softplus, pad_slot_id = 0}
  hssm.selective_scan u(%u : memref<?x64xf32>) delta(%dt : memref<?x64xf32>)
      A(%A : memref<64x16xf32>) B(%B : memref<?x16xf32>)
      C(%C : memref<?x16xf32>) D(%D : memref<64xf32>)
      z(%z : memref<?x64xf32>)
      state(%ss : memref<?x64x16xf32>) batch(%b) out(%y : memref<?x64xf32>)
      {delta_softplus}
  hssm.selective_scan u(%u : memref<?x64xf32>) delta(%dt : memref<?x64xf32>)
      A(%A : memref<64x16xf32>) B(%B : memref<?x16xf32>)
      C(%C : memref<?x16xf32>) D(%D : memref<64xf32>)
      delta_bias(%db : memref<64xf32>)
      state(%ss : memref<?x64x16xf32>) batch(%b) out(%y : memref<?x64xf32>)
  return
}

// bf16 activations and state, f32 A/D/delta_bias; N = 256 (the largest).
// CHECK-LABEL: func.func @state_update(
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: !hssm.batch
// CHECK-SAME: %[[U:[a-zA-Z0-9_]+]]: memref<?x32xbf16>
// CHECK-SAME: %[[DT:[a-zA-Z0-9_]+]]: memref<?x32xf16>
// CHECK-SAME: %[[A:[a-zA-Z0-9_]+]]: memref<32x256xf32>
// CHECK-SAME: %[[BM:[a-zA-Z0-9_]+]]: memref<?x256xbf16>
// CHECK-SAME: %[[CM:[a-zA-Z0-9_]+]]: memref<?x256xbf16>
// CHECK-SAME: %[[D:[a-zA-Z0-9_]+]]: memref<32xf32>
// CHECK-SAME: %[[Z:[a-zA-Z0-9_]+]]: memref<?x32xbf16>
// CHECK-SAME: %[[DB:[a-zA-Z0-9_]+]]: memref<32xf32>
// CHECK-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<4096x32x256xbf16>
// CHECK-SAME: %[[Y:[a-zA-Z0-9_]+]]: memref<?x32xbf16>
// CHECK-NEXT: hssm.state_update u(%[[U]] : memref<?x32xbf16>) delta(%[[DT]] : memref<?x32xf16>) A(%[[A]] : memref<32x256xf32>) B(%[[BM]] : memref<?x256xbf16>) C(%[[CM]] : memref<?x256xbf16>) D(%[[D]] : memref<32xf32>) state(%[[SS]] : memref<4096x32x256xbf16>) batch(%[[B]]) out(%[[Y]] : memref<?x32xbf16>){{$}}
// CHECK-NEXT: hssm.state_update u(%[[U]] : memref<?x32xbf16>) delta(%[[DT]] : memref<?x32xf16>) A(%[[A]] : memref<32x256xf32>) B(%[[BM]] : memref<?x256xbf16>) C(%[[CM]] : memref<?x256xbf16>) D(%[[D]] : memref<32xf32>) z(%[[Z]] : memref<?x32xbf16>) delta_bias(%[[DB]] : memref<32xf32>) state(%[[SS]] : memref<4096x32x256xbf16>) batch(%[[B]]) out(%[[Y]] : memref<?x32xbf16>) {delta_softplus, pad_slot_id = 0 : i64}{{$}}
// CHECK-NEXT: return
func.func @state_update(%b: !hssm.batch, %u: memref<?x32xbf16>,
                        %dt: memref<?x32xf16>, %A: memref<32x256xf32>,
                        %B: memref<?x256xbf16>, %C: memref<?x256xbf16>,
                        %D: memref<32xf32>, %z: memref<?x32xbf16>,
                        %db: memref<32xf32>, %ss: memref<4096x32x256xbf16>,
                        %y: memref<?x32xbf16>) {
  hssm.state_update u(%u : memref<?x32xbf16>) delta(%dt : memref<?x32xf16>)
      A(%A : memref<32x256xf32>) B(%B : memref<?x256xbf16>)
      C(%C : memref<?x256xbf16>) D(%D : memref<32xf32>)
      state(%ss : memref<4096x32x256xbf16>) batch(%b)
      out(%y : memref<?x32xbf16>)
  hssm.state_update u(%u : memref<?x32xbf16>) delta(%dt : memref<?x32xf16>)
      A(%A : memref<32x256xf32>) B(%B : memref<?x256xbf16>)
      C(%C : memref<?x256xbf16>) D(%D : memref<32xf32>)
      z(%z : memref<?x32xbf16>) delta_bias(%db : memref<32xf32>)
      state(%ss : memref<4096x32x256xbf16>) batch(%b)
      out(%y : memref<?x32xbf16>) {delta_softplus, pad_slot_id = 0}
  return
}

//===----------------------------------------------------------------------===//
// hssm.linear, hssm.combine, prefix sums
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @linear(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x768xbf16>
// CHECK-SAME: %[[W:[a-zA-Z0-9_]+]]: memref<3072x768xbf16>
// CHECK-SAME: %[[BIAS:[a-zA-Z0-9_]+]]: memref<3072xf32>
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x3072xf32>
// CHECK-NEXT: hssm.linear x(%[[X]] : memref<?x768xbf16>) weight(%[[W]] : memref<3072x768xbf16>) out(%[[O]] : memref<?x3072xf32>){{$}}
// CHECK-NEXT: hssm.linear x(%[[X]] : memref<?x768xbf16>) weight(%[[W]] : memref<3072x768xbf16>) bias(%[[BIAS]] : memref<3072xf32>) out(%[[O]] : memref<?x3072xf32>){{$}}
// CHECK-NEXT: hssm.linear x(%[[X]] : memref<?x768xbf16>) weight(%[[W]] : memref<3072x768xbf16>) out(%[[O]] : memref<?x3072xf32>) {accumulate}{{$}}
// CHECK-NEXT: hssm.linear x(%[[X]] : memref<?x768xbf16>) weight(%[[W]] : memref<3072x768xbf16>) bias(%[[BIAS]] : memref<3072xf32>) out(%[[O]] : memref<?x3072xf32>) {accumulate}{{$}}
// CHECK-NEXT: return
func.func @linear(%x: memref<?x768xbf16>, %w: memref<3072x768xbf16>,
                  %bias: memref<3072xf32>, %o: memref<?x3072xf32>) {
  hssm.linear x(%x : memref<?x768xbf16>) weight(%w : memref<3072x768xbf16>)
      out(%o : memref<?x3072xf32>)
  hssm.linear x(%x : memref<?x768xbf16>) weight(%w : memref<3072x768xbf16>)
      bias(%bias : memref<3072xf32>) out(%o : memref<?x3072xf32>)
  hssm.linear x(%x : memref<?x768xbf16>) weight(%w : memref<3072x768xbf16>)
      out(%o : memref<?x3072xf32>) {accumulate}
  hssm.linear x(%x : memref<?x768xbf16>) weight(%w : memref<3072x768xbf16>)
      bias(%bias : memref<3072xf32>) out(%o : memref<?x3072xf32>) {accumulate}
  return
}

// CHECK-LABEL: func.func @combine(
// CHECK-SAME: %[[A:[a-zA-Z0-9_]+]]: memref<?x768xf32>
// CHECK-SAME: %[[S:[a-zA-Z0-9_]+]]: memref<?x768xbf16>
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<8x768xf16>
// CHECK-NEXT: hssm.combine swa(%[[A]] : memref<?x768xf32>) ssm(%[[S]] : memref<?x768xbf16>) out(%[[O]] : memref<8x768xf16>){{$}}
// In place: out aliases swa.
// CHECK-NEXT: hssm.combine swa(%[[A]] : memref<?x768xf32>) ssm(%[[S]] : memref<?x768xbf16>) out(%[[A]] : memref<?x768xf32>){{$}}
// CHECK-NEXT: return
func.func @combine(%a: memref<?x768xf32>, %s: memref<?x768xbf16>,
                   %o: memref<8x768xf16>) {
  hssm.combine swa(%a : memref<?x768xf32>) ssm(%s : memref<?x768xbf16>)
      out(%o : memref<8x768xf16>)
  hssm.combine swa(%a : memref<?x768xf32>) ssm(%s : memref<?x768xbf16>)
      out(%a : memref<?x768xf32>)
  return
}

// CHECK-LABEL: func.func @prefix_sum(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x768xf32>
// CHECK-SAME: %[[N:[a-zA-Z0-9_]+]]: index
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x768xbf16>
// CHECK-NEXT: hssm.prefix_sum x(%[[X]] : memref<?x768xf32>) count(%[[N]]) out(%[[O]] : memref<?x768xbf16>){{$}}
// CHECK-NEXT: %[[C3:.*]] = arith.constant 3 : index
// CHECK-NEXT: hssm.prefix_sum x(%{{.*}} : memref<3x4xf32>) count(%[[C3]]) out(%{{.*}} : memref<3x4xf32>){{$}}
// CHECK-NEXT: return
func.func @prefix_sum(%x: memref<?x768xf32>, %n: index,
                      %o: memref<?x768xbf16>, %xs: memref<3x4xf32>,
                      %os: memref<3x4xf32>) {
  hssm.prefix_sum x(%x : memref<?x768xf32>) count(%n)
      out(%o : memref<?x768xbf16>)
  // count = T is the largest legal count.
  %c3 = arith.constant 3 : index
  hssm.prefix_sum x(%xs : memref<3x4xf32>) count(%c3) out(%os : memref<3x4xf32>)
  return
}

// CHECK-LABEL: func.func @segmented_prefix_sum(
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: !hssm.batch
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x768xf32>
// CHECK-SAME: %[[S:[a-zA-Z0-9_]+]]: memref<?x768xf16>
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x768xf32>
// CHECK-NEXT: hssm.segmented_prefix_sum x(%[[X]] : memref<?x768xf32>) state(%[[S]] : memref<?x768xf16>) batch(%[[B]]) out(%[[O]] : memref<?x768xf32>){{$}}
// CHECK-NEXT: hssm.segmented_prefix_sum x(%[[X]] : memref<?x768xf32>) batch(%[[B]]) out(%[[O]] : memref<?x768xf32>){{$}}
// CHECK-NEXT: hssm.segmented_prefix_sum x(%[[X]] : memref<?x768xf32>) state(%[[S]] : memref<?x768xf16>) batch(%[[B]]) out(%[[O]] : memref<?x768xf32>) {pad_slot_id = 0 : i64}{{$}}
// CHECK-NEXT: return
func.func @segmented_prefix_sum(%b: !hssm.batch, %x: memref<?x768xf32>,
                                %s: memref<?x768xf16>,
                                %o: memref<?x768xf32>) {
  hssm.segmented_prefix_sum x(%x : memref<?x768xf32>)
      state(%s : memref<?x768xf16>) batch(%b) out(%o : memref<?x768xf32>)
  hssm.segmented_prefix_sum x(%x : memref<?x768xf32>) batch(%b)
      out(%o : memref<?x768xf32>)
  hssm.segmented_prefix_sum x(%x : memref<?x768xf32>)
      state(%s : memref<?x768xf16>) batch(%b) out(%o : memref<?x768xf32>)
      {pad_slot_id = 0}
  return
}

//===----------------------------------------------------------------------===//
// hssm.history_branch
//===----------------------------------------------------------------------===//

// All three modes at mamba-130m's sizes (Hd 768, D 1536, N 16, R 48, W 4).
// CHECK-LABEL: func.func @history_branch_modes(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x768xf32>
// CHECK-SAME: %[[WIN:[a-zA-Z0-9_]+]]: memref<3072x768xf32>
// CHECK-SAME: %[[CW:[a-zA-Z0-9_]+]]: memref<1536x4xf32>
// CHECK-SAME: %[[CB:[a-zA-Z0-9_]+]]: memref<1536xf32>
// CHECK-SAME: %[[WX:[a-zA-Z0-9_]+]]: memref<80x1536xf32>
// CHECK-SAME: %[[WDT:[a-zA-Z0-9_]+]]: memref<1536x48xf32>
// CHECK-SAME: %[[BDT:[a-zA-Z0-9_]+]]: memref<1536xf32>
// CHECK-SAME: %[[A:[a-zA-Z0-9_]+]]: memref<1536x16xf32>
// CHECK-SAME: %[[D:[a-zA-Z0-9_]+]]: memref<1536xf32>
// CHECK-SAME: %[[WOUT:[a-zA-Z0-9_]+]]: memref<768x1536xf32>
// CHECK-SAME: %[[CS:[a-zA-Z0-9_]+]]: memref<?x3x1536xf32>
// CHECK-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<?x1536x16xf32>
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: !hssm.batch
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x768xf32>
// CHECK-NEXT: hssm.history_branch <zero> x(%[[X]] : memref<?x768xf32>) in_proj(%[[WIN]] : memref<3072x768xf32>) conv(%[[CW]] : memref<1536x4xf32>, %[[CB]] : memref<1536xf32>) x_proj(%[[WX]] : memref<80x1536xf32>) dt_proj(%[[WDT]] : memref<1536x48xf32>, %[[BDT]] : memref<1536xf32>) A(%[[A]] : memref<1536x16xf32>) D(%[[D]] : memref<1536xf32>) out_proj(%[[WOUT]] : memref<768x1536xf32>) state(%[[CS]] : memref<?x3x1536xf32>, %[[SS]] : memref<?x1536x16xf32>) batch(%[[B]]) out(%[[O]] : memref<?x768xf32>){{$}}
// CHECK-NEXT: hssm.history_branch <prefix_sum> x(%[[X]] : memref<?x768xf32>) in_proj(%[[WIN]] : memref<3072x768xf32>) conv(%[[CW]] : memref<1536x4xf32>, %[[CB]] : memref<1536xf32>) x_proj(%[[WX]] : memref<80x1536xf32>) dt_proj(%[[WDT]] : memref<1536x48xf32>, %[[BDT]] : memref<1536xf32>) A(%[[A]] : memref<1536x16xf32>) D(%[[D]] : memref<1536xf32>) out_proj(%[[WOUT]] : memref<768x1536xf32>) state(%[[CS]] : memref<?x3x1536xf32>, %[[SS]] : memref<?x1536x16xf32>) batch(%[[B]]) out(%[[O]] : memref<?x768xf32>){{$}}
// CHECK-NEXT: hssm.history_branch <mamba1> x(%[[X]] : memref<?x768xf32>) in_proj(%[[WIN]] : memref<3072x768xf32>) conv(%[[CW]] : memref<1536x4xf32>, %[[CB]] : memref<1536xf32>) x_proj(%[[WX]] : memref<80x1536xf32>) dt_proj(%[[WDT]] : memref<1536x48xf32>, %[[BDT]] : memref<1536xf32>) A(%[[A]] : memref<1536x16xf32>) D(%[[D]] : memref<1536xf32>) out_proj(%[[WOUT]] : memref<768x1536xf32>) state(%[[CS]] : memref<?x3x1536xf32>, %[[SS]] : memref<?x1536x16xf32>) batch(%[[B]]) out(%[[O]] : memref<?x768xf32>){{$}}
// CHECK-NEXT: hssm.history_branch <mamba1> x(%[[X]] : memref<?x768xf32>) {{.*}} batch(%[[B]]) out(%[[O]] : memref<?x768xf32>) {pad_slot_id = 0 : i64}{{$}}
// CHECK-NEXT: return
func.func @history_branch_modes(
    %x: memref<?x768xf32>, %w_in: memref<3072x768xf32>,
    %conv_w: memref<1536x4xf32>, %conv_b: memref<1536xf32>,
    %w_x: memref<80x1536xf32>, %w_dt: memref<1536x48xf32>,
    %b_dt: memref<1536xf32>, %A: memref<1536x16xf32>, %D: memref<1536xf32>,
    %w_out: memref<768x1536xf32>, %conv_state: memref<?x3x1536xf32>,
    %ssm_state: memref<?x1536x16xf32>, %b: !hssm.batch,
    %out: memref<?x768xf32>) {
  hssm.history_branch <zero> x(%x : memref<?x768xf32>)
      in_proj(%w_in : memref<3072x768xf32>)
      conv(%conv_w : memref<1536x4xf32>, %conv_b : memref<1536xf32>)
      x_proj(%w_x : memref<80x1536xf32>)
      dt_proj(%w_dt : memref<1536x48xf32>, %b_dt : memref<1536xf32>)
      A(%A : memref<1536x16xf32>) D(%D : memref<1536xf32>)
      out_proj(%w_out : memref<768x1536xf32>)
      state(%conv_state : memref<?x3x1536xf32>,
            %ssm_state : memref<?x1536x16xf32>)
      batch(%b) out(%out : memref<?x768xf32>)
  hssm.history_branch <prefix_sum> x(%x : memref<?x768xf32>)
      in_proj(%w_in : memref<3072x768xf32>)
      conv(%conv_w : memref<1536x4xf32>, %conv_b : memref<1536xf32>)
      x_proj(%w_x : memref<80x1536xf32>)
      dt_proj(%w_dt : memref<1536x48xf32>, %b_dt : memref<1536xf32>)
      A(%A : memref<1536x16xf32>) D(%D : memref<1536xf32>)
      out_proj(%w_out : memref<768x1536xf32>)
      state(%conv_state : memref<?x3x1536xf32>,
            %ssm_state : memref<?x1536x16xf32>)
      batch(%b) out(%out : memref<?x768xf32>)
  hssm.history_branch <mamba1> x(%x : memref<?x768xf32>)
      in_proj(%w_in : memref<3072x768xf32>)
      conv(%conv_w : memref<1536x4xf32>, %conv_b : memref<1536xf32>)
      x_proj(%w_x : memref<80x1536xf32>)
      dt_proj(%w_dt : memref<1536x48xf32>, %b_dt : memref<1536xf32>)
      A(%A : memref<1536x16xf32>) D(%D : memref<1536xf32>)
      out_proj(%w_out : memref<768x1536xf32>)
      state(%conv_state : memref<?x3x1536xf32>,
            %ssm_state : memref<?x1536x16xf32>)
      batch(%b) out(%out : memref<?x768xf32>)
  hssm.history_branch <mamba1> x(%x : memref<?x768xf32>)
      in_proj(%w_in : memref<3072x768xf32>)
      conv(%conv_w : memref<1536x4xf32>, %conv_b : memref<1536xf32>)
      x_proj(%w_x : memref<80x1536xf32>)
      dt_proj(%w_dt : memref<1536x48xf32>, %b_dt : memref<1536xf32>)
      A(%A : memref<1536x16xf32>) D(%D : memref<1536xf32>)
      out_proj(%w_out : memref<768x1536xf32>)
      state(%conv_state : memref<?x3x1536xf32>,
            %ssm_state : memref<?x1536x16xf32>)
      batch(%b) out(%out : memref<?x768xf32>) {pad_slot_id = 0}
  return
}

// Jamba / Falcon-Mamba-7B (BENCH.md): Hd 4096, D 8192, N 16, R 256, W 4,
// x_proj [R + 2N, D] = [288, 8192]; bf16 activations and weights, f32 A,
// Dskip and b_dt, bf16 conv state and f32 SSM state in a 4096-slot pool.
// CHECK-LABEL: func.func @history_branch_jamba(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x4096xbf16>
// CHECK-SAME: %[[WIN:[a-zA-Z0-9_]+]]: memref<16384x4096xbf16>
// CHECK-SAME: %[[CW:[a-zA-Z0-9_]+]]: memref<8192x4xbf16>
// CHECK-SAME: %[[CB:[a-zA-Z0-9_]+]]: memref<8192xbf16>
// CHECK-SAME: %[[WX:[a-zA-Z0-9_]+]]: memref<288x8192xbf16>
// CHECK-SAME: %[[WDT:[a-zA-Z0-9_]+]]: memref<8192x256xbf16>
// CHECK-SAME: %[[BDT:[a-zA-Z0-9_]+]]: memref<8192xf32>
// CHECK-SAME: %[[A:[a-zA-Z0-9_]+]]: memref<8192x16xf32>
// CHECK-SAME: %[[D:[a-zA-Z0-9_]+]]: memref<8192xf32>
// CHECK-SAME: %[[WOUT:[a-zA-Z0-9_]+]]: memref<4096x8192xbf16>
// CHECK-SAME: %[[CS:[a-zA-Z0-9_]+]]: memref<4096x3x8192xbf16>
// CHECK-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<4096x8192x16xf32>
// CHECK-SAME: %[[QSL:[a-zA-Z0-9_]+]]: memref<?xi32>
// CHECK-SAME: %[[SI:[a-zA-Z0-9_]+]]: memref<?xi32>
// CHECK-SAME: %[[INIT:[a-zA-Z0-9_]+]]: memref<?xi8>
// CHECK-SAME: %[[ND:[a-zA-Z0-9_]+]]: index
// CHECK-SAME: %[[NP:[a-zA-Z0-9_]+]]: index
// CHECK-SAME: %[[NPT:[a-zA-Z0-9_]+]]: index
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x4096xbf16>
// CHECK-NEXT: %[[B:.*]] = hssm.batch query_start_loc(%[[QSL]] : memref<?xi32>) state_indices(%[[SI]] : memref<?xi32>) has_initial_state(%[[INIT]] : memref<?xi8>) decodes(%[[ND]], %[[ND]]) prefills(%[[NP]], %[[NPT]]){{$}}
// CHECK-NEXT: hssm.history_branch <mamba1> x(%[[X]] : memref<?x4096xbf16>) in_proj(%[[WIN]] : memref<16384x4096xbf16>) conv(%[[CW]] : memref<8192x4xbf16>, %[[CB]] : memref<8192xbf16>) x_proj(%[[WX]] : memref<288x8192xbf16>) dt_proj(%[[WDT]] : memref<8192x256xbf16>, %[[BDT]] : memref<8192xf32>) A(%[[A]] : memref<8192x16xf32>) D(%[[D]] : memref<8192xf32>) out_proj(%[[WOUT]] : memref<4096x8192xbf16>) state(%[[CS]] : memref<4096x3x8192xbf16>, %[[SS]] : memref<4096x8192x16xf32>) batch(%[[B]]) out(%[[O]] : memref<?x4096xbf16>) {pad_slot_id = 0 : i64}{{$}}
// CHECK-NEXT: return
func.func @history_branch_jamba(
    %x: memref<?x4096xbf16>, %w_in: memref<16384x4096xbf16>,
    %conv_w: memref<8192x4xbf16>, %conv_b: memref<8192xbf16>,
    %w_x: memref<288x8192xbf16>, %w_dt: memref<8192x256xbf16>,
    %b_dt: memref<8192xf32>, %A: memref<8192x16xf32>, %D: memref<8192xf32>,
    %w_out: memref<4096x8192xbf16>, %conv_state: memref<4096x3x8192xbf16>,
    %ssm_state: memref<4096x8192x16xf32>, %qsl: memref<?xi32>,
    %slots: memref<?xi32>, %init: memref<?xi8>, %nd: index, %np: index,
    %npt: index, %out: memref<?x4096xbf16>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%slots : memref<?xi32>)
      has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.history_branch <mamba1> x(%x : memref<?x4096xbf16>)
      in_proj(%w_in : memref<16384x4096xbf16>)
      conv(%conv_w : memref<8192x4xbf16>, %conv_b : memref<8192xbf16>)
      x_proj(%w_x : memref<288x8192xbf16>)
      dt_proj(%w_dt : memref<8192x256xbf16>, %b_dt : memref<8192xf32>)
      A(%A : memref<8192x16xf32>) D(%D : memref<8192xf32>)
      out_proj(%w_out : memref<4096x8192xbf16>)
      state(%conv_state : memref<4096x3x8192xbf16>,
            %ssm_state : memref<4096x8192x16xf32>)
      batch(%b) out(%out : memref<?x4096xbf16>) {pad_slot_id = 0}
  return
}

//===----------------------------------------------------------------------===//
// Strided views as operands
//===----------------------------------------------------------------------===//

// The decomposed branch reads x and z, and delta_r, B and C, as column views
// of the projection outputs (mamba-130m: xz [T, 3072], x_dbl [T, 80]), and a
// conv state pool may be a view of a larger buffer.
// CHECK-LABEL: func.func @strided_operands(
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: !hssm.batch
// CHECK-SAME: %[[XZ:[a-zA-Z0-9_]+]]: memref<?x3072xf32>
// CHECK-SAME: %[[XDBL:[a-zA-Z0-9_]+]]: memref<?x80xf32>
// CHECK-SAME: %[[CW:[a-zA-Z0-9_]+]]: memref<1536x4xf32>
// CHECK-SAME: %[[POOL:[a-zA-Z0-9_]+]]: memref<?x4x1536xf32>
// CHECK-SAME: %[[A:[a-zA-Z0-9_]+]]: memref<1536x16xf32>
// CHECK-SAME: %[[D:[a-zA-Z0-9_]+]]: memref<1536xf32>
// CHECK-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<?x1536x16xf32>
// CHECK-SAME: %[[WDT:[a-zA-Z0-9_]+]]: memref<1536x48xf32>
// CHECK-SAME: %[[DT:[a-zA-Z0-9_]+]]: memref<?x1536xf32>
// CHECK-SAME: %[[Y:[a-zA-Z0-9_]+]]: memref<?x1536xf32>
// CHECK:      %[[XV:.*]] = memref.subview %[[XZ]][0, 0] [%{{.*}}, 1536] [1, 1] : memref<?x3072xf32> to memref<?x1536xf32, strided<[3072, 1]>>
// CHECK:      %[[ZV:.*]] = memref.subview %[[XZ]][0, 1536] [%{{.*}}, 1536] [1, 1] : memref<?x3072xf32> to memref<?x1536xf32, strided<[3072, 1], offset: 1536>>
// CHECK:      %[[DTV:.*]] = memref.subview %[[XDBL]][0, 0] [%{{.*}}, 48] [1, 1] : memref<?x80xf32> to memref<?x48xf32, strided<[80, 1]>>
// CHECK:      %[[BV:.*]] = memref.subview %[[XDBL]][0, 48] [%{{.*}}, 16] [1, 1] : memref<?x80xf32> to memref<?x16xf32, strided<[80, 1], offset: 48>>
// CHECK:      %[[CV:.*]] = memref.subview %[[XDBL]][0, 64] [%{{.*}}, 16] [1, 1] : memref<?x80xf32> to memref<?x16xf32, strided<[80, 1], offset: 64>>
// CHECK:      %[[CSV:.*]] = memref.subview %[[POOL]][0, 1, 0] [%{{.*}}, 3, 1536] [1, 1, 1] : memref<?x4x1536xf32> to memref<?x3x1536xf32, strided<[6144, 1536, 1], offset: 1536>>
// CHECK-NEXT: hssm.conv1d x(%[[XV]] : memref<?x1536xf32, strided<[3072, 1]>>) weight(%[[CW]] : memref<1536x4xf32>) state(%[[CSV]] : memref<?x3x1536xf32, strided<[6144, 1536, 1], offset: 1536>>) batch(%[[B]]) out(%[[Y]] : memref<?x1536xf32>) {silu}{{$}}
// CHECK-NEXT: hssm.conv_update x(%[[XV]] : memref<?x1536xf32, strided<[3072, 1]>>) weight(%[[CW]] : memref<1536x4xf32>) state(%[[CSV]] : memref<?x3x1536xf32, strided<[6144, 1536, 1], offset: 1536>>) batch(%[[B]]) out(%[[Y]] : memref<?x1536xf32>) {silu}{{$}}
// CHECK-NEXT: hssm.linear x(%[[DTV]] : memref<?x48xf32, strided<[80, 1]>>) weight(%[[WDT]] : memref<1536x48xf32>) out(%[[DT]] : memref<?x1536xf32>){{$}}
// CHECK-NEXT: hssm.selective_scan u(%[[Y]] : memref<?x1536xf32>) delta(%[[DT]] : memref<?x1536xf32>) A(%[[A]] : memref<1536x16xf32>) B(%[[BV]] : memref<?x16xf32, strided<[80, 1], offset: 48>>) C(%[[CV]] : memref<?x16xf32, strided<[80, 1], offset: 64>>) D(%[[D]] : memref<1536xf32>) z(%[[ZV]] : memref<?x1536xf32, strided<[3072, 1], offset: 1536>>) state(%[[SS]] : memref<?x1536x16xf32>) batch(%[[B]]) out(%[[Y]] : memref<?x1536xf32>) {delta_softplus}{{$}}
// CHECK-NEXT: hssm.state_update u(%[[Y]] : memref<?x1536xf32>) delta(%[[DT]] : memref<?x1536xf32>) A(%[[A]] : memref<1536x16xf32>) B(%[[BV]] : memref<?x16xf32, strided<[80, 1], offset: 48>>) C(%[[CV]] : memref<?x16xf32, strided<[80, 1], offset: 64>>) D(%[[D]] : memref<1536xf32>) z(%[[ZV]] : memref<?x1536xf32, strided<[3072, 1], offset: 1536>>) state(%[[SS]] : memref<?x1536x16xf32>) batch(%[[B]]) out(%[[Y]] : memref<?x1536xf32>) {delta_softplus}{{$}}
// CHECK-NEXT: hssm.combine swa(%[[XV]] : memref<?x1536xf32, strided<[3072, 1]>>) ssm(%[[Y]] : memref<?x1536xf32>) out(%[[ZV]] : memref<?x1536xf32, strided<[3072, 1], offset: 1536>>){{$}}
// CHECK-NEXT: return
func.func @strided_operands(%b: !hssm.batch, %xz: memref<?x3072xf32>,
                            %xdbl: memref<?x80xf32>,
                            %conv_w: memref<1536x4xf32>,
                            %pool: memref<?x4x1536xf32>,
                            %A: memref<1536x16xf32>, %D: memref<1536xf32>,
                            %ss: memref<?x1536x16xf32>,
                            %w_dt: memref<1536x48xf32>,
                            %dt: memref<?x1536xf32>, %y: memref<?x1536xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %xz, %c0 : memref<?x3072xf32>
  %slots = memref.dim %pool, %c0 : memref<?x4x1536xf32>
  %x = memref.subview %xz[0, 0] [%t, 1536] [1, 1]
      : memref<?x3072xf32> to memref<?x1536xf32, strided<[3072, 1]>>
  %z = memref.subview %xz[0, 1536] [%t, 1536] [1, 1]
      : memref<?x3072xf32> to memref<?x1536xf32, strided<[3072, 1], offset: 1536>>
  %dtr = memref.subview %xdbl[0, 0] [%t, 48] [1, 1]
      : memref<?x80xf32> to memref<?x48xf32, strided<[80, 1]>>
  %bm = memref.subview %xdbl[0, 48] [%t, 16] [1, 1]
      : memref<?x80xf32> to memref<?x16xf32, strided<[80, 1], offset: 48>>
  %cm = memref.subview %xdbl[0, 64] [%t, 16] [1, 1]
      : memref<?x80xf32> to memref<?x16xf32, strided<[80, 1], offset: 64>>
  %cs = memref.subview %pool[0, 1, 0] [%slots, 3, 1536] [1, 1, 1]
      : memref<?x4x1536xf32>
        to memref<?x3x1536xf32, strided<[6144, 1536, 1], offset: 1536>>
  hssm.conv1d x(%x : memref<?x1536xf32, strided<[3072, 1]>>)
      weight(%conv_w : memref<1536x4xf32>)
      state(%cs : memref<?x3x1536xf32, strided<[6144, 1536, 1], offset: 1536>>)
      batch(%b) out(%y : memref<?x1536xf32>) {silu}
  hssm.conv_update x(%x : memref<?x1536xf32, strided<[3072, 1]>>)
      weight(%conv_w : memref<1536x4xf32>)
      state(%cs : memref<?x3x1536xf32, strided<[6144, 1536, 1], offset: 1536>>)
      batch(%b) out(%y : memref<?x1536xf32>) {silu}
  hssm.linear x(%dtr : memref<?x48xf32, strided<[80, 1]>>)
      weight(%w_dt : memref<1536x48xf32>) out(%dt : memref<?x1536xf32>)
  hssm.selective_scan u(%y : memref<?x1536xf32>)
      delta(%dt : memref<?x1536xf32>) A(%A : memref<1536x16xf32>)
      B(%bm : memref<?x16xf32, strided<[80, 1], offset: 48>>)
      C(%cm : memref<?x16xf32, strided<[80, 1], offset: 64>>)
      D(%D : memref<1536xf32>)
      z(%z : memref<?x1536xf32, strided<[3072, 1], offset: 1536>>)
      state(%ss : memref<?x1536x16xf32>) batch(%b)
      out(%y : memref<?x1536xf32>) {delta_softplus}
  hssm.state_update u(%y : memref<?x1536xf32>)
      delta(%dt : memref<?x1536xf32>) A(%A : memref<1536x16xf32>)
      B(%bm : memref<?x16xf32, strided<[80, 1], offset: 48>>)
      C(%cm : memref<?x16xf32, strided<[80, 1], offset: 64>>)
      D(%D : memref<1536xf32>)
      z(%z : memref<?x1536xf32, strided<[3072, 1], offset: 1536>>)
      state(%ss : memref<?x1536x16xf32>) batch(%b)
      out(%y : memref<?x1536xf32>) {delta_softplus}
  hssm.combine swa(%x : memref<?x1536xf32, strided<[3072, 1]>>)
      ssm(%y : memref<?x1536xf32>)
      out(%z : memref<?x1536xf32, strided<[3072, 1], offset: 1536>>)
  return
}
