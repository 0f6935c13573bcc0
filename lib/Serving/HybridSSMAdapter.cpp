//===- HybridSSMAdapter.cpp - The history branch as a serving layer -------===//

#include "hssm/Serving/HybridSSMAdapter.h"

#include <cstring>
#include <string>

using namespace hssm;
using namespace hssm::serving;

static std::string num(int64_t v) { return std::to_string(v); }

static Elem elemOf(DType t) {
  switch (t) {
  case DType::F32:
    return Elem::F32;
  case DType::F16:
    return Elem::F16;
  case DType::BF16:
    return Elem::BF16;
  }
  return Elem::F32;
}

static std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + num(shape[i]);
  return s + "]";
}

Status HybridSSMAdapter::create(const AdapterConfig &config,
                                std::unique_ptr<HybridSSMAdapter> &out) {
  if (config.hiddenSize < 1)
    return Status::error("hidden_size = " + num(config.hiddenSize) +
                         " is less than 1");
  StateSpecOptions o;
  o.tpSize = config.tpSize;
  o.intermediateSize = config.intermediateSize;
  o.stateSize = config.ssmStateSize;
  o.convKernelSize = config.convKernelSize;
  o.modelDType = config.modelDType;
  o.convStateDType = config.convStateDType;
  o.ssmStateDType = config.ssmStateDType;
  StateSpec spec;
  if (Status st = makeStateSpec(o, spec); !st)
    return st;
  std::unique_ptr<HybridSSMAdapter> a(new HybridSSMAdapter);
  a->config = config;
  if (a->config.timeStepRank == 0)
    a->config.timeStepRank = (config.hiddenSize + 15) / 16;
  if (a->config.timeStepRank < 1)
    return Status::error("time_step_rank = " + num(config.timeStepRank) +
                         " is less than 1");
  a->spec = spec;
  out = std::move(a);
  return Status::success();
}

AdapterConfig hssm::serving::adapterConfigFor(const BranchConfig &c) {
  AdapterConfig a;
  a.hiddenSize = c.hd;
  a.ssmStateSize = c.n;
  a.convKernelSize = c.w;
  a.intermediateSize = c.d;
  a.timeStepRank = c.r;
  a.modelDType = c.act;
  a.convStateDType = c.convState;
  a.ssmStateDType = c.ssmState;
  a.mode = c.mode;
  return a;
}

BranchConfig HybridSSMAdapter::branchConfig(int64_t padSlotId) const {
  BranchConfig c;
  c.hd = config.hiddenSize;
  c.d = spec.localIntermediateSize;
  c.n = spec.stateSize;
  c.r = config.timeStepRank;
  c.w = spec.convKernelSize;
  c.act = spec.modelDType;
  c.convState = spec.convStateDType;
  c.ssmState = spec.ssmStateDType;
  c.mode = config.mode;
  c.padSlotId = padSlotId;
  return c;
}

Status HybridSSMAdapter::bindPool(StatePoolManager &manager, int64_t l) {
  if (l < 0 || l >= manager.numLayers())
    return Status::error("layer " + num(l) + " is outside the pool manager's " +
                         num(manager.numLayers()) + " layers");
  if (manager.spec() != spec)
    return Status::error(
        "the pool's state spec (conv [" +
        num(manager.spec().convStateShape()[0]) + ", " +
        num(manager.spec().convStateShape()[1]) + "] " +
        dtypeName(manager.spec().convStateDType) + ", ssm [" +
        num(manager.spec().ssmStateShape()[0]) + ", " +
        num(manager.spec().ssmStateShape()[1]) + "] " +
        dtypeName(manager.spec().ssmStateDType) +
        ") is not this layer's (conv [" + num(spec.convStateShape()[0]) + ", " +
        num(spec.convStateShape()[1]) + "] " + dtypeName(spec.convStateDType) +
        ", ssm [" + num(spec.ssmStateShape()[0]) + ", " +
        num(spec.ssmStateShape()[1]) + "] " + dtypeName(spec.ssmStateDType) +
        ")");
  pools = &manager;
  layer = l;
  return Status::success();
}

Status HybridSSMAdapter::bindBranch(Invoker fn, harness::Model m) {
  BranchConfig want = branchConfig(m.config.padSlotId);
  const BranchConfig &got = m.config;
  if (branchConfigKey(got) != branchConfigKey(want))
    return Status::error("the model's branch config " + branchConfigKey(got) +
                         " is not this layer's " + branchConfigKey(want));
  if (!fn)
    return Status::error("the compiled branch is empty");
  branch = std::move(fn);
  model = std::move(m);
  return Status::success();
}

Status HybridSSMAdapter::forwardHistoryBranchPrefill(const Buffer &x,
                                                     const BatchView &batch,
                                                     const Buffer &out) {
  return forward(Entry::Prefill, x, batch, out);
}

