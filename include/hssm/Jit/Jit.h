//===- Jit.h - Compile hssm IR in-process and call it -----------*- C++ -*-===//
//
// A host program hands MLIR text (or, through JitModule.h, a module it built)
// to a Jit, gets back a Function, and calls it on its own buffers: plain
// pointers with shapes, no MLIR types. Compiled functions are cached by their
// IR. Every failure (a parse or verifier error, an unknown function, a wrong
// argument count, rank, shape or element type) comes back as a Status.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_JIT_JIT_H
#define HSSM_JIT_JIT_H

#include "hssm/Runtime/Args.h"
#include "hssm/Runtime/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace hssm::jit {

// The argument types are the runtime's (no MLIR in them).
using hssm::Arg;
using hssm::Buffer;
using hssm::Elem;
using hssm::elemName;

class Function;

/// Where compiled code runs. With Cuda, kernels are compiled to PTX in
/// process (hssm-lower-to-nvvm), loaded by the runtime's mgpu* functions, and
/// buffer arguments are device pointers (wrap the invoker with
/// cuda::mirrorToDevice to pass host buffers). Cuda needs a build with the
/// CUDA runtime (HSSM_HAVE_CUDA) and a GPU where it runs.
enum class Target { Cpu, Cuda };

/// Whether this build can compile for `target`.
bool targetAvailable(Target target);

struct Options {
  Target target = Target::Cpu;
  /// LLVM optimization level of the generated host (and device) code.
  unsigned optLevel = 3;
  /// GPU chip for Target::Cuda.
  std::string chip = "sm_90";
};

/// Not thread-safe for concurrent compiles of one Jit (calls of compiled
/// Functions are). Destroy a Jit and its Functions before the program exits:
/// LLVM's globals may already be gone when static destructors run, so a
/// Jit with static storage duration should be leaked (`new`) instead.
class Jit {
public:
  explicit Jit(Options options = {});
  ~Jit();
  Jit(const Jit &) = delete;
  Jit &operator=(const Jit &) = delete;

  /// Parses and verifies `source`, lowers it, and returns the function named
  /// `name`. Compiling the same IR again returns the cached code.
  Status compile(const std::string &source, const std::string &name,
                 Function &out);

  /// How many distinct modules have been compiled (for tests of the cache).
  size_t numCompiled() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl;
};

/// A compiled function. Cheap to copy; keeps its code alive.
class Function {
public:
  Function();
  ~Function();
  Function(const Function &);
  Function &operator=(const Function &);

  /// Checks `args` against the function's signature and runs it.
  Status call(const std::vector<Arg> &args) const;
  /// The function's name, or "" when unset.
  const std::string &name() const;
  /// How many arguments it takes.
  size_t numArgs() const;
  /// What it takes, as Args.h's signature text.
  std::string signature() const;

  struct Impl;
  explicit Function(std::shared_ptr<const Impl> impl);

  /// This function as an Invoker (for code that runs any target).
  Invoker invoker() const {
    return [fn = *this](const std::vector<Arg> &args) { return fn.call(args); };
  }

private:
  std::shared_ptr<const Impl> impl;
};

} // namespace hssm::jit

#endif // HSSM_JIT_JIT_H
