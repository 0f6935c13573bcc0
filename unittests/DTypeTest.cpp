//===- DTypeTest.cpp - Tests of the storage dtype conversions -------------===//
//
// Known bit patterns, round-to-nearest-even ties, subnormals, overflow and
// NaN handling of the f16 / bf16 conversions, and round trips.
//
//===----------------------------------------------------------------------===//

#include "hssm/Runtime/DType.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

using namespace hssm;

namespace {

float fromBits(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

uint32_t toBits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return bits;
}

TEST(DTypeTest, NamesSizesAndParsing) {
  EXPECT_EQ(dtypeSize(DType::F32), 4u);
  EXPECT_EQ(dtypeSize(DType::F16), 2u);
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_STREQ(dtypeName(DType::F32), "f32");
  EXPECT_STREQ(dtypeName(DType::F16), "f16");
  EXPECT_STREQ(dtypeName(DType::BF16), "bf16");
  EXPECT_EQ(parseDType("f32"), DType::F32);
  EXPECT_EQ(parseDType("f16"), DType::F16);
  EXPECT_EQ(parseDType("bf16"), DType::BF16);
  EXPECT_FALSE(parseDType("f64").has_value());
  EXPECT_FALSE(parseDType("").has_value());
}

TEST(DTypeTest, HalfKnownBitPatterns) {
  EXPECT_EQ(floatToHalf(0.0f), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(floatToHalf(-2.5f), 0xC100);
  EXPECT_EQ(floatToHalf(0.5f), 0x3800);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);              // largest finite half
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400); // smallest normal
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001); // smallest subnormal
  EXPECT_EQ(floatToHalf(std::ldexp(1023.0f, -24)), 0x03FF);

  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0xC100), -2.5f);
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(halfToFloat(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(toBits(halfToFloat(0x8000)), 0x80000000u);
}

TEST(DTypeTest, HalfSubnormals) {
  // 1e-8 / 2^-24 = 0.1677...: rounds to the nearest subnormal, 0.
  EXPECT_EQ(floatToHalf(1e-8f), 0x0000);
  // 1e-7 / 2^-24 = 1.677...: rounds to 2 * 2^-24.
  EXPECT_EQ(floatToHalf(1e-7f), 0x0002);
  EXPECT_EQ(floatToHalf(-1e-7f), 0x8002);
  // 1e-5 / 2^-24 = 167.77...: rounds to 168.
  EXPECT_EQ(floatToHalf(1e-5f), 168);
  // Exactly half the smallest subnormal ties to even (zero); just above
  // goes up.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(floatToHalf(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  // 1.5 * 2^-24 ties to 2 (even), 2.5 * 2^-24 ties to 2.
  EXPECT_EQ(floatToHalf(std::ldexp(3.0f, -25)), 0x0002);
  EXPECT_EQ(floatToHalf(std::ldexp(5.0f, -25)), 0x0002);
  // The largest subnormal rounding up becomes the smallest normal.
  EXPECT_EQ(floatToHalf(std::ldexp(2047.0f, -25)), 0x0400);
}

TEST(DTypeTest, HalfRoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  // 1 + 3 * 2^-11 is halfway between 0x3C01 and 0x3C02: ties to 0x3C02.
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(3.0f, -11)), 0x3C02);
  // Just above the tie rounds up.
  EXPECT_EQ(floatToHalf(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)),
            0x3C01);
  // Mantissa carry into the exponent: 2 - 2^-12 rounds to 2.
  EXPECT_EQ(floatToHalf(2.0f - std::ldexp(1.0f, -12)), 0x4000);
}

TEST(DTypeTest, HalfOverflowInfNan) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(floatToHalf(65519.0f), 0x7BFF); // below the tie: stays finite
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00); // tie goes to even = inf
  EXPECT_EQ(floatToHalf(1e6f), 0x7C00);
  EXPECT_EQ(floatToHalf(-1e6f), 0xFC00);
  EXPECT_EQ(floatToHalf(inf), 0x7C00);
  EXPECT_EQ(floatToHalf(-inf), 0xFC00);
  uint16_t nanHalf = floatToHalf(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nanHalf & 0x7C00, 0x7C00);
  EXPECT_NE(nanHalf & 0x03FF, 0);
  // A signalling NaN whose payload lives only in the low bits stays NaN.
  EXPECT_NE(floatToHalf(fromBits(0x7F800001u)) & 0x03FF, 0);
  EXPECT_TRUE(std::isnan(halfToFloat(nanHalf)));
  EXPECT_EQ(halfToFloat(0x7C00), inf);
  EXPECT_EQ(halfToFloat(0xFC00), -inf);
}

