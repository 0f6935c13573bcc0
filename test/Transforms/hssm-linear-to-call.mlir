// RUN: hssm-opt %s -hssm-linear-to-call | FileCheck %s

// Same-type operands become one declared runtime GEMM per type triple, with
// the C interface, operands cast to fully dynamic strided memrefs.
// CHECK-DAG: func.func private @hssm_linear_bf16_bf16_f32(memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, i32) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @hssm_linear_f32_f32_f32(

// CHECK-LABEL: func.func @projections(
// CHECK-SAME: %[[X:[a-z0-9_]+]]: memref<?x16xbf16>, %[[W:[a-z0-9_]+]]: memref<32x16xbf16>, %[[O:[a-z0-9_]+]]: memref<?x32xf32>
func.func @projections(%x: memref<?x16xbf16>, %w: memref<32x16xbf16>,
                       %o: memref<?x32xf32>, %y: memref<?x32xf32>,
                       %w2: memref<8x32xf32>, %o2: memref<?x8xf32>,
                       %w3: memref<8x32xbf16>, %b: memref<8xf32>) {
  // CHECK-DAG: %[[CX:.*]] = memref.cast %[[X]] : memref<?x16xbf16> to memref<?x?xbf16, strided<[?, ?], offset: ?>>
  // CHECK-DAG: %[[CW:.*]] = memref.cast %[[W]] : memref<32x16xbf16> to memref<?x?xbf16, strided<[?, ?], offset: ?>>
  // CHECK-DAG: %[[CO:.*]] = memref.cast %[[O]] : memref<?x32xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
  // CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i32
  // CHECK: call @hssm_linear_bf16_bf16_f32(%[[CX]], %[[CW]], %[[CO]], %[[ZERO]])
  hssm.linear x(%x : memref<?x16xbf16>) weight(%w : memref<32x16xbf16>)
      out(%o : memref<?x32xf32>)
  // accumulate (the combine folded into out_proj) passes 1.
  // CHECK: %[[ONE:.*]] = arith.constant 1 : i32
  // CHECK: call @hssm_linear_f32_f32_f32({{.*}}, %[[ONE]])
  hssm.linear x(%y : memref<?x32xf32>) weight(%w2 : memref<8x32xf32>)
      out(%o2 : memref<?x8xf32>) {accumulate}
  // Mixed operand types and biases stay for the loop lowering.
  // CHECK: hssm.linear x(%{{.*}} : memref<?x32xf32>) weight(%{{.*}} : memref<8x32xbf16>)
  hssm.linear x(%y : memref<?x32xf32>) weight(%w3 : memref<8x32xbf16>)
      out(%o2 : memref<?x8xf32>)
  // CHECK: hssm.linear {{.*}} bias(
  hssm.linear x(%y : memref<?x32xf32>) weight(%w2 : memref<8x32xf32>)
      bias(%b : memref<8xf32>) out(%o2 : memref<?x8xf32>)
  return
}
