//===- CudaBranchTest.cpp - The GPU branch against the reference ----------===//
//
// The shared branch cases (BranchCases.inc) on the GPU path: each config is
// an ahead-of-time artifact (hssm-compile --target=cuda) loaded from
// $HSSM_ARTIFACTS (default ./artifacts) and run on device copies of the host
// buffers. scripts/gpu-bundle.sh builds the artifacts and this program.
//
//===----------------------------------------------------------------------===//

#include "hssm/Harness/Harness.h"
#include "hssm/Runtime/Artifact.h"
#include "hssm/Runtime/Cuda.h"

#include <variant>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

using namespace hssm;
using namespace hssm::harness;

namespace {

std::string artifactDir() {
  const char *dir = std::getenv("HSSM_ARTIFACTS");
  return dir ? dir : "artifacts";
}

/// Loaded artifacts stay loaded (their modules stay on the device).
std::map<std::string, std::unique_ptr<Artifact>> &loaded() {
  static auto *artifacts = new std::map<std::string, std::unique_ptr<Artifact>>;
  return *artifacts;
}

Invoker compileBranch(const BranchConfig &c) {
  std::string key = branchConfigKey(c);
  auto &cache = loaded();
  if (!cache.count(key)) {
    std::unique_ptr<Artifact> artifact;
    std::string path = artifactDir() + "/" + key + ".so";
    Status st = Artifact::load(path, artifact);
    EXPECT_TRUE(st.ok()) << st.message();
    if (!st.ok())
      return [st](const std::vector<Arg> &) { return st; };
    cache[key] = std::move(artifact);
  }
  Invoker device;
  Status st = cache[key]->function("history_branch", device);
  EXPECT_TRUE(st.ok()) << st.message();
  return cuda::mirrorToDevice(device);
}

} // namespace

#define BRANCH_SUITE CudaBranch
#include "../BranchCases.inc"

namespace {

TEST(CudaBranch, BadBatchIsRejectedBeforeTheDeviceIsTouched) {
  BranchConfig c = mamba130m();
  BranchRun run(c, 4);
  std::vector<uint8_t> conv = run.pool.conv.bytes, ssm = run.pool.ssm.bytes;
  Step s = makeStep(c, makeBatch(1, {{1, 0, true}, {3, 7, false}}), run.rng);
  HostTensor out;
  Status st = runStep(run.fn, run.model, run.pool, s, out);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("state_indices[1] = 7 is outside [0, 4)"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(conv, run.pool.conv.bytes);
  EXPECT_EQ(ssm, run.pool.ssm.bytes);
}

TEST(CudaBranch, MissingArtifactIsAnError) {
  std::unique_ptr<Artifact> artifact;
  Status st = Artifact::load(artifactDir() + "/no-such-branch.so", artifact);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no-such-branch.so"), std::string::npos)
      << st.message();
}

/// A decode step captured as a CUDA graph and replayed once gives the same
/// outputs and states as the reference; pad rows stay zero and untouched.
TEST(CudaBranch, DecodeStepAsCudaGraph) {
  BranchConfig c = mamba130m();
  BranchRun run(c, 8);
  std::unique_ptr<Artifact> &artifact = loaded()[branchConfigKey(c)];
  ASSERT_TRUE(artifact);
  Invoker device;
  ASSERT_TRUE(artifact->function("history_branch", device).ok());
  // 3 live decodes and 1 pad row: a batch padded for replay.
  ref::Batch b = makeBatch(4, {{1, 2, true}, {1, 5, true}, {1, 7, true},
                               {1, -1, true}});
  Step step = makeStep(c, b, run.rng);
  Invoker replayed = [&](const std::vector<Arg> &args) -> Status {
    cuda::DeviceResidents residents;
    std::vector<Arg> deviceArgs = args;
    for (Arg &a : deviceArgs)
      if (auto *buf = std::get_if<Buffer>(&a)) {
        if (Status st = residents.add(*buf); !st)
          return st;
        buf->data = residents.find(buf->data);
      }
    std::unique_ptr<cuda::Graph> graph;
    if (Status st = cuda::Graph::capture(
            [&] { return device(deviceArgs); }, graph);
        !st)
      return st;
    if (Status st = graph->replay(); !st)
      return st;
    for (const Arg &a : args)
      if (auto *buf = std::get_if<Buffer>(&a))
        if (Status st = residents.download(*buf); !st)
          return st;
    return Status::success();
  };
  BranchRun graphRun(c, 8);
  graphRun.fn = replayed;
  std::vector<float> out = graphRun.step(step, "graph replay");
  for (int64_t h = 0; h < c.hd; ++h)
    ASSERT_EQ(out[size_t(3 * c.hd + h)], 0.0f) << "pad row output";
  graphRun.checkPool("graph replay");
}

} // namespace
