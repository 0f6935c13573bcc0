//===- CudaRuntimeTest.cpp - Tests of the CUDA driver runtime -------------===//
//
// Needs a GPU: context, memory, the error messages of failed driver calls,
// the error record of the mgpu* entry points (bad PTX, missing kernels, null
// launches), artifact loading failures and the host<->device mirror.
//
//===----------------------------------------------------------------------===//

#include "hssm/Runtime/Artifact.h"
#include "hssm/Runtime/Cuda.h"
#include "hssm/Runtime/DevicePool.h"

#include <cuda.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace hssm;

namespace {

/// One empty kernel, `empty`, in the PTX that MLIR 22 targets (sm_90).
const char validPtx[] = ".version 8.0\n"
                        ".target sm_90\n"
                        ".address_size 64\n"
                        "\n"
                        ".visible .entry empty()\n"
                        "{\n"
                        "  ret;\n"
                        "}\n";

const char badPtx[] = ".version 8.0\n"
                      ".target sm_90\n"
                      ".address_size 64\n"
                      " garbage";

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

void *loadValidModule() {
  return mgpuModuleLoadJIT(const_cast<char *>(validPtx), 2);
}

class CudaRuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    Status s = cuda::init();
    ASSERT_TRUE(s.ok()) << s.message();
    // Start every test with an empty error record.
    (void)cuda::takeError();
  }
};

TEST_F(CudaRuntimeTest, InitIsIdempotentAndNamesTheDevice) {
  EXPECT_TRUE(cuda::init().ok());
  EXPECT_TRUE(cuda::available());
  EXPECT_FALSE(cuda::deviceName().empty());
}

TEST_F(CudaRuntimeTest, AllocateCopyRoundTrip) {
  std::vector<float> host(1000), back(1000, -1.0f);
  for (size_t i = 0; i < host.size(); ++i)
    host[i] = 0.5f * static_cast<float>(i);
  size_t bytes = host.size() * sizeof(float);
  void *device = nullptr;
  Status s = cuda::allocate(bytes, &device);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_NE(device, nullptr);
  s = cuda::copyToDevice(device, host.data(), bytes);
  ASSERT_TRUE(s.ok()) << s.message();
  s = cuda::copyToHost(back.data(), device, bytes);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(host, back);

  s = cuda::memsetZero(device, bytes);
  ASSERT_TRUE(s.ok()) << s.message();
  s = cuda::copyToHost(back.data(), device, bytes);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(back, std::vector<float>(1000, 0.0f));
  EXPECT_TRUE(cuda::synchronize().ok());
  EXPECT_TRUE(cuda::release(device).ok());
}

TEST_F(CudaRuntimeTest, ZeroBytesNeedNoMemory) {
  void *device = reinterpret_cast<void *>(1);
  EXPECT_TRUE(cuda::allocate(0, &device).ok());
  EXPECT_EQ(device, nullptr);
  EXPECT_TRUE(cuda::release(nullptr).ok());
  EXPECT_EQ(mgpuMemAlloc(0, nullptr, false), nullptr);
  EXPECT_TRUE(cuda::takeError().ok());
}

TEST_F(CudaRuntimeTest, OutOfMemoryIsReportedAndRecoverable) {
  const size_t tooMuch = size_t(1) << 40; // 1 TiB
  void *device = nullptr;
  Status s = cuda::allocate(tooMuch, &device);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(device, nullptr);
  EXPECT_TRUE(contains(s.message(), "cuMemAlloc(1099511627776 bytes)"))
      << s.message();
  EXPECT_TRUE(contains(s.message(), "CUDA_ERROR_OUT_OF_MEMORY")) << s.message();

  // The same through the entry point compiled code calls.
  EXPECT_EQ(mgpuMemAlloc(tooMuch, nullptr, false), nullptr);
  s = cuda::takeError();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "cuMemAlloc")) << s.message();
  EXPECT_TRUE(contains(s.message(), "CUDA_ERROR_OUT_OF_MEMORY")) << s.message();

  // Out of memory is not sticky: the context still works.
  s = cuda::allocate(4096, &device);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_NE(device, nullptr);
  EXPECT_TRUE(cuda::memsetZero(device, 4096).ok());
  EXPECT_TRUE(cuda::release(device).ok());
  void *p = mgpuMemAlloc(4096, nullptr, false);
  EXPECT_NE(p, nullptr);
  mgpuMemFree(p, nullptr);
  s = cuda::takeError();
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST_F(CudaRuntimeTest, BadPtxRecordsTheJitLogOnce) {
  EXPECT_EQ(mgpuModuleLoadJIT(const_cast<char *>(badPtx), 2), nullptr);
  Status s = cuda::takeError();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "cuModuleLoadDataEx")) << s.message();
  // The driver's log follows its marker and says something.
  size_t log = s.message().find("JIT error log: ");
  ASSERT_NE(log, std::string::npos) << s.message();
  EXPECT_GT(s.message().size(), log + std::strlen("JIT error log: ") + 5)
      << s.message();
  // Taken once, then gone.
  s = cuda::takeError();
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST_F(CudaRuntimeTest, FirstErrorWins) {
  EXPECT_EQ(mgpuModuleLoadJIT(const_cast<char *>(badPtx), 2), nullptr);
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  Status s = cuda::takeError();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "cuModuleLoadDataEx")) << s.message();
  EXPECT_TRUE(cuda::takeError().ok());
}

