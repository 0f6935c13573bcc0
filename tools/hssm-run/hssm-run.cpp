//===- hssm-run.cpp - Run a history branch over a serving trace -----------===//
//
// The main job: compiles a whole history branch (the built-in one at a real
// model's sizes, or a user's .mlir with the same signature), then runs it
// step by step over a serving trace -- requests arrive, prefill in chunks,
// decode, finish and free their slots, decodes first in every step -- and
// with --check compares every step's output, and the pool at the end, with
// the plain reference.
//
//===----------------------------------------------------------------------===//

#include "hssm/Harness/Harness.h"
#include "hssm/Jit/Jit.h"
#include "hssm/Serving/LongCheck.h"
#ifdef HSSM_HAVE_CUDA
#include "hssm/Runtime/Artifact.h"
#include "hssm/Runtime/Cuda.h"
#include "hssm/Serving/DeviceLongCheck.h"
#endif

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace hssm;
using namespace hssm::harness;

namespace {

struct ModelSizes {
  const char *name;
  int64_t hd, d, r;
};
const ModelSizes kModels[] = {{"mamba-130m", 768, 1536, 48},
                              {"mamba-1.4b", 2048, 4096, 128},
                              {"mamba-2.8b", 2560, 5120, 160},
                              {"jamba", 4096, 8192, 256},
                              {"tiny", 64, 128, 4}};

void usage() {
  std::printf(
      "usage: hssm-run [options]\n"
      "  --model NAME        mamba-130m (default), mamba-1.4b, mamba-2.8b,\n"
      "                      jamba, tiny\n"
      "  --mlir FILE         compile FILE's @history_branch instead of the\n"
      "                      built-in one (same signature as\n"
      "                      examples/history_branch_mamba130m.mlir)\n"
      "  --trace FILE        run FILE's steps (one per line: id:tokens ...,\n"
      "                      -id to finish a request, # comments)\n"
      "  --steps N           built-in trace length (default 24)\n"
      "  --slots N           state pool slots (default 64; --soak: 8)\n"
      "  --pad-slot P        -1 (default) or 0 (slot 0 is the reserved null\n"
      "                      slot that pad rows point at)\n"
      "  --act T --conv-state T --ssm-state T   f32 | f16 | bf16\n"
      "  --mode M            mamba1 (default) | prefix_sum | zero\n"
      "  --seed N            weights, inputs and trace seed (default 1)\n"
      "  --device D          cpu, cuda, or auto (default: cuda when a GPU is\n"
      "                      present, else cpu)\n"
      "  --artifact FILE.so  run an ahead-of-time artifact (hssm-compile) of\n"
      "                      @history_branch instead of compiling in-process\n"
      "  --check             compare every step with the plain reference\n"
      "  --soak              the serving long check instead of a trace: a\n"
      "                      random trace (1000 steps unless --steps) with\n"
      "                      arrivals, chunked prefills, decodes, forks,\n"
      "                      preemptions, a full pool and injected bad\n"
      "                      batches; every request's rows are compared with\n"
      "                      the reference run alone (tiny sizes unless\n"
      "                      --model); with --device cuda every layer's\n"
      "                      pool lives on the GPU and decode-only steps\n"
      "                      replay CUDA graphs\n"
      "  --print-ir          print the compiled function's source and exit\n");
}

bool readFile(const std::string &path, std::string &out) {
  std::ifstream in(path);
  if (!in)
    return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

} // namespace

int main(int argc, char **argv) {
  BranchConfig config;
  std::string mlirPath, tracePath, artifactPath, device = "auto";
  int64_t steps = 24, slots = 64;
  uint64_t seed = 1;
  bool check = false, printIr = false, soak = false, stepsGiven = false,
       modelGiven = false, slotsGiven = false;
  const ModelSizes *model = &kModels[0];

  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "hssm-run: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    auto dtype = [&](DType &t) {
      std::string v = value();
      if (auto p = parseDType(v))
        t = *p;
      else {
        std::fprintf(stderr, "hssm-run: %s: '%s' is not f32, f16 or bf16\n",
                     a.c_str(), v.c_str());
        std::exit(2);
      }
    };
    if (a == "--model") {
      modelGiven = true;
      std::string v = value();
      model = nullptr;
      for (const ModelSizes &m : kModels)
        if (v == m.name)
          model = &m;
      if (!model) {
        std::fprintf(stderr, "hssm-run: unknown model '%s'\n", v.c_str());
        return 2;
      }
    } else if (a == "--mlir") mlirPath = value();
    else if (a == "--trace") tracePath = value();
    else if (a == "--steps") {
      steps = std::stoll(value());
      stepsGiven = true;
    }
    else if (a == "--slots") {
      slots = std::stoll(value());
      slotsGiven = true;
    } else if (a == "--pad-slot") {
      config.padSlotId = std::stoll(value());
      if (config.padSlotId != -1 && config.padSlotId != 0) {
        std::fprintf(stderr, "hssm-run: --pad-slot must be -1 or 0\n");
        return 2;
      }
    }
    else if (a == "--seed") seed = std::stoull(value());
    else if (a == "--act") dtype(config.act);
    else if (a == "--conv-state") dtype(config.convState);
    else if (a == "--ssm-state") dtype(config.ssmState);
    else if (a == "--mode") {
      std::string v = value();
      if (v == "mamba1") config.mode = BranchMode::Mamba1;
      else if (v == "prefix_sum") config.mode = BranchMode::PrefixSum;
      else if (v == "zero") config.mode = BranchMode::Zero;
      else {
        std::fprintf(stderr, "hssm-run: unknown mode '%s'\n", v.c_str());
        return 2;
      }
    } else if (a == "--device") device = value();
    else if (a == "--artifact") artifactPath = value();
    else if (a == "--check") check = true;
    else if (a == "--print-ir") printIr = true;
    else if (a == "--soak") soak = true;
    else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "hssm-run: unknown option '%s'\n", a.c_str());
      usage();
      return 2;
    }
  }
  if (device == "auto")
    device = jit::targetAvailable(jit::Target::Cuda) ? "cuda" : "cpu";
  if (device != "cpu" && device != "cuda") {
    std::fprintf(stderr, "hssm-run: --device must be cpu, cuda or auto\n");
    return 2;
  }
  bool onGpu = device == "cuda";
  if (onGpu && !jit::targetAvailable(jit::Target::Cuda)) {
    std::fprintf(stderr, "hssm-run: --device cuda: no GPU (or no CUDA "
                         "runtime in this build)\n");
    return 1;
  }
  if (soak && !modelGiven)
    model = &kModels[4]; // tiny: the reference replays every request alone
  if (soak && !slotsGiven)
    slots = serving::LongCheckOptions().numSlots; // small: the pool runs full
  config.hd = model->hd;
  config.d = model->d;
  config.r = model->r;
  if (soak && (config.mode != BranchMode::Mamba1 || !mlirPath.empty() ||
               !artifactPath.empty() || !tracePath.empty())) {
    std::fprintf(stderr, "hssm-run: --soak runs the built-in mamba1 branch "
                         "on its own random trace\n");
    return 2;
  }

  std::string source;
  if (mlirPath.empty())
    source = historyBranchSource(config);
  else if (!readFile(mlirPath, source)) {
    std::fprintf(stderr, "hssm-run: cannot read '%s'\n", mlirPath.c_str());
    return 1;
  }
  if (printIr) {
    std::fputs(source.c_str(), stdout);
    return 0;
  }

  Trace trace;
  if (tracePath.empty()) {
    trace = makeBuiltinTrace(seed, steps, std::min<int64_t>(slots, 32));
  } else {
    std::string text;
    if (!readFile(tracePath, text)) {
      std::fprintf(stderr, "hssm-run: cannot read '%s'\n", tracePath.c_str());
      return 1;
    }
    if (Status st = parseTrace(text, trace); !st) {
      std::fprintf(stderr, "hssm-run: %s\n", st.message().c_str());
      return 1;
    }
  }

  std::printf(
      "hssm-run: %s sizes (Hd %lld, D %lld, N %lld, R %lld, W %lld), "
      "%s activations, %s/%s states, mode %s, %lld slots%s, on the %s\n",
      model->name, (long long)config.hd, (long long)config.d,
      (long long)config.n, (long long)config.r, (long long)config.w,
      dtypeName(config.act), dtypeName(config.convState),
      dtypeName(config.ssmState), branchModeName(config.mode), (long long)slots,
      config.padSlotId == 0 ? " (slot 0 the null slot)" : "",
      onGpu ? "GPU" : "CPU");
  auto t0 = std::chrono::steady_clock::now();
  jit::Options options;
  options.target = onGpu ? jit::Target::Cuda : jit::Target::Cpu;
  jit::Jit jit(options);
  Invoker invoke;
