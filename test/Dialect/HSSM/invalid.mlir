// RUN: hssm-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic of the hssm verifiers (lib/Dialect/HSSM/HSSMOps.cpp)
// and of the ODS constraints (element types, ranks, pad_slot_id).

//===----------------------------------------------------------------------===//
// ODS: element types, ranks, attributes
//===----------------------------------------------------------------------===//

func.func @f64_activations(%b: !hssm.batch, %x: memref<?x16xf64>,
                           %w: memref<16x4xf32>, %cs: memref<?x3x16xf32>,
                           %o: memref<?x16xf32>) {
  // expected-error @+1 {{operand #0 must be 2D memref of 32-bit float or 16-bit float or bfloat16 type values, but got 'memref<?x16xf64>'}}
  hssm.conv1d x(%x : memref<?x16xf64>) weight(%w : memref<16x4xf32>)
      state(%cs : memref<?x3x16xf32>) batch(%b) out(%o : memref<?x16xf32>)
  return
}

// -----

func.func @i64_metadata(%qsl: memref<?xi64>, %si: memref<?xi32>,
                        %init: memref<?xi8>, %n: index) {
  // expected-error @+1 {{operand #0 must be 1D memref of 32-bit signless integer values, but got 'memref<?xi64>'}}
  %b = hssm.batch query_start_loc(%qsl : memref<?xi64>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%n, %n) prefills(%n, %n)
  return
}

// -----

func.func @i32_flags(%qsl: memref<?xi32>, %si: memref<?xi32>,
                     %init: memref<?xi32>, %n: index) {
  // expected-error @+1 {{must be 1D memref of 8-bit signless integer values, but got 'memref<?xi32>'}}
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi32>)
      decodes(%n, %n) prefills(%n, %n)
  return
}

// -----

func.func @f16_A(%b: !hssm.batch, %u: memref<?x16xf32>, %A: memref<16x4xf16>,
                 %B: memref<?x4xf32>, %D: memref<16xf32>,
                 %ss: memref<?x16x4xf32>) {
  // expected-error @+1 {{operand #2 must be 2D memref of 32-bit float values, but got 'memref<16x4xf16>'}}
  hssm.selective_scan u(%u : memref<?x16xf32>) delta(%u : memref<?x16xf32>)
      A(%A : memref<16x4xf16>) B(%B : memref<?x4xf32>) C(%B : memref<?x4xf32>)
      D(%D : memref<16xf32>) state(%ss : memref<?x16x4xf32>) batch(%b)
      out(%u : memref<?x16xf32>)
  return
}

// -----

func.func @bf16_delta_bias(%b: !hssm.batch, %u: memref<?x16xf32>,
                           %A: memref<16x4xf32>, %B: memref<?x4xf32>,
                           %D: memref<16xf32>, %db: memref<16xbf16>,
                           %ss: memref<?x16x4xf32>) {
  // expected-error @+1 {{operand #6 must be 1D memref of 32-bit float values, but got 'memref<16xbf16>'}}
  hssm.state_update u(%u : memref<?x16xf32>) delta(%u : memref<?x16xf32>)
      A(%A : memref<16x4xf32>) B(%B : memref<?x4xf32>) C(%B : memref<?x4xf32>)
      D(%D : memref<16xf32>) delta_bias(%db : memref<16xbf16>)
      state(%ss : memref<?x16x4xf32>) batch(%b) out(%u : memref<?x16xf32>)
  return
}

// -----

func.func @i8_state(%b: !hssm.batch, %x: memref<?x16xf32>, %s: memref<?x16xi8>) {
  // expected-error @+1 {{operand #1 must be 2D memref of 32-bit float or 16-bit float or bfloat16 type values, but got 'memref<?x16xi8>'}}
  hssm.segmented_prefix_sum x(%x : memref<?x16xf32>)
      state(%s : memref<?x16xi8>) batch(%b) out(%x : memref<?x16xf32>)
  return
}

// -----

func.func @rank_state_pool(%b: !hssm.batch, %x: memref<?x16xf32>,
                           %w: memref<16x4xf32>, %cs: memref<3x16xf32>) {
  // expected-error @+1 {{operand #2 must be 3D memref of 32-bit float or 16-bit float or bfloat16 type values, but got 'memref<3x16xf32>'}}
  hssm.conv_update x(%x : memref<?x16xf32>) weight(%w : memref<16x4xf32>)
      state(%cs : memref<3x16xf32>) batch(%b) out(%x : memref<?x16xf32>)
  return
}

// -----

func.func @rank_bias(%x: memref<?x16xf32>, %w: memref<32x16xf32>,
                     %bias: memref<1x32xf32>, %o: memref<?x32xf32>) {
  // expected-error @+1 {{operand #2 must be 1D memref of 32-bit float or 16-bit float or bfloat16 type values, but got 'memref<1x32xf32>'}}
  hssm.linear x(%x : memref<?x16xf32>) weight(%w : memref<32x16xf32>)
      bias(%bias : memref<1x32xf32>) out(%o : memref<?x32xf32>)
  return
}

