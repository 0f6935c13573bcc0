//===- ReferenceTest.cpp - Tests of the plain reference of SPEC.md --------===//
//
// Hand-computed tiny cases, the chunked-prefill identity, padding, dst != src,
// start-of-step reads, low-precision pools, and the prefix sums.
//
//===----------------------------------------------------------------------===//

#include "hssm/Reference/Reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace hssm;
using namespace hssm::ref;

namespace {

double silu(double v) { return v / (1.0 + std::exp(-v)); }
double softplus(double v) { return v > 20.0 ? v : std::log1p(std::exp(v)); }

/// The tiny model of the hand-computed tests: Hd = D = N = R = 1, W = 2.
///   x = 2 u, z = u; conv = 0.25 + 0.5 x_{t-1} + x_t; delta = xc, B = 0.5 xc,
///   C = 2 xc; Delta = softplus(delta + dtBias); out = 3 y.
Weights tinyWeights(float dtBias, float a) {
  Weights w;
  w.inProj = {2.0f, 1.0f};
  w.convWeight = {0.5f, 1.0f};
  w.convBias = {0.25f};
  w.xProj = {1.0f, 0.5f, 2.0f};
  w.dtProj = {1.0f};
  w.dtBias = {dtBias};
  w.a = {a};
  w.dSkip = {0.5f};
  w.outProj = {3.0f};
  return w;
}
const Sizes tinySizes{1, 1, 1, 1, 2};

/// One row over all of xIn, reading/writing `slot`.
Batch singleRow(int64_t numTokens, int32_t slot, bool hasInit,
                bool decode = false) {
  Batch b;
  b.queryStartLoc = {0, static_cast<int32_t>(numTokens)};
  b.stateIndices = {slot};
  b.hasInitialState = {static_cast<uint8_t>(hasInit)};
  b.numDecodes = decode ? 1 : 0;
  b.numPrefills = decode ? 0 : 1;
  return b;
}

std::vector<float> randomVector(std::mt19937 &rng, size_t n, float lo,
                                float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

/// Random weights of a sane scale (activations stay O(1)).
Weights randomWeights(const Sizes &s, unsigned seed) {
  std::mt19937 rng(seed);
  auto scaled = [&](size_t n, int64_t fanIn) {
    float bound = 1.0f / std::sqrt(static_cast<float>(fanIn));
    return randomVector(rng, n, -bound, bound);
  };
  Weights w;
  w.inProj = scaled(2 * s.d * s.hd, s.hd);
  w.convWeight = scaled(s.d * s.w, s.w);
  w.convBias = randomVector(rng, s.d, -0.2f, 0.2f);
  w.xProj = scaled((s.r + 2 * s.n) * s.d, s.d);
  w.dtProj = scaled(s.d * s.r, s.r);
  w.dtBias = randomVector(rng, s.d, -3.0f, 0.0f);
  w.a = randomVector(rng, s.d * s.n, -3.0f, 0.5f);
  for (float &a : w.a)
    a = -std::exp(a); // A = -exp(A_log)
  w.dSkip = randomVector(rng, s.d, 0.5f, 1.5f);
  w.outProj = scaled(s.hd * s.d, s.d);
  return w;
}

/// Fills every slot of a pool with random values already in its dtypes.
void randomizePool(Pool &pool, unsigned seed) {
  std::mt19937 rng(seed);
  pool.conv = randomVector(rng, pool.conv.size(), -1.0f, 1.0f);
  pool.ssm = randomVector(rng, pool.ssm.size(), -1.0f, 1.0f);
  for (float &v : pool.conv)
    v = roundTo(pool.convDType, v);
  for (float &v : pool.ssm)
    v = roundTo(pool.ssmDType, v);
}

std::vector<float> slice(const std::vector<float> &v, int64_t begin,
                         int64_t len) {
  return std::vector<float>(v.begin() + begin, v.begin() + begin + len);
}

std::vector<float> convSlot(const Pool &p, const Sizes &s, int64_t slot) {
  return slice(p.conv, slot * (s.w - 1) * s.d, (s.w - 1) * s.d);
}

std::vector<float> ssmSlot(const Pool &p, const Sizes &s, int64_t slot) {
  return slice(p.ssm, slot * s.d * s.n, s.d * s.n);
}

/// |a - b| <= rel * |b| + abs, element by element.
template <typename A, typename B>
void expectClose(const std::vector<A> &a, const std::vector<B> &b, double rel,
                 double abs, const char *what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_LE(std::fabs(double(a[i]) - double(b[i])),
              rel * std::fabs(double(b[i])) + abs)
        << what << "[" << i << "]: " << a[i] << " vs " << b[i];
}

TEST(ReferenceTest, MakePoolIsZeroedAndSized) {
  Sizes s{8, 6, 4, 2, 4};
  Pool p = makePool(s, 5, 0, DType::BF16, DType::F16);
  EXPECT_EQ(p.numSlots, 5);
  EXPECT_EQ(p.padSlotId, 0);
  EXPECT_EQ(p.convDType, DType::BF16);
  EXPECT_EQ(p.ssmDType, DType::F16);
  EXPECT_EQ(p.conv.size(), 5u * 3 * 6);
  EXPECT_EQ(p.ssm.size(), 5u * 6 * 4);
  EXPECT_TRUE(std::all_of(p.conv.begin(), p.conv.end(),
                          [](float v) { return v == 0.0f; }));
  EXPECT_TRUE(std::all_of(p.ssm.begin(), p.ssm.end(),
                          [](float v) { return v == 0.0f; }));
}

TEST(ReferenceTest, HandComputedTwoTokens) {
  Weights w = tinyWeights(-0.5f, -1.0f);
  Pool pool = makePool(tinySizes, 1, -1, DType::F32, DType::F32);
  std::vector<float> xIn = {1.0f, -0.5f};
  std::vector<double> out;
  mamba1Step(tinySizes, w, singleRow(2, 0, false), xIn, pool, out);

  // Token 0: x = 2, z = 1, no history.
  double xc0 = silu(0.25 + 0.5 * 0.0 + 1.0 * 2.0);
  double dt0 = softplus(xc0 - 0.5);
  double h0 = std::exp(-dt0) * 0.0 + dt0 * (0.5 * xc0) * xc0;
  double y0 = (2.0 * xc0 * h0 + 0.5 * xc0) * silu(1.0);
  // Token 1: x = -1, z = -0.5, x_{t-1} = 2.
  double xc1 = silu(0.25 + 0.5 * 2.0 + 1.0 * -1.0);
  double dt1 = softplus(xc1 - 0.5);
  double h1 = std::exp(-dt1) * h0 + dt1 * (0.5 * xc1) * xc1;
  double y1 = (2.0 * xc1 * h1 + 0.5 * xc1) * silu(-0.5);

  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0], 3.0 * y0, 1e-12);
  EXPECT_NEAR(out[1], 3.0 * y1, 1e-12);
  // The same numbers, computed independently (Python, f64).
  EXPECT_NEAR(out[0], 34.23834993826112, 1e-11);
  EXPECT_NEAR(out[1], -0.3766862000991003, 1e-12);
  // Conv state: the last W-1 = 1 raw input, x_1 = -1. SSM state: h_1.
  EXPECT_EQ(pool.conv[0], -1.0f);
  EXPECT_EQ(pool.ssm[0], static_cast<float>(h1));
  EXPECT_NEAR(pool.ssm[0], 2.1163665509784435, 1e-6);
}

