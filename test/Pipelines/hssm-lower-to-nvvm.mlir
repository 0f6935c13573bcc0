// The GPU pipeline, end to end to PTX (no GPU needed).
// RUN: hssm-opt %s --hssm-lower-to-nvvm | FileCheck %s
// RUN: hssm-opt %s --hssm-lower-to-nvvm="chip=sm_80 features=+ptx76 opt-level=1" | FileCheck %s --check-prefix=SM80

// The kernels before translation: one gpu.module per kernel, NVVM inside.
// RUN: hssm-opt %s --pass-pipeline="builtin.module(hssm-decompose{device-alloc=true},canonicalize,hssm-linear-to-call,hssm-lower-to-loops,func.func(convert-linalg-to-parallel-loops,scf-parallel-loop-tiling{parallel-loop-tile-sizes=1,128 no-min-max-bounds=true},gpu-map-parallel-loops,convert-parallel-loops-to-gpu),gpu-kernel-outlining,func.func(gpu-async-region),lower-affine,convert-scf-to-cf,nvvm-attach-target{chip=sm_90 features=+ptx80 O=3},gpu.module(convert-gpu-to-nvvm,reconcile-unrealized-casts))" | FileCheck %s --check-prefix=KERNELS

func.func @branch(%x: memref<?x16xf32>, %w_in: memref<128x16xf32>,
                  %cw: memref<64x4xf32>, %cb: memref<64xf32>,
                  %wx: memref<34x64xf32>, %wdt: memref<64x2xf32>,
                  %bdt: memref<64xf32>, %A: memref<64x16xf32>,
                  %D: memref<64xf32>, %wo: memref<16x64xf32>,
                  %cs: memref<?x3x64xbf16>, %ss: memref<?x64x16xbf16>,
                  %qsl: memref<?xi32>, %si: memref<?xi32>,
                  %init: memref<?xi8>, %nd: index, %np: index, %npt: index,
                  %o: memref<?x16xf32>) {
  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
      state_indices(%si : memref<?xi32>) has_initial_state(%init : memref<?xi8>)
      decodes(%nd, %nd) prefills(%np, %npt)
  hssm.history_branch <mamba1> x(%x : memref<?x16xf32>)
      in_proj(%w_in : memref<128x16xf32>)
      conv(%cw : memref<64x4xf32>, %cb : memref<64xf32>)
      x_proj(%wx : memref<34x64xf32>)
      dt_proj(%wdt : memref<64x2xf32>, %bdt : memref<64xf32>)
      A(%A : memref<64x16xf32>) D(%D : memref<64xf32>)
      out_proj(%wo : memref<16x64xf32>)
      state(%cs : memref<?x3x64xbf16>, %ss : memref<?x64x16xbf16>)
      batch(%b) out(%o : memref<?x16xf32>)
  return
}

