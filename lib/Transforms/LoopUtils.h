//===- LoopUtils.h - Helpers shared by the loop lowerings -------*- C++ -*-===//
//
// Loads that widen to fp32, stores that round to the storage type, the
// activation functions of SPEC.md, and the batch buffers behind a
// !hssm.batch value.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_LIB_TRANSFORMS_LOOPUTILS_H
#define HSSM_LIB_TRANSFORMS_LOOPUTILS_H

#include "hssm/Dialect/HSSM/HSSMDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::hssm {

/// A scalar or vector in a storage type, widened to f32 (as it is if f32).
Value toF32(OpBuilder &b, Location loc, Value v);
/// toF32 for a 1-D vector of an even number of bf16: widened as 32-bit
/// words, one integer op per element (arith.extf unpacks each pair first,
/// two per element on NVPTX). Used for the decode state update's state
/// rows; for every bf16 vector it cost the conv and the prefill scan
/// (bench/results/r29/variants.txt).
Value toF32ByWords(OpBuilder &b, Location loc, Value v);
/// Loads memref[indices] and widens it to f32.
Value loadF32(OpBuilder &b, Location loc, Value memref, ValueRange indices);
/// The `n` elements along the last dimension from `indices`, in the storage
/// type, as one vector access aligned by vectorAlignment.
Value loadVector(OpBuilder &b, Location loc, Value memref, ValueRange indices,
                 int64_t n);
/// Rounds the f32 `value` to the memref's element type and stores it.
void storeF32(OpBuilder &b, Location loc, Value value, Value memref,
              ValueRange indices);
/// Loads an i32 metadata element as an index.
Value loadIndex(OpBuilder &b, Location loc, Value memref, Value index);

Value constF32(OpBuilder &b, Location loc, float v);
/// `v` as a constant of `type`: f32, or a vector of f32 (splat).
Value constF32Like(OpBuilder &b, Location loc, float v, Type type);
Value constIndex(OpBuilder &b, Location loc, int64_t v);
/// silu(v) = v / (1 + exp(-v)).
Value silu(OpBuilder &b, Location loc, Value v);
/// The tile sizes an scf.parallel asks hssm-tile-parallel-loops for (a
/// DenseI64ArrayAttr, one size per dimension): its own GPU block shape.
inline constexpr llvm::StringLiteral kTileSizesAttr = "hssm.tile_sizes";
/// A buffer shared by the GPU block: a memref.alloca in workgroup memory,
/// aligned to 16 bytes, which hssm-workgroup-allocas makes the kernel's
/// workgroup attribution once the loops are a kernel.
Value workgroupBuffer(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                      Type elem);

/// GPU only: asks the L2 for the line holding memref[indices]
/// (nvvm.prefetch, no value read). A hint: it never changes what a load
/// returns, whatever writes the line before or after.
void prefetchToL2(OpBuilder &b, Location loc, Value memref, ValueRange indices);

/// softplus(v) = v if v > 20 else log1p(exp(v)) (SPEC.md section 2).
Value softplus(OpBuilder &b, Location loc, Value v);
/// The size of dimension `dim` of `memref` as an index value.
Value dimValue(OpBuilder &b, Location loc, Value memref, int64_t dim);

/// K adjacent channels, d0 .. d0+K-1, handled by one loop iteration: their
/// values travel as vector<K x f32> (plain f32 when K == 1), and loads and
/// stores along the channel dimension become vector accesses, so one GPU
/// thread moves 8-16 contiguous bytes per access instead of 2-4.
struct Channels {
  Value d0;
  int64_t k = 1;
  /// f32, or vector<k x f32>.
  Type type(OpBuilder &b) const;
  /// Index of channel j of the group (d0 + j).
  Value at(OpBuilder &b, Location loc, int64_t j) const;
  /// Group `g` of `k` channels (d0 = g * k).
  static Channels group(OpBuilder &b, Location loc, Value g, int64_t k);
  /// How many groups of `k` cover `channels` (a multiple of k).
  static Value count(OpBuilder &b, Location loc, Value channels, int64_t k);
};
/// How many channels one iteration can take: `want` when the channel count
/// is static and a multiple of it, else 1.
int64_t channelsPerIteration(int64_t channels, int64_t want);
/// The alignment in bytes of a vector access of `n` elements along the last
/// dimension of `memref` that starts at a multiple of `n`: the largest power
/// of two (up to 16) dividing the access size that every row start and the
/// offset keep (static layouts); hssm functions take 16-byte aligned
/// buffers.
llvm::MaybeAlign vectorAlignment(Value memref, int64_t n);
/// memref[prefix..., d0 : d0+K] widened to f32 (a scalar when K == 1).
Value loadChannels(OpBuilder &b, Location loc, Value memref,
                   ValueRange prefix, const Channels &ch);
