//===- LongCheck.cpp - A long serving run checked request by request ------===//

#include "hssm/Serving/LongCheck.h"

#include "hssm/Harness/Harness.h"
#include "hssm/Reference/Reference.h"
#include "hssm/Serving/BatchBuilder.h"
#include "hssm/Serving/HybridSSMAdapter.h"
#include "hssm/Serving/StatePool.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <random>

using namespace hssm;
using namespace hssm::serving;

static std::string num(int64_t v) { return std::to_string(v); }

static std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3e", v);
  return buf;
}

std::string LongCheckReport::summary() const {
  return "long check: " + num(steps) + " steps, " + num(tokens) + " tokens, " +
         num(requestsServed) + " requests served (" + num(requestsArrived) +
         " arrived, " + num(forks) + " forked), " + num(preemptions) +
         " preemptions, " + num(faultsRejected) + " of " + num(faultsInjected) +
         " faults rejected, pool full on " + num(poolFullSteps) + " steps, " +
         num(paddedSteps) + " padded decode steps, " + num(graphSteps) +
         " replayed as CUDA graphs, " + num(rowsChecked) +
         " rows checked, largest error " + sci(maxAbsError) + " abs, " +
         sci(maxRelError) + " rel";
}

namespace {

/// A request of the trace, with its own reference state per layer.
struct Request {
  int64_t id = 0;
  int64_t promptLen = 0, totalLen = 0;
  int64_t computed = 0;
  int64_t slot = 0;
  bool hasSlot = false;
  /// Where its token inputs come from: (first position, seed) pairs; a fork
  /// shares its parent's tokens before the fork point. A restart after
  /// preemption replays the same tokens.
  std::vector<std::pair<int64_t, uint64_t>> lineage;
  std::vector<ref::Pool> refPools; ///< one single-slot pool per layer
};

uint64_t splitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// Token `pos` of `r` as row `row` of `x` (rounded to x's type).
void fillToken(const Request &r, int64_t pos, harness::HostTensor &x,
               int64_t row, int64_t hd) {
  uint64_t seed = r.lineage.front().second;
  for (auto [start, s] : r.lineage)
    if (start <= pos)
      seed = s;
  std::mt19937_64 rng(splitMix(seed ^ splitMix(uint64_t(pos))));
  std::uniform_real_distribution<float> dist(-1, 1);
  for (int64_t h = 0; h < hd; ++h)
    x.set(size_t(row * hd + h), dist(rng));
}

/// The whole check's state.
class Driver {
public:
  Driver(const LongCheckOptions &o, LongCheckBackend &backend,
         LongCheckReport &report)
      : o(o), c(o.branch), backend(backend), report(report),
        rng(o.seed), sizes{c.hd, c.d, c.n, c.r, c.w},
        tol(harness::withRoundedIntermediates(
            harness::toleranceFor(c.act, c.convState, c.ssmState), c.act,
            o.roundedIntermediates)) {}

  Status setUp();
  Status run();

private:
  int64_t uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  }
  bool chance(double p) {
    return std::uniform_real_distribution<double>(0, 1)(rng) < p;
  }
  std::vector<ref::Pool> freshRefPools() const {
    return std::vector<ref::Pool>(
        size_t(o.numLayers),
        ref::makePool(sizes, 1, -1, c.convState, c.ssmState));
  }
  std::string where(int64_t step) const { return "step " + num(step) + ": "; }
  /// Runs `submit` (a bad batch for layer `layer`): it must fail with a
  /// message containing `expect` and leave the layer's pool byte for byte.
  Status expectRejected(const std::string &what, const std::string &expect,
                        int64_t layer, const std::function<Status()> &submit);

  Status admitAndPreempt(int64_t step);
  Status injectFault(int64_t step, const StepBatch &sb, harness::HostTensor &x);
  Status injectGraphFault(int64_t step);
  Status checkRows(int64_t step, const StepBatch &sb,
                   const std::vector<size_t> &schedToRunning,
                   const harness::HostTensor &x,
                   const std::vector<harness::HostTensor> &outs);
  Status checkStates(int64_t step);