TEST_F(CudaRuntimeTest, MissingKernelIsNamed) {
  void *module = loadValidModule();
  Status s = cuda::takeError();
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_NE(module, nullptr);
  EXPECT_EQ(mgpuModuleGetFunction(module, "no_such_kernel"), nullptr);
  s = cuda::takeError();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "cuModuleGetFunction")) << s.message();
  EXPECT_TRUE(contains(s.message(), "no_such_kernel")) << s.message();
  mgpuModuleUnload(module);
  s = cuda::takeError();
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST_F(CudaRuntimeTest, LaunchEmptyKernel) {
  void *module = loadValidModule();
  ASSERT_NE(module, nullptr) << cuda::takeError().message();
  void *function = mgpuModuleGetFunction(module, "empty");
  ASSERT_NE(function, nullptr) << cuda::takeError().message();
  void *stream = mgpuStreamCreate();
  ASSERT_NE(stream, nullptr) << cuda::takeError().message();
  void *event = mgpuEventCreate();
  ASSERT_NE(event, nullptr) << cuda::takeError().message();

  mgpuLaunchKernel(function, 4, 2, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  // An empty grid is a no-op, not an error.
  mgpuLaunchKernel(function, 0, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  mgpuEventRecord(event, stream);
  mgpuStreamWaitEvent(stream, event);
  mgpuEventSynchronize(event);
  mgpuStreamSynchronize(stream);
  mgpuEventDestroy(event);
  mgpuStreamDestroy(stream);
  mgpuModuleUnload(module);
  Status s = cuda::takeError();
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST_F(CudaRuntimeTest, StreamMemoryEntryPoints) {
  void *stream = mgpuStreamCreate();
  ASSERT_NE(stream, nullptr) << cuda::takeError().message();
  const size_t count = 256;
  void *a = mgpuMemAlloc(count * 4, stream, false);
  void *b = mgpuMemAlloc(count * 4, stream, false);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  mgpuMemset32(a, 0x3f800000u, count, stream); // 1.0f
  mgpuMemcpy(b, a, count * 4, stream);
  mgpuMemset16(a, 0xffffu, count * 2, stream);
  mgpuStreamSynchronize(stream);
  std::vector<float> back(count);
  std::vector<uint32_t> bits(count);
  EXPECT_TRUE(cuda::copyToHost(back.data(), b, count * 4).ok());
  EXPECT_TRUE(cuda::copyToHost(bits.data(), a, count * 4).ok());
  EXPECT_EQ(back, std::vector<float>(count, 1.0f));
  EXPECT_EQ(bits, std::vector<uint32_t>(count, 0xffffffffu));
  mgpuMemFree(a, stream);
  mgpuMemFree(b, stream);
  mgpuStreamDestroy(stream);
  Status s = cuda::takeError();
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST_F(CudaRuntimeTest, NullFunctionLaunchIsRecorded) {
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  Status s = cuda::takeError();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "mgpuLaunchKernel")) << s.message();
  EXPECT_TRUE(contains(s.message(), "null")) << s.message();
}

TEST_F(CudaRuntimeTest, NullModuleLookupIsRecorded) {
  EXPECT_EQ(mgpuModuleGetFunction(nullptr, "kernel"), nullptr);
  Status s = cuda::takeError();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "kernel")) << s.message();
  mgpuModuleUnload(nullptr); // nothing to do, nothing recorded
  EXPECT_TRUE(cuda::takeError().ok());
}

TEST_F(CudaRuntimeTest, ArtifactLoadReportsDlerror) {
  std::unique_ptr<Artifact> artifact;
  const std::string path = "/nonexistent/hssm-artifact.so";
  Status s = Artifact::load(path, artifact);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(artifact, nullptr);
  EXPECT_TRUE(contains(s.message(), path)) << s.message();
  EXPECT_TRUE(contains(s.message(), "cannot open shared object file"))
      << s.message();
}

