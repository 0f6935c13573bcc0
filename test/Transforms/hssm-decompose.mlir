// RUN: hssm-opt %s -hssm-decompose | FileCheck %s
// RUN: hssm-opt %s -hssm-decompose=device-alloc=true | FileCheck %s --check-prefix=DEV
// RUN: hssm-opt %s -hssm-decompose=gemm-inputs-in-activation-type=true | FileCheck %s --check-prefix=ACT

// history_branch per mode: mamba1 becomes the chain of SPEC.md section 2
// over fp32 temporaries (x/z and delta/B/C as column views, no copies),
// prefix_sum a flat prefix sum over the prefill tokens, zero a fill.

// Small sizes: Hd 8, D 16, N 4, R 2, W 4; bf16 storage, f32 SSM state.
// CHECK-LABEL: func.func @mamba1(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x8xbf16>
// CHECK-SAME: %[[WIN:[a-zA-Z0-9_]+]]: memref<32x8xbf16>
// CHECK-SAME: %[[CW:[a-zA-Z0-9_]+]]: memref<16x4xbf16>
// CHECK-SAME: %[[CB:[a-zA-Z0-9_]+]]: memref<16xbf16>
// CHECK-SAME: %[[WX:[a-zA-Z0-9_]+]]: memref<10x16xbf16>
// CHECK-SAME: %[[WDT:[a-zA-Z0-9_]+]]: memref<16x2xbf16>
// CHECK-SAME: %[[BDT:[a-zA-Z0-9_]+]]: memref<16xf32>
// CHECK-SAME: %[[A:[a-zA-Z0-9_]+]]: memref<16x4xf32>
// CHECK-SAME: %[[D:[a-zA-Z0-9_]+]]: memref<16xf32>
// CHECK-SAME: %[[WOUT:[a-zA-Z0-9_]+]]: memref<8x16xbf16>
// CHECK-SAME: %[[CS:[a-zA-Z0-9_]+]]: memref<?x3x16xbf16>
// CHECK-SAME: %[[SS:[a-zA-Z0-9_]+]]: memref<?x16x4xf32>
// CHECK-SAME: %[[B:[a-zA-Z0-9_]+]]: !hssm.batch
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x8xbf16>
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[T:.*]] = memref.dim %[[X]], %[[C0]] : memref<?x8xbf16>
//   in_proj: [x; z] = W_in x_in, then x and z as views of its halves.
// CHECK-NEXT: %[[XZ:.*]] = memref.alloc(%[[T]]) : memref<?x32xf32>
// CHECK-NEXT: hssm.linear x(%[[X]] : memref<?x8xbf16>) weight(%[[WIN]] : memref<32x8xbf16>) out(%[[XZ]] : memref<?x32xf32>){{$}}
// CHECK-NEXT: %[[XV:.*]] = memref.subview %[[XZ]][0, 0] [%[[T]], 16] [1, 1] : memref<?x32xf32> to memref<?x16xf32, strided<[32, 1]>>
// CHECK-NEXT: %[[ZV:.*]] = memref.subview %[[XZ]][0, 16] [%[[T]], 16] [1, 1] : memref<?x32xf32> to memref<?x16xf32, strided<[32, 1], offset: 16>>
//   conv: decodes then prefills, both into xc, with silu.
// CHECK-NEXT: %[[XC:.*]] = memref.alloc(%[[T]]) : memref<?x16xf32>
// CHECK-NEXT: hssm.conv_update x(%[[XV]] : memref<?x16xf32, strided<[32, 1]>>) weight(%[[CW]] : memref<16x4xbf16>) bias(%[[CB]] : memref<16xbf16>) state(%[[CS]] : memref<?x3x16xbf16>) batch(%[[B]]) out(%[[XC]] : memref<?x16xf32>) {pad_slot_id = 0 : i64, silu}{{$}}
// CHECK-NEXT: hssm.conv1d x(%[[XV]] : memref<?x16xf32, strided<[32, 1]>>) weight(%[[CW]] : memref<16x4xbf16>) bias(%[[CB]] : memref<16xbf16>) state(%[[CS]] : memref<?x3x16xbf16>) batch(%[[B]]) out(%[[XC]] : memref<?x16xf32>) {pad_slot_id = 0 : i64, silu}{{$}}
//   x_proj: [delta_r; B; C] = W_x xc, viewed as columns [0, R), [R, R+N), [R+N, R+2N).
// CHECK-NEXT: %[[XDBL:.*]] = memref.alloc(%[[T]]) : memref<?x10xf32>
// CHECK-NEXT: hssm.linear x(%[[XC]] : memref<?x16xf32>) weight(%[[WX]] : memref<10x16xbf16>) out(%[[XDBL]] : memref<?x10xf32>){{$}}
// CHECK-NEXT: %[[DTR:.*]] = memref.subview %[[XDBL]][0, 0] [%[[T]], 2] [1, 1] : memref<?x10xf32> to memref<?x2xf32, strided<[10, 1]>>
// CHECK-NEXT: %[[BV:.*]] = memref.subview %[[XDBL]][0, 2] [%[[T]], 4] [1, 1] : memref<?x10xf32> to memref<?x4xf32, strided<[10, 1], offset: 2>>
// CHECK-NEXT: %[[CV:.*]] = memref.subview %[[XDBL]][0, 6] [%[[T]], 4] [1, 1] : memref<?x10xf32> to memref<?x4xf32, strided<[10, 1], offset: 6>>
//   dt_proj without its bias: the bias goes to the scan, before softplus.
// CHECK-NEXT: %[[DT:.*]] = memref.alloc(%[[T]]) : memref<?x16xf32>
// CHECK-NEXT: hssm.linear x(%[[DTR]] : memref<?x2xf32, strided<[10, 1]>>) weight(%[[WDT]] : memref<16x2xbf16>) out(%[[DT]] : memref<?x16xf32>){{$}}
//   the scan: decodes then prefills, gated by z, softplus on delta + b_dt.
// CHECK-NEXT: %[[Y:.*]] = memref.alloc(%[[T]]) : memref<?x16xf32>
// CHECK-NEXT: hssm.state_update u(%[[XC]] : memref<?x16xf32>) delta(%[[DT]] : memref<?x16xf32>) A(%[[A]] : memref<16x4xf32>) B(%[[BV]] : memref<?x4xf32, strided<[10, 1], offset: 2>>) C(%[[CV]] : memref<?x4xf32, strided<[10, 1], offset: 6>>) D(%[[D]] : memref<16xf32>) z(%[[ZV]] : memref<?x16xf32, strided<[32, 1], offset: 16>>) delta_bias(%[[BDT]] : memref<16xf32>) state(%[[SS]] : memref<?x16x4xf32>) batch(%[[B]]) out(%[[Y]] : memref<?x16xf32>) {delta_softplus, pad_slot_id = 0 : i64}{{$}}
// CHECK-NEXT: hssm.selective_scan u(%[[XC]] : memref<?x16xf32>) delta(%[[DT]] : memref<?x16xf32>) A(%[[A]] : memref<16x4xf32>) B(%[[BV]] : memref<?x4xf32, strided<[10, 1], offset: 2>>) C(%[[CV]] : memref<?x4xf32, strided<[10, 1], offset: 6>>) D(%[[D]] : memref<16xf32>) z(%[[ZV]] : memref<?x16xf32, strided<[32, 1], offset: 16>>) delta_bias(%[[BDT]] : memref<16xf32>) state(%[[SS]] : memref<?x16x4xf32>) batch(%[[B]]) out(%[[Y]] : memref<?x16xf32>) {delta_softplus, pad_slot_id = 0 : i64}{{$}}
//   out_proj straight into the branch output.
// CHECK-NEXT: hssm.linear x(%[[Y]] : memref<?x16xf32>) weight(%[[WOUT]] : memref<8x16xbf16>) out(%[[O]] : memref<?x8xbf16>){{$}}
// CHECK-NEXT: memref.dealloc %[[XZ]] : memref<?x32xf32>
// CHECK-NEXT: memref.dealloc %[[XC]] : memref<?x16xf32>
// CHECK-NEXT: memref.dealloc %[[XDBL]] : memref<?x10xf32>
// CHECK-NEXT: memref.dealloc %[[DT]] : memref<?x16xf32>
// CHECK-NEXT: memref.dealloc %[[Y]] : memref<?x16xf32>
// CHECK-NEXT: return
// CHECK-NOT:  hssm.history_branch

