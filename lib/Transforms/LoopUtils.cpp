//===- LoopUtils.cpp - Helpers shared by the loop lowerings ---------------===//

#include "LoopUtils.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::hssm;

Value mlir::hssm::toF32(OpBuilder &b, Location loc, Value v) {
  Type f32 = b.getF32Type();
  if (auto vec = dyn_cast<VectorType>(v.getType())) {
    if (vec.getElementType().isF32())
      return v;
    return arith::ExtFOp::create(b, loc, VectorType::get(vec.getShape(), f32),
                                 v);
  }
  return v.getType().isF32() ? v : arith::ExtFOp::create(b, loc, f32, v);
}

Value mlir::hssm::toF32ByWords(OpBuilder &b, Location loc, Value v) {
  auto vec = dyn_cast<VectorType>(v.getType());
  if (!vec || !vec.getElementType().isBF16() || vec.getRank() != 1 ||
      vec.getNumElements() % 2 != 0)
    return toF32(b, loc, v);
  // bf16 is the top half of an f32: element 2k is word k shifted up,
  // element 2k + 1 word k with its low half cleared.
  Type i32 = b.getI32Type();
  auto words = VectorType::get({vec.getNumElements() / 2}, i32);
  Value w = vector::BitCastOp::create(b, loc, words, v);
  auto splat = [&](uint32_t c) {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(words, b.getI32IntegerAttr(c)));
  };
  Value even = arith::ShLIOp::create(b, loc, w, splat(16));
  Value odd = arith::AndIOp::create(b, loc, w, splat(0xffff0000u));
  Value both = vector::InterleaveOp::create(b, loc, even, odd);
  return vector::BitCastOp::create(
      b, loc, VectorType::get(vec.getShape(), b.getF32Type()), both);
}

Value mlir::hssm::loadF32(OpBuilder &b, Location loc, Value memref,
                          ValueRange indices) {
  return toF32(b, loc, memref::LoadOp::create(b, loc, memref, indices));
}

Value mlir::hssm::loadVector(OpBuilder &b, Location loc, Value memref,
                             ValueRange indices, int64_t n) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  return vector::LoadOp::create(b, loc, VectorType::get({n}, elem), memref,
                                indices, /*nontemporal=*/false,
                                vectorAlignment(memref, n));
}

void mlir::hssm::storeF32(OpBuilder &b, Location loc, Value value,
                          Value memref, ValueRange indices) {
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  if (elem != value.getType())
    value = arith::TruncFOp::create(b, loc, elem, value);
  memref::StoreOp::create(b, loc, value, memref, indices);
}

void mlir::hssm::prefetchToL2(OpBuilder &b, Location loc, Value memref,
                              ValueRange indices) {
  // The element's address from the memref's base, offset and strides.
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value linear = meta.getOffset();
  for (auto [i, index] : llvm::enumerate(indices))
    linear = arith::AddIOp::create(
        b, loc, linear,
        arith::MulIOp::create(b, loc, index, meta.getStrides()[i]));
  auto type = cast<MemRefType>(memref.getType());
  Value bytes = arith::MulIOp::create(
      b, loc, linear, constIndex(b, loc, type.getElementTypeBitWidth() / 8));
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Value address = arith::IndexCastOp::create(
      b, loc, b.getI64Type(), arith::AddIOp::create(b, loc, base, bytes));
  Value pointer = LLVM::IntToPtrOp::create(
      b, loc, LLVM::LLVMPointerType::get(b.getContext()), address);
  NVVM::PrefetchOp::create(b, loc,
                           NVVM::PrefetchCacheLevelAttr::get(
                               b.getContext(), NVVM::PrefetchCacheLevel::L2),
                           /*evictPriority=*/nullptr, pointer,
                           /*predicate=*/Value());
}

