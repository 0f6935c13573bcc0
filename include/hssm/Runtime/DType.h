//===- DType.h - Storage element types and their conversions ----*- C++ -*-===//
//
// Activations, weights and states are stored as f32, f16 or bf16; all
// arithmetic is fp32. These helpers convert one element at a time with
// round-to-nearest-even, so host code (tests, the reference, the main job)
// can fill and read buffers of any storage type without a GPU or a compiler.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_RUNTIME_DTYPE_H
#define HSSM_RUNTIME_DTYPE_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace hssm {

enum class DType { F32, F16, BF16 };

/// Bytes of one element.
size_t dtypeSize(DType t);
/// "f32", "f16", "bf16".
const char *dtypeName(DType t);
/// Parses "f32" / "f16" / "bf16".
std::optional<DType> parseDType(const std::string &name);

uint16_t floatToHalf(float v);
float halfToFloat(uint16_t h);
uint16_t floatToBF16(float v);
float bf16ToFloat(uint16_t h);

/// Reads element `i` of a buffer of type `t` as a float.
float loadElement(const void *base, size_t i, DType t);
/// Writes `v` rounded to `t` as element `i`.
void storeElement(void *base, size_t i, DType t, float v);
/// `v` rounded to the nearest value representable in `t`.
float roundTo(DType t, float v);

} // namespace hssm

#endif // HSSM_RUNTIME_DTYPE_H
