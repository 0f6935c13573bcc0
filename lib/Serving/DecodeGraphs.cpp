//===- DecodeGraphs.cpp - One layer's decode steps as CUDA graphs ---------===//

#include "hssm/Serving/DecodeGraphs.h"

#include <algorithm>
#include <string>

using namespace hssm;
using namespace hssm::serving;

static std::string num(int64_t v) { return std::to_string(v); }

static Status fail(const std::string &why) {
  return Status::error("decode graphs: " + why);
}

static Elem elemOf(DType t) {
  return t == DType::F32 ? Elem::F32 : t == DType::F16 ? Elem::F16 : Elem::BF16;
}

Status hssm::serving::residentWeights(harness::Model &m,
                                      cuda::DeviceResidents &residents,
                                      std::vector<Buffer> &weights) {
  std::vector<Buffer> out;
  for (harness::HostTensor *t :
       {&m.inProj, &m.convWeight, &m.convBias, &m.xProj, &m.dtProj, &m.dtBias,
        &m.a, &m.dSkip, &m.outProj}) {
    Buffer b = t->buffer();
    if (Status st = residents.add(b); !st)
      return Status::error("uploading the weights: " + st.message());
    b.data = residents.find(b.data);
    out.push_back(b);
  }
  weights = std::move(out);
  return Status::success();
}

/// Why `layer` cannot be captured, or success.
static Status checkLayer(const DecodeGraphs::Layer &layer) {
  const BranchConfig &c = layer.config;
  if (!layer.branch)
    return fail("the branch invoker is empty");
  if (!layer.pool)
    return fail("no device pool");
  if (c.mode != BranchMode::Mamba1)
    return fail(std::string("mode ") + branchModeName(c.mode) +
                ": only mamba1 decodes carry state worth a graph");
  if (layer.weights.size() != 9)
    return fail("the layer has " + num(int64_t(layer.weights.size())) +
                " weights; the branch takes 9 (in_proj .. out_proj)");
  for (size_t i = 0; i < layer.weights.size(); ++i)
    if (!layer.weights[i].data)
      return fail("weight " + num(int64_t(i)) + " has no device data");
  const cuda::DevicePool::Spec &p = layer.pool->spec();
  // The pool is what the captured kernels index: it must be the one the
  // branch was compiled for.
  if (p.convWidth != c.w || p.channels != c.d || p.stateSize != c.n ||
      p.convDType != c.convState || p.ssmDType != c.ssmState)
    return fail("the pool (W " + num(p.convWidth) + ", D " + num(p.channels) +
                ", N " + num(p.stateSize) + ", " + dtypeName(p.convDType) +
                "/" + dtypeName(p.ssmDType) + ") is not the branch's (W " +
                num(c.w) + ", D " + num(c.d) + ", N " + num(c.n) + ", " +
                dtypeName(c.convState) + "/" + dtypeName(c.ssmState) + ")");
  if (p.padSlotId != c.padSlotId)
    return fail("the branch was compiled for pad_slot_id = " +
                num(c.padSlotId) + ", the pool uses " + num(p.padSlotId));
  if (c.hd < 1)
    return fail("Hd = " + num(c.hd) + " must be >= 1");
  return Status::success();
}

/// The sizes to capture: ascending, and none past the first that holds
/// every usable slot of the pool.
static Status pickSizes(const DecodeGraphs::Options &o,
                        const cuda::DevicePool &pool,
                        std::vector<int64_t> &sizes) {
  std::vector<int64_t> asked = o.sizes;
  if (asked.empty())
    for (int64_t s = 1; s <= 256; s *= 2)
      asked.push_back(s);
  std::sort(asked.begin(), asked.end());
  asked.erase(std::unique(asked.begin(), asked.end()), asked.end());
  for (int64_t s : asked)
    if (s < 1 || s > (int64_t(1) << 24))
      return fail("batch size " + num(s) + " is outside [1, 2^24]");
  const int64_t usable =
      pool.spec().numSlots - (pool.spec().padSlotId >= 0 ? 1 : 0);
  sizes.clear();
  for (int64_t s : asked) {
    sizes.push_back(s);
    if (s >= usable)
      break;
  }
  return Status::success();
}