TEST(ReferenceTest, HandComputedDecodeReadsItsSlot) {
  // dtBias 25 takes softplus's linear branch (v > 20); the decode reads its
  // slot although has_initial_state is 0.
  Weights w = tinyWeights(25.0f, -0.125f);
  Pool pool = makePool(tinySizes, 2, -1, DType::F32, DType::F32);
  pool.conv = {9.0f, 4.0f};
  pool.ssm = {9.0f, 0.75f};
  std::vector<float> xIn = {0.5f};
  std::vector<double> out;
  mamba1Step(tinySizes, w, singleRow(1, 1, /*hasInit=*/false, /*decode=*/true),
             xIn, pool, out);

  // x = 1, z = 0.5, x_{t-1} = 4 from the slot, h_{t-1} = 0.75.
  double xc = silu(0.25 + 0.5 * 4.0 + 1.0 * 1.0);
  double dt = xc + 25.0;
  double h = std::exp(dt * -0.125) * 0.75 + dt * (0.5 * xc) * xc;
  double y = (2.0 * xc * h + 0.5 * xc) * silu(0.5);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NEAR(out[0], 3.0 * y, 1e-12 * std::fabs(3.0 * y));
  EXPECT_NEAR(out[0], 805.9283253010627, 1e-9);
  EXPECT_EQ(pool.conv[1], 1.0f);
  EXPECT_EQ(pool.ssm[1], static_cast<float>(h));
  EXPECT_NEAR(pool.ssm[1], 137.69373477356908, 1e-4);
  // Slot 0 is not part of the batch.
  EXPECT_EQ(pool.conv[0], 9.0f);
  EXPECT_EQ(pool.ssm[0], 9.0f);
}

