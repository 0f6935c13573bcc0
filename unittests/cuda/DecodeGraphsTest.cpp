//===- DecodeGraphsTest.cpp - Decode steps replayed as CUDA graphs --------===//
//
// Needs a GPU and the AOT artifacts of scripts/gpu-bundle.sh
// ($HSSM_ARTIFACTS, default ./artifacts). DecodeGraphs at mamba-130m sizes:
// replayed steps against launched ones and the reference at batch sizes that
// need pad rows (3, 37, ...) and one that does not (256); pad rows exactly
// zero; slots outside the batch untouched byte for byte; bad batches and
// failed launches, captures and allocations refused with the pool intact;
// several consecutive steps against the reference; and the long check with
// its pools on the device.
//
//===----------------------------------------------------------------------===//

#include "hssm/Serving/DecodeGraphs.h"
#include "hssm/Harness/Harness.h"
#include "hssm/Runtime/Artifact.h"
#include "hssm/Runtime/Cuda.h"
#include "hssm/Runtime/DevicePool.h"
#include "hssm/Serving/BatchBuilder.h"
#include "hssm/Serving/DeviceLongCheck.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <numeric>
#include <random>

using namespace hssm;
using namespace hssm::harness;
using namespace hssm::serving;

namespace {

BranchConfig mamba130m(int64_t pad = -1) {
  BranchConfig c; // Hd 768, D 1536, N 16, R 48, W 4, f32
  c.padSlotId = pad;
  return c;
}

/// The artifact of `c` (scripts/gpu-bundle.sh builds one per tested
/// config), loaded once and kept loaded.
Invoker deviceBranch(const BranchConfig &c) {
  static auto *loaded = new std::map<std::string, std::unique_ptr<Artifact>>;
  std::string key = branchConfigKey(c);
  if (!loaded->count(key)) {
    const char *dir = std::getenv("HSSM_ARTIFACTS");
    std::unique_ptr<Artifact> a;
    Status st = Artifact::load(
        std::string(dir ? dir : "artifacts") + "/" + key + ".so", a);
    EXPECT_TRUE(st.ok()) << st.message();
    if (!st.ok())
      return nullptr;
    (*loaded)[key] = std::move(a);
  }
  Invoker fn;
  Status st = (*loaded)[key]->function("history_branch", fn);
  EXPECT_TRUE(st.ok()) << st.message();
  return fn;
}

bool contains(const Status &st, const std::string &part) {
  return st.message().find(part) != std::string::npos;
}

/// One layer on the device: model, resident weights, a pool of random
/// states (mirrored on the host as `host`), and its graphs.
struct Rig {
  BranchConfig c;
  Model model;
  cuda::DeviceResidents residents;
  std::vector<Buffer> weights;
  std::unique_ptr<cuda::DevicePool> pool;
  Pool host; ///< what the device pool should hold
  std::unique_ptr<DecodeGraphs> graphs;
  std::mt19937_64 rng{11};
  Tolerance tol;

  Rig(const BranchConfig &config, int64_t slots)
      : c(config), model(makeRandomModel(config, 5)),
        host(makePool(config, slots)),
        tol(toleranceFor(config.act, config.convState, config.ssmState)) {
    Status st = cuda::init();
    EXPECT_TRUE(st.ok()) << st.message();
    st = residentWeights(model, residents, weights);
    EXPECT_TRUE(st.ok()) << st.message();
    cuda::DevicePool::Spec spec;
    spec.numSlots = slots;
    spec.convWidth = c.w;
    spec.channels = c.d;
    spec.stateSize = c.n;
    spec.convDType = c.convState;
    spec.ssmDType = c.ssmState;
    spec.padSlotId = c.padSlotId;
    st = cuda::DevicePool::create(spec, pool);
    EXPECT_TRUE(st.ok()) << st.message();
    // Random states everywhere (the null slot too): every read shows, and
    // a write to a slot outside the batch cannot hide.
    std::uniform_real_distribution<float> u(-1, 1);
    for (int64_t i = 0; i < host.conv.numElements(); ++i)
      host.conv.set(size_t(i), u(rng));
    for (int64_t i = 0; i < host.ssm.numElements(); ++i)
      host.ssm.set(size_t(i), u(rng));
    if (pool) {
      st = pool->upload(host.conv.bytes, host.ssm.bytes);
      EXPECT_TRUE(st.ok()) << st.message();
    }
  }

