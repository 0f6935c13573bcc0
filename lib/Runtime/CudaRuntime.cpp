//===- CudaRuntime.cpp - Context, memory and mgpu* entry points -----------===//
//
// The `mgpu*` functions at the end of this file are called by host code that
// MLIR 22's gpu-to-llvm lowering and gpu.binary translation emit (module
// loads from global constructors, launches, streams, allocations). Their
// signatures must match MLIR 22's exactly: a mismatch is not diagnosed by any
// compiler or linker and corrupts arguments at run time. A test pins them
// against the LLVM IR that MLIR 22 emits.
//
// Compiled code ignores what these functions return, so instead of printing
// or aborting they record the first failure, with the driver call and the
// CUDA error named, for cuda::takeError() to hand back to the caller.
//
//===----------------------------------------------------------------------===//

#include "hssm/Runtime/Cuda.h"
#include "hssm/Runtime/LaunchConventions.h"

#include "CudaDriver.h"

#include <atomic>
#include <climits>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <vector>

using namespace hssm;

namespace {

/// The process-wide context of device 0. Function-local so that it is
/// initialized before use even from other translation units' global
/// constructors (compiled code loads its modules from those).
struct ContextState {
  std::mutex mutex;
  bool tried = false;
  Status status;
  CUdevice device = 0;
  CUcontext context = nullptr;
};

ContextState &contextState() {
  // Never destroyed: global destructors of compiled code still unload modules.
  static ContextState *state = new ContextState();
  return *state;
}

/// The first failure of an mgpu* entry point since the last takeError().
struct ErrorRecord {
  std::mutex mutex;
  std::optional<std::string> first;
};

ErrorRecord &errorRecord() {
  static ErrorRecord *record = new ErrorRecord();
  return *record;
}

/// The kernels to launch with programmatic stream serialization (their names
/// say that they wait for the kernel before them). Each lookup of a kernel
/// records its name's verdict, so a handle that the driver reuses for
/// another module's kernel is not taken for the old one.
struct ProgrammaticKernels {
  std::mutex mutex;
  std::unordered_set<CUfunction> functions;
  void record(CUfunction f, bool waits) {
    std::lock_guard<std::mutex> lock(mutex);
    if (waits)
      functions.insert(f);
    else
      functions.erase(f);
  }
  bool contains(CUfunction f) {
    std::lock_guard<std::mutex> lock(mutex);
    return functions.count(f) != 0;
  }
};

ProgrammaticKernels &programmaticKernels() {
  static ProgrammaticKernels *kernels = new ProgrammaticKernels();
  return *kernels;
}

/// The context this thread last made current, so that the hot path (a launch)
/// does not call cuCtxSetCurrent every time.
thread_local CUcontext currentOnThread = nullptr;

} // namespace

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
static std::string describe(CUresult result) {
  const char *name = nullptr;
  const char *text = nullptr;
  if (HSSM_CU(cuGetErrorName)(result, &name) != CUDA_SUCCESS || !name)
    return "CUresult " + std::to_string(static_cast<int>(result)) +
           " (unknown error code)";
  if (HSSM_CU(cuGetErrorString)(result, &text) != CUDA_SUCCESS || !text)
    text = "no description";
  return std::string(name) + " (" + text + ")";
}

/// The error for a failed driver call; `call` names it with its arguments.
static Status failure(const std::string &call, CUresult result) {
  return Status::error(call + " failed: " + describe(result));
}

/// Keeps `s` if it is the first failure since the last take; returns s.ok().
static bool note(const Status &s) {
  if (s.ok())
    return true;
  ErrorRecord &record = errorRecord();
  std::lock_guard<std::mutex> lock(record.mutex);
  if (!record.first)
    record.first = s.message();
  return false;
}

void cuda::detail::recordError(const Status &status) { note(status); }