TEST(ReferenceTest, ProjectionInputsRoundWhereComputed) {
  // The decode of HandComputedDecodeReadsItsSlot with projection inputs
  // stored in bf16: xc, [delta; B; C] and y are rounded where computed,
  // and every later use (the scan, the skip, the state) sees the rounded
  // values.
  Weights w = tinyWeights(25.0f, -0.125f);
  auto run = [&](std::optional<DType> inputs, Pool &pool) {
    pool = makePool(tinySizes, 2, -1, DType::F32, DType::F32);
    pool.conv = {9.0f, 4.0f};
    pool.ssm = {9.0f, 0.75f};
    std::vector<double> out;
    mamba1Step(tinySizes, w, singleRow(1, 1, false, /*decode=*/true), {0.5f},
               pool, out, inputs);
    return out;
  };
  auto bf16 = [](double v) { return double(roundTo(DType::BF16, float(v))); };
  double exactXc = silu(0.25 + 0.5 * 4.0 + 1.0 * 1.0);
  double xc = bf16(exactXc);
  ASSERT_NE(xc, exactXc);
  // x_proj = (1, 0.5, 2): delta = xc, B = xc / 2 and C = 2 xc stay exact.
  double dt = xc + 25.0;
  double h = std::exp(dt * -0.125) * 0.75 + dt * (0.5 * xc) * xc;
  double y = bf16((2.0 * xc * h + 0.5 * xc) * silu(0.5));
  Pool rounded, exact;
  std::vector<double> out = run(DType::BF16, rounded);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NEAR(out[0], 3.0 * y, 1e-12 * std::fabs(3.0 * y));
  EXPECT_EQ(rounded.ssm[1], static_cast<float>(h));
  // Without the option nothing is rounded (HandComputedDecodeReadsItsSlot).
  EXPECT_NEAR(run(std::nullopt, exact)[0], 805.9283253010627, 1e-9);
  EXPECT_GT(std::fabs(out[0] - 805.9283253010627), 1e-3);
}

TEST(ReferenceTest, ShortRowShiftsConvWindow) {
  // W = 4: a one-token row keeps the two newest entries of the old window.
  Sizes s{1, 1, 1, 1, 4};
  Weights w = tinyWeights(-0.5f, -1.0f);
  w.convWeight = {0.125f, 0.25f, 0.5f, 1.0f};
  Pool pool = makePool(s, 1, -1, DType::F32, DType::F32);
  pool.conv = {1.0f, 2.0f, 3.0f}; // oldest first
  std::vector<double> out;
  mamba1Step(s, w, singleRow(1, 0, true), {0.5f}, pool, out);
  EXPECT_EQ(pool.conv, (std::vector<float>{2.0f, 3.0f, 1.0f}));
  // And the conv saw all of it: 0.25 + 0.125*1 + 0.25*2 + 0.5*3 + 1*1.
  double xc = silu(0.25 + 0.125 * 1 + 0.25 * 2 + 0.5 * 3 + 1.0 * 1);
  double dt = softplus(xc - 0.5);
  double h = dt * 0.5 * xc * xc; // h_{t-1} = 0
  EXPECT_NEAR(out[0], 3.0 * (2.0 * xc * h + 0.5 * xc) * silu(0.5), 1e-12);

  // A two-token row without initial state shifts in zeros.
  Pool fresh = makePool(s, 1, -1, DType::F32, DType::F32);
  fresh.conv = {7.0f, 7.0f, 7.0f};
  mamba1Step(s, w, singleRow(2, 0, false), {0.5f, -1.0f}, fresh, out);
  EXPECT_EQ(fresh.conv, (std::vector<float>{0.0f, 1.0f, -2.0f}));
}