// -----

func.func @rank_activations(%a: memref<?xf32>, %o: memref<?x16xf32>) {
  // expected-error @+1 {{operand #0 must be 2D memref of 32-bit float or 16-bit float or bfloat16 type values, but got 'memref<?xf32>'}}
  hssm.combine swa(%a : memref<?xf32>) ssm(%o : memref<?x16xf32>)
      out(%o : memref<?x16xf32>)
  return
}

// -----

func.func @unranked(%x: memref<*xf32>, %n: index, %o: memref<?x16xf32>) {
  // expected-error @+1 {{invalid kind of type specified: expected builtin.memref, but found 'memref<*xf32>'}}
  hssm.prefix_sum x(%x : memref<*xf32>) count(%n) out(%o : memref<?x16xf32>)
  return
}

// -----

func.func @pad_slot_below_minus_one(%b: !hssm.batch, %x: memref<?x16xf32>,
                                    %s: memref<?x16xf32>) {
  // expected-error @+3 {{attribute 'pad_slot_id' failed to satisfy constraint: 64-bit signless integer attribute whose minimum value is -1}}
  hssm.segmented_prefix_sum x(%x : memref<?x16xf32>)
      state(%s : memref<?x16xf32>) batch(%b) out(%x : memref<?x16xf32>)
      {pad_slot_id = -2}
  return
}

// -----

func.func @unknown_mode(%x: memref<?x16xf32>) {
  // expected-error @+2 {{expected ::mlir::hssm::BranchMode to be one of: zero, prefix_sum, mamba1}}
  // expected-error @+1 {{failed to parse HSSM_BranchModeAttr parameter 'value'}}
  hssm.history_branch <mamba2> x(%x : memref<?x16xf32>)
  return
}

//===----------------------------------------------------------------------===//
// hssm.batch
//===----------------------------------------------------------------------===//

// -----

func.func @batch_num_reqs_dst(%qsl: memref<4xi32>, %si: memref<3xi32>,
                              %dst: memref<2xi32>, %init: memref<3xi8>,
                              %n: index) {
  // expected-error @+1 {{size num_reqs disagrees: dimension 0 of 'dst_state_indices' is 2 but dimension 0 of 'state_indices' is 3}}
  %b = hssm.batch query_start_loc(%qsl : memref<4xi32>)
      state_indices(%si : memref<3xi32>) dst_state_indices(%dst : memref<2xi32>)
      has_initial_state(%init : memref<3xi8>) decodes(%n, %n) prefills(%n, %n)
  return
}

// -----

func.func @batch_num_reqs_init(%qsl: memref<?xi32>, %si: memref<?xi32>,
                               %dst: memref<3xi32>, %init: memref<5xi8>,
                               %n: index) {
  // expected-error @+1 {{size num_reqs disagrees: dimension 0 of 'has_initial_state' is 5 but dimension 0 of 'dst_state_indices' is 3}}
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) dst_state_indices(%dst : memref<3xi32>)
      has_initial_state(%init : memref<5xi8>) decodes(%n, %n) prefills(%n, %n)
  return
}

// -----

func.func @batch_query_start_loc(%qsl: memref<3xi32>, %si: memref<3xi32>,
                                 %init: memref<?xi8>, %n: index) {
  // expected-error @+1 {{dimension 0 of 'query_start_loc' is 3 but must be num_reqs + 1 = 4}}
  %b = hssm.batch query_start_loc(%qsl : memref<3xi32>)
      state_indices(%si : memref<3xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%n, %n) prefills(%n, %n)
  return
}

// -----

func.func @batch_query_start_loc_empty(%qsl: memref<0xi32>, %si: memref<?xi32>,
                                       %init: memref<?xi8>, %n: index) {
  // expected-error @+1 {{'query_start_loc' has no elements but must hold num_reqs + 1 token offsets}}
  %b = hssm.batch query_start_loc(%qsl : memref<0xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%n, %n) prefills(%n, %n)
  return
}

// -----

func.func @batch_negative_decodes(%qsl: memref<?xi32>, %si: memref<?xi32>,
                                  %init: memref<?xi8>, %n: index) {
  %c-1 = arith.constant -1 : index
  // expected-error @+1 {{num_decodes = -1 must be >= 0}}
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%c-1, %n) prefills(%n, %n)
  return
}

// -----

func.func @batch_negative_prefill_tokens(%qsl: memref<?xi32>,
                                         %si: memref<?xi32>,
                                         %init: memref<?xi8>, %n: index) {
  %c-3 = arith.constant -3 : index
  // expected-error @+1 {{num_prefill_tokens = -3 must be >= 0}}
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%n, %n) prefills(%n, %c-3)
  return
}

// -----