// With device-alloc, the same temporaries come from gpu.alloc.
// DEV-LABEL: func.func @mamba1(
// DEV-SAME:  %[[X:[a-zA-Z0-9_]+]]: memref<?x8xbf16>
// DEV:       %[[T:.*]] = memref.dim %[[X]], %{{.*}} : memref<?x8xbf16>
// DEV-NEXT:  %[[XZ:.*]] = gpu.alloc (%[[T]]) : memref<?x32xf32>
// DEV-NEXT:  hssm.linear x(%[[X]] : memref<?x8xbf16>) weight(%{{.*}}) out(%[[XZ]] : memref<?x32xf32>)
// DEV:       %[[XC:.*]] = gpu.alloc (%[[T]]) : memref<?x16xf32>
// DEV-NEXT:  hssm.conv_update
// DEV-SAME:  out(%[[XC]] : memref<?x16xf32>)
// DEV:       %[[XDBL:.*]] = gpu.alloc (%[[T]]) : memref<?x10xf32>
// DEV:       %[[DT:.*]] = gpu.alloc (%[[T]]) : memref<?x16xf32>
// DEV:       %[[Y:.*]] = gpu.alloc (%[[T]]) : memref<?x16xf32>
// DEV-NEXT:  hssm.state_update
// DEV-NEXT:  hssm.selective_scan
// DEV-NEXT:  hssm.linear x(%[[Y]] : memref<?x16xf32>)
// DEV-NEXT:  gpu.dealloc %[[XZ]] : memref<?x32xf32>
// DEV-NEXT:  gpu.dealloc %[[XC]] : memref<?x16xf32>
// DEV-NEXT:  gpu.dealloc %[[XDBL]] : memref<?x10xf32>
// DEV-NEXT:  gpu.dealloc %[[DT]] : memref<?x16xf32>
// DEV-NEXT:  gpu.dealloc %[[Y]] : memref<?x16xf32>
// DEV-NEXT:  return
// DEV-NOT:   memref.alloc
// DEV-NOT:   memref.dealloc
func.func @mamba1(
    %x: memref<?x8xbf16>, %w_in: memref<32x8xbf16>, %cw: memref<16x4xbf16>,
    %cb: memref<16xbf16>, %wx: memref<10x16xbf16>, %wdt: memref<16x2xbf16>,
    %bdt: memref<16xf32>, %A: memref<16x4xf32>, %D: memref<16xf32>,
    %wo: memref<8x16xbf16>, %cs: memref<?x3x16xbf16>, %ss: memref<?x16x4xf32>,
    %b: !hssm.batch, %o: memref<?x8xbf16>) {
  hssm.history_branch <mamba1> x(%x : memref<?x8xbf16>)
      in_proj(%w_in : memref<32x8xbf16>)
      conv(%cw : memref<16x4xbf16>, %cb : memref<16xbf16>)
      x_proj(%wx : memref<10x16xbf16>)
      dt_proj(%wdt : memref<16x2xbf16>, %bdt : memref<16xf32>)
      A(%A : memref<16x4xf32>) D(%D : memref<16xf32>)
      out_proj(%wo : memref<8x16xbf16>)
      state(%cs : memref<?x3x16xbf16>, %ss : memref<?x16x4xf32>)
      batch(%b) out(%o : memref<?x8xbf16>) {pad_slot_id = 0}
  return
}

