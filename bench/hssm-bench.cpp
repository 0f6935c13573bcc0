//===- hssm-bench.cpp - The benchmark of BENCH.md -------------------------===//
//
// Every case of ../shared/BENCH.md (D1, D2, D2-f32, D3, P1, P2, P3, L-dec,
// L-pre, L-mix) as an MLIR function written here, compiled ahead of time by
// hssm-compile (scripts/bench-bundle.sh) and loaded with hssm::Artifact. Per
// case: device buffers with random contents, a 4096-slot state pool with
// random distinct slots on every run, one checked run against a plain f64
// reference (refused and reported FAILED when it disagrees), then timed runs
// with CUDA events. In the same process it measures the ceilings the lower
// bounds use: device-to-device copy bandwidth, exp2 throughput (an MLIR
// kernel, also compiled by hssm-compile) and the cuBLAS bf16 GEMM rate.
//
// What a timed run is: the artifact's entry point creates a stream, may
// allocate device temporaries, launches its kernels, synchronizes the stream
// and frees what it allocated, all inside the call. The events bracket the
// whole call on the legacy default stream, so every figure includes that host
// work; `call_overhead_us` (the same entry point with nothing to launch) says
// how much of it is fixed. With --graph, each case's call is also captured
// once as a CUDA graph and replayed back to back on the graph's stream,
// about 10 calls per timed sample, reported per call (`graph_median_us`).
// The graph holds K calls, each on its own slot set (`graph_calls`;
// --graph-calls K, default: enough that a replay moves ~240 MB of minimum
// bytes, which count reads and writes; the decode updates write the slots
// they read, so that is ~120 MB of distinct memory, over twice the L2, and
// small decode cases are not L2 hits, as BENCH.md's distinct slots per run
// ask; a one-call graph also measured the host's graph launch, ~3 us).
//
//   hssm-bench --emit-mlir DIR [--small]      writes DIR/<artifact>.mlir
//   hssm-bench [--artifacts DIR] [--case NAME]... [--json FILE] [--small]
//              [--cpu] [--budget-s S] [--time-limit-s S]
//              [--branch-artifact NAME] [--label TEXT]
//              [--graph [--graph-calls K]] [--decode-batch B]
//
// --decode-batch B runs D2, D2-f32 and D3 at batch B instead of BENCH.md's
// 256 (how a kernel's shape fares across batch sizes; not BENCH.md's case).
// --cpu runs CPU artifacts (hssm-compile --target=cpu) on host memory and
// skips the GPU ceilings; with --small (sizes shrunk, same code paths) it is
// how the benchmark itself is tested where there is no GPU.
//
//===----------------------------------------------------------------------===//

#include "hssm/Harness/BranchSource.h"
#include "hssm/Harness/Harness.h"
#include "hssm/Reference/Reference.h"
#include "hssm/Runtime/Artifact.h"
#include "hssm/Runtime/Batch.h"
#include "hssm/Runtime/Cuda.h"
#include "hssm/Runtime/DType.h"

#include <cublas_v2.h>
#include <cuda.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace hssm;

namespace {

//===----------------------------------------------------------------------===//
// Options and sizes
//===----------------------------------------------------------------------===//

bool gCpu = false;   ///< CPU artifacts on host memory (testing the bench)
bool gGraph = false; ///< also time each case's call replayed as a CUDA graph
/// Calls captured into that graph, each on its own slot set; 0: enough that
/// one replay moves about 240 MB of minimum bytes (reads and writes: for the
/// decode updates, which write the slots they read, ~120 MB of distinct
/// memory, over twice the H200's 50 MB L2), at most kSlotSets - 1 (511).
/// One call replayed would read and write the same slots every replay,
/// L2-warm for the small decode cases, where BENCH.md asks for distinct
/// random slots per run.
int gGraphCalls = 0;
bool gSmall = false; ///< shrunken sizes (testing the bench)
int64_t gDecodeBatch = 0; ///< D2, D2-f32 and D3's batch, where not 256
double gBudgetS = 40;     ///< seconds of timed runs per case, at most
double gTimeLimitS = 0;   ///< whole-program limit (0: none)
std::string gArtifacts = "artifacts";
/// The artifact (and function) the L cases run: branch_jamba, or
/// branch_jamba_loops (scripts/bench-bundle.sh lowers its hssm.linear ops
/// to loops before hssm-compile sees them, whatever the pipeline does).
std::string gBranchArtifact = "branch_jamba";
std::string gLabel;
std::chrono::steady_clock::time_point gStart;

double elapsedS() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       gStart)
      .count();
}

struct Sizes {
  int64_t slots = 4096, n = 16, w = 4;
  int64_t dDec = 8192;                // D1, D2, D3, P1, P3
  int64_t dP2 = 4096;                 // P2
  int64_t batchD2 = 256, batchD3 = 256;
  int64_t p1Tokens = 8192;
  int64_t p2Tokens = 8192, p2MaxLen = 2048;
  int64_t p3Seqs = 16, p3Len = 512;
  int64_t hd = 4096, dl = 8192, r = 256; // Jamba
  int64_t lDec = 256;
  int64_t lPreSeqs = 8, lPreLen = 1024;
  int64_t lMixDec = 192, lMixSeqs = 4, lMixLen = 512;
  int64_t expRows = 4096, expIters = 512;
  static constexpr int64_t expCols = 1024;
  size_t copyBytes = size_t(2) << 30;
  int gemmN = 8192;
};

Sizes sizes() {
  Sizes s;
  if (gDecodeBatch > 0)
    s.batchD2 = s.batchD3 = gDecodeBatch;
  if (!gSmall)
    return s;
  s.slots = 64;
  s.dDec = 256;
  s.dP2 = 128;
  s.batchD2 = 16;
  s.batchD3 = 16;
  s.p1Tokens = 512;
  s.p2Tokens = 512;
  s.p2MaxLen = 128;
  s.p3Seqs = 4;
  s.p3Len = 64;
  s.hd = 128;
  s.dl = 256;
  s.r = 16;
  s.lDec = 16;
  s.lPreSeqs = 2;
  s.lPreLen = 64;
  s.lMixDec = 6;
  s.lMixSeqs = 2;
  s.lMixLen = 32;
  s.expRows = 8;
  s.expIters = 64;
  s.copyBytes = size_t(64) << 20;
  s.gemmN = 1024;
  return s;
}

BranchConfig jambaConfig(const Sizes &s) {
  BranchConfig c;
  c.hd = s.hd;
  c.d = s.dl;
  c.n = s.n;
  c.r = s.r;
  c.w = s.w;
  c.act = DType::BF16;
  c.convState = DType::BF16;
  c.ssmState = DType::BF16;
  c.mode = BranchMode::Mamba1;
  return c;
}

//===----------------------------------------------------------------------===//
// Errors, memory, timing
//===----------------------------------------------------------------------===//

[[noreturn]] void fatal(const std::string &m) { throw std::runtime_error(m); }

void ok(const Status &s, const std::string &what) {
  if (!s.ok())
    fatal(what + ": " + s.message());
}

void cuOk(CUresult r, const char *what) {
  if (r == CUDA_SUCCESS)
    return;
  const char *name = nullptr;
  cuGetErrorName(r, &name);
  fatal(std::string(what) + " failed: " + (name ? name : "unknown CUresult"));
}

void cublasOk(cublasStatus_t s, const char *what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    fatal(std::string(what) + " failed: cublasStatus " +
          std::to_string(int(s)));
}

/// Device memory (host memory with --cpu), owned.
struct Dev {
  void *p = nullptr;
  size_t bytes = 0;
  Dev() = default;
  explicit Dev(size_t n) : bytes(n) {
    if (n == 0)
      return;
    if (gCpu) {
      p = std::malloc(n);
      if (!p)
        fatal("host allocation of " + std::to_string(n) + " bytes failed");
    } else {
      ok(cuda::allocate(n, &p), "cuda::allocate");
    }
  }
  ~Dev() { reset(); }
  Dev(const Dev &) = delete;
  Dev &operator=(const Dev &) = delete;
  Dev(Dev &&o) noexcept : p(o.p), bytes(o.bytes) {
    o.p = nullptr;
    o.bytes = 0;
  }
  Dev &operator=(Dev &&o) noexcept {
    if (this != &o) {
      reset();
      p = o.p;
      bytes = o.bytes;
      o.p = nullptr;
      o.bytes = 0;
    }
    return *this;
  }
  void reset() {
    if (p) {
      if (gCpu)
        std::free(p);
      else
        (void)cuda::release(p);
    }
    p = nullptr;
    bytes = 0;
  }
  char *at(size_t off) const { return static_cast<char *>(p) + off; }
};

void toDev(const Dev &d, const void *h, size_t n, size_t off = 0) {
  if (off + n > d.bytes)
    fatal("toDev out of range");
  if (gCpu)
    std::memcpy(d.at(off), h, n);
  else
    ok(cuda::copyToDevice(d.at(off), h, n), "copyToDevice");
}

void toHost(void *h, const Dev &d, size_t n, size_t off = 0) {
  if (off + n > d.bytes)
    fatal("toHost out of range");
  if (gCpu)
    std::memcpy(h, d.at(off), n);
  else
    ok(cuda::copyToHost(h, d.at(off), n), "copyToHost");
}

/// Host wall clock, and CUDA events on the legacy default stream.
class Timer {
public:
  Timer() {
    if (!gCpu) {
      cuOk(cuEventCreate(&e0, CU_EVENT_DEFAULT), "cuEventCreate");
      cuOk(cuEventCreate(&e1, CU_EVENT_DEFAULT), "cuEventCreate");
    }
  }
  ~Timer() {
    if (e0)
      cuEventDestroy(e0);
    if (e1)
      cuEventDestroy(e1);
  }
  /// Events go on `stream` (the legacy default stream unless given).
  void start(CUstream stream = nullptr) {
    if (!gCpu)
      cuOk(cuEventRecord(e0, stream), "cuEventRecord");
    h0 = std::chrono::steady_clock::now();
  }
  /// Device microseconds (host ones with --cpu); host ones in *hostUs.
  double stop(double *hostUs = nullptr, CUstream stream = nullptr) {
    double dev = 0;
    if (!gCpu) {
      cuOk(cuEventRecord(e1, stream), "cuEventRecord");
      cuOk(cuEventSynchronize(e1), "cuEventSynchronize");
    }
    double host = std::chrono::duration<double, std::micro>(
                      std::chrono::steady_clock::now() - h0)
                      .count();
    if (!gCpu) {
      float ms = 0;
      cuOk(cuEventElapsedTime(&ms, e0, e1), "cuEventElapsedTime");
      dev = double(ms) * 1e3;
    } else {
      dev = host;
    }
    if (hostUs)
      *hostUs = host;
    return dev;
  }

private:
  CUevent e0 = nullptr, e1 = nullptr;
  std::chrono::steady_clock::time_point h0;
};

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