static Status initOnce(ContextState &state) {
  if (!cuda::detail::driver().error.empty())
    return Status::error(cuda::detail::driver().error);
  if (CUresult r = HSSM_CU(cuInit)(0))
    return failure("cuInit", r);
  int count = 0;
  if (CUresult r = HSSM_CU(cuDeviceGetCount)(&count))
    return failure("cuDeviceGetCount", r);
  if (count == 0)
    return Status::error("no CUDA device found");
  if (CUresult r = HSSM_CU(cuDeviceGet)(&state.device, 0))
    return failure("cuDeviceGet(0)", r);
  // The primary context is the one cuBLAS and any cudart code in the process
  // share. It is retained for the life of the process on purpose: compiled
  // code unloads its modules from global destructors.
  if (CUresult r = HSSM_CU(cuDevicePrimaryCtxRetain)(&state.context, state.device))
    return failure("cuDevicePrimaryCtxRetain(device 0)", r);
  // Temporaries of compiled code come from the stream-ordered pool; keep
  // freed memory in it across synchronizations, so that a step's
  // allocations are served from the pool instead of the OS.
  CUmemoryPool pool;
  if (HSSM_CU(cuDeviceGetDefaultMemPool)(&pool, state.device) == CUDA_SUCCESS) {
    cuuint64_t keep = ~cuuint64_t(0);
    (void)HSSM_CU(cuMemPoolSetAttribute)(
        pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep);
  }
  return Status::success();
}

Status cuda::init() {
  // Pulls CudaBlas.o (the GEMM entry points compiled code calls) into every
  // program linking this static library.
  detail::keepBlasEntryPoints();
  ContextState &state = contextState();
  CUcontext context;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (!state.tried) {
      state.tried = true;
      state.status = initOnce(state);
    }
    if (!state.status.ok())
      return state.status;
    context = state.context;
  }
  // A context is current per thread; each new thread needs it set.
  if (currentOnThread != context) {
    if (CUresult r = HSSM_CU(cuCtxSetCurrent)(context))
      return failure("cuCtxSetCurrent", r);
    currentOnThread = context;
  }
  return Status::success();
}

bool cuda::available() { return init().ok(); }

std::string cuda::deviceName() {
  if (!init().ok())
    return "";
  char name[256] = {};
  if (HSSM_CU(cuDeviceGetName)(name, sizeof(name), contextState().device) !=
      CUDA_SUCCESS)
    return "";
  return name;
}

static CUdeviceptr devicePtr(const void *ptr) {
  return reinterpret_cast<CUdeviceptr>(ptr);
}

Status cuda::allocate(size_t bytes, void **ptr) {
  *ptr = nullptr;
  if (bytes == 0)
    return Status::success();
  if (Status s = init(); !s.ok())
    return s;
  CUdeviceptr dptr = 0;
  if (CUresult r = HSSM_CU(cuMemAlloc)(&dptr, bytes))
    return failure("cuMemAlloc(" + std::to_string(bytes) + " bytes)", r);
  *ptr = reinterpret_cast<void *>(dptr);
  return Status::success();
}

Status cuda::release(void *ptr) {
  if (!ptr)
    return Status::success();
  if (Status s = init(); !s.ok())
    return s;
  if (CUresult r = HSSM_CU(cuMemFree)(devicePtr(ptr)))
    return failure("cuMemFree", r);
  return Status::success();
}

Status cuda::copyToDevice(void *dst, const void *src, size_t bytes) {
  if (bytes == 0)
    return Status::success();
  if (Status s = init(); !s.ok())
    return s;
  if (CUresult r = HSSM_CU(cuMemcpyHtoD)(devicePtr(dst), src, bytes))
    return failure("cuMemcpyHtoD(" + std::to_string(bytes) + " bytes)", r);
  return Status::success();
}

Status cuda::copyToHost(void *dst, const void *src, size_t bytes) {
  if (bytes == 0)
    return Status::success();
  if (Status s = init(); !s.ok())
    return s;
  if (CUresult r = HSSM_CU(cuMemcpyDtoH)(dst, devicePtr(src), bytes))
    return failure("cuMemcpyDtoH(" + std::to_string(bytes) + " bytes)", r);
  return Status::success();
}

Status cuda::memsetZero(void *ptr, size_t bytes) {
  if (bytes == 0)
    return Status::success();
  if (Status s = init(); !s.ok())
    return s;
  if (CUresult r = HSSM_CU(cuMemsetD8)(devicePtr(ptr), 0, bytes))
    return failure("cuMemsetD8(" + std::to_string(bytes) + " bytes)", r);
  return Status::success();
}