// Jamba's sizes (Hd 4096, D 8192, N 16, R 256, W 4): x_dbl is [T, 288] and
// delta_r, B and C are its columns [0, 256), [256, 272), [272, 288); the
// default pad_slot_id (-1) is passed on.
// CHECK-LABEL: func.func @mamba1_jamba(
// CHECK:      %[[XZ:.*]] = memref.alloc(%[[T:.*]]) : memref<?x16384xf32>
// CHECK-NEXT: hssm.linear x(%{{.*}} : memref<?x4096xbf16>) weight(%{{.*}} : memref<16384x4096xbf16>) out(%[[XZ]] : memref<?x16384xf32>)
// CHECK-NEXT: %[[XV:.*]] = memref.subview %[[XZ]][0, 0] [%[[T]], 8192] [1, 1] : memref<?x16384xf32> to memref<?x8192xf32, strided<[16384, 1]>>
// CHECK-NEXT: %[[ZV:.*]] = memref.subview %[[XZ]][0, 8192] [%[[T]], 8192] [1, 1] : memref<?x16384xf32> to memref<?x8192xf32, strided<[16384, 1], offset: 8192>>
// CHECK-NEXT: %[[XC:.*]] = memref.alloc(%[[T]]) : memref<?x8192xf32>
// CHECK-NEXT: hssm.conv_update x(%[[XV]] : {{.*}}) weight(%{{.*}} : memref<8192x4xbf16>) bias(%{{.*}} : memref<8192xbf16>) state(%{{.*}} : memref<4096x3x8192xbf16>) batch(%{{.*}}) out(%[[XC]] : memref<?x8192xf32>) {silu}{{$}}
// CHECK-NEXT: hssm.conv1d x(%[[XV]] : {{.*}}) out(%[[XC]] : memref<?x8192xf32>) {silu}{{$}}
// CHECK-NEXT: %[[XDBL:.*]] = memref.alloc(%[[T]]) : memref<?x288xf32>
// CHECK-NEXT: hssm.linear x(%[[XC]] : memref<?x8192xf32>) weight(%{{.*}} : memref<288x8192xbf16>) out(%[[XDBL]] : memref<?x288xf32>)
// CHECK-NEXT: %[[DTR:.*]] = memref.subview %[[XDBL]][0, 0] [%[[T]], 256] [1, 1] : memref<?x288xf32> to memref<?x256xf32, strided<[288, 1]>>
// CHECK-NEXT: %[[BV:.*]] = memref.subview %[[XDBL]][0, 256] [%[[T]], 16] [1, 1] : memref<?x288xf32> to memref<?x16xf32, strided<[288, 1], offset: 256>>
// CHECK-NEXT: %[[CV:.*]] = memref.subview %[[XDBL]][0, 272] [%[[T]], 16] [1, 1] : memref<?x288xf32> to memref<?x16xf32, strided<[288, 1], offset: 272>>
// CHECK-NEXT: %[[DT:.*]] = memref.alloc(%[[T]]) : memref<?x8192xf32>
// CHECK-NEXT: hssm.linear x(%[[DTR]] : memref<?x256xf32, strided<[288, 1]>>) weight(%{{.*}} : memref<8192x256xbf16>) out(%[[DT]] : memref<?x8192xf32>)
// CHECK-NEXT: %[[Y:.*]] = memref.alloc(%[[T]]) : memref<?x8192xf32>
// CHECK-NEXT: hssm.state_update u(%[[XC]] : memref<?x8192xf32>) delta(%[[DT]] : memref<?x8192xf32>) A(%{{.*}} : memref<8192x16xf32>) B(%[[BV]] : {{.*}}) C(%[[CV]] : {{.*}}) D(%{{.*}} : memref<8192xf32>) z(%[[ZV]] : {{.*}}) delta_bias(%{{.*}} : memref<8192xf32>) state(%{{.*}} : memref<4096x8192x16xf32>) batch(%{{.*}}) out(%[[Y]] : memref<?x8192xf32>) {delta_softplus}{{$}}
// CHECK-NEXT: hssm.selective_scan u(%[[XC]] : memref<?x8192xf32>) delta(%[[DT]] : memref<?x8192xf32>) {{.*}} out(%[[Y]] : memref<?x8192xf32>) {delta_softplus}{{$}}
// CHECK-NEXT: hssm.linear x(%[[Y]] : memref<?x8192xf32>) weight(%{{.*}} : memref<4096x8192xbf16>) out(%{{.*}} : memref<?x4096xbf16>)
// CHECK-COUNT-5: memref.dealloc
// CHECK-NEXT: return
func.func @mamba1_jamba(
    %x: memref<?x4096xbf16>, %w_in: memref<16384x4096xbf16>,
    %conv_w: memref<8192x4xbf16>, %conv_b: memref<8192xbf16>,
    %w_x: memref<288x8192xbf16>, %w_dt: memref<8192x256xbf16>,
    %b_dt: memref<8192xf32>, %A: memref<8192x16xf32>, %D: memref<8192xf32>,
    %w_out: memref<4096x8192xbf16>, %conv_state: memref<4096x3x8192xbf16>,
    %ssm_state: memref<4096x8192x16xf32>, %b: !hssm.batch,
    %out: memref<?x4096xbf16>) {
  hssm.history_branch <mamba1> x(%x : memref<?x4096xbf16>)
      in_proj(%w_in : memref<16384x4096xbf16>)
      conv(%conv_w : memref<8192x4xbf16>, %conv_b : memref<8192xbf16>)
      x_proj(%w_x : memref<288x8192xbf16>)
      dt_proj(%w_dt : memref<8192x256xbf16>, %b_dt : memref<8192xf32>)
      A(%A : memref<8192x16xf32>) D(%D : memref<8192xf32>)
      out_proj(%w_out : memref<4096x8192xbf16>)
      state(%conv_state : memref<4096x3x8192xbf16>,
            %ssm_state : memref<4096x8192x16xf32>)
      batch(%b) out(%out : memref<?x4096xbf16>)
  return
}