//===----------------------------------------------------------------------===//
// Random host data
//===----------------------------------------------------------------------===//

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() { // splitmix64
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [lo, hi).
  float uniform(float lo, float hi) {
    return lo + (hi - lo) * float(next() >> 40) * 0x1p-24f;
  }
  int64_t below(int64_t n) { return int64_t(next() % uint64_t(n)); }
};

Elem elemOf(DType t) {
  switch (t) {
  case DType::F32: return Elem::F32;
  case DType::F16: return Elem::F16;
  case DType::BF16: return Elem::BF16;
  }
  return Elem::F32;
}

/// A tensor in a storage type: host bytes (kept while the check needs them)
/// and its device copy.
struct Tensor {
  DType type = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> host;
  Dev dev;

  size_t numel() const {
    size_t n = 1;
    for (int64_t d : shape)
      n *= size_t(d);
    return n;
  }
  size_t nbytes() const { return numel() * dtypeSize(type); }
  float get(size_t i) const { return loadElement(host.data(), i, type); }
  void set(size_t i, float v) { storeElement(host.data(), i, type, v); }
  Buffer buf() const { return Buffer{dev.p, shape, elemOf(type)}; }
  void upload() {
    dev = Dev(nbytes());
    toDev(dev, host.data(), nbytes());
  }
  void dropHost() { std::vector<uint8_t>().swap(host); }
};

Tensor hostTensor(DType t, std::vector<int64_t> shape) {
  Tensor x;
  x.type = t;
  x.shape = std::move(shape);
  x.host.assign(x.nbytes(), 0);
  return x;
}

/// Fills with uniform values in [lo, hi), rounded to the storage type.
void fillUniform(Tensor &x, float lo, float hi, uint64_t seed) {
  Rng rng(seed);
  size_t n = x.numel();
  if (x.type == DType::BF16) {
    auto *p = reinterpret_cast<uint16_t *>(x.host.data());
    for (size_t i = 0; i < n; ++i)
      p[i] = floatToBF16(rng.uniform(lo, hi));
  } else if (x.type == DType::F32) {
    auto *p = reinterpret_cast<float *>(x.host.data());
    for (size_t i = 0; i < n; ++i)
      p[i] = rng.uniform(lo, hi);
  } else {
    for (size_t i = 0; i < n; ++i)
      x.set(i, rng.uniform(lo, hi));
  }
}

Tensor randomTensor(DType t, std::vector<int64_t> shape, float lo, float hi,
                    uint64_t seed) {
  Tensor x = hostTensor(t, std::move(shape));
  fillUniform(x, lo, hi, seed);
  x.upload();
  return x;
}

/// A state pool on the device: random values in [-1, 1) in its type. The
/// host generates one block (not a multiple of a slot) and tiles the pool
/// with it; checks read the slots they need back from the device.
struct PoolBuf {
  DType type = DType::BF16;
  std::vector<int64_t> shape; // [slots, a, b]
  Dev dev;
  size_t slotElems() const { return size_t(shape[1] * shape[2]); }
  Buffer buf() const { return Buffer{dev.p, shape, elemOf(type)}; }
  /// Elements [off, off + count) of slot `slot` as floats.
  std::vector<float> read(int64_t slot, size_t off, size_t count) const {
    std::vector<uint8_t> bytes(count * dtypeSize(type));
    toHost(bytes.data(), dev, bytes.size(),
           (size_t(slot) * slotElems() + off) * dtypeSize(type));
    std::vector<float> v(count);
    for (size_t i = 0; i < count; ++i)
      v[i] = loadElement(bytes.data(), i, type);
    return v;
  }
};

PoolBuf randomPool(DType t, std::vector<int64_t> shape, uint64_t seed) {
  PoolBuf p;
  p.type = t;
  p.shape = std::move(shape);
  size_t total = size_t(p.shape[0]) * p.slotElems();
  size_t es = dtypeSize(t);
  p.dev = Dev(total * es);
  size_t blockElems = std::min(total, size_t(12) * 1024 * 1024 + 4099);
  Tensor block = hostTensor(t, {int64_t(blockElems)});
  fillUniform(block, -1.0f, 1.0f, seed);
  for (size_t off = 0; off < total; off += blockElems) {
    size_t n = std::min(blockElems, total - off);
    toDev(p.dev, block.host.data(), n * es, off * es);
  }
  return p;
}

/// Sets of `count` distinct random slots of [0, slots), one per run.
std::vector<std::vector<int32_t>> slotSets(int64_t sets, int64_t count,
                                           int64_t slots, uint64_t seed) {
  if (count > slots)
    fatal("more requests than pool slots");
  Rng rng(seed);
  std::vector<int32_t> all(slots);
  std::iota(all.begin(), all.end(), 0);
  std::vector<std::vector<int32_t>> out;
  for (int64_t s = 0; s < sets; ++s) {
    for (int64_t i = 0; i < count; ++i)
      std::swap(all[i], all[i + rng.below(slots - i)]);
    out.emplace_back(all.begin(), all.begin() + count);
  }
  return out;
}

struct IntBuf {
  Dev dev;
  int64_t n = 0;
  Elem elem = Elem::I32;
  Buffer buf() const { return Buffer{dev.p, {n}, elem}; }
};

IntBuf uploadI32(const std::vector<int32_t> &v) {
  IntBuf b;
  b.n = int64_t(v.size());
  b.dev = Dev(v.size() * 4);
  toDev(b.dev, v.data(), v.size() * 4);
  return b;
}

IntBuf uploadI8(const std::vector<uint8_t> &v) {
  IntBuf b;
  b.n = int64_t(v.size());
  b.elem = Elem::I8;
  b.dev = Dev(v.size());
  toDev(b.dev, v.data(), v.size());
  return b;
}

/// Fills a whole buffer with NaN (bf16 / f32 quiet NaN bit patterns), so
/// that an element the call does not write fails the check.
void poison(const Dev &d, DType t) {
  size_t es = dtypeSize(t);
  std::vector<uint8_t> nan(d.bytes);
  for (size_t i = 0; i + es <= d.bytes; i += es) {
    if (t == DType::F32) {
      uint32_t v = 0x7FC00000u;
      std::memcpy(&nan[i], &v, 4);
    } else {
      uint16_t v = t == DType::BF16 ? 0x7FC0 : 0x7E00;
      std::memcpy(&nan[i], &v, 2);
    }
  }
  toDev(d, nan.data(), nan.size());
}

//===----------------------------------------------------------------------===//
// Artifacts
//===----------------------------------------------------------------------===//

Invoker loadFunction(const std::string &name) {
  static std::map<std::string, std::unique_ptr<Artifact>> loaded;
  if (!loaded.count(name)) {
    std::unique_ptr<Artifact> a;
    ok(Artifact::load(gArtifacts + "/" + name + ".so", a),
       "loading artifact " + name);
    loaded[name] = std::move(a);
  }
  Invoker inv;
  ok(loaded[name]->function(name, inv), "function " + name);
  return inv;
}

//===----------------------------------------------------------------------===//
// MLIR sources
//===----------------------------------------------------------------------===//

std::string mem(std::vector<int64_t> dims, DType t) {
  std::string s = "memref<";
  for (int64_t d : dims)
    s += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
  return s + dtypeName(t) + ">";
}

const char *batchText =
    "  %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)\n"
    "      state_indices(%slots : memref<?xi32>)\n"
    "      has_initial_state(%init : memref<?xi8>)\n"
    "      decodes(%nd, %nd) prefills(%np, %npt)\n";

/// hssm.state_update (decode) or hssm.selective_scan (prefill) with z,
/// delta_bias and delta_softplus.
std::string scanSource(const std::string &fn, bool decode, int64_t d,
                       int64_t n, DType act, DType st) {
  const DType f32 = DType::F32;
  std::string tD = mem({-1, d}, act), tN = mem({-1, n}, act),
              a = mem({d, n}, f32), v = mem({d}, f32),
              pool = mem({-1, d, n}, st);
  std::ostringstream os;
  os << "func.func @" << fn << "(%u: " << tD << ", %dt: " << tD
     << ", %A: " << a << ",\n    %B: " << tN << ", %C: " << tN
     << ", %D: " << v << ", %z: " << tD << ", %db: " << v
     << ",\n    %ss: " << pool
     << ", %qsl: memref<?xi32>, %slots: memref<?xi32>, %init: memref<?xi8>,"
     << "\n    %nd: index, %np: index, %npt: index, %y: " << tD << ") {\n"
     << batchText << "  hssm." << (decode ? "state_update" : "selective_scan")
     << " u(%u : " << tD << ") delta(%dt : " << tD << ")\n      A(%A : " << a
     << ") B(%B : " << tN << ") C(%C : " << tN << ") D(%D : " << v
     << ")\n      z(%z : " << tD << ") delta_bias(%db : " << v
     << ") state(%ss : " << pool << ")\n      batch(%b) out(%y : " << tD
     << ") {delta_softplus}\n  return\n}\n";
  return os.str();
}

/// hssm.conv_update (decode) or hssm.conv1d (prefill) with bias and silu.
std::string convSource(const std::string &fn, bool decode, int64_t d,
                       int64_t w, DType act, DType st) {
  std::string tD = mem({-1, d}, act), wt = mem({d, w}, act),
              bias = mem({d}, act), pool = mem({-1, w - 1, d}, st);
  std::ostringstream os;
  os << "func.func @" << fn << "(%x: " << tD << ", %w: " << wt
     << ", %bias: " << bias << ",\n    %cs: " << pool
     << ", %qsl: memref<?xi32>, %slots: memref<?xi32>, %init: memref<?xi8>,"
     << "\n    %nd: index, %np: index, %npt: index, %out: " << tD << ") {\n"
     << batchText << "  hssm." << (decode ? "conv_update" : "conv1d")
     << " x(%x : " << tD << ") weight(%w : " << wt << ")\n      bias(%bias : "
     << bias << ") state(%cs : " << pool << ")\n      batch(%b) out(%out : "
     << tD << ") {silu}\n  return\n}\n";
  return os.str();
}