  const LongCheckOptions &o;
  const BranchConfig &c;
  LongCheckBackend &backend;
  LongCheckReport &report;
  std::mt19937_64 rng;
  ref::Sizes sizes;
  harness::Tolerance tol;
  std::unique_ptr<StatePoolManager> pools;
  std::vector<std::unique_ptr<HybridSSMAdapter>> adapters;
  std::vector<ref::Weights> weights;
  std::deque<Request> waiting;
  std::vector<Request> running;
  int64_t nextId = 0;
  int64_t faultKind = 0;
  int64_t graphFaultKind = 0;
};

Status Driver::setUp() {
  if (c.mode != BranchMode::Mamba1)
    return Status::error(std::string("long check: mode ") +
                         branchModeName(c.mode) +
                         " carries no state to check; use mamba1");
  if (o.steps < 0 || o.numLayers < 1 || o.tokenBudget < 1 ||
      o.maxPromptTokens < 1 || o.maxChunkTokens < 1 || o.maxDecodeTokens < 1 ||
      o.faultEvery < 0 || o.graphBatchSize < 0)
    return Status::error("long check: steps, fault interval and graph size "
                         "must be >= 0, layers and token counts >= 1");
  AdapterConfig ac = adapterConfigFor(c);
  for (int64_t l = 0; l < o.numLayers; ++l) {
    std::unique_ptr<HybridSSMAdapter> a;
    if (Status st = HybridSSMAdapter::create(ac, a); !st)
      return st;
    if (!pools)
      if (Status st = backend.makePools(a->getKvCacheSpec(), o.numLayers,
                                        o.numSlots, c.padSlotId, pools);
          !st)
        return st;
    if (Status st = a->bindPool(*pools, l); !st)
      return st;
    // Each layer its own weights, one compiled branch for all.
    harness::Model m = harness::makeRandomModel(c, o.seed * 7919 + uint64_t(l));
    weights.push_back(m.weights);
    Invoker branch;
    if (Status st = backend.layerBranch(l, m, branch); !st)
      return Status::error("layer " + num(l) + ": " + st.message());
    if (Status st = a->bindBranch(branch, std::move(m)); !st)
      return st;
    adapters.push_back(std::move(a));
  }
  return Status::success();
}

/// Arrivals, a preemption, a fork, and admission of waiting requests while
/// slots are free.
Status Driver::admitAndPreempt(int64_t step) {
  for (int k = 0; k < 2; ++k) {
    if (!chance(o.arrivalProbability))
      continue;
    Request r;
    r.id = nextId++;
    r.promptLen = uniform(1, o.maxPromptTokens);
    r.totalLen = r.promptLen + uniform(1, o.maxDecodeTokens);
    r.lineage.push_back({0, rng()});
    r.refPools = freshRefPools();
    waiting.push_back(std::move(r));
    ++report.requestsArrived;
  }

  if (!running.empty() && chance(o.preemptProbability)) {
    // Recompute preemption: the slot goes back, the request restarts from
    // its first token (has_initial_state = false) and so does its reference.
    size_t i = size_t(uniform(0, int64_t(running.size()) - 1));
    Request r = std::move(running[i]);
    running.erase(running.begin() + int64_t(i));
    if (Status st = pools->free(r.slot); !st)
      return Status::error(where(step) + "preempting request " + num(r.id) +
                           ": " + st.message());
    r.hasSlot = false;
    r.computed = 0;
    r.refPools = freshRefPools();
    waiting.push_front(std::move(r));
    ++report.preemptions;
  }

  if (!running.empty() && pools->numFree() > 0 && chance(o.forkProbability)) {
    size_t i = size_t(uniform(0, int64_t(running.size()) - 1));
    if (running[i].computed > 0) {
      // A fork continues from its parent's state with tokens of its own.
      const Request &parent = running[i];
      Request child;
      child.id = nextId++;
      child.promptLen = parent.promptLen;
      child.computed = parent.computed;
      child.totalLen = std::max(parent.computed, parent.promptLen) +
                       uniform(1, o.maxDecodeTokens);
      child.lineage = parent.lineage;
      child.lineage.push_back({parent.computed, rng()});
      child.refPools = parent.refPools;
      int32_t slot = 0;
      if (Status st = pools->allocate(slot); !st)
        return Status::error(where(step) + st.message());
      if (Status st = pools->copySlot(parent.slot, slot); !st)
        return Status::error(where(step) + "fork: " + st.message());
      child.slot = slot;
      child.hasSlot = true;
      running.push_back(std::move(child));
      ++report.forks;
    }
  }

  while (!waiting.empty() && pools->numFree() > 0) {
    int32_t slot = 0;
    if (Status st = pools->allocate(slot); !st)
      return Status::error(where(step) + st.message());
    Request r = std::move(waiting.front());
    waiting.pop_front();
    r.slot = slot;
    r.hasSlot = true;
    running.push_back(std::move(r));
  }
  if (!waiting.empty()) {
    // The pool is full: arrivals wait, and one more allocation must fail.
    ++report.poolFullSteps;
    int32_t slot = 0;
    Status st = pools->allocate(slot);
    if (st.ok() || st.message().find("state pool is full") == std::string::npos)
      return Status::error(where(step) + "allocating from a full pool gave '" +
                           (st.ok() ? "success" : st.message()) + "'");
  }
  return Status::success();
}

