// Probe (nvcc, on the GPU machine; not product code): what programmatic
// dependent launch (griddepcontrol) saves between the short kernels of a CUDA
// graph. A kernel shaped like D1's state update (batch 1, D 8192, N 16, bf16
// state, 4 channels per thread, blocks of 64) runs K times in one graph, each
// on its own slot; per call time of graph replays, with and without PDL.
//   nvcc -O3 -arch=sm_90 -std=c++17 pdl-chain.cu -o pdl-chain && ./pdl-chain
#include <cstdio>
#include <cstdint>
#include <vector>
#include <algorithm>
#include <cuda_runtime.h>
constexpr int D = 8192, SLOTS = 4096, R = 4, K = 204;
#define CK(x) do { cudaError_t e = (x); if (e) { printf("%s: %s\n", #x, cudaGetErrorString(e)); return 1; } } while (0)

// mode 0: no griddepcontrol; 1: launch_dependents then wait at entry;
// 2: weights loaded, then launch_dependents and wait.
// Memref descriptors make hssm's kernels take ~80 parameters (640 bytes):
// modes 3 and 4 are modes 0 and 1 with such a block of parameters.
struct Pad { long long v[80]; };
template <int MODE>
__global__ void update(uint4 *pool, const int *slots, int call, const float *a,
                       const uint16_t *x, Pad pad) {
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (MODE == 1 || MODE == 4) {
    asm volatile("griddepcontrol.launch_dependents;");
    asm volatile("griddepcontrol.wait;" ::: "memory");
  }
  float w[R];
#pragma unroll
  for (int r = 0; r < R; ++r) w[r] = a[t * R + r];
  if (MODE == 2) {
    asm volatile("griddepcontrol.launch_dependents;");
    asm volatile("griddepcontrol.wait;" ::: "memory");
  }
  int s = slots[call];
  uint4 v[R][2];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    size_t base = ((size_t)s * D + t * R + r) * 2;
    v[r][0] = pool[base];
    v[r][1] = pool[base + 1];
  }
  float xv = x[t] * 1e-3f;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    v[r][0].x += (unsigned)(w[r] * xv);
    size_t base = ((size_t)s * D + t * R + r) * 2;
    pool[base] = v[r][0];
    pool[base + 1] = v[r][1];
  }
}

template <int MODE> int run(const char *name, uint4 *pool, int *slots, float *a, uint16_t *x) {
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  cudaGraph_t g;
  CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
  for (int c = 0; c < K; ++c) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(D / R / 64);
    cfg.blockDim = dim3(64);
    cfg.stream = st;
    cudaLaunchAttribute at[1];
    at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    at[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = at;
    cfg.numAttrs = (MODE == 0 || MODE == 3) ? 0 : 1;
    Pad pad = {};
    CK(cudaLaunchKernelEx(&cfg, update<MODE>, pool, (const int *)slots, c, (const float *)a, (const uint16_t *)x, pad));
  }
  CK(cudaStreamEndCapture(st, &g));
  cudaGraphExec_t ge;
  CK(cudaGraphInstantiate(&ge, g, 0));
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0); cudaEventCreate(&e1);
  std::vector<float> ts;
  for (int i = 0; i < 23; ++i) {
    cudaEventRecord(e0, st);
    for (int k = 0; k < 3; ++k) CK(cudaGraphLaunch(ge, st));
    cudaEventRecord(e1, st);
    CK(cudaEventSynchronize(e1));
    float ms; cudaEventElapsedTime(&ms, e0, e1);
    if (i >= 3) ts.push_back(ms * 1e3f / (3 * K));
  }
  std::sort(ts.begin(), ts.end());
  printf("%-40s %.2f us per call (min %.2f)\n", name, ts[ts.size() / 2], ts[0]);
  return 0;
}

int main() {
  uint4 *pool; int *slots; float *a; uint16_t *x;
  CK(cudaMalloc(&pool, (size_t)SLOTS * D * 32));
  CK(cudaMalloc(&slots, K * 4));
  CK(cudaMalloc(&a, D * 4));
  CK(cudaMalloc(&x, D * 2));
  std::vector<int> hs(K);
  for (int c = 0; c < K; ++c) hs[c] = (c * 1237 + 11) % SLOTS;
  CK(cudaMemcpy(slots, hs.data(), K * 4, cudaMemcpyHostToDevice));
  cudaMemset(a, 0, D * 4); cudaMemset(x, 0, D * 2);
  for (int rep = 0; rep < 2; ++rep) {
    run<0>("plain launches", pool, slots, a, x);
    run<1>("PDL, wait at entry", pool, slots, a, x);
    run<2>("PDL, weights loaded before the wait", pool, slots, a, x);
    run<3>("plain, 640 more bytes of parameters", pool, slots, a, x);
    run<4>("PDL, 640 more bytes of parameters", pool, slots, a, x);
  }
  return 0;
}
