//===- CudaBlas.cpp - hssm.linear on the GPU through cuBLAS ---------------===//
//
// hssm-linear-to-call turns each hssm.linear whose x and weight share an
// element type into a call of `hssm_linear_<x>_<w>_<out>` with the C
// interface (pointers to memref descriptors). Here those calls become one
// cublasGemmEx each, accumulating in fp32 (no TF32), on the runtime's
// stream, synchronized before returning: the surrounding kernels are
// launched on other streams by the generated host code.
//
// cuBLAS is opened with dlopen on first use, like the driver, so programs
// linking the runtime start where it is not installed.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"
#include "hssm/Runtime/Cuda.h"

#include <dlfcn.h>
#include <mutex>

using namespace hssm;

namespace {

/// A 2-D strided memref descriptor as MLIR lays it out.
template <typename T> struct Memref2D {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
  T *data() const { return aligned + offset; }
};

// The few cuBLAS entry points used, with cuBLAS's C types spelled as ints
// (their enum values are part of cuBLAS's stable ABI).
using Handle = void *;
using CreateFn = int (*)(Handle *);
using SetStreamFn = int (*)(Handle, CUstream);
using GemmExFn = int (*)(Handle, int, int, int, int, int, const void *,
                         const void *, int, int, const void *, int, int,
                         const void *, void *, int, int, int, int);
constexpr int kOpN = 0, kOpT = 1;
constexpr int kR32F = 0, kR16F = 2, kR16BF = 14;
constexpr int kCompute32F = 68;
constexpr int kGemmDefault = -1;

struct Blas {
  Handle handle = nullptr;
  CUstream stream = nullptr;
  GemmExFn gemmEx = nullptr;
  SetStreamFn setStream = nullptr;
  Status status;
};

const Blas &blas() {
  static Blas b;
  static std::once_flag once;
  std::call_once(once, [] {
    if (Status st = cuda::init(); !st) {
      b.status = st;
      return;
    }
    void *lib = dlopen("libcublas.so.13", RTLD_NOW | RTLD_GLOBAL);
    if (!lib)
      lib = dlopen("libcublas.so", RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
      b.status = Status::error("hssm_linear: cannot load cuBLAS "
                               "(libcublas.so.13): " +
                               std::string(dlerror()));
      return;
    }
    auto create = reinterpret_cast<CreateFn>(dlsym(lib, "cublasCreate_v2"));
    auto setStream =
        reinterpret_cast<SetStreamFn>(dlsym(lib, "cublasSetStream_v2"));
    b.setStream = setStream;
    b.gemmEx = reinterpret_cast<GemmExFn>(dlsym(lib, "cublasGemmEx"));
    if (!create || !setStream || !b.gemmEx) {
      b.status = Status::error("hssm_linear: cuBLAS lacks cublasCreate_v2, "
                               "cublasSetStream_v2 or cublasGemmEx");
      return;
    }
    if (int r = create(&b.handle)) {
      b.status = Status::error("cublasCreate_v2 failed: status " +
                               std::to_string(r));
      return;
    }
    if (CUresult r = HSSM_CU(cuStreamCreate)(&b.stream, 0)) {
      b.status = Status::error("cuStreamCreate for cuBLAS failed: error " +
                               std::to_string(int(r)));
      return;
    }
    if (int r = setStream(b.handle, b.stream))
      b.status = Status::error("cublasSetStream_v2 failed: status " +
                               std::to_string(r));
  });
  return b;
}

/// out[T, M] (+)= x[T, K] . w[M, K]^T. Row-major operands seen column-major
/// are transposed: out^T (M x T) = w (M x K, stored as K x M) . x^T.
template <typename X, typename W, typename O>
void linear(const char *name, Memref2D<X> *x, Memref2D<W> *w, Memref2D<O> *out,
            int32_t accumulate, int xType, int wType, int outType) {
  int64_t t = x->sizes[0], k = x->sizes[1], m = w->sizes[0];
  if (t == 0 || m == 0)
    return;
  auto fail = [&](const std::string &why) {
    cuda::detail::recordError(
        Status::error(std::string(name) + ": " + why));
  };
  if (x->strides[1] != 1 || w->strides[1] != 1 || out->strides[1] != 1)
    return fail("operands must be contiguous along their last dimension");
  if (w->sizes[1] != k || out->sizes[0] != t || out->sizes[1] != m)
    return fail("shapes disagree: x [" + std::to_string(t) + ", " +
                std::to_string(k) + "], weight [" + std::to_string(m) + ", " +
                std::to_string(w->sizes[1]) + "], out [" +
                std::to_string(out->sizes[0]) + ", " +
                std::to_string(out->sizes[1]) + "]");
  const Blas &b = blas();
  if (!b.status.ok())
    return fail(b.status.message());
  float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  // While a graph is captured, the GEMM joins the capturing stream and is
  // not waited for (the graph orders it); otherwise it runs on cuBLAS's own
  // stream, synchronized, since the surrounding kernels use other streams.
  CUstream capture = cuda::detail::captureStream();
  if (b.setStream(b.handle, capture ? capture : b.stream))
    return fail("cublasSetStream_v2 failed");
  int r = b.gemmEx(b.handle, kOpT, kOpN, int(m), int(t), int(k), &alpha,
                   w->data(), wType, int(w->strides[0]), x->data(), xType,
                   int(x->strides[0]), &beta, out->data(), outType,
                   int(out->strides[0]), kCompute32F, kGemmDefault);
  if (r)
    return fail("cublasGemmEx failed: status " + std::to_string(r));
  if (capture)
    return;
  if (CUresult s = HSSM_CU(cuStreamSynchronize)(b.stream))
    return fail("cuStreamSynchronize after cublasGemmEx failed: error " +
                std::to_string(int(s)));
}

} // namespace

void cuda::detail::keepBlasEntryPoints() {}

// One entry point per supported (x, weight, out) element-type triple; the
// names are what hssm-linear-to-call emits.
#define HSSM_LINEAR(xs, ws, os, X, W, O, xt, wt, ot)                           \
  extern "C" HSSM_RUNTIME_EXPORT void                                          \
      _mlir_ciface_hssm_linear_##xs##_##ws##_##os(                             \
          Memref2D<X> *x, Memref2D<W> *w, Memref2D<O> *out,                    \
          int32_t accumulate) {                                                \
    linear("hssm_linear_" #xs "_" #ws "_" #os, x, w, out, accumulate, xt, wt,  \
           ot);                                                                \
  }

HSSM_LINEAR(f32, f32, f32, float, float, float, kR32F, kR32F, kR32F)
HSSM_LINEAR(f16, f16, f32, uint16_t, uint16_t, float, kR16F, kR16F, kR32F)
HSSM_LINEAR(bf16, bf16, f32, uint16_t, uint16_t, float, kR16BF, kR16BF, kR32F)
HSSM_LINEAR(f16, f16, f16, uint16_t, uint16_t, uint16_t, kR16F, kR16F, kR16F)
HSSM_LINEAR(bf16, bf16, bf16, uint16_t, uint16_t, uint16_t, kR16BF, kR16BF,
            kR16BF)
