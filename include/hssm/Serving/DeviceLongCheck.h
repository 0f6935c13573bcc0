//===- DeviceLongCheck.h - The long check on the GPU ------------*- C++ -*-===//
//
// runLongCheck's trace, faults and per-request reference comparison, with
// the serving path on the device: the pool manager allocates, zeroes,
// copies and frees slots of one cuda::DevicePool per layer
// (DeviceStatePools), each layer's weights stay on the device, the
// adapters' steps launch the branch on those pools, and half the
// decode-only steps replay DecodeGraphs (padded to the smallest captured
// size, pad rows checked to be zero). CUDA builds only (HSSMServingCuda).
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_SERVING_DEVICELONGCHECK_H
#define HSSM_SERVING_DEVICELONGCHECK_H

#include "hssm/Serving/LongCheck.h"

#include <vector>

namespace hssm::serving {

/// Runs the long check on the GPU. `deviceBranch` is compiled for CUDA from
/// historyBranchSource(options.branch) and takes device buffers (an
/// artifact's invoker, or the CUDA JIT's). `graphSizes` are the decode
/// batch sizes to capture (empty: DecodeGraphs' default, capped by the
/// pool). Errors as runLongCheck's, plus failed allocations and captures.
Status runDeviceLongCheck(const LongCheckOptions &options,
                          const Invoker &deviceBranch, LongCheckReport &report,
                          const std::vector<int64_t> &graphSizes = {});

} // namespace hssm::serving

#endif // HSSM_SERVING_DEVICELONGCHECK_H
