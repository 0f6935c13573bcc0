//===- BranchSource.h - MLIR text of a whole history branch -----*- C++ -*-===//
//
// Writes the `func.func` that hssm-run, the tests and the benchmark compile:
// one hssm.history_branch over a batch, for given sizes and storage types.
// Its argument order is the calling convention of BranchArgs below.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_HARNESS_BRANCHSOURCE_H
#define HSSM_HARNESS_BRANCHSOURCE_H

#include "hssm/Runtime/DType.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hssm {

enum class BranchMode { Zero, PrefixSum, Mamba1 };
const char *branchModeName(BranchMode m);

struct BranchConfig {
  int64_t hd = 768, d = 1536, n = 16, r = 48, w = 4;
  DType act = DType::F32;       ///< x_in, weights, output
  DType convState = DType::F32; ///< conv state pool
  DType ssmState = DType::F32;  ///< SSM state pool
  BranchMode mode = BranchMode::Mamba1;
  int64_t padSlotId = -1;
};

/// The text of a module with one function `functionName` taking, in order:
/// x [T, Hd], in_proj [2D, Hd], conv_weight [D, W], conv_bias [D],
/// x_proj [R+2N, D], dt_proj [D, R], dt_bias [D] (f32), A [D, N] (f32),
/// D [D] (f32), out_proj [Hd, D], conv_state [S, W-1, D], ssm_state [S, D, N],
/// query_start_loc [R+1] (i32), state_indices [R] (i32),
/// dst_state_indices [R] (i32), has_initial_state [R] (i8),
/// num_decodes, num_prefills, num_prefill_tokens (index), out [T, Hd].
/// T, S and the request count are dynamic.
std::string historyBranchSource(const BranchConfig &config,
                                const std::string &functionName =
                                    "history_branch");

/// A file-name-safe key naming every field of a config, e.g.
/// "hd768_d1536_n16_r48_w4_f32_f32_f32_mamba1_pad-1".
std::string branchConfigKey(const BranchConfig &config);

/// The configs the branch test cases (unittests/BranchCases.inc) compile:
/// ahead-of-time test bundles build exactly these.
std::vector<BranchConfig> branchTestConfigs();

} // namespace hssm

#endif // HSSM_HARNESS_BRANCHSOURCE_H