// The rows come from query_start_loc when the index buffers are dynamic.
func.func @batch_decodes_exceed_rows(%qsl: memref<4xi32>, %si: memref<?xi32>,
                                     %init: memref<?xi8>, %n: index) {
  %c4 = arith.constant 4 : index
  // expected-error @+1 {{num_decodes = 4 exceeds the 3 rows of the batch}}
  %b = hssm.batch query_start_loc(%qsl : memref<4xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%c4, %c4) prefills(%n, %n)
  return
}

// -----

func.func @batch_prefills_exceed_rows(%qsl: memref<?xi32>, %si: memref<2xi32>,
                                      %init: memref<?xi8>, %n: index) {
  %c3 = arith.constant 3 : index
  // expected-error @+1 {{num_prefills = 3 exceeds the 2 rows of the batch}}
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<2xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%n, %n) prefills(%c3, %n)
  return
}

// -----

func.func @batch_decode_tokens(%qsl: memref<?xi32>, %si: memref<?xi32>,
                               %init: memref<?xi8>, %n: index) {
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  // expected-error @+1 {{num_decode_tokens = 3 must equal num_decodes = 2 (one token per decode)}}
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%c2, %c3) prefills(%n, %n)
  return
}

// -----

func.func @batch_rows_sum(%qsl: memref<6xi32>, %si: memref<5xi32>,
                          %init: memref<5xi8>, %n: index) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  // expected-error @+1 {{num_decodes + num_prefills = 3 must equal the 5 rows of the batch}}
  %b = hssm.batch query_start_loc(%qsl : memref<6xi32>)
      state_indices(%si : memref<5xi32>) has_initial_state(%init : memref<5xi8>)
      decodes(%c2, %c2) prefills(%c1, %n)
  return
}

//===----------------------------------------------------------------------===//
// hssm.conv1d, hssm.conv_update
//===----------------------------------------------------------------------===//

// -----

func.func @conv_dynamic_width(%b: !hssm.batch, %x: memref<?x16xf32>,
                              %w: memref<16x?xf32>, %cs: memref<?x3x16xf32>) {
  // expected-error @+1 {{conv width W (dimension 1 of 'weight') must be static}}
  hssm.conv1d x(%x : memref<?x16xf32>) weight(%w : memref<16x?xf32>)
      state(%cs : memref<?x3x16xf32>) batch(%b) out(%x : memref<?x16xf32>)
  return
}

// -----

func.func @conv_width_1(%b: !hssm.batch, %x: memref<?x16xf32>,
                        %w: memref<16x1xf32>, %cs: memref<?x0x16xf32>) {
  // expected-error @+1 {{conv width W = 1 (dimension 1 of 'weight') must be in [2, 5]}}
  hssm.conv1d x(%x : memref<?x16xf32>) weight(%w : memref<16x1xf32>)
      state(%cs : memref<?x0x16xf32>) batch(%b) out(%x : memref<?x16xf32>)
  return
}

// -----

func.func @conv_width_6(%b: !hssm.batch, %x: memref<?x16xf32>,
                        %w: memref<16x6xf32>, %cs: memref<?x5x16xf32>) {
  // expected-error @+1 {{conv width W = 6 (dimension 1 of 'weight') must be in [2, 5]}}
  hssm.conv_update x(%x : memref<?x16xf32>) weight(%w : memref<16x6xf32>)
      state(%cs : memref<?x5x16xf32>) batch(%b) out(%x : memref<?x16xf32>)
  return
}

// -----

func.func @conv_tokens(%b: !hssm.batch, %x: memref<8x16xf32>,
                       %w: memref<16x4xf32>, %cs: memref<?x3x16xf32>,
                       %o: memref<9x16xf32>) {
  // expected-error @+1 {{size T disagrees: dimension 0 of 'out' is 9 but dimension 0 of 'x' is 8}}
  hssm.conv1d x(%x : memref<8x16xf32>) weight(%w : memref<16x4xf32>)
      state(%cs : memref<?x3x16xf32>) batch(%b) out(%o : memref<9x16xf32>)
  return
}

// -----

func.func @conv_channels_x(%b: !hssm.batch, %x: memref<?x32xf32>,
                           %w: memref<16x4xf32>, %cs: memref<?x3x16xf32>,
                           %o: memref<?x16xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 1 of 'x' is 32 but dimension 0 of 'weight' is 16}}
  hssm.conv1d x(%x : memref<?x32xf32>) weight(%w : memref<16x4xf32>)
      state(%cs : memref<?x3x16xf32>) batch(%b) out(%o : memref<?x16xf32>)
  return
}

// -----

func.func @conv_channels_bias(%b: !hssm.batch, %x: memref<?x16xf32>,
                              %w: memref<16x4xf32>, %bias: memref<15xf32>,
                              %cs: memref<?x3x16xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 0 of 'bias' is 15 but dimension 0 of 'weight' is 16}}
  hssm.conv_update x(%x : memref<?x16xf32>) weight(%w : memref<16x4xf32>)
      bias(%bias : memref<15xf32>) state(%cs : memref<?x3x16xf32>) batch(%b)
      out(%x : memref<?x16xf32>)
  return
}