  /// Whether the pool and weights made it to the device.
  bool ready() const { return pool && weights.size() == 9; }

  DecodeGraphs::Layer layer() {
    DecodeGraphs::Layer l;
    l.branch = deviceBranch(c);
    l.config = c;
    l.weights = weights;
    l.pool = pool.get();
    return l;
  }

  Status makeGraphs(std::vector<int64_t> sizes = {}) {
    DecodeGraphs::Options o;
    o.sizes = std::move(sizes);
    o.checkPadRows = true;
    return DecodeGraphs::create(layer(), o, graphs);
  }

  /// A decode of each of `slots` (in this order), and random inputs.
  StepBatch decodes(const std::vector<int32_t> &slots, HostTensor &x) {
    std::vector<ScheduledRequest> reqs;
    for (size_t i = 0; i < slots.size(); ++i)
      reqs.push_back({int64_t(i), 1, 9, slots[i]});
    StepBatch sb;
    Status st = buildBatch(reqs, pool->limits(), sb);
    EXPECT_TRUE(st.ok()) << st.message();
    x = HostTensor(c.act, {int64_t(slots.size()), c.hd});
    std::uniform_real_distribution<float> u(-1, 1);
    for (int64_t i = 0; i < x.numElements(); ++i)
      x.set(size_t(i), u(rng));
    return sb;
  }

  /// `n` distinct random slots, none the pad slot.
  std::vector<int32_t> pickSlots(int64_t n) {
    std::vector<int32_t> all;
    for (int64_t s = 0; s < host.numSlots; ++s)
      if (s != c.padSlotId)
        all.push_back(int32_t(s));
    std::shuffle(all.begin(), all.end(), rng);
    all.resize(size_t(n));
    return all;
  }

  Pool download() {
    Pool p = host;
    Status st = pool->download(p.conv.bytes, p.ssm.bytes);
    EXPECT_TRUE(st.ok()) << st.message();
    return p;
  }

  /// The reference of one step from the host pool `from` (advanced in
  /// place as a reference pool).
  std::vector<double> reference(const StepBatch &sb, const HostTensor &x,
                                ref::Pool &from) {
    std::vector<double> want;
    ref::mamba1Step({c.hd, c.d, c.n, c.r, c.w}, model.weights, sb.batch,
                    x.toFloats(), from, want);
    return want;
  }

  void expectClose(const std::vector<float> &got,
                   const std::vector<double> &want, const std::string &what) {
    Comparison cmp = compare(got, want, tol);
    EXPECT_TRUE(cmp.ok) << what << ": element " << cmp.worst << " is "
                        << (cmp.worst < got.size() ? got[cmp.worst] : NAN)
                        << ", want "
                        << (cmp.worst < want.size() ? want[cmp.worst] : NAN)
                        << " (max abs " << cmp.maxAbs << ")";
  }

  /// Slot `s` of `p` as bytes (conv then ssm).
  std::vector<uint8_t> slotBytes(const Pool &p, int64_t s) const {
    size_t cb = size_t((c.w - 1) * c.d) * dtypeSize(c.convState),
           sb = size_t(c.d * c.n) * dtypeSize(c.ssmState);
    std::vector<uint8_t> v(p.conv.bytes.begin() + int64_t(s * cb),
                           p.conv.bytes.begin() + int64_t((s + 1) * cb));
    v.insert(v.end(), p.ssm.bytes.begin() + int64_t(s * sb),
             p.ssm.bytes.begin() + int64_t((s + 1) * sb));
    return v;
  }

