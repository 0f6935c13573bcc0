// RUN: hssm-opt %s -pass-pipeline="builtin.module(gpu.module(hssm-kernel-occupancy{min-blocks-per-sm=6 block-threads=128}))" | FileCheck %s
// RUN: hssm-opt %s -pass-pipeline="builtin.module(gpu.module(hssm-kernel-occupancy))" | FileCheck %s --check-prefix=NONE
// RUN: not hssm-opt %s -pass-pipeline="builtin.module(gpu.module(hssm-kernel-occupancy{min-blocks-per-sm=6}))" 2>&1 | FileCheck %s --check-prefix=ERR

// Kernels get .maxntid (the block size) and .minnctapersm (the blocks an SM
// should hold); other functions of the module do not.

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // CHECK-LABEL: gpu.func @k(
    // CHECK-SAME: kernel
    // CHECK-SAME: nvvm.maxntid = array<i32: 128, 1, 1>
    // CHECK-SAME: nvvm.minctasm = 6 : i32
    // NONE-LABEL: gpu.func @k(
    // NONE-NOT: nvvm.
    gpu.func @k(%a: memref<4xf32>) kernel {
      gpu.return
    }
    // CHECK-LABEL: gpu.func @helper(
    // CHECK-NOT: nvvm.
    gpu.func @helper(%a: memref<4xf32>) {
      gpu.return
    }
  }
}

// ERR: hssm-kernel-occupancy: block-threads must be positive with min-blocks-per-sm, got 0