TEST_F(CudaRuntimeTest, ArtifactMissingFunctionIsNamed) {
  // Any shared object without hssm symbols will do.
  std::unique_ptr<Artifact> artifact;
  Status s = Artifact::load("libm.so.6", artifact);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_NE(artifact, nullptr);
  Invoker invoker;
  s = artifact->function("branch", invoker);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(contains(s.message(), "branch")) << s.message();
  EXPECT_TRUE(contains(s.message(), "libm.so.6")) << s.message();
  EXPECT_FALSE(invoker);
  EXPECT_TRUE(artifact->functions().empty());
}

/// The memory type of `ptr` as the driver sees it (0 if unknown to it).
unsigned memoryType(const void *ptr) {
  unsigned type = 0;
  if (cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                            reinterpret_cast<CUdeviceptr>(ptr)) != CUDA_SUCCESS)
    return 0;
  return type;
}

TEST_F(CudaRuntimeTest, MirrorPassesDeviceBuffersAndKeepsData) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6};
  std::vector<int32_t> idx = {7, -1, 3, 0};
  std::vector<uint16_t> none;
  std::vector<Arg> args = {
      Buffer{x.data(), {2, 3}, Elem::F32},
      Buffer{idx.data(), {4}, Elem::I32},
      Buffer{nullptr, {0, 5}, Elem::F16},
      int64_t(42),
  };
  const std::vector<float> x0 = x;
  const std::vector<int32_t> idx0 = idx;

  int calls = 0;
  Invoker device = [&](const std::vector<Arg> &dargs) {
    ++calls;
    EXPECT_EQ(dargs.size(), 4u);
    if (dargs.size() != 4)
      return Status::error("wrong argument count");
    const Buffer &dx = std::get<Buffer>(dargs[0]);
    const Buffer &di = std::get<Buffer>(dargs[1]);
    const Buffer &dn = std::get<Buffer>(dargs[2]);
    EXPECT_NE(dx.data, static_cast<void *>(x.data()));
    EXPECT_EQ(memoryType(dx.data), unsigned(CU_MEMORYTYPE_DEVICE));
    EXPECT_EQ(memoryType(di.data), unsigned(CU_MEMORYTYPE_DEVICE));
    EXPECT_EQ(dx.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(dx.elem, Elem::F32);
    EXPECT_EQ(di.shape, (std::vector<int64_t>{4}));
    EXPECT_EQ(di.elem, Elem::I32);
    EXPECT_EQ(dn.data, nullptr);
    EXPECT_EQ(dn.shape, (std::vector<int64_t>{0, 5}));
    EXPECT_EQ(std::get<int64_t>(dargs[3]), 42);
    // The device copy holds the host data.
    std::vector<float> seen(6);
    EXPECT_TRUE(cuda::copyToHost(seen.data(), dx.data, 24).ok());
    EXPECT_EQ(seen, x0);
    return Status::success();
  };
  Status s = cuda::mirrorToDevice(device)(args);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(x, x0);
  EXPECT_EQ(idx, idx0);
}

TEST_F(CudaRuntimeTest, MirrorCopiesWritesBack) {
  std::vector<float> pool = {1, 2, 3, 4};
  std::vector<Arg> args = {Buffer{pool.data(), {4}, Elem::F32}};
  Invoker device = [](const std::vector<Arg> &dargs) {
    return cuda::memsetZero(std::get<Buffer>(dargs[0]).data, 16);
  };
  Status s = cuda::mirrorToDevice(device)(args);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(pool, std::vector<float>(4, 0.0f));
}

TEST_F(CudaRuntimeTest, MirrorReturnsTheDeviceError) {
  std::vector<float> pool = {1, 2, 3, 4};
  std::vector<Arg> args = {Buffer{pool.data(), {4}, Elem::F32}};
  Invoker device = [](const std::vector<Arg> &dargs) {
    (void)cuda::memsetZero(std::get<Buffer>(dargs[0]).data, 16);
    return Status::error("device function failed");
  };
  Status s = cuda::mirrorToDevice(device)(args);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "device function failed");
  // Nothing is copied back after a failure.
  EXPECT_EQ(pool, (std::vector<float>{1, 2, 3, 4}));
}

//===----------------------------------------------------------------------===//
// The device state pool
//===----------------------------------------------------------------------===//

cuda::DevicePool::Spec smallPoolSpec() {
  cuda::DevicePool::Spec spec;
  spec.numSlots = 6;
  spec.convWidth = 4;
  spec.channels = 8;
  spec.stateSize = 4;
  spec.convDType = DType::BF16;
  spec.ssmDType = DType::F32;
  spec.padSlotId = 0;
  return spec;
}