// -----

func.func @conv_channels_state(%b: !hssm.batch, %x: memref<?x?xf32>,
                               %w: memref<?x4xf32>, %cs: memref<?x3x16xf32>,
                               %o: memref<?x8xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 1 of 'out' is 8 but dimension 2 of 'conv_state' is 16}}
  hssm.conv1d x(%x : memref<?x?xf32>) weight(%w : memref<?x4xf32>)
      state(%cs : memref<?x3x16xf32>) batch(%b) out(%o : memref<?x8xf32>)
  return
}

// -----

func.func @conv_state_window(%b: !hssm.batch, %x: memref<?x16xf32>,
                             %w: memref<16x4xf32>, %cs: memref<?x4x16xf32>) {
  // expected-error @+1 {{dimension 1 of 'conv_state' is 4 but must be W - 1 = 3}}
  hssm.conv1d x(%x : memref<?x16xf32>) weight(%w : memref<16x4xf32>)
      state(%cs : memref<?x4x16xf32>) batch(%b) out(%x : memref<?x16xf32>)
  return
}

// -----

func.func @conv_pad_slot(%b: !hssm.batch, %x: memref<?x16xf32>,
                         %w: memref<16x4xf32>, %cs: memref<4x3x16xf32>) {
  // expected-error @+1 {{pad_slot_id 4 is not a slot of 'conv_state' (4 slots)}}
  hssm.conv1d x(%x : memref<?x16xf32>) weight(%w : memref<16x4xf32>)
      state(%cs : memref<4x3x16xf32>) batch(%b) out(%x : memref<?x16xf32>)
      {pad_slot_id = 4}
  return
}

// -----

func.func @conv_batch_tokens(%qsl: memref<?xi32>, %si: memref<?xi32>,
                             %init: memref<?xi8>, %x: memref<8x16xf32>,
                             %w: memref<16x4xf32>, %cs: memref<?x3x16xf32>) {
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%c2, %c2) prefills(%c1, %c5)
  // expected-error @+1 {{batch has 7 tokens (num_decode_tokens + num_prefill_tokens) but dimension 0 of 'x' is 8}}
  hssm.conv1d x(%x : memref<8x16xf32>) weight(%w : memref<16x4xf32>)
      state(%cs : memref<?x3x16xf32>) batch(%b) out(%x : memref<8x16xf32>)
  return
}

//===----------------------------------------------------------------------===//
// hssm.selective_scan, hssm.state_update
//===----------------------------------------------------------------------===//

// -----

func.func @scan_dynamic_state_size(%b: !hssm.batch, %u: memref<?x16xf32>,
                                   %A: memref<16x?xf32>, %B: memref<?x4xf32>,
                                   %D: memref<16xf32>, %ss: memref<?x16x4xf32>) {
  // expected-error @+1 {{state size N (dimension 1 of 'A') must be static}}
  hssm.selective_scan u(%u : memref<?x16xf32>) delta(%u : memref<?x16xf32>)
      A(%A : memref<16x?xf32>) B(%B : memref<?x4xf32>) C(%B : memref<?x4xf32>)
      D(%D : memref<16xf32>) state(%ss : memref<?x16x4xf32>) batch(%b)
      out(%u : memref<?x16xf32>)
  return
}

// -----

func.func @scan_state_size_0(%b: !hssm.batch, %u: memref<?x16xf32>,
                             %A: memref<16x0xf32>, %B: memref<?x0xf32>,
                             %D: memref<16xf32>, %ss: memref<?x16x0xf32>) {
  // expected-error @+1 {{state size N = 0 (dimension 1 of 'A') must be in [1, 256]}}
  hssm.state_update u(%u : memref<?x16xf32>) delta(%u : memref<?x16xf32>)
      A(%A : memref<16x0xf32>) B(%B : memref<?x0xf32>) C(%B : memref<?x0xf32>)
      D(%D : memref<16xf32>) state(%ss : memref<?x16x0xf32>) batch(%b)
      out(%u : memref<?x16xf32>)
  return
}

// -----

func.func @scan_state_size_257(%b: !hssm.batch, %u: memref<?x16xf32>,
                               %A: memref<16x257xf32>, %B: memref<?x257xf32>,
                               %D: memref<16xf32>, %ss: memref<?x16x257xf32>) {
  // expected-error @+1 {{state size N = 257 (dimension 1 of 'A') must be in [1, 256]}}
  hssm.selective_scan u(%u : memref<?x16xf32>) delta(%u : memref<?x16xf32>)
      A(%A : memref<16x257xf32>) B(%B : memref<?x257xf32>)
      C(%B : memref<?x257xf32>) D(%D : memref<16xf32>)
      state(%ss : memref<?x16x257xf32>) batch(%b) out(%u : memref<?x16xf32>)
  return
}

// -----