/// Splits 7 tokens into chunks via the pool and compares with one prefill.
void checkChunked(const Sizes &s, const std::vector<int> &chunks,
                  unsigned seed) {
  Weights w = randomWeights(s, seed);
  std::mt19937 rng(seed + 1);
  int total = 0;
  for (int c : chunks)
    total += c;
  std::vector<float> xIn = randomVector(rng, total * s.hd, -1.0f, 1.0f);

  Pool whole = makePool(s, 3, -1, DType::F32, DType::F32);
  std::vector<double> wholeOut;
  mamba1Step(s, w, singleRow(total, 1, false), xIn, whole, wholeOut);

  Pool chunked = makePool(s, 3, -1, DType::F32, DType::F32);
  std::vector<double> chunkedOut, part;
  int begin = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    std::vector<float> x = slice(xIn, begin * s.hd, chunks[i] * s.hd);
    mamba1Step(s, w, singleRow(chunks[i], 1, /*hasInit=*/i > 0), x, chunked,
               part);
    chunkedOut.insert(chunkedOut.end(), part.begin(), part.end());
    begin += chunks[i];
  }
  // The whole prefill carries x_t and h_t in f64 across the split; the
  // chunked one carries them through the f32 pool, so the two agree to f32
  // rounding (2^-24 = 6e-8 relative) of the carried state, which the later
  // tokens damp rather than amplify (measured: < 1e-8) -- not to f64
  // rounding. ChunkedPrefillIsExactWhenStateIsExact covers the f64 part.
  expectClose(chunkedOut, wholeOut, 2e-7, 2e-8, "out");
  expectClose(chunked.conv, whole.conv, 2e-7, 2e-8, "conv state");
  expectClose(chunked.ssm, whole.ssm, 2e-7, 2e-8, "ssm state");
  // Slots 0 and 2 are untouched.
  EXPECT_EQ(convSlot(chunked, s, 0), std::vector<float>((s.w - 1) * s.d, 0.0f));
  EXPECT_EQ(ssmSlot(chunked, s, 2), std::vector<float>(s.d * s.n, 0.0f));
}

TEST(ReferenceTest, ChunkedPrefillEqualsLongPrefill) {
  Sizes s{8, 6, 4, 2, 4};
  checkChunked(s, {3, 4}, 11);
  // Chunks shorter than W-1 take old conv inputs from the pool's window.
  for (int first = 1; first < 7; ++first)
    checkChunked(s, {first, 7 - first}, 20 + first);
  checkChunked(s, {1, 1, 5}, 31);
  checkChunked(s, {2, 0, 1, 4}, 32); // a zero-length chunk changes nothing
  checkChunked(Sizes{5, 7, 3, 1, 2}, {3, 4}, 33);
  checkChunked(Sizes{5, 7, 3, 3, 5}, {2, 2, 3}, 34);
}

