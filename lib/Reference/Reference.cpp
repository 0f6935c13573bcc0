//===- Reference.cpp - The plain reference of SPEC.md ---------------------===//
//
// One loop per formula line of SPEC.md section 2, in f64. Nothing clever:
// this is what the compiled paths are checked against. Each step first
// computes every row from the pool as it was when the step began and only
// then writes the final states, so a row whose dst slot is another row's
// source cannot corrupt it.
//
//===----------------------------------------------------------------------===//

#include "hssm/Reference/Reference.h"

#include <cmath>
#include <cstddef>

namespace hssm::ref {

namespace {

double silu(double v) { return v / (1.0 + std::exp(-v)); }

double softplus(double v) { return v > 20.0 ? v : std::log1p(std::exp(v)); }

/// sum_k a[k] * b[k] in f64. Four partial sums only to break the add
/// dependency chain (the mamba-130m projections dominate the run time); the
/// order differs from a left fold by f64 rounding only.
template <typename T> double dot(const float *a, const T *b, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += double(a[k]) * double(b[k]);
    s1 += double(a[k + 1]) * double(b[k + 1]);
    s2 += double(a[k + 2]) * double(b[k + 2]);
    s3 += double(a[k + 3]) * double(b[k + 3]);
  }
  for (; k < n; ++k)
    s0 += double(a[k]) * double(b[k]);
  return (s0 + s1) + (s2 + s3);
}

int64_t numRows(const Batch &batch) {
  return batch.queryStartLoc.empty()
             ? 0
             : static_cast<int64_t>(batch.queryStartLoc.size()) - 1;
}

/// Decode rows always read their slot; prefills only when flagged.
bool readsState(const Batch &batch, int64_t r) {
  if (r < batch.numDecodes)
    return true;
  return r < static_cast<int64_t>(batch.hasInitialState.size()) &&
         batch.hasInitialState[r] != 0;
}

int64_t dstSlot(const Batch &batch, int64_t r) {
  return batch.dstStateIndices.empty() ? batch.stateIndices[r]
                                       : batch.dstStateIndices[r];
}

/// A final state waiting to be written once every row has read the pool.
struct PendingWrite {
  int64_t slot;
  std::vector<float> conv; // [W-1, D], already rounded
  std::vector<float> ssm;  // [D, N], already rounded
};

} // namespace

Pool makePool(const Sizes &sizes, int64_t numSlots, int64_t padSlotId,
              DType convDType, DType ssmDType) {
  Pool pool;
  pool.numSlots = numSlots;
  pool.padSlotId = padSlotId;
  pool.convDType = convDType;
  pool.ssmDType = ssmDType;
  pool.conv.assign(static_cast<size_t>(numSlots * (sizes.w - 1) * sizes.d),
                   0.0f);
  pool.ssm.assign(static_cast<size_t>(numSlots * sizes.d * sizes.n), 0.0f);
  return pool;
}

