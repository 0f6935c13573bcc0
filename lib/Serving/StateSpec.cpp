//===- StateSpec.cpp - Shapes, dtypes and page size of one state slot -----===//

#include "hssm/Serving/StateSpec.h"

#include <string>

using namespace hssm;
using namespace hssm::serving;

int64_t StateSpec::convStateBytes() const {
  return (convKernelSize - 1) * localIntermediateSize *
         int64_t(dtypeSize(convStateDType));
}

int64_t StateSpec::ssmStateBytes() const {
  return localIntermediateSize * stateSize * int64_t(dtypeSize(ssmStateDType));
}

bool StateSpec::operator==(const StateSpec &o) const {
  return tpSize == o.tpSize && intermediateSize == o.intermediateSize &&
         localIntermediateSize == o.localIntermediateSize &&
         stateSize == o.stateSize && convKernelSize == o.convKernelSize &&
         modelDType == o.modelDType && convStateDType == o.convStateDType &&
         ssmStateDType == o.ssmStateDType;
}

Status hssm::serving::makeStateSpec(const StateSpecOptions &o, StateSpec &out) {
  auto num = [](int64_t v) { return std::to_string(v); };
  if (o.tpSize < 1)
    return Status::error("tp_size = " + num(o.tpSize) +
                         " is less than 1: there is at least one rank");
  if (o.intermediateSize < 1)
    return Status::error("intermediate_size = " + num(o.intermediateSize) +
                         " is less than 1");
  if (o.intermediateSize % o.tpSize != 0)
    return Status::error("intermediate_size = " + num(o.intermediateSize) +
                         " is not divisible by tp_size = " + num(o.tpSize) +
                         ": every rank holds D / tp channels");
  if (o.convKernelSize < 2 || o.convKernelSize > 5)
    return Status::error("conv_kernel_size = " + num(o.convKernelSize) +
                         " is outside 2..5");
  if (o.stateSize < 1 || o.stateSize > 256)
    return Status::error("ssm_state_size = " + num(o.stateSize) +
                         " is outside 1..256");
  StateSpec s;
  s.tpSize = o.tpSize;
  s.intermediateSize = o.intermediateSize;
  s.localIntermediateSize = o.intermediateSize / o.tpSize;
  s.stateSize = o.stateSize;
  s.convKernelSize = o.convKernelSize;
  s.modelDType = o.modelDType;
  s.convStateDType = o.convStateDType.value_or(o.modelDType);
  s.ssmStateDType = o.ssmStateDType.value_or(o.modelDType);
  out = s;
  return Status::success();
}
