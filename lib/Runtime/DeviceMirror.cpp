//===- DeviceMirror.cpp - Running device functions on host buffers --------===//
//
// Tests and tools hold their data on the host; compiled GPU functions take
// device buffers. mirrorToDevice bridges the two by round-tripping every
// buffer, which is slow and meant for checking results, not for serving.
//
//===----------------------------------------------------------------------===//

#include "hssm/Runtime/Cuda.h"

using namespace hssm;

static size_t elemSize(Elem e) {
  switch (e) {
  case Elem::F32:
  case Elem::I32:
    return 4;
  case Elem::F16:
  case Elem::BF16:
    return 2;
  case Elem::I8:
    return 1;
  case Elem::I64:
    return 8;
  }
  return 0;
}

namespace {
/// Device buffers of one call, freed on every path out of it.
struct DeviceBuffers {
  std::vector<void *> pointers;
  ~DeviceBuffers() { (void)releaseAll(); }
  Status releaseAll() {
    Status first;
    for (void *p : pointers)
      if (Status s = cuda::release(p); !s.ok() && first.ok())
        first = s;
    pointers.clear();
    return first;
  }
};
} // namespace

Invoker cuda::mirrorToDevice(Invoker deviceInvoker) {
  return [device = std::move(deviceInvoker)](
             const std::vector<Arg> &args) -> Status {
    DeviceBuffers owned;
    std::vector<Arg> deviceArgs = args;
    std::vector<size_t> bytes(args.size(), 0);
    for (size_t i = 0; i < args.size(); ++i) {
      if (!std::holds_alternative<Buffer>(args[i]))
        continue;
      const Buffer &host = std::get<Buffer>(args[i]);
      std::string where = "device mirror: argument " + std::to_string(i);
      size_t elements = 1;
      for (int64_t d : host.shape) {
        if (d < 0)
          return Status::error(where + " has a negative size");
        elements *= static_cast<size_t>(d);
      }
      bytes[i] = elements * elemSize(host.elem);
      void *devicePtr = nullptr;
      if (bytes[i] != 0) {
        if (!host.data)
          return Status::error(where + " has no data pointer");
        if (Status s = cuda::allocate(bytes[i], &devicePtr); !s.ok())
          return s;
        owned.pointers.push_back(devicePtr);
        if (Status s = cuda::copyToDevice(devicePtr, host.data, bytes[i]);
            !s.ok())
          return s;
      }
      std::get<Buffer>(deviceArgs[i]).data = devicePtr;
    }

    if (Status s = device(deviceArgs); !s.ok())
      return s;
    // Kernels run asynchronously; their faults surface here.
    if (Status s = cuda::synchronize(); !s.ok())
      return s;
    for (size_t i = 0; i < args.size(); ++i) {
      if (bytes[i] == 0)
        continue;
      if (Status s =
              cuda::copyToHost(std::get<Buffer>(args[i]).data,
                               std::get<Buffer>(deviceArgs[i]).data, bytes[i]);
          !s.ok())
        return s;
    }
    return owned.releaseAll();
  };
}
