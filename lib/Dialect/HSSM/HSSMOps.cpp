//===- HSSMOps.cpp - Verifiers and folds of the hssm ops ------------------===//
//
// ODS checks ranks and element types; the cross-operand rules of SPEC.md
// (sizes that must agree, N <= 256, 2 <= W <= 5, counts that fit) live here.
// A dynamic dimension is checked where it is used, at run time.
//
//===----------------------------------------------------------------------===//

#include "hssm/Dialect/HSSM/HSSMDialect.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::hssm;

#define GET_OP_CLASSES
#include "hssm/Dialect/HSSM/HSSMOps.cpp.inc"

namespace {

/// One named dimension of one operand, e.g. dimension 1 of 'weight'.
struct DimRef {
  Value value;
  StringRef operand;
  unsigned dim;
  int64_t size() const {
    return cast<MemRefType>(value.getType()).getDimSize(dim);
  }
};

/// Binds the named sizes (D, N, T, ...) of one op: every static occurrence of
/// a size must agree with the first one seen, and the diagnostic names both.
class SizeBinder {
public:
  explicit SizeBinder(Operation *op) : op(op) {}

  /// All `refs` must agree; remembers the first static value as `name`.
  LogicalResult agree(StringRef name, ArrayRef<DimRef> refs) {
    std::optional<DimRef> first;
    for (const DimRef &ref : refs) {
      if (!ref.value || ShapedType::isDynamic(ref.size()))
        continue;
      if (!first) {
        first = ref;
        continue;
      }
      if (ref.size() != first->size())
        return op->emitOpError()
               << "size " << name << " disagrees: dimension " << ref.dim
               << " of '" << ref.operand << "' is " << ref.size()
               << " but dimension " << first->dim << " of '"
               << first->operand << "' is " << first->size();
    }
    sizes[name] = first ? first->size() : ShapedType::kDynamic;
    return success();
  }

  /// The size `name` bound before, or kDynamic.
  int64_t get(StringRef name) const {
    auto it = sizes.find(name);
    return it == sizes.end() ? ShapedType::kDynamic : it->second;
  }

  /// `ref` must equal `expected` (computed as `rule`) when both are static.
  LogicalResult expect(DimRef ref, int64_t expected, StringRef rule) {
    if (!ref.value || ShapedType::isDynamic(ref.size()) ||
        ShapedType::isDynamic(expected) || ref.size() == expected)
      return success();
    return op->emitOpError()
           << "dimension " << ref.dim << " of '" << ref.operand << "' is "
           << ref.size() << " but must be " << rule << " = " << expected;
  }

private:
  Operation *op;
  llvm::StringMap<int64_t> sizes;
};

int64_t dynPlus(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b)
             ? ShapedType::kDynamic
             : a + b;
}
int64_t dynTimes(int64_t a, int64_t k) {
  return ShapedType::isDynamic(a) ? ShapedType::kDynamic : a * k;
}

/// The conv width W comes from the weight and must be a static 2..5: the
/// kernels keep the whole window in registers.
LogicalResult verifyConvWidth(Operation *op, DimRef weightW) {
  int64_t w = weightW.size();
  if (ShapedType::isDynamic(w))
    return op->emitOpError() << "conv width W (dimension 1 of '"
                             << weightW.operand << "') must be static";
  if (w < kMinConvWidth || w > kMaxConvWidth)
    return op->emitOpError() << "conv width W = " << w << " (dimension 1 of '"
                             << weightW.operand << "') must be in ["
                             << kMinConvWidth << ", " << kMaxConvWidth << "]";
  return success();
}

/// The state size N must be a static 1..256: one thread keeps a channel's N
/// states in registers.
LogicalResult verifyStateSize(Operation *op, DimRef stateN) {
  int64_t n = stateN.size();
  if (ShapedType::isDynamic(n))
    return op->emitOpError() << "state size N (dimension 1 of '"
                             << stateN.operand << "') must be static";
  if (n < 1 || n > kMaxStateSize)
    return op->emitOpError() << "state size N = " << n << " (dimension 1 of '"
                             << stateN.operand << "') must be in [1, "
                             << kMaxStateSize << "]";
  return success();
}

/// A static pad slot id >= 0 must name a slot of a pool of static size.
LogicalResult verifyPadSlot(Operation *op, int64_t padSlotId, Value pool,
                            StringRef poolName) {
  int64_t slots = cast<MemRefType>(pool.getType()).getDimSize(0);
  if (padSlotId >= 0 && !ShapedType::isDynamic(slots) && padSlotId >= slots)
    return op->emitOpError() << "pad_slot_id " << padSlotId
                             << " is not a slot of '" << poolName << "' ("
                             << slots << " slots)";
  return success();
}