Value mlir::hssm::loadIndex(OpBuilder &b, Location loc, Value memref,
                            Value index) {
  Value v = memref::LoadOp::create(b, loc, memref, index);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

Value mlir::hssm::constF32(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

Value mlir::hssm::constF32Like(OpBuilder &b, Location loc, float v,
                               Type type) {
  if (auto vec = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vec, v));
  return constF32(b, loc, v);
}

Type Channels::type(OpBuilder &b) const {
  if (k == 1)
    return b.getF32Type();
  return VectorType::get({k}, b.getF32Type());
}

Value Channels::at(OpBuilder &b, Location loc, int64_t j) const {
  if (j == 0)
    return d0;
  return arith::AddIOp::create(b, loc, d0, constIndex(b, loc, j));
}

Channels Channels::group(OpBuilder &b, Location loc, Value g, int64_t k) {
  if (k == 1)
    return {g, 1};
  return {arith::MulIOp::create(b, loc, g, constIndex(b, loc, k)), k};
}

Value Channels::count(OpBuilder &b, Location loc, Value channels, int64_t k) {
  if (k == 1)
    return channels;
  return arith::DivUIOp::create(b, loc, channels, constIndex(b, loc, k));
}

int64_t mlir::hssm::channelsPerIteration(int64_t channels, int64_t want) {
  if (want <= 1 || ShapedType::isDynamic(channels) || channels % want != 0)
    return 1;
  return want;
}

llvm::MaybeAlign mlir::hssm::vectorAlignment(Value memref, int64_t n) {
  auto type = cast<MemRefType>(memref.getType());
  int64_t bytes = type.getElementTypeBitWidth() / 8;
  int64_t align = 1;
  while (align < 16 && (n * bytes) % (2 * align) == 0)
    align *= 2;
  // Dense buffers whose rows are the last dimension: every row starts at a
  // multiple of the row size.
  if (type.getLayout().isIdentity() && type.getRank() > 0 &&
      !ShapedType::isDynamic(type.getShape().back()) &&
      (type.getShape().back() * bytes) % align == 0)
    return llvm::MaybeAlign(align);
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) || strides.empty() ||
      strides.back() != 1 || ShapedType::isDynamic(offset) ||
      (offset * bytes) % align != 0)
    return llvm::MaybeAlign();
  for (int64_t stride : ArrayRef<int64_t>(strides).drop_back())
    if (ShapedType::isDynamic(stride) || (stride * bytes) % align != 0)
      return llvm::MaybeAlign();
  return llvm::MaybeAlign(align);
}

Value mlir::hssm::loadChannels(OpBuilder &b, Location loc, Value memref,
                               ValueRange prefix, const Channels &ch) {
  SmallVector<Value> indices(prefix);
  indices.push_back(ch.d0);
  if (ch.k == 1)
    return loadF32(b, loc, memref, indices);
  return toF32(b, loc, loadVector(b, loc, memref, indices, ch.k));
}

void mlir::hssm::storeChannels(OpBuilder &b, Location loc, Value value,
                               Value memref, ValueRange prefix,
                               const Channels &ch) {
  SmallVector<Value> indices(prefix);
  indices.push_back(ch.d0);
  if (ch.k == 1)
    return storeF32(b, loc, value, memref, indices);
  Type elem = cast<MemRefType>(memref.getType()).getElementType();
  if (!elem.isF32())
    value = arith::TruncFOp::create(b, loc, VectorType::get({ch.k}, elem),
                                    value);
  vector::StoreOp::create(b, loc, value, memref, indices,
                          /*nontemporal=*/false,
                          vectorAlignment(memref, ch.k));
}