func.func @scan_tokens(%b: !hssm.batch, %u: memref<8x16xf32>,
                       %A: memref<16x4xf32>, %B: memref<8x4xf32>,
                       %C: memref<7x4xf32>, %D: memref<16xf32>,
                       %ss: memref<?x16x4xf32>) {
  // expected-error @+1 {{size T disagrees: dimension 0 of 'C' is 7 but dimension 0 of 'u' is 8}}
  hssm.selective_scan u(%u : memref<8x16xf32>) delta(%u : memref<8x16xf32>)
      A(%A : memref<16x4xf32>) B(%B : memref<8x4xf32>) C(%C : memref<7x4xf32>)
      D(%D : memref<16xf32>) state(%ss : memref<?x16x4xf32>) batch(%b)
      out(%u : memref<8x16xf32>)
  return
}

// -----

func.func @scan_tokens_z(%b: !hssm.batch, %u: memref<?x16xf32>,
                         %dt: memref<8x16xf32>, %A: memref<16x4xf32>,
                         %B: memref<?x4xf32>, %D: memref<16xf32>,
                         %z: memref<6x16xf32>, %ss: memref<?x16x4xf32>) {
  // expected-error @+1 {{size T disagrees: dimension 0 of 'z' is 6 but dimension 0 of 'delta' is 8}}
  hssm.state_update u(%u : memref<?x16xf32>) delta(%dt : memref<8x16xf32>)
      A(%A : memref<16x4xf32>) B(%B : memref<?x4xf32>) C(%B : memref<?x4xf32>)
      D(%D : memref<16xf32>) z(%z : memref<6x16xf32>)
      state(%ss : memref<?x16x4xf32>) batch(%b) out(%u : memref<?x16xf32>)
  return
}

// -----

func.func @scan_channels_u(%b: !hssm.batch, %u: memref<?x32xf32>,
                           %dt: memref<?x16xf32>, %A: memref<16x4xf32>,
                           %B: memref<?x4xf32>, %D: memref<16xf32>,
                           %ss: memref<?x16x4xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 1 of 'u' is 32 but dimension 0 of 'A' is 16}}
  hssm.selective_scan u(%u : memref<?x32xf32>) delta(%dt : memref<?x16xf32>)
      A(%A : memref<16x4xf32>) B(%B : memref<?x4xf32>) C(%B : memref<?x4xf32>)
      D(%D : memref<16xf32>) state(%ss : memref<?x16x4xf32>) batch(%b)
      out(%dt : memref<?x16xf32>)
  return
}

// -----

func.func @scan_channels_delta_bias(%b: !hssm.batch, %u: memref<?x16xf32>,
                                    %A: memref<16x4xf32>, %B: memref<?x4xf32>,
                                    %D: memref<16xf32>, %db: memref<17xf32>,
                                    %ss: memref<?x16x4xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 0 of 'delta_bias' is 17 but dimension 0 of 'A' is 16}}
  hssm.selective_scan u(%u : memref<?x16xf32>) delta(%u : memref<?x16xf32>)
      A(%A : memref<16x4xf32>) B(%B : memref<?x4xf32>) C(%B : memref<?x4xf32>)
      D(%D : memref<16xf32>) delta_bias(%db : memref<17xf32>)
      state(%ss : memref<?x16x4xf32>) batch(%b) out(%u : memref<?x16xf32>)
  return
}

// -----

func.func @scan_channels_state(%b: !hssm.batch, %u: memref<?x16xf32>,
                               %A: memref<16x4xf32>, %B: memref<?x4xf32>,
                               %D: memref<16xf32>, %ss: memref<?x32x4xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 1 of 'ssm_state' is 32 but dimension 0 of 'A' is 16}}
  hssm.state_update u(%u : memref<?x16xf32>) delta(%u : memref<?x16xf32>)
      A(%A : memref<16x4xf32>) B(%B : memref<?x4xf32>) C(%B : memref<?x4xf32>)
      D(%D : memref<16xf32>) state(%ss : memref<?x32x4xf32>) batch(%b)
      out(%u : memref<?x16xf32>)
  return
}

// -----

func.func @scan_state_size_B(%b: !hssm.batch, %u: memref<?x16xf32>,
                             %A: memref<16x4xf32>, %B: memref<?x8xf32>,
                             %C: memref<?x4xf32>, %D: memref<16xf32>,
                             %ss: memref<?x16x4xf32>) {
  // expected-error @+1 {{size N disagrees: dimension 1 of 'B' is 8 but dimension 1 of 'A' is 4}}
  hssm.selective_scan u(%u : memref<?x16xf32>) delta(%u : memref<?x16xf32>)
      A(%A : memref<16x4xf32>) B(%B : memref<?x8xf32>) C(%C : memref<?x4xf32>)
      D(%D : memref<16xf32>) state(%ss : memref<?x16x4xf32>) batch(%b)
      out(%u : memref<?x16xf32>)
  return
}

// -----

