//===- HSSMDialect.cpp - The hssm dialect, its types and attributes -------===//

#include "hssm/Dialect/HSSM/HSSMDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::hssm;

#include "hssm/Dialect/HSSM/HSSMOpsDialect.cpp.inc"
#include "hssm/Dialect/HSSM/HSSMEnums.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "hssm/Dialect/HSSM/HSSMOpsTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "hssm/Dialect/HSSM/HSSMAttrs.cpp.inc"

void HSSMDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "hssm/Dialect/HSSM/HSSMOpsTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "hssm/Dialect/HSSM/HSSMAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "hssm/Dialect/HSSM/HSSMOps.cpp.inc"
      >();
}
