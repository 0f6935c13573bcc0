//===- Artifact.h - Ahead-of-time compiled hssm functions -------*- C++ -*-===//
//
// An artifact is a shared object compiled ahead of time from an hssm module
// (CPU or GPU). For each function `f` it exports
//   void hssm_packed_f(void **args);        the packed entry point (Args.h)
//   const char hssm_signature_f[];          its signature text (Args.h)
// A GPU artifact loads its kernels from global constructors through the
// mgpu* functions of Cuda.h, which the executable must export.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_RUNTIME_ARTIFACT_H
#define HSSM_RUNTIME_ARTIFACT_H

#include "hssm/Runtime/Args.h"
#include "hssm/Runtime/Status.h"

#include <memory>
#include <string>
#include <vector>

namespace hssm {

class Artifact {
public:
  /// Opens the shared object at `path` (RTLD_NOW | RTLD_LOCAL). Fails with
  /// dlerror()'s text if it cannot be opened, or with the first CUDA error
  /// its constructors recorded (a kernel module that did not load). Clears
  /// any CUDA error recorded before the call.
  static Status load(const std::string &path, std::unique_ptr<Artifact> &out);

  ~Artifact();
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;

  /// An invoker for function `name`: it checks and packs the arguments
  /// against the exported signature, calls the entry point and returns the
  /// first CUDA error the call recorded. The invoker keeps the shared object
  /// loaded, so it may outlive this Artifact.
  Status function(const std::string &name, Invoker &out) const;

  /// The names of the functions the artifact exports (empty if its symbol
  /// table cannot be read).
  std::vector<std::string> functions() const;

  const std::string &getPath() const { return path; }

private:
  Artifact(std::string path, std::shared_ptr<void> handle);

  std::string path;
  /// The dlopen handle; dlclosed when the last owner (this Artifact or an
  /// invoker) goes away.
  std::shared_ptr<void> handle;
};

} // namespace hssm

#endif // HSSM_RUNTIME_ARTIFACT_H