TEST(ReferenceTest, ChunkedPrefillIsExactWhenStateIsExact) {
  // With A = 0, B = 0 and dyadic inputs the carried states are exact in f32,
  // so chunked and whole agree to f64 rounding: within 1e-12.
  Sizes s{4, 3, 2, 1, 3};
  Weights w = randomWeights(s, 5);
  for (float &v : w.inProj)
    v = std::round(v * 8.0f) / 8.0f;
  std::fill(w.a.begin(), w.a.end(), 0.0f);
  for (int64_t d = 0; d < s.d; ++d)
    for (int64_t n = 0; n < s.n; ++n)
      w.xProj[(s.r + n) * s.d + d] = 0.0f; // B rows
  std::vector<float> xIn(7 * s.hd);
  for (size_t i = 0; i < xIn.size(); ++i)
    xIn[i] = static_cast<float>(static_cast<int>(i * 7 % 9) - 4) / 4.0f;

  Pool whole = makePool(s, 1, -1, DType::F32, DType::F32);
  Pool chunked = makePool(s, 1, -1, DType::F32, DType::F32);
  whole.ssm = {0.5f, -0.25f, 1.0f, 2.0f, -1.5f, 0.125f};
  chunked.ssm = whole.ssm;
  std::vector<double> wholeOut, out3, out4;
  mamba1Step(s, w, singleRow(7, 0, true), xIn, whole, wholeOut);
  mamba1Step(s, w, singleRow(3, 0, true), slice(xIn, 0, 3 * s.hd), chunked,
             out3);
  mamba1Step(s, w, singleRow(4, 0, true), slice(xIn, 3 * s.hd, 4 * s.hd),
             chunked, out4);
  out3.insert(out3.end(), out4.begin(), out4.end());
  expectClose(out3, wholeOut, 0.0, 1e-12, "out");
  EXPECT_EQ(chunked.conv, whole.conv);
  EXPECT_EQ(chunked.ssm, whole.ssm);
}

TEST(ReferenceTest, PadRowsGiveZerosAndLeavePoolUntouched) {
  Sizes s{8, 6, 4, 2, 4};
  Weights w = randomWeights(s, 7);
  std::mt19937 rng(8);
  for (int64_t padSlot : {-1, 0}) {
    SCOPED_TRACE(padSlot);
    // Rows: decode on slot 2, a padding decode, a padding prefill of 3, a
    // prefill of 2 on slot 1 with initial state.
    Batch b;
    b.queryStartLoc = {0, 1, 2, 5, 7};
    b.stateIndices = {2, static_cast<int32_t>(padSlot),
                      static_cast<int32_t>(padSlot), 1};
    b.hasInitialState = {1, 1, 1, 1};
    b.numDecodes = 2;
    b.numPrefills = 2;
    std::vector<float> xIn = randomVector(rng, 7 * s.hd, -1.0f, 1.0f);
    Pool pool = makePool(s, 4, padSlot, DType::F32, DType::F32);
    randomizePool(pool, 9);
    Pool before = pool;
    std::vector<double> out;
    mamba1Step(s, w, b, xIn, pool, out);

    ASSERT_EQ(out.size(), size_t(7 * s.hd));
    for (int64_t i = 1 * s.hd; i < 5 * s.hd; ++i)
      ASSERT_EQ(out[i], 0.0) << i;
    for (int64_t slot : {0, 3}) {
      EXPECT_EQ(convSlot(pool, s, slot), convSlot(before, s, slot));
      EXPECT_EQ(ssmSlot(pool, s, slot), ssmSlot(before, s, slot));
    }
    // The live rows are as if run alone.
    Pool alone = before;
    std::vector<double> out0, out3;
    mamba1Step(s, w, singleRow(1, 2, true, true), slice(xIn, 0, s.hd), alone,
               out0);
    mamba1Step(s, w, singleRow(2, 1, true), slice(xIn, 5 * s.hd, 2 * s.hd),
               alone, out3);
    EXPECT_EQ(std::vector<double>(out.begin(), out.begin() + s.hd), out0);
    EXPECT_EQ(std::vector<double>(out.begin() + 5 * s.hd, out.end()), out3);
    EXPECT_EQ(pool.conv, alone.conv);
    EXPECT_EQ(pool.ssm, alone.ssm);
    EXPECT_NE(pool.ssm, before.ssm);
  }
}

