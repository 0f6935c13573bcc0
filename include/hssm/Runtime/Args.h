//===- Args.h - Arguments of compiled hssm functions ------------*- C++ -*-===//
//
// How a caller hands buffers and integers to a compiled function (JIT or
// ahead-of-time, CPU or GPU), with no MLIR types: a signature string says
// what the function takes, and packArguments checks the arguments against it
// and lays them out for the packed entry point `void entry(void **)`, whose
// elements are the addresses of the flattened memref descriptor fields
// {allocated, aligned, offset, sizes..., strides...} and of the integers.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_RUNTIME_ARGS_H
#define HSSM_RUNTIME_ARGS_H

#include "hssm/Runtime/Status.h"

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace hssm {

/// Element types a buffer argument may have.
enum class Elem { F32, F16, BF16, I32, I8, I64 };
const char *elemName(Elem e);

/// A caller-owned, dense, row-major buffer (host or device memory, as the
/// target needs).
struct Buffer {
  void *data = nullptr;
  std::vector<int64_t> shape;
  Elem elem = Elem::F32;
};

/// One argument: a buffer or an index/integer value.
using Arg = std::variant<Buffer, int64_t>;

/// Something that runs a compiled function on arguments: a JIT Function,
/// an ahead-of-time artifact, on the CPU or the GPU.
using Invoker = std::function<Status(const std::vector<Arg> &)>;

/// What a function takes for one argument. A dynamic size is -1.
struct ArgSpec {
  bool isBuffer = false;
  Elem elem = Elem::F32;
  std::vector<int64_t> shape;
};

/// A signature as text: arguments separated by ';', a buffer as
/// `m:<elem>:<d0>x<d1>...` (`?` for dynamic; `m:<elem>:` for rank 0), an
/// integer as `i`. E.g. "m:f32:?x768;m:i32:?;i".
std::string formatSignature(const std::vector<ArgSpec> &specs);
Status parseSignature(const std::string &text, std::vector<ArgSpec> &specs);

/// The packed arguments of one call; `pointers` is what the entry point
/// takes and points into `storage`.
struct PackedArgs {
  std::vector<int64_t> storage;
  std::vector<void *> pointers;
};

/// Checks `args` against `specs` (count, kind, element type, rank, static
/// sizes, data present) and packs them. `function` names the callee in
/// messages.
Status packArguments(const std::string &function,
                     const std::vector<ArgSpec> &specs,
                     const std::vector<Arg> &args, PackedArgs &packed);

} // namespace hssm

#endif // HSSM_RUNTIME_ARGS_H