void mlir::hssm::forRowsAndChannels(
    OpBuilder &b, Location loc, Value rowBegin, Value rowEnd, Value groups,
    bool channelMajor,
    function_ref<void(OpBuilder &, Location, Value, Value)> body,
    int64_t blockThreads) {
  Value zero = constIndex(b, loc, 0), one = constIndex(b, loc, 1);
  SmallVector<Value, 2> lbs = {rowBegin, zero}, ubs = {rowEnd, groups};
  SmallVector<int64_t, 2> tile = {1, blockThreads};
  if (channelMajor) {
    std::swap(lbs[0], lbs[1]);
    std::swap(ubs[0], ubs[1]);
    std::swap(tile[0], tile[1]);
  }
  auto loop = scf::ParallelOp::create(
      b, loc, lbs, ubs, ValueRange{one, one},
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        if (channelMajor)
          body(b, loc, ivs[1], ivs[0]);
        else
          body(b, loc, ivs[0], ivs[1]);
      });
  if (blockThreads > 0)
    loop->setAttr(kTileSizesAttr, b.getDenseI64ArrayAttr(tile));
}

Value mlir::hssm::workgroupBuffer(OpBuilder &b, Location loc,
                                  ArrayRef<int64_t> shape, Type elem) {
  auto space = gpu::AddressSpaceAttr::get(b.getContext(),
                                          gpu::AddressSpace::Workgroup);
  auto type = MemRefType::get(shape, elem, MemRefLayoutAttrInterface(), space);
  return memref::AllocaOp::create(b, loc, type, ValueRange(),
                                  b.getI64IntegerAttr(16));
}

Value mlir::hssm::constIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value mlir::hssm::silu(OpBuilder &b, Location loc, Value v) {
  Value neg = arith::NegFOp::create(b, loc, v);
  Value e = math::ExpOp::create(b, loc, neg);
  Value den = arith::AddFOp::create(
      b, loc, constF32Like(b, loc, 1.0f, v.getType()), e);
  return arith::DivFOp::create(b, loc, v, den);
}

/// log1p(e) for e in [0, 1] as e * Q(e): Q interpolates log1p(e) / e at the
/// 9 Chebyshev nodes of [0, 1] (3.4e-8 relative; 2.1e-7, 3.5 ulps, after
/// f32 rounding). Eleven FMA-pipe operations where libdevice's logf with
/// Goldberg's correction of 1 + e took about 45, two of them on the exp2
/// unit: the prefill scan is issue-bound and takes one softplus per (token,
/// channel). Q is evaluated by Estrin's scheme, four operations deep, not
/// Horner's eight: the lane scan has few warps per scheduler to hide a
/// chain's latency with (H200: P1 585 us against Horner's 599). Relative,
/// so dt from the usual biases (-7..-2, e below 2^-10) keeps all its
/// digits, as a plain log(1 + e) would not.
static Value log1pUnitInterval(OpBuilder &b, Location loc, Value e) {
  // Q's coefficients, of e^0 to e^8.
  static constexpr float kQ[] = {
      9.999999404e-01f,  -4.999944568e-01f, 3.331812024e-01f,
      -2.483539879e-01f, 1.907688081e-01f,  -1.360224783e-01f,
      7.751608640e-02f,  -2.907406539e-02f, 5.126102362e-03f};
  Type type = e.getType();
  auto c = [&](int i) { return constF32Like(b, loc, kQ[i], type); };
  auto fma = [&](Value x, Value y, Value z) {
    return math::FmaOp::create(b, loc, x, y, z).getResult();
  };
  Value e2 = arith::MulFOp::create(b, loc, e, e);
  Value e4 = arith::MulFOp::create(b, loc, e2, e2);
  // Q = (c0 + c1 e) + (c2 + c3 e) e^2
  //     + ((c4 + c5 e) + (c6 + c7 e) e^2 + c8 e^4) e^4
  Value q03 = fma(fma(c(3), e, c(2)), e2, fma(c(1), e, c(0)));
  Value q47 = fma(fma(c(7), e, c(6)), e2, fma(c(5), e, c(4)));
  Value q48 = fma(c(8), e4, q47);
  return arith::MulFOp::create(b, loc, fma(q48, e4, q03), e);
}