TEST(ReferenceTest, DstDiffersFromSrc) {
  Sizes s{8, 6, 4, 2, 4};
  Weights w = randomWeights(s, 12);
  std::mt19937 rng(13);
  std::vector<float> xIn = randomVector(rng, 5 * s.hd, -1.0f, 1.0f);
  Pool pool = makePool(s, 4, -1, DType::F32, DType::F32);
  randomizePool(pool, 14);
  Pool inPlace = pool;

  Batch b = singleRow(5, 1, true);
  b.dstStateIndices = {3};
  std::vector<double> out, outInPlace;
  mamba1Step(s, w, b, xIn, pool, out);
  mamba1Step(s, w, singleRow(5, 1, true), xIn, inPlace, outInPlace);

  EXPECT_EQ(out, outInPlace);
  // The source slot keeps its old state; the dst slot holds the new one.
  EXPECT_NE(convSlot(pool, s, 1), convSlot(inPlace, s, 1));
  EXPECT_EQ(convSlot(pool, s, 3), convSlot(inPlace, s, 1));
  EXPECT_EQ(ssmSlot(pool, s, 3), ssmSlot(inPlace, s, 1));
  Pool original = makePool(s, 4, -1, DType::F32, DType::F32);
  randomizePool(original, 14);
  EXPECT_EQ(convSlot(pool, s, 1), convSlot(original, s, 1));
  EXPECT_EQ(ssmSlot(pool, s, 1), ssmSlot(original, s, 1));
}

TEST(ReferenceTest, RowsReadThePoolAsTheStepFoundIt) {
  // Row 0 reads slot 1 and writes slot 2; row 1 reads slot 2 and writes 1.
  Sizes s{8, 6, 4, 2, 4};
  Weights w = randomWeights(s, 15);
  std::mt19937 rng(16);
  std::vector<float> xIn = randomVector(rng, 4 * s.hd, -1.0f, 1.0f);
  Pool pool = makePool(s, 3, -1, DType::F32, DType::F32);
  randomizePool(pool, 17);
  Pool before = pool;

  Batch b;
  b.queryStartLoc = {0, 1, 4};
  b.stateIndices = {1, 2};
  b.dstStateIndices = {2, 1};
  b.hasInitialState = {1, 1};
  b.numDecodes = 1;
  b.numPrefills = 1;
  std::vector<double> out;
  mamba1Step(s, w, b, xIn, pool, out);

  Pool a0 = before, a1 = before;
  std::vector<double> out0, out1;
  mamba1Step(s, w, singleRow(1, 1, true, true), slice(xIn, 0, s.hd), a0, out0);
  mamba1Step(s, w, singleRow(3, 2, true), slice(xIn, s.hd, 3 * s.hd), a1, out1);
  out0.insert(out0.end(), out1.begin(), out1.end());
  EXPECT_EQ(out, out0);
  EXPECT_EQ(convSlot(pool, s, 2), convSlot(a0, s, 1));
  EXPECT_EQ(ssmSlot(pool, s, 2), ssmSlot(a0, s, 1));
  EXPECT_EQ(convSlot(pool, s, 1), convSlot(a1, s, 2));
  EXPECT_EQ(ssmSlot(pool, s, 1), ssmSlot(a1, s, 2));
  EXPECT_EQ(convSlot(pool, s, 0), convSlot(before, s, 0));
}

TEST(ReferenceTest, PrefillWithoutInitialStateIgnoresItsSlot) {
  Sizes s{8, 6, 4, 2, 4};
  Weights w = randomWeights(s, 18);
  std::mt19937 rng(19);
  std::vector<float> xIn = randomVector(rng, 3 * s.hd, -1.0f, 1.0f);
  Pool dirty = makePool(s, 2, -1, DType::F32, DType::F32);
  randomizePool(dirty, 20);
  Pool clean = makePool(s, 2, -1, DType::F32, DType::F32);
  std::vector<double> outDirty, outClean;
  mamba1Step(s, w, singleRow(3, 1, false), xIn, dirty, outDirty);
  mamba1Step(s, w, singleRow(3, 1, false), xIn, clean, outClean);
  EXPECT_EQ(outDirty, outClean);
  EXPECT_EQ(convSlot(dirty, s, 1), convSlot(clean, s, 1));
  EXPECT_EQ(ssmSlot(dirty, s, 1), ssmSlot(clean, s, 1));
  // With the flag set, the slot matters.
  Pool dirty2 = makePool(s, 2, -1, DType::F32, DType::F32);
  randomizePool(dirty2, 20);
  std::vector<double> outInit;
  mamba1Step(s, w, singleRow(3, 1, true), xIn, dirty2, outInit);
  EXPECT_NE(outInit, outClean);
}