/// The exp2 throughput kernel: no hssm op, plain scf.parallel over
/// [rows, 1024] with four independent chains a <- exp2(-a) of `iters` steps
/// per element, summed into out.
std::string exp2Source(const std::string &fn) {
  std::string t = mem({-1, Sizes::expCols}, DType::F32);
  std::ostringstream os;
  os << "func.func @" << fn << "(%in: " << t << ", %out: " << t
     << ", %iters: index) {\n"
     << "  %c0 = arith.constant 0 : index\n"
     << "  %c1 = arith.constant 1 : index\n"
     << "  %cols = arith.constant " << Sizes::expCols << " : index\n"
     << "  %rows = memref.dim %in, %c0 : " << t << "\n"
     << "  %k1 = arith.constant 0.125 : f32\n"
     << "  %k2 = arith.constant 0.25 : f32\n"
     << "  %k3 = arith.constant 0.375 : f32\n"
     << "  scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %cols) step (%c1, "
        "%c1) {\n"
     << "    %x0 = memref.load %in[%i, %j] : " << t << "\n"
     << "    %x1 = arith.addf %x0, %k1 : f32\n"
     << "    %x2 = arith.addf %x0, %k2 : f32\n"
     << "    %x3 = arith.addf %x0, %k3 : f32\n"
     << "    %r:4 = scf.for %k = %c0 to %iters step %c1 iter_args(%a = %x0, "
        "%b = %x1, %c = %x2, %d = %x3) -> (f32, f32, f32, f32) {\n"
     << "      %na = arith.negf %a : f32\n"
     << "      %nb = arith.negf %b : f32\n"
     << "      %nc = arith.negf %c : f32\n"
     << "      %nd = arith.negf %d : f32\n"
     << "      %ea = math.exp2 %na : f32\n"
     << "      %eb = math.exp2 %nb : f32\n"
     << "      %ec = math.exp2 %nc : f32\n"
     << "      %ed = math.exp2 %nd : f32\n"
     << "      scf.yield %ea, %eb, %ec, %ed : f32, f32, f32, f32\n"
     << "    }\n"
     << "    %s0 = arith.addf %r#0, %r#1 : f32\n"
     << "    %s1 = arith.addf %r#2, %r#3 : f32\n"
     << "    %s = arith.addf %s0, %s1 : f32\n"
     << "    memref.store %s, %out[%i, %j] : " << t << "\n"
     << "    scf.reduce\n"
     << "  }\n"
     << "  return\n}\n";
  return os.str();
}

/// Artifact name -> MLIR text, for --emit-mlir.
std::map<std::string, std::string> allSources() {
  Sizes s = sizes();
  const DType bf = DType::BF16;
  std::map<std::string, std::string> m;
  m["state_update_bf16"] =
      scanSource("state_update_bf16", true, s.dDec, s.n, bf, bf);
  m["state_update_f32"] =
      scanSource("state_update_f32", true, s.dDec, s.n, bf, DType::F32);
  m["conv_update"] = convSource("conv_update", true, s.dDec, s.w, bf, bf);
  m["scan_p1"] = scanSource("scan_p1", false, s.dDec, s.n, bf, bf);
  m["scan_p2"] = scanSource("scan_p2", false, s.dP2, s.n, bf, bf);
  m["conv1d"] = convSource("conv1d", false, s.dDec, s.w, bf, bf);
  m["branch_jamba"] = historyBranchSource(jambaConfig(s), "branch_jamba");
  m["branch_jamba_loops"] =
      historyBranchSource(jambaConfig(s), "branch_jamba_loops");
  m["exp2_rate"] = exp2Source("exp2_rate");
  return m;
}

//===----------------------------------------------------------------------===//
// Results
//===----------------------------------------------------------------------===//

struct Ceilings {
  double copyGBps = 0, exp2PerS = 0, gemmFlops = 0, callOverheadUs = 0;
  std::string copyNote, exp2Note, gemmNote;
};
Ceilings gCeil;
constexpr double kLaunchFloorUs = 2.0;

struct Result {
  std::string name, what, shapes, dtypes, note;
  bool passed = false;  ///< checked and within tolerance
  bool timed = false;
  std::string error;    ///< why it failed or was skipped
  std::string checkText;
  double checkMaxAbs = 0, checkMaxRel = 0, checkScale = 0;
  size_t checkCount = 0;
  int runs = 0, warmup = 0;
  double medianUs = 0, minUs = 0, maxUs = 0, hostMedianUs = 0, checkRunUs = 0;
  /// `graphCalls` calls captured once as a CUDA graph and replayed
  /// (--graph), per call.
  double graphMedianUs = 0, graphMinUs = 0, graphRoofline = 0;
  int graphRuns = 0, graphCalls = 1;
  double bytes = 0, exps = 0, flops = 0;
  double boundUs = 0, roofline = 0, gbps = 0;
  std::string boundBy;

  void finish() {
    double tb = gCeil.copyGBps > 0 ? bytes / (gCeil.copyGBps * 1e3) : 0;
    double te = gCeil.exp2PerS > 0 ? exps / gCeil.exp2PerS * 1e6 : 0;
    double tg = gCeil.gemmFlops > 0 ? flops / gCeil.gemmFlops * 1e6 : 0;
    boundUs = kLaunchFloorUs;
    boundBy = "launch";
    if (tb > boundUs) boundUs = tb, boundBy = "bytes";
    if (te > boundUs) boundUs = te, boundBy = "exp2";
    if (tg > boundUs) boundUs = tg, boundBy = "gemm";
    if (medianUs > 0) {
      roofline = boundUs / medianUs;
      gbps = bytes / (medianUs * 1e3);
    }
    if (graphMedianUs > 0)
      graphRoofline = boundUs / graphMedianUs;
  }
};

/// Adds one comparison to a case's check; returns whether it passed.
bool addCheck(Result &r, const std::string &what,
              const std::vector<float> &got, const std::vector<double> &want,
              const harness::Tolerance &tol) {
  harness::Comparison c = harness::compare(got, want, tol);
  char line[512];
  std::snprintf(line, sizeof line,
                "%s%s: %zu values, max abs err %.3g (scale %.3g), max rel "
                "%.3g%s",
                r.checkText.empty() ? "" : "; ", what.c_str(), c.count,
                c.maxAbs, c.scale, c.maxRel, c.ok ? "" : " OUT OF TOLERANCE");
  r.checkText += line;
  r.checkMaxAbs = std::max(r.checkMaxAbs, c.maxAbs);
  r.checkMaxRel = std::max(r.checkMaxRel, c.maxRel);
  r.checkScale = std::max(r.checkScale, c.scale);
  r.checkCount += c.count;
  if (!c.ok) {
    std::snprintf(line, sizeof line,
                  " (worst at %zu: got %.6g, want %.6g)", c.worst,
                  c.worst < got.size() ? double(got[c.worst]) : 0.0,
                  c.worst < want.size() ? want[c.worst] : 0.0);
    r.checkText += line;
  }
  return c.ok;
}

std::vector<float> downloadFloats(const Dev &d, DType t, size_t numel) {
  std::vector<uint8_t> bytes(numel * dtypeSize(t));
  toHost(bytes.data(), d, bytes.size());
  std::vector<float> v(numel);
  for (size_t i = 0; i < numel; ++i)
    v[i] = loadElement(bytes.data(), i, t);
  return v;
}

/// One call, timed.
double callOnce(const Invoker &inv, const std::vector<Arg> &args,
                const char *what) {
  Timer t;
  t.start();
  Status st = inv(args);
  double us = t.stop();
  ok(st, what);
  return us;
}

/// The check run of a case: `out` poisoned first (an element the kernel
/// skips shows), one timed call with run 0's arguments (r.checkRunUs), and
/// `count` outputs of type `type` read back.
std::vector<float> checkRun(Result &r, const Invoker &inv,
                            const std::vector<Arg> &args, const Dev &out,
                            DType type, size_t count) {
  poison(out, type);
  std::printf("[bench] %s: check run\n", r.name.c_str());
  std::fflush(stdout);
  r.checkRunUs = callOnce(inv, args, r.name.c_str());
  return downloadFloats(out, type, count);
}