/// Submits a corrupted copy of `sb` to every layer: each must reject it
/// with its pool unchanged, byte for byte.
Status Driver::injectFault(int64_t step, const StepBatch &sb,
                           harness::HostTensor &x) {
  std::vector<int64_t> live;
  for (int64_t r = 0; r < sb.numRows(); ++r)
    if (sb.rowRequest[size_t(r)] >= 0)
      live.push_back(r);
  std::vector<int32_t> qsl = sb.batch.queryStartLoc,
                       src = sb.batch.stateIndices, dst;
  std::vector<uint8_t> init = sb.batch.hasInitialState;
  BatchView v = sb.view();
  const int64_t slots = pools->numSlots(), pad = pools->padSlotId();
  const size_t a = size_t(live[0]);
  std::string expect;
  int64_t kind = faultKind++ % 6;
  if (kind == 1 && live.size() < 2)
    kind = 0;
  switch (kind) {
  case 0: // a slot past the end of the pool
    src[a] = int32_t(slots + 3);
    expect = "is outside [0, " + num(slots) + ")";
    break;
  case 1: // two live rows writing one slot
    dst = src;
    dst[size_t(live[1])] = dst[a];
    expect = "two live rows may not write the same slot";
    break;
  case 2: // a negative slot that is not the pad slot
    src[a] = int32_t(pad == 0 ? -1 : -2);
    expect = "is outside [0, " + num(slots) + ")";
    break;
  case 3: // a live row writing the pad slot
    dst = src;
    dst[a] = int32_t(pad);
    expect = "dst_state_indices[" + num(int64_t(a)) + "] = " + num(pad);
    break;
  case 4: // offsets that do not end at the token count
    qsl.back() += 1;
    expect = "the last offset must equal the token count";
    break;
  case 5: // decode tokens that are not the decode count
    v.numDecodeTokens += 1;
    expect = "a decode has exactly one token";
    break;
  }
  v.queryStartLoc = qsl.data();
  v.stateIndices = src.data();
  v.dstStateIndices = dst.empty() ? nullptr : dst.data();
  v.hasInitialState = init.data();
  ++report.faultsInjected;

  harness::HostTensor out(c.act, {sb.numTokens(), c.hd});
  for (int64_t l = 0; l < o.numLayers; ++l) {
    std::string what =
        where(step) + "fault " + num(kind) + " (layer " + num(l) + ")";
    Status st = expectRejected(what, expect, l, [&] {
      return adapters[size_t(l)]->forwardMixed(x.buffer(), v, out.buffer());
    });
    if (!st)
      return st;
  }
  ++report.faultsRejected;
  return Status::success();
}