/// The token counts of the batch, when it comes from an `hssm.batch` with
/// constant counts, must add up to T.
LogicalResult verifyBatchTokens(Operation *op, Value batch, DimRef tokens) {
  auto batchOp = batch.getDefiningOp<BatchOp>();
  if (!batchOp || ShapedType::isDynamic(tokens.size()))
    return success();
  APInt decodes, prefills;
  if (!matchPattern(batchOp.getNumDecodeTokens(), m_ConstantInt(&decodes)) ||
      !matchPattern(batchOp.getNumPrefillTokens(), m_ConstantInt(&prefills)))
    return success();
  int64_t total = decodes.getSExtValue() + prefills.getSExtValue();
  if (total != tokens.size())
    return op->emitOpError()
           << "batch has " << total << " tokens (num_decode_tokens + "
           << "num_prefill_tokens) but dimension 0 of '" << tokens.operand
           << "' is " << tokens.size();
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// BatchOp
//===----------------------------------------------------------------------===//

LogicalResult BatchOp::verify() {
  SizeBinder b(*this);
  if (failed(b.agree("num_reqs", {{getStateIndices(), "state_indices", 0},
                                  {getDstStateIndices(), "dst_state_indices",
                                   0},
                                  {getHasInitialState(), "has_initial_state",
                                   0}})))
    return failure();
  int64_t numReqs = b.get("num_reqs");
  // query_start_loc holds num_reqs + 1 offsets: at least the leading 0.
  if (getQueryStartLoc().getType().getDimSize(0) == 0)
    return emitOpError()
           << "'query_start_loc' has no elements but must hold num_reqs + 1 "
              "token offsets";
  if (failed(b.expect({getQueryStartLoc(), "query_start_loc", 0},
                      dynPlus(numReqs, 1), "num_reqs + 1")))
    return failure();
  if (ShapedType::isDynamic(numReqs)) {
    int64_t qsl = getQueryStartLoc().getType().getDimSize(0);
    if (!ShapedType::isDynamic(qsl))
      numReqs = qsl - 1;
  }

  auto constant = [](Value v) -> std::optional<int64_t> {
    APInt c;
    if (matchPattern(v, m_ConstantInt(&c)))
      return c.getSExtValue();
    return std::nullopt;
  };
  std::pair<Value, StringRef> counts[] = {
      {getNumDecodes(), "num_decodes"},
      {getNumDecodeTokens(), "num_decode_tokens"},
      {getNumPrefills(), "num_prefills"},
      {getNumPrefillTokens(), "num_prefill_tokens"}};
  for (auto [value, name] : counts) {
    std::optional<int64_t> c = constant(value);
    if (c && *c < 0)
      return emitOpError() << name << " = " << *c << " must be >= 0";
  }
  // Row counts cannot exceed the rows the buffers hold.
  for (auto [value, name] : {counts[0], counts[2]}) {
    std::optional<int64_t> c = constant(value);
    if (c && !ShapedType::isDynamic(numReqs) && *c > numReqs)
      return emitOpError() << name << " = " << *c << " exceeds the "
                           << numReqs << " rows of the batch";
  }
  std::optional<int64_t> nd = constant(getNumDecodes());
  std::optional<int64_t> ndt = constant(getNumDecodeTokens());
  std::optional<int64_t> np = constant(getNumPrefills());
  if (nd && ndt && *nd != *ndt)
    return emitOpError() << "num_decode_tokens = " << *ndt
                         << " must equal num_decodes = " << *nd
                         << " (one token per decode)";
  if (nd && np && !ShapedType::isDynamic(numReqs) && *nd + *np != numReqs)
    return emitOpError() << "num_decodes + num_prefills = " << *nd + *np
                         << " must equal the " << numReqs
                         << " rows of the batch";
  return success();
}

//===----------------------------------------------------------------------===//
// Conv ops
//===----------------------------------------------------------------------===//

template <typename ConvOp>
static LogicalResult verifyConv(ConvOp op) {
  SizeBinder b(op);
  if (failed(verifyConvWidth(op, {op.getWeight(), "weight", 1})))
    return failure();
  int64_t w = op.getWeight().getType().getDimSize(1);
  if (failed(b.agree("T", {{op.getX(), "x", 0}, {op.getOut(), "out", 0}})) ||
      failed(b.agree("D", {{op.getWeight(), "weight", 0},
                           {op.getX(), "x", 1},
                           {op.getBias(), "bias", 0},
                           {op.getConvState(), "conv_state", 2},
                           {op.getOut(), "out", 1}})) ||
      failed(b.expect({op.getConvState(), "conv_state", 1}, w - 1, "W - 1")) ||
      failed(verifyPadSlot(op, op.getPadSlotId(), op.getConvState(),
                           "conv_state")))
    return failure();
  return verifyBatchTokens(op, op.getBatch(), {op.getX(), "x", 0});
}

LogicalResult Conv1dOp::verify() { return verifyConv(*this); }
LogicalResult ConvUpdateOp::verify() { return verifyConv(*this); }

//===----------------------------------------------------------------------===//
// Scan ops
//===----------------------------------------------------------------------===//

template <typename ScanOp>
static LogicalResult verifyScan(ScanOp op) {
  SizeBinder b(op);
  if (failed(verifyStateSize(op, {op.getA(), "A", 1})))
    return failure();
  if (failed(b.agree("T", {{op.getU(), "u", 0},
                           {op.getDelta(), "delta", 0},
                           {op.getB(), "B", 0},
                           {op.getC(), "C", 0},
                           {op.getZ(), "z", 0},
                           {op.getOut(), "out", 0}})) ||
      failed(b.agree("D", {{op.getA(), "A", 0},
                           {op.getU(), "u", 1},
                           {op.getDelta(), "delta", 1},
                           {op.getD(), "D", 0},
                           {op.getZ(), "z", 1},
                           {op.getDeltaBias(), "delta_bias", 0},
                           {op.getSsmState(), "ssm_state", 1},
                           {op.getOut(), "out", 1}})) ||
      failed(b.agree("N", {{op.getA(), "A", 1},
                           {op.getB(), "B", 1},
                           {op.getC(), "C", 1},
                           {op.getSsmState(), "ssm_state", 2}})) ||
      failed(verifyPadSlot(op, op.getPadSlotId(), op.getSsmState(),
                           "ssm_state")))
    return failure();
  return verifyBatchTokens(op, op.getBatch(), {op.getU(), "u", 0});
}

LogicalResult SelectiveScanOp::verify() { return verifyScan(*this); }
LogicalResult StateUpdateOp::verify() { return verifyScan(*this); }

//===----------------------------------------------------------------------===//
// LinearOp, CombineOp, prefix sums
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  SizeBinder b(*this);
  return failure(
      failed(b.agree("T", {{getX(), "x", 0}, {getOut(), "out", 0}})) ||
      failed(b.agree("K", {{getX(), "x", 1}, {getWeight(), "weight", 1}})) ||
      failed(b.agree("M", {{getWeight(), "weight", 0},
                           {getBias(), "bias", 0},
                           {getOut(), "out", 1}})));
}