#ifdef HSSM_HAVE_CUDA
  std::unique_ptr<Artifact> artifact;
#endif
  if (!artifactPath.empty()) {
#ifdef HSSM_HAVE_CUDA
    Invoker fromArtifact;
    Status st = Artifact::load(artifactPath, artifact);
    if (st)
      st = artifact->function("history_branch", fromArtifact);
    if (!st) {
      std::fprintf(stderr, "hssm-run: %s\n", st.message().c_str());
      return 1;
    }
    invoke = fromArtifact;
#else
    std::fprintf(stderr, "hssm-run: --artifact needs a build with the CUDA "
                         "runtime\n");
    return 1;
#endif
  } else {
    jit::Function fn;
    if (Status st = jit.compile(source, "history_branch", fn); !st) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return 1;
    }
    invoke = fn.invoker();
  }
#ifdef HSSM_HAVE_CUDA
  // Device code takes device buffers. The weights and the state pool are
  // uploaded once and stay on the device (below); each step copies only its
  // inputs, metadata and outputs. The soak mode keeps the raw device
  // invoker: its pools, weights and graphs are on the device already.
  auto residents = std::make_shared<cuda::DeviceResidents>();
  if (onGpu && !soak)
    invoke = cuda::mirrorToDevice(invoke, residents);