/// softplus(v) = max(v, 0) + log1p(exp(-|v|)): log1p(exp(v)) rewritten so
/// that exp never overflows and log1p's argument is in [0, 1]. Past 20
/// (SPEC.md's threshold) the second term, below 2.1e-9, is under half an
/// ulp of v, so the sum is v exactly, as the rule says. A NaN v gives a
/// NaN through the second term.
Value mlir::hssm::softplus(OpBuilder &b, Location loc, Value v) {
  Value e = math::ExpOp::create(
      b, loc, arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, v)));
  Value positive = arith::MaxNumFOp::create(
      b, loc, v, constF32Like(b, loc, 0.0f, v.getType()));
  return arith::AddFOp::create(b, loc, positive, log1pUnitInterval(b, loc, e));
}

Value mlir::hssm::dimValue(OpBuilder &b, Location loc, Value memref,
                           int64_t dim) {
  int64_t size = cast<MemRefType>(memref.getType()).getDimSize(dim);
  if (!ShapedType::isDynamic(size))
    return constIndex(b, loc, size);
  return memref::DimOp::create(b, loc, memref, dim);
}

FailureOr<BatchValues> mlir::hssm::getBatchValues(Operation *user,
                                                  Value batch, OpBuilder &b) {
  auto batchOp = batch.getDefiningOp<BatchOp>();
  if (!batchOp)
    return user->emitOpError(
        "needs its batch from an hssm.batch op to be lowered");
  BatchValues v;
  v.queryStartLoc = batchOp.getQueryStartLoc();
  v.stateIndices = batchOp.getStateIndices();
  v.dstStateIndices = batchOp.getDstStateIndices()
                          ? batchOp.getDstStateIndices()
                          : batchOp.getStateIndices();
  v.hasInitialState = batchOp.getHasInitialState();
  v.numDecodes = batchOp.getNumDecodes();
  v.numPrefills = batchOp.getNumPrefills();
  v.numReqs = arith::AddIOp::create(b, user->getLoc(), v.numDecodes,
                                    v.numPrefills);
  return v;
}

RowInfo mlir::hssm::loadRow(OpBuilder &b, Location loc,
                            const BatchValues &batch, Value row,
                            int64_t padSlotId, bool decodeRow) {
  RowInfo info;
  Value next = arith::AddIOp::create(b, loc, row, constIndex(b, loc, 1));
  if (decodeRow) {
    // Decodes come first with one token each and query_start_loc starts at
    // 0 (SPEC.md section 3; the runtime's batch check enforces it), so
    // decode row r is token r: no load of query_start_loc stands before
    // the row's inputs.
    info.begin = row;
    info.end = next;
  } else {
    info.begin = loadIndex(b, loc, batch.queryStartLoc, row);
    info.end = loadIndex(b, loc, batch.queryStartLoc, next);
  }
  info.srcSlot = loadIndex(b, loc, batch.stateIndices, row);
  info.dstSlot = loadIndex(b, loc, batch.dstStateIndices, row);
  info.isPad = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                     info.srcSlot,
                                     constIndex(b, loc, padSlotId));
  if (decodeRow) {
    info.readsState = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1);
  } else {
    Value flag = memref::LoadOp::create(b, loc, batch.hasInitialState, row);
    Value zero = arith::ConstantIntOp::create(b, loc, flag.getType(), 0);
    info.readsState = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                            flag, zero);
  }
  return info;
}

Value RowInfo::notPad(OpBuilder &b, Location loc) const {
  return arith::XOrIOp::create(
      b, loc, isPad, arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1));
}

SmallVector<DecodeRow> mlir::hssm::loadDecodeRows(OpBuilder &b, Location loc,
                                                  const BatchValues &batch,
                                                  Value group, int64_t rows,
                                                  int64_t padSlotId) {
  SmallVector<DecodeRow> out;
  Value last;
  if (rows > 1)
    last = arith::SubIOp::create(b, loc, batch.numDecodes,
                                 constIndex(b, loc, 1));
  for (int64_t i = 0; i < rows; ++i) {
    DecodeRow r;
    Value row = group;
    if (rows > 1) {
      row = arith::AddIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc, group, constIndex(b, loc, rows)),
          constIndex(b, loc, i));
      r.live = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row,
                                     batch.numDecodes);
      row = arith::MinUIOp::create(b, loc, row, last);
    }
    r.info = loadRow(b, loc, batch, row, padSlotId, /*decodeRow=*/true);
    out.push_back(r);
  }
  return out;
}

