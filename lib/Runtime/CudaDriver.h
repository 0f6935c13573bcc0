//===- CudaDriver.h - The CUDA driver, loaded when first needed -*- C++ -*-===//
//
// The runtime calls the driver through this table, filled by dlopen of
// libcuda.so.1 on first use, instead of linking libcuda: programs that link
// the runtime (hssm-run, the JIT, the tests) then start on machines without
// a GPU driver, and report "no CUDA driver" only if they try to use one.
//
// Members are named after cuda.h's API macros, which map some names to
// versioned symbols (cuMemAlloc -> cuMemAlloc_v2): declaring and calling a
// member through the same macro keeps them consistent.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_LIB_RUNTIME_CUDADRIVER_H
#define HSSM_LIB_RUNTIME_CUDADRIVER_H

#include <cuda.h>

#include "hssm/Runtime/Status.h"

#include <string>

#define HSSM_CUDA_DRIVER_FUNCTIONS(X)                                          \
  X(cuGetErrorName)                                                            \
  X(cuGetErrorString)                                                          \
  X(cuInit)                                                                    \
  X(cuDeviceGet)                                                               \
  X(cuDeviceGetCount)                                                          \
  X(cuDeviceGetName)                                                           \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuCtxSetCurrent)                                                           \
  X(cuCtxSynchronize)                                                          \
  X(cuEventCreate)                                                             \
  X(cuEventDestroy)                                                            \
  X(cuEventRecord)                                                             \
  X(cuEventSynchronize)                                                        \
  X(cuEventElapsedTime)                                                        \
  X(cuFuncSetAttribute)                                                        \
  X(cuLaunchKernelEx)                                                          \
  X(cuMemAlloc)                                                                \
  X(cuMemAllocManaged)                                                         \
  X(cuMemAllocAsync)                                                           \
  X(cuMemFreeAsync)                                                            \
  X(cuDeviceGetDefaultMemPool)                                                 \
  X(cuMemPoolSetAttribute)                                                     \
  X(cuMemFree)                                                                 \
  X(cuMemcpyAsync)                                                             \
  X(cuMemcpyDtoH)                                                              \
  X(cuMemcpyHtoD)                                                              \
  X(cuMemcpyDtoD)                                                              \
  X(cuMemsetD16Async)                                                          \
  X(cuMemsetD32Async)                                                          \
  X(cuMemsetD8)                                                                \
  X(cuModuleGetFunction)                                                       \
  X(cuModuleLoadDataEx)                                                        \
  X(cuModuleUnload)                                                            \
  X(cuPointerGetAttribute)                                                     \
  X(cuStreamCreate)                                                            \
  X(cuStreamDestroy)                                                           \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamWaitEvent)                                                         \
  X(cuStreamBeginCapture)                                                      \
  X(cuStreamEndCapture)                                                        \
  X(cuGraphInstantiate)                                                        \
  X(cuGraphLaunch)                                                             \
  X(cuGraphDestroy)                                                            \
  X(cuGraphExecDestroy)

namespace hssm::cuda::detail {

// Pointer types first: a member may not share its name with a function it
// took its type from inside the class.
#define HSSM_POINTER_TYPE(name) using Pfn_##name = decltype(&name);
HSSM_CUDA_DRIVER_FUNCTIONS(HSSM_POINTER_TYPE)
#undef HSSM_POINTER_TYPE

struct Driver {
#define HSSM_DECLARE(name) Pfn_##name name = nullptr;
  HSSM_CUDA_DRIVER_FUNCTIONS(HSSM_DECLARE)
#undef HSSM_DECLARE
  /// Empty when loaded; else why the driver is unusable.
  std::string error;
};

/// The process's driver table, loaded once (thread-safe).
const Driver &driver();

/// Keeps `status` as the runtime's first error (for takeError) when it is a
/// failure: entry points called by compiled code report errors this way.
void recordError(const Status &status);

/// The stream being captured into a CUDA graph, or null. While it is set,
/// compiled code's streams all are this one and its synchronizations are
/// skipped (they would end the capture).
CUstream captureStream();

/// Does nothing; referencing it keeps the cuBLAS entry points
/// (CudaBlas.cpp) in programs, for compiled code to find at run time.
void keepBlasEntryPoints();

} // namespace hssm::cuda::detail

/// Calls driver function `name` through the table.
#define HSSM_CU(name) (::hssm::cuda::detail::driver().name)

#endif // HSSM_LIB_RUNTIME_CUDADRIVER_H