Status HybridSSMAdapter::forwardHistoryBranchDecode(const Buffer &x,
                                                    const BatchView &batch,
                                                    const Buffer &out) {
  return forward(Entry::Decode, x, batch, out);
}

Status HybridSSMAdapter::forwardMixed(const Buffer &x, const BatchView &batch,
                                      const Buffer &out) {
  return forward(Entry::Mixed, x, batch, out);
}

Status HybridSSMAdapter::forward(Entry entry, const Buffer &x,
                                 const BatchView &batch, const Buffer &out) {
  const char *name = entry == Entry::Prefill  ? "forward_history_branch_prefill"
                     : entry == Entry::Decode ? "forward_history_branch_decode"
                                              : "forward_mixed";
  auto fail = [&](const std::string &why) {
    return Status::error(std::string(name) + ": " + why);
  };
  if (!pools)
    return fail("no state pool is bound (bindPool)");
  if (config.mode != BranchMode::Zero && !model)
    return fail(std::string("mode ") + branchModeName(config.mode) +
                " needs a compiled branch and weights (bindBranch)");
  if (config.tpSize != 1 && config.mode == BranchMode::Mamba1)
    // The x_proj and out_proj products of one rank are partial sums over its
    // D / tp channels; this runtime has no all-reduce to complete them.
    // (zero and prefix_sum have no cross-rank sums.)
    return fail("tp_size = " + num(config.tpSize) +
                ": the branch runs one rank's partial sums only; forward "
                "needs tp_size = 1");
  if (entry == Entry::Prefill && batch.numDecodes != 0)
    return fail("the batch has " + num(batch.numDecodes) +
                " decodes: the prefill entry takes prefills only");
  if (entry == Entry::Decode && batch.numPrefills != 0)
    return fail("the batch has " + num(batch.numPrefills) +
                " prefills: the decode entry takes decodes only");

  const int64_t hd = config.hiddenSize, tokens = batch.numTokens;
  for (auto [what, buf] :
       {std::pair<const char *, const Buffer *>{"x", &x}, {"out", &out}}) {
    std::vector<int64_t> want = {tokens, hd};
    if (buf->elem != elemOf(spec.modelDType))
      return fail(std::string(what) + " holds " + elemName(buf->elem) +
                  ", the model's dtype is " + dtypeName(spec.modelDType));
    if (buf->shape != want)
      return fail(std::string(what) + " has shape " + shapeText(buf->shape) +
                  ", the step needs " + shapeText(want));
    if (!buf->data && tokens > 0)
      return fail(std::string(what) + " has no data");
  }
  if (Status st = checkBatch(batch, pools->limits()); !st)
    return fail(st.message());

  if (config.mode == BranchMode::Zero) {
    // vLLM's default: a zero contribution, no state read or written.
    if (tokens > 0)
      std::memset(out.data, 0,
                  size_t(tokens * hd) * dtypeSize(spec.modelDType));
    return Status::success();
  }
  if (model->config.padSlotId != pools->padSlotId())
    return fail("the branch was compiled for pad_slot_id = " +
                num(model->config.padSlotId) + ", the pool uses " +
                num(pools->padSlotId()));
  if (tokens == 0)
    return Status::success();

  // The compiled function takes mutable buffers; the metadata is only read.
  const int64_t reqs = batch.numReqs;
  std::vector<int32_t> qsl(batch.queryStartLoc, batch.queryStartLoc + reqs + 1);
  std::vector<int32_t> src(batch.stateIndices, batch.stateIndices + reqs);
  std::vector<int32_t> dst =
      batch.dstStateIndices ? std::vector<int32_t>(batch.dstStateIndices,
                                                   batch.dstStateIndices + reqs)
                            : src;
  std::vector<uint8_t> init(batch.hasInitialState,
                            batch.hasInitialState + reqs);
  // prefix_sum reads only this count: SPEC.md section 4 sums over the
  // decode tokens on the decode entry, over the prefill tokens elsewhere.
  int64_t count = batch.numPrefillTokens;
  if (entry == Entry::Decode && config.mode == BranchMode::PrefixSum)
    count = batch.numDecodeTokens;
  harness::Model &m = *model;
  // Host pools, or a store's (device memory, for an invoker that takes it).
  Buffer conv, ssm;
  pools->stateBuffers(layer, conv, ssm);
  harness::BranchMetadata meta{Buffer{qsl.data(), {reqs + 1}, Elem::I32},
                               Buffer{src.data(), {reqs}, Elem::I32},
                               Buffer{dst.data(), {reqs}, Elem::I32},
                               Buffer{init.data(), {reqs}, Elem::I8},
                               int64_t(batch.numDecodes),
                               int64_t(batch.numPrefills),
                               count};
  std::vector<Arg> args = harness::branchArgs(x, m, conv, ssm, meta, out);
  if (Status st = branch(args); !st)
    return fail(st.message());
  return Status::success();
}
