//===- Harness.cpp - Host-side driving of a compiled history branch -------===//

#include "hssm/Harness/Harness.h"

#include <algorithm>
#include <cmath>
#include <sstream>

using namespace hssm;
using namespace hssm::harness;

//===----------------------------------------------------------------------===//
// Tensors, models, pools
//===----------------------------------------------------------------------===//

HostTensor::HostTensor(DType type, std::vector<int64_t> shape)
    : type(type), shape(std::move(shape)) {
  bytes.assign(size_t(numElements()) * dtypeSize(type), 0);
}

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::vector<float> HostTensor::toFloats() const {
  std::vector<float> v(static_cast<size_t>(numElements()));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = get(i);
  return v;
}

static Elem toElem(DType t) {
  switch (t) {
  case DType::F32: return Elem::F32;
  case DType::F16: return Elem::F16;
  case DType::BF16: return Elem::BF16;
  }
  return Elem::F32;
}

Buffer HostTensor::buffer() { return Buffer{bytes.data(), shape, toElem(type)}; }

namespace {
/// Fills `t` with uniform values in [-scale, scale], rounded to its type, and
/// returns the rounded values.
std::vector<float> fillUniform(HostTensor &t, float scale,
                               std::mt19937_64 &rng) {
  std::uniform_real_distribution<float> dist(-scale, scale);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.set(size_t(i), dist(rng));
  return t.toFloats();
}
} // namespace

Model hssm::harness::makeRandomModel(const BranchConfig &c, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Model m;
  m.config = c;
  // Scales that keep every intermediate of order one (inputs are uniform in
  // [-1, 1]), so relative errors are measured on values that matter and the
  // scan's term C.h is as large as the skip term.
  auto inv = [](int64_t k) { return 3.0f / std::sqrt(float(k)); };
  m.inProj = HostTensor(c.act, {2 * c.d, c.hd});
  m.weights.inProj = fillUniform(m.inProj, inv(c.hd), rng);
  m.convWeight = HostTensor(c.act, {c.d, c.w});
  m.weights.convWeight = fillUniform(m.convWeight, inv(c.w), rng);
  m.convBias = HostTensor(c.act, {c.d});
  m.weights.convBias = fillUniform(m.convBias, 0.1f, rng);
  m.xProj = HostTensor(c.act, {c.r + 2 * c.n, c.d});
  // C.h sums N terms: shrink B and C as N grows so y stays of order one.
  m.weights.xProj = fillUniform(
      m.xProj, inv(c.d) * std::min(1.0f, 4.0f / std::sqrt(float(c.n))), rng);
  m.dtProj = HostTensor(c.act, {c.d, c.r});
  m.weights.dtProj = fillUniform(m.dtProj, 0.1f * inv(c.r), rng);
  m.outProj = HostTensor(c.act, {c.hd, c.d});
  m.weights.outProj = fillUniform(m.outProj, 0.1f * inv(c.d), rng);

  // softplus(dt_bias) = dt, log-uniform in [1e-3, 1e-1] as Mamba does.
  m.dtBias = HostTensor(DType::F32, {c.d});
  std::uniform_real_distribution<float> logDt(std::log(1e-3f),
                                              std::log(1e-1f));
  for (int64_t i = 0; i < c.d; ++i) {
    float dt = std::exp(logDt(rng));
    m.dtBias.set(size_t(i), dt + std::log(-std::expm1(-dt)));
  }
  m.weights.dtBias = m.dtBias.toFloats();
  // A = -exp(A_log) with A_log = log(1..N); Dskip = 1.
  m.a = HostTensor(DType::F32, {c.d, c.n});
  for (int64_t d = 0; d < c.d; ++d)
    for (int64_t n = 0; n < c.n; ++n)
      m.a.set(size_t(d * c.n + n), -float(n + 1));
  m.weights.a = m.a.toFloats();
  m.dSkip = HostTensor(DType::F32, {c.d});
  for (int64_t d = 0; d < c.d; ++d)
    m.dSkip.set(size_t(d), 1.0f);
  m.weights.dSkip = m.dSkip.toFloats();
  return m;
}

