//===- JitBranchTest.cpp - The JIT-compiled branch against the reference --===//
//
// The shared branch cases (BranchCases.inc) on the CPU path: compiled
// in-process by the JIT. Each test prints its largest errors.
//
//===----------------------------------------------------------------------===//

#include "hssm/Harness/Harness.h"
#include "hssm/Jit/Jit.h"

#include "JitTestSupport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>

using namespace hssm;
using namespace hssm::harness;

namespace {

using hssm::testing::compileBranch;
using hssm::testing::sharedJit;

} // namespace

#define BRANCH_SUITE JitBranch
#include "BranchCases.inc"

namespace {

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

} // namespace

namespace {

/// softplus over its whole range, through the scan: one-token rows without
/// initial state, A = 0, B = C = e_0, u = 1 and no skip give y = dt, so each
/// (row, channel) shows the softplus of its delta (not for delta = +inf:
/// its decay is exp(inf * 0)). Past 20 it must be delta itself (SPEC.md),
/// -inf must give 0 and NaN NaN, and
/// elsewhere it must hold f32 precision (1e-6 relative) for the deltas that
/// real biases give (e^v far below 1, where log(1 + e^v) loses digits).
TEST(JitBranch, SoftplusAcrossItsRange) {
  const char *source = R"mlir(
    func.func @sp(%qsl: memref<?xi32>, %si: memref<?xi32>,
                  %init: memref<?xi8>, %nd: index, %np: index, %npt: index,
                  %u: memref<?x32xf32>, %dt: memref<?x32xf32>,
                  %A: memref<32x16xf32>, %B: memref<?x16xf32>,
                  %C: memref<?x16xf32>, %D: memref<32xf32>,
                  %ss: memref<?x32x16xf32>, %y: memref<?x32xf32>) {
      %b = hssm.batch query_start_loc(%qsl : memref<?xi32>)
          state_indices(%si : memref<?xi32>)
          has_initial_state(%init : memref<?xi8>)
          decodes(%nd, %nd) prefills(%np, %npt)
      hssm.selective_scan u(%u : memref<?x32xf32>)
          delta(%dt : memref<?x32xf32>) A(%A : memref<32x16xf32>)
          B(%B : memref<?x16xf32>) C(%C : memref<?x16xf32>)
          D(%D : memref<32xf32>) state(%ss : memref<?x32x16xf32>)
          batch(%b) out(%y : memref<?x32xf32>) {delta_softplus}
      return
    })mlir";
  jit::Function fn;
  Status compiled = sharedJit().compile(source, "sp", fn);
  ASSERT_TRUE(compiled.ok()) << compiled.message();
  const int64_t rows = 24, d = 32, n = 16;
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> delta = {
      -inf,   3e38f, std::nanf(""), -1e30f,     1e30f, 0.0f,  -0.0f,  1e-8f,
      -1e-8f, 20.0f, 20.000002f,    19.999998f, 14.0f, 16.0f, -87.0f, -103.0f};
  // -100..100 by 0.27 (irregular against the polynomial's nodes), then
  // dense around the usual biases.
  for (float v = -100.0f; delta.size() < size_t(rows * d / 2); v += 0.27f)
    delta.push_back(v);
  for (float v = -9.0f; delta.size() < size_t(rows * d); v += 0.019f)
    delta.push_back(v);
  std::vector<float> u(rows * d, 1.0f), a(d * n, 0.0f), bm(rows * n, 0.0f),
      cm(rows * n, 0.0f), skip(d, 0.0f), state(rows * d * n, -7.0f),
      y(rows * d, -7.0f);
  for (int64_t t = 0; t < rows; ++t)
    bm[t * n] = cm[t * n] = 1.0f;
  std::vector<int32_t> qsl(rows + 1), slots(rows);
  for (int32_t r = 0; r <= rows; ++r)
    qsl[r] = r;
  for (int32_t r = 0; r < rows; ++r)
    slots[r] = r;
  std::vector<uint8_t> init(rows, 0);
  Status st = fn.call(
      {jit::Buffer{qsl.data(), {rows + 1}, jit::Elem::I32},
       jit::Buffer{slots.data(), {rows}, jit::Elem::I32},
       jit::Buffer{init.data(), {rows}, jit::Elem::I8}, int64_t(0), rows, rows,
       jit::Buffer{u.data(), {rows, d}}, jit::Buffer{delta.data(), {rows, d}},
       jit::Buffer{a.data(), {d, n}}, jit::Buffer{bm.data(), {rows, n}},
       jit::Buffer{cm.data(), {rows, n}}, jit::Buffer{skip.data(), {d}},
       jit::Buffer{state.data(), {rows, d, n}},
       jit::Buffer{y.data(), {rows, d}}});
  ASSERT_TRUE(st.ok()) << st.message();
  double worst = 0;
  for (size_t i = 0; i < delta.size(); ++i) {
    double v = delta[i];
    if (std::isnan(v)) {
      EXPECT_TRUE(std::isnan(y[i])) << "softplus(NaN) = " << y[i];
      continue;
    }
    if (v > 20) {
      EXPECT_EQ(y[i], delta[i]) << "softplus(" << v << ") past 20";
      continue;
    }
    double want = std::log1p(std::exp(v));
    double err = std::abs(y[i] - want);
    // Below f32's normal range only absolute error is meaningful.
    EXPECT_LE(err, 1e-6 * want + 1e-37)
        << "softplus(" << v << ") = " << y[i] << ", want " << want;
    if (want > 1e-37)
      worst = std::max(worst, err / want);
  }
  std::printf("softplus: largest relative error %.3g\n", worst);
}

} // namespace