func.func @scan_state_size_pool(%b: !hssm.batch, %u: memref<?x16xf32>,
                                %A: memref<16x4xf32>, %B: memref<?x4xf32>,
                                %D: memref<16xf32>, %ss: memref<?x16x16xf32>) {
  // expected-error @+1 {{size N disagrees: dimension 2 of 'ssm_state' is 16 but dimension 1 of 'A' is 4}}
  hssm.state_update u(%u : memref<?x16xf32>) delta(%u : memref<?x16xf32>)
      A(%A : memref<16x4xf32>) B(%B : memref<?x4xf32>) C(%B : memref<?x4xf32>)
      D(%D : memref<16xf32>) state(%ss : memref<?x16x16xf32>) batch(%b)
      out(%u : memref<?x16xf32>)
  return
}

// -----

func.func @scan_pad_slot(%b: !hssm.batch, %u: memref<?x16xf32>,
                         %A: memref<16x4xf32>, %B: memref<?x4xf32>,
                         %D: memref<16xf32>, %ss: memref<1x16x4xf32>) {
  // expected-error @+1 {{pad_slot_id 1 is not a slot of 'ssm_state' (1 slots)}}
  hssm.selective_scan u(%u : memref<?x16xf32>) delta(%u : memref<?x16xf32>)
      A(%A : memref<16x4xf32>) B(%B : memref<?x4xf32>) C(%B : memref<?x4xf32>)
      D(%D : memref<16xf32>) state(%ss : memref<1x16x4xf32>) batch(%b)
      out(%u : memref<?x16xf32>) {pad_slot_id = 1}
  return
}

// -----

func.func @scan_batch_tokens(%qsl: memref<?xi32>, %si: memref<?xi32>,
                             %init: memref<?xi8>, %u: memref<4x16xf32>,
                             %A: memref<16x4xf32>, %B: memref<?x4xf32>,
                             %D: memref<16xf32>, %ss: memref<?x16x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%c0, %c0) prefills(%c1, %c3)
  // expected-error @+1 {{batch has 3 tokens (num_decode_tokens + num_prefill_tokens) but dimension 0 of 'u' is 4}}
  hssm.selective_scan u(%u : memref<4x16xf32>) delta(%u : memref<4x16xf32>)
      A(%A : memref<16x4xf32>) B(%B : memref<?x4xf32>) C(%B : memref<?x4xf32>)
      D(%D : memref<16xf32>) state(%ss : memref<?x16x4xf32>) batch(%b)
      out(%u : memref<4x16xf32>)
  return
}

//===----------------------------------------------------------------------===//
// hssm.linear, hssm.combine, prefix sums
//===----------------------------------------------------------------------===//

// -----

func.func @linear_tokens(%x: memref<8x16xf32>, %w: memref<32x16xf32>,
                         %o: memref<4x32xf32>) {
  // expected-error @+1 {{size T disagrees: dimension 0 of 'out' is 4 but dimension 0 of 'x' is 8}}
  hssm.linear x(%x : memref<8x16xf32>) weight(%w : memref<32x16xf32>)
      out(%o : memref<4x32xf32>)
  return
}

// -----

func.func @linear_depth(%x: memref<?x16xf32>, %w: memref<32x8xf32>,
                        %o: memref<?x32xf32>) {
  // expected-error @+1 {{size K disagrees: dimension 1 of 'weight' is 8 but dimension 1 of 'x' is 16}}
  hssm.linear x(%x : memref<?x16xf32>) weight(%w : memref<32x8xf32>)
      out(%o : memref<?x32xf32>)
  return
}

// -----

func.func @linear_rows_bias(%x: memref<?x16xf32>, %w: memref<32x16xf32>,
                            %bias: memref<31xf32>, %o: memref<?x32xf32>) {
  // expected-error @+1 {{size M disagrees: dimension 0 of 'bias' is 31 but dimension 0 of 'weight' is 32}}
  hssm.linear x(%x : memref<?x16xf32>) weight(%w : memref<32x16xf32>)
      bias(%bias : memref<31xf32>) out(%o : memref<?x32xf32>) {accumulate}
  return
}

// -----

func.func @linear_rows_out(%x: memref<?x16xf32>, %w: memref<32x16xf32>,
                           %o: memref<?x64xf32>) {
  // expected-error @+1 {{size M disagrees: dimension 1 of 'out' is 64 but dimension 0 of 'weight' is 32}}
  hssm.linear x(%x : memref<?x16xf32>) weight(%w : memref<32x16xf32>)
      out(%o : memref<?x64xf32>)
  return
}

// -----

func.func @combine_tokens(%a: memref<?x16xf32>, %s: memref<8x16xf32>,
                          %o: memref<9x16xf32>) {
  // expected-error @+1 {{size T disagrees: dimension 0 of 'out' is 9 but dimension 0 of 'ssm' is 8}}
  hssm.combine swa(%a : memref<?x16xf32>) ssm(%s : memref<8x16xf32>)
      out(%o : memref<9x16xf32>)
  return
}

// -----