Pool hssm::harness::makePool(const BranchConfig &c, int64_t numSlots) {
  Pool p;
  p.conv = HostTensor(c.convState, {numSlots, c.w - 1, c.d});
  p.ssm = HostTensor(c.ssmState, {numSlots, c.d, c.n});
  p.numSlots = numSlots;
  p.padSlotId = c.padSlotId;
  return p;
}

ref::Pool hssm::harness::toReferencePool(const Pool &pool,
                                         const BranchConfig &c) {
  ref::Pool r;
  r.numSlots = pool.numSlots;
  r.padSlotId = pool.padSlotId;
  r.convDType = c.convState;
  r.ssmDType = c.ssmState;
  r.conv = pool.conv.toFloats();
  r.ssm = pool.ssm.toFloats();
  return r;
}

//===----------------------------------------------------------------------===//
// Steps
//===----------------------------------------------------------------------===//

BatchView hssm::harness::batchView(const ref::Batch &batch,
                                   int64_t numTokens) {
  BatchView v;
  v.numReqs = int64_t(batch.stateIndices.size());
  v.numTokens = numTokens;
  v.queryStartLoc = batch.queryStartLoc.data();
  v.stateIndices = batch.stateIndices.data();
  v.dstStateIndices =
      batch.dstStateIndices.empty() ? nullptr : batch.dstStateIndices.data();
  v.hasInitialState = batch.hasInitialState.data();
  v.numDecodes = batch.numDecodes;
  v.numDecodeTokens = batch.numDecodes;
  v.numPrefills = batch.numPrefills;
  v.numPrefillTokens = numTokens - batch.numDecodes;
  return v;
}

BatchView Step::view(int64_t *numPrefillTokens) const {
  BatchView v = batchView(batch, numTokens());
  if (numPrefillTokens)
    *numPrefillTokens = v.numPrefillTokens;
  return v;
}

Step hssm::harness::makeStep(const BranchConfig &c, ref::Batch batch,
                             std::mt19937_64 &rng) {
  Step s;
  int64_t tokens = batch.queryStartLoc.empty() ? 0 : batch.queryStartLoc.back();
  s.batch = std::move(batch);
  s.x = HostTensor(c.act, {tokens, c.hd});
  s.xFloat = fillUniform(s.x, 1.0f, rng);
  return s;
}

Status hssm::harness::runStep(const Invoker &invoke, Model &model,
                              Pool &pool, const Step &step, HostTensor &out) {
  int64_t numPrefillTokens = 0;
  BatchView view = step.view(&numPrefillTokens);
  if (Status st = checkBatch(view, {pool.numSlots, pool.padSlotId}); !st)
    return st;
  const BranchConfig &c = model.config;
  int64_t tokens = step.numTokens(), reqs = view.numReqs;
  out = HostTensor(c.act, {tokens, c.hd});
  // The function takes mutable buffers; the metadata is only read.
  std::vector<int32_t> qsl = step.batch.queryStartLoc;
  std::vector<int32_t> slots = step.batch.stateIndices;
  std::vector<int32_t> dst = step.batch.dstStateIndices.empty()
                                 ? slots
                                 : step.batch.dstStateIndices;
  std::vector<uint8_t> init = step.batch.hasInitialState;
  HostTensor x = step.x;
  auto i32 = [](std::vector<int32_t> &v, int64_t n) {
    return Buffer{v.data(), {n}, Elem::I32};
  };
  BranchMetadata meta{i32(qsl, reqs + 1),
                      i32(slots, reqs),
                      i32(dst, reqs),
                      Buffer{init.data(), {reqs}, Elem::I8},
                      int64_t(view.numDecodes),
                      int64_t(view.numPrefills),
                      numPrefillTokens};
  std::vector<Arg> args = branchArgs(x.buffer(), model, pool.conv.buffer(),
                                     pool.ssm.buffer(), meta, out.buffer());
  return invoke(args);
}