Status cuda::synchronize() {
  if (Status s = init(); !s.ok())
    return s;
  if (CUresult r = HSSM_CU(cuCtxSynchronize)())
    return failure("cuCtxSynchronize", r);
  return Status::success();
}

Status cuda::takeError() {
  ErrorRecord &record = errorRecord();
  std::lock_guard<std::mutex> lock(record.mutex);
  if (!record.first)
    return Status::success();
  Status s = Status::error(std::move(*record.first));
  record.first.reset();
  return s;
}

//===----------------------------------------------------------------------===//
// The mgpu* entry points of MLIR 22 (see the top of the file).
//===----------------------------------------------------------------------===//

/// Records a failed driver call; returns whether `result` is success.
static bool noteCall(CUresult result, const char *call) {
  if (result == CUDA_SUCCESS)
    return true;
  return note(failure(call, result));
}

static CUstream asStream(void *stream) { return static_cast<CUstream>(stream); }

/// Streams handed back by compiled code, reused by the next create: host
/// code makes and destroys streams around every launch group, and creating
/// one costs microseconds. Work left on a reused stream stays ordered before
/// new work, so reuse is safe.
static std::mutex streamPoolMutex;
static std::vector<CUstream> &streamPool() {
  static auto *pool = new std::vector<CUstream>; // outlives static dtors
  return *pool;
}

/// Set while cuda::Graph::capture runs its body.
static std::atomic<CUstream> capturing{nullptr};

CUstream cuda::detail::captureStream() { return capturing.load(); }

extern "C" void *mgpuStreamCreate() {
  if (!note(cuda::init()))
    return nullptr;
  // Everything compiled code does during a capture goes on the one stream.
  if (CUstream capture = capturing.load())
    return capture;
  {
    std::lock_guard<std::mutex> lock(streamPoolMutex);
    if (!streamPool().empty()) {
      CUstream stream = streamPool().back();
      streamPool().pop_back();
      return stream;
    }
  }
  CUstream stream = nullptr;
  if (!noteCall(HSSM_CU(cuStreamCreate)(&stream, CU_STREAM_DEFAULT),
                "cuStreamCreate"))
    return nullptr;
  return stream;
}

extern "C" void mgpuStreamDestroy(void *stream) {
  if (!stream || asStream(stream) == capturing.load())
    return;
  std::lock_guard<std::mutex> lock(streamPoolMutex);
  streamPool().push_back(asStream(stream));
}

extern "C" void mgpuStreamSynchronize(void *stream) {
  // A synchronization would end a capture; the graph's launch orders it.
  if (capturing.load())
    return;
  // Kernel faults surface here, at the first synchronization after them.
  if (note(cuda::init()))
    noteCall(HSSM_CU(cuStreamSynchronize)(asStream(stream)), "cuStreamSynchronize");
}

extern "C" void mgpuStreamWaitEvent(void *stream, void *event) {
  if (note(cuda::init()))
    noteCall(
        HSSM_CU(cuStreamWaitEvent)(asStream(stream), static_cast<CUevent>(event), 0),
        "cuStreamWaitEvent");
}

extern "C" void *mgpuEventCreate() {
  CUevent event = nullptr;
  if (!note(cuda::init()) ||
      !noteCall(HSSM_CU(cuEventCreate)(&event, CU_EVENT_DISABLE_TIMING),
                "cuEventCreate"))
    return nullptr;
  return event;
}

extern "C" void mgpuEventDestroy(void *event) {
  if (event && note(cuda::init()))
    noteCall(HSSM_CU(cuEventDestroy)(static_cast<CUevent>(event)), "cuEventDestroy");
}

extern "C" void mgpuEventSynchronize(void *event) {
  if (capturing.load())
    return;
  if (note(cuda::init()))
    noteCall(HSSM_CU(cuEventSynchronize)(static_cast<CUevent>(event)),
             "cuEventSynchronize");
}