// prefix_sum: count is the batch's num_prefill_tokens (not its decode count,
// not T).
// CHECK-LABEL: func.func @prefix_sum(
// CHECK-SAME: %[[X:[a-zA-Z0-9_]+]]: memref<?x768xf32>
// CHECK-SAME: %[[ND:[a-zA-Z0-9_]+]]: index, %[[NP:[a-zA-Z0-9_]+]]: index, %[[NPT:[a-zA-Z0-9_]+]]: index
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x768xf32>)
// CHECK-NOT:  hssm.history_branch
// CHECK:      hssm.prefix_sum x(%[[X]] : memref<?x768xf32>) count(%[[NPT]]) out(%[[O]] : memref<?x768xf32>){{$}}
// CHECK-NOT:  hssm.history_branch
// CHECK:      return
func.func @prefix_sum(
    %x: memref<?x768xf32>, %w_in: memref<3072x768xf32>,
    %conv_w: memref<1536x4xf32>, %conv_b: memref<1536xf32>,
    %w_x: memref<80x1536xf32>, %w_dt: memref<1536x48xf32>,
    %b_dt: memref<1536xf32>, %A: memref<1536x16xf32>, %D: memref<1536xf32>,
    %w_out: memref<768x1536xf32>, %conv_state: memref<?x3x1536xf32>,
    %ssm_state: memref<?x1536x16xf32>, %qsl: memref<?xi32>,
    %slots: memref<?xi32>, %init: memref<?xi8>, %nd: index, %np: index,
    %npt: index, %out: memref<?x768xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%slots : memref<?xi32>)
      has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
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
  return
}