LogicalResult CombineOp::verify() {
  SizeBinder b(*this);
  return failure(
      failed(b.agree("T", {{getSwa(), "swa", 0},
                           {getSsm(), "ssm", 0},
                           {getOut(), "out", 0}})) ||
      failed(b.agree("Hd", {{getSwa(), "swa", 1},
                            {getSsm(), "ssm", 1},
                            {getOut(), "out", 1}})));
}

LogicalResult PrefixSumOp::verify() {
  SizeBinder b(*this);
  if (failed(b.agree("T", {{getX(), "x", 0}, {getOut(), "out", 0}})) ||
      failed(b.agree("Hd", {{getX(), "x", 1}, {getOut(), "out", 1}})))
    return failure();
  APInt count;
  int64_t t = b.get("T");
  if (matchPattern(getCount(), m_ConstantInt(&count)) &&
      (count.isNegative() ||
       (!ShapedType::isDynamic(t) && count.getSExtValue() > t)))
    return emitOpError() << "count = " << count.getSExtValue()
                         << " must be in [0, T]";
  return success();
}

LogicalResult SegmentedPrefixSumOp::verify() {
  SizeBinder b(*this);
  if (failed(b.agree("T", {{getX(), "x", 0}, {getOut(), "out", 0}})) ||
      failed(b.agree("Hd", {{getX(), "x", 1},
                            {getState(), "state", 1},
                            {getOut(), "out", 1}})))
    return failure();
  if (getState() &&
      failed(verifyPadSlot(*this, getPadSlotId(), getState(), "state")))
    return failure();
  return verifyBatchTokens(*this, getBatch(), {getX(), "x", 0});
}

