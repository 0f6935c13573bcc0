//===- BranchSource.cpp - MLIR text of a whole history branch -------------===//

#include "hssm/Harness/BranchSource.h"

#include <sstream>

using namespace hssm;

const char *hssm::branchModeName(BranchMode m) {
  switch (m) {
  case BranchMode::Zero: return "zero";
  case BranchMode::PrefixSum: return "prefix_sum";
  case BranchMode::Mamba1: return "mamba1";
  }
  return "?";
}

std::string hssm::historyBranchSource(const BranchConfig &c,
                                      const std::string &functionName) {
  auto mem = [](std::initializer_list<int64_t> dims, DType t) {
    std::string s = "memref<";
    for (int64_t d : dims)
      s += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
    return s + dtypeName(t) + ">";
  };
  const DType f32 = DType::F32;
  std::string x = mem({-1, c.hd}, c.act), wIn = mem({2 * c.d, c.hd}, c.act),
              convW = mem({c.d, c.w}, c.act), convB = mem({c.d}, c.act),
              wX = mem({c.r + 2 * c.n, c.d}, c.act),
              wDt = mem({c.d, c.r}, c.act), bDt = mem({c.d}, f32),
              a = mem({c.d, c.n}, f32), dSkip = mem({c.d}, f32),
              wOut = mem({c.hd, c.d}, c.act),
              convS = mem({-1, c.w - 1, c.d}, c.convState),
              ssmS = mem({-1, c.d, c.n}, c.ssmState), out = mem({-1, c.hd}, c.act);
  std::ostringstream os;
  os << "func.func @" << functionName << "(\n"
     << "    %x: " << x << ", %w_in: " << wIn << ",\n"
     << "    %conv_w: " << convW << ", %conv_b: " << convB << ",\n"
     << "    %w_x: " << wX << ", %w_dt: " << wDt << ", %b_dt: " << bDt << ",\n"
     << "    %A: " << a << ", %D: " << dSkip << ", %w_out: " << wOut << ",\n"
     << "    %conv_state: " << convS << ", %ssm_state: " << ssmS << ",\n"
     << "    %qsl: memref<?xi32>, %slots: memref<?xi32>, "
        "%dst: memref<?xi32>, %init: memref<?xi8>,\n"
     << "    %num_decodes: index, %num_prefills: index, "
        "%num_prefill_tokens: index,\n"
     << "    %out: " << out << ") {\n"
     << "  %batch = hssm.batch query_start_loc(%qsl : memref<?xi32>)\n"
     << "      state_indices(%slots : memref<?xi32>)\n"
     << "      dst_state_indices(%dst : memref<?xi32>)\n"
     << "      has_initial_state(%init : memref<?xi8>)\n"
     << "      decodes(%num_decodes, %num_decodes)\n"
     << "      prefills(%num_prefills, %num_prefill_tokens)\n"
     << "  hssm.history_branch <" << branchModeName(c.mode) << "> x(%x : "
     << x << ")\n"
     << "      in_proj(%w_in : " << wIn << ")\n"
     << "      conv(%conv_w : " << convW << ", %conv_b : " << convB << ")\n"
     << "      x_proj(%w_x : " << wX << ")\n"
     << "      dt_proj(%w_dt : " << wDt << ", %b_dt : " << bDt << ")\n"
     << "      A(%A : " << a << ") D(%D : " << dSkip << ")\n"
     << "      out_proj(%w_out : " << wOut << ")\n"
     << "      state(%conv_state : " << convS << ",\n"
     << "            %ssm_state : " << ssmS << ")\n"
     << "      batch(%batch) out(%out : " << out << ")";
  if (c.padSlotId != -1)
    os << " {pad_slot_id = " << c.padSlotId << "}";
  os << "\n  return\n}\n";
  return os.str();
}

std::string hssm::branchConfigKey(const BranchConfig &c) {
  std::ostringstream os;
  os << "hd" << c.hd << "_d" << c.d << "_n" << c.n << "_r" << c.r << "_w"
     << c.w << "_" << dtypeName(c.act) << "_" << dtypeName(c.convState) << "_"
     << dtypeName(c.ssmState) << "_" << branchModeName(c.mode) << "_pad"
     << c.padSlotId;
  return os.str();
}

std::vector<BranchConfig> hssm::branchTestConfigs() {
  BranchConfig base; // mamba-130m, f32, mamba1
  std::vector<BranchConfig> configs;
  for (DType act : {DType::F32, DType::F16, DType::BF16})
    for (DType conv : {DType::F32, DType::F16, DType::BF16})
      for (DType ssm : {DType::F32, DType::F16, DType::BF16}) {
        BranchConfig c = base;
        c.act = act;
        c.convState = conv;
        c.ssmState = ssm;
        configs.push_back(c);
      }
  for (int64_t w : {2, 3, 5}) {
    BranchConfig c = base;
    c.w = w;
    configs.push_back(c);
  }
  for (int64_t n : {1, 256}) {
    BranchConfig c = base;
    c.n = n;
    configs.push_back(c);
  }
  for (int64_t d : {1544, 1540}) {
    BranchConfig c = base;
    c.d = d;
    configs.push_back(c);
  }
  for (BranchMode m : {BranchMode::Zero, BranchMode::PrefixSum}) {
    BranchConfig c = base;
    c.mode = m;
    configs.push_back(c);
  }
  BranchConfig pad0 = base;
  pad0.padSlotId = 0;
  configs.push_back(pad0);
  return configs;
}