Status DecodeGraphs::create(const Layer &layer, const Options &options,
                            std::unique_ptr<DecodeGraphs> &out) {
  if (Status st = checkLayer(layer); !st)
    return st;
  if (Status st = cuda::init(); !st)
    return fail(st.message());
  std::unique_ptr<DecodeGraphs> g(new DecodeGraphs);
  g->layer = layer;
  g->options = options;
  if (Status st = pickSizes(options, *layer.pool, g->graphSizes); !st)
    return st;

  // The fixed buffers, at the largest size; zeroed, so that pad rows never
  // read uninitialized inputs.
  const BranchConfig &c = layer.config;
  const int64_t m = g->graphSizes.back();
  auto make = [&](const char *name, std::vector<int64_t> shape, Elem elem,
                  size_t elemBytes, Buffer &buf) -> Status {
    size_t bytes = elemBytes;
    for (int64_t d : shape)
      bytes *= size_t(d);
    void *p = nullptr;
    if (Status st = cuda::allocate(bytes, &p); !st)
      return fail("allocating " + std::string(name) + " (" +
                  num(int64_t(bytes)) + " bytes for " + num(m) +
                  " rows): " + st.message());
    g->owned.push_back(p);
    if (Status st = cuda::memsetZero(p, bytes); !st)
      return fail("zeroing " + std::string(name) + ": " + st.message());
    buf = Buffer{p, std::move(shape), elem};
    return Status::success();
  };
  const size_t act = dtypeSize(c.act);
  Buffers &f = g->fixed;
  if (Status st = make("x", {m, c.hd}, elemOf(c.act), act, f.x); !st)
    return st;
  if (Status st = make("out", {m, c.hd}, elemOf(c.act), act, f.out); !st)
    return st;
  if (Status st =
          make("query_start_loc", {m + 1}, Elem::I32, 4, f.queryStartLoc);
      !st)
    return st;
  if (Status st = make("state_indices", {m}, Elem::I32, 4, f.stateIndices); !st)
    return st;
  if (Status st =
          make("dst_state_indices", {m}, Elem::I32, 4, f.dstStateIndices);
      !st)
    return st;
  if (Status st =
          make("has_initial_state", {m}, Elem::I8, 1, f.hasInitialState);
      !st)
    return st;

  // One plain launch first: modules, cuBLAS's handle and the memory pool
  // are set up outside any capture (their setup cannot be captured). The
  // batch is all pad rows, so it must give zeros and touch no state.
  StepBatch pads;
  pads.batch.queryStartLoc = {0};
  if (Status st = padDecodeBatch(pads, m, layer.pool->limits()); !st)
    return fail("the all-pad warm-up batch: " + st.message());
  if (Status st = g->upload(Buffer{nullptr, {0, c.hd}, elemOf(c.act)}, pads);
      !st)
    return st;
  if (Status st = g->poisonPadRows(0, m); !st)
    return st;
  if (Status st = g->invoke(m); !st)
    return fail("warm-up launch of " + num(m) + " pad rows: " + st.message());
  if (Status st = g->checkPadRowsZero(0, m); !st)
    return Status::error(st.message() + " (warm-up)");

  for (int64_t s : g->graphSizes) {
    std::unique_ptr<cuda::Graph> graph;
    std::vector<Arg> args = g->arguments(s);
    const Invoker &branch = g->layer.branch;
    if (Status st = cuda::Graph::capture([&] { return branch(args); }, graph);
        !st)
      return fail("capturing the graph of " + num(s) +
                  " rows: " + st.message());
    g->graphs[s] = std::move(graph);
  }
  out = std::move(g);
  return Status::success();
}

DecodeGraphs::~DecodeGraphs() {
  graphs.clear(); // before the memory they use
  for (void *p : owned)
    (void)cuda::release(p);
}

int64_t DecodeGraphs::sizeFor(int64_t rows) const {
  for (int64_t s : graphSizes)
    if (s >= rows)
      return s;
  return -1;
}