std::vector<Arg> hssm::harness::branchArgs(const Buffer &x, Model &model,
                                           const Buffer &conv,
                                           const Buffer &ssm,
                                           const BranchMetadata &batch,
                                           const Buffer &out) {
  return {x,
          model.inProj.buffer(),
          model.convWeight.buffer(),
          model.convBias.buffer(),
          model.xProj.buffer(),
          model.dtProj.buffer(),
          model.dtBias.buffer(),
          model.a.buffer(),
          model.dSkip.buffer(),
          model.outProj.buffer(),
          conv,
          ssm,
          batch.queryStartLoc,
          batch.stateIndices,
          batch.dstStateIndices,
          batch.hasInitialState,
          batch.numDecodes,
          batch.numPrefills,
          batch.numPrefillTokens,
          out};
}

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

static double unitRoundoff(DType t) {
  switch (t) {
  case DType::F32: return 0;
  case DType::F16: return std::ldexp(1.0, -11);
  case DType::BF16: return std::ldexp(1.0, -8);
  }
  return 0;
}

Tolerance hssm::harness::toleranceFor(DType act, DType conv, DType ssm) {
  double eps = std::max({unitRoundoff(act), unitRoundoff(conv),
                         unitRoundoff(ssm)});
  Tolerance t;
  t.rtol = std::max(1e-4, 2 * eps);
  t.atol = 1e-5;
  t.atolScale = eps;
  return t;
}

Tolerance hssm::harness::withRoundedIntermediates(Tolerance t, DType act,
                                                  int count) {
  double eps = unitRoundoff(act);
  t.rtol += count * eps;
  t.atolScale += count * eps;
  return t;
}

Comparison hssm::harness::compare(const std::vector<float> &got,
                                  const std::vector<double> &want,
                                  const Tolerance &tol) {
  Comparison c;
  c.count = std::min(got.size(), want.size());
  c.ok = got.size() == want.size();
  double scale = 0, squares = 0;
  for (double w : want) {
    scale = std::max(scale, std::fabs(w));
    squares += w * w;
  }
  c.scale = scale;
  c.rms = want.empty() ? 0 : std::sqrt(squares / double(want.size()));
  double atol = tol.atol + tol.atolScale * scale;
  double worstExcess = -1;
  for (size_t i = 0; i < c.count; ++i) {
    double err = std::fabs(double(got[i]) - want[i]);
    if (!std::isfinite(double(got[i])))
      err = INFINITY;
    double bound = atol + tol.rtol * std::fabs(want[i]);
    if (!(err <= bound))
      c.ok = false;
    c.maxAbs = std::max(c.maxAbs, err);
    if (std::fabs(want[i]) > 1e-3 * scale)
      c.maxRel = std::max(c.maxRel, err / std::fabs(want[i]));
    if (err - bound > worstExcess) {
      worstExcess = err - bound;
      c.worst = i;
    }
  }
  return c;
}

//===----------------------------------------------------------------------===//
// Traces and the scheduler
//===----------------------------------------------------------------------===//

Trace hssm::harness::makeBuiltinTrace(uint64_t seed, int64_t numSteps,
                                      int64_t maxRequests) {
  struct Request {
    int64_t id, prompt, outputs, prefilled = 0, decoded = 0;
  };
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const int64_t tokenBudget = 512;
  std::vector<Request> running;
  int64_t nextId = 0;
  Trace trace;
  for (int64_t s = 0; s < numSteps; ++s) {
    TraceStep step;
    // Arrivals while there is room.
    int64_t arrivals = uniform(0, s == 0 ? 3 : 2);
    for (int64_t i = 0; i < arrivals && int64_t(running.size()) < maxRequests;
         ++i)
      running.push_back({nextId++, uniform(1, 300), uniform(1, 12)});
    int64_t budget = tokenBudget;
    for (Request &r : running) {
      if (r.prefilled == r.prompt) {
        step.work.push_back({r.id, 1});
        ++r.decoded;
        --budget;
      }
    }
    for (Request &r : running) {
      if (r.prefilled == r.prompt || budget <= 0)
        continue;
      // Chunked prefill: a random chunk of what is left, within budget.
      int64_t left = r.prompt - r.prefilled;
      int64_t chunk = std::min({left, budget, uniform(1, 256)});
      step.work.push_back({r.id, chunk});
      r.prefilled += chunk;
      budget -= chunk;
    }
    std::vector<Request> still;
    for (Request &r : running) {
      if (r.decoded >= r.outputs)
        step.finished.push_back(r.id);
      else
        still.push_back(r);
    }
    running = std::move(still);
    trace.push_back(std::move(step));
  }
  return trace;
}

