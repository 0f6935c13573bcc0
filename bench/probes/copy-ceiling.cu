// Probe (nvcc, on the GPU machine; not product code): the copy ceiling at the
// decode state update's size, and what its access pattern, its arithmetic,
// its block order and its stores cost, timed the way hssm-bench --graph times
// a case: K calls captured in one CUDA graph, each on its own buffers,
// replayed back to back, per call. gather-copy.cu timed single launches,
// whose figures include the launch (~3 us); this one does not.
// bench/results/r29/variants.txt has what it found.
//   nvcc -O3 -arch=sm_90 -std=c++17 copy-ceiling.cu -o copy-ceiling && ./copy-ceiling
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
constexpr int D = 8192, N = 16, SLOTS = 4096, B = 256, K = 8;
#define CK(x) do { cudaError_t e = (x); if (e) { printf("%s: %s\n", #x, cudaGetErrorString(e)); exit(1); } } while (0)

// A flat copy, U 16-byte pieces per thread, loads before stores.
template <int U>
__global__ void flat(const uint4 *a, uint4 *b, size_t n) {
  size_t i = (blockIdx.x * (size_t)blockDim.x) * U + threadIdx.x;
  uint4 v[U];
#pragma unroll
  for (int k = 0; k < U; ++k) if (i + k * blockDim.x < n) v[k] = a[i + k * blockDim.x];
#pragma unroll
  for (int k = 0; k < U; ++k) if (i + k * blockDim.x < n) { v[k].x += 1; b[i + k * blockDim.x] = v[k]; }
}
// In place: each piece read and written back at its own address.
__global__ void flatInPlace(uint4 *a, size_t n) {
  size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
  if (i < n) { uint4 v = a[i]; v.x += 1; a[i] = v; }
}