std::vector<Arg> DecodeGraphs::arguments(int64_t rows) const {
  const int64_t hd = layer.config.hd;
  std::vector<Arg> args;
  args.push_back(Buffer{fixed.x.data, {rows, hd}, fixed.x.elem});
  for (const Buffer &w : layer.weights)
    args.push_back(w);
  args.push_back(layer.pool->conv());
  args.push_back(layer.pool->ssm());
  args.push_back(Buffer{fixed.queryStartLoc.data, {rows + 1}, Elem::I32});
  args.push_back(Buffer{fixed.stateIndices.data, {rows}, Elem::I32});
  args.push_back(Buffer{fixed.dstStateIndices.data, {rows}, Elem::I32});
  args.push_back(Buffer{fixed.hasInitialState.data, {rows}, Elem::I8});
  args.push_back(rows);       // num_decodes
  args.push_back(int64_t(0)); // num_prefills
  args.push_back(int64_t(0)); // num_prefill_tokens
  args.push_back(Buffer{fixed.out.data, {rows, hd}, fixed.out.elem});
  return args;
}

Status DecodeGraphs::invoke(int64_t rows) {
  if (Status st = layer.branch(arguments(rows)); !st)
    return st;
  // Kernels run asynchronously: their faults surface here.
  if (Status st = cuda::synchronize(); !st)
    return st;
  return cuda::takeError();
}

Status DecodeGraphs::upload(const Buffer &x, const StepBatch &padded) {
  const ref::Batch &b = padded.batch;
  const size_t rowBytes = size_t(layer.config.hd) * dtypeSize(layer.config.act);
  const int64_t live = x.shape.empty() ? 0 : x.shape[0];
  const std::vector<int32_t> &dst =
      b.dstStateIndices.empty() ? b.stateIndices : b.dstStateIndices;
  struct Copy {
    const char *name;
    void *to;
    const void *from;
    size_t bytes;
  };
  for (const Copy &cp :
       {Copy{"x", fixed.x.data, x.data, size_t(live) * rowBytes},
        Copy{"query_start_loc", fixed.queryStartLoc.data,
             b.queryStartLoc.data(), b.queryStartLoc.size() * 4},
        Copy{"state_indices", fixed.stateIndices.data, b.stateIndices.data(),
             b.stateIndices.size() * 4},
        Copy{"dst_state_indices", fixed.dstStateIndices.data, dst.data(),
             dst.size() * 4},
        Copy{"has_initial_state", fixed.hasInitialState.data,
             b.hasInitialState.data(), b.hasInitialState.size()}})
    if (cp.bytes)
      if (Status st = cuda::copyToDevice(cp.to, cp.from, cp.bytes); !st)
        return fail(std::string("uploading ") + cp.name + ": " + st.message());
  return Status::success();
}

Status DecodeGraphs::poisonPadRows(int64_t live, int64_t rows) {
  // All-ones bytes are a NaN in f32, f16 and bf16: a pad row the kernels
  // skip cannot pass for zero.
  const size_t rowBytes = size_t(layer.config.hd) * dtypeSize(layer.config.act);
  std::vector<uint8_t> nan(size_t(rows - live) * rowBytes, 0xFF);
  if (nan.empty())
    return Status::success();
  if (Status st = cuda::copyToDevice(static_cast<char *>(fixed.out.data) +
                                         size_t(live) * rowBytes,
                                     nan.data(), nan.size());
      !st)
    return fail("poisoning the pad rows' outputs: " + st.message());
  return Status::success();
}