#endif
  double compileMs = std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - t0)
                         .count();
  std::printf("compiled %s in %.0f ms%s\n",
              !artifactPath.empty() ? artifactPath.c_str()
              : mlirPath.empty()    ? "the built-in branch"
                                    : mlirPath.c_str(),
              compileMs,
              !onGpu ? ""
              : soak ? " (pools and weights on the GPU; decode-only steps "
                       "replay CUDA graphs)"
                     : " (weights and pool stay on the GPU; step times "
                       "include copying the step's inputs and outputs)");

  if (soak) {
    serving::LongCheckOptions options;
    options.branch = config;
    options.steps = stepsGiven ? steps : 1000;
    options.seed = seed;
    options.numSlots = slots;
    serving::LongCheckReport report;
    auto start = std::chrono::steady_clock::now();
    Status st;
#ifdef HSSM_HAVE_CUDA
    if (onGpu)
      st = serving::runDeviceLongCheck(options, invoke, report);
    else
#endif
      st = serving::runLongCheck(options, invoke, report);
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    std::printf("%s\n(%.1f s on the %s)\n", report.summary().c_str(),
                seconds, onGpu ? "GPU" : "CPU");
    if (!st) {
      std::fprintf(stderr, "hssm-run: soak FAILED: %s\n",
                   st.message().c_str());
      return 1;
    }
    std::printf("soak: passed\n");
    return 0;
  }

  Model weights = makeRandomModel(config, seed);
  Pool pool = makePool(config, slots);
#ifdef HSSM_HAVE_CUDA
  if (onGpu) {
    for (HostTensor *t :
         {&weights.inProj, &weights.convWeight, &weights.convBias,
          &weights.xProj, &weights.dtProj, &weights.dtBias, &weights.a,
          &weights.dSkip, &weights.outProj, &pool.conv, &pool.ssm})
      if (Status st = residents->add(t->buffer()); !st) {
        std::fprintf(stderr, "hssm-run: %s\n", st.message().c_str());
        return 1;
      }
  }