extern "C" void mgpuEventRecord(void *event, void *stream) {
  if (note(cuda::init()))
    noteCall(HSSM_CU(cuEventRecord)(static_cast<CUevent>(event), asStream(stream)),
             "cuEventRecord");
}

extern "C" void *mgpuMemAlloc(uint64_t sizeBytes, void *stream,
                              bool isHostShared) {
  // A zero-size gpu.alloc is legal (an empty batch) and needs no memory.
  if (sizeBytes == 0 || !note(cuda::init()))
    return nullptr;
  CUdeviceptr ptr = 0;
  // Stream-ordered allocation when the caller gives a stream (the async
  // host code does): no device-wide synchronization, memory from the pool.
  const char *call = isHostShared ? "cuMemAllocManaged("
                     : stream     ? "cuMemAllocAsync("
                                  : "cuMemAlloc(";
  CUresult r =
      isHostShared
          ? HSSM_CU(cuMemAllocManaged)(&ptr, sizeBytes, CU_MEM_ATTACH_GLOBAL)
      : stream ? HSSM_CU(cuMemAllocAsync)(&ptr, sizeBytes, asStream(stream))
               : HSSM_CU(cuMemAlloc)(&ptr, sizeBytes);
  if (r != CUDA_SUCCESS) {
    note(failure(std::string(call) + std::to_string(sizeBytes) + " bytes)", r));
    return nullptr;
  }
  return reinterpret_cast<void *>(ptr);
}

extern "C" void mgpuMemFree(void *ptr, void *stream) {
  if (!ptr || !note(cuda::init()))
    return;
  // Stream-ordered memory goes back on its stream. Without a stream (or if
  // the driver refuses, e.g. for memory that was not stream-ordered),
  // cuMemFree waits for the work using it, as MLIR's own wrappers do.
  if (stream) {
    CUresult r = HSSM_CU(cuMemFreeAsync)(devicePtr(ptr), asStream(stream));
    if (r == CUDA_SUCCESS)
      return;
  }
  noteCall(HSSM_CU(cuMemFree)(devicePtr(ptr)), "cuMemFree");
}

extern "C" void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                           void *stream) {
  if (sizeBytes == 0 || !note(cuda::init()))
    return;
  if (CUresult r = HSSM_CU(cuMemcpyAsync)(devicePtr(dst), devicePtr(src), sizeBytes,
                                 asStream(stream)))
    note(failure("cuMemcpyAsync(" + std::to_string(sizeBytes) + " bytes)", r));
}

extern "C" void mgpuMemset32(void *dst, unsigned int value, size_t count,
                             void *stream) {
  if (count == 0 || !note(cuda::init()))
    return;
  if (CUresult r =
          HSSM_CU(cuMemsetD32Async)(devicePtr(dst), value, count, asStream(stream)))
    note(
        failure("cuMemsetD32Async(" + std::to_string(count) + " elements)", r));
}

extern "C" void mgpuMemset16(void *dst, unsigned short value, size_t count,
                             void *stream) {
  if (count == 0 || !note(cuda::init()))
    return;
  if (CUresult r =
          HSSM_CU(cuMemsetD16Async)(devicePtr(dst), value, count, asStream(stream)))
    note(
        failure("cuMemsetD16Async(" + std::to_string(count) + " elements)", r));
}

