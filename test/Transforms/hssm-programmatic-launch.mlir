// RUN: hssm-opt %s -hssm-programmatic-launch | FileCheck %s

// Kernels start with launch_dependents and wait, before any other
// operation, and get the suffix that tells the runtime to launch them
// programmatically; their launches follow the new name. Non-kernel
// functions keep their names and bodies.

module attributes {gpu.container_module} {
  // CHECK-LABEL: func.func @host(
  // CHECK: gpu.launch_func @kernels::@k__hssm_pdl
  // CHECK: gpu.launch_func @kernels::@k__hssm_pdl
  // CHECK: gpu.launch_func @other::@k__hssm_pdl
  func.func @host(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @other::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
  gpu.module @kernels {
    // CHECK-LABEL: gpu.func @k__hssm_pdl(
    // CHECK-SAME: kernel
    // CHECK-NEXT: nvvm.griddepcontrol launch_dependents
    // CHECK-NEXT: nvvm.griddepcontrol wait
    // CHECK-NEXT: arith.constant
    // CHECK-NEXT: memref.load
    gpu.func @k(%a: memref<4xf32>) kernel {
      %c0 = arith.constant 0 : index
      %v = memref.load %a[%c0] : memref<4xf32>
      memref.store %v, %a[%c0] : memref<4xf32>
      gpu.return
    }
    // CHECK-LABEL: gpu.func @helper(
    // CHECK-NOT: griddepcontrol
    // CHECK: gpu.return
    gpu.func @helper(%a: memref<4xf32>) {
      gpu.return
    }
  }
  // A kernel with its own wait (after hints that read nothing a kernel
  // before it writes) keeps it and gets no second one.
  // CHECK-LABEL: gpu.func @own__hssm_pdl(
  // CHECK-NEXT: nvvm.griddepcontrol launch_dependents
  // CHECK-NEXT: arith.constant
  // CHECK-NEXT: nvvm.griddepcontrol wait
  // CHECK-NOT: nvvm.griddepcontrol
  // CHECK: gpu.return
  gpu.module @own {
    gpu.func @own() kernel {
      %c0 = arith.constant 0 : index
      nvvm.griddepcontrol wait
      gpu.return
    }
  }
  gpu.module @other {
    // CHECK-LABEL: gpu.func @k__hssm_pdl(
    // CHECK-NEXT: nvvm.griddepcontrol launch_dependents
    // CHECK-NEXT: nvvm.griddepcontrol wait
    gpu.func @k() kernel {
      gpu.return
    }
  }
}
