// Probe (nvcc, on the GPU machine; not product code): what a pure gather-copy
// with the decode state update's access
// pattern reaches, no arithmetic: bench/results/r18/variants.txt item 2.
// It times single launches, ~3 us of launch each included: copy-ceiling.cu
// times CUDA graphs, as hssm-bench does (bench/results/r29/variants.txt).
//   nvcc -O3 -arch=sm_90 -std=c++17 gather-copy.cu -o gather-copy && ./gather-copy
#include <cstdio>
#include <cstdint>
#include <vector>
#include <algorithm>
#include <random>
#include <cuda_runtime.h>
constexpr int D = 8192, N = 16, SLOTS = 4096, B = 256;
template <int R, int ELT>  // ELT bytes per state element
__global__ void gather(const uint4 *pool, uint4 *poolOut, const int *src, const int *dst) {
  int d = blockIdx.x * blockDim.x + threadIdx.x;
  int g = blockIdx.y;
  constexpr int V = N * ELT / 16;  // uint4 per channel
  uint4 v[R][V];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    size_t base = ((size_t)src[g * R + r] * D + d) * V;
#pragma unroll
    for (int k = 0; k < V; ++k) v[r][k] = pool[base + k];
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    size_t base = ((size_t)dst[g * R + r] * D + d) * V;
#pragma unroll
    for (int k = 0; k < V; ++k) { v[r][k].x += 1; poolOut[base + k] = v[r][k]; }
  }
}
// coalesced: a warp's k-th load covers 512 contiguous bytes
template <int R, int ELT>
__global__ void gatherCo(const uint4 *pool, uint4 *poolOut, const int *src, const int *dst) {
  constexpr int V = N * ELT / 16;
  int lane = threadIdx.x & 31, warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  int g = blockIdx.y;
  uint4 v[R][V];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    size_t base = ((size_t)src[g * R + r] * D + warp * 32) * V;
#pragma unroll
    for (int k = 0; k < V; ++k) v[r][k] = pool[base + k * 32 + lane];
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    size_t base = ((size_t)dst[g * R + r] * D + warp * 32) * V;
#pragma unroll
    for (int k = 0; k < V; ++k) { v[r][k].x += 1; poolOut[base + k * 32 + lane] = v[r][k]; }
  }
}

// mixed: LC = coalesced loads, SC = coalesced stores
template <int R, int ELT, bool LC, bool SC>
__global__ void gatherMix(const uint4 *pool, uint4 *poolOut, const int *src, const int *dst) {
  constexpr int V = N * ELT / 16;
  int lane = threadIdx.x & 31, warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  int d = blockIdx.x * blockDim.x + threadIdx.x;
  int g = blockIdx.y;
  uint4 v[R][V];
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int k = 0; k < V; ++k)
      v[r][k] = LC ? pool[((size_t)src[g * R + r] * D + warp * 32) * V + k * 32 + lane]
                   : pool[((size_t)src[g * R + r] * D + d) * V + k];
  }
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int k = 0; k < V; ++k) {
      v[r][k].x += 1;
      if (SC) poolOut[((size_t)dst[g * R + r] * D + warp * 32) * V + k * 32 + lane] = v[r][k];
      else poolOut[((size_t)dst[g * R + r] * D + d) * V + k] = v[r][k];
    }
}
// through shared memory: coalesced global loads/stores, per-channel access in smem
template <int R, int ELT>
__global__ void gatherSmem(const uint4 *pool, uint4 *poolOut, const int *src, const int *dst) {
  constexpr int V = N * ELT / 16;
  __shared__ uint4 buf[R][128 * V];
  int t = threadIdx.x, g = blockIdx.y;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    size_t base = ((size_t)src[g * R + r] * D + blockIdx.x * 128) * V;
#pragma unroll
    for (int k = 0; k < V; ++k) buf[r][k * 128 + t] = pool[base + k * 128 + t];
  }
  __syncthreads();
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int k = 0; k < V; ++k) { uint4 x = buf[r][t * V + k]; x.x += 1; buf[r][t * V + k] = x; }
  __syncthreads();