Status Driver::expectRejected(const std::string &what,
                              const std::string &expect, int64_t layer,
                              const std::function<Status()> &submit) {
  std::vector<uint8_t> conv, ssm, convAfter, ssmAfter;
  if (Status st = pools->readLayer(layer, conv, ssm); !st)
    return Status::error(what + ": reading the pool: " + st.message());
  Status st = submit();
  if (st.ok())
    return Status::error(what + " was accepted; expected '" + expect + "'");
  if (st.message().find(expect) == std::string::npos)
    return Status::error(what + " was rejected with '" + st.message() +
                         "'; expected '" + expect + "'");
  if (Status rd = pools->readLayer(layer, convAfter, ssmAfter); !rd)
    return Status::error(what + ": reading the pool: " + rd.message());
  if (conv != convAfter || ssm != ssmAfter)
    return Status::error(what + " changed the pool: " + st.message());
  return Status::success();
}

/// Offers a corrupted decode-only batch of running requests to every
/// layer's graphs: each must refuse it before touching its pool.
Status Driver::injectGraphFault(int64_t step) {
  std::vector<ScheduledRequest> decodes;
  for (const Request &r : running)
    if (r.hasSlot && r.computed > 0 && decodes.size() < 3)
      decodes.push_back({r.id, 1, r.computed, r.slot});
  if (decodes.empty())
    return Status::success();
  StepBatch sb;
  if (Status st = buildBatch(decodes, pools->limits(), sb); !st)
    return Status::error(where(step) +
                         "a decode batch to corrupt: " + st.message());
  const int64_t slots = pools->numSlots();
  std::string expect;
  int64_t kind = graphFaultKind++ % 4;
  if (kind == 1 && sb.numRows() < 2)
    kind = 0;
  switch (kind) {
  case 0: // a slot past the end of the pool
    sb.batch.stateIndices[0] = int32_t(slots + 3);
    expect = "is outside [0, " + num(slots) + ")";
    break;
  case 1: // two live rows writing one slot
    sb.batch.dstStateIndices = sb.batch.stateIndices;
    sb.batch.dstStateIndices[1] = sb.batch.dstStateIndices[0];
    expect = "two live rows may not write the same slot";
    break;
  case 2: // more rows than the largest graph (the size is checked first)
    while (sb.numRows() <= backend.maxReplayRows()) {
      sb.batch.queryStartLoc.push_back(sb.batch.queryStartLoc.back() + 1);
      sb.batch.stateIndices.push_back(sb.batch.stateIndices[0]);
      sb.batch.hasInitialState.push_back(1);
      sb.rowRequest.push_back(0);
      ++sb.batch.numDecodes;
    }
    expect = "larger than the largest";
    break;
  case 3: // the last row a (one-token) prefill: not a decode-only step
    --sb.batch.numDecodes;
    ++sb.batch.numPrefills;
    expect = "decode-only";
    break;
  }
  ++report.faultsInjected;
  harness::HostTensor x(c.act, {sb.numRows(), c.hd}),
      out(c.act, {sb.numRows(), c.hd});
  for (int64_t l = 0; l < o.numLayers; ++l) {
    std::string what =
        where(step) + "graph fault " + num(kind) + " (layer " + num(l) + ")";
    Status st = expectRejected(what, expect, l, [&] {
      return backend.replayDecode(l, sb, x.buffer(), out.buffer());
    });
    if (!st)
      return st;
  }
  ++report.faultsRejected;
  return Status::success();
}