void mlir::hssm::ifThen(OpBuilder &b, Location loc, Value cond,
                        function_ref<void(OpBuilder &, Location)> body) {
  if (!cond)
    return body(b, loc);
  scf::IfOp::create(b, loc, cond, [&](OpBuilder &b, Location loc) {
    body(b, loc);
    scf::YieldOp::create(b, loc);
  });
}

void mlir::hssm::ifAtMost(
    OpBuilder &b, Location loc, Value count, int64_t limit,
    function_ref<void(OpBuilder &, Location, bool atMost)> emit) {
  if (limit <= 0)
    return emit(b, loc, /*atMost=*/false);
  Value atMost = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, count,
                                       constIndex(b, loc, limit));
  scf::IfOp::create(
      b, loc, atMost,
      [&](OpBuilder &b, Location loc) {
        emit(b, loc, /*atMost=*/true);
        scf::YieldOp::create(b, loc);
      },
      [&](OpBuilder &b, Location loc) {
        emit(b, loc, /*atMost=*/false);
        scf::YieldOp::create(b, loc);
      });
}

void mlir::hssm::zeroColumn(OpBuilder &b, Location loc, Value memref,
                            Value begin, Value end, Value col, int64_t step) {
  zeroColumns(b, loc, memref, begin, end, Channels{col, 1}, step);
}

void mlir::hssm::zeroColumns(OpBuilder &b, Location loc, Value memref,
                              Value begin, Value end, const Channels &ch,
                              int64_t step) {
  Value zero = constF32Like(b, loc, 0.0f, ch.type(b));
  scf::ForOp::create(b, loc, begin, end, constIndex(b, loc, step), ValueRange{},
                     [&](OpBuilder &b, Location loc, Value t, ValueRange) {
                       storeChannels(b, loc, zero, memref, {t}, ch);
                       scf::YieldOp::create(b, loc);
                     });
}

PrefillChunks PrefillChunks::make(OpBuilder &b, Location loc,
                                  const BatchValues &batch, Value tokenMajor,
                                  int64_t chunk, bool compact) {
  PrefillChunks p;
  p.compact = compact;
  p.chunkLen = constIndex(b, loc, chunk);
  Value tokens = dimValue(b, loc, tokenMajor, 0);
  // At least one: a row's first chunk exists even when no row has a token
  // (the chunked conv writes each row's state from it).
  p.maxChunks = arith::MaxUIOp::create(
      b, loc, arith::CeilDivUIOp::create(b, loc, tokens, p.chunkLen),
      constIndex(b, loc, 1));
  if (!compact) {
    p.count = arith::MulIOp::create(b, loc, batch.numPrefills, p.maxChunks);
    return p;
  }
  Value zero = constIndex(b, loc, 0);
  Value slots = arith::AddIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, tokens, p.chunkLen),
      batch.numPrefills);
  p.count = arith::SelectOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, batch.numPrefills,
                            zero),
      zero, slots);
  return p;
}

Value PrefillChunks::firstIndex(OpBuilder &b, Location loc, Value begin,
                                Value first, Value r) const {
  Value offset = arith::SubIOp::create(b, loc, begin, first);
  return arith::AddIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, offset, chunkLen), r);
}