func.func @combine_hidden(%a: memref<?x16xf32>, %s: memref<?x32xf32>) {
  // expected-error @+1 {{size Hd disagrees: dimension 1 of 'ssm' is 32 but dimension 1 of 'swa' is 16}}
  hssm.combine swa(%a : memref<?x16xf32>) ssm(%s : memref<?x32xf32>)
      out(%a : memref<?x16xf32>)
  return
}

// -----

func.func @prefix_sum_tokens(%x: memref<8x16xf32>, %n: index,
                             %o: memref<?x16xf32>, %o2: memref<2x16xf32>) {
  // expected-error @+1 {{size T disagrees: dimension 0 of 'out' is 2 but dimension 0 of 'x' is 8}}
  hssm.prefix_sum x(%x : memref<8x16xf32>) count(%n) out(%o2 : memref<2x16xf32>)
  return
}

// -----

func.func @prefix_sum_hidden(%x: memref<?x16xf32>, %n: index,
                             %o: memref<?x8xf32>) {
  // expected-error @+1 {{size Hd disagrees: dimension 1 of 'out' is 8 but dimension 1 of 'x' is 16}}
  hssm.prefix_sum x(%x : memref<?x16xf32>) count(%n) out(%o : memref<?x8xf32>)
  return
}

// -----

func.func @prefix_sum_negative_count(%x: memref<?x16xf32>) {
  %c-1 = arith.constant -1 : index
  // expected-error @+1 {{count = -1 must be in [0, T]}}
  hssm.prefix_sum x(%x : memref<?x16xf32>) count(%c-1) out(%x : memref<?x16xf32>)
  return
}

// -----

func.func @prefix_sum_count_above_tokens(%x: memref<8x16xf32>) {
  %c9 = arith.constant 9 : index
  // expected-error @+1 {{count = 9 must be in [0, T]}}
  hssm.prefix_sum x(%x : memref<8x16xf32>) count(%c9) out(%x : memref<8x16xf32>)
  return
}

// -----

func.func @segmented_tokens(%b: !hssm.batch, %x: memref<8x16xf32>,
                            %o: memref<7x16xf32>) {
  // expected-error @+1 {{size T disagrees: dimension 0 of 'out' is 7 but dimension 0 of 'x' is 8}}
  hssm.segmented_prefix_sum x(%x : memref<8x16xf32>) batch(%b)
      out(%o : memref<7x16xf32>)
  return
}

// -----

func.func @segmented_hidden_state(%b: !hssm.batch, %x: memref<?x16xf32>,
                                  %s: memref<?x12xf32>) {
  // expected-error @+1 {{size Hd disagrees: dimension 1 of 'state' is 12 but dimension 1 of 'x' is 16}}
  hssm.segmented_prefix_sum x(%x : memref<?x16xf32>)
      state(%s : memref<?x12xf32>) batch(%b) out(%x : memref<?x16xf32>)
  return
}

// -----

func.func @segmented_pad_slot(%b: !hssm.batch, %x: memref<?x16xf32>,
                              %s: memref<2x16xf32>) {
  // expected-error @+1 {{pad_slot_id 2 is not a slot of 'state' (2 slots)}}
  hssm.segmented_prefix_sum x(%x : memref<?x16xf32>)
      state(%s : memref<2x16xf32>) batch(%b) out(%x : memref<?x16xf32>)
      {pad_slot_id = 2}
  return
}

// -----

func.func @segmented_batch_tokens(%qsl: memref<?xi32>, %si: memref<?xi32>,
                                  %init: memref<?xi8>, %x: memref<2x16xf32>) {
  %c3 = arith.constant 3 : index
  %c0 = arith.constant 0 : index
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%c3, %c3) prefills(%c0, %c0)
  // expected-error @+1 {{batch has 3 tokens (num_decode_tokens + num_prefill_tokens) but dimension 0 of 'x' is 2}}
  hssm.segmented_prefix_sum x(%x : memref<2x16xf32>) batch(%b)
      out(%x : memref<2x16xf32>)
  return
}

//===----------------------------------------------------------------------===//
// hssm.history_branch (Hd 8, D 16, N 4, R 2, W 4 unless a case says else)
//===----------------------------------------------------------------------===//

// -----

