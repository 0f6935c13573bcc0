//===- Cuda.h - The CUDA driver half of the hssm runtime --------*- C++ -*-===//
//
// Device 0 through the CUDA driver API only (no cudart, no LLVM): one
// process-wide primary context, checked device-memory helpers, and the
// `mgpu*` entry points that host code produced by MLIR's gpu-to-llvm lowering
// calls. Those entry points cannot return errors, so each records the first
// failure for takeError() to report.
//
// No CUDA header is needed to use this one: device pointers are `void *`.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_RUNTIME_CUDA_H
#define HSSM_RUNTIME_CUDA_H

#include "hssm/Runtime/Args.h"
#include "hssm/Runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace hssm {
namespace cuda {

/// Initializes the driver, retains device 0's primary context and makes it
/// current on the calling thread. Idempotent and thread-safe: the first call
/// does the work, later calls return its result (and make the context current
/// on threads that have not used it yet).
Status init();

/// Whether a device exists and init() succeeds.
bool available();

/// The name of device 0, or an empty string if init() fails.
std::string deviceName();

/// Device memory of device 0. A zero-byte allocation yields null, and
/// releasing null does nothing.
Status allocate(size_t bytes, void **ptr);
Status release(void *ptr);
Status copyToDevice(void *dst, const void *src, size_t bytes);
Status copyToHost(void *dst, const void *src, size_t bytes);
Status memsetZero(void *ptr, size_t bytes);

/// Waits for all work of the context.
Status synchronize();

/// Returns the first error recorded by the `mgpu*` entry points since the
/// last call, and forgets it; success if none was recorded. The record is
/// process-wide, not per thread.
Status takeError();

/// Wraps an invoker that takes device buffers into one that takes host
/// buffers: each Buffer argument is copied to a fresh device buffer, the
/// device invoker runs on those, and after a synchronize every buffer is
/// copied back (pools and outputs are written in place, so all of them),
/// then freed. Integers pass through; zero-element buffers pass as null.
/// Returns the first error.
Invoker mirrorToDevice(Invoker deviceInvoker);

/// Host buffers that live on the device across calls (weights, the state
/// pool): uploaded once by add(); mirrorToDevice passes their device copies
/// instead of copying them in and out around every call.
class DeviceResidents {
public:
  DeviceResidents() = default;
  DeviceResidents(const DeviceResidents &) = delete;
  DeviceResidents &operator=(const DeviceResidents &) = delete;
  ~DeviceResidents();
  /// Uploads `host` and keeps it on the device, keyed by its host pointer.
  Status add(const Buffer &host);
  /// Registers memory that already lives on the device (a DevicePool's
  /// buffers), so that mirrorToDevice passes it through as is instead of
  /// taking it for host memory. Not owned; download() refuses it.
  Status addOnDevice(const Buffer &device);
  /// Copies the device contents back into the host buffer `host`.
  Status download(const Buffer &host) const;
  /// The device copy of the buffer at `host`, or null.
  void *find(const void *host) const;

private:
  struct Entry {
    void *device;
    size_t bytes;
    bool owned = true;
  };
  std::vector<std::pair<const void *, Entry>> entries;
};

/// A CUDA graph of work done by compiled code: capture() runs `body` (e.g.
/// an artifact's Invoker on device buffers) with every stream of the
/// compiled code redirected to one capturing stream and its synchronizations
/// skipped; replay() launches the whole step at once. The buffers and the
/// batch metadata the body used must stay at the same addresses (update
/// their contents, not the pointers) between replays.
class Graph {
public:
  static Status capture(const std::function<Status()> &body,
                        std::unique_ptr<Graph> &out);
  ~Graph();
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;
  /// Launches the graph and waits for it.
  Status replay();
  /// Launches the graph without waiting (for timing back-to-back replays).
  Status launch();
  /// The stream replays run on (as a CUstream).
  void *replayStream() const { return stream; }

private:
  Graph() = default;
  void *stream = nullptr;
  void *graph = nullptr;
  void *exec = nullptr;
};

/// mirrorToDevice that leaves `residents` on the device.
Invoker mirrorToDevice(Invoker deviceInvoker,
                       std::shared_ptr<DeviceResidents> residents);

} // namespace cuda
} // namespace hssm

/// Compiled code (an artifact loaded with dlopen) resolves the entry points
/// below against the executable, so they stay visible even in builds with
/// -fvisibility=hidden.
#define HSSM_RUNTIME_EXPORT __attribute__((visibility("default")))

/// The runtime functions MLIR 22's gpu-to-llvm lowering and gpu.binary
/// translation call, with exactly its signatures (see CudaRuntime.cpp).
/// Streams, events, modules and functions are the driver's handles.
extern "C" {
HSSM_RUNTIME_EXPORT void *mgpuStreamCreate();
HSSM_RUNTIME_EXPORT void mgpuStreamDestroy(void *stream);
HSSM_RUNTIME_EXPORT void mgpuStreamSynchronize(void *stream);
HSSM_RUNTIME_EXPORT void mgpuStreamWaitEvent(void *stream, void *event);
HSSM_RUNTIME_EXPORT void *mgpuEventCreate();
HSSM_RUNTIME_EXPORT void mgpuEventDestroy(void *event);
HSSM_RUNTIME_EXPORT void mgpuEventSynchronize(void *event);
HSSM_RUNTIME_EXPORT void mgpuEventRecord(void *event, void *stream);
HSSM_RUNTIME_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes, void *stream,
                                       bool isHostShared);
HSSM_RUNTIME_EXPORT void mgpuMemFree(void *ptr, void *stream);
HSSM_RUNTIME_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                                    void *stream);
HSSM_RUNTIME_EXPORT void mgpuMemset32(void *dst, unsigned int value,
                                      size_t count, void *stream);
HSSM_RUNTIME_EXPORT void mgpuMemset16(void *dst, unsigned short value,
                                      size_t count, void *stream);
HSSM_RUNTIME_EXPORT void *mgpuModuleLoad(void *data, size_t gpuBlobSize);
HSSM_RUNTIME_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel);
HSSM_RUNTIME_EXPORT void mgpuModuleUnload(void *module);
HSSM_RUNTIME_EXPORT void *mgpuModuleGetFunction(void *module, const char *name);
HSSM_RUNTIME_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                          intptr_t gridY, intptr_t gridZ,
                                          intptr_t blockX, intptr_t blockY,
                                          intptr_t blockZ, int32_t smem,
                                          void *stream, void **params,
                                          void **extra, size_t paramsCount);
}

#endif // HSSM_RUNTIME_CUDA_H
