//===- JitErrorTest.cpp - Error paths of the JIT and of a step ------------===//
//
// Bad IR, unknown functions and wrong arguments come back as messages; a bad
// batch is rejected before anything is written (the pool is compared byte for
// byte before and after).
//
//===----------------------------------------------------------------------===//

#include "hssm/Harness/Harness.h"
#include "hssm/Jit/Jit.h"

#include <gtest/gtest.h>

using namespace hssm;
using namespace hssm::harness;

namespace {

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

const char *kScale = R"mlir(
  func.func @combine(%a: memref<?x4xf32>, %b: memref<?x4xf32>,
                     %o: memref<?x4xf32>) {
    hssm.combine swa(%a : memref<?x4xf32>) ssm(%b : memref<?x4xf32>)
        out(%o : memref<?x4xf32>)
    return
  })mlir";

TEST(JitErrors, ParseErrorIsReported) {
  jit::Jit jit;
  jit::Function fn;
  Status st = jit.compile("func.func @f( {", "f", fn);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(contains(st.message(), "does not parse")) << st.message();
}

TEST(JitErrors, VerifierErrorIsReported) {
  jit::Jit jit;
  jit::Function fn;
  std::string bad = historyBranchSource([] {
    BranchConfig c;
    c.hd = 64; c.d = 128; c.r = 4;
    return c;
  }());
  // A conv width of 6 breaks 2 <= W <= 5.
  size_t pos = bad.find("128x4x");
  ASSERT_NE(pos, std::string::npos);
  for (size_t p = 0; (p = bad.find("128x4xf32", p)) != std::string::npos;)
    bad.replace(p, 9, "128x6xf32");
  for (size_t p = 0; (p = bad.find("?x3x128", p)) != std::string::npos;)
    bad.replace(p, 7, "?x5x128");
  Status st = jit.compile(bad, "history_branch", fn);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(contains(st.message(), "conv width W = 6")) << st.message();
}

TEST(JitErrors, UnknownFunctionListsTheKnownOnes) {
  jit::Jit jit;
  jit::Function fn;
  Status st = jit.compile(kScale, "nope", fn);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(contains(st.message(), "no function named 'nope'"));
  EXPECT_TRUE(contains(st.message(), "combine")) << st.message();
}

TEST(JitErrors, WrongArgumentsAreRejected) {
  jit::Jit jit;
  jit::Function fn;
  ASSERT_TRUE(jit.compile(kScale, "combine", fn).ok());
  std::vector<float> a(8, 1), b(8, 2), o(8, 0);
  jit::Buffer ba{a.data(), {2, 4}}, bb{b.data(), {2, 4}}, bo{o.data(), {2, 4}};

  Status st = fn.call({ba, bb});
  EXPECT_TRUE(contains(st.message(), "takes 3 arguments, got 2"))
      << st.message();
  st = fn.call({ba, bb, jit::Buffer{o.data(), {2, 5}}});
  EXPECT_TRUE(contains(st.message(), "must have shape [?, 4], got [2, 5]"))
      << st.message();
  st = fn.call({ba, bb, jit::Buffer{o.data(), {8}}});
  EXPECT_TRUE(contains(st.message(), "has rank 2")) << st.message();
  st = fn.call({ba, bb, jit::Buffer{o.data(), {2, 4}, jit::Elem::BF16}});
  EXPECT_TRUE(contains(st.message(), "holds f32, got bf16")) << st.message();
  st = fn.call({ba, bb, int64_t(3)});
  EXPECT_TRUE(contains(st.message(), "is a buffer, got an integer"))
      << st.message();
  st = fn.call({ba, bb, jit::Buffer{nullptr, {2, 4}}});
  EXPECT_TRUE(contains(st.message(), "no data pointer")) << st.message();
  // Nothing was written by the rejected calls; a good call works.
  EXPECT_EQ(o, std::vector<float>(8, 0));
  ASSERT_TRUE(fn.call({ba, bb, bo}).ok());
  EXPECT_EQ(o, std::vector<float>(8, 3));
}