void mamba1Step(const Sizes &sizes, const Weights &weights, const Batch &batch,
                const std::vector<float> &xIn, Pool &pool,
                std::vector<double> &out,
                std::optional<DType> projectionInputs) {
  // Where a compiled path stores a projection's input in a narrower type.
  auto stored = [&](double v) {
    return projectionInputs ? double(roundTo(*projectionInputs, float(v))) : v;
  };
  const int64_t Hd = sizes.hd, D = sizes.d, N = sizes.n, R = sizes.r,
                W = sizes.w;
  const int64_t T = Hd > 0 ? static_cast<int64_t>(xIn.size()) / Hd : 0;
  const int64_t convLen = (W - 1) * D; // one slot's conv state
  const int64_t ssmLen = D * N;        // one slot's SSM state
  out.assign(static_cast<size_t>(T * Hd), 0.0);

  // Per-token scratch, allocated once per step.
  std::vector<double> z(D), xc(D), xDbl(R + 2 * N), delta(D), y(D);
  std::vector<double> h(ssmLen);
  std::vector<double> xs; // [W-1 + L, D]: initial window then this row's x_t
  std::vector<PendingWrite> pending;

  for (int64_t r = 0; r < numRows(batch); ++r) {
    const int64_t slot = batch.stateIndices[r];
    if (slot == pool.padSlotId)
      continue; // padding: zero output (already), no state read or written
    const int64_t t0 = batch.queryStartLoc[r], t1 = batch.queryStartLoc[r + 1];
    const int64_t L = t1 - t0;
    const bool hasInit = readsState(batch, r);

    // Initial conv window (x_{t0-W+1} .. x_{t0-1}, oldest first) and h_{t0-1}.
    xs.assign(static_cast<size_t>((W - 1 + L) * D), 0.0);
    for (int64_t i = 0; i < convLen; ++i)
      xs[i] = hasInit ? pool.conv[slot * convLen + i] : 0.0;
    for (int64_t i = 0; i < ssmLen; ++i)
      h[i] = hasInit ? pool.ssm[slot * ssmLen + i] : 0.0;

    for (int64_t l = 0; l < L; ++l) {
      const int64_t t = t0 + l;
      const float *xTok = &xIn[t * Hd];
      double *x = &xs[(W - 1 + l) * D]; // x_t, the newest conv input

      // [x_t ; z_t] = W_in . x_in_t
      for (int64_t i = 0; i < D; ++i)
        x[i] = dot(&weights.inProj[i * Hd], xTok, Hd);
      for (int64_t i = 0; i < D; ++i)
        z[i] = dot(&weights.inProj[(D + i) * Hd], xTok, Hd);

      // xc_t[d] = silu(b_conv[d] + sum_k w[d,k] . x_{t-(W-1)+k}[d])
      for (int64_t d = 0; d < D; ++d) {
        double acc = weights.convBias[d];
        for (int64_t k = 0; k < W; ++k)
          acc += double(weights.convWeight[d * W + k]) * xs[(l + k) * D + d];
        xc[d] = stored(silu(acc));
      }

      // [delta_t; B_t; C_t] = W_x . xc_t
      for (int64_t j = 0; j < R + 2 * N; ++j)
        xDbl[j] = stored(dot(&weights.xProj[j * D], xc.data(), D));
      const double *deltaR = &xDbl[0];
      const double *B = &xDbl[R];
      const double *C = &xDbl[R + N];

      // Delta_t[d] = softplus((W_dt . delta_t)[d] + b_dt[d])
      for (int64_t d = 0; d < D; ++d)
        delta[d] = softplus(dot(&weights.dtProj[d * R], deltaR, R) +
                            weights.dtBias[d]);

      // h_t[d,n] = exp(Delta_t[d] A[d,n]) h_{t-1}[d,n] + Delta_t[d] B_t[n]
      // xc_t[d]
      for (int64_t d = 0; d < D; ++d)
        for (int64_t n = 0; n < N; ++n)
          h[d * N + n] =
              std::exp(delta[d] * weights.a[d * N + n]) * h[d * N + n] +
              delta[d] * B[n] * xc[d];

      // y_t[d] = (sum_n C_t[n] h_t[d,n] + Dskip[d] xc_t[d]) silu(z_t[d])
      for (int64_t d = 0; d < D; ++d) {
        double acc = 0.0;
        for (int64_t n = 0; n < N; ++n)
          acc += C[n] * h[d * N + n];
        y[d] = stored((acc + double(weights.dSkip[d]) * xc[d]) * silu(z[d]));
      }

      // ssm_out_t = W_out . y_t
      for (int64_t o = 0; o < Hd; ++o)
        out[t * Hd + o] = dot(&weights.outProj[o * D], y.data(), D);
    }

    // Final states: the last W-1 entries of (initial window ++ x_t0..x_t1),
    // which shifts old entries in when L < W-1, and h_t1; each rounded to
    // its pool dtype. Written after all rows (see the file comment).
    PendingWrite write;
    write.slot = dstSlot(batch, r);
    write.conv.resize(convLen);
    for (int64_t i = 0; i < convLen; ++i)
      write.conv[i] = roundTo(pool.convDType, float(xs[L * D + i]));
    write.ssm.resize(ssmLen);
    for (int64_t i = 0; i < ssmLen; ++i)
      write.ssm[i] = roundTo(pool.ssmDType, float(h[i]));
    pending.push_back(std::move(write));
  }

  for (const PendingWrite &write : pending) {
    for (int64_t i = 0; i < convLen; ++i)
      pool.conv[write.slot * convLen + i] = write.conv[i];
    for (int64_t i = 0; i < ssmLen; ++i)
      pool.ssm[write.slot * ssmLen + i] = write.ssm[i];
  }
}

void prefixSum(const std::vector<float> &x, int64_t numTokens, int64_t width,
               int64_t count, std::vector<double> &out) {
  out.assign(static_cast<size_t>(numTokens * width), 0.0);
  for (int64_t c = 0; c < width; ++c) {
    double running = 0.0;
    for (int64_t t = 0; t < count && t < numTokens; ++t) {
      running += x[t * width + c];
      out[t * width + c] = running;
    }
  }
}

void segmentedPrefixSum(const std::vector<float> &x, int64_t width,
                        const Batch &batch, int64_t padSlotId, DType stateDType,
                        std::vector<float> &state, std::vector<double> &out) {
  const int64_t T = width > 0 ? static_cast<int64_t>(x.size()) / width : 0;
  out.assign(static_cast<size_t>(T * width), 0.0);

  // As in mamba1Step: every row reads the state as it was at the start.
  std::vector<std::pair<int64_t, std::vector<float>>> pending;
  std::vector<double> running(width);
  for (int64_t r = 0; r < numRows(batch); ++r) {
    const int64_t slot = batch.stateIndices[r];
    if (slot == padSlotId)
      continue;
    const bool hasInit = readsState(batch, r);
    for (int64_t c = 0; c < width; ++c)
      running[c] = hasInit ? state[slot * width + c] : 0.0;
    for (int64_t t = batch.queryStartLoc[r]; t < batch.queryStartLoc[r + 1];
         ++t)
      for (int64_t c = 0; c < width; ++c) {
        running[c] += x[t * width + c];
        out[t * width + c] = running[c];
      }
    std::vector<float> final(width);
    for (int64_t c = 0; c < width; ++c)
      final[c] = roundTo(stateDType, float(running[c]));
    pending.emplace_back(dstSlot(batch, r), std::move(final));
  }
  for (const auto &[slot, values] : pending)
    for (int64_t c = 0; c < width; ++c)
      state[slot * width + c] = values[c];
}

} // namespace hssm::ref