TEST(ReferenceTest, ZeroLengthRowsCopyOrClearTheirState) {
  Sizes s{8, 6, 4, 2, 4};
  Weights w = randomWeights(s, 21);
  Pool pool = makePool(s, 4, -1, DType::F32, DType::F32);
  randomizePool(pool, 22);
  Pool before = pool;
  Batch b;
  b.queryStartLoc = {0, 0, 0};
  b.stateIndices = {0, 1};
  b.dstStateIndices = {2, 3};
  b.hasInitialState = {1, 0};
  b.numPrefills = 2;
  std::vector<double> out;
  mamba1Step(s, w, b, {}, pool, out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(convSlot(pool, s, 2), convSlot(before, s, 0));
  EXPECT_EQ(ssmSlot(pool, s, 2), ssmSlot(before, s, 0));
  EXPECT_EQ(convSlot(pool, s, 3), std::vector<float>(3 * 6, 0.0f));
  EXPECT_EQ(ssmSlot(pool, s, 3), std::vector<float>(6 * 4, 0.0f));
}

TEST(ReferenceTest, LowPrecisionPoolsRoundWhatTheyStore) {
  Sizes s{8, 6, 4, 2, 4};
  Weights w = randomWeights(s, 23);
  std::mt19937 rng(24);
  std::vector<float> xIn = randomVector(rng, 5 * s.hd, -1.0f, 1.0f);
  Pool f32 = makePool(s, 1, -1, DType::F32, DType::F32);
  std::vector<double> out;
  mamba1Step(s, w, singleRow(5, 0, false), xIn, f32, out);
  for (auto [convType, ssmType] : {std::pair{DType::BF16, DType::F16},
                                   std::pair{DType::F16, DType::BF16}}) {
    Pool low = makePool(s, 1, -1, convType, ssmType);
    std::vector<double> lowOut;
    mamba1Step(s, w, singleRow(5, 0, false), xIn, low, lowOut);
    // Outputs within one step are unaffected by the state dtype.
    EXPECT_EQ(lowOut, out);
    for (size_t i = 0; i < low.conv.size(); ++i) {
      EXPECT_EQ(low.conv[i], roundTo(convType, f32.conv[i])) << i;
    }
    for (size_t i = 0; i < low.ssm.size(); ++i) {
      EXPECT_EQ(low.ssm[i], roundTo(ssmType, f32.ssm[i])) << i;
    }
  }
}

TEST(ReferenceTest, MixedStepAtMamba130mSizes) {
  // Real sizes (BENCH.md): 2 decodes, a chunked prefill of 5, a fresh
  // prefill of 9; equals the rows run one by one.
  Sizes s{768, 1536, 16, 48, 4};
  Weights w = randomWeights(s, 25);
  std::mt19937 rng(26);
  std::vector<float> xIn = randomVector(rng, 16 * s.hd, -1.0f, 1.0f);
  Pool pool = makePool(s, 6, -1, DType::F32, DType::BF16);
  randomizePool(pool, 27);
  Pool before = pool;
  Batch b;
  b.queryStartLoc = {0, 1, 2, 7, 16};
  b.stateIndices = {4, 0, 2, 5};
  b.hasInitialState = {0, 1, 1, 0};
  b.numDecodes = 2;
  b.numPrefills = 2;
  std::vector<double> out;
  mamba1Step(s, w, b, xIn, pool, out);
  ASSERT_EQ(out.size(), size_t(16 * s.hd));

  Pool alone = before;
  std::vector<double> expected, part;
  for (int r = 0; r < 4; ++r) {
    int t0 = b.queryStartLoc[r], len = b.queryStartLoc[r + 1] - t0;
    mamba1Step(s, w,
               singleRow(len, b.stateIndices[r], b.hasInitialState[r], r < 2),
               slice(xIn, t0 * s.hd, len * s.hd), alone, part);
    expected.insert(expected.end(), part.begin(), part.end());
  }
  EXPECT_EQ(out, expected);
  EXPECT_EQ(pool.conv, alone.conv);
  EXPECT_EQ(pool.ssm, alone.ssm);
  for (double v : out)
    ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(convSlot(pool, s, 1), convSlot(before, s, 1));
  EXPECT_EQ(ssmSlot(pool, s, 3), ssmSlot(before, s, 3));
}

TEST(ReferenceTest, PrefixSum) {
  // x[t] = (t + 1, -(t + 1) / 2); sums over the first 3 of 5 tokens.
  std::vector<float> x;
  for (int t = 0; t < 5; ++t) {
    x.push_back(t + 1.0f);
    x.push_back(-(t + 1.0f) / 2.0f);
  }
  std::vector<double> out;
  prefixSum(x, 5, 2, 3, out);
  EXPECT_EQ(out, (std::vector<double>{1, -0.5, 3, -1.5, 6, -3, 0, 0, 0, 0}));
  prefixSum(x, 5, 2, 0, out);
  EXPECT_EQ(out, std::vector<double>(10, 0.0));
  prefixSum(x, 5, 2, 5, out);
  EXPECT_EQ(out[8], 15.0);
  EXPECT_EQ(out[9], -7.5);
}

TEST(ReferenceTest, SegmentedPrefixSum) {
  // Width 2, slots [4, 2]. Rows: a decode (slot 0, flag 0: decodes read
  // anyway), a prefill of 3 from slot 1 into slot 3, a padding prefill of 2,
  // a fresh prefill of 2 into slot 2, a zero-length row copying slot 3's
  // *original* state into slot 1.
  std::vector<float> x;
  for (int t = 0; t < 8; ++t) {
    x.push_back(t + 1.0f);
    x.push_back(0.5f);
  }
  std::vector<float> state = {10, 20, 100, 200, 1000, 2000, 7, 7};
  Batch b;
  b.queryStartLoc = {0, 1, 4, 6, 8, 8};
  b.stateIndices = {0, 1, -1, 2, 3};
  b.dstStateIndices = {0, 3, 1, 2, 1};
  b.hasInitialState = {0, 1, 1, 0, 1};
  b.numDecodes = 1;
  b.numPrefills = 4;
  std::vector<double> out;
  segmentedPrefixSum(x, 2, b, -1, DType::F32, state, out);
  EXPECT_EQ(out, (std::vector<double>{11, 20.5,                         // row 0
                                      102, 200.5, 105, 201, 109, 201.5, // 1
                                      0, 0, 0, 0,                       // pad
                                      7, 0.5, 15, 1}));                 // 3
  EXPECT_EQ(state, (std::vector<float>{11, 20.5, 7, 7, 15, 1, 109, 201.5}));
}

TEST(ReferenceTest, SegmentedPrefixSumRoundsState) {
  // 257 is a bf16 tie between 256 and 258: the state stores 256, the
  // output keeps 257. Slot 0 is the reserved pad slot here.
  std::vector<float> x = {200.0f, 57.0f, 3.0f};
  std::vector<float> state = {5.0f, 0.0f};
  Batch b;
  b.queryStartLoc = {0, 2, 3};
  b.stateIndices = {1, 0};
  b.hasInitialState = {0, 1};
  b.numPrefills = 2;
  std::vector<double> out;
  segmentedPrefixSum(x, 1, b, /*padSlotId=*/0, DType::BF16, state, out);
  EXPECT_EQ(out, (std::vector<double>{200, 257, 0}));
  EXPECT_EQ(state, (std::vector<float>{5.0f, 256.0f}));
}

} // namespace