  /// Every slot not in `batch` equal to `before`, byte for byte.
  void expectOthersUntouched(const Pool &before, const Pool &after,
                             const std::vector<int32_t> &batch,
                             const std::string &what) {
    int64_t changed = 0;
    for (int64_t s = 0; s < host.numSlots; ++s)
      if (std::find(batch.begin(), batch.end(), s) == batch.end() &&
          slotBytes(before, s) != slotBytes(after, s))
        ++changed;
    EXPECT_EQ(changed, 0) << what << ": slots outside the batch changed";
  }

  /// The batch's slots of `got` against the reference pool.
  void expectStates(const Pool &got, const ref::Pool &want,
                    const std::vector<int32_t> &slots,
                    const std::string &what) {
    std::vector<float> gc = got.conv.toFloats(), gs = got.ssm.toFloats();
    const int64_t cl = (c.w - 1) * c.d, sl = c.d * c.n;
    for (int32_t s : slots) {
      expectClose(
          std::vector<float>(gc.begin() + s * cl, gc.begin() + (s + 1) * cl),
          std::vector<double>(want.conv.begin() + s * cl,
                              want.conv.begin() + (s + 1) * cl),
          what + " conv state of slot " + std::to_string(s));
      expectClose(
          std::vector<float>(gs.begin() + s * sl, gs.begin() + (s + 1) * sl),
          std::vector<double>(want.ssm.begin() + s * sl,
                              want.ssm.begin() + (s + 1) * sl),
          what + " ssm state of slot " + std::to_string(s));
    }
  }
};

/// Fills the fixed output buffer with NaN, so that a pad row the kernels
/// skip shows.
void poisonOutput(const DecodeGraphs &g, const BranchConfig &c) {
  const Buffer &out = g.buffers().out;
  std::vector<uint8_t> nan(size_t(out.shape[0] * c.hd) * dtypeSize(c.act),
                           0xFF);
  ASSERT_TRUE(cuda::copyToDevice(out.data, nan.data(), nan.size()).ok());
}

/// Rows [live, rows) of the fixed output buffer: all exactly zero.
void expectPadRowsZero(const DecodeGraphs &g, const BranchConfig &c,
                       int64_t live, int64_t rows) {
  HostTensor all(c.act, {g.buffers().out.shape[0], c.hd});
  ASSERT_TRUE(
      cuda::copyToHost(all.bytes.data(), g.buffers().out.data, all.bytes.size())
          .ok());
  for (int64_t i = live * c.hd; i < rows * c.hd; ++i)
    ASSERT_EQ(all.get(size_t(i)), 0.0f)
        << "pad row " << i / c.hd << " column " << i % c.hd;
}

TEST(DecodeGraphs, ReplayMatchesLaunchAndTheReferenceAtManySizes) {
  Rig rig(mamba130m(), 260);
  ASSERT_TRUE(rig.ready());
  Pool start = rig.download();
  ASSERT_TRUE(rig.makeGraphs().ok());
  EXPECT_EQ(rig.graphs->sizes(),
            (std::vector<int64_t>{1, 2, 4, 8, 16, 32, 64, 128, 256}));
  // The warm-up launch (all pad rows) and the captures touched nothing.
  Pool afterCreate = rig.download();
  EXPECT_EQ(afterCreate.conv.bytes, start.conv.bytes);
  EXPECT_EQ(afterCreate.ssm.bytes, start.ssm.bytes);

  for (int64_t rows : {3, 37, 256, 1, 100}) {
    std::string what = std::to_string(rows) + " rows";
    std::vector<int32_t> slots = rig.pickSlots(rows);
    HostTensor x;
    StepBatch sb = rig.decodes(slots, x);
    Pool before = rig.download();
    ref::Pool refPool = toReferencePool(before, rig.c);
    std::vector<double> want = rig.reference(sb, x, refPool);

    // Replayed.
    poisonOutput(*rig.graphs, rig.c);
    HostTensor replayed(rig.c.act, {rows, rig.c.hd});
    Status st = rig.graphs->run(x.buffer(), sb, replayed.buffer());
    ASSERT_TRUE(st.ok()) << what << ": " << st.message();
    int64_t size = rig.graphs->lastSize();
    EXPECT_EQ(size, rig.graphs->sizeFor(rows));
    EXPECT_GE(size, rows);
    expectPadRowsZero(*rig.graphs, rig.c, rows, size);
    Pool afterReplay = rig.download();
    rig.expectClose(replayed.toFloats(), want, what + " replayed output");
    rig.expectStates(afterReplay, refPool, slots, what + " replayed");
    rig.expectOthersUntouched(before, afterReplay, slots, what + " replayed");

    // Launched, from the same states.
    ASSERT_TRUE(rig.pool->upload(before.conv.bytes, before.ssm.bytes).ok());
    poisonOutput(*rig.graphs, rig.c);
    HostTensor launched(rig.c.act, {rows, rig.c.hd});
    st = rig.graphs->launch(x.buffer(), sb, launched.buffer());
    ASSERT_TRUE(st.ok()) << what << ": " << st.message();
    expectPadRowsZero(*rig.graphs, rig.c, rows, size);
    Pool afterLaunch = rig.download();
    rig.expectClose(launched.toFloats(), want, what + " launched output");
    rig.expectStates(afterLaunch, refPool, slots, what + " launched");
    rig.expectOthersUntouched(before, afterLaunch, slots, what + " launched");
    std::vector<float> l = launched.toFloats();
    rig.expectClose(replayed.toFloats(),
                    std::vector<double>(l.begin(), l.end()),
                    what + " replayed vs launched");
    std::printf("%4lld rows -> graph of %3lld: replayed %s launched\n",
                (long long)rows, (long long)size,
                replayed.bytes == launched.bytes ? "==" : "~=");
  }
}

TEST(DecodeGraphs, ConsecutiveStepsFollowTheReference) {
  BranchConfig bf16 = mamba130m();
  bf16.act = bf16.convState = bf16.ssmState = DType::BF16;
  for (const BranchConfig &c : {mamba130m(0), bf16}) {
    std::string label = branchConfigKey(c);
    Rig rig(c, 48);
    ASSERT_TRUE(rig.ready());
    ASSERT_TRUE(rig.makeGraphs().ok()) << label;
    Pool start = rig.download();
    ref::Pool refPool = toReferencePool(start, c);
    int64_t step = 0;
    for (int64_t rows : {7, 12, 3, 30, 1, 17, 47}) {
      std::string what = label + " step " + std::to_string(step);
      std::vector<int32_t> slots = rig.pickSlots(rows);
      HostTensor x;
      StepBatch sb = rig.decodes(slots, x);
      std::vector<double> want = rig.reference(sb, x, refPool);
      HostTensor out(c.act, {rows, c.hd});
      // Mostly replays, one plain launch in between: they share buffers.
      Status st = step == 3 ? rig.graphs->launch(x.buffer(), sb, out.buffer())
                            : rig.graphs->run(x.buffer(), sb, out.buffer());
      ASSERT_TRUE(st.ok()) << what << ": " << st.message();
      rig.expectClose(out.toFloats(), want, what);
      ++step;
    }
    // Every slot against the reference, which carried all of them along.
    Pool end = rig.download();
    std::vector<int32_t> all(size_t(end.numSlots));
    std::iota(all.begin(), all.end(), 0);
    rig.expectStates(end, refPool, all, label + " final");
    if (c.padSlotId == 0) {
      EXPECT_EQ(rig.slotBytes(end, 0), rig.slotBytes(start, 0))
          << "the null slot was touched";
    }
  }
}

TEST(DecodeGraphs, BadBatchesAreRejectedWithThePoolUnchanged) {
  Rig rig(mamba130m(), 16);
  ASSERT_TRUE(rig.ready());
  ASSERT_TRUE(rig.makeGraphs({1, 2, 4}).ok());
  EXPECT_EQ(rig.graphs->sizes(), (std::vector<int64_t>{1, 2, 4}));
  Pool before = rig.download();
  auto expectRefused = [&](const StepBatch &sb, HostTensor &x,
                           const std::string &part) {
    HostTensor out(rig.c.act, {sb.numRows(), rig.c.hd});
    for (int64_t i = 0; i < out.numElements(); ++i)
      out.set(size_t(i), 7.0f);
    std::vector<uint8_t> outBefore = out.bytes;
    Status st = rig.graphs->run(x.buffer(), sb, out.buffer());
    EXPECT_FALSE(st.ok()) << part;
    EXPECT_TRUE(contains(st, part)) << st.message() << "\nexpected: " << part;
    EXPECT_EQ(out.bytes, outBefore) << part << ": out was written";
    Pool after = rig.download();
    EXPECT_EQ(after.conv.bytes, before.conv.bytes) << part;
    EXPECT_EQ(after.ssm.bytes, before.ssm.bytes) << part;
  };
  HostTensor x;
  StepBatch good = rig.decodes({3, 5, 9}, x);

  StepBatch bad = good;
  bad.batch.stateIndices[1] = 20;
  expectRefused(bad, x, "state_indices[1] = 20 is outside [0, 16)");

  bad = good;
  bad.batch.stateIndices[2] = 3;
  expectRefused(bad, x, "two live rows may not write the same slot");

  bad = good;
  bad.batch.dstStateIndices = {3, 5, -1};
  expectRefused(bad, x, "dst_state_indices[2] = -1 is outside [0, 16)");

  bad = good;
  --bad.batch.numDecodes;
  ++bad.batch.numPrefills;
  expectRefused(bad, x, "1 prefills: graphs replay decode-only steps");

  HostTensor x5;
  StepBatch five = rig.decodes({1, 2, 3, 4, 6}, x5);
  expectRefused(five, x5,
                "a batch of 5 decode rows is larger than the largest captured "
                "size 4");

  HostTensor shortX(rig.c.act, {2, rig.c.hd});
  expectRefused(good, shortX, "x is not [3, 768]");
  HostTensor bf16X(DType::BF16, {3, rig.c.hd});
  expectRefused(good, bf16X, "x holds bf16, the activation type is f32");

  // Still usable: the good batch runs and matches the reference.
  ref::Pool refPool = toReferencePool(before, rig.c);
  std::vector<double> want = rig.reference(good, x, refPool);
  HostTensor out(rig.c.act, {3, rig.c.hd});
  Status st = rig.graphs->run(x.buffer(), good, out.buffer());
  ASSERT_TRUE(st.ok()) << st.message();
  rig.expectClose(out.toFloats(), want, "after the bad batches");
}

TEST(DecodeGraphs, SizesAreCappedByThePool) {
  struct Case {
    int64_t slots, pad;
    std::vector<int64_t> asked, want;
  };
  for (const Case &k :
       {Case{8, -1, {}, {1, 2, 4, 8}}, Case{9, 0, {}, {1, 2, 4, 8}},
        Case{10, 0, {}, {1, 2, 4, 8, 16}},
        Case{64, -1, {37, 3, 5, 3}, {3, 5, 37}}}) {
    Rig rig(mamba130m(k.pad), k.slots);
    ASSERT_TRUE(rig.ready());
    Status st = rig.makeGraphs(k.asked);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(rig.graphs->sizes(), k.want) << k.slots << " slots";
  }
  Rig rig(mamba130m(), 8);
  ASSERT_TRUE(rig.ready());
  Status st = rig.makeGraphs({0, 4});
  EXPECT_TRUE(contains(st, "batch size 0 is outside [1, 2^24]"))
      << st.message();
}

TEST(DecodeGraphs, FailedLaunchCaptureAndAllocationLeaveThePoolUsable) {
  Rig rig(mamba130m(), 8);
  ASSERT_TRUE(rig.ready());
  Pool before = rig.download();
  Invoker real = deviceBranch(rig.c);
  ASSERT_TRUE(real);
  auto calls = std::make_shared<int64_t>(0);
  auto failOn = std::make_shared<int64_t>(-1);
  Invoker flaky = [=](const std::vector<Arg> &args) -> Status {
    if ((*calls)++ == *failOn)
      return Status::error("injected failure");
    return real(args);
  };
  DecodeGraphs::Layer layer = rig.layer();
  layer.branch = flaky;
  DecodeGraphs::Options o;
  std::unique_ptr<DecodeGraphs> g;

  // The warm-up launch fails.
  *failOn = 0;
  Status st = DecodeGraphs::create(layer, o, g);
  EXPECT_TRUE(contains(st, "warm-up launch of 8 pad rows: injected failure"))
      << st.message();
  EXPECT_EQ(g, nullptr);

  // A capture fails (the call after the warm-up is the first capture).
  *calls = 0;
  *failOn = 1;
  st = DecodeGraphs::create(layer, o, g);
  EXPECT_TRUE(contains(st, "capturing the graph of 1 rows")) << st.message();
  EXPECT_TRUE(contains(st, "injected failure")) << st.message();
  EXPECT_EQ(g, nullptr);

  // The device cannot hold the fixed buffers.
  DecodeGraphs::Layer huge = rig.layer();
  huge.config.hd = int64_t(1) << 40;
  st = DecodeGraphs::create(huge, o, g);
  EXPECT_TRUE(contains(st, "allocating x")) << st.message();
  EXPECT_TRUE(contains(st, "CUDA_ERROR_OUT_OF_MEMORY")) << st.message();

  // A pool the branch was not compiled for.
  DecodeGraphs::Layer wrongPad = rig.layer();
  wrongPad.config.padSlotId = 0;
  st = DecodeGraphs::create(wrongPad, o, g);
  EXPECT_TRUE(contains(st, "compiled for pad_slot_id = 0, the pool uses -1"))
      << st.message();

  // A plain launch fails after a good capture; replays do not call the
  // invoker and go on working.
  *calls = 0;
  *failOn = -1;
  st = DecodeGraphs::create(layer, o, g);
  ASSERT_TRUE(st.ok()) << st.message();
  HostTensor x;
  std::vector<int32_t> slots = {2, 6, 4};
  StepBatch sb = rig.decodes(slots, x);
  HostTensor out(rig.c.act, {3, rig.c.hd});
  *failOn = *calls;
  st = g->launch(x.buffer(), sb, out.buffer());
  EXPECT_TRUE(contains(st, "launching the branch on 4 rows: injected failure"))
      << st.message();
  Pool afterFailures = rig.download();
  EXPECT_EQ(afterFailures.conv.bytes, before.conv.bytes);
  EXPECT_EQ(afterFailures.ssm.bytes, before.ssm.bytes);

  ref::Pool refPool = toReferencePool(before, rig.c);
  std::vector<double> want = rig.reference(sb, x, refPool);
  st = g->run(x.buffer(), sb, out.buffer());
  ASSERT_TRUE(st.ok()) << st.message();
  rig.expectClose(out.toFloats(), want, "replay after the failures");
  rig.expectStates(rig.download(), refPool, slots, "replay after failures");
}

TEST(DecodeGraphs, LongCheckWithDevicePoolsAndGraphs) {
  for (int64_t pad : {0, -1}) {
    LongCheckOptions o;
    o.branch = mamba130m(pad);
    // Short (the reference replays every request alone at mamba-130m's
    // sizes); this trace has 4-8 decode-only steps replayed as graphs and
    // 12 faults, half of them offered to the graphs.
    o.steps = 60;
    o.numLayers = 2;
    o.numSlots = 12;
    o.tokenBudget = 16;
    o.maxPromptTokens = 10;
    o.maxChunkTokens = 6;
    o.maxDecodeTokens = 16;
    o.faultEvery = 10;
    o.seed = uint64_t(5 + pad);
    LongCheckReport r;
    Status st = runDeviceLongCheck(o, deviceBranch(o.branch), r);
    std::printf("pad %lld: %s\n", (long long)pad, r.summary().c_str());
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(r.steps, o.steps);
    EXPECT_GE(r.graphSteps, 1) << "no decode-only step was replayed";
    EXPECT_GE(r.faultsInjected, 10);
    EXPECT_EQ(r.faultsRejected, r.faultsInjected);
    EXPECT_GE(r.rowsChecked, 50);
  }
}

} // namespace