TEST(JitErrors, CompiledCodeIsCachedByIR) {
  jit::Jit jit;
  jit::Function f1, f2;
  ASSERT_TRUE(jit.compile(kScale, "combine", f1).ok());
  ASSERT_TRUE(jit.compile(kScale, "combine", f2).ok());
  EXPECT_EQ(jit.numCompiled(), 1u);
  ASSERT_TRUE(jit.compile(std::string(kScale) + "\n// another\n", "combine",
                          f2)
                  .ok());
  EXPECT_EQ(jit.numCompiled(), 1u) << "comments do not change the IR";
  EXPECT_EQ(f2.numArgs(), 3u);
}

/// A rejected batch writes nothing: output and pool are compared byte for
/// byte with their state before the call.
class RejectedBatch : public ::testing::Test {
protected:
  void SetUp() override {
    config.hd = 64;
    config.d = 128;
    config.r = 4;
    jit::Jit &j = jitInstance();
    ASSERT_TRUE(j.compile(historyBranchSource(config), "history_branch", fn)
                    .ok());
    model = makeRandomModel(config, 5);
    pool = makePool(config, 8);
    std::mt19937_64 rng(9);
    for (int64_t i = 0; i < pool.ssm.numElements(); ++i)
      pool.ssm.set(size_t(i), float(i % 13) - 6);
    for (int64_t i = 0; i < pool.conv.numElements(); ++i)
      pool.conv.set(size_t(i), float(i % 7) - 3);
    ref::Batch b;
    b.queryStartLoc = {0, 1, 2, 6};
    b.stateIndices = {1, 2, 3};
    b.hasInitialState = {1, 1, 0};
    b.numDecodes = 2;
    b.numPrefills = 1;
    step = makeStep(config, b, rng);
  }
  static jit::Jit &jitInstance() {
    static jit::Jit *jit = new jit::Jit; // leaked: see JitBranchTest.cpp
    return *jit;
  }
  void expectRejected(const std::string &part) {
    std::vector<uint8_t> conv = pool.conv.bytes, ssm = pool.ssm.bytes;
    HostTensor out;
    Status st = runStep(fn.invoker(), model, pool, step, out);
    EXPECT_FALSE(st.ok());
    EXPECT_TRUE(contains(st.message(), part)) << st.message();
    EXPECT_EQ(conv, pool.conv.bytes) << "conv pool changed";
    EXPECT_EQ(ssm, pool.ssm.bytes) << "ssm pool changed";
  }
  BranchConfig config;
  jit::Function fn;
  Model model;
  Pool pool;
  Step step;
};

TEST_F(RejectedBatch, ValidBatchRuns) {
  HostTensor out;
  EXPECT_TRUE(runStep(fn.invoker(), model, pool, step, out).ok());
}
TEST_F(RejectedBatch, QueryStartLocMustStartAtZero) {
  step.batch.queryStartLoc[0] = 1;
  expectRejected("query_start_loc[0] = 1");
}
TEST_F(RejectedBatch, QueryStartLocMustNotDecrease) {
  step.batch.queryStartLoc = {0, 1, 0, 6};
  expectRejected("non-decreasing");
}
TEST_F(RejectedBatch, QueryStartLocMustEndAtT) {
  step.batch.queryStartLoc = {0, 1, 2, 5};
  expectRejected("query_start_loc[3] = 5");
}
TEST_F(RejectedBatch, DecodesHaveOneToken) {
  step.batch.queryStartLoc = {0, 2, 3, 6};
  expectRejected("a decode row has exactly one token");
}
TEST_F(RejectedBatch, SlotsMustBeInThePool) {
  step.batch.stateIndices = {1, 8, 3};
  expectRejected("state_indices[1] = 8 is outside [0, 8)");
}
TEST_F(RejectedBatch, DestinationsMustBeInThePool) {
  step.batch.dstStateIndices = {1, 2, -5};
  expectRejected("dst_state_indices[2] = -5");
}
TEST_F(RejectedBatch, TwoRowsMayNotWriteOneSlot) {
  step.batch.dstStateIndices = {4, 4, 5};
  expectRejected("two live rows may not write the same slot");
}
TEST_F(RejectedBatch, AWrittenSlotIsNotAnotherRowsSource) {
  step.batch.dstStateIndices = {2, 1, 3};
  expectRejected("may not be read by another row");
}
TEST_F(RejectedBatch, CountsMustAddUp) {
  step.batch.numPrefills = 2;
  expectRejected("num_decodes (2) + num_prefills (2) != num_reqs (3)");
}

} // namespace
