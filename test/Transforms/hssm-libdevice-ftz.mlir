// RUN: hssm-opt %s -split-input-file -pass-pipeline='builtin.module(gpu.module(hssm-libdevice-ftz))' | FileCheck %s

// The GPU module tells libdevice to take its .ftz paths; the functions
// keep their own (IEEE) denormal mode.
// CHECK-LABEL: gpu.module @kernels
// CHECK:       llvm.func @kernel(%{{.*}}: f32) -> f32 {
// CHECK:       llvm.module_flags [#llvm.mlir.module_flag<override, "nvvm-reflect-ftz", 1 : i32>]
gpu.module @kernels {
  llvm.func @kernel(%x: f32) -> f32 {
    %0 = llvm.call @__nv_exp2f(%x) : (f32) -> f32
    llvm.return %0 : f32
  }
  llvm.func @__nv_exp2f(f32) -> f32
}

// -----

// Flags the module already has are left as they are.
// CHECK-LABEL: gpu.module @flagged
// CHECK:       llvm.module_flags [#llvm.mlir.module_flag<override, "nvvm-reflect-ftz", 0 : i32>]
// CHECK-NOT:   llvm.module_flags
gpu.module @flagged {
  llvm.func @kernel() {
    llvm.return
  }
  llvm.module_flags [#llvm.mlir.module_flag<override, "nvvm-reflect-ftz", 0 : i32>]
}