// zero: a fill of the output with zero of its element type.
// CHECK-LABEL: func.func @zero(
// CHECK-SAME: %[[O:[a-zA-Z0-9_]+]]: memref<?x768xf16>)
// CHECK-NOT:  hssm.history_branch
// CHECK:      %[[ZERO:.*]] = arith.constant 0.000000e+00 : f16
// CHECK-NEXT: linalg.fill ins(%[[ZERO]] : f16) outs(%[[O]] : memref<?x768xf16>)
// CHECK-NEXT: return
// DEV-LABEL: func.func @zero(
// DEV:       linalg.fill
// DEV-NOT:   gpu.alloc
func.func @zero(
    %x: memref<?x768xf16>, %w_in: memref<3072x768xf16>,
    %conv_w: memref<1536x4xf16>, %conv_b: memref<1536xf16>,
    %w_x: memref<80x1536xf16>, %w_dt: memref<1536x48xf16>,
    %b_dt: memref<1536xf32>, %A: memref<1536x16xf32>, %D: memref<1536xf32>,
    %w_out: memref<768x1536xf16>, %conv_state: memref<?x3x1536xf16>,
    %ssm_state: memref<?x1536x16xf16>, %b: !hssm.batch,
    %out: memref<?x768xf16>) {
  hssm.history_branch <zero> x(%x : memref<?x768xf16>)
      in_proj(%w_in : memref<3072x768xf16>)
      conv(%conv_w : memref<1536x4xf16>, %conv_b : memref<1536xf16>)
      x_proj(%w_x : memref<80x1536xf16>)
      dt_proj(%w_dt : memref<1536x48xf16>, %b_dt : memref<1536xf32>)
      A(%A : memref<1536x16xf32>) D(%D : memref<1536xf32>)
      out_proj(%w_out : memref<768x1536xf16>)
      state(%conv_state : memref<?x3x1536xf16>,
            %ssm_state : memref<?x1536x16xf16>)
      batch(%b) out(%out : memref<?x768xf16>)
  return
}