//===----------------------------------------------------------------------===//
// HistoryBranchOp
//===----------------------------------------------------------------------===//

LogicalResult HistoryBranchOp::verify() {
  SizeBinder b(*this);
  if (failed(verifyConvWidth(*this, {getConvWeight(), "conv_weight", 1})) ||
      failed(verifyStateSize(*this, {getA(), "A", 1})))
    return failure();
  int64_t w = getConvWeight().getType().getDimSize(1);
  int64_t n = getA().getType().getDimSize(1);
  if (failed(b.agree("T", {{getX(), "x", 0}, {getOut(), "out", 0}})) ||
      failed(b.agree("Hd", {{getX(), "x", 1},
                            {getInProj(), "in_proj", 1},
                            {getOutProj(), "out_proj", 0},
                            {getOut(), "out", 1}})) ||
      failed(b.agree("D", {{getConvWeight(), "conv_weight", 0},
                           {getConvBias(), "conv_bias", 0},
                           {getXProj(), "x_proj", 1},
                           {getDtProj(), "dt_proj", 0},
                           {getDtBias(), "dt_bias", 0},
                           {getA(), "A", 0},
                           {getD(), "D", 0},
                           {getOutProj(), "out_proj", 1},
                           {getConvState(), "conv_state", 2},
                           {getSsmState(), "ssm_state", 1}})) ||
      failed(b.agree("N", {{getA(), "A", 1},
                           {getSsmState(), "ssm_state", 2}})) ||
      failed(b.agree("slots", {{getConvState(), "conv_state", 0},
                               {getSsmState(), "ssm_state", 0}})))
    return failure();
  // R appears in dt_proj alone; x_proj's rows are checked against it.
  int64_t d = b.get("D"), r = getDtProj().getType().getDimSize(1);
  if (failed(b.expect({getInProj(), "in_proj", 0}, dynTimes(d, 2), "2 * D")) ||
      failed(b.expect({getXProj(), "x_proj", 0}, dynPlus(r, 2 * n),
                      "R + 2 * N")) ||
      failed(b.expect({getConvState(), "conv_state", 1}, w - 1, "W - 1")) ||
      failed(verifyPadSlot(*this, getPadSlotId(), getConvState(),
                           "conv_state")) ||
      failed(verifyPadSlot(*this, getPadSlotId(), getSsmState(),
                           "ssm_state")))
    return failure();
  return verifyBatchTokens(*this, getBatch(), {getX(), "x", 0});
}

//===----------------------------------------------------------------------===//
// Canonicalization
//===----------------------------------------------------------------------===//

namespace {

bool isZeroFill(Operation *op) {
  auto fill = dyn_cast<linalg::FillOp>(op);
  return fill && fill.hasPureBufferSemantics() &&
         matchPattern(fill.value(), m_AnyZeroFloat());
}

/// A `zero`-mode branch writes zeros: say so with a fill, which later folds
/// into its readers.
struct ZeroBranchToFill : OpRewritePattern<HistoryBranchOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(HistoryBranchOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getMode() != BranchMode::zero)
      return failure();
    Type elem = op.getOut().getType().getElementType();
    Value zero = arith::ConstantOp::create(rewriter, op.getLoc(),
                                           rewriter.getZeroAttr(elem));
    rewriter.replaceOpWithNewOp<linalg::FillOp>(op, zero, op.getOut());
    return success();
  }
};

/// `swa + 0`: when the branch buffer is a local allocation that only ever
/// receives zeros, the combine is a copy of `swa` (or nothing, in place).
struct CombineWithZeroBranch : OpRewritePattern<CombineOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CombineOp op,
                                PatternRewriter &rewriter) const override {
    Value ssm = op.getSsm();
    if (!ssm.getDefiningOp<memref::AllocOp>())
      return failure();
    for (Operation *user : ssm.getUsers())
      if (user != op && !isZeroFill(user) && !isa<memref::DeallocOp>(user))
        return failure();
    if (op.getSwa() == op.getOut()) {
      rewriter.eraseOp(op);
      return success();
    }
    rewriter.replaceOpWithNewOp<memref::CopyOp>(op, op.getSwa(), op.getOut());
    return success();
  }
};

} // namespace

void HistoryBranchOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                  MLIRContext *context) {
  results.add<ZeroBranchToFill>(context);
}

void CombineOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<CombineWithZeroBranch>(context);
}
