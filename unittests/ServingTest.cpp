//===- ServingTest.cpp - The serving runtime: specs, pools, batches -------===//
//
// The state spec, the pool manager, the batch builder and the adapter, each
// rule with its error, and the long check over 1000 steps at tiny sizes
// with the branch compiled by the JIT on the CPU.
//
//===----------------------------------------------------------------------===//

#include "hssm/Harness/Harness.h"
#include "hssm/Jit/Jit.h"
#include "hssm/Serving/BatchBuilder.h"
#include "hssm/Serving/HybridSSMAdapter.h"
#include "hssm/Serving/LongCheck.h"
#include "hssm/Serving/StatePool.h"
#include "hssm/Serving/StateSpec.h"

#include "JitTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>

using namespace hssm;
using namespace hssm::serving;
using harness::HostTensor;

namespace {

using hssm::testing::compileBranch;
using hssm::testing::sharedJit;

/// Tiny sizes: Hd 64, D 128, N 16, R 4, W 4.
BranchConfig tiny() { return LongCheckOptions().branch; }

StateSpec smallSpec(DType conv = DType::F32, DType ssm = DType::F32) {
  StateSpecOptions o;
  o.intermediateSize = 8;
  o.stateSize = 4;
  o.convKernelSize = 3;
  o.convStateDType = conv;
  o.ssmStateDType = ssm;
  StateSpec s;
  EXPECT_TRUE(makeStateSpec(o, s).ok());
  return s;
}

std::unique_ptr<StatePoolManager>
makePools(const StateSpec &spec, int64_t layers, int64_t slots, int64_t pad) {
  std::unique_ptr<StatePoolManager> m;
  Status st = StatePoolManager::create(spec, layers, slots, pad, m);
  EXPECT_TRUE(st.ok()) << st.message();
  return m;
}

/// The bytes of one slot (conv then ssm) of one layer.
std::vector<uint8_t> slotBytes(const StatePoolManager &m, int64_t layer,
                               int64_t slot) {
  const harness::Pool &p = m.layer(layer);
  size_t cb = size_t(m.spec().convStateBytes()),
         sb = size_t(m.spec().ssmStateBytes());
  std::vector<uint8_t> v(p.conv.bytes.begin() + int64_t(slot * cb),
                         p.conv.bytes.begin() + int64_t((slot + 1) * cb));
  v.insert(v.end(), p.ssm.bytes.begin() + int64_t(slot * sb),
           p.ssm.bytes.begin() + int64_t((slot + 1) * sb));
  return v;
}

/// Fills every slot of every layer with random values.
void randomizePools(StatePoolManager &m, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (int64_t l = 0; l < m.numLayers(); ++l) {
    harness::Pool &p = m.layer(l);
    for (int64_t i = 0; i < p.conv.numElements(); ++i)
      p.conv.set(size_t(i), dist(rng));
    for (int64_t i = 0; i < p.ssm.numElements(); ++i)
      p.ssm.set(size_t(i), dist(rng));
  }
}

void expectError(const Status &st, const std::string &part) {
  ASSERT_FALSE(st.ok()) << "expected an error containing '" << part << "'";
  EXPECT_NE(st.message().find(part), std::string::npos)
      << "message: " << st.message() << "\nexpected to contain: " << part;
}

//===----------------------------------------------------------------------===//
// State spec
//===----------------------------------------------------------------------===//

TEST(StateSpec, ShapesDtypesAndPageBytesAtMamba130m) {
  StateSpecOptions o;
  o.intermediateSize = 1536;
  o.stateSize = 16;
  o.convKernelSize = 4;
  StateSpec s;
  ASSERT_TRUE(makeStateSpec(o, s).ok());
  EXPECT_EQ(s.convStateShape(), (std::array<int64_t, 2>{3, 1536}));
  EXPECT_EQ(s.ssmStateShape(), (std::array<int64_t, 2>{1536, 16}));
  EXPECT_EQ(s.stateDTypes(), (std::array<DType, 2>{DType::F32, DType::F32}));
  EXPECT_EQ(s.convStateBytes(), 3 * 1536 * 4);
  EXPECT_EQ(s.ssmStateBytes(), 1536 * 16 * 4);
  EXPECT_EQ(s.pageSizeBytes(), 116736);

  // tp = 2 halves D per rank; "auto" state dtypes follow the model's.
  o.tpSize = 2;
  o.modelDType = DType::BF16;
  o.convStateDType = DType::F32;
  ASSERT_TRUE(makeStateSpec(o, s).ok());
  EXPECT_EQ(s.localIntermediateSize, 768);
  EXPECT_EQ(s.convStateShape(), (std::array<int64_t, 2>{3, 768}));
  EXPECT_EQ(s.ssmStateShape(), (std::array<int64_t, 2>{768, 16}));
  EXPECT_EQ(s.stateDTypes(), (std::array<DType, 2>{DType::F32, DType::BF16}));
  EXPECT_EQ(s.pageSizeBytes(), 3 * 768 * 4 + 768 * 16 * 2);
}

TEST(StateSpec, RejectsBadSizes) {
  StateSpecOptions good;
  good.intermediateSize = 1536;
  good.stateSize = 16;
  struct Case {
    std::function<void(StateSpecOptions &)> change;
    std::string message;
  };
  std::vector<Case> cases = {
      {[](StateSpecOptions &o) { o.tpSize = 0; }, "tp_size = 0 is less than 1"},
      {[](StateSpecOptions &o) { o.tpSize = 5; },
       "intermediate_size = 1536 is not divisible by tp_size = 5"},
      {[](StateSpecOptions &o) { o.intermediateSize = 0; },
       "intermediate_size = 0 is less than 1"},
      {[](StateSpecOptions &o) { o.convKernelSize = 1; },
       "conv_kernel_size = 1 is outside 2..5"},
      {[](StateSpecOptions &o) { o.convKernelSize = 6; },
       "conv_kernel_size = 6 is outside 2..5"},
      {[](StateSpecOptions &o) { o.stateSize = 0; },
       "ssm_state_size = 0 is outside 1..256"},
      {[](StateSpecOptions &o) { o.stateSize = 257; },
       "ssm_state_size = 257 is outside 1..256"},
  };
  for (const Case &c : cases) {
    StateSpecOptions o = good;
    c.change(o);
    StateSpec s;
    expectError(makeStateSpec(o, s), c.message);
  }
  // The edges are fine.
  for (int64_t w : {2, 5})
    for (int64_t n : {1, 256}) {
      StateSpecOptions o = good;
      o.convKernelSize = w;
      o.stateSize = n;
      o.tpSize = 4;
      StateSpec s;
      EXPECT_TRUE(makeStateSpec(o, s).ok()) << "W " << w << " N " << n;
    }
}

//===----------------------------------------------------------------------===//
// State pool manager
//===----------------------------------------------------------------------===//

TEST(StatePool, SlotsComeZeroedAndAFullPoolSaysItsSize) {
  StateSpec spec = smallSpec(DType::F16, DType::BF16);
  auto m = makePools(spec, 2, 4, -1);
  EXPECT_EQ(m->totalBytes(), 2 * 4 * spec.pageSizeBytes());
  EXPECT_EQ(m->layer(1).conv.shape, (std::vector<int64_t>{4, 2, 8}));
  EXPECT_EQ(m->layer(1).ssm.shape, (std::vector<int64_t>{4, 8, 4}));
  for (int32_t want = 0; want < 4; ++want) {
    int32_t slot = -7;
    ASSERT_TRUE(m->allocate(slot).ok());
    EXPECT_EQ(slot, want);
  }
  EXPECT_EQ(m->numFree(), 0);
  int32_t slot = -7;
  expectError(m->allocate(slot),
              "state pool is full: all 4 usable slots of the 4-slot pool");
  EXPECT_EQ(slot, -7);

  // A freed slot that held state comes back zeroed in every layer; the
  // other slots keep theirs.
  randomizePools(*m, 1);
  std::vector<uint8_t> keep = slotBytes(*m, 1, 1);
  ASSERT_TRUE(m->free(2).ok());
  ASSERT_TRUE(m->allocate(slot).ok());
  EXPECT_EQ(slot, 2);
  for (int64_t l = 0; l < 2; ++l)
    EXPECT_EQ(slotBytes(*m, l, 2),
              std::vector<uint8_t>(size_t(spec.pageSizeBytes()), 0))
        << "layer " << l;
  EXPECT_EQ(slotBytes(*m, 1, 1), keep);
}

TEST(StatePool, TheNullSlotIsNeverHandedOut) {
  auto m = makePools(smallSpec(), 1, 4, 0);
  EXPECT_EQ(m->numUsableSlots(), 3);
  EXPECT_EQ(m->limits().padSlotId, 0);
  EXPECT_EQ(m->limits().numSlots, 4);
  for (int32_t want : {1, 2, 3}) {
    int32_t slot = 0;
    ASSERT_TRUE(m->allocate(slot).ok());
    EXPECT_EQ(slot, want);
  }
  int32_t slot = 0;
  expectError(m->allocate(slot),
              "all 3 usable slots of the 4-slot pool are "
              "allocated (slot 0 is the reserved null slot)");
  EXPECT_FALSE(m->isAllocated(0));
  expectError(m->free(0), "freed slot 0 is the reserved null slot");
  // Freed and allocated again, still never 0.
  ASSERT_TRUE(m->free(1).ok());
  ASSERT_TRUE(m->allocate(slot).ok());
  EXPECT_EQ(slot, 1);
}

TEST(StatePool, FreeingTwiceOrWhatWasNeverAllocatedIsAnError) {
  auto m = makePools(smallSpec(), 1, 4, -1);
  int32_t a = 0, b = 0;
  ASSERT_TRUE(m->allocate(a).ok());
  ASSERT_TRUE(m->allocate(b).ok());
  ASSERT_TRUE(m->free(a).ok());
  expectError(m->free(a), "freed slot 0 is not allocated: a double free");
  expectError(m->free(3), "freed slot 3 is not allocated");
  expectError(m->free(4), "freed slot 4 is outside [0, 4)");
  expectError(m->free(-1), "freed slot -1 is outside [0, 4)");
  // Nothing changed: slot 1 still held, three free.
  EXPECT_TRUE(m->isAllocated(b));
  EXPECT_EQ(m->numFree(), 3);
  EXPECT_EQ(m->numAllocated(), 1);
}

TEST(StatePool, CopySlotCopiesEveryLayerAndOnlyTheDestination) {
  auto m = makePools(smallSpec(DType::BF16, DType::F32), 3, 5, 0);
  std::vector<int32_t> slots(4);
  for (int32_t &s : slots)
    ASSERT_TRUE(m->allocate(s).ok());
  randomizePools(*m, 2);
  std::vector<std::vector<uint8_t>> before;
  for (int64_t l = 0; l < 3; ++l)
    for (int64_t s = 0; s < 5; ++s)
      before.push_back(slotBytes(*m, l, s));
  ASSERT_TRUE(m->copySlot(2, 4).ok());
  for (int64_t l = 0; l < 3; ++l)
    for (int64_t s = 0; s < 5; ++s)
      EXPECT_EQ(slotBytes(*m, l, s), before[size_t(l * 5 + (s == 4 ? 2 : s))])
          << "layer " << l << " slot " << s;
  ASSERT_TRUE(m->copySlot(3, 3).ok());

  ASSERT_TRUE(m->free(1).ok());
  expectError(m->copySlot(1, 2), "copy source slot 1 is not allocated");
  expectError(m->copySlot(2, 1), "copy destination slot 1 is not allocated");
  expectError(m->copySlot(0, 2),
              "copy source slot 0 is the reserved null slot");
  expectError(m->copySlot(2, 0),
              "copy destination slot 0 is the reserved null slot");
  expectError(m->copySlot(5, 2), "copy source slot 5 is outside [0, 5)");
  expectError(m->copySlot(2, -1), "copy destination slot -1 is outside [0, 5)");
}

TEST(StatePool, CreateChecksItsArguments) {
  std::unique_ptr<StatePoolManager> m;
  expectError(StatePoolManager::create(smallSpec(), 0, 4, -1, m),
              "num_layers = 0");
  expectError(StatePoolManager::create(smallSpec(), 1, 4, 2, m),
              "pad_slot_id = 2 is neither -1 nor 0");
  expectError(StatePoolManager::create(smallSpec(), 1, 1, 0, m),
              "num_slots = 1 leaves 0 usable slots");
  expectError(StatePoolManager::create(smallSpec(), 1, 0, -1, m),
              "num_slots = 0 leaves 0 usable slots");
  EXPECT_FALSE(m);
}

//===----------------------------------------------------------------------===//
// Batch builder
//===----------------------------------------------------------------------===//

TEST(BatchBuilder, DecodesComeFirstWithTheirMetadata) {
  // {id, new tokens, computed, slot}
  std::vector<ScheduledRequest> reqs = {
      {10, 5, 0, 3}, // fresh prefill
      {11, 1, 7, 1}, // decode
      {12, 3, 4, 0}, // chunked prefill: reads its state
      {13, 1, 2, 2}, // decode
      {14, 1, 0, 5}, // a one-token prompt: a prefill, no state
  };
  StepBatch sb;
  Status st = buildBatch(reqs, {8, -1}, sb);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(sb.rowRequest, (std::vector<int64_t>{1, 3, 0, 2, 4}));
  EXPECT_EQ(sb.batch.queryStartLoc, (std::vector<int32_t>{0, 1, 2, 7, 10, 11}));
  EXPECT_EQ(sb.batch.stateIndices, (std::vector<int32_t>{1, 2, 3, 0, 5}));
  EXPECT_EQ(sb.batch.hasInitialState, (std::vector<uint8_t>{1, 1, 0, 1, 0}));
  EXPECT_TRUE(sb.batch.dstStateIndices.empty());
  EXPECT_EQ(sb.numDecodes(), 2);
  EXPECT_EQ(sb.numPrefills(), 3);
  EXPECT_EQ(sb.numTokens(), 11);
  EXPECT_EQ(sb.numPrefillTokens(), 9);
  BatchView v = sb.view();
  EXPECT_EQ(v.numDecodeTokens, 2);
  EXPECT_EQ(v.numPrefillTokens, 9);
  EXPECT_TRUE(checkBatch(v, {8, -1}).ok());
}

TEST(BatchBuilder, RejectsBadRequestsAndBadSlots) {
  PoolLimits pool{8, -1};
  StepBatch sb;
  expectError(buildBatch({{1, 1, 3, 2}, {2, 4, 0, 9}}, pool, sb),
              "state_indices[1] = 9 is outside [0, 8)");
  expectError(buildBatch({{1, 1, 3, 2}, {2, 4, 0, 2}}, pool, sb),
              "two live rows may not write the same slot");
  expectError(buildBatch({{1, 0, 3, 2}}, pool, sb),
              "request 1 has 0 new tokens");
  expectError(buildBatch({{1, 2, -1, 2}}, pool, sb),
              "request 1 has -1 computed tokens");
  expectError(buildBatch({{1, 2, 0, 2}, {1, 1, 0, 3}}, pool, sb),
              "request 1 is scheduled twice");
  expectError(buildBatch({{4, 2, 0, -1}}, pool, sb),
              "request 4 has slot -1, the pad slot");
  expectError(buildBatch({{4, 2, 0, 0}}, {8, 0}, sb),
              "request 4 has slot 0, the pad slot");
  EXPECT_EQ(sb.numRows(), 0) << "a failed build must not fill the batch";
  // An empty step is a valid (empty) batch.
  ASSERT_TRUE(buildBatch({}, pool, sb).ok());
  EXPECT_EQ(sb.batch.queryStartLoc, (std::vector<int32_t>{0}));
}

TEST(BatchBuilder, PadsDecodeOnlyBatchesForGraphReplay) {
  for (int64_t pad : {-1, 0}) {
    PoolLimits pool{8, pad};
    StepBatch sb;
    ASSERT_TRUE(
        buildBatch({{1, 1, 5, 3}, {2, 1, 9, 1}, {3, 1, 1, 6}}, pool, sb).ok());
    ASSERT_TRUE(padDecodeBatch(sb, 8, pool).ok());
    int32_t p = int32_t(pad);
    EXPECT_EQ(sb.numRows(), 8);
    EXPECT_EQ(sb.numPadRows, 5);
    EXPECT_EQ(sb.numDecodes(), 8);
    EXPECT_EQ(sb.numPrefills(), 0);
    EXPECT_EQ(sb.batch.queryStartLoc,
              (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
    EXPECT_EQ(sb.batch.stateIndices,
              (std::vector<int32_t>{3, 1, 6, p, p, p, p, p}));
    EXPECT_EQ(sb.rowRequest,
              (std::vector<int64_t>{0, 1, 2, -1, -1, -1, -1, -1}));
    EXPECT_TRUE(checkBatch(sb.view(), pool).ok());
    // Already at the size: nothing added.
    ASSERT_TRUE(padDecodeBatch(sb, 8, pool).ok());
    EXPECT_EQ(sb.numRows(), 8);
  }
  PoolLimits pool{8, -1};
  StepBatch big;
  ASSERT_TRUE(
      buildBatch({{1, 1, 5, 3}, {2, 1, 9, 1}, {3, 1, 1, 6}}, pool, big).ok());
  expectError(padDecodeBatch(big, 2, pool),
              "cannot pad a batch of 3 decodes to 2 rows");
  EXPECT_EQ(big.numRows(), 3);
  StepBatch mixed;
  ASSERT_TRUE(buildBatch({{1, 1, 5, 3}, {2, 4, 0, 1}}, pool, mixed).ok());
  expectError(padDecodeBatch(mixed, 8, pool),
              "cannot pad a batch with 1 prefills");
  EXPECT_EQ(mixed.numRows(), 2);
}

//===----------------------------------------------------------------------===//
// Adapter
//===----------------------------------------------------------------------===//

TEST(HybridSSMAdapter, AnswersTheKvCacheQuestions) {
  AdapterConfig ac;
  ac.hiddenSize = 768;
  ac.ssmStateSize = 16;
  ac.convKernelSize = 4;
  ac.intermediateSize = 1536;
  ac.modelDType = DType::BF16;
  ac.ssmStateDType = DType::F32;
  ac.tpSize = 2;
  std::unique_ptr<HybridSSMAdapter> a;
  ASSERT_TRUE(HybridSSMAdapter::create(ac, a).ok());
  using Shape = std::array<int64_t, 2>;
  EXPECT_EQ(a->getStateShape(),
            (std::array<Shape, 2>{Shape{3, 768}, Shape{768, 16}}));
  EXPECT_EQ(a->getStateDtype(),
            (std::array<DType, 2>{DType::BF16, DType::F32}));
  EXPECT_EQ(a->getKvCacheSpec().pageSizeBytes(), 3 * 768 * 2 + 768 * 16 * 4);
  EXPECT_EQ(a->mode(), BranchMode::Mamba1);
  BranchConfig c = a->branchConfig(0);
  EXPECT_EQ(c.hd, 768);
  EXPECT_EQ(c.d, 768);
  EXPECT_EQ(c.r, 48) << "R defaults to ceil(Hd / 16)";
  EXPECT_EQ(c.act, DType::BF16);
  EXPECT_EQ(c.convState, DType::BF16);
  EXPECT_EQ(c.ssmState, DType::F32);
  EXPECT_EQ(c.padSlotId, 0);

  ac.intermediateSize = 1537;
  expectError(HybridSSMAdapter::create(ac, a), "not divisible by tp_size = 2");
  ac.intermediateSize = 1536;
  ac.hiddenSize = 0;
  expectError(HybridSSMAdapter::create(ac, a), "hidden_size = 0");
  ac.hiddenSize = 768;
  ac.timeStepRank = -3;
  expectError(HybridSSMAdapter::create(ac, a), "time_step_rank = -3");
}

TEST(HybridSSMAdapter, BindingsAreChecked) {
  BranchConfig c = tiny();
  std::unique_ptr<HybridSSMAdapter> a;
  ASSERT_TRUE(HybridSSMAdapter::create(adapterConfigFor(c), a).ok());
  HostTensor x(c.act, {1, c.hd}), out(c.act, {1, c.hd});
  StepBatch sb;
  ASSERT_TRUE(buildBatch({{1, 1, 0, 1}}, {4, -1}, sb).ok());
  expectError(a->forwardMixed(x.buffer(), sb.view(), out.buffer()),
              "forward_mixed: no state pool is bound");

  auto other = makePools(smallSpec(), 1, 4, -1);
  expectError(a->bindPool(*other, 0), "is not this layer's");
  auto pools = makePools(a->getKvCacheSpec(), 2, 4, -1);
  expectError(a->bindPool(*pools, 2), "layer 2 is outside");
  ASSERT_TRUE(a->bindPool(*pools, 1).ok());
  expectError(a->forwardMixed(x.buffer(), sb.view(), out.buffer()),
              "mode mamba1 needs a compiled branch and weights");

  BranchConfig wrong = c;
  wrong.n = 8;
  expectError(
      a->bindBranch([](const std::vector<Arg> &) { return Status::success(); },
                    harness::makeRandomModel(wrong, 1)),
      "is not this layer's");
  expectError(a->bindBranch(Invoker(), harness::makeRandomModel(c, 1)),
              "the compiled branch is empty");

  // A branch compiled for pad -1 cannot run on a pool with a null slot 0.
  auto nullSlot = makePools(a->getKvCacheSpec(), 1, 4, 0);
  ASSERT_TRUE(
      a->bindBranch([](const std::vector<Arg> &) { return Status::success(); },
                    harness::makeRandomModel(c, 1))
          .ok());
  ASSERT_TRUE(a->bindPool(*nullSlot, 0).ok());
  expectError(a->forwardMixed(x.buffer(), sb.view(), out.buffer()),
              "the branch was compiled for pad_slot_id = -1, the pool uses 0");

  // Tensor parallel: the spec is per rank, but forward needs tp = 1.
  AdapterConfig tp = adapterConfigFor(c);
  tp.tpSize = 2;
  std::unique_ptr<HybridSSMAdapter> b;
  ASSERT_TRUE(HybridSSMAdapter::create(tp, b).ok());
  auto tpPools = makePools(b->getKvCacheSpec(), 1, 4, -1);
  ASSERT_TRUE(b->bindPool(*tpPools, 0).ok());
  ASSERT_TRUE(
      b->bindBranch([](const std::vector<Arg> &) { return Status::success(); },
                    harness::makeRandomModel(b->branchConfig(), 1))
          .ok());
  expectError(b->forwardMixed(x.buffer(), sb.view(), out.buffer()),
              "tp_size = 2");
  // zero has no cross-rank sums: it runs at any tp.
  tp.mode = BranchMode::Zero;
  ASSERT_TRUE(HybridSSMAdapter::create(tp, b).ok());
  ASSERT_TRUE(b->bindPool(*tpPools, 0).ok());
  EXPECT_TRUE(b->forwardMixed(x.buffer(), sb.view(), out.buffer()).ok());
}

TEST(HybridSSMAdapter, ZeroModeAddsNothingAndTouchesNoState) {
  BranchConfig c = tiny();
  c.mode = BranchMode::Zero;
  std::unique_ptr<HybridSSMAdapter> a;
  ASSERT_TRUE(HybridSSMAdapter::create(adapterConfigFor(c), a).ok());
  auto pools = makePools(a->getKvCacheSpec(), 1, 4, -1);
  randomizePools(*pools, 3);
  ASSERT_TRUE(a->bindPool(*pools, 0).ok());
  std::vector<uint8_t> conv = pools->layer(0).conv.bytes,
                       ssm = pools->layer(0).ssm.bytes;
  StepBatch sb;
  ASSERT_TRUE(
      buildBatch({{1, 1, 4, 2}, {2, 5, 0, 1}}, pools->limits(), sb).ok());
  HostTensor x(c.act, {6, c.hd}), out(c.act, {6, c.hd});
  for (int64_t i = 0; i < out.numElements(); ++i) {
    x.set(size_t(i), 1.0f);
    out.set(size_t(i), 5.0f);
  }
  ASSERT_TRUE(a->forwardMixed(x.buffer(), sb.view(), out.buffer()).ok());
  EXPECT_EQ(out.toFloats(), std::vector<float>(size_t(6 * c.hd), 0.0f));
  EXPECT_EQ(conv, pools->layer(0).conv.bytes);
  EXPECT_EQ(ssm, pools->layer(0).ssm.bytes);
}

/// A compiled tiny branch on a one-layer pool of random states, with the
/// reference's copy of that pool.
struct AdapterRun {
  explicit AdapterRun(BranchConfig config, int64_t slots = 8)
      : c(config), model(harness::makeRandomModel(c, 5)) {
    EXPECT_TRUE(HybridSSMAdapter::create(adapterConfigFor(c), adapter).ok());
    pools = makePools(adapter->getKvCacheSpec(), 1, slots, c.padSlotId);
    for (int64_t s = 0; s < pools->numUsableSlots(); ++s) {
      int32_t slot = 0;
      EXPECT_TRUE(pools->allocate(slot).ok());
    }
    randomizePools(*pools, 4);
    EXPECT_TRUE(adapter->bindPool(*pools, 0).ok());
    Status st = adapter->bindBranch(compileBranch(c), model);
    EXPECT_TRUE(st.ok()) << st.message();
    refPool = harness::toReferencePool(pools->layer(0), c);
  }

  HostTensor input(int64_t tokens) {
    HostTensor x(c.act, {tokens, c.hd});
    for (int64_t i = 0; i < x.numElements(); ++i)
      x.set(size_t(i), dist(rng));
    return x;
  }

  void expectMatches(const HostTensor &out, const std::vector<double> &want,
                     const std::string &label) {
    harness::Comparison cmp =
        harness::compare(out.toFloats(), want,
                         harness::toleranceFor(c.act, c.convState, c.ssmState));
    EXPECT_TRUE(cmp.ok) << label << ": max abs " << cmp.maxAbs;
  }

  void expectPoolMatches(const std::string &label) {
    harness::Tolerance tol =
        harness::toleranceFor(c.act, c.convState, c.ssmState);
    const harness::Pool &p = pools->layer(0);
    EXPECT_TRUE(harness::compare(p.conv.toFloats(),
                                 {refPool.conv.begin(), refPool.conv.end()},
                                 tol)
                    .ok)
        << label << " conv";
    EXPECT_TRUE(harness::compare(p.ssm.toFloats(),
                                 {refPool.ssm.begin(), refPool.ssm.end()}, tol)
                    .ok)
        << label << " ssm";
  }

  BranchConfig c;
  harness::Model model;
  std::unique_ptr<HybridSSMAdapter> adapter;
  std::unique_ptr<StatePoolManager> pools;
  ref::Pool refPool;
  std::mt19937_64 rng{9};
  std::uniform_real_distribution<float> dist{-1, 1};
};

TEST(HybridSSMAdapter, Mamba1EntriesMatchTheReference) {
  for (int64_t pad : {-1, 0}) {
    BranchConfig c = tiny();
    c.padSlotId = pad;
    AdapterRun run(c);
    ref::Sizes sizes{c.hd, c.d, c.n, c.r, c.w};
    std::string label = "pad " + std::to_string(pad);

    // A mixed step.
    StepBatch sb;
    ASSERT_TRUE(
        buildBatch({{1, 9, 0, 3}, {2, 1, 4, 1}, {3, 6, 2, 5}, {4, 1, 7, 2}},
                   run.pools->limits(), sb)
            .ok());
    HostTensor x = run.input(sb.numTokens()),
               out(c.act, {sb.numTokens(), c.hd});
    Status st = run.adapter->forwardMixed(x.buffer(), sb.view(), out.buffer());
    ASSERT_TRUE(st.ok()) << st.message();
    std::vector<double> want;
    ref::mamba1Step(sizes, run.model.weights, sb.batch, x.toFloats(),
                    run.refPool, want);
    run.expectMatches(out, want, label + " mixed");
    run.expectPoolMatches(label + " mixed");

    // A decode-only step padded to 8 rows: pad rows give exact zeros.
    ASSERT_TRUE(buildBatch({{2, 1, 5, 1}, {4, 1, 8, 2}, {3, 1, 8, 5}},
                           run.pools->limits(), sb)
                    .ok());
    ASSERT_TRUE(padDecodeBatch(sb, 8, run.pools->limits()).ok());
    x = run.input(8);
    out = HostTensor(c.act, {8, c.hd});
    st = run.adapter->forwardHistoryBranchDecode(x.buffer(), sb.view(),
                                                 out.buffer());
    ASSERT_TRUE(st.ok()) << st.message();
    ref::mamba1Step(sizes, run.model.weights, sb.batch, x.toFloats(),
                    run.refPool, want);
    run.expectMatches(out, want, label + " padded decode");
    std::vector<float> got = out.toFloats();
    for (size_t i = size_t(3 * c.hd); i < got.size(); ++i)
      ASSERT_EQ(got[i], 0.0f) << label << " pad output " << i;
    run.expectPoolMatches(label + " padded decode");

    // A prefill-only step through the prefill entry.
    ASSERT_TRUE(
        buildBatch({{5, 4, 0, 4}, {1, 3, 15, 3}}, run.pools->limits(), sb)
            .ok());
    x = run.input(sb.numTokens());
    out = HostTensor(c.act, {sb.numTokens(), c.hd});
    st = run.adapter->forwardHistoryBranchPrefill(x.buffer(), sb.view(),
                                                  out.buffer());
    ASSERT_TRUE(st.ok()) << st.message();
    ref::mamba1Step(sizes, run.model.weights, sb.batch, x.toFloats(),
                    run.refPool, want);
    run.expectMatches(out, want, label + " prefill");
    run.expectPoolMatches(label + " prefill");
  }
}

TEST(HybridSSMAdapter, WrongEntriesShapesAndBatchesAreRejectedUntouched) {
  AdapterRun run(tiny());
  const BranchConfig &c = run.c;
  std::vector<uint8_t> conv = run.pools->layer(0).conv.bytes,
                       ssm = run.pools->layer(0).ssm.bytes;
  StepBatch mixed;
  ASSERT_TRUE(
      buildBatch({{1, 1, 4, 1}, {2, 3, 0, 2}}, run.pools->limits(), mixed)
          .ok());
  HostTensor x = run.input(4), out(c.act, {4, c.hd});
  expectError(run.adapter->forwardHistoryBranchPrefill(x.buffer(), mixed.view(),
                                                       out.buffer()),
              "forward_history_branch_prefill: the batch has 1 decodes");
  expectError(run.adapter->forwardHistoryBranchDecode(x.buffer(), mixed.view(),
                                                      out.buffer()),
              "forward_history_branch_decode: the batch has 1 prefills");
  HostTensor shortX = run.input(3);
  expectError(
      run.adapter->forwardMixed(shortX.buffer(), mixed.view(), out.buffer()),
      "x has shape [3, 64], the step needs [4, 64]");
  HostTensor halfOut(DType::F16, {4, c.hd});
  expectError(
      run.adapter->forwardMixed(x.buffer(), mixed.view(), halfOut.buffer()),
      "out holds f16, the model's dtype is f32");
  // Bad metadata: an out-of-range slot and a duplicate destination.
  std::vector<int32_t> slots = {1, 9};
  BatchView v = mixed.view();
  v.stateIndices = slots.data();
  expectError(run.adapter->forwardMixed(x.buffer(), v, out.buffer()),
              "state_indices[1] = 9 is outside [0, 8)");
  std::vector<int32_t> dst = {6, 6};
  v = mixed.view();
  v.dstStateIndices = dst.data();
  expectError(run.adapter->forwardMixed(x.buffer(), v, out.buffer()),
              "two live rows may not write the same slot");
  EXPECT_EQ(conv, run.pools->layer(0).conv.bytes);
  EXPECT_EQ(ssm, run.pools->layer(0).ssm.bytes);
}

TEST(HybridSSMAdapter, PrefixSumEntriesFollowSpecSection4) {
  BranchConfig c = tiny();
  c.mode = BranchMode::PrefixSum;
  AdapterRun run(c);
  std::vector<uint8_t> ssm = run.pools->layer(0).ssm.bytes;
  std::vector<double> want;

  StepBatch prefills;
  ASSERT_TRUE(
      buildBatch({{1, 4, 0, 1}, {2, 3, 2, 2}}, run.pools->limits(), prefills)
          .ok());
  HostTensor x = run.input(7), out(c.act, {7, c.hd});
  ASSERT_TRUE(run.adapter
                  ->forwardHistoryBranchPrefill(x.buffer(), prefills.view(),
                                                out.buffer())
                  .ok());
  ref::prefixSum(x.toFloats(), 7, c.hd, 7, want);
  run.expectMatches(out, want, "prefill entry");

  // The decode entry sums over the decode tokens (not the zero prefill
  // tokens), pad rows included in the count.
  StepBatch decodes;
  ASSERT_TRUE(
      buildBatch({{1, 1, 4, 1}, {2, 1, 3, 2}}, run.pools->limits(), decodes)
          .ok());
  ASSERT_TRUE(padDecodeBatch(decodes, 4, run.pools->limits()).ok());
  x = run.input(4);
  out = HostTensor(c.act, {4, c.hd});
  ASSERT_TRUE(
      run.adapter
          ->forwardHistoryBranchDecode(x.buffer(), decodes.view(), out.buffer())
          .ok());
  ref::prefixSum(x.toFloats(), 4, c.hd, 4, want);
  run.expectMatches(out, want, "decode entry");
  EXPECT_NE(out.get(size_t(c.hd)), 0.0f);

  // A mixed step sums over the first num_prefill_tokens positions.
  StepBatch mixed;
  ASSERT_TRUE(
      buildBatch({{1, 1, 4, 1}, {2, 5, 0, 2}}, run.pools->limits(), mixed)
          .ok());
  x = run.input(6);
  out = HostTensor(c.act, {6, c.hd});
  ASSERT_TRUE(
      run.adapter->forwardMixed(x.buffer(), mixed.view(), out.buffer()).ok());
  ref::prefixSum(x.toFloats(), 6, c.hd, 5, want);
  run.expectMatches(out, want, "mixed");
  EXPECT_EQ(ssm, run.pools->layer(0).ssm.bytes) << "prefix_sum has no state";
}

//===----------------------------------------------------------------------===//
// The long check
//===----------------------------------------------------------------------===//

TEST(LongCheck, ThousandStepsAtTinySizes) {
  LongCheckOptions o;
  ASSERT_GE(o.steps, 1000);
  Invoker fn = compileBranch(o.branch);
  auto start = std::chrono::steady_clock::now();
  LongCheckReport r;
  Status st = runLongCheck(o, fn, r);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("%s (%.1f s)\n", r.summary().c_str(), seconds);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(r.steps, o.steps);
  EXPECT_GE(r.faultsInjected, o.steps / o.faultEvery - 1);
  EXPECT_EQ(r.faultsRejected, r.faultsInjected);
  EXPECT_GE(r.requestsServed, 100);
  EXPECT_GE(r.preemptions, 10);
  EXPECT_GE(r.forks, 5);
  EXPECT_GE(r.poolFullSteps, 50) << "the pool should run full often";
  EXPECT_GE(r.paddedSteps, 1);
  EXPECT_GE(r.rowsChecked, 2000);
  EXPECT_GT(r.maxAbsError, 0.0) << "outputs compared at all";
  EXPECT_LT(r.maxAbsError, 1e-4);
}

TEST(LongCheck, NullSlotAndReducedPrecisionStates) {
  LongCheckOptions o;
  o.steps = 200;
  o.seed = 2;
  o.branch.padSlotId = 0;
  o.branch.act = DType::BF16;
  o.branch.convState = DType::F16;
  o.branch.ssmState = DType::BF16;
  LongCheckReport r;
  Status st = runLongCheck(o, compileBranch(o.branch), r);
  std::printf("pad 0, bf16/f16/bf16: %s\n", r.summary().c_str());
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_GE(r.faultsInjected, 3);
  EXPECT_EQ(r.faultsRejected, r.faultsInjected);
  EXPECT_GT(r.requestsServed, 10);
}

TEST(LongCheck, SoakWithLongChunkedPromptsAndANullSlot) {
  // Other shapes: long prompts in many chunks, a bigger pool with a null
  // slot and graph size, three layers.
  LongCheckOptions o;
  o.steps = 3000;
  o.seed = 3;
  o.numLayers = 3;
  o.numSlots = 10;
  o.branch.padSlotId = 0;
  o.graphBatchSize = 12;
  o.tokenBudget = 64;
  o.maxPromptTokens = 120;
  o.maxChunkTokens = 32;
  o.arrivalProbability = 0.2;
  o.preemptProbability = 0.05;
  o.faultEvery = 37;
  auto start = std::chrono::steady_clock::now();
  LongCheckReport r;
  Status st = runLongCheck(o, compileBranch(o.branch), r);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("soak: %s (%.1f s)\n", r.summary().c_str(), seconds);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(r.steps, o.steps);
  EXPECT_EQ(r.faultsRejected, r.faultsInjected);
  EXPECT_GE(r.faultsInjected, o.steps / o.faultEvery - 1);
  EXPECT_GE(r.preemptions, 50);
  EXPECT_GE(r.poolFullSteps, 50);
  EXPECT_LT(r.maxAbsError, 1e-4);
}

/// Wraps a branch: after `calls` calls, `corrupt` spoils each call's
/// arguments (outputs or pools) once.
Invoker spoilAfter(Invoker fn, int64_t calls,
                   std::function<void(const std::vector<Arg> &)> corrupt) {
  auto count = std::make_shared<int64_t>(0);
  return [=](const std::vector<Arg> &args) {
    Status st = fn(args);
    if (st.ok() && ++*count == calls)
      corrupt(args);
    return st;
  };
}

TEST(LongCheck, CatchesAWrongOutputAndALostState) {
  LongCheckOptions o;
  o.steps = 300;
  Invoker fn = compileBranch(o.branch);
  LongCheckReport r;
  // One output element off by 1e-2 on the 150th call.
  Invoker badOut = spoilAfter(fn, 150, [](const std::vector<Arg> &args) {
    static_cast<float *>(std::get<Buffer>(args.back()).data)[0] += 1e-2f;
  });
  Status st = runLongCheck(o, badOut, r);
  expectError(st, "alone through the reference");
  EXPECT_LT(r.steps, o.steps);

  // Every SSM state zeroed after the 150th call: later steps must notice.
  Invoker lostState = spoilAfter(fn, 150, [](const std::vector<Arg> &args) {
    const Buffer &ssm = std::get<Buffer>(args[11]);
    int64_t n = 1;
    for (int64_t d : ssm.shape)
      n *= d;
    std::memset(ssm.data, 0, size_t(n) * 4);
  });
  st = runLongCheck(o, lostState, r);
  ASSERT_FALSE(st.ok());
  EXPECT_LT(r.steps, o.steps);

  // Modes without state are refused.
  o.branch.mode = BranchMode::PrefixSum;
  expectError(runLongCheck(o, fn, r), "use mamba1");
}

//===----------------------------------------------------------------------===//
// States in a store, and the long check's graph path (CPU stand-ins for the
// device pools and DecodeGraphs, which need a GPU)
//===----------------------------------------------------------------------===//

/// Host pools behind the LayerStateStore interface, with injectable
/// failures.
class HostStore : public LayerStateStore {
public:
  HostStore(const BranchConfig &c, int64_t layers, int64_t slots) {
    for (int64_t l = 0; l < layers; ++l)
      pools.push_back(harness::makePool(c, slots));
  }
  int64_t numLayers() const override { return int64_t(pools.size()); }
  Status zeroSlot(int64_t slot) override {
    if (failZero)
      return Status::error("injected zeroing failure");
    for (harness::Pool &p : pools) {
      zero(p.conv, slot);
      zero(p.ssm, slot);
    }
    return Status::success();
  }
  Status copySlot(int64_t src, int64_t dst) override {
    for (harness::Pool &p : pools) {
      copy(p.conv, src, dst);
      copy(p.ssm, src, dst);
    }
    return Status::success();
  }
  Buffer conv(int64_t l) const override {
    return const_cast<harness::Pool &>(pools[size_t(l)]).conv.buffer();
  }
  Buffer ssm(int64_t l) const override {
    return const_cast<harness::Pool &>(pools[size_t(l)]).ssm.buffer();
  }
  Status read(int64_t l, std::vector<uint8_t> &c,
              std::vector<uint8_t> &s) const override {
    c = pools[size_t(l)].conv.bytes;
    s = pools[size_t(l)].ssm.bytes;
    return Status::success();
  }

  std::vector<harness::Pool> pools;
  bool failZero = false;

private:
  static size_t slotBytes(const HostTensor &t) {
    return t.bytes.size() / size_t(t.shape[0]);
  }
  static void zero(HostTensor &t, int64_t slot) {
    std::memset(t.bytes.data() + size_t(slot) * slotBytes(t), 0, slotBytes(t));
  }
  static void copy(HostTensor &t, int64_t src, int64_t dst) {
    std::memcpy(t.bytes.data() + size_t(dst) * slotBytes(t),
                t.bytes.data() + size_t(src) * slotBytes(t), slotBytes(t));
  }
};

TEST(StatePool, AStoreHoldsTheStatesAndItsFailuresLeaveSlotsFree) {
  BranchConfig c = tiny();
  std::unique_ptr<HybridSSMAdapter> a;
  ASSERT_TRUE(HybridSSMAdapter::create(adapterConfigFor(c), a).ok());
  const StateSpec &spec = a->getKvCacheSpec();

  // Shapes are checked against the spec.
  std::unique_ptr<StatePoolManager> m;
  expectError(StatePoolManager::create(spec, 2, 4, -1,
                                       std::make_unique<HostStore>(c, 2, 5), m),
              "the state store's layer 0 is not shaped for the spec");
  expectError(StatePoolManager::create(spec, 3, 4, -1,
                                       std::make_unique<HostStore>(c, 2, 4), m),
              "the state store holds 2 layers, the manager serves 3");

  auto owned = std::make_unique<HostStore>(c, 2, 4);
  HostStore *store = owned.get();
  ASSERT_TRUE(
      StatePoolManager::create(spec, 2, 4, 0, std::move(owned), m).ok());
  EXPECT_FALSE(m->onHost());
  EXPECT_EQ(m->store(), store);
  for (harness::Pool &p : store->pools)
    std::fill(p.ssm.bytes.begin(), p.ssm.bytes.end(), uint8_t(0x3c));

  // A failed zeroing hands nothing out and says why.
  store->failZero = true;
  int32_t slot = -1;
  expectError(m->allocate(slot), "allocating slot 1: zeroing it failed: "
                                 "injected zeroing failure");
  EXPECT_EQ(slot, -1);
  EXPECT_EQ(m->numFree(), 3);
  store->failZero = false;

  ASSERT_TRUE(m->allocate(slot).ok());
  EXPECT_EQ(slot, 1);
  std::vector<uint8_t> conv, ssm;
  ASSERT_TRUE(m->readLayer(1, conv, ssm).ok());
  size_t sb = size_t(spec.ssmStateBytes());
  EXPECT_TRUE(std::all_of(ssm.begin() + int64_t(sb),
                          ssm.begin() + int64_t(2 * sb),
                          [](uint8_t v) { return v == 0; }));
  EXPECT_EQ(ssm[0], 0x3c) << "the null slot was zeroed";
  ssm.assign(ssm.size(), 0);
  store->pools[1].ssm.bytes[sb] = 9; // slot 1, layer 1
  int32_t fork = 0;
  ASSERT_TRUE(m->allocate(fork).ok());
  ASSERT_TRUE(m->copySlot(slot, fork).ok());
  EXPECT_EQ(store->pools[1].ssm.bytes[size_t(fork) * sb], 9);
  Buffer bc, bs;
  m->stateBuffers(1, bc, bs);
  EXPECT_EQ(bs.data, store->pools[1].ssm.bytes.data());
  expectError(m->readLayer(2, conv, ssm), "layer 2 is outside");
}

/// The long check's graph path on the CPU: states in a HostStore (as on the
/// device), and decode-only steps "replayed" the way DecodeGraphs does it:
/// padded to the next power of two onto the pad slot, run on the padded
/// batch, pad rows checked to be zero, and refused with DecodeGraphs'
/// wording.
class PaddingBackend : public LongCheckBackend {
public:
  PaddingBackend(const BranchConfig &c, Invoker fn, int64_t maxRows)
      : c(c), fn(std::move(fn)), maxRows(maxRows) {}
  Status makePools(const StateSpec &spec, int64_t layers, int64_t slots,
                   int64_t pad,
                   std::unique_ptr<StatePoolManager> &out) override {
    Status st = StatePoolManager::create(
        spec, layers, slots, pad, std::make_unique<HostStore>(c, layers, slots),
        out);
    manager = out.get();
    return st;
  }
  Status layerBranch(int64_t, harness::Model &model, Invoker &out) override {
    models.push_back(model);
    out = fn;
    return Status::success();
  }
  int64_t maxReplayRows() const override { return maxRows; }
  Status replayDecode(int64_t l, const StepBatch &batch, const Buffer &x,
                      const Buffer &out) override {
    if (batch.numPrefills() != 0)
      return Status::error("graphs replay decode-only steps");
    const int64_t rows = batch.numRows();
    if (rows > maxRows)
      return Status::error("larger than the largest captured size");
    if (Status st = checkBatch(batch.view(), manager->limits()); !st)
      return st;
    int64_t size = 1;
    while (size < rows)
      size *= 2;
    StepBatch padded = batch;
    if (Status st = padDecodeBatch(padded, size, manager->limits()); !st)
      return st;
    const size_t rowBytes = size_t(c.hd) * dtypeSize(c.act);
    HostTensor xp(c.act, {size, c.hd}), op(c.act, {size, c.hd});
    std::memcpy(xp.bytes.data(), x.data, size_t(rows) * rowBytes);
    std::fill(op.bytes.begin(), op.bytes.end(), uint8_t(0xFF)); // NaN
    const ref::Batch &b = padded.batch;
    std::vector<int32_t> qsl = b.queryStartLoc, src = b.stateIndices;
    std::vector<uint8_t> init = b.hasInitialState;
    harness::Model &m = models[size_t(l)];
    Buffer conv, ssm;
    manager->stateBuffers(l, conv, ssm);
    harness::BranchMetadata meta{Buffer{qsl.data(), {size + 1}, Elem::I32},
                                 Buffer{src.data(), {size}, Elem::I32},
                                 Buffer{src.data(), {size}, Elem::I32},
                                 Buffer{init.data(), {size}, Elem::I8},
                                 size,
                                 int64_t(0),
                                 int64_t(0)};
    std::vector<Arg> args =
        harness::branchArgs(xp.buffer(), m, conv, ssm, meta, op.buffer());
    if (Status st = fn(args); !st)
      return st;
    std::memcpy(out.data, op.bytes.data(), size_t(rows) * rowBytes);
    for (size_t i = size_t(rows * c.hd); i < size_t(size * c.hd); ++i)
      if (op.get(i) != 0.0f)
        return Status::error("a pad row's output is not 0");
    ++replays;
    return Status::success();
  }

  int64_t replays = 0;

private:
  BranchConfig c;
  Invoker fn;
  int64_t maxRows;
  StatePoolManager *manager = nullptr;
  std::vector<harness::Model> models;
};

TEST(LongCheck, GraphPathWithStoredStates) {
  for (int64_t pad : {-1, 0}) {
    LongCheckOptions o;
    o.steps = 400;
    o.branch.padSlotId = pad;
    o.faultEvery = 20;
    PaddingBackend backend(o.branch, compileBranch(o.branch), 8);
    LongCheckReport r;
    Status st = runLongCheck(o, backend, r);
    std::printf("graph path, pad %lld: %s\n", (long long)pad,
                r.summary().c_str());
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_GE(r.graphSteps, 10);
    EXPECT_EQ(backend.replays, r.graphSteps * o.numLayers);
    // Both kinds of faults: the adapters' and the graphs'.
    EXPECT_GE(r.faultsInjected, 2 * (o.steps / o.faultEvery) - 4);
    EXPECT_EQ(r.faultsRejected, r.faultsInjected);
    EXPECT_LT(r.maxAbsError, 1e-4);
  }
}

} // namespace

// The GPU long check's tolerance: each intermediate rounded to the
// activation type adds one unit roundoff of it, relative and scaled; f32
// activations round nothing.
TEST(Tolerance, RoundedIntermediatesAddOneUnitRoundoffEach) {
  harness::Tolerance base =
      harness::toleranceFor(DType::BF16, DType::F32, DType::F32);
  harness::Tolerance t =
      harness::withRoundedIntermediates(base, DType::BF16, 3);
  EXPECT_DOUBLE_EQ(t.rtol, base.rtol + 3 * std::ldexp(1.0, -8));
  EXPECT_DOUBLE_EQ(t.atolScale, base.atolScale + 3 * std::ldexp(1.0, -8));
  EXPECT_DOUBLE_EQ(t.atol, base.atol);
  harness::Tolerance f32 = harness::withRoundedIntermediates(
      harness::toleranceFor(DType::F32, DType::F32, DType::F32), DType::F32, 3);
  EXPECT_DOUBLE_EQ(f32.rtol, 1e-4);
  EXPECT_DOUBLE_EQ(f32.atolScale, 0.0);
}