Status hssm::harness::parseTrace(const std::string &text, Trace &out) {
  std::istringstream lines(text);
  std::string line;
  int lineNo = 0;
  out.clear();
  while (std::getline(lines, line)) {
    ++lineNo;
    if (size_t hash = line.find('#'); hash != std::string::npos)
      line.resize(hash);
    std::istringstream words(line);
    std::string word;
    TraceStep step;
    bool any = false;
    while (words >> word) {
      any = true;
      char *end = nullptr;
      if (word[0] == '-') {
        long long id = std::strtoll(word.c_str() + 1, &end, 10);
        if (*end || end == word.c_str() + 1)
          return Status::error("trace line " + std::to_string(lineNo) +
                               ": '" + word + "' is not -<request id>");
        step.finished.push_back(id);
        continue;
      }
      size_t colon = word.find(':');
      long long id = std::strtoll(word.c_str(), &end, 10);
      if (colon == std::string::npos || end != word.c_str() + colon ||
          colon == 0)
        return Status::error("trace line " + std::to_string(lineNo) + ": '" +
                             word + "' is not <request id>:<tokens>");
      long long tokens = std::strtoll(word.c_str() + colon + 1, &end, 10);
      if (*end || tokens < 1)
        return Status::error("trace line " + std::to_string(lineNo) + ": '" +
                             word + "' needs a token count >= 1");
      step.work.push_back({id, tokens});
    }
    if (any)
      out.push_back(std::move(step));
  }
  return Status::success();
}

Scheduler::Scheduler(int64_t numSlots, int64_t padSlotId) {
  for (int64_t s = 0; s < numSlots; ++s)
    if (s != padSlotId)
      freeSlots.insert(int32_t(s));
}

Status Scheduler::schedule(const TraceStep &step, ref::Batch &batch,
                           std::vector<int64_t> &order) {
  std::vector<std::pair<int64_t, int64_t>> decodes, prefills;
  std::set<int64_t> seen;
  size_t newSlots = 0;
  for (auto [id, tokens] : step.work) {
    if (!seen.insert(id).second)
      return Status::error("trace: request " + std::to_string(id) +
                           " appears twice in one step");
    auto done = computed.find(id);
    bool started = done != computed.end() && done->second > 0;
    if (!slotOf.count(id))
      ++newSlots;
    (started && tokens == 1 ? decodes : prefills).push_back({id, tokens});
  }
  if (newSlots > freeSlots.size())
    return Status::error("state pool is full: " + std::to_string(newSlots) +
                         " new requests, " + std::to_string(freeSlots.size()) +
                         " free slots");
  batch = ref::Batch();
  order.clear();
  batch.queryStartLoc.push_back(0);
  batch.numDecodes = int64_t(decodes.size());
  batch.numPrefills = int64_t(prefills.size());
  for (auto *group : {&decodes, &prefills}) {
    for (auto [id, tokens] : *group) {
      if (!slotOf.count(id)) {
        slotOf[id] = *freeSlots.begin();
        freeSlots.erase(freeSlots.begin());
        computed[id] = 0;
      }
      batch.queryStartLoc.push_back(batch.queryStartLoc.back() +
                                    int32_t(tokens));
      batch.stateIndices.push_back(slotOf[id]);
      batch.hasInitialState.push_back(computed[id] > 0 ? 1 : 0);
      computed[id] += tokens;
      order.push_back(id);
    }
  }
  return Status::success();
}

void Scheduler::finish(const TraceStep &step) {
  for (int64_t id : step.finished) {
    auto it = slotOf.find(id);
    if (it == slotOf.end())
      continue;
    freeSlots.insert(it->second);
    slotOf.erase(it);
    computed.erase(id);
  }
}
