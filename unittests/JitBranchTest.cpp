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

#include <cstdio>
#include <cstring>
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
