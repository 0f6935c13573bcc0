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

static size_t byteSize(const Buffer &b) {
  size_t elements = 1;
  for (int64_t d : b.shape)
    elements *= d < 0 ? 0 : static_cast<size_t>(d);
  return elements * elemSize(b.elem);
}

cuda::DeviceResidents::~DeviceResidents() {
  for (auto &[host, entry] : entries)
    if (entry.owned)
      (void)cuda::release(entry.device);
}

Status cuda::DeviceResidents::add(const Buffer &host) {
  if (find(host.data))
    return Status::success();
  Entry e{nullptr, byteSize(host)};
  if (e.bytes != 0) {
    if (Status s = cuda::allocate(e.bytes, &e.device); !s.ok())
      return s;
    if (Status s = cuda::copyToDevice(e.device, host.data, e.bytes); !s.ok()) {
      (void)cuda::release(e.device);
      return s;
    }
  }
  entries.push_back({host.data, e});
  return Status::success();
}

Status cuda::DeviceResidents::addOnDevice(const Buffer &device) {
  if (!device.data)
    return Status::error("device residents: a device buffer without data");
  if (find(device.data))
    return Status::success();
  entries.push_back({device.data, Entry{device.data, byteSize(device), false}});
  return Status::success();
}

Status cuda::DeviceResidents::download(const Buffer &host) const {
  for (const auto &[ptr, entry] : entries) {
    if (ptr != host.data)
      continue;
    if (!entry.owned)
      return Status::error("device residents: that buffer is device memory "
                           "registered with addOnDevice, not a host buffer");
    return entry.bytes ? cuda::copyToHost(host.data, entry.device, entry.bytes)
                       : Status::success();
  }
  return Status::error("device residents: no device copy of that buffer");
}

void *cuda::DeviceResidents::find(const void *host) const {
  for (const auto &[ptr, entry] : entries)
    if (ptr == host && host)
      return entry.device;
  return nullptr;
}

Invoker cuda::mirrorToDevice(Invoker deviceInvoker) {
  return mirrorToDevice(std::move(deviceInvoker), nullptr);
}

Invoker cuda::mirrorToDevice(Invoker deviceInvoker,
                             std::shared_ptr<DeviceResidents> residents) {
  return [device = std::move(deviceInvoker), residents](
             const std::vector<Arg> &args) -> Status {
    DeviceBuffers owned;
    std::vector<Arg> deviceArgs = args;
    std::vector<size_t> bytes(args.size(), 0);
    for (size_t i = 0; i < args.size(); ++i) {
      if (!std::holds_alternative<Buffer>(args[i]))
        continue;
      const Buffer &host = std::get<Buffer>(args[i]);
      if (void *resident = residents ? residents->find(host.data) : nullptr) {
        std::get<Buffer>(deviceArgs[i]).data = resident;
        continue; // bytes[i] stays 0: not copied back either
      }
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