// Host code: an LLVM function that launches the kernels and allocates the
// fp32 temporaries on the device through the runtime.
// CHECK: llvm.func private @hssm_linear_f32_f32_f32(
// CHECK: llvm.call @_mlir_ciface_hssm_linear_f32_f32_f32(
// CHECK-LABEL: llvm.func @branch(
// CHECK: llvm.call @mgpuStreamCreate()
// CHECK: llvm.call @mgpuMemAlloc(
// in_proj (f32 x f32) is a call of the runtime's cuBLAS wrapper (through
// its C-interface adapter, defined above).
// CHECK: llvm.call @hssm_linear_f32_f32_f32(
// Each kernel waits for the one before it in its first instructions and
// carries the name that tells the runtime to launch it programmatically
// (hssm-programmatic-launch).
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @branch_kernel::@branch_kernel__hssm_pdl blocks in
// The state update has two kernels: a run-time branch on the decode count
// gives batches of at most decode-scan-small-batch (16) rows the one with
// one row per thread, larger ones the one with decode-scan-rows (4).
// CHECK: %[[SMALL:[0-9]+]] = llvm.icmp "ule" %{{[a-z0-9]+}}, %{{[0-9]+}} : i64
// CHECK: llvm.cond_br %[[SMALL]], ^[[ONEROW:bb[0-9]+]], ^[[GROUPS:bb[0-9]+]]
// CHECK: ^[[ONEROW]]:
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @branch_kernel_1::@branch_kernel__hssm_pdl
// CHECK: ^[[GROUPS]]:
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @branch_kernel_2::@branch_kernel__hssm_pdl
// The selective scan (staged lane scan) has two kernels too: a run-time
// branch on the prefill count gives one prefill row the one that takes a
// step's token groups diagonally, more rows the one that takes them phase
// by phase. Each has its rows on the grid's z and a row's blocks (here
// one) on x, threads on x as in the other kernels (channel-major):
// CHECK: %[[FEW:[0-9]+]] = llvm.icmp "ule" %{{[a-z0-9]+}}, %[[ONE:[0-9]+]] : i64
// CHECK: llvm.cond_br %[[FEW]], ^[[DIAG:bb[0-9]+]], ^[[PHASES:bb[0-9]+]]
// CHECK: ^[[DIAG]]:
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @branch_kernel_3::@branch_kernel__hssm_pdl blocks in (%[[ONE]], %[[ONE]], %{{[0-9]+}}) threads in (%{{[0-9]+}}, %[[ONE]], %[[ONE]])
// CHECK: ^[[PHASES]]:
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @branch_kernel_4::@branch_kernel__hssm_pdl blocks in (%[[ONE]], %[[ONE]], %{{[0-9]+}}) threads in (%{{[0-9]+}}, %[[ONE]], %[[ONE]])
// CHECK: llvm.call @mgpuMemFree(
// CHECK: llvm.call @mgpuStreamSynchronize(
// Six kernels: conv_update, the chunked conv1d (its state written by each
// row's first chunk), state_update (two: small and large batches) and the
// selective_scan (two: one prefill row, more), one pass with each channel's
// states split across 2 lanes that exchange values by shuffles (the four f32 projections are
// cuBLAS calls); each a PTX binary for sm_90 with its entry, the scans using
// the exp2 unit through libdevice's flush-to-zero path, and bf16 states read
// 16 bytes at a time (eight conv channels, or half an SSM state row of
// N = 16).
// CHECK-DAG: gpu.binary @branch_kernel  [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80", link = [{{.*}}libdevice.10.bc"]>, properties = {{.*}}, assembly = "{{.*}}.target sm_90
// CHECK-DAG: .visible .entry branch_kernel__hssm_pdl(
// CHECK-DAG: griddepcontrol.launch_dependents;
// CHECK-DAG: griddepcontrol.wait;
// CHECK-DAG: gpu.binary @branch_kernel_2  [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80"
// CHECK-DAG: ex2.approx.ftz.f32
// CHECK-DAG: shfl.sync.idx.b32 \09%r{{[0-9]+}}, %r{{[0-9]+}}, %r{{[0-9]+}}, 31, -1;
// CHECK-DAG: shfl.sync.bfly.b32 \09%r{{[0-9]+}}, %r{{[0-9]+}}, {{[12]}}, 31, -1;
// CHECK-DAG: ld.global.v4.b32
// The lane scan's block stages each step's B and C (f32) and delta, u, z
// in shared memory: 16-byte aligned buffers, one barrier per step, B and C
// read as 16-byte vectors.
// CHECK-DAG: .shared .align 16 .b8 __wg_branch_kernel{{[_0-9a-z]*}}[4096];
// CHECK-DAG: bar.sync \090;
// CHECK-DAG: ld.shared.v4.b32
// CHECK-NOT: gpu.binary @branch_kernel_5

// SM80: #nvvm.target<O = 1, chip = "sm_80", features = "+ptx76"
// SM80: .target sm_80
// SM80-NOT: griddepcontrol

// KERNELS-LABEL: gpu.module @branch_kernel
// KERNELS: llvm.func @branch_kernel(
// KERNELS-SAME: gpu.kernel
// KERNELS: nvvm.read.ptx.sreg.ctaid.x
// KERNELS: nvvm.read.ptx.sreg.tid.x
// KERNELS-LABEL: gpu.module @branch_kernel_2
// KERNELS: llvm.call @__nv_expf
// KERNELS: llvm.intr.vector.reduce.fadd
