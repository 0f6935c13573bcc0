//===- branch-sources.cpp - Write the MLIR of every tested branch config --===//
//
// `hssm-branch-sources DIR` writes DIR/<key>.mlir for each config of
// branchTestConfigs(); scripts/gpu-bundle.sh compiles them ahead of time.
//
//===----------------------------------------------------------------------===//

#include "hssm/Harness/BranchSource.h"

#include <cstdio>
#include <fstream>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hssm-branch-sources DIR\n");
    return 2;
  }
  for (const hssm::BranchConfig &c : hssm::branchTestConfigs()) {
    std::string path = std::string(argv[1]) + "/" + hssm::branchConfigKey(c) +
                       ".mlir";
    std::ofstream out(path);
    out << hssm::historyBranchSource(c);
    if (!out) {
      std::fprintf(stderr, "hssm-branch-sources: cannot write %s\n",
                   path.c_str());
      return 1;
    }
    std::printf("%s\n", path.c_str());
  }
  return 0;
}