// The decode state update's accesses, bf16 states (two 16-byte pieces per
// channel row): a thread takes one channel of R batch rows, reads each row's
// state at its slot and writes it back there, reads u, dt, z and writes y.
enum Load { kPlain, kGlobalCg, kL2Prefetch256 };
enum Store { kPerThread, kPairs, kBulk };
enum Order { kChannelsFastest, kGroupsFastest };
__device__ inline uint4 load(const uint4 *p, Load how) {
  uint4 v;
  if (how == kGlobalCg)
    asm volatile("ld.global.cg.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
  else if (how == kL2Prefetch256)
    asm volatile("ld.global.L2::256B.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
  else v = *p;
  return v;
}
__device__ inline uint4 xorLane1(uint4 a) {
  uint4 x; x.x = __shfl_xor_sync(~0u, a.x, 1); x.y = __shfl_xor_sync(~0u, a.y, 1);
  x.z = __shfl_xor_sync(~0u, a.z, 1); x.w = __shfl_xor_sync(~0u, a.w, 1); return x; }
__device__ inline float bfLo(unsigned w) { return __uint_as_float(w << 16); }
__device__ inline float bfHi(unsigned w) { return __uint_as_float(w & 0xffff0000u); }
__device__ inline unsigned pack(float lo, float hi) {
  __nv_bfloat162 p = __floats2bfloat162_rn(lo, hi); return *reinterpret_cast<unsigned *>(&p); }

// The state update's arithmetic on one row (16 exp2, ~100 float ops; the
// coefficients are stand-ins), or, without MATH, a token dependence.
template <bool MATH>
__device__ inline float updateRow(uint4 v[2], uint16_t u, uint16_t dt, uint16_t z, const float *Ad) {
  if (!MATH) {
    unsigned s = u ^ dt ^ z;
    v[0].x += s; s ^= v[0].y; v[1].x += s; s ^= v[1].y;
    return __uint_as_float(s);
  }
  unsigned w[8] = {v[0].x, v[0].y, v[0].z, v[0].w, v[1].x, v[1].y, v[1].z, v[1].w};
  float delta = __logf(1.f + __expf(bfLo(dt))), du = delta * bfLo(u), acc = 0.f;
#pragma unroll
  for (int k = 0; k < 8; ++k) {
    float h0 = bfLo(w[k]), h1 = bfHi(w[k]);
    float e0 = exp2f(delta * Ad[2 * k]), e1 = exp2f(delta * Ad[2 * k + 1]);
    h0 = e0 * h0 + du * 0.25f * k; h1 = e1 * h1 + du * 0.125f * k;
    acc += h0 * 0.5f * k; acc += h1 * 0.75f * k;
    w[k] = pack(h0, h1);
  }
  v[0] = make_uint4(w[0], w[1], w[2], w[3]); v[1] = make_uint4(w[4], w[5], w[6], w[7]);
  float c = bfLo(z);
  return acc * c / (1.f + __expf(-c));
}

// PF > 0: each thread first asks the L2 for its rows PF blocks on in launch
// order (groups fastest: the same slots, PF channel blocks on; channels
// fastest: row group g + PF, its slots loaded).
template <int R, bool MATH, Load LD, Store ST, Order ORD, int PF>
__global__ void update(uint4 *pool, const int *slots, const uint16_t *u, const uint16_t *dt,
                       const uint16_t *z, uint16_t *y, const float *A) {
  extern __shared__ uint4 sbuf[];  // kBulk: [R][blockDim * 2]
  int cb = ORD == kChannelsFastest ? blockIdx.x : blockIdx.y;
  int g = ORD == kChannelsFastest ? blockIdx.y : blockIdx.x;
  int t = threadIdx.x, d = cb * blockDim.x + t, piece = t & 1;
  float Ad[16];
  if (MATH) {
#pragma unroll
    for (int n = 0; n < 16; ++n) Ad[n] = A[d * 16 + n];
  }
  uint4 v[R][2];
  uint16_t a[R], b[R], c[R];
  size_t base[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    base[r] = ((size_t)slots[g * R + r] * D + d) * 2;
    v[r][0] = load(pool + base[r], LD); v[r][1] = load(pool + base[r] + 1, LD);
    size_t q = (size_t)(g * R + r) * D + d;
    a[r] = u[q]; b[r] = dt[q]; c[r] = z[q];
  }
  if (PF > 0 && ORD == kGroupsFastest && cb + PF < gridDim.y) {
#pragma unroll
    for (int r = 0; r < R; ++r)
      asm volatile("prefetch.global.L2 [%0];" :: "l"(pool + base[r] + PF * blockDim.x * 2));
  }
  if (PF > 0 && ORD == kChannelsFastest && g + PF < gridDim.y) {
#pragma unroll
    for (int r = 0; r < R; ++r)
      asm volatile("prefetch.global.L2 [%0];" :: "l"(pool + ((size_t)slots[(g + PF) * R + r] * D + d) * 2));
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    float out = updateRow<MATH>(v[r], a[r], b[r], c[r], Ad);
    if (ST == kPairs) {
      // lane j of a pair keeps piece j of its channel and gets piece j of
      // its partner's; store k writes channel (pair base + k) whole
      uint4 got = xorLane1(piece ? v[r][0] : v[r][1]);
      uint4 p0 = piece ? got : v[r][0], p1 = piece ? v[r][1] : got;
      size_t b0 = ((size_t)slots[g * R + r] * D + (d & ~1)) * 2 + piece;
      pool[b0] = p0; pool[b0 + 2] = p1;
    } else if (ST == kBulk) {
      sbuf[(r * blockDim.x + t) * 2] = v[r][0];
      sbuf[(r * blockDim.x + t) * 2 + 1] = v[r][1];
    } else {
      pool[base[r]] = v[r][0]; pool[base[r] + 1] = v[r][1];
    }
    __nv_bfloat16 o = __float2bfloat16(out);
    y[(size_t)(g * R + r) * D + d] = *reinterpret_cast<uint16_t *>(&o);
  }
  if (ST == kBulk) {
    // one thread stores each row's block region (blockDim * 32 contiguous
    // bytes) with one TMA bulk copy
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
    __syncthreads();
    if (t == 0) {
#pragma unroll
      for (int r = 0; r < R; ++r) {
        uint4 *gp = pool + ((size_t)slots[g * R + r] * D + cb * blockDim.x) * 2;
        unsigned sp = (unsigned)__cvta_generic_to_shared(sbuf + r * blockDim.x * 2);
        asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;"
                     :: "l"(gp), "r"(sp), "r"(blockDim.x * 32) : "memory");
      }
      asm volatile("cp.async.bulk.commit_group;" ::: "memory");
      asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory");
    }
  }
}

template <class F> double timeGraph(F call) {
  cudaStream_t s; CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaGraph_t g; cudaGraphExec_t ge;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  for (int i = 0; i < K; ++i) call(i, s);
  CK(cudaStreamEndCapture(s, &g));
  CK(cudaGraphInstantiate(&ge, g, 0));
  for (int i = 0; i < 3; ++i) CK(cudaGraphLaunch(ge, s));
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  std::vector<float> t;
  for (int i = 0; i < 25; ++i) {
    cudaEventRecord(a, s);
    CK(cudaGraphLaunch(ge, s));
    cudaEventRecord(b, s); CK(cudaEventSynchronize(b));
    float ms; cudaEventElapsedTime(&ms, a, b); t.push_back(ms * 1000 / K);
  }
  std::sort(t.begin(), t.end());
  cudaGraphExecDestroy(ge); cudaGraphDestroy(g); cudaStreamDestroy(s);
  return t[t.size() / 2];
}

int main() {
  size_t poolBytes = (size_t)SLOTS * D * N * 4;  // room for f32 states
  uint4 *pool; uint16_t *act; int *slots; float *A;
  // twice the f32 pool: K calls of the largest flat copy fit
  CK(cudaMalloc(&pool, 2 * poolBytes)); CK(cudaMemset(pool, 0, 2 * poolBytes));
  size_t actElems = (size_t)K * 4 * B * D;  // u, dt, z, y per call
  CK(cudaMalloc(&act, actElems * 2)); CK(cudaMemset(act, 0, actElems * 2));
  CK(cudaMalloc(&A, D * 16 * 4)); CK(cudaMemset(A, 0, D * 16 * 4));
  std::vector<int> sl(K * B);
  std::mt19937 rng(1);
  for (int i = 0; i < K; ++i) {
    std::vector<int> p(SLOTS); for (int j = 0; j < SLOTS; ++j) p[j] = j;
    std::shuffle(p.begin(), p.end(), rng);
    for (int j = 0; j < B; ++j) sl[i * B + j] = p[j];
  }
  CK(cudaMalloc(&slots, sl.size() * 4));
  CK(cudaMemcpy(slots, sl.data(), sl.size() * 4, cudaMemcpyHostToDevice));
  cudaDeviceProp pr; cudaGetDeviceProperties(&pr, 0);
  // The 2 GB copy rate, hssm-bench's bound.
  double copyRate;
  { size_t n = poolBytes / 2; cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
    CK(cudaMemcpy((char *)pool + n, pool, n, cudaMemcpyDeviceToDevice));
    cudaEventRecord(a); for (int i = 0; i < 5; ++i) cudaMemcpy((char *)pool + n, pool, n, cudaMemcpyDeviceToDevice);
    cudaEventRecord(b); cudaEventSynchronize(b); float ms; cudaEventElapsedTime(&ms, a, b);
    copyRate = 2.0 * n * 5 / ms / 1e6; }
  printf("%s, copy of 2 GB: %.0f GB/s\n", pr.name, copyRate);
  auto report = [&](const char *what, double bytes, double us) {
    printf("%-48s %7.1f us %6.0f GB/s  %.3f of the copy rate\n", what, us, bytes / us / 1e3,
           bytes / copyRate / 1e3 / us);
  };
  double state = 2.0 * B * D * N * 2, acts = 4.0 * B * D * 2, d2 = state + acts;
  char name[96];
  for (double bytes : {state, d2, 2 * state + acts}) {
    size_t half = (size_t)(bytes / 2);  // read half, write half
    double us = timeGraph([&](int i, cudaStream_t s) {
      char *p = (char *)pool + (size_t)i * 2 * half;
      CK(cudaMemcpyAsync(p + half, p, half, cudaMemcpyDeviceToDevice, s));
    });
    snprintf(name, sizeof name, "cudaMemcpyAsync %.0f MB", bytes / 1e6); report(name, bytes, us);
    size_t n = half / 16;
    us = timeGraph([&](int i, cudaStream_t s) {
      uint4 *q = pool + (size_t)i * 2 * n; flat<1><<<(n + 255) / 256, 256, 0, s>>>(q, q + n, n); });
    snprintf(name, sizeof name, "copy kernel %.0f MB, 1 piece per thread", bytes / 1e6); report(name, bytes, us);
    us = timeGraph([&](int i, cudaStream_t s) {
      uint4 *q = pool + (size_t)i * 2 * n; flat<4><<<(n + 1023) / 1024, 256, 0, s>>>(q, q + n, n); });
    snprintf(name, sizeof name, "copy kernel %.0f MB, 4 pieces per thread", bytes / 1e6); report(name, bytes, us);
    us = timeGraph([&](int i, cudaStream_t s) {
      uint4 *q = pool + (size_t)i * n; flatInPlace<<<(n + 255) / 256, 256, 0, s>>>(q, n); });
    snprintf(name, sizeof name, "in-place copy kernel %.0f MB", bytes / 1e6); report(name, bytes, us);
  }
  // Kernel shaped like D2, bytes as hssm-bench counts them.
  auto run = [&](auto kern, int R, int th, Order order, bool bulk, const char *what) {
    double us = timeGraph([&](int i, cudaStream_t s) {
      uint16_t *a = act + (size_t)i * 4 * B * D;
      dim3 grid = order == kChannelsFastest ? dim3(D / th, B / R) : dim3(B / R, D / th);
      kern<<<grid, th, bulk ? R * th * 32 : 0, s>>>(pool, slots + i * B, a, a + B * D,
                                                    a + 2 * B * D, a + 3 * B * D, A);
    });
    snprintf(name, sizeof name, "%s, R%d block %d", what, R, th); report(name, d2, us);
  };
  constexpr Order CF = kChannelsFastest, GF = kGroupsFastest;
  for (int th : {64, 128}) {
    run(update<1, false, kPlain, kPerThread, CF, 0>, 1, th, CF, false, "no math, per-thread stores");
    run(update<4, false, kPlain, kPerThread, CF, 0>, 4, th, CF, false, "no math, per-thread stores");
    run(update<1, false, kGlobalCg, kPerThread, CF, 0>, 1, th, CF, false, "no math, ld.global.cg");
    run(update<1, false, kL2Prefetch256, kPerThread, CF, 0>, 1, th, CF, false, "no math, ld L2::256B");
    run(update<1, false, kPlain, kPairs, CF, 0>, 1, th, CF, false, "no math, pair stores");
    run(update<4, false, kPlain, kPairs, CF, 0>, 4, th, CF, false, "no math, pair stores");
    run(update<4, true, kPlain, kPerThread, CF, 0>, 4, th, CF, false, "math, per-thread stores");
    run(update<4, true, kPlain, kPairs, CF, 0>, 4, th, CF, false, "math, pair stores");
    run(update<4, true, kPlain, kBulk, CF, 0>, 4, th, CF, true, "math, bulk stores");
  }
  run(update<4, true, kPlain, kPerThread, GF, 0>, 4, 64, GF, false, "math, groups fastest");
  run(update<4, true, kPlain, kPerThread, GF, 4>, 4, 64, GF, false, "math, groups fastest, prefetch 4");
  run(update<4, true, kPlain, kPerThread, GF, 16>, 4, 64, GF, false, "math, groups fastest, prefetch 16");
  run(update<4, true, kPlain, kPerThread, CF, 2>, 4, 64, CF, false, "math, channels fastest, prefetch 2");
  printf("%s\n", cudaGetErrorString(cudaGetLastError()));
}