/// Rounds `value` to the memref's type and stores it at
/// memref[prefix..., d0 : d0+K].
void storeChannels(OpBuilder &b, Location loc, Value value, Value memref,
                   ValueRange prefix, const Channels &ch);

/// scf.parallel over rows [rowBegin, rowEnd) x channel groups [0, groups):
/// dimension 0 is the row unless `channelMajor`, in which case it is the
/// group (the GPU mapping gives dimension 0 to blockIdx.x / threadIdx.x, so
/// this decides whether consecutive blocks walk rows or channels). `body`
/// gets (row, group) either way. Given `blockThreads`, the loop asks to be a
/// GPU block of that many consecutive groups of one row (kTileSizesAttr),
/// whatever tile the pipeline gives other loops.
void forRowsAndChannels(OpBuilder &b, Location loc, Value rowBegin,
                        Value rowEnd, Value groups, bool channelMajor,
                        function_ref<void(OpBuilder &, Location, Value, Value)>
                            body,
                        int64_t blockThreads = 0);

/// The buffers and counts of one batch, taken from its hssm.batch op.
struct BatchValues {
  Value queryStartLoc, stateIndices, dstStateIndices, hasInitialState;
  Value numDecodes, numPrefills, numReqs;
};
/// Fails (with a diagnostic on `user`) when the batch does not come from an
/// hssm.batch op in reach.
FailureOr<BatchValues> getBatchValues(Operation *user, Value batch,
                                      OpBuilder &b);

/// What one row of a pool-reading loop needs: its token range, whether it
/// is padding, whether it reads its slot, and its source and destination
/// slots.
struct RowInfo {
  Value begin, end, isPad, readsState, srcSlot, dstSlot;
  /// !isPad: the rows whose state is written.
  Value notPad(OpBuilder &b, Location loc) const;
};
/// Reads the row's metadata. A `decodeRow` always reads its slot, and its
/// one token is the row index (decodes come first: SPEC.md section 3), so
/// query_start_loc is not read for it.
RowInfo loadRow(OpBuilder &b, Location loc, const BatchValues &batch,
                Value row, int64_t padSlotId, bool decodeRow);

/// One of a group of `rows` consecutive decode rows (group g: rows g *
/// rows + i): past num_decodes it is clamped to the last decode row, so
/// that its loads stay valid, and `live` is false. `live` is null when
/// rows == 1 (every group is one live row).
struct DecodeRow {
  RowInfo info;
  Value live;
};
SmallVector<DecodeRow> loadDecodeRows(OpBuilder &b, Location loc,
                                      const BatchValues &batch, Value group,
                                      int64_t rows, int64_t padSlotId);

/// body where `cond` holds (an scf.if), or unconditionally when `cond` is
/// null.
void ifThen(OpBuilder &b, Location loc, Value cond,
            function_ref<void(OpBuilder &, Location)> body);

/// Two versions of some code chosen at run time by a batch count: emit(true)
/// where count <= limit, emit(false) elsewhere (an scf.if; outside the
/// parallel loops, the GPU gets a kernel for each and the host picks one).
/// With limit <= 0, emit(false) alone.
void ifAtMost(OpBuilder &b, Location loc, Value count, int64_t limit,
              function_ref<void(OpBuilder &, Location, bool atMost)> emit);