// The primitives themselves are left alone.
// CHECK-LABEL: func.func @primitives_untouched(
// CHECK-NEXT: hssm.combine swa(%{{.*}} : memref<?x768xf32>) ssm(%{{.*}} : memref<?x768xf32>) out(%{{.*}} : memref<?x768xf32>)
// CHECK-NEXT: return
func.func @primitives_untouched(%a: memref<?x768xf32>, %s: memref<?x768xf32>) {
  hssm.combine swa(%a : memref<?x768xf32>) ssm(%s : memref<?x768xf32>)
      out(%a : memref<?x768xf32>)
  return
}

// With gemm-inputs-in-activation-type, the temporaries that feed projections
// (conv output, x_proj output, scan output) are bf16 like the activations, so
// every projection multiplies operands of one type; in_proj's and dt_proj's
// outputs stay fp32.
// ACT-LABEL: func.func @mamba1(
// ACT: %[[XZ:.*]] = memref.alloc(%{{.*}}) : memref<?x32xf32>
// ACT: %[[XC:.*]] = memref.alloc(%{{.*}}) : memref<?x16xbf16>
// ACT: %[[XDBL:.*]] = memref.alloc(%{{.*}}) : memref<?x10xbf16>
// ACT: hssm.linear x(%[[XC]] : memref<?x16xbf16>) weight(%{{.*}} : memref<10x16xbf16>) out(%[[XDBL]] : memref<?x10xbf16>)
// ACT: %[[DT:.*]] = memref.alloc(%{{.*}}) : memref<?x16xf32>
// ACT: hssm.linear x(%{{.*}} : memref<?x2xbf16, strided<[10, 1]>>) weight(%{{.*}} : memref<16x2xbf16>) out(%[[DT]] : memref<?x16xf32>)
// ACT: %[[Y:.*]] = memref.alloc(%{{.*}}) : memref<?x16xbf16>
// ACT: hssm.linear x(%[[Y]] : memref<?x16xbf16>) weight(%{{.*}} : memref<8x16xbf16>)