Value PrefillChunks::compactRow(OpBuilder &b, Location loc,
                                const BatchValues &batch, Value rc,
                                Value first) const {
  Value one = constIndex(b, loc, 1);
  auto firstIndexOf = [&](OpBuilder &b, Location loc, Value r) {
    Value begin = loadIndex(b, loc, batch.queryStartLoc,
                            arith::AddIOp::create(b, loc, batch.numDecodes, r));
    return firstIndex(b, loc, begin, first, r);
  };
  // The last r in [0, num_prefills) with f(r) <= rc (f(0) = 0): lo keeps
  // f(lo) <= rc, hi is past the answer.
  auto search = scf::WhileOp::create(
      b, loc, TypeRange{b.getIndexType(), b.getIndexType()},
      ValueRange{constIndex(b, loc, 0), batch.numPrefills},
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value wide = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ugt,
            arith::SubIOp::create(b, loc, args[1], args[0]), one);
        scf::ConditionOp::create(b, loc, wide, args);
      },
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value mid = arith::DivUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, args[0], args[1]),
            constIndex(b, loc, 2));
        Value fits = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                                           firstIndexOf(b, loc, mid), rc);
        scf::YieldOp::create(
            b, loc,
            ValueRange{arith::SelectOp::create(b, loc, fits, mid, args[0]),
                       arith::SelectOp::create(b, loc, fits, args[1], mid)});
      });
  return search.getResult(0);
}

PrefillChunks::Chunk PrefillChunks::at(OpBuilder &b, Location loc,
                                       const BatchValues &batch, Value rc,
                                       int64_t padSlotId) const {
  Chunk ch;
  Value first;
  if (compact) {
    first = loadIndex(b, loc, batch.queryStartLoc, batch.numDecodes);
    ch.r = compactRow(b, loc, batch, rc, first);
  } else {
    ch.r = arith::DivUIOp::create(b, loc, rc, maxChunks);
    ch.c = arith::RemUIOp::create(b, loc, rc, maxChunks);
  }
  Value row = arith::AddIOp::create(b, loc, batch.numDecodes, ch.r);
  ch.info = loadRow(b, loc, batch, row, padSlotId, /*decodeRow=*/false);
  // The chunk within the row, from the row's begin that loadRow read.
  if (compact)
    ch.c = arith::SubIOp::create(
        b, loc, rc, firstIndex(b, loc, ch.info.begin, first, ch.r));
  ch.t0 = arith::AddIOp::create(
      b, loc, ch.info.begin, arith::MulIOp::create(b, loc, ch.c, chunkLen));
  ch.t1 = arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, ch.t0, chunkLen), ch.info.end);
  ch.live = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, ch.t0,
                                  ch.info.end);
  return ch;
}

ConvTaps ConvTaps::load(OpBuilder &b, Location loc, Value weight, Value bias,
                        const Channels &ch) {
  ConvTaps c;
  auto type = cast<MemRefType>(weight.getType());
  int64_t width = type.getDimSize(1);
  auto loadBias = [&] {
    return bias ? loadChannels(b, loc, bias, {}, ch)
                : constF32Like(b, loc, 0.0f, ch.type(b));
  };
  if (ch.k == 1) {
    for (int64_t k = 0; k < width; ++k)
      c.taps.push_back(
          loadF32(b, loc, weight, {ch.d0, constIndex(b, loc, k)}));
    c.bias = loadBias();
    return c;
  }
  Value zero = constIndex(b, loc, 0);
  // Each channel's W taps are contiguous: one vector load per channel, then
  // lane j of tap k is element k of channel j's row.
  SmallVector<Value> rows;
  for (int64_t j = 0; j < ch.k; ++j)
    rows.push_back(toF32(
        b, loc, loadVector(b, loc, weight, {ch.at(b, loc, j), zero}, width)));
  for (int64_t k = 0; k < width; ++k) {
    SmallVector<Value> lanes;
    for (Value row : rows)
      lanes.push_back(vector::ExtractOp::create(b, loc, row, k));
    c.taps.push_back(
        vector::FromElementsOp::create(b, loc, ch.type(b), lanes));
  }
  c.bias = loadBias();
  return c;
}