/// Warm-up and timed runs; run i uses args(i) (run 0 was the check).
void timeRuns(Result &r, const Invoker &inv,
              const std::function<std::vector<Arg>(int)> &args, int maxRuns) {
  double est = std::max(r.checkRunUs, 1.0) * 1e-6; // seconds per call
  double budget = gBudgetS;
  if (gTimeLimitS > 0)
    budget = std::min(budget, 0.8 * (gTimeLimitS - elapsedS()) - est);
  // A call of a second or more: the check run was its warm-up (modules
  // loaded, first-touch costs paid).
  int warm = est > 1.0 ? 0 : 3;
  int runs = est < 2e-3 ? 50 : 20;
  if (runs * est > budget)
    runs = int(std::max(0.0, budget / est - warm));
  runs = std::min(runs, maxRuns - 1 - warm);
  if (runs < 3) {
    // Too slow for the budget: at least three timed runs, one warm-up at
    // most.
    runs = 3;
    warm = std::min(warm, 1);
    if (gTimeLimitS > 0 &&
        elapsedS() + (runs + warm) * est > 0.95 * gTimeLimitS) {
      // No time left for more: the check run is the only measurement.
      r.timed = true;
      r.runs = 1;
      r.medianUs = r.minUs = r.maxUs = r.hostMedianUs = r.checkRunUs;
      r.note += (r.note.empty() ? "" : "; ") +
                std::string("ONE run only (the check run, a cold call): no "
                            "time left under --time-limit-s for more");
      return;
    }
  }
  // All argument lists first, so that only the call is timed.
  std::vector<std::vector<Arg>> all;
  for (int i = 0; i < warm + runs; ++i)
    all.push_back(args(1 + i));
  std::printf("[bench] %s: %d warm-up + %d timed runs (a call took %.1f us "
              "in the check)\n",
              r.name.c_str(), warm, runs, r.checkRunUs);
  std::fflush(stdout);
  Timer t;
  std::vector<double> dev, host;
  for (int i = 0; i < warm + runs; ++i) {
    t.start();
    Status st = inv(all[i]);
    double h = 0;
    double d = t.stop(&h);
    ok(st, r.name + " run " + std::to_string(i));
    if (i >= warm) {
      dev.push_back(d);
      host.push_back(h);
    }
  }
  if (gGraph && !gCpu) {
    // Capture `calls` calls, each on its own slot set, once and replay
    // them (a graph keeps its pointers, so the sets repeat every replay).
    int calls = gGraphCalls;
    if (calls <= 0)
      calls = int(std::ceil(240e6 / std::max(r.bytes, 1.0)));
    calls = std::clamp(calls, 1, maxRuns - 1);
    std::vector<std::vector<Arg>> captured;
    for (int c = 0; c < calls; ++c)
      captured.push_back(args(1 + c));
    std::unique_ptr<cuda::Graph> graph;
    Status st = cuda::Graph::capture(
        [&] {
          Status s;
          for (int c = 0; c < calls && s; ++c)
            s = inv(captured[c]);
          return s;
        },
        graph);
    if (!st) {
      r.note += (r.note.empty() ? "" : "; ") +
                std::string("graph capture failed: ") + st.message();
    } else {
      // Replays are timed as a serving loop issues them: back to back on
      // the graph's stream, about 10 calls per timed sample, so the figure
      // is the GPU's time per call, not the host's launch latency.
      const int kReplaysPerSample = std::max(1, (10 + calls - 1) / calls);
      auto stream = static_cast<CUstream>(graph->replayStream());
      std::vector<double> replays;
      for (int i = 0; i < 3 + runs; ++i) {
        t.start(stream);
        Status rs;
        for (int k = 0; k < kReplaysPerSample && rs; ++k)
          rs = graph->launch();
        double d = t.stop(nullptr, stream) / (kReplaysPerSample * calls);
        ok(rs, r.name + " graph replay " + std::to_string(i));
        if (i >= 3)
          replays.push_back(d);
      }
      r.graphRuns = int(replays.size());
      r.graphCalls = calls;
      r.graphMedianUs = median(replays);
      r.graphMinUs = *std::min_element(replays.begin(), replays.end());
    }
  }
  r.timed = true;
  r.warmup = warm;
  r.runs = runs;
  r.medianUs = median(dev);
  r.minUs = *std::min_element(dev.begin(), dev.end());
  r.maxUs = *std::max_element(dev.begin(), dev.end());
  r.hostMedianUs = median(host);
  if (warm == 0)
    r.note += (r.note.empty() ? "" : "; ") +
              std::string("no warm-up beyond the check run");
  if (runs < 20)
    r.note += (r.note.empty() ? "" : "; ") +
              std::string("only ") + std::to_string(runs) +
              " timed runs (a call takes " +
              std::to_string(int(r.checkRunUs / 1e3)) +
              " ms; per-case budget " + std::to_string(int(gBudgetS)) + " s)";
}

constexpr int kSlotSets = 512; ///< distinct slot draws per case (1 check + runs, graph calls)

/// The batch of a case: its first `decodes` rows are decodes (one token
/// each), the rest prefills; offsets from the lengths, the metadata on the
/// device, and kSlotSets sets of distinct random slots (one per run). The
/// first set is checked against SPEC.md section 3 before anything runs.
struct CaseBatch {
  int64_t decodes = 0, reqs = 0, tokens = 0;
  std::vector<int32_t> qsl = {0};
  std::vector<std::vector<int32_t>> sets;
  IntBuf qslBuf, initBuf;
  std::vector<IntBuf> slotBufs;

  CaseBatch(int64_t decodes, const std::vector<int64_t> &lens,
            const std::vector<uint8_t> &init, int64_t slots, uint64_t seed)
      : decodes(decodes), reqs(int64_t(lens.size())) {
    for (int64_t l : lens)
      qsl.push_back(qsl.back() + int32_t(l));
    tokens = qsl.back();
    qslBuf = uploadI32(qsl);
    initBuf = uploadI8(init);
    sets = slotSets(kSlotSets, reqs, slots, seed);
    for (auto &set : sets)
      slotBufs.push_back(uploadI32(set));
    BatchView v;
    v.numReqs = reqs;
    v.numTokens = tokens;
    v.queryStartLoc = qsl.data();
    v.stateIndices = sets[0].data();
    v.hasInitialState = init.data();
    v.numDecodes = v.numDecodeTokens = decodes;
    v.numPrefills = prefills();
    v.numPrefillTokens = prefillTokens();
    ok(checkBatch(v, {slots, -1}), "batch");
  }

  int64_t prefills() const { return reqs - decodes; }
  int64_t prefillTokens() const { return tokens - decodes; }
  const IntBuf &slotsOf(int run) const {
    return slotBufs[size_t(run) % slotBufs.size()];
  }

  /// The batch arguments of run `run`: query_start_loc, state_indices,
  /// has_initial_state, num_decodes, num_prefills, num_prefill_tokens.
  std::vector<Arg> args(int run) const {
    return {qslBuf.buf(), slotsOf(run).buf(), initBuf.buf(), decodes,
            prefills(), prefillTokens()};
  }

  /// "batch 256, seqs 256" (all decodes) or "tokens 8192, seqs 16".
  std::string shape() const {
    return (decodes == reqs ? "batch " : "tokens ") + std::to_string(tokens) +
           ", seqs " + std::to_string(reqs);
  }
};