/// Loads a cubin, fatbin or NUL-terminated PTX image, collecting the driver
/// JIT's logs so that a failure says why (ptxas messages, a PTX version the
/// driver does not know, ...). `optLevel` < 0 leaves the driver's default.
static void *loadModule(const void *image, const std::string &what,
                        int optLevel) {
  if (!note(cuda::init()))
    return nullptr;
  if (!image) {
    note(Status::error("cuModuleLoadDataEx(" + what + "): no image"));
    return nullptr;
  }
  std::vector<char> errorLog(16384, '\0'), infoLog(16384, '\0');
  std::vector<CUjit_option> options = {
      CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
      CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
  // Option values are passed as pointer-sized integers by the driver API.
  std::vector<void *> values = {
      errorLog.data(), reinterpret_cast<void *>(errorLog.size() - 1),
      infoLog.data(), reinterpret_cast<void *>(infoLog.size() - 1)};
  if (optLevel >= 0) {
    options.push_back(CU_JIT_OPTIMIZATION_LEVEL);
    values.push_back(
        reinterpret_cast<void *>(static_cast<uintptr_t>(optLevel)));
  }
  CUmodule module = nullptr;
  CUresult r =
      HSSM_CU(cuModuleLoadDataEx)(&module, image, static_cast<unsigned>(options.size()),
                         options.data(), values.data());
  if (r != CUDA_SUCCESS) {
    std::string message =
        "cuModuleLoadDataEx(" + what + ") failed: " + describe(r);
    if (errorLog[0])
      message += "; JIT error log: " + std::string(errorLog.data());
    if (infoLog[0])
      message += "; JIT info log: " + std::string(infoLog.data());
    note(Status::error(message));
    return nullptr;
  }
  return module;
}

extern "C" void *mgpuModuleLoad(void *data, size_t gpuBlobSize) {
  return loadModule(data, std::to_string(gpuBlobSize) + "-byte GPU binary", -1);
}

extern "C" void *mgpuModuleLoadJIT(void *data, int optLevel) {
  // The driver accepts levels 0..4; anything else keeps its default (4).
  return loadModule(data, "PTX, optimization level " + std::to_string(optLevel),
                    optLevel >= 0 && optLevel <= 4 ? optLevel : -1);
}

extern "C" void mgpuModuleUnload(void *module) {
  // A module whose load failed is null; its failure is already recorded.
  if (module && note(cuda::init()))
    noteCall(HSSM_CU(cuModuleUnload)(static_cast<CUmodule>(module)), "cuModuleUnload");
}

extern "C" void *mgpuModuleGetFunction(void *module, const char *name) {
  std::string quoted = std::string("\"") + (name ? name : "") + "\"";
  if (!module) {
    note(Status::error("mgpuModuleGetFunction(" + quoted +
                       "): the module is null (its load failed)"));
    return nullptr;
  }
  if (!note(cuda::init()))
    return nullptr;
  CUfunction function = nullptr;
  if (CUresult r =
          HSSM_CU(cuModuleGetFunction)(&function, static_cast<CUmodule>(module), name)) {
    note(failure("cuModuleGetFunction(" + quoted + ")", r));
    return nullptr;
  }
  programmaticKernels().record(function, waitsForPrecedingKernel(name));
  return function;
}

extern "C" void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                                 intptr_t gridZ, intptr_t blockX,
                                 intptr_t blockY, intptr_t blockZ, int32_t smem,
                                 void *stream, void **params, void **extra,
                                 size_t /*paramsCount*/) {
  auto dims = [&] {
    return "grid (" + std::to_string(gridX) + ", " + std::to_string(gridY) +
           ", " + std::to_string(gridZ) + "), block (" +
           std::to_string(blockX) + ", " + std::to_string(blockY) + ", " +
           std::to_string(blockZ) + "), " + std::to_string(smem) +
           " bytes of shared memory";
  };
  if (!function) {
    note(Status::error("mgpuLaunchKernel(" + dims() +
                       "): the kernel function is null (its module load or "
                       "lookup failed)"));
    return;
  }
  for (intptr_t d : {gridX, gridY, gridZ, blockX, blockY, blockZ})
    if (d < 0 || d > static_cast<intptr_t>(UINT_MAX)) {
      note(Status::error("mgpuLaunchKernel(" + dims() +
                         "): a dimension is out of range"));
      return;
    }
  // Grid sizes come from batch counts, which may be zero (no decodes in this
  // step); an empty grid does nothing, where the driver would reject it.
  if (gridX == 0 || gridY == 0 || gridZ == 0)
    return;
  if (smem < 0) {
    note(Status::error("mgpuLaunchKernel(" + dims() +
                       "): negative shared memory size"));
    return;
  }
  if (!note(cuda::init()))
    return;
  CUfunction f = static_cast<CUfunction>(function);
  // Beyond 48 KiB a kernel must opt in to dynamic shared memory.
  if (smem > 48 * 1024) {
    if (CUresult r = HSSM_CU(cuFuncSetAttribute)(
            f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem)) {
      note(failure("cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES, " +
                       std::to_string(smem) + ")",
                   r));
      return;
    }
  }
  CUlaunchConfig config = {};
  config.gridDimX = static_cast<unsigned>(gridX);
  config.gridDimY = static_cast<unsigned>(gridY);
  config.gridDimZ = static_cast<unsigned>(gridZ);
  config.blockDimX = static_cast<unsigned>(blockX);
  config.blockDimY = static_cast<unsigned>(blockY);
  config.blockDimZ = static_cast<unsigned>(blockZ);
  config.sharedMemBytes = static_cast<unsigned>(smem);
  config.hStream = asStream(stream);
  // A kernel whose first instruction waits for the kernel before it may be
  // launched, and its blocks scheduled, while that one still runs.
  CUlaunchAttribute programmatic = {};
  programmatic.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
  programmatic.value.programmaticStreamSerializationAllowed = 1;
  bool waits = programmaticKernels().contains(f);
  if (waits) {
    config.attrs = &programmatic;
    config.numAttrs = 1;
  }
  if (CUresult r = HSSM_CU(cuLaunchKernelEx)(&config, f, params, extra))
    note(failure("cuLaunchKernelEx(" + dims() +
                     (waits ? ", programmatic stream serialization)" : ")"),
                 r));
}