#endif
  ref::Pool refPool = toReferencePool(pool, config);
  ref::Sizes sizes{config.hd, config.d, config.n, config.r, config.w};
  Tolerance tol = toleranceFor(config.act, config.convState, config.ssmState);
  Scheduler scheduler(slots, config.padSlotId);
  std::mt19937_64 rng(seed * 7919 + 1);

  double totalMs = 0, worstAbs = 0, worstRel = 0;
  int64_t totalTokens = 0, failures = 0;
  for (size_t s = 0; s < trace.size(); ++s) {
    ref::Batch batch;
    std::vector<int64_t> order;
    if (Status st = scheduler.schedule(trace[s], batch, order); !st) {
      std::fprintf(stderr, "step %zu: %s\n", s, st.message().c_str());
      return 1;
    }
    Step step = makeStep(config, batch, rng);
    HostTensor out;
    auto start = std::chrono::steady_clock::now();
    Status st = runStep(invoke, weights, pool, step, out);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    if (!st) {
      std::fprintf(stderr, "step %zu: %s\n", s, st.message().c_str());
      return 1;
    }
    totalMs += ms;
    totalTokens += step.numTokens();
    std::printf("step %3zu: %3zu requests (%lld decodes, %lld prefills), "
                "%5lld tokens, %9.2f ms",
                s, order.size(), (long long)batch.numDecodes,
                (long long)batch.numPrefills, (long long)step.numTokens(), ms);
    if (check) {
      std::vector<double> want;
      int64_t prefillTokens = step.numTokens() - batch.numDecodes;
      switch (config.mode) {
      case BranchMode::Mamba1:
        ref::mamba1Step(sizes, weights.weights, batch, step.xFloat, refPool,
                        want);
        break;
      case BranchMode::PrefixSum:
        ref::prefixSum(step.xFloat, step.numTokens(), config.hd,
                       prefillTokens, want);
        break;
      case BranchMode::Zero:
        want.assign(size_t(step.numTokens() * config.hd), 0.0);
        break;
      }
      Comparison c = compare(out.toFloats(), want, tol);
      worstAbs = std::max(worstAbs, c.maxAbs);
      worstRel = std::max(worstRel, c.maxRel);
      std::printf("  check: max abs %.2e rel %.2e %s", c.maxAbs, c.maxRel,
                  c.ok ? "ok" : "FAILED");
      if (!c.ok)
        ++failures;
    }
    std::printf("\n");
    scheduler.finish(trace[s]);
  }

  std::printf("summary: %zu steps, %lld tokens, %.1f ms in compiled code "
              "(%.0f tokens/s) on the %s\n",
              trace.size(), (long long)totalTokens, totalMs,
              totalMs > 0 ? totalTokens / (totalMs / 1000.0) : 0.0,
              onGpu ? "GPU" : "CPU");
#ifdef HSSM_HAVE_CUDA
  // The pool lives on the device: bring it back to compare it.
  if (onGpu)
    for (HostTensor *t : {&pool.conv, &pool.ssm})
      if (Status st = residents->download(t->buffer()); !st) {
        std::fprintf(stderr, "hssm-run: %s\n", st.message().c_str());
        return 1;
      }
#endif
  if (check) {
    // The pools must agree too: they carry every request's history.
    std::vector<double> wantConv(refPool.conv.begin(), refPool.conv.end());
    std::vector<double> wantSsm(refPool.ssm.begin(), refPool.ssm.end());
    Comparison cc = compare(pool.conv.toFloats(), wantConv, tol);
    Comparison cs = compare(pool.ssm.toFloats(), wantSsm, tol);
    if (!cc.ok || !cs.ok)
      ++failures;
    std::printf("check: %lld of %zu steps failed; outputs max abs %.2e, "
                "max rel %.2e; conv pool max abs %.2e, ssm pool max abs %.2e "
                "(rtol %.1e, atol %.1e + %.1e x max): %s\n",
                (long long)failures, trace.size(), worstAbs, worstRel,
                cc.maxAbs, cs.maxAbs, tol.rtol, tol.atol, tol.atolScale,
                failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
  }
  return 0;
}