/// Every live row against its request alone through the reference; pad
/// rows must be exactly zero.
Status Driver::checkRows(int64_t step, const StepBatch &sb,
                         const std::vector<size_t> &schedToRunning,
                         const harness::HostTensor &x,
                         const std::vector<harness::HostTensor> &outs) {
  std::vector<float> xf = x.toFloats();
  std::vector<std::vector<float>> got;
  for (const harness::HostTensor &t : outs)
    got.push_back(t.toFloats());
  for (int64_t row = 0; row < sb.numRows(); ++row) {
    const int64_t b = sb.rowBegin(row), e = sb.rowEnd(row), len = e - b;
    const size_t lo = size_t(b * c.hd), hi = size_t(e * c.hd);
    int64_t req = sb.rowRequest[size_t(row)];
    if (req < 0) {
      for (int64_t l = 0; l < o.numLayers; ++l)
        for (size_t i = lo; i < hi; ++i)
          if (got[size_t(l)][i] != 0.0f)
            return Status::error(where(step) + "pad row " + num(row) +
                                 " of layer " + num(l) + " has output " +
                                 std::to_string(got[size_t(l)][i]) + ", not 0");
      continue;
    }
    Request &r = running[schedToRunning[size_t(req)]];
    ref::Batch one;
    one.queryStartLoc = {0, int32_t(len)};
    one.stateIndices = {0};
    one.hasInitialState = {uint8_t(r.computed > 0 ? 1 : 0)};
    one.numDecodes = r.computed > 0 && len == 1 ? 1 : 0;
    one.numPrefills = 1 - one.numDecodes;
    std::vector<float> xr(xf.begin() + int64_t(lo), xf.begin() + int64_t(hi));
    for (int64_t l = 0; l < o.numLayers; ++l) {
      std::vector<double> want;
      ref::mamba1Step(sizes, weights[size_t(l)], one, xr, r.refPools[size_t(l)],
                      want, o.projectionInputs);
      std::vector<float> mine(got[size_t(l)].begin() + int64_t(lo),
                              got[size_t(l)].begin() + int64_t(hi));
      harness::Comparison cmp = harness::compare(mine, want, tol);
      report.maxAbsError = std::max(report.maxAbsError, cmp.maxAbs);
      report.maxRelError = std::max(report.maxRelError, cmp.maxRel);
      if (!cmp.ok)
        return Status::error(
            where(step) + "request " + num(r.id) + " (row " + num(row) +
            ", layer " + num(l) + ", tokens " + num(r.computed) + ".." +
            num(r.computed + len - 1) + "): element " +
            num(int64_t(cmp.worst)) + " is " + std::to_string(mine[cmp.worst]) +
            ", alone through the "
            "reference " +
            std::to_string(want[cmp.worst]) + " (max abs " + sci(cmp.maxAbs) +
            ")");
    }
    ++report.rowsChecked;
  }
  return Status::success();
}

/// Every running request's slot against its reference state, in every
/// layer; the null slot (pad_slot_id = 0) must still be all zeros.
Status Driver::checkStates(int64_t step) {
  const int64_t convLen = (c.w - 1) * c.d, ssmLen = c.d * c.n;
  for (int64_t l = 0; l < o.numLayers; ++l) {
    std::vector<uint8_t> conv, ssm;
    if (Status st = pools->readLayer(l, conv, ssm); !st)
      return Status::error(where(step) + "reading layer " + num(l) +
                           "'s pool: " + st.message());
    if (int64_t pad = pools->padSlotId(); pad >= 0) {
      const size_t cb = size_t(convLen) * dtypeSize(c.convState),
                   sb = size_t(ssmLen) * dtypeSize(c.ssmState);
      auto zero = [](const uint8_t *p, size_t n) {
        return std::all_of(p, p + n, [](uint8_t v) { return v == 0; });
      };
      if (!zero(conv.data() + size_t(pad) * cb, cb) ||
          !zero(ssm.data() + size_t(pad) * sb, sb))
        return Status::error(where(step) + "the null slot " + num(pad) +
                             " of layer " + num(l) +
                             " was written: pad rows must touch no state");
    }
    for (const Request &r : running) {
      const ref::Pool &rp = r.refPools[size_t(l)];
      for (auto [what, bytes, type, len, want] :
           {std::tuple<const char *, const std::vector<uint8_t> *, DType,
                       int64_t, const std::vector<float> *>{
                "conv", &conv, c.convState, convLen, &rp.conv},
            {"ssm", &ssm, c.ssmState, ssmLen, &rp.ssm}}) {
        std::vector<float> got(static_cast<size_t>(len));
        for (int64_t i = 0; i < len; ++i)
          got[size_t(i)] =
              loadElement(bytes->data(), size_t(r.slot * len + i), type);
        harness::Comparison cmp = harness::compare(
            got, std::vector<double>(want->begin(), want->end()), tol);
        if (!cmp.ok)
          return Status::error(
              where(step) + "request " + num(r.id) + "'s " + what +
              " state in slot " + num(r.slot) + " (layer " + num(l) +
              ") is not its reference state: element " +
              num(int64_t(cmp.worst)) + " max abs " + sci(cmp.maxAbs));
      }
    }
  }
  return Status::success();
}