//===----------------------------------------------------------------------===//
// CUDA graphs
//===----------------------------------------------------------------------===//

cuda::Graph::~Graph() {
  if (exec)
    (void)HSSM_CU(cuGraphExecDestroy)(static_cast<CUgraphExec>(exec));
  if (graph)
    (void)HSSM_CU(cuGraphDestroy)(static_cast<CUgraph>(graph));
  if (stream)
    (void)HSSM_CU(cuStreamDestroy)(static_cast<CUstream>(stream));
}

Status cuda::Graph::capture(const std::function<Status()> &body,
                            std::unique_ptr<Graph> &out) {
  if (Status st = init(); !st)
    return st;
  if (capturing.load())
    return Status::error("cuda graph: a capture is already running");
  std::unique_ptr<Graph> g(new Graph);
  CUstream stream = nullptr;
  // A blocking stream: work on the legacy stream (a caller's timing
  // events) orders around the replays.
  if (CUresult r = HSSM_CU(cuStreamCreate)(&stream, CU_STREAM_DEFAULT))
    return failure("cuStreamCreate (graph capture)", r);
  g->stream = stream;
  (void)takeError();
  if (CUresult r = HSSM_CU(cuStreamBeginCapture)(
          stream, CU_STREAM_CAPTURE_MODE_RELAXED))
    return failure("cuStreamBeginCapture", r);
  capturing.store(stream);
  Status bodyStatus = body();
  capturing.store(nullptr);
  CUgraph graph = nullptr;
  CUresult end = HSSM_CU(cuStreamEndCapture)(stream, &graph);
  g->graph = graph;
  if (!bodyStatus)
    return Status::error("cuda graph: the captured work failed: " +
                         bodyStatus.message());
  if (Status st = takeError(); !st)
    return Status::error("cuda graph: the captured work failed: " +
                         st.message());
  if (end != CUDA_SUCCESS)
    return failure("cuStreamEndCapture", end);
  CUgraphExec exec = nullptr;
  if (CUresult r = HSSM_CU(cuGraphInstantiate)(&exec, graph, 0))
    return failure("cuGraphInstantiate", r);
  g->exec = exec;
  out = std::move(g);
  return Status::success();
}

Status cuda::Graph::launch() {
  if (CUresult r = HSSM_CU(cuGraphLaunch)(static_cast<CUgraphExec>(exec),
                                          static_cast<CUstream>(stream)))
    return failure("cuGraphLaunch", r);
  return Status::success();
}

Status cuda::Graph::replay() {
  if (Status st = launch(); !st)
    return st;
  if (CUresult r = HSSM_CU(cuStreamSynchronize)(static_cast<CUstream>(stream)))
    return failure("cuStreamSynchronize (graph replay)", r);
  return Status::success();
}