/// `head`, then the batch arguments of run `run`, then `tail`.
std::vector<Arg> withBatch(std::vector<Arg> head, const CaseBatch &batch,
                           int run, std::vector<Arg> tail) {
  std::vector<Arg> b = batch.args(run);
  head.insert(head.end(), b.begin(), b.end());
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

//===----------------------------------------------------------------------===//
// Plain f64 references of the primitives (SPEC.md section 2)
//===----------------------------------------------------------------------===//

double silu(double v) { return v / (1.0 + std::exp(-v)); }
double softplus(double v) { return v > 20.0 ? v : std::log1p(std::exp(v)); }

/// Channels to check: both ends and a spread of others.
std::vector<int64_t> checkChannels(int64_t d, int64_t count) {
  std::vector<int64_t> ch = {0, d - 1};
  for (int64_t k = 0; k < count; ++k)
    ch.push_back((k * 131 + 7) % d);
  std::sort(ch.begin(), ch.end());
  ch.erase(std::unique(ch.begin(), ch.end()), ch.end());
  return ch;
}

//===----------------------------------------------------------------------===//
// D1, D2, D2-f32, P1, P2: state_update and selective_scan
//===----------------------------------------------------------------------===//

struct ScanCase {
  std::string name, what, artifact;
  bool decode = true;
  int64_t d = 0;
  DType state = DType::BF16;
  std::vector<int64_t> lens;  ///< tokens per sequence (1 each for decodes)
  std::vector<uint8_t> init;  ///< has_initial_state per sequence
  int64_t checkRows = 0;      ///< decode rows checked (all channels)
  int64_t checkCh = 0;        ///< prefill channels checked (all tokens)
};

Result runScan(const ScanCase &c) {
  Sizes s = sizes();
  const DType bf = DType::BF16;
  const int64_t n = s.n, d = c.d, reqs = int64_t(c.lens.size());
  uint64_t seed = std::hash<std::string>()(c.name);
  CaseBatch batch(c.decode ? int64_t(c.lens.size()) : 0, c.lens, c.init,
                  s.slots, seed + 8);
  const std::vector<int32_t> &qsl = batch.qsl;
  const auto &sets = batch.sets;
  const int64_t T = batch.tokens;
  Result r;
  r.name = c.name;
  r.what = c.what;
  r.shapes = batch.shape() + ", D " + std::to_string(d) + ", N " +
             std::to_string(n) + ", pool " + std::to_string(s.slots);
  r.dtypes = std::string("act bf16, A/D/b_dt f32, state ") +
             dtypeName(c.state);
  const double a = 2, st = double(dtypeSize(c.state));
  for (int64_t i = 0; i < reqs; ++i) {
    r.bytes += double(c.lens[i]) * (4 * d * a + 2 * n * a);
    r.bytes += double(d * n) * st * ((c.decode || c.init[i]) ? 2 : 1);
  }
  r.exps = double(T) * double(d) * double(n);

  // Inputs. delta + b_dt goes through softplus; b_dt = softplus^-1(dt) with
  // dt log-uniform in [1e-3, 1e-1] (Mamba's initialisation).
  Tensor u = randomTensor(bf, {T, d}, -1, 1, seed + 1);
  Tensor dt = randomTensor(bf, {T, d}, -0.5f, 0.5f, seed + 2);
  Tensor z = randomTensor(bf, {T, d}, -1, 1, seed + 3);
  Tensor B = randomTensor(bf, {T, n}, -1, 1, seed + 4);
  Tensor C = randomTensor(bf, {T, n}, -1, 1, seed + 5);
  Tensor A = hostTensor(DType::F32, {d, n});
  Tensor Dk = hostTensor(DType::F32, {d});
  Tensor db = hostTensor(DType::F32, {d});
  {
    Rng rng(seed + 6);
    for (int64_t i = 0; i < d; ++i) {
      float scale = rng.uniform(0.5f, 1.5f);
      for (int64_t j = 0; j < n; ++j)
        A.set(size_t(i * n + j), -float(j + 1) * scale);
      Dk.set(size_t(i), rng.uniform(0.5f, 1.5f));
      float step = std::exp(rng.uniform(std::log(1e-3f), std::log(1e-1f)));
      db.set(size_t(i), step + std::log(-std::expm1(-step)));
    }
  }
  A.upload();
  Dk.upload();
  db.upload();
  PoolBuf pool = randomPool(c.state, {s.slots, d, n}, seed + 7);
  Tensor y = hostTensor(bf, {T, d});
  y.dev = Dev(y.nbytes());
  y.dropHost();
  Invoker inv = loadFunction(c.artifact);
  auto args = [&](int run) {
    return withBatch({u.buf(), dt.buf(), A.buf(), B.buf(), C.buf(), Dk.buf(),
                      z.buf(), db.buf(), pool.buf()},
                     batch, run, {y.buf()});
  };

  // The check: rows (decode) or channels (prefill) against the reference.
  std::vector<int64_t> rows;
  if (c.decode) {
    rows = {0, reqs - 1};
    Rng rr(seed + 9);
    while (int64_t(rows.size()) < std::min(c.checkRows, reqs))
      rows.push_back(rr.below(reqs));
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  } else {
    rows.resize(reqs);
    std::iota(rows.begin(), rows.end(), 0);
  }
  std::vector<int64_t> chans;
  if (c.decode) {
    chans.resize(d);
    std::iota(chans.begin(), chans.end(), 0);
  } else {
    chans = checkChannels(d, c.checkCh);
  }
  std::vector<std::vector<float>> before;
  for (int64_t row : rows)
    before.push_back(pool.read(sets[0][row], 0, pool.slotElems()));
  std::vector<float> yGot = checkRun(r, inv, args(0), y.dev, bf, size_t(T * d));
  std::vector<float> gotY, gotS;
  std::vector<double> wantY, wantS;
  for (size_t ri = 0; ri < rows.size(); ++ri) {
    int64_t row = rows[ri];
    bool reads = c.decode || c.init[row];
    std::vector<float> after = pool.read(sets[0][row], 0, pool.slotElems());
    for (int64_t ch : chans) {
      std::vector<double> h(n, 0.0);
      if (reads)
        for (int64_t j = 0; j < n; ++j)
          h[j] = before[ri][ch * n + j];
      for (int64_t t = qsl[row]; t < qsl[row + 1]; ++t) {
        double delta =
            softplus(double(dt.get(t * d + ch)) + double(db.get(ch)));
        double uu = u.get(t * d + ch), acc = 0;
        for (int64_t j = 0; j < n; ++j) {
          h[j] = std::exp(delta * double(A.get(ch * n + j))) * h[j] +
                 delta * double(B.get(t * n + j)) * uu;
          acc += double(C.get(t * n + j)) * h[j];
        }
        wantY.push_back((acc + double(Dk.get(ch)) * uu) *
                        silu(double(z.get(t * d + ch))));
        gotY.push_back(yGot[t * d + ch]);
      }
      for (int64_t j = 0; j < n; ++j) {
        wantS.push_back(h[j]);
        gotS.push_back(after[ch * n + j]);
      }
    }
  }
  harness::Tolerance tol = harness::toleranceFor(bf, bf, c.state);
  bool pass = addCheck(r, "y", gotY, wantY, tol);
  pass = addCheck(r, "state", gotS, wantS, tol) && pass;
  r.passed = pass;
  std::ostringstream cn;
  cn << "checked " << rows.size() << " rows x " << chans.size()
     << " channels";
  r.note = cn.str();
  if (!pass)
    return r;
  // Host copies are no longer needed.
  for (Tensor *x : {&u, &dt, &z, &B, &C})
    x->dropHost();
  timeRuns(r, inv, args, kSlotSets);
  return r;
}

//===----------------------------------------------------------------------===//
// D3, P3: conv_update and conv1d
//===----------------------------------------------------------------------===//

struct ConvCase {
  std::string name, what, artifact;
  bool decode = true;
  int64_t d = 0;
  std::vector<int64_t> lens;
  std::vector<uint8_t> init;
  int64_t checkCh = 0; ///< channels checked (0: all)
};

Result runConv(const ConvCase &c) {
  Sizes s = sizes();
  const DType bf = DType::BF16;
  const int64_t w = s.w, d = c.d, reqs = int64_t(c.lens.size());
  uint64_t seed = std::hash<std::string>()(c.name);
  CaseBatch batch(c.decode ? int64_t(c.lens.size()) : 0, c.lens, c.init,
                  s.slots, seed + 5);
  const std::vector<int32_t> &qsl = batch.qsl;
  const auto &sets = batch.sets;
  const int64_t T = batch.tokens;
  Result r;
  r.name = c.name;
  r.what = c.what;
  r.shapes = batch.shape() + ", D " + std::to_string(d) + ", W " +
             std::to_string(w) + ", pool " + std::to_string(s.slots);
  r.dtypes = "act bf16, weight/bias bf16, conv state bf16";
  for (int64_t i = 0; i < reqs; ++i) {
    r.bytes += double(c.lens[i]) * 2 * d * 2;
    r.bytes += double((w - 1) * d) * 2 * ((c.decode || c.init[i]) ? 2 : 1);
  }

  float ws = 3.0f / std::sqrt(float(w));
  Tensor x = randomTensor(bf, {T, d}, -1, 1, seed + 1);
  Tensor wt = randomTensor(bf, {d, w}, -ws, ws, seed + 2);
  Tensor bias = randomTensor(bf, {d}, -0.1f, 0.1f, seed + 3);
  PoolBuf pool = randomPool(bf, {s.slots, w - 1, d}, seed + 4);
  Tensor out = hostTensor(bf, {T, d});
  out.dev = Dev(out.nbytes());
  out.dropHost();
  Invoker inv = loadFunction(c.artifact);
  auto args = [&](int run) {
    return withBatch({x.buf(), wt.buf(), bias.buf(), pool.buf()}, batch, run,
                     {out.buf()});
  };

  std::vector<int64_t> chans;
  if (c.checkCh == 0) {
    chans.resize(d);
    std::iota(chans.begin(), chans.end(), 0);
  } else {
    chans = checkChannels(d, c.checkCh);
  }
  std::vector<std::vector<float>> before;
  for (int64_t row = 0; row < reqs; ++row)
    before.push_back(pool.read(sets[0][row], 0, pool.slotElems()));
  std::vector<float> got = checkRun(r, inv, args(0), out.dev, bf, size_t(T * d));
  std::vector<float> gotY, gotS;
  std::vector<double> wantY, wantS;
  for (int64_t row = 0; row < reqs; ++row) {
    bool reads = c.decode || c.init[row];
    std::vector<float> after = pool.read(sets[0][row], 0, pool.slotElems());
    for (int64_t ch : chans) {
      std::vector<double> win(w - 1, 0.0); // oldest first
      if (reads)
        for (int64_t k = 0; k < w - 1; ++k)
          win[k] = before[row][k * d + ch];
      for (int64_t t = qsl[row]; t < qsl[row + 1]; ++t) {
        double xt = x.get(t * d + ch);
        double acc = bias.get(ch);
        for (int64_t k = 0; k < w - 1; ++k)
          acc += double(wt.get(ch * w + k)) * win[k];
        acc += double(wt.get(ch * w + w - 1)) * xt;
        wantY.push_back(silu(acc));
        gotY.push_back(got[t * d + ch]);
        win.erase(win.begin());
        win.push_back(xt);
      }
      for (int64_t k = 0; k < w - 1; ++k) {
        wantS.push_back(win[k]);
        gotS.push_back(after[k * d + ch]);
      }
    }
  }
  harness::Tolerance tol = harness::toleranceFor(bf, bf, bf);
  bool pass = addCheck(r, "out", gotY, wantY, tol);
  pass = addCheck(r, "conv state", gotS, wantS, tol) && pass;
  r.passed = pass;
  std::ostringstream cn;
  cn << "checked " << reqs << " rows x " << chans.size() << " channels";
  r.note = cn.str();
  if (!pass)
    return r;
  x.dropHost();
  timeRuns(r, inv, args, kSlotSets);
  return r;
}

//===----------------------------------------------------------------------===//
// L-dec, L-pre, L-mix: the whole branch at Jamba sizes
//===----------------------------------------------------------------------===//

/// The Jamba-size model, built once for the three L cases: bf16 on the
/// device, floats for the reference, with harness::makeRandomModel's scales.
struct JambaModel {
  BranchConfig cfg;
  Tensor inProj, convW, convB, xProj, dtProj, dtBias, a, dSkip, outProj;
  ref::Weights weights;
  PoolBuf conv, ssm;
};

JambaModel &jamba() {
  static std::unique_ptr<JambaModel> m;
  if (m)
    return *m;
  Sizes s = sizes();
  m = std::make_unique<JambaModel>();
  BranchConfig c = jambaConfig(s);
  m->cfg = c;
  const DType bf = DType::BF16, f32 = DType::F32;
  auto inv = [](int64_t k) { return 3.0f / std::sqrt(float(k)); };
  auto make = [](Tensor &t, DType ty, std::vector<int64_t> shape, float sc,
                 uint64_t seed, std::vector<float> &floats) {
    t = hostTensor(ty, std::move(shape));
    fillUniform(t, -sc, sc, seed);
    floats.resize(t.numel());
    for (size_t i = 0; i < floats.size(); ++i)
      floats[i] = t.get(i);
    t.upload();
    t.dropHost();
  };
  ref::Weights &w = m->weights;
  make(m->inProj, bf, {2 * c.d, c.hd}, inv(c.hd), 101, w.inProj);
  make(m->convW, bf, {c.d, c.w}, inv(c.w), 102, w.convWeight);
  make(m->convB, bf, {c.d}, 0.1f, 103, w.convBias);
  make(m->xProj, bf, {c.r + 2 * c.n, c.d},
       inv(c.d) * std::min(1.0f, 4.0f / std::sqrt(float(c.n))), 104, w.xProj);
  make(m->dtProj, bf, {c.d, c.r}, 0.1f * inv(c.r), 105, w.dtProj);
  make(m->outProj, bf, {c.hd, c.d}, 0.1f * inv(c.d), 106, w.outProj);
  m->dtBias = hostTensor(f32, {c.d});
  m->a = hostTensor(f32, {c.d, c.n});
  m->dSkip = hostTensor(f32, {c.d});
  Rng rng(107);
  for (int64_t i = 0; i < c.d; ++i) {
    float step = std::exp(rng.uniform(std::log(1e-3f), std::log(1e-1f)));
    m->dtBias.set(size_t(i), step + std::log(-std::expm1(-step)));
    m->dSkip.set(size_t(i), 1.0f);
    for (int64_t j = 0; j < c.n; ++j)
      m->a.set(size_t(i * c.n + j), -float(j + 1));
  }
  w.dtBias.resize(size_t(c.d));
  w.a.resize(size_t(c.d * c.n));
  w.dSkip.resize(size_t(c.d));
  for (int64_t i = 0; i < c.d; ++i) {
    w.dtBias[i] = m->dtBias.get(size_t(i));
    w.dSkip[i] = m->dSkip.get(size_t(i));
    for (int64_t j = 0; j < c.n; ++j)
      w.a[i * c.n + j] = m->a.get(size_t(i * c.n + j));
  }
  m->dtBias.upload();
  m->a.upload();
  m->dSkip.upload();
  m->conv = randomPool(c.convState, {s.slots, c.w - 1, c.d}, 108);
  m->ssm = randomPool(c.ssmState, {s.slots, c.d, c.n}, 109);
  return *m;
}

struct BranchCase {
  std::string name, what;
  int64_t decodes = 0;
  std::vector<int64_t> prefillLens;
  bool prefillInit = false;
  int64_t checkDecodes = 0;   ///< decode rows checked fully (output + states)
  int64_t checkPrefills = 0;  ///< prefill rows checked on their first tokens
  int64_t checkTokens = 0;
};

Result runBranch(const BranchCase &bc) {
  Sizes s = sizes();
  std::printf("[bench] %s: building the Jamba-size model\n", bc.name.c_str());
  std::fflush(stdout);
  JambaModel &m = jamba();
  const BranchConfig &c = m.cfg;
  const DType bf = DType::BF16;
  std::vector<int64_t> lens(size_t(bc.decodes), 1);
  lens.insert(lens.end(), bc.prefillLens.begin(), bc.prefillLens.end());
  std::vector<uint8_t> init(size_t(bc.decodes), 1);
  init.resize(lens.size(), bc.prefillInit ? 1 : 0);
  uint64_t seed = std::hash<std::string>()(bc.name);
  CaseBatch batch(bc.decodes, lens, init, s.slots, seed + 2);
  const std::vector<int32_t> &qsl = batch.qsl;
  const auto &sets = batch.sets;
  const int64_t reqs = batch.reqs, T = batch.tokens;
  Result r;
  r.name = bc.name;
  r.what = bc.what;
  std::ostringstream sh;
  sh << "tokens " << T << " (" << bc.decodes << " decodes";
  if (!bc.prefillLens.empty())
    sh << ", " << bc.prefillLens.size() << " prefills x "
       << bc.prefillLens[0];
  sh << "), Hd " << c.hd << ", D " << c.d << ", R " << c.r << ", N " << c.n
     << ", W " << c.w << ", pool " << s.slots;
  r.shapes = sh.str();
  r.dtypes = "act/weights bf16, A/Dskip/b_dt f32, conv+ssm states bf16, "
             "temporaries f32";
  const double a = 2;
  double weights = double(2 * c.d * c.hd + c.d * c.w + c.d +
                          (c.r + 2 * c.n) * c.d + c.d * c.r + c.hd * c.d) *
                       a +
                   double(c.d + c.d * c.n + c.d) * 4;
  double slotBytes = double((c.w - 1) * c.d) * 2 + double(c.d * c.n) * 2;
  r.bytes = weights + 2.0 * double(T * c.hd) * a;
  for (int64_t i = 0; i < reqs; ++i)
    r.bytes += slotBytes * (init[i] ? 2 : 1);
  r.exps = double(T) * double(c.d) * double(c.n);
  r.flops = 2.0 * double(T) *
            double(2 * c.d * c.hd + (c.r + 2 * c.n) * c.d + c.d * c.r +
                   c.hd * c.d);

  Tensor x = randomTensor(bf, {T, c.hd}, -1, 1, seed + 1);
  Tensor out = hostTensor(bf, {T, c.hd});
  out.dev = Dev(out.nbytes());
  out.dropHost();
  Invoker inv = loadFunction(gBranchArtifact);
  auto args = [&](int run) {
    const IntBuf &slots = batch.slotsOf(run);
    return std::vector<Arg>{
        x.buf(),      m.inProj.buf(), m.convW.buf(), m.convB.buf(),
        m.xProj.buf(), m.dtProj.buf(), m.dtBias.buf(), m.a.buf(),
        m.dSkip.buf(), m.outProj.buf(), m.conv.buf(), m.ssm.buf(),
        batch.qslBuf.buf(), slots.buf(), slots.buf(), batch.initBuf.buf(),
        batch.decodes, batch.prefills(), batch.prefillTokens(),
        out.buf()};
  };

  // Rows to check: decodes fully, prefills on their first tokens (the
  // outputs of a prefix do not depend on the tokens after it).
  struct Check {
    int64_t row, tokens;
    bool decode;
    std::vector<float> conv, ssm; // slot before the call
  };
  std::vector<Check> checks;
  {
    Rng rr(seed + 3);
    std::vector<int64_t> dec;
    if (bc.decodes > 0)
      dec = {0, bc.decodes - 1};
    while (int64_t(dec.size()) < std::min(bc.checkDecodes, bc.decodes))
      dec.push_back(rr.below(bc.decodes));
    std::sort(dec.begin(), dec.end());
    dec.erase(std::unique(dec.begin(), dec.end()), dec.end());
    for (int64_t row : dec)
      checks.push_back({row, 1, true, {}, {}});
    int64_t np = int64_t(bc.prefillLens.size());
    for (int64_t i = 0; i < std::min(bc.checkPrefills, np); ++i) {
      int64_t p = i == 0 ? 0 : np - 1 - (i - 1);
      int64_t row = bc.decodes + p;
      checks.push_back(
          {row, std::min(bc.checkTokens, bc.prefillLens[p]), false, {}, {}});
    }
  }
  for (Check &k : checks) {
    int32_t slot = sets[0][k.row];
    k.conv = m.conv.read(slot, 0, m.conv.slotElems());
    k.ssm = m.ssm.read(slot, 0, m.ssm.slotElems());
  }
  std::vector<float> got =
      checkRun(r, inv, args(0), out.dev, bf, size_t(T * c.hd));

  // The reference, one thread per checked row (each its own one-row batch).
  ref::Sizes rs{c.hd, c.d, c.n, c.r, c.w};
  std::vector<std::vector<double>> want(checks.size());
  std::vector<ref::Pool> pools(checks.size());
  {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < checks.size(); ++i) {
      threads.emplace_back([&, i] {
        const Check &k = checks[i];
        ref::Pool &p = pools[i];
        p = ref::makePool(rs, 1, -1, c.convState, c.ssmState);
        if (init[k.row]) {
          p.conv = k.conv;
          p.ssm = k.ssm;
        }
        ref::Batch b;
        b.queryStartLoc = {0, int32_t(k.tokens)};
        b.stateIndices = {0};
        b.hasInitialState = {init[k.row]};
        b.numDecodes = k.decode ? 1 : 0;
        b.numPrefills = k.decode ? 0 : 1;
        std::vector<float> xin(size_t(k.tokens * c.hd));
        for (int64_t t = 0; t < k.tokens; ++t)
          for (int64_t h = 0; h < c.hd; ++h)
            xin[t * c.hd + h] = x.get(size_t((qsl[k.row] + t) * c.hd + h));
        ref::mamba1Step(rs, m.weights, b, xin, p, want[i]);
      });
    }
    for (std::thread &t : threads)
      t.join();
  }
  std::vector<float> gotY, gotS;
  std::vector<double> wantY, wantS;
  int64_t checkedTokens = 0;
  for (size_t i = 0; i < checks.size(); ++i) {
    const Check &k = checks[i];
    for (int64_t t = 0; t < k.tokens; ++t)
      for (int64_t h = 0; h < c.hd; ++h) {
        gotY.push_back(got[(qsl[k.row] + t) * c.hd + h]);
        wantY.push_back(want[i][t * c.hd + h]);
      }
    checkedTokens += k.tokens;
    if (!k.decode)
      continue; // a truncated prefill's final state is not the real one
    int32_t slot = sets[0][k.row];
    std::vector<float> conv = m.conv.read(slot, 0, m.conv.slotElems());
    std::vector<float> ssm = m.ssm.read(slot, 0, m.ssm.slotElems());
    for (size_t j = 0; j < conv.size(); ++j) {
      gotS.push_back(conv[j]);
      wantS.push_back(pools[i].conv[j]);
    }
    for (size_t j = 0; j < ssm.size(); ++j) {
      gotS.push_back(ssm[j]);
      wantS.push_back(pools[i].ssm[j]);
    }
  }
  harness::Tolerance tol = harness::toleranceFor(c.act, c.convState,
                                                 c.ssmState);
  bool pass = addCheck(r, "out", gotY, wantY, tol);
  if (!gotS.empty())
    pass = addCheck(r, "states", gotS, wantS, tol) && pass;
  r.passed = pass;
  std::ostringstream cn;
  cn << "checked " << checkedTokens << " tokens of " << checks.size()
     << " rows against ref::mamba1Step";
  r.note = cn.str();
  if (!pass)
    return r;
  x.dropHost();
  timeRuns(r, inv, args, kSlotSets);
  return r;
}

