// RUN: hssm-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(gpu.module(hssm-workgroup-allocas))' | FileCheck %s

// A kernel's allocas in workgroup memory become its workgroup attributions
// (one buffer per block), with the alloca's alignment or 16 bytes; other
// allocas, and functions that are not kernels, stay as they are.
// CHECK-LABEL: gpu.module @kernels
// CHECK:       gpu.func @scan(%[[OUT:.*]]: memref<4xf32>)
// CHECK-SAME:    workgroup(%[[ROWS:.*]] : memref<2x4xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64},
// CHECK-SAME:              %[[OWN:.*]] : memref<8xbf16, #gpu.address_space<workgroup>> {llvm.align = 4 : i64})
// CHECK-SAME:    kernel
// CHECK-NOT:     memref.alloca() {{.*}}workgroup
// CHECK:         %[[PRIV:.*]] = memref.alloca() : memref<4xf32>
// CHECK:         memref.store %{{.*}}, %[[ROWS]][%{{.*}}, %{{.*}}]
// CHECK:         gpu.barrier
// CHECK:         memref.load %[[ROWS]][%{{.*}}, %{{.*}}]
// CHECK:         memref.load %[[OWN]][%{{.*}}]
// CHECK-LABEL: gpu.func @helper(
// CHECK:         memref.alloca() : memref<4xf32, #gpu.address_space<workgroup>>
gpu.module @kernels {
  gpu.func @scan(%out: memref<4xf32>) kernel {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %f = arith.constant 1.0 : f32
    %rows = memref.alloca() : memref<2x4xf32, #gpu.address_space<workgroup>>
    %own = memref.alloca() {alignment = 4 : i64} : memref<8xbf16, #gpu.address_space<workgroup>>
    %priv = memref.alloca() : memref<4xf32>
    memref.store %f, %rows[%c0, %c1] : memref<2x4xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %v = memref.load %rows[%c0, %c1] : memref<2x4xf32, #gpu.address_space<workgroup>>
    %w = memref.load %own[%c0] : memref<8xbf16, #gpu.address_space<workgroup>>
    memref.store %v, %priv[%c0] : memref<4xf32>
    memref.store %v, %out[%c0] : memref<4xf32>
    gpu.return
  }
  gpu.func @helper() {
    %a = memref.alloca() : memref<4xf32, #gpu.address_space<workgroup>>
    gpu.return
  }
}

// -----

// Workgroup memory is sized when the kernel is compiled.
gpu.module @dynamic {
  gpu.func @kernel(%n: index) kernel {
    // expected-error @+1 {{workgroup memory needs a static shape and the identity layout, got 'memref<?xf32, #gpu.address_space<workgroup>>'}}
    %a = memref.alloca(%n) : memref<?xf32, #gpu.address_space<workgroup>>
    gpu.return
  }
}