/// Prefill rows cut into chunks of `chunk` tokens and flattened: index rc
/// in [0, count) is chunk rc % maxChunks of prefill row rc / maxChunks
/// (maxChunks = max(ceil(T / chunk), 1), enough for any row; T is dimension 0 of
/// `tokenMajor`, a [T, ...] operand).
///
/// `compact` numbers them by token position instead: prefill row r (its
/// first token b_r tokens after the first prefill's) owns the indices from
/// f(r) = floor(b_r / chunk) + r on, max(ceil(len_r / chunk), 1) of them.
/// f is increasing and rows' ranges do not overlap (floor(b / c) + ceil(l /
/// c) <= floor((b + l) / c) + 1), so count = floor(T / chunk) +
/// num_prefills covers every row with at most one unused index per row,
/// where the row-major numbering has num_prefills x ceil(T / chunk), nearly
/// all empty when there are many rows (P3: 2048 GPU block rows for 128
/// chunks). An index finds its row by a binary search over f.
struct PrefillChunks {
  Value chunkLen, maxChunks, count;
  bool compact = false;
  /// One chunk: prefill row r, chunk c, the row's metadata, its tokens
  /// [t0, t1), and whether it has any (`live`).
  struct Chunk {
    Value r, c, t0, t1, live;
    RowInfo info;
  };
  static PrefillChunks make(OpBuilder &b, Location loc,
                            const BatchValues &batch, Value tokenMajor,
                            int64_t chunk, bool compact = false);
  Chunk at(OpBuilder &b, Location loc, const BatchValues &batch,
           Value rc, int64_t padSlotId) const;

private:
  /// f(r) of the compact numbering, from row r's first token `begin` and
  /// the first prefill's, `first`.
  Value firstIndex(OpBuilder &b, Location loc, Value begin, Value first,
                   Value r) const;
  /// The prefill row of compact index rc: the last r with f(r) <= rc. The
  /// index may be past that row's last chunk (an unused one): `at` makes
  /// such a chunk not live.
  Value compactRow(OpBuilder &b, Location loc, const BatchValues &batch,
                   Value rc, Value first) const;
};

/// A channel group's conv taps and bias (zero without one), as fp32: tap k
/// holds weight[d0 + j, k] in lane j.
struct ConvTaps {
  SmallVector<Value> taps;
  Value bias;
  static ConvTaps load(OpBuilder &b, Location loc, Value weight, Value bias,
                       const Channels &ch);
};

/// One token's act(bias + taps . (window, xt)), window the W-1 older inputs
/// (oldest first).
Value convOutput(OpBuilder &b, Location loc, const ConvTaps &taps,
                 ValueRange window, Value xt, bool applySilu);

/// The tokens [begin, end) of one channel of the causal conv, starting from
/// `window` (the W-1 older inputs, oldest first): writes act(conv) to
/// out[t, channels] and returns the window after the last token;
/// `tokensPerStep` as in steppedTokenLoop.
SmallVector<Value> convTokens(OpBuilder &b, Location loc,
                              const ConvTaps &taps, Value x, Value out,
                              Value begin, Value end, const Channels &ch,
                              ValueRange window, bool applySilu,
                              int64_t tokensPerStep = 1);

/// for t in [begin, end), carrying `init`: `compute(t, load(t), carried)`
/// returns the next carried values. With `tokensPerStep` > 1 each iteration
/// takes that many tokens and issues all their loads before the first
/// computation (stores may alias later loads as far as LLVM knows, so this
/// is how a thread gets several loads in flight), then the remainder goes
/// one by one. Returns the carried values after `end`.
using TokenLoad =
    function_ref<SmallVector<Value>(OpBuilder &, Location, Value)>;
using TokenCompute = function_ref<SmallVector<Value>(
    OpBuilder &, Location, Value, ValueRange, ValueRange)>;
SmallVector<Value> steppedTokenLoop(OpBuilder &b, Location loc, Value begin,
                                    Value end, int64_t tokensPerStep,
                                    ValueRange init, TokenLoad load,
                                    TokenCompute compute);

/// for t in [begin, end) by `step`: memref[t, col] = 0 (the outputs of a
/// pad row).
void zeroColumn(OpBuilder &b, Location loc, Value memref, Value begin,
                Value end, Value col, int64_t step = 1);
/// The same for a channel group.
void zeroColumns(OpBuilder &b, Location loc, Value memref, Value begin,
                 Value end, const Channels &ch, int64_t step = 1);

} // namespace mlir::hssm

#endif // HSSM_LIB_TRANSFORMS_LOOPUTILS_H