Value mlir::hssm::convOutput(OpBuilder &b, Location loc, const ConvTaps &taps,
                             ValueRange window, Value xt, bool applySilu) {
  int64_t width = int64_t(taps.taps.size());
  Value acc = taps.bias;
  for (int64_t k = 0; k < width - 1; ++k)
    acc = arith::AddFOp::create(
        b, loc, acc, arith::MulFOp::create(b, loc, taps.taps[k], window[k]));
  acc = arith::AddFOp::create(
      b, loc, acc, arith::MulFOp::create(b, loc, taps.taps[width - 1], xt));
  return applySilu ? silu(b, loc, acc) : acc;
}

/// One token of the conv: convOutput to out[t]; returns the shifted window.
static SmallVector<Value> convToken(OpBuilder &b, Location loc,
                                    const ConvTaps &taps, Value xt, Value out,
                                    Value t, const Channels &ch,
                                    ValueRange window, bool applySilu) {
  storeChannels(b, loc, convOutput(b, loc, taps, window, xt, applySilu), out,
                {t}, ch);
  SmallVector<Value> shifted(window.drop_front());
  shifted.push_back(xt);
  return shifted;
}

SmallVector<Value> mlir::hssm::steppedTokenLoop(
    OpBuilder &b, Location loc, Value begin, Value end, int64_t tokensPerStep,
    ValueRange init, TokenLoad load, TokenCompute compute) {
  SmallVector<Value> current(init);
  Value rest = begin;
  if (tokensPerStep > 1) {
    // [begin, mainEnd): whole steps of tokensPerStep tokens.
    Value step = constIndex(b, loc, tokensPerStep);
    Value len = arith::SubIOp::create(b, loc, end, begin);
    Value mainEnd = arith::AddIOp::create(
        b, loc, begin,
        arith::MulIOp::create(b, loc,
                              arith::DivUIOp::create(b, loc, len, step), step));
    auto steps = scf::ForOp::create(
        b, loc, begin, mainEnd, step, current,
        [&](OpBuilder &b, Location loc, Value t0, ValueRange carried) {
          SmallVector<Value> ts;
          SmallVector<SmallVector<Value>> loaded;
          for (int64_t i = 0; i < tokensPerStep; ++i) {
            ts.push_back(i == 0 ? t0
                                : arith::AddIOp::create(
                                      b, loc, t0, constIndex(b, loc, i)));
            loaded.push_back(load(b, loc, ts.back()));
          }
          SmallVector<Value> c(carried);
          for (int64_t i = 0; i < tokensPerStep; ++i)
            c = compute(b, loc, ts[i], loaded[i], c);
          scf::YieldOp::create(b, loc, c);
        });
    current.assign(steps.getResults().begin(), steps.getResults().end());
    rest = mainEnd;
  }
  auto tokens = scf::ForOp::create(
      b, loc, rest, end, constIndex(b, loc, 1), current,
      [&](OpBuilder &b, Location loc, Value t, ValueRange carried) {
        scf::YieldOp::create(b, loc,
                             compute(b, loc, t, load(b, loc, t), carried));
      });
  return SmallVector<Value>(tokens.getResults());
}

SmallVector<Value> mlir::hssm::convTokens(OpBuilder &b, Location loc,
                                          const ConvTaps &taps, Value x,
                                          Value out, Value begin, Value end,
                                          const Channels &ch,
                                          ValueRange window, bool applySilu,
                                          int64_t tokensPerStep) {
  return steppedTokenLoop(
      b, loc, begin, end, tokensPerStep, window,
      [&](OpBuilder &b, Location loc, Value t) -> SmallVector<Value> {
        return {loadChannels(b, loc, x, {t}, ch)};
      },
      [&](OpBuilder &b, Location loc, Value t, ValueRange xt,
          ValueRange carried) {
        return convToken(b, loc, taps, xt[0], out, t, ch, carried, applySilu);
      });
}
