// Ahead-of-time artifacts: a shared object exporting the packed entry point
// and the signature, its kernels as PTX, its GPU calls left to the runtime.
// RUN: hssm-compile %s -o %t.so && llvm-nm -D %t.so | FileCheck %s --check-prefix=SO
// RUN: hssm-compile %s --emit=llvm -o - | FileCheck %s --check-prefix=IR
// RUN: hssm-compile %s --target=cpu -o %t.cpu.so && llvm-nm -D %t.cpu.so | FileCheck %s --check-prefix=CPU
// RUN: not hssm-compile %s --target=rocm -o %t.x 2>&1 | FileCheck %s --check-prefix=BAD

func.func @scale(%a: memref<?x8xf32>, %b: memref<?x8xf32>,
                 %o: memref<?x8xf32>) {
  hssm.combine swa(%a : memref<?x8xf32>) ssm(%b : memref<?x8xf32>)
      out(%o : memref<?x8xf32>)
  return
}

// SO-DAG: T hssm_packed_scale
// SO-DAG: R hssm_signature_scale
// SO-DAG: U mgpuLaunchKernel
// SO-DAG: U mgpuModuleLoadJIT

// The runtime's mgpu* functions must keep exactly these MLIR 22 signatures
// (lib/Runtime/CudaRuntime.cpp implements them).
// IR-DAG: @hssm_signature_scale = {{.*}}constant [{{[0-9]+}} x i8] c"m:f32:?x8;m:f32:?x8;m:f32:?x8\00"
// IR-DAG: define void @hssm_packed_scale(ptr {{.*}})
// IR-DAG: declare ptr @mgpuStreamCreate()
// IR-DAG: declare void @mgpuStreamSynchronize(ptr)
// IR-DAG: declare void @mgpuStreamDestroy(ptr)
// IR-DAG: declare ptr @mgpuModuleLoadJIT(ptr, i32)
// IR-DAG: declare void @mgpuModuleUnload(ptr)
// IR-DAG: declare ptr @mgpuModuleGetFunction(ptr, ptr)
// IR-DAG: declare void @mgpuLaunchKernel(ptr, i64, i64, i64, i64, i64, i64, i32, ptr, ptr, ptr, i64)
// IR-DAG: @llvm.global_ctors

// CPU-DAG: T hssm_packed_scale
// CPU-DAG: R hssm_signature_scale
// CPU-NOT: mgpu

// BAD: hssm-compile: --target must be cpu or cuda, got 'rocm'