Status DecodeGraphs::checkPadRowsZero(int64_t live, int64_t rows) {
  const int64_t hd = layer.config.hd;
  const DType t = layer.config.act;
  const size_t rowBytes = size_t(hd) * dtypeSize(t);
  std::vector<uint8_t> pads(size_t(rows - live) * rowBytes);
  if (pads.empty())
    return Status::success();
  if (Status st = cuda::copyToHost(pads.data(),
                                   static_cast<char *>(fixed.out.data) +
                                       size_t(live) * rowBytes,
                                   pads.size());
      !st)
    return fail("reading the pad rows' outputs: " + st.message());
  for (size_t i = 0; i < pads.size() / dtypeSize(t); ++i) {
    float v = loadElement(pads.data(), i, t);
    if (v != 0.0f)
      return fail("pad row " + num(live + int64_t(i) / hd) + " of a " +
                  num(rows) + "-row step has output " + std::to_string(v) +
                  " at column " + num(int64_t(i) % hd) +
                  "; pad rows must give exactly 0");
  }
  return Status::success();
}

Status DecodeGraphs::run(const Buffer &x, const StepBatch &batch,
                         const Buffer &out) {
  return step(true, x, batch, out);
}

Status DecodeGraphs::launch(const Buffer &x, const StepBatch &batch,
                            const Buffer &out) {
  return step(false, x, batch, out);
}

Status DecodeGraphs::step(bool replay, const Buffer &x, const StepBatch &batch,
                          const Buffer &out) {
  // Every check comes before the first write to the device.
  const int64_t rows = int64_t(batch.batch.stateIndices.size());
  if (batch.numPrefills() != 0)
    return fail("the batch has " + num(batch.numPrefills()) +
                " prefills: graphs replay decode-only steps");
  const ref::Batch &b = batch.batch;
  if (batch.numRows() != rows || int64_t(b.queryStartLoc.size()) != rows + 1 ||
      int64_t(b.hasInitialState.size()) != rows ||
      (!b.dstStateIndices.empty() && int64_t(b.dstStateIndices.size()) != rows))
    return fail("the batch's fields disagree on its row count (" + num(rows) +
                " state_indices, " + num(int64_t(b.queryStartLoc.size())) +
                " query_start_loc, " + num(int64_t(b.hasInitialState.size())) +
                " has_initial_state, " + num(batch.numRows()) +
                " rows mapped to requests)");
  const int64_t size = sizeFor(rows);
  if (size < 0)
    return fail("a batch of " + num(rows) +
                " decode rows is larger than the largest captured size " +
                num(graphSizes.back()));
  const int64_t hd = layer.config.hd;
  for (auto [name, buf] :
       {std::pair<const char *, const Buffer *>{"x", &x}, {"out", &out}}) {
    if (buf->elem != elemOf(layer.config.act))
      return fail(std::string(name) + " holds " + elemName(buf->elem) +
                  ", the activation type is " + dtypeName(layer.config.act));
    if (buf->shape != std::vector<int64_t>{rows, hd})
      return fail(std::string(name) + " is not [" + num(rows) + ", " + num(hd) +
                  "] (one row per decode)");
    if (rows > 0 && !buf->data)
      return fail(std::string(name) + " has no data");
  }
  const PoolLimits limits = layer.pool->limits();
  if (Status st = checkBatch(batch.view(), limits); !st)
    return fail(st.message());
  if (rows == 0)
    return Status::success();
  StepBatch padded = batch;
  if (Status st = padDecodeBatch(padded, size, limits); !st)
    return fail("padding to " + num(size) + " rows: " + st.message());

  if (Status st = upload(x, padded); !st)
    return st;
  if (options.checkPadRows)
    if (Status st = poisonPadRows(rows, size); !st)
      return st;
  if (replay) {
    if (Status st = graphs.at(size)->replay(); !st)
      return fail("replaying the graph of " + num(size) +
                  " rows: " + st.message());
  } else if (Status st = invoke(size); !st) {
    return fail("launching the branch on " + num(size) +
                " rows: " + st.message());
  }
  const size_t rowBytes = size_t(hd) * dtypeSize(layer.config.act);
  if (Status st =
          cuda::copyToHost(out.data, fixed.out.data, size_t(rows) * rowBytes);
      !st)
    return fail("downloading the outputs: " + st.message());
  if (options.checkPadRows)
    if (Status st = checkPadRowsZero(rows, size); !st)
      return st;
  lastRows = size;
  return Status::success();
}
