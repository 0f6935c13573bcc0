//===- JitBranchTest.cpp - The compiled branch against the reference ------===//
//
// Every case compiles a whole history branch through the JIT (the CPU path)
// and compares its outputs and its pool with the plain reference of SPEC.md.
// Sizes are mamba-130m's (Hd 768, D 1536, N 16, R 48, W 4) unless a case
// varies one of them. Each test prints its largest errors.
//
//===----------------------------------------------------------------------===//

#include "hssm/Harness/Harness.h"
#include "hssm/Jit/Jit.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <map>

using namespace hssm;
using namespace hssm::harness;

namespace {

BranchConfig mamba130m() {
  BranchConfig c;
  c.hd = 768;
  c.d = 1536;
  c.n = 16;
  c.r = 48;
  c.w = 4;
  return c;
}

/// One JIT for the whole suite: functions are cached by their IR. Leaked on
/// purpose: LLVM's own globals may be gone when static destructors run.
jit::Jit &sharedJit() {
  static jit::Jit *jit = new jit::Jit;
  return *jit;
}

jit::Function compileBranch(const BranchConfig &c) {
  jit::Function fn;
  Status st = sharedJit().compile(historyBranchSource(c), "history_branch", fn);
  EXPECT_TRUE(st.ok()) << st.message();
  return fn;
}

/// Largest error seen per storage-type combination, printed at exit.
std::map<std::string, double> &worstErrors() {
  static std::map<std::string, double> errors;
  return errors;
}

/// A batch from rows of (tokens, slot, has initial state); rows with one
/// token listed first in `decodes` are decodes.
ref::Batch makeBatch(int64_t numDecodes,
                     const std::vector<std::tuple<int, int, bool>> &rows,
                     std::vector<int32_t> dst = {}) {
  ref::Batch b;
  b.queryStartLoc.push_back(0);
  for (auto [tokens, slot, init] : rows) {
    b.queryStartLoc.push_back(b.queryStartLoc.back() + tokens);
    b.stateIndices.push_back(slot);
    b.hasInitialState.push_back(init ? 1 : 0);
  }
  b.dstStateIndices = std::move(dst);
  b.numDecodes = numDecodes;
  b.numPrefills = int64_t(rows.size()) - numDecodes;
  return b;
}

/// Runs steps through the compiled branch and the reference side by side and
/// expects every output and the final pool to agree.
class BranchRun {
public:
  BranchRun(const BranchConfig &c, int64_t slots, uint64_t seed = 7)
      : config(c), fn(compileBranch(c)), model(makeRandomModel(c, seed)),
        pool(makePool(c, slots)), rng(seed) {
    // Start from a pool of random states, so every read is visible.
    for (int64_t i = 0; i < pool.conv.numElements(); ++i)
      pool.conv.set(size_t(i), std::uniform_real_distribution<float>(-1, 1)(rng));
    for (int64_t i = 0; i < pool.ssm.numElements(); ++i)
      pool.ssm.set(size_t(i), std::uniform_real_distribution<float>(-1, 1)(rng));
    refPool = toReferencePool(pool, c);
    tol = toleranceFor(c.act, c.convState, c.ssmState);
  }

  /// One step; returns the compiled output as floats.
  std::vector<float> step(const ref::Batch &batch, const std::string &label) {
    Step s = makeStep(config, batch, rng);
    return step(s, label);
  }

  std::vector<float> step(const Step &s, const std::string &label) {
    HostTensor out;
    Status st = runStep(fn.invoker(), model, pool, s, out);
    EXPECT_TRUE(st.ok()) << st.message();
    std::vector<double> want;
    int64_t prefillTokens = s.numTokens() - s.batch.numDecodes;
    switch (config.mode) {
    case BranchMode::Mamba1:
      ref::mamba1Step({config.hd, config.d, config.n, config.r, config.w},
                      model.weights, s.batch, s.xFloat, refPool, want);
      break;
    case BranchMode::PrefixSum:
      ref::prefixSum(s.xFloat, s.numTokens(), config.hd, prefillTokens, want);
      break;
    case BranchMode::Zero:
      want.assign(size_t(s.numTokens() * config.hd), 0.0);
      break;
    }
    std::vector<float> got = out.toFloats();
    expectClose(got, want, label + " output");
    return got;
  }