TEST_F(CudaRuntimeTest, DevicePoolStartsZeroedWithItsShapes) {
  std::unique_ptr<cuda::DevicePool> pool;
  Status st = cuda::DevicePool::create(smallPoolSpec(), pool);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(pool->conv().shape, (std::vector<int64_t>{6, 3, 8}));
  EXPECT_EQ(pool->conv().elem, Elem::BF16);
  EXPECT_EQ(pool->ssm().shape, (std::vector<int64_t>{6, 8, 4}));
  EXPECT_EQ(pool->ssm().elem, Elem::F32);
  EXPECT_EQ(pool->limits().padSlotId, 0);
  std::vector<uint8_t> conv, ssm;
  ASSERT_TRUE(pool->download(conv, ssm).ok());
  EXPECT_EQ(conv, std::vector<uint8_t>(6 * 3 * 8 * 2, 0));
  EXPECT_EQ(ssm, std::vector<uint8_t>(6 * 8 * 4 * 4, 0));
}

TEST_F(CudaRuntimeTest, DevicePoolCopiesAndZeroesSlots) {
  std::unique_ptr<cuda::DevicePool> pool;
  ASSERT_TRUE(cuda::DevicePool::create(smallPoolSpec(), pool).ok());
  std::vector<uint8_t> conv(6 * 3 * 8 * 2), ssm(6 * 8 * 4 * 4);
  for (size_t i = 0; i < conv.size(); ++i)
    conv[i] = uint8_t(i * 7 + 1);
  for (size_t i = 0; i < ssm.size(); ++i)
    ssm[i] = uint8_t(i * 3 + 2);
  ASSERT_TRUE(pool->upload(conv, ssm).ok());
  ASSERT_TRUE(pool->copySlot(1, 3).ok());
  ASSERT_TRUE(pool->zeroSlot(2).ok());
  std::vector<uint8_t> conv2, ssm2;
  ASSERT_TRUE(pool->download(conv2, ssm2).ok());
  size_t cs = 3 * 8 * 2, ss = 8 * 4 * 4;
  EXPECT_EQ(0, std::memcmp(&conv2[3 * cs], &conv[1 * cs], cs));
  EXPECT_EQ(0, std::memcmp(&ssm2[3 * ss], &ssm[1 * ss], ss));
  EXPECT_EQ(std::vector<uint8_t>(&conv2[2 * cs], &conv2[3 * cs]),
            std::vector<uint8_t>(cs, 0));
  EXPECT_EQ(std::vector<uint8_t>(&ssm2[2 * ss], &ssm2[3 * ss]),
            std::vector<uint8_t>(ss, 0));
  // The other slots are untouched.
  EXPECT_EQ(0, std::memcmp(&conv2[4 * cs], &conv[4 * cs], 2 * cs));
  EXPECT_EQ(0, std::memcmp(&ssm2[0], &ssm[0], 2 * ss));
}

TEST_F(CudaRuntimeTest, DevicePoolRejectsBadSlotsAndSpecs) {
  std::unique_ptr<cuda::DevicePool> pool;
  ASSERT_TRUE(cuda::DevicePool::create(smallPoolSpec(), pool).ok());
  Status st = pool->zeroSlot(6);
  EXPECT_TRUE(contains(st.message(), "slot 6 is outside [0, 6)"))
      << st.message();
  st = pool->copySlot(0, 2);
  EXPECT_TRUE(contains(st.message(), "slot 0 is the reserved pad slot"))
      << st.message();
  cuda::DevicePool::Spec bad = smallPoolSpec();
  bad.convWidth = 6;
  std::unique_ptr<cuda::DevicePool> none;
  st = cuda::DevicePool::create(bad, none);
  EXPECT_TRUE(contains(st.message(), "conv width W = 6")) << st.message();
  EXPECT_EQ(none, nullptr);
}

TEST_F(CudaRuntimeTest, DevicePoolTooLargeIsOutOfMemoryAndRecoverable) {
  cuda::DevicePool::Spec huge = smallPoolSpec();
  huge.numSlots = int64_t(1) << 22; // 4M slots x 8192 x 16 x 4 B: 2 PiB
  huge.channels = 8192;
  huge.stateSize = 16;
  std::unique_ptr<cuda::DevicePool> pool;
  Status st = cuda::DevicePool::create(huge, pool);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(contains(st.message(), "device pool")) << st.message();
  EXPECT_TRUE(contains(st.message(), "CUDA_ERROR_OUT_OF_MEMORY"))
      << st.message();
  EXPECT_EQ(pool, nullptr);
  // The runtime stays usable.
  ASSERT_TRUE(cuda::DevicePool::create(smallPoolSpec(), pool).ok());
}

} // namespace