//===----------------------------------------------------------------------===//
// Ceilings
//===----------------------------------------------------------------------===//

void measureCopy(const Sizes &s) {
  size_t bytes = s.copyBytes;
  Dev src(bytes), dst(bytes);
  cuOk(cuMemsetD32(reinterpret_cast<CUdeviceptr>(src.p), 0x3F8040A0u,
                   bytes / 4),
       "cuMemsetD32");
  Timer t;
  std::vector<double> us;
  for (int i = 0; i < 12; ++i) {
    t.start();
    cuOk(cuMemcpyDtoDAsync(reinterpret_cast<CUdeviceptr>(dst.p),
                           reinterpret_cast<CUdeviceptr>(src.p), bytes,
                           nullptr),
         "cuMemcpyDtoDAsync");
    double u = t.stop();
    if (i >= 2)
      us.push_back(u);
  }
  double med = median(us);
  gCeil.copyGBps = 2.0 * double(bytes) / (med * 1e3);
  char line[256];
  std::snprintf(line, sizeof line,
                "cuMemcpyDtoDAsync of %.2f GB, read+write counted, median of "
                "%zu (min %.1f us, median %.1f us)",
                double(bytes) / 1e9, us.size(),
                *std::min_element(us.begin(), us.end()), med);
  gCeil.copyNote = line;
}

void measureGemm(const Sizes &s) {
  int n = s.gemmN;
  size_t elems = size_t(n) * size_t(n);
  Dev A(elems * 2), B(elems * 2), C(elems * 2);
  {
    Tensor block = hostTensor(DType::BF16, {int64_t(1) << 22});
    fillUniform(block, -1, 1, 77);
    for (Dev *d : {&A, &B})
      for (size_t off = 0; off < elems; off += block.numel()) {
        size_t k = std::min(block.numel(), elems - off);
        toDev(*d, block.host.data(), k * 2, off * 2);
      }
  }
  cublasHandle_t h = nullptr;
  cublasOk(cublasCreate(&h), "cublasCreate");
  cublasOk(cublasSetStream(h, nullptr), "cublasSetStream");
  float alpha = 1, beta = 0;
  Timer t;
  std::vector<double> us;
  for (int i = 0; i < 13; ++i) {
    t.start();
    cublasOk(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, A.p,
                          CUDA_R_16BF, n, B.p, CUDA_R_16BF, n, &beta, C.p,
                          CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
             "cublasGemmEx");
    double u = t.stop();
    if (i >= 3)
      us.push_back(u);
  }
  cublasDestroy(h);
  double med = median(us);
  double flops = 2.0 * double(n) * double(n) * double(n);
  gCeil.gemmFlops = flops / (med * 1e-6);
  char line[256];
  std::snprintf(line, sizeof line,
                "cublasGemmEx bf16 x bf16 -> bf16, fp32 compute, %dx%dx%d, "
                "random data, median of %zu (%.1f us)",
                n, n, n, us.size(), med);
  gCeil.gemmNote = line;
}

