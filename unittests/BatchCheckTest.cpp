//===- BatchCheckTest.cpp - Tests of checkBatch (SPEC.md section 3) -------===//
//
// A valid mixed batch passes; each rule, broken alone, fails with a message
// naming the field (and the row where there is one).
//
//===----------------------------------------------------------------------===//

#include "hssm/Runtime/Batch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace hssm;

namespace {

/// An owning batch whose view the tests break one field at a time.
/// Default: 2 decodes (slots 3, 0), then prefills of 3 tokens (padding) and
/// 4 tokens (slot 5); pool of 8 slots, pad slot -1.
struct TestBatch {
  std::vector<int32_t> qsl = {0, 1, 2, 5, 9};
  std::vector<int32_t> slots = {3, 0, -1, 5};
  std::vector<int32_t> dst;
  std::vector<uint8_t> hasInit = {1, 1, 0, 1};
  BatchView view;
  PoolLimits pool{8, -1};

  TestBatch() {
    view.numReqs = 4;
    view.numTokens = 9;
    view.numDecodes = 2;
    view.numDecodeTokens = 2;
    view.numPrefills = 2;
    view.numPrefillTokens = 7;
  }
  Status check() {
    view.queryStartLoc = qsl.empty() ? nullptr : qsl.data();
    view.stateIndices = slots.empty() ? nullptr : slots.data();
    view.dstStateIndices = dst.empty() ? nullptr : dst.data();
    view.hasInitialState = hasInit.empty() ? nullptr : hasInit.data();
    return checkBatch(view, pool);
  }
};

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

#define EXPECT_FAILS_WITH(status, part)                                        \
  do {                                                                         \
    Status s_ = (status);                                                      \
    EXPECT_FALSE(s_.ok()) << "expected a failure mentioning " << (part);       \
    EXPECT_TRUE(contains(s_.message(), (part))) << s_.message();               \
  } while (false)

TEST(BatchCheckTest, ValidMixedBatchPasses) {
  TestBatch b;
  Status s = b.check();
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(static_cast<bool>(s));
}

TEST(BatchCheckTest, ValidVariantsPass) {
  // Explicit dst slots that move rows to fresh slots: allowed (each slot is
  // written once, and no written slot is another row's source).
  TestBatch move;
  move.dst = {7, 4, 77, 6}; // the pad row's dst is ignored
  EXPECT_TRUE(move.check().ok()) << move.check().message();

  // Zero-length and one-token prefills.
  TestBatch lengths;
  lengths.qsl = {0, 1, 2, 2, 3};
  lengths.view.numTokens = 3;
  lengths.view.numPrefillTokens = 1;
  EXPECT_TRUE(lengths.check().ok()) << lengths.check().message();

  // An empty step, with or without a query_start_loc array.
  TestBatch empty;
  empty.qsl = {0};
  empty.slots.clear();
  empty.hasInit.clear();
  empty.view = BatchView();
  EXPECT_TRUE(empty.check().ok()) << empty.check().message();
  empty.qsl.clear();
  EXPECT_TRUE(empty.check().ok()) << empty.check().message();

  // Slot 0 as the reserved pad slot.
  TestBatch zeroPad;
  zeroPad.pool.padSlotId = 0;
  zeroPad.slots = {3, 1, 0, 5};
  EXPECT_TRUE(zeroPad.check().ok()) << zeroPad.check().message();
}

TEST(BatchCheckTest, LargePoolManyDecodes) {
  // 256 decodes on distinct random-ish slots of a 4096-slot pool.
  const int n = 256;
  std::vector<int32_t> qsl(n + 1), slots(n);
  std::vector<uint8_t> hasInit(n, 1);
  for (int i = 0; i <= n; ++i)
    qsl[i] = i;
  for (int i = 0; i < n; ++i)
    slots[i] = (i * 2654435761u) % 4096; // odd multiplier: distinct mod 2^12
  BatchView v;
  v.numReqs = n;
  v.numTokens = n;
  v.queryStartLoc = qsl.data();
  v.stateIndices = slots.data();
  v.hasInitialState = hasInit.data();
  v.numDecodes = n;
  v.numDecodeTokens = n;
  EXPECT_TRUE(checkBatch(v, {4096, -1}).ok());
  slots[200] = slots[17];
  Status s = checkBatch(v, {4096, -1});
  EXPECT_FAILS_WITH(s, "state_indices[17]");
  EXPECT_FAILS_WITH(s, "state_indices[200]");
}

TEST(BatchCheckTest, NullPointers) {
  TestBatch a;
  a.qsl.clear();
  EXPECT_FAILS_WITH(a.check(), "query_start_loc");
  TestBatch b;
  b.slots.clear();
  EXPECT_FAILS_WITH(b.check(), "state_indices");
  TestBatch c;
  c.hasInit.clear();
  EXPECT_FAILS_WITH(c.check(), "has_initial_state");
  // No query_start_loc is only fine for an empty step.
  TestBatch d;
  d.qsl.clear();
  d.slots.clear();
  d.hasInit.clear();
  d.view = BatchView();
  d.view.numTokens = 3;
  d.view.numPrefillTokens = 3;
  EXPECT_FAILS_WITH(d.check(), "query_start_loc");
}

TEST(BatchCheckTest, NegativeCounts) {
  TestBatch a;
  a.view.numReqs = -1;
  EXPECT_FAILS_WITH(a.check(), "num_reqs");
  TestBatch b;
  b.view.numTokens = -9;
  EXPECT_FAILS_WITH(b.check(), "num_tokens");
  TestBatch c;
  c.view.numDecodes = -1;
  EXPECT_FAILS_WITH(c.check(), "num_decodes");
  TestBatch d;
  d.view.numPrefillTokens = -1;
  EXPECT_FAILS_WITH(d.check(), "num_prefill_tokens");
  TestBatch e;
  e.pool.numSlots = -1;
  EXPECT_FAILS_WITH(e.check(), "num_slots");
}

TEST(BatchCheckTest, DecodesPlusPrefillsIsNumReqs) {
  TestBatch b;
  b.view.numPrefills = 1;
  EXPECT_FAILS_WITH(b.check(), "num_prefills");
}

TEST(BatchCheckTest, DecodeTokensEqualDecodes) {
  TestBatch b;
  b.view.numDecodeTokens = 3;
  b.view.numPrefillTokens = 6;
  EXPECT_FAILS_WITH(b.check(), "num_decode_tokens");
}

TEST(BatchCheckTest, TokenCountsAddUp) {
  TestBatch b;
  b.view.numPrefillTokens = 8;
  EXPECT_FAILS_WITH(b.check(), "num_prefill_tokens");
}

TEST(BatchCheckTest, QueryStartLocStartsAtZero) {
  TestBatch b;
  b.qsl[0] = 1;
  EXPECT_FAILS_WITH(b.check(), "query_start_loc[0]");
}

TEST(BatchCheckTest, QueryStartLocNonDecreasing) {
  TestBatch b;
  b.qsl = {0, 1, 2, 9, 7};
  b.view.numTokens = 7;
  b.view.numPrefillTokens = 5;
  Status s = b.check();
  EXPECT_FAILS_WITH(s, "query_start_loc[4] = 7");
  EXPECT_FAILS_WITH(s, "query_start_loc[3] = 9");
  EXPECT_FAILS_WITH(s, "non-decreasing");
}

TEST(BatchCheckTest, QueryStartLocEndsAtNumTokens) {
  TestBatch b;
  b.qsl[4] = 8;
  Status s = b.check();
  EXPECT_FAILS_WITH(s, "query_start_loc[4]");
  EXPECT_FAILS_WITH(s, "num_tokens");
}

TEST(BatchCheckTest, DecodeRowsHaveOneToken) {
  TestBatch b;
  b.qsl = {0, 1, 3, 5, 9}; // row 1 (a decode) has two tokens
  Status s = b.check();
  EXPECT_FAILS_WITH(s, "row 1");
  EXPECT_FAILS_WITH(s, "query_start_loc[2]");
  TestBatch z;
  z.qsl = {0, 1, 1, 5, 9}; // row 1 has none; the counts still add up
  EXPECT_FAILS_WITH(z.check(), "row 1");
}

TEST(BatchCheckTest, SourceSlotInPool) {
  TestBatch a;
  a.slots[3] = 8; // == num_slots
  Status s = a.check();
  EXPECT_FAILS_WITH(s, "state_indices[3] = 8");
  EXPECT_FAILS_WITH(s, "[0, 8)");
  TestBatch b;
  b.slots[0] = -2; // negative but not the pad slot
  EXPECT_FAILS_WITH(b.check(), "state_indices[0] = -2");
  // With slot 0 as the pad slot, -1 is just out of range.
  TestBatch c;
  c.pool.padSlotId = 0;
  EXPECT_FAILS_WITH(c.check(), "state_indices[2] = -1");
}

TEST(BatchCheckTest, DestinationSlotInPool) {
  TestBatch a;
  a.dst = {3, 9, -1, 5};
  EXPECT_FAILS_WITH(a.check(), "dst_state_indices[1] = 9");
  TestBatch b;
  b.dst = {3, 0, 0, -1}; // a live row may not write the pad slot (-1)
  EXPECT_FAILS_WITH(b.check(), "dst_state_indices[3] = -1");
}

TEST(BatchCheckTest, LiveRowMayNotWriteReservedPadSlot) {
  TestBatch b;
  b.pool.padSlotId = 0;
  b.slots = {3, 1, 0, 5};
  b.dst = {3, 0, 0, 5}; // row 1 is live but writes the reserved slot 0
  Status s = b.check();
  EXPECT_FAILS_WITH(s, "dst_state_indices[1] = 0");
  EXPECT_FAILS_WITH(s, "pad_slot_id");
}

TEST(BatchCheckTest, TwoRowsMayNotWriteOneSlot) {
  TestBatch a;
  a.slots = {3, 0, -1, 3};
  Status s = a.check();
  EXPECT_FAILS_WITH(s, "state_indices[0]");
  EXPECT_FAILS_WITH(s, "state_indices[3]");
  EXPECT_FAILS_WITH(s, "same slot");
  TestBatch b;
  b.dst = {4, 4, -1, 5}; // distinct sources, one destination
  s = b.check();
  EXPECT_FAILS_WITH(s, "dst_state_indices[0]");
  EXPECT_FAILS_WITH(s, "dst_state_indices[1]");
  // Pad rows never count as writers.
  TestBatch c;
  c.slots = {3, 0, -1, 5};
  c.dst = {3, 0, 5, 5};
  EXPECT_TRUE(c.check().ok()) << c.check().message();
}

TEST(BatchCheckTest, WrittenSlotNotReadByAnotherRow) {
  // Swapping two rows' slots would make each row's initial state depend on
  // which row ran first.
  TestBatch swap;
  swap.dst = {0, 3, -1, 5};
  Status s = swap.check();
  EXPECT_FAILS_WITH(s, "dst_state_indices[1] = 3 is also state_indices[0]");
  EXPECT_FAILS_WITH(s, "may not be read by another row");
}

} // namespace