func.func @branch_dynamic_width(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x?xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{conv width W (dimension 1 of 'conv_weight') must be static}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x?xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_width_6(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x6xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x5x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{conv width W = 6 (dimension 1 of 'conv_weight') must be in [2, 5]}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x6xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x5x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_dynamic_state_size(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x?xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{state size N (dimension 1 of 'A') must be static}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x?xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_state_size_257(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<516x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x257xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x257xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{state size N = 257 (dimension 1 of 'A') must be in [1, 256]}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<516x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x257xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x257xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_tokens(
    %b: !hssm.batch, %x: memref<4x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<5x8xf32>) {
  // expected-error @+1 {{size T disagrees: dimension 0 of 'out' is 5 but dimension 0 of 'x' is 4}}
  hssm.history_branch <mamba1> x(%x : memref<4x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<5x8xf32>)
  return
}

// -----

func.func @branch_hidden_in_proj(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x16xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size Hd disagrees: dimension 1 of 'in_proj' is 16 but dimension 1 of 'x' is 8}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x16xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_hidden_out_proj(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<4x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size Hd disagrees: dimension 0 of 'out_proj' is 4 but dimension 1 of 'x' is 8}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<4x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_hidden_out(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x7xf32>) {
  // expected-error @+1 {{size Hd disagrees: dimension 1 of 'out' is 7 but dimension 1 of 'x' is 8}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x7xf32>)
  return
}

// -----

func.func @branch_inner_conv_bias(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<12xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 0 of 'conv_bias' is 12 but dimension 0 of 'conv_weight' is 16}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<12xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_inner_x_proj(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x32xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 1 of 'x_proj' is 32 but dimension 0 of 'conv_weight' is 16}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x32xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_inner_dt_proj(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<8x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 0 of 'dt_proj' is 8 but dimension 0 of 'conv_weight' is 16}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<8x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_inner_dt_bias(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<17xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 0 of 'dt_bias' is 17 but dimension 0 of 'conv_weight' is 16}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<17xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_inner_A(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<32x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 0 of 'A' is 32 but dimension 0 of 'conv_weight' is 16}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<32x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_inner_D(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<15xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 0 of 'D' is 15 but dimension 0 of 'conv_weight' is 16}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<15xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_inner_out_proj(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x32xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 1 of 'out_proj' is 32 but dimension 0 of 'conv_weight' is 16}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x32xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_inner_conv_state(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x8xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 2 of 'conv_state' is 8 but dimension 0 of 'conv_weight' is 16}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x8xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_inner_ssm_state(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x8x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size D disagrees: dimension 1 of 'ssm_state' is 8 but dimension 0 of 'conv_weight' is 16}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x8x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_state_size_pool(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x16xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size N disagrees: dimension 2 of 'ssm_state' is 16 but dimension 1 of 'A' is 4}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x16xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_slots(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<4x3x16xf32>,
    %ss: memref<8x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{size slots disagrees: dimension 0 of 'ssm_state' is 8 but dimension 0 of 'conv_state' is 4}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<4x3x16xf32>, %ss : memref<8x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_in_proj_rows(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<16x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{dimension 0 of 'in_proj' is 16 but must be 2 * D = 32}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<16x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_x_proj_rows(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<8x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{dimension 0 of 'x_proj' is 8 but must be R + 2 * N = 10}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<8x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_conv_state_window(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x4x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{dimension 1 of 'conv_state' is 4 but must be W - 1 = 3}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x4x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}

// -----

func.func @branch_pad_slot_conv_state(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<3x3x16xf32>,
    %ss: memref<?x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{pad_slot_id 3 is not a slot of 'conv_state' (3 slots)}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<3x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>) {pad_slot_id = 3}
  return
}

// -----

func.func @branch_pad_slot_ssm_state(
    %b: !hssm.batch, %x: memref<?x8xf32>, %in_proj: memref<32x8xf32>,
    %cw: memref<16x4xf32>, %cb: memref<16xf32>, %wx: memref<10x16xf32>,
    %wdt: memref<16x2xf32>, %bdt: memref<16xf32>, %A: memref<16x4xf32>,
    %D: memref<16xf32>, %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>,
    %ss: memref<2x16x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{pad_slot_id 3 is not a slot of 'ssm_state' (2 slots)}}
  hssm.history_branch <mamba1> x(%x : memref<?x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<2x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>) {pad_slot_id = 3}
  return
}

// -----

func.func @branch_batch_tokens(
    %qsl: memref<?xi32>, %si: memref<?xi32>, %init: memref<?xi8>,
    %x: memref<5x8xf32>, %in_proj: memref<32x8xf32>, %cw: memref<16x4xf32>,
    %cb: memref<16xf32>, %wx: memref<10x16xf32>, %wdt: memref<16x2xf32>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xf32>, %cs: memref<?x3x16xf32>, %ss: memref<?x16x4xf32>,
    %out: memref<?x8xf32>) {
  %c4 = arith.constant 4 : index
  %c2 = arith.constant 2 : index
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%c4, %c4) prefills(%c2, %c2)
  // expected-error @+1 {{batch has 6 tokens (num_decode_tokens + num_prefill_tokens) but dimension 0 of 'x' is 5}}
  hssm.history_branch <mamba1> x(%x : memref<5x8xf32>) in_proj(%in_proj : memref<32x8xf32>)
      conv(%cw : memref<16x4xf32>, %cb : memref<16xf32>) x_proj(%wx : memref<10x16xf32>)
      dt_proj(%wdt : memref<16x2xf32>, %bdt : memref<16xf32>) A(%A : memref<16x4xf32>)
      D(%D : memref<16xf32>) out_proj(%wo : memref<8x16xf32>)
      state(%cs : memref<?x3x16xf32>, %ss : memref<?x16x4xf32>) batch(%b)
      out(%out : memref<?x8xf32>)
  return
}