/// exp2 throughput through an hssm-compile'd kernel (math.exp2 in
/// scf.parallel), and the fixed cost of one artifact call.
bool measureExp2(const Sizes &s) {
  Invoker inv = loadFunction("exp2_rate");
  // On the host (--cpu) a few rows are plenty.
  int64_t rows = gCpu ? std::min<int64_t>(s.expRows, 8) : s.expRows;
  int64_t cols = Sizes::expCols;
  Tensor in = randomTensor(DType::F32, {rows, cols}, 0, 1, 55);
  Tensor out = hostTensor(DType::F32, {rows, cols});
  out.dev = Dev(out.nbytes());
  auto args = [&](int64_t r, int64_t iters) {
    return std::vector<Arg>{Buffer{in.dev.p, {r, cols}, Elem::F32},
                            Buffer{out.dev.p, {r, cols}, Elem::F32}, iters};
  };
  poison(out.dev, DType::F32);
  callOnce(inv, args(rows, s.expIters), "exp2_rate");
  // Check a few elements against the same chains on the host.
  std::vector<float> got = downloadFloats(out.dev, DType::F32, out.numel());
  bool pass = true;
  for (size_t i : {size_t(0), size_t(cols + 3), got.size() - 1}) {
    double x = in.get(i), want = 0;
    for (double k : {0.0, 0.125, 0.25, 0.375}) {
      double v = x + k;
      for (int64_t it = 0; it < s.expIters; ++it)
        v = std::exp2(-v);
      want += v;
    }
    if (!(std::fabs(got[i] - want) <= 1e-4 * std::fabs(want))) {
      std::printf("exp2_rate: element %zu is %.7g, want %.7g\n", i,
                  double(got[i]), want);
      pass = false;
    }
  }
  Timer t;
  std::vector<double> us, zero;
  for (int i = 0; i < 12; ++i) {
    t.start();
    ok(inv(args(rows, s.expIters)), "exp2_rate");
    double u = t.stop();
    if (i >= 2)
      us.push_back(u);
  }
  // The same entry point with no rows: stream, no launch, sync, destroy.
  for (int i = 0; i < 25; ++i) {
    t.start();
    ok(inv(args(0, s.expIters)), "exp2_rate (empty)");
    double u = t.stop();
    if (i >= 5)
      zero.push_back(u);
  }
  double med = median(us);
  double exps = double(rows) * double(cols) * double(s.expIters) * 4;
  gCeil.exp2PerS = exps / (med * 1e-6);
  gCeil.callOverheadUs = median(zero);
  char line[320];
  std::snprintf(line, sizeof line,
                "hssm-compile'd math.exp2 kernel, %.3g exps per call "
                "(%lldx%lld threads x %lld x 4 chained), median of %zu "
                "(%.1f us, whole call)%s",
                exps, (long long)rows, (long long)cols,
                (long long)s.expIters, us.size(), med,
                pass ? "" : " VALUES WRONG");
  gCeil.exp2Note = line;
  return pass;
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

std::string jsonEscape(const std::string &s) {
  std::string o;
  for (char ch : s) {
    if (ch == '"' || ch == '\\')
      o += '\\', o += ch;
    else if (ch == '\n')
      o += "\\n";
    else if (static_cast<unsigned char>(ch) < 0x20)
      o += ' ';
    else
      o += ch;
  }
  return o;
}

std::string num(double v) {
  if (!std::isfinite(v))
    return "null";
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

void writeJson(const std::string &path, const std::string &device,
               const std::vector<Result> &results) {
  if (path.empty())
    return;
  std::ofstream os(path);
  os << "{\n  \"device\": \"" << jsonEscape(device) << "\",\n"
     << "  \"label\": \"" << jsonEscape(gLabel) << "\",\n"
     << "  \"branch_artifact\": \"" << jsonEscape(gBranchArtifact)
     << "\",\n"
     << "  \"mode\": \"" << (gCpu ? "cpu" : "cuda") << "\",\n"
     << "  \"small\": " << (gSmall ? "true" : "false") << ",\n"
     << "  \"copy_GBps\": " << num(gCeil.copyGBps) << ",\n"
     << "  \"copy_note\": \"" << jsonEscape(gCeil.copyNote) << "\",\n"
     << "  \"exp2_per_s\": " << num(gCeil.exp2PerS) << ",\n"
     << "  \"exp2_note\": \"" << jsonEscape(gCeil.exp2Note) << "\",\n"
     << "  \"gemm_TFLOPs\": " << num(gCeil.gemmFlops / 1e12) << ",\n"
     << "  \"gemm_note\": \"" << jsonEscape(gCeil.gemmNote) << "\",\n"
     << "  \"call_overhead_us\": " << num(gCeil.callOverheadUs) << ",\n"
     << "  \"launch_floor_us\": " << num(kLaunchFloorUs) << ",\n"
     << "  \"elapsed_s\": " << num(elapsedS()) << ",\n"
     << "  \"budget_s\": " << num(gBudgetS) << ",\n"
     << "  \"timing\": \"CUDA events on the legacy default stream around the "
        "whole artifact call (stream create, temporaries, kernels, stream "
        "sync, frees); graph_* figures: per call, graph_calls calls (each on "
        "its own slot set) captured as one CUDA graph, replayed back to back "
        "(about 10 calls per sample), events on the graph's stream\",\n"
     << "  \"cases\": [";
  for (size_t i = 0; i < results.size(); ++i) {
    const Result &r = results[i];
    os << (i ? ",\n" : "\n") << "    {\"name\": \"" << jsonEscape(r.name)
       << "\", \"what\": \"" << jsonEscape(r.what) << "\", \"shapes\": \""
       << jsonEscape(r.shapes) << "\", \"dtypes\": \"" << jsonEscape(r.dtypes)
       << "\",\n     \"status\": \""
       << (!r.passed ? "FAILED" : r.timed ? "ok" : "SKIPPED")
       << "\", \"error\": \"" << jsonEscape(r.error) << "\", \"runs\": "
       << r.runs << ", \"warmup\": " << r.warmup
       << ", \"median_us\": " << num(r.medianUs) << ", \"min_us\": "
       << num(r.minUs) << ", \"max_us\": " << num(r.maxUs)
       << ", \"host_median_us\": " << num(r.hostMedianUs)
       << ", \"check_run_us\": " << num(r.checkRunUs)
       << ",\n     \"min_bytes\": " << num(r.bytes) << ", \"GBps\": "
       << num(r.gbps) << ", \"exps\": " << num(r.exps)
       << ", \"gemm_flops\": " << num(r.flops) << ", \"lower_bound_us\": "
       << num(r.boundUs) << ", \"bound_by\": \"" << r.boundBy
       << "\", \"roofline\": " << num(r.roofline)
       << ", \"graph_median_us\": " << num(r.graphMedianUs)
       << ", \"graph_min_us\": " << num(r.graphMinUs)
       << ", \"graph_runs\": " << r.graphRuns
       << ", \"graph_calls\": " << r.graphCalls
       << ", \"graph_roofline\": " << num(r.graphRoofline)
       << ",\n     \"check\": {\"passed\": " << (r.passed ? "true" : "false")
       << ", \"values\": " << r.checkCount << ", \"max_abs\": "
       << num(r.checkMaxAbs) << ", \"max_rel\": " << num(r.checkMaxRel)
       << ", \"scale\": " << num(r.checkScale) << ", \"text\": \""
       << jsonEscape(r.checkText) << "\"},\n     \"note\": \""
       << jsonEscape(r.note) << "\"}";
  }
  os << "\n  ]\n}\n";
}

std::string line(const Result &r) {
  char b[1024];
  if (!r.passed || !r.timed) {
    std::snprintf(b, sizeof b, "%-7s %s  %s: %s %s", r.name.c_str(),
                  r.shapes.c_str(), r.passed ? "SKIPPED" : "FAILED",
                  r.error.c_str(), r.checkText.c_str());
    return b;
  }
  std::snprintf(b, sizeof b,
                "%-7s %10.1f %10.1f %10.1f %4d %10.1f %9.1f %10.1f %-6s "
                "%8.4f  | %s | %s",
                r.name.c_str(), r.medianUs, r.minUs, r.maxUs, r.runs,
                r.bytes / 1e6, r.gbps, r.boundUs, r.boundBy.c_str(),
                r.roofline, r.shapes.c_str(), r.dtypes.c_str());
  std::string text = b;
  if (r.graphRuns > 0) {
    std::snprintf(b, sizeof b,
                  "\n%-7s %10.1f %10.1f %10s %4d %10s %9s %10.1f %-6s "
                  "%8.4f  | CUDA graph replays, back to back, of %d call%s "
                  "(per call)",
                  (r.name + "/g").c_str(), r.graphMedianUs, r.graphMinUs, "",
                  r.graphRuns, "", "", r.boundUs, r.boundBy.c_str(),
                  r.graphRoofline, r.graphCalls, r.graphCalls > 1 ? "s" : "");
    text += b;
  }
  return text;
}

const char *header =
    "case     median_us     min_us     max_us runs     min_MB      GB/s   "
    "bound_us by     roofline  | shapes | dtypes";

//===----------------------------------------------------------------------===//
// The cases
//===----------------------------------------------------------------------===//

std::vector<int64_t> p2Lengths(const Sizes &s) {
  // Mixed lengths in 1..max (log-uniform), the longest and the shortest
  // included, summing to p2Tokens; order shuffled.
  Rng rng(2024);
  std::vector<int64_t> lens = {s.p2MaxLen, 1};
  int64_t sum = s.p2MaxLen + 1;
  while (sum < s.p2Tokens) {
    int64_t l = int64_t(std::exp(rng.uniform(0, std::log(float(s.p2MaxLen)))));
    l = std::clamp<int64_t>(l, 1, s.p2MaxLen);
    l = std::min(l, s.p2Tokens - sum);
    lens.push_back(l);
    sum += l;
  }
  for (size_t i = lens.size(); i > 1; --i)
    std::swap(lens[i - 1], lens[size_t(rng.below(int64_t(i)))]);
  return lens;
}

struct CaseDef {
  std::string name;
  std::function<Result()> run;
};

std::vector<CaseDef> allCases() {
  Sizes s = sizes();
  std::vector<CaseDef> cases;
  auto scanDecode = [s](std::string name, int64_t batch, DType st,
                        std::string artifact) {
    ScanCase c;
    c.name = name;
    c.what = "decode state update (hssm.state_update)";
    c.artifact = artifact;
    c.decode = true;
    c.d = s.dDec;
    c.state = st;
    c.lens.assign(batch, 1);
    c.init.assign(batch, 1);
    c.checkRows = 32;
    return c;
  };
  cases.push_back({"D1", [=] {
                     return runScan(scanDecode("D1", 1, DType::BF16,
                                               "state_update_bf16"));
                   }});
  cases.push_back({"D2", [=] {
                     return runScan(scanDecode("D2", s.batchD2, DType::BF16,
                                               "state_update_bf16"));
                   }});
  cases.push_back({"D2-f32", [=] {
                     return runScan(scanDecode("D2-f32", s.batchD2,
                                               DType::F32,
                                               "state_update_f32"));
                   }});
  cases.push_back({"D3", [=] {
                     ConvCase c;
                     c.name = "D3";
                     c.what = "decode conv update (hssm.conv_update, silu)";
                     c.artifact = "conv_update";
                     c.decode = true;
                     c.d = s.dDec;
                     c.lens.assign(s.batchD3, 1);
                     c.init.assign(s.batchD3, 1);
                     c.checkCh = 0;
                     return runConv(c);
                   }});
  cases.push_back({"P1", [=] {
                     ScanCase c;
                     c.name = "P1";
                     c.what = "prefill scan, one sequence, no initial state "
                              "(hssm.selective_scan, z, delta_bias, softplus)";
                     c.artifact = "scan_p1";
                     c.decode = false;
                     c.d = s.dDec;
                     c.lens = {s.p1Tokens};
                     c.init = {0};
                     c.checkCh = 64;
                     return runScan(c);
                   }});
  cases.push_back({"P2", [=] {
                     ScanCase c;
                     c.name = "P2";
                     c.what = "prefill scan, varlen 1.." +
                              std::to_string(s.p2MaxLen) +
                              ", every other sequence with initial state";
                     c.artifact = "scan_p2";
                     c.decode = false;
                     c.d = s.dP2;
                     c.lens = p2Lengths(s);
                     for (size_t i = 0; i < c.lens.size(); ++i)
                       c.init.push_back(i % 2 == 0);
                     c.checkCh = 64;
                     return runScan(c);
                   }});
  cases.push_back({"P3", [=] {
                     ConvCase c;
                     c.name = "P3";
                     c.what = "prefill conv, varlen, all with initial state "
                              "(hssm.conv1d, silu)";
                     c.artifact = "conv1d";
                     c.decode = false;
                     c.d = s.dDec;
                     c.lens.assign(s.p3Seqs, s.p3Len);
                     c.init.assign(s.p3Seqs, 1);
                     c.checkCh = 256;
                     return runConv(c);
                   }});
  cases.push_back({"L-dec", [=] {
                     BranchCase c;
                     c.name = "L-dec";
                     c.what = "whole history branch <mamba1>, decode step";
                     c.decodes = s.lDec;
                     c.checkDecodes = 4;
                     return runBranch(c);
                   }});
  cases.push_back({"L-mix", [=] {
                     BranchCase c;
                     c.name = "L-mix";
                     c.what = "whole history branch <mamba1>, mixed step "
                              "(prefills without initial state)";
                     c.decodes = s.lMixDec;
                     c.prefillLens.assign(s.lMixSeqs, s.lMixLen);
                     c.checkDecodes = 3;
                     c.checkPrefills = 2;
                     c.checkTokens = 4;
                     return runBranch(c);
                   }});
  cases.push_back({"L-pre", [=] {
                     BranchCase c;
                     c.name = "L-pre";
                     c.what = "whole history branch <mamba1>, prefill, no "
                              "initial state";
                     c.prefillLens.assign(s.lPreSeqs, s.lPreLen);
                     c.checkPrefills = 2;
                     c.checkTokens = 4;
                     return runBranch(c);
                   }});
  return cases;
}

int usage() {
  std::fprintf(
      stderr,
      "usage: hssm-bench --emit-mlir DIR [--small]\n"
      "       hssm-bench [--artifacts DIR] [--case NAME]... [--json FILE]\n"
      "                  [--budget-s S] [--time-limit-s S] [--small] [--cpu]\n"
      "                  [--branch-artifact NAME] [--label TEXT]\n"
      "                  [--graph [--graph-calls K]] [--decode-batch B]\n"
      "cases: D1 D2 D2-f32 D3 P1 P2 P3 L-dec L-pre L-mix\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  gStart = std::chrono::steady_clock::now();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string emitDir, jsonPath;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "hssm-bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--emit-mlir") emitDir = value();
    else if (a == "--artifacts") gArtifacts = value();
    else if (a == "--json") jsonPath = value();
    else if (a == "--case") only.push_back(value());
    else if (a == "--budget-s") gBudgetS = std::atof(value().c_str());
    else if (a == "--graph") gGraph = true;
    else if (a == "--graph-calls") gGraphCalls = std::max(1, std::atoi(value().c_str()));
    else if (a == "--time-limit-s") gTimeLimitS = std::atof(value().c_str());
    else if (a == "--branch-artifact") gBranchArtifact = value();
    else if (a == "--label") gLabel = value();
    else if (a == "--small") gSmall = true;
    else if (a == "--decode-batch")
      gDecodeBatch = std::max(1, std::atoi(value().c_str()));
    else if (a == "--cpu") gCpu = true;
    else return usage();
  }

  if (!emitDir.empty()) {
    for (auto &[name, text] : allSources()) {
      std::string path = emitDir + "/" + name + ".mlir";
      std::ofstream os(path);
      os << text;
      if (!os) {
        std::fprintf(stderr, "hssm-bench: cannot write %s\n", path.c_str());
        return 1;
      }
      std::printf("%s\n", path.c_str());
    }
    return 0;
  }

  std::vector<CaseDef> cases = allCases();
  for (const std::string &name : only)
    if (std::none_of(cases.begin(), cases.end(),
                     [&](const CaseDef &c) { return c.name == name; })) {
      std::fprintf(stderr, "hssm-bench: no case '%s'\n", name.c_str());
      return usage();
    }

  Sizes s = sizes();
  std::string device = gCpu ? "host CPU (--cpu)" : cuda::deviceName();
  if (!gCpu && device.empty()) {
    Status st = cuda::init();
    std::fprintf(stderr, "hssm-bench: no CUDA device: %s\n",
                 st.message().c_str());
    return 1;
  }
  std::printf("[bench] device: %s%s; L cases run %s%s%s\n", device.c_str(),
              gSmall ? " (small sizes)" : "", gBranchArtifact.c_str(),
              gLabel.empty() ? "" : "; ", gLabel.c_str());

  bool allOk = true;
  // A ceiling that cannot be measured falls back to BENCH.md's H200 figure,
  // says so, and fails the run; the cases still run.
  auto ceiling = [&](const char *what, const std::function<void()> &measure,
                     const std::function<void()> &nominal) {
    std::printf("[bench] ceilings: %s\n", what);
    try {
      measure();
    } catch (const std::exception &e) {
      std::printf("[bench] ceiling %s FAILED: %s (nominal H200 figure "
                  "used)\n",
                  what, e.what());
      nominal();
      allOk = false;
    }
  };
  auto nominalCopy = [] {
    gCeil.copyGBps = 4220;
    gCeil.copyNote = "nominal 4220 GB/s (BENCH.md), not measured";
  };
  auto nominalGemm = [] {
    gCeil.gemmFlops = 790e12;
    gCeil.gemmNote = "nominal 790 TFLOP/s (KINDS.md), not measured";
  };
  if (!gCpu) {
    ceiling("copy", [&] { measureCopy(s); }, nominalCopy);
    ceiling("cuBLAS bf16 GEMM", [&] { measureGemm(s); }, nominalGemm);
  } else {
    nominalCopy();
    nominalGemm();
  }
  ceiling(
      "exp2",
      [&] {
        if (!measureExp2(s))
          allOk = false;
      },
      [] { gCeil.exp2PerS = 3.96e12; });
  if (gCpu) {
    gCeil.exp2PerS = 3.96e12;
    gCeil.exp2Note += "; nominal 3.96e12/s used (--cpu)";
  }
  std::printf("[bench] copy %.0f GB/s (%s)\n", gCeil.copyGBps,
              gCeil.copyNote.c_str());
  std::printf("[bench] exp2 %.3g /s (%s)\n", gCeil.exp2PerS,
              gCeil.exp2Note.c_str());
  std::printf("[bench] gemm %.1f TFLOP/s (%s)\n", gCeil.gemmFlops / 1e12,
              gCeil.gemmNote.c_str());
  std::printf("[bench] one artifact call with nothing to launch: %.1f us\n",
              gCeil.callOverheadUs);

  std::vector<Result> results;
  for (const CaseDef &c : cases) {
    if (!only.empty() &&
        std::find(only.begin(), only.end(), c.name) == only.end())
      continue;
    std::printf("[bench] %s: start (%.1f s elapsed)\n", c.name.c_str(),
                elapsedS());
    Result r;
    try {
      r = c.run();
    } catch (const std::exception &e) {
      r.name = c.name;
      r.passed = false;
      r.error = e.what();
    }
    r.finish();
    if (!r.passed)
      allOk = false;
    std::printf("[bench] %s: %s\n", c.name.c_str(),
                !r.passed ? "FAILED" : r.timed ? "done" : "SKIPPED");
    std::printf("%s\n%s\n", header, line(r).c_str());
    if (!r.checkText.empty())
      std::printf("        check: %s\n", r.checkText.c_str());
    if (!r.note.empty())
      std::printf("        note: %s\n", r.note.c_str());
    results.push_back(r);
    writeJson(jsonPath, device, results);
  }

  std::printf("\n== hssm-bench on %s: copy %.0f GB/s, exp2 %.3g/s, bf16 GEMM "
              "%.0f TFLOP/s, empty call %.1f us ==\n",
              device.c_str(), gCeil.copyGBps, gCeil.exp2PerS,
              gCeil.gemmFlops / 1e12, gCeil.callOverheadUs);
  std::printf("%s\n", header);
  for (const Result &r : results)
    std::printf("%s\n", line(r).c_str());
  if (!allOk)
    std::printf("hssm-bench: FAILED (see above)\n");
  return allOk ? 0 : 1;
}
