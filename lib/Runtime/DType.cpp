//===- DType.cpp - Storage element types and their conversions ------------===//
//
// Bit-exact f32 <-> f16 / bf16 conversions with round-to-nearest-even, done in
// integer arithmetic so the result does not depend on the FPU rounding mode
// or on compiler flags.
//
//===----------------------------------------------------------------------===//

#include "hssm/Runtime/DType.h"

#include <cstring>

namespace hssm {

namespace {

uint32_t floatBits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return bits;
}

float bitsFloat(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

/// Drops the low `shift` bits of `value` (1 <= shift < 32), rounding to
/// nearest with ties to even.
uint32_t shiftRightRne(uint32_t value, unsigned shift) {
  uint32_t kept = value >> shift;
  uint32_t rest = value & ((1u << shift) - 1u);
  uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (kept & 1u)))
    ++kept;
  return kept;
}

} // namespace

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F32:
    return 4;
  case DType::F16:
  case DType::BF16:
    return 2;
  }
  return 0;
}

const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  }
  return "?";
}

std::optional<DType> parseDType(const std::string &name) {
  if (name == "f32")
    return DType::F32;
  if (name == "f16")
    return DType::F16;
  if (name == "bf16")
    return DType::BF16;
  return std::nullopt;
}

uint16_t floatToHalf(float v) {
  uint32_t bits = floatBits(v);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  uint32_t abs = bits & 0x7fffffffu;

  // Inf stays inf; NaN stays NaN (quiet, keeping the top payload bits).
  if (abs >= 0x7f800000u) {
    if (abs == 0x7f800000u)
      return sign | 0x7c00u;
    return sign | 0x7e00u | static_cast<uint16_t>((abs >> 13) & 0x3ffu);
  }
  // 65520 is halfway between 65504 (max half) and 65536; the tie goes to the
  // even neighbour, 65536, which is inf. So everything >= 65520 overflows.
  if (abs >= 0x477ff000u)
    return sign | 0x7c00u;
  // Below 2^-14 the result is a half subnormal m * 2^-24.
  if (abs < 0x38800000u) {
    // At or below 2^-25 (half of the smallest subnormal) it rounds to zero
    // (the exact half is a tie and zero is even).
    if (abs <= 0x33000000u)
      return sign;
    uint32_t exponent = abs >> 23;                     // 102..112
    uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u; // implicit one
    // value = mantissa * 2^(exponent - 150) = m * 2^-24 with
    // m = mantissa * 2^(exponent - 126).
    unsigned shift = 126u - exponent; // 14..24
    // m may round up to 0x400, which is exactly the smallest normal half.
    return sign | static_cast<uint16_t>(shiftRightRne(mantissa, shift));
  }
  // Normal: rebias the exponent (127 -> 15) and round off 13 mantissa bits; a
  // carry out of the mantissa correctly bumps the exponent.
  uint32_t rebiased = abs - (112u << 23);
  return sign | static_cast<uint16_t>(shiftRightRne(rebiased, 13));
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1fu) // inf / nan
    return bitsFloat(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0)
      return bitsFloat(sign);
    // Subnormal: normalise so the leading one becomes implicit.
    uint32_t e = 113; // float exponent of 2^-14
    while (!(mantissa & 0x400u)) {
      mantissa <<= 1;
      --e;
    }
    return bitsFloat(sign | (e << 23) | ((mantissa & 0x3ffu) << 13));
  }
  return bitsFloat(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

uint16_t floatToBF16(float v) {
  uint32_t bits = floatBits(v);
  // Truncating a NaN could clear every payload bit and give inf, so force the
  // quiet bit instead of rounding.
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  // Adding 0x7fff plus the lowest kept bit rounds to nearest even; a carry
  // into the exponent is correct, up to and including overflow to inf.
  uint32_t lsb = (bits >> 16) & 1u;
  return static_cast<uint16_t>((bits + 0x7fffu + lsb) >> 16);
}

float bf16ToFloat(uint16_t h) {
  return bitsFloat(static_cast<uint32_t>(h) << 16);
}

float loadElement(const void *base, size_t i, DType t) {
  // memcpy keeps unaligned or type-punned buffers well defined.
  const char *bytes = static_cast<const char *>(base);
  switch (t) {
  case DType::F32: {
    float v;
    std::memcpy(&v, bytes + i * 4, 4);
    return v;
  }
  case DType::F16: {
    uint16_t h;
    std::memcpy(&h, bytes + i * 2, 2);
    return halfToFloat(h);
  }
  case DType::BF16: {
    uint16_t h;
    std::memcpy(&h, bytes + i * 2, 2);
    return bf16ToFloat(h);
  }
  }
  return 0.0f;
}

void storeElement(void *base, size_t i, DType t, float v) {
  char *bytes = static_cast<char *>(base);
  switch (t) {
  case DType::F32:
    std::memcpy(bytes + i * 4, &v, 4);
    return;
  case DType::F16: {
    uint16_t h = floatToHalf(v);
    std::memcpy(bytes + i * 2, &h, 2);
    return;
  }
  case DType::BF16: {
    uint16_t h = floatToBF16(v);
    std::memcpy(bytes + i * 2, &h, 2);
    return;
  }
  }
}

float roundTo(DType t, float v) {
  switch (t) {
  case DType::F32:
    return v;
  case DType::F16:
    return halfToFloat(floatToHalf(v));
  case DType::BF16:
    return bf16ToFloat(floatToBF16(v));
  }
  return v;
}

} // namespace hssm