namespace {

/// The layer's sum `swa + branch`, written in place into the attention
/// output: the pipeline folds the combine into out_proj (accumulate).
TEST(JitBranch, CombineFoldedIntoOutProj) {
  BranchConfig c = mamba130m();
  std::string source = historyBranchSource(c, "layer");
  // The branch writes a temporary that the combine adds to %out in place.
  std::string branchOut = "batch(%batch) out(%out : memref<?x768xf32>)";
  size_t at = source.find(branchOut);
  ASSERT_NE(at, std::string::npos);
  source.replace(at, branchOut.size(),
                 "batch(%batch) out(%s : memref<?x768xf32>)\n"
                 "  hssm.combine swa(%out : memref<?x768xf32>) "
                 "ssm(%s : memref<?x768xf32>) out(%out : memref<?x768xf32>)\n"
                 "  memref.dealloc %s : memref<?x768xf32>");
  size_t body = source.find("  %batch = hssm.batch");
  source.insert(body, "  %c0 = arith.constant 0 : index\n"
                      "  %t = memref.dim %x, %c0 : memref<?x768xf32>\n"
                      "  %s = memref.alloc(%t) : memref<?x768xf32>\n");
  jit::Function fn;
  Status st = sharedJit().compile(source, "layer", fn);
  ASSERT_TRUE(st.ok()) << st.message();

  Model model = makeRandomModel(c, 21);
  Pool pool = makePool(c, 4);
  ref::Pool refPool = toReferencePool(pool, c);
  std::mt19937_64 rng(5);
  Step s = makeStep(c, makeBatch(1, {{1, 0, false}, {9, 1, false}}), rng);
  // runStep hands `out` in zeroed; seed it with an attention output instead.
  HostTensor swa(c.act, {s.numTokens(), c.hd});
  std::vector<float> swaValues(size_t(s.numTokens() * c.hd));
  for (size_t i = 0; i < swaValues.size(); ++i) {
    swaValues[i] = std::uniform_real_distribution<float>(-1, 1)(rng);
    swa.set(i, swaValues[i]);
  }
  Invoker withSwa = [&](const std::vector<Arg> &args) {
    std::vector<Arg> a = args;
    Buffer out = std::get<Buffer>(a.back());
    std::memcpy(out.data, swa.bytes.data(), swa.bytes.size());
    return fn.call(a);
  };
  HostTensor out;
  ASSERT_TRUE(runStep(withSwa, model, pool, s, out).ok());
  std::vector<double> want;
  ref::mamba1Step({c.hd, c.d, c.n, c.r, c.w}, model.weights, s.batch,
                  s.xFloat, refPool, want);
  for (size_t i = 0; i < want.size(); ++i)
    want[i] += swaValues[i];
  Comparison cmp = compare(out.toFloats(), want, toleranceFor(c.act, c.convState, c.ssmState));
  EXPECT_TRUE(cmp.ok) << "max abs " << cmp.maxAbs << " at " << cmp.worst;
}

} // namespace
