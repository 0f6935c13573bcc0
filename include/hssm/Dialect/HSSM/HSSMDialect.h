//===- HSSMDialect.h - The hssm dialect -------------------------*- C++ -*-===//
//
// The dialect, its types, attributes and ops in one include, as users want
// them.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_DIALECT_HSSM_HSSMDIALECT_H
#define HSSM_DIALECT_HSSM_HSSMDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "hssm/Dialect/HSSM/HSSMOpsDialect.h.inc"
#include "hssm/Dialect/HSSM/HSSMEnums.h.inc"

#define GET_TYPEDEF_CLASSES
#include "hssm/Dialect/HSSM/HSSMOpsTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "hssm/Dialect/HSSM/HSSMAttrs.h.inc"

#define GET_OP_CLASSES
#include "hssm/Dialect/HSSM/HSSMOps.h.inc"

namespace mlir::hssm {
/// The largest SSM state size N the kernels support (SPEC.md section 1).
constexpr int64_t kMaxStateSize = 256;
/// Conv widths the kernels support (SPEC.md section 1).
constexpr int64_t kMinConvWidth = 2;
constexpr int64_t kMaxConvWidth = 5;
} // namespace mlir::hssm

#endif // HSSM_DIALECT_HSSM_HSSMDIALECT_H