TEST(DTypeTest, BF16KnownBitPatterns) {
  EXPECT_EQ(floatToBF16(1.0f), 0x3F80);
  EXPECT_EQ(floatToBF16(-2.5f), 0xC020);
  EXPECT_EQ(floatToBF16(0.0f), 0x0000);
  EXPECT_EQ(floatToBF16(-0.0f), 0x8000);
  EXPECT_EQ(bf16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xC020), -2.5f);
  // Ties to even.
  EXPECT_EQ(floatToBF16(fromBits(0x3F808000u)), 0x3F80);
  EXPECT_EQ(floatToBF16(fromBits(0x3F818000u)), 0x3F82);
  // Off the tie: nearest.
  EXPECT_EQ(floatToBF16(fromBits(0x3F808001u)), 0x3F81);
  EXPECT_EQ(floatToBF16(fromBits(0x3F807FFFu)), 0x3F80);
  // 257 is a tie between 256 and 258: goes to 256.
  EXPECT_EQ(bf16ToFloat(floatToBF16(257.0f)), 256.0f);
  // bf16 subnormals are just truncated f32 subnormals, rounded.
  EXPECT_EQ(floatToBF16(fromBits(0x00018000u)), 0x0002);
}

TEST(DTypeTest, BF16OverflowInfNan) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(floatToBF16(inf), 0x7F80);
  EXPECT_EQ(floatToBF16(-inf), 0xFF80);
  // FLT_MAX rounds up past the largest bf16 to inf.
  EXPECT_EQ(floatToBF16(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(floatToBF16(fromBits(0x7F7F7FFFu)), 0x7F7F);
  // NaN stays NaN, even with only low payload bits, and keeps its sign.
  for (uint32_t bits : {0x7FC00000u, 0x7F800001u, 0xFF800001u, 0x7FFFFFFFu}) {
    uint16_t h = floatToBF16(fromBits(bits));
    EXPECT_TRUE(std::isnan(bf16ToFloat(h))) << std::hex << bits;
    EXPECT_EQ(h & 0x8000, (bits >> 16) & 0x8000) << std::hex << bits;
  }
}

TEST(DTypeTest, RoundTrips) {
  // Every finite half and bf16 survives float and back bit for bit.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    uint16_t bits = static_cast<uint16_t>(h);
    if ((bits & 0x7C00) == 0x7C00 && (bits & 0x03FF))
      continue; // NaN payloads are only required to stay NaN
    ASSERT_EQ(floatToHalf(halfToFloat(bits)), bits) << std::hex << h;
  }
  for (uint32_t h = 0; h < 0x10000; ++h) {
    uint16_t bits = static_cast<uint16_t>(h);
    if ((bits & 0x7F80) == 0x7F80 && (bits & 0x007F))
      continue;
    ASSERT_EQ(floatToBF16(bf16ToFloat(bits)), bits) << std::hex << h;
  }
  // roundTo is idempotent and within half an ulp.
  for (float v : {0.1f, -3.14159f, 1e-3f, 12345.678f, 6e-6f}) {
    float h = roundTo(DType::F16, v);
    EXPECT_EQ(roundTo(DType::F16, h), h);
    EXPECT_LE(std::fabs(h - v), std::fabs(v) * std::ldexp(1.0f, -11) + 3e-8f);
    float b = roundTo(DType::BF16, v);
    EXPECT_EQ(roundTo(DType::BF16, b), b);
    EXPECT_LE(std::fabs(b - v), std::fabs(v) * std::ldexp(1.0f, -8));
    EXPECT_EQ(roundTo(DType::F32, v), v);
  }
}

TEST(DTypeTest, LoadStoreElements) {
  unsigned char f32Buf[12] = {};
  unsigned char f16Buf[6] = {};
  unsigned char bf16Buf[6] = {};
  const float values[3] = {1.0f, -2.5f, 0.1f};
  for (size_t i = 0; i < 3; ++i) {
    storeElement(f32Buf, i, DType::F32, values[i]);
    storeElement(f16Buf, i, DType::F16, values[i]);
    storeElement(bf16Buf, i, DType::BF16, values[i]);
  }
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(loadElement(f32Buf, i, DType::F32), values[i]);
    EXPECT_EQ(loadElement(f16Buf, i, DType::F16),
              roundTo(DType::F16, values[i]));
    EXPECT_EQ(loadElement(bf16Buf, i, DType::BF16),
              roundTo(DType::BF16, values[i]));
  }
  // Storage is little-endian element bits: -2.5 is 0xC100 in f16.
  uint16_t raw;
  std::memcpy(&raw, f16Buf + 2, 2);
  EXPECT_EQ(raw, 0xC100);
  std::memcpy(&raw, bf16Buf + 2, 2);
  EXPECT_EQ(raw, 0xC020);
}

} // namespace