  /// The pools must agree too.
  void checkPool(const std::string &label) {
    expectClose(pool.conv.toFloats(),
                std::vector<double>(refPool.conv.begin(), refPool.conv.end()),
                label + " conv pool");
    expectClose(pool.ssm.toFloats(),
                std::vector<double>(refPool.ssm.begin(), refPool.ssm.end()),
                label + " ssm pool");
  }

  void expectClose(const std::vector<float> &got,
                   const std::vector<double> &want, const std::string &label) {
    Comparison c = compare(got, want, tol);
    EXPECT_TRUE(c.ok) << label << ": element " << c.worst << " is "
                      << got[c.worst] << ", reference " << want[c.worst]
                      << " (max abs " << c.maxAbs << ", max rel " << c.maxRel
                      << ", max |ref| " << c.scale << ", rms " << c.rms
                      << ")";
    std::string key = std::string("act ") + dtypeName(config.act) + ", conv " +
                      dtypeName(config.convState) + ", ssm " +
                      dtypeName(config.ssmState);
    double &worst = worstErrors()[key];
    worst = std::max(worst, c.maxAbs);
  }

  BranchConfig config;
  jit::Function fn;
  Model model;
  Pool pool;
  ref::Pool refPool;
  std::mt19937_64 rng;
  Tolerance tol;
};

TEST(JitBranch, MixedDecodeAndPrefillAtMamba130m) {
  BranchRun run(mamba130m(), 16);
  // 3 decodes, then a fresh prefill, a chunked prefill and a one-token one.
  run.step(makeBatch(3, {{1, 2, true}, {1, 5, true}, {1, 9, true},
                         {37, 0, false}, {20, 11, true}, {1, 4, false}}),
           "mixed");
  run.step(makeBatch(2, {{1, 0, true}, {1, 11, true}, {5, 2, true}}),
           "second step");
  run.checkPool("mixed");
}

TEST(JitBranch, ChunkedPrefillEqualsOnePrefill) {
  const int total = 23;
  BranchConfig c = mamba130m();
  BranchRun whole(c, 4);
  Step longStep = makeStep(c, makeBatch(0, {{total, 1, false}}), whole.rng);
  std::vector<float> wantOut = whole.step(longStep, "whole");
  for (int chunk : {1, 2, 3, 7, 16}) {
    BranchRun chunked(c, 4);
    std::vector<float> got;
    for (int start = 0; start < total; start += chunk) {
      int len = std::min(chunk, total - start);
      Step s = makeStep(c, makeBatch(0, {{len, 1, start > 0}}), chunked.rng);
      // The same tokens as the long prefill.
      std::memcpy(s.x.bytes.data(),
                  longStep.x.bytes.data() + size_t(start) * c.hd * 4,
                  size_t(len) * c.hd * 4);
      s.xFloat.assign(longStep.xFloat.begin() + start * c.hd,
                      longStep.xFloat.begin() + (start + len) * c.hd);
      std::vector<float> part = chunked.step(s, "chunk");
      got.insert(got.end(), part.begin(), part.end());
    }
    std::vector<double> want(wantOut.begin(), wantOut.end());
    Tolerance tight{1e-5, 1e-6, 0};
    Comparison cmp = compare(got, want, tight);
    EXPECT_TRUE(cmp.ok) << "chunk " << chunk << ": max abs " << cmp.maxAbs;
    std::vector<float> s1 = whole.pool.ssm.toFloats(),
                       s2 = chunked.pool.ssm.toFloats();
    Comparison st = compare(s2, std::vector<double>(s1.begin(), s1.end()),
                            tight);
    EXPECT_TRUE(st.ok) << "chunk " << chunk << " ssm state: max abs "
                       << st.maxAbs;
    std::vector<float> c1 = whole.pool.conv.toFloats(),
                       c2 = chunked.pool.conv.toFloats();
    EXPECT_EQ(c1, c2) << "chunk " << chunk << ": conv states differ";
  }
}

TEST(JitBranch, PadRowsGiveZerosAndLeaveTheirSlotsAlone) {
  for (int64_t pad : {-1, 0}) {
    BranchConfig c = mamba130m();
    c.padSlotId = pad;
    BranchRun run(c, 8);
    std::vector<uint8_t> conv = run.pool.conv.bytes, ssm = run.pool.ssm.bytes;
    int padSlot = int(pad);
    // Decode pad rows (graph padding) and a prefill pad row.
    ref::Batch b = makeBatch(3, {{1, 3, true}, {1, padSlot, true},
                                 {1, padSlot, true}, {6, padSlot, false},
                                 {4, 5, false}});
    b.dstStateIndices = {3, padSlot, padSlot, padSlot, 5};
    std::vector<float> out = run.step(b, "pad");
    for (int t : {1, 2, 3, 4, 5, 6, 7, 8})
      for (int64_t h = 0; h < c.hd; ++h)
        ASSERT_EQ(out[size_t(t * c.hd + h)], 0.0f)
            << "pad row output at token " << t;
    // Only slots 3 and 5 changed.
    size_t convSlot = size_t((c.w - 1) * c.d) * 4,
           ssmSlot = size_t(c.d * c.n) * 4;
    for (int64_t s = 0; s < 8; ++s) {
      bool live = s == 3 || s == 5;
      bool same =
          std::memcmp(conv.data() + s * convSlot,
                      run.pool.conv.bytes.data() + s * convSlot, convSlot) == 0 &&
          std::memcmp(ssm.data() + s * ssmSlot,
                      run.pool.ssm.bytes.data() + s * ssmSlot, ssmSlot) == 0;
      EXPECT_EQ(same, !live) << "slot " << s << " (pad " << pad << ")";
    }
    run.checkPool("pad");
  }
}

TEST(JitBranch, DestinationSlotsDifferFromSources) {
  BranchRun run(mamba130m(), 12);
  std::vector<uint8_t> before = run.pool.ssm.bytes;
  run.step(makeBatch(1, {{1, 2, true}, {9, 4, true}, {3, 6, false}},
                     {10, 11, 7}),
           "dst");
  run.checkPool("dst");
  // Source slots keep their states.
  size_t ssmSlot = size_t(run.config.d * run.config.n) * 4;
  for (int s : {2, 4, 6})
    EXPECT_EQ(0, std::memcmp(before.data() + s * ssmSlot,
                             run.pool.ssm.bytes.data() + s * ssmSlot, ssmSlot))
        << "source slot " << s << " was written";
}

TEST(JitBranch, NoInitialStateIgnoresTheSlot) {
  BranchRun run(mamba130m(), 4);
  run.step(makeBatch(0, {{5, 0, false}, {1, 1, false}, {2, 2, false}}),
           "fresh");
  run.checkPool("fresh");
}

TEST(JitBranch, ConvWidths) {
  for (int64_t w : {2, 3, 4, 5}) {
    BranchConfig c = mamba130m();
    c.w = w;
    BranchRun run(c, 6);
    // Rows shorter and longer than W-1, with and without state.
    run.step(makeBatch(1, {{1, 0, true}, {1, 1, true}, {2, 2, true},
                           {7, 3, false}}),
             "W=" + std::to_string(w));
    run.step(makeBatch(2, {{1, 1, true}, {1, 3, true}}), "decodes");
    run.checkPool("W=" + std::to_string(w));
  }
}

TEST(JitBranch, StateSizes) {
  for (int64_t n : {1, 16, 256}) {
    BranchConfig c = mamba130m();
    c.n = n;
    BranchRun run(c, 4);
    run.step(makeBatch(1, {{1, 0, true}, {11, 1, true}, {4, 2, false}}),
             "N=" + std::to_string(n));
    run.checkPool("N=" + std::to_string(n));
  }
}

TEST(JitBranch, StorageTypes) {
  const DType types[] = {DType::F32, DType::F16, DType::BF16};
  for (DType act : types)
    for (DType conv : types)
      for (DType ssm : types) {
        // Every activation type with every state type, each chosen
        // separately; the full cube at mamba-130m is cheap enough.
        BranchConfig c = mamba130m();
        c.act = act;
        c.convState = conv;
        c.ssmState = ssm;
        BranchRun run(c, 4);
        std::string label = std::string(dtypeName(act)) + "/" +
                            dtypeName(conv) + "/" + dtypeName(ssm);
        run.step(makeBatch(1, {{1, 0, true}, {13, 1, true}, {3, 2, false}}),
                 label);
        run.step(makeBatch(2, {{1, 1, true}, {1, 2, true}}), label + " decode");
        run.checkPool(label);
      }
}

TEST(JitBranch, LongPrefill4096Tokens) {
  BranchRun run(mamba130m(), 2);
  run.step(makeBatch(0, {{4096, 1, true}}), "4096 tokens");
  run.checkPool("4096 tokens");
}

TEST(JitBranch, Modes) {
  for (BranchMode mode : {BranchMode::Zero, BranchMode::PrefixSum}) {
    BranchConfig c = mamba130m();
    c.mode = mode;
    BranchRun run(c, 4);
    std::vector<uint8_t> conv = run.pool.conv.bytes, ssm = run.pool.ssm.bytes;
    run.step(makeBatch(2, {{1, 0, true}, {1, 1, true}, {9, 2, false}}),
             branchModeName(mode));
    // Neither mode touches the pool.
    EXPECT_EQ(conv, run.pool.conv.bytes);
    EXPECT_EQ(ssm, run.pool.ssm.bytes);
  }
}

TEST(JitBranch, SegmentedPrefixSumContinuesFromState) {
  const char *source = R"mlir(
    func.func @seg(%x: memref<?x8xf32>, %state: memref<?x8xf32>,
                   %qsl: memref<?xi32>, %slots: memref<?xi32>,
                   %init: memref<?xi8>, %nd: index, %np: index, %npt: index,
                   %out: memref<?x8xf32>) {
      %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
          state_indices(%slots : memref<?xi32>)
          has_initial_state(%init : memref<?xi8>)
          decodes(%nd, %nd) prefills(%np, %npt)
      hssm.segmented_prefix_sum x(%x : memref<?x8xf32>)
          state(%state : memref<?x8xf32>) batch(%b)
          out(%out : memref<?x8xf32>)
      return
    })mlir";
  jit::Function fn;
  ASSERT_TRUE(sharedJit().compile(source, "seg", fn).ok());
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> dist(-1, 1);
  ref::Batch b = makeBatch(1, {{1, 2, true}, {4, 0, true}, {3, 1, false}});
  const int64_t tokens = 8, width = 8, slots = 4;
  std::vector<float> x(tokens * width), state(slots * width), out(tokens * width);
  for (float &v : x) v = dist(rng);
  for (float &v : state) v = dist(rng);
  std::vector<float> refState = state;
  std::vector<double> want;
  ref::segmentedPrefixSum(x, width, b, -1, DType::F32, refState, want);
  std::vector<int32_t> qsl = b.queryStartLoc, slotsV = b.stateIndices;
  std::vector<uint8_t> init = b.hasInitialState;
  Status st = fn.call({jit::Buffer{x.data(), {tokens, width}},
                       jit::Buffer{state.data(), {slots, width}},
                       jit::Buffer{qsl.data(), {4}, jit::Elem::I32},
                       jit::Buffer{slotsV.data(), {3}, jit::Elem::I32},
                       jit::Buffer{init.data(), {3}, jit::Elem::I8},
                       int64_t(1), int64_t(2), int64_t(7),
                       jit::Buffer{out.data(), {tokens, width}}});
  ASSERT_TRUE(st.ok()) << st.message();
  Comparison c = compare(out, want, Tolerance{});
  EXPECT_TRUE(c.ok) << "max abs " << c.maxAbs;
  Comparison cs = compare(state, std::vector<double>(refState.begin(),
                                                     refState.end()),
                          Tolerance{});
  EXPECT_TRUE(cs.ok) << "state max abs " << cs.maxAbs;
}

TEST(JitBranch, ServingTraceAtMamba130m) {
  BranchConfig c = mamba130m();
  BranchRun run(c, 24);
  Scheduler scheduler(24);
  Trace trace = makeBuiltinTrace(11, 10, 16);
  for (const TraceStep &ts : trace) {
    ref::Batch b;
    std::vector<int64_t> order;
    ASSERT_TRUE(scheduler.schedule(ts, b, order).ok());
    run.step(b, "trace");
    scheduler.finish(ts);
  }
  run.checkPool("trace");
}

/// Prints the largest error per storage-type combination (for the notes).
class ErrorReport : public ::testing::Environment {
public:
  void TearDown() override {
    for (auto &[key, err] : worstErrors())
      std::printf("largest abs error, %s: %.3e\n", key.c_str(), err);
  }
};
const auto *report =
    ::testing::AddGlobalTestEnvironment(new ErrorReport);

} // namespace