#pragma unroll
  for (int r = 0; r < R; ++r) {
    size_t base = ((size_t)dst[g * R + r] * D + blockIdx.x * 128) * V;
#pragma unroll
    for (int k = 0; k < V; ++k) poolOut[base + k * 128 + t] = buf[r][k * 128 + t];
  }
}
// cp.async into shared memory, then as gatherSmem
template <int R, int ELT>
__global__ void gatherAsync(const uint4 *pool, uint4 *poolOut, const int *src, const int *dst) {
  constexpr int V = N * ELT / 16;
  __shared__ uint4 buf[R][128 * V];
  int t = threadIdx.x, g = blockIdx.y;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    size_t base = ((size_t)src[g * R + r] * D + blockIdx.x * 128) * V;
#pragma unroll
    for (int k = 0; k < V; ++k) {
      unsigned sa = (unsigned)__cvta_generic_to_shared(&buf[r][k * 128 + t]);
      asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" :: "r"(sa), "l"(pool + base + k * 128 + t));
    }
  }
  asm volatile("cp.async.wait_all;");
  __syncthreads();
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int k = 0; k < V; ++k) { uint4 x = buf[r][t * V + k]; x.x += 1; buf[r][t * V + k] = x; }
  __syncthreads();
#pragma unroll
  for (int r = 0; r < R; ++r) {
    size_t base = ((size_t)dst[g * R + r] * D + blockIdx.x * 128) * V;
#pragma unroll
    for (int k = 0; k < V; ++k) poolOut[base + k * 128 + t] = buf[r][k * 128 + t];
  }
}

// naive loads; V x V transpose across groups of V lanes by xor shuffles, so
// that store k writes all V pieces (one whole 32/64-byte channel row) of
// channel (group base + k)
__device__ inline uint4 shx(uint4 a, int m) {
  uint4 x; x.x = __shfl_xor_sync(~0u, a.x, m); x.y = __shfl_xor_sync(~0u, a.y, m);
  x.z = __shfl_xor_sync(~0u, a.z, m); x.w = __shfl_xor_sync(~0u, a.w, m); return x; }
template <int R, int ELT>
__global__ void gatherXchg(const uint4 *pool, uint4 *poolOut, const int *src, const int *dst) {
  constexpr int V = N * ELT / 16;
  int d = blockIdx.x * blockDim.x + threadIdx.x, g = blockIdx.y;
  int j = threadIdx.x % V;
  uint4 v[R][V];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    size_t base = ((size_t)src[g * R + r] * D + d) * V;
#pragma unroll
    for (int k = 0; k < V; ++k) v[r][k] = pool[base + k];
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int s = 1; s < V; s <<= 1) {
      // pieces q with (q & s) != (j & s) go to the partner's q ^ s
      uint4 nv[V];
#pragma unroll
      for (int q = 0; q < V; ++q) nv[q] = v[r][q];
#pragma unroll
      for (int q = 0; q < V; ++q) {
        if (q & s) continue;           // pair (q, q|s)
        bool hi = j & s;
        uint4 send = hi ? v[r][q] : v[r][q | s];
        uint4 got = shx(send, s);
        if (hi) nv[q] = got; else nv[q | s] = got;
      }
#pragma unroll
      for (int q = 0; q < V; ++q) v[r][q] = nv[q];
    }
    int base0 = d - j;
#pragma unroll
    for (int k = 0; k < V; ++k) {
      uint4 x = v[r][k]; x.x += 1;
      poolOut[((size_t)dst[g * R + r] * D + base0 + k) * V + j] = x;
    }
  }
}
template <int R, int ELT> auto mixLS = gatherMix<R, ELT, true, false>;
template <int R, int ELT> auto mixSL = gatherMix<R, ELT, false, true>;