Status Driver::run() {
  bool faultDue = false;
  for (int64_t step = 0; step < o.steps; ++step) {
    report.steps = step + 1;
    if (o.faultEvery > 0 && step % o.faultEvery == o.faultEvery - 1)
      faultDue = true;
    if (Status st = admitAndPreempt(step); !st)
      return st;

    // Decodes first, then prefill chunks, within the token budget.
    std::vector<ScheduledRequest> work;
    std::vector<size_t> schedToRunning;
    int64_t budget = o.tokenBudget;
    for (bool decodes : {true, false}) {
      for (size_t i = 0; i < running.size() && budget > 0; ++i) {
        const Request &r = running[i];
        bool decoding = r.computed >= r.promptLen;
        if (decoding != decodes)
          continue;
        int64_t tokens = decoding ? 1
                                  : std::min({r.promptLen - r.computed, budget,
                                              uniform(1, o.maxChunkTokens)});
        work.push_back({r.id, tokens, r.computed, r.slot});
        schedToRunning.push_back(i);
        budget -= tokens;
      }
    }
    if (work.empty())
      continue;
    // Hand the builder the requests in a random order: it must sort them.
    std::vector<size_t> perm(work.size());
    for (size_t i = 0; i < perm.size(); ++i)
      perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<ScheduledRequest> shuffled;
    std::vector<size_t> shuffledToRunning;
    for (size_t i : perm) {
      shuffled.push_back(work[i]);
      shuffledToRunning.push_back(schedToRunning[i]);
    }

    StepBatch sb;
    if (Status st = buildBatch(shuffled, pools->limits(), sb); !st)
      return Status::error(where(step) + "building the batch: " + st.message());
    bool decodeOnly = sb.numPrefills() == 0;
    bool padded = false, replayed = false;
    // With graphs, half the decode-only steps replay one (it pads); the
    // CPU backend has none and draws nothing here.
    if (decodeOnly && backend.maxReplayRows() >= sb.numRows() && chance(0.5)) {
      replayed = true;
      ++report.graphSteps;
    } else if (decodeOnly && o.graphBatchSize >= sb.numRows() && chance(0.5)) {
      if (Status st = padDecodeBatch(sb, o.graphBatchSize, pools->limits());
          !st)
        return Status::error(where(step) + "padding: " + st.message());
      padded = true;
      ++report.paddedSteps;
    }

    harness::HostTensor x(c.act, {sb.numTokens(), c.hd});
    for (int64_t row = 0; row < sb.numRows(); ++row) {
      int64_t req = sb.rowRequest[size_t(row)];
      for (int64_t t = sb.rowBegin(row); t < sb.rowEnd(row); ++t) {
        if (req < 0) {
          // Pad rows carry junk: their outputs must be zero regardless.
          for (int64_t h = 0; h < c.hd; ++h)
            x.set(size_t(t * c.hd + h), 1.0f);
          continue;
        }
        const Request &r = running[shuffledToRunning[size_t(req)]];
        fillToken(r, r.computed + (t - sb.rowBegin(row)), x, t, c.hd);
      }
      if (req >= 0)
        report.tokens += sb.rowEnd(row) - sb.rowBegin(row);
    }

    if (faultDue) {
      if (Status st = injectFault(step, sb, x); !st)
        return st;
      if (backend.maxReplayRows() > 0)
        if (Status st = injectGraphFault(step); !st)
          return st;
      faultDue = false;
    }

    std::vector<harness::HostTensor> outs;
    for (int64_t l = 0; l < o.numLayers; ++l) {
      outs.emplace_back(c.act, std::vector<int64_t>{sb.numTokens(), c.hd});
      HybridSSMAdapter &a = *adapters[size_t(l)];
      BatchView v = sb.view();
      Status st;
      if (replayed)
        st = backend.replayDecode(l, sb, x.buffer(), outs.back().buffer());
      else if (decodeOnly)
        st = a.forwardHistoryBranchDecode(x.buffer(), v, outs.back().buffer());
      else if (sb.numDecodes() == 0 && step % 2 == 0)
        st = a.forwardHistoryBranchPrefill(x.buffer(), v, outs.back().buffer());
      else
        st = a.forwardMixed(x.buffer(), v, outs.back().buffer());
      if (!st)
        return Status::error(where(step) + "layer " + num(l) +
                             (padded     ? " (padded)"
                              : replayed ? " (graph replay)"
                                         : "") +
                             ": " + st.message());
    }
    if (Status st = checkRows(step, sb, shuffledToRunning, x, outs); !st)
      return st;

    // Advance, and finish requests that produced their last token.
    for (const ScheduledRequest &w : shuffled)
      for (Request &r : running)
        if (r.id == w.id)
          r.computed += w.newTokens;
    std::vector<Request> still;
    for (Request &r : running) {
      if (r.computed < r.totalLen) {
        still.push_back(std::move(r));
        continue;
      }
      if (Status st = pools->free(r.slot); !st)
        return Status::error(where(step) + "finishing request " + num(r.id) +
                             ": " + st.message());
      ++report.requestsServed;
    }
    running = std::move(still);

    if (o.faultEvery > 0 && step % o.faultEvery == o.faultEvery - 1)
      if (Status st = checkStates(step); !st)
        return st;
  }
  if (Status st = checkStates(o.steps); !st)
    return st;
  if (pools->numAllocated() != int64_t(running.size()))
    return Status::error("after the trace " + num(pools->numAllocated()) +
                         " slots are allocated for " +
                         num(int64_t(running.size())) +
                         " running requests: a slot leaked");
  return Status::success();
}

} // namespace