// contiguous copy of the same bytes (no gather), the per-size ceiling
__global__ void copyFlat(const uint4 *a, uint4 *b, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) b[i] = a[i];
}
template <class K> float timeIt(K kernel, int R, int threads, uint4 *pool, int *src, int *dst, int sets) {
  cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
  dim3 grid(D / threads, B / R);
  for (int i = 0; i < 3; ++i) kernel<<<grid, threads>>>(pool, pool, src + (i % sets) * B, dst + (i % sets) * B);
  std::vector<float> t;
  for (int i = 0; i < 30; ++i) {
    cudaEventRecord(a);
    kernel<<<grid, threads>>>(pool, pool, src + (i % sets) * B, dst + (i % sets) * B);
    cudaEventRecord(b); cudaEventSynchronize(b);
    float ms; cudaEventElapsedTime(&ms, a, b); t.push_back(ms * 1000);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
int main() {
  size_t poolBytes = (size_t)SLOTS * D * N * 4;
  uint4 *pool; cudaMalloc(&pool, poolBytes); cudaMemset(pool, 0, poolBytes);
  int sets = 32; std::vector<int> s(sets * B), dd(sets * B);
  std::mt19937 rng(1);
  for (int i = 0; i < sets; ++i) {
    std::vector<int> p(SLOTS); for (int j = 0; j < SLOTS; ++j) p[j] = j;
    std::shuffle(p.begin(), p.end(), rng);
    for (int j = 0; j < B; ++j) { s[i * B + j] = p[j]; dd[i * B + j] = p[B + j]; }
  }
  int *src, *dst; cudaMalloc(&src, s.size() * 4); cudaMalloc(&dst, s.size() * 4);
  cudaMemcpy(src, s.data(), s.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(dst, dd.data(), s.size() * 4, cudaMemcpyHostToDevice);
  double bf = 2.0 * B * D * N * 2, f32 = 2.0 * B * D * N * 4;
#define RUN(K, R, ELT, TH) { float us = timeIt(K<R, ELT>, R, TH, pool, src, dst, sets); \
  double by = ELT == 2 ? bf : f32; printf("%-9s R%d elt%d th%d %7.1f us %6.0f GB/s\n", #K, R, ELT, TH, us, by / us / 1e3); }
  RUN(gather, 1, 2, 128) RUN(gather, 2, 2, 128) RUN(gather, 4, 2, 128) RUN(gather, 8, 2, 128)
  RUN(gather, 4, 2, 64) RUN(gather, 4, 2, 256)
  RUN(gatherCo, 1, 2, 128) RUN(gatherCo, 2, 2, 128) RUN(gatherCo, 4, 2, 128) RUN(gatherCo, 8, 2, 128)
  RUN(gather, 1, 4, 128) RUN(gather, 2, 4, 128) RUN(gather, 4, 4, 128)
  RUN(gatherCo, 1, 4, 128) RUN(gatherCo, 2, 4, 128) RUN(gatherCo, 4, 4, 128)
  RUN(mixLS, 1, 2, 128) RUN(mixLS, 4, 2, 128) RUN(mixSL, 1, 2, 128) RUN(mixSL, 4, 2, 128)
  RUN(mixLS, 2, 4, 128) RUN(mixSL, 2, 4, 128)
  RUN(gatherSmem, 1, 2, 128) RUN(gatherSmem, 2, 2, 128) RUN(gatherSmem, 4, 2, 128)
  RUN(gatherSmem, 1, 4, 128) RUN(gatherSmem, 2, 4, 128)
  RUN(gatherAsync, 1, 2, 128) RUN(gatherAsync, 2, 2, 128) RUN(gatherAsync, 4, 2, 128)
  RUN(gatherAsync, 1, 4, 128) RUN(gatherAsync, 2, 4, 128)
  RUN(gatherXchg, 1, 2, 128) RUN(gatherXchg, 2, 2, 128) RUN(gatherXchg, 4, 2, 128) RUN(gatherXchg, 1, 4, 128) RUN(gatherXchg, 2, 4, 128)
  for (double by : {bf, f32}) {
    size_t n = (size_t)(by / 2 / 16); cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b);
    std::vector<float> t;
    for (int i = 0; i < 30; ++i) { size_t off = (size_t)(i % 6) * 2 * n;
      cudaEventRecord(a); copyFlat<<<132 * 16, 256>>>(pool + off, pool + off + n, n); cudaEventRecord(b); cudaEventSynchronize(b);
      float ms; cudaEventElapsedTime(&ms, a, b); t.push_back(ms * 1000); }
    std::sort(t.begin(), t.end()); printf("copyFlat %.0f MB %7.1f us %6.0f GB/s\n", by / 1e6, t[15], by / t[15] / 1e3); }
  // the copy ceiling
  { cudaEvent_t a, b; cudaEventCreate(&a); cudaEventCreate(&b); size_t n = poolBytes / 2;
    cudaMemcpy((char*)pool + n, pool, n, cudaMemcpyDeviceToDevice);
    cudaEventRecord(a); for (int i = 0; i < 5; ++i) cudaMemcpy((char*)pool + n, pool, n, cudaMemcpyDeviceToDevice);
    cudaEventRecord(b); cudaEventSynchronize(b); float ms; cudaEventElapsedTime(&ms, a, b);
    printf("memcpy %.0f GB/s\n", 2.0 * n * 5 / ms / 1e6); }
  printf("%s\n", cudaGetErrorString(cudaGetLastError()));
}