Status LongCheckBackend::replayDecode(int64_t, const StepBatch &,
                                      const Buffer &, const Buffer &) {
  return Status::error("this long check backend replays no graphs");
}

namespace {
/// The CPU path: host pools, one branch on host buffers for every layer.
class HostBackend : public LongCheckBackend {
public:
  explicit HostBackend(Invoker branch) : branch(std::move(branch)) {}
  Status makePools(const StateSpec &spec, int64_t numLayers, int64_t numSlots,
                   int64_t padSlotId,
                   std::unique_ptr<StatePoolManager> &out) override {
    return StatePoolManager::create(spec, numLayers, numSlots, padSlotId, out);
  }
  Status layerBranch(int64_t, harness::Model &, Invoker &out) override {
    out = branch;
    return Status::success();
  }

private:
  Invoker branch;
};
} // namespace

Status hssm::serving::runLongCheck(const LongCheckOptions &options,
                                   LongCheckBackend &backend,
                                   LongCheckReport &report) {
  report = LongCheckReport();
  Driver driver(options, backend, report);
  if (Status st = driver.setUp(); !st)
    return st;
  return driver.run();
}

Status hssm::serving::runLongCheck(const LongCheckOptions &options,
                                   const Invoker &branch,
                                   LongCheckReport &report) {
  HostBackend backend(branch);
  return runLongCheck(options, backend, report);
}
