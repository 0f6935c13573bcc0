//===- LaunchConventions.h - What kernel names tell the runtime -*- C++ -*-===//
//
// Shared by the compiler, which names kernels, and the runtime, which
// launches them.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_RUNTIME_LAUNCHCONVENTIONS_H
#define HSSM_RUNTIME_LAUNCHCONVENTIONS_H

#include <cstring>

namespace hssm {

/// A kernel whose name ends with this starts with griddepcontrol.wait
/// (hssm-programmatic-launch): the runtime launches it with programmatic
/// stream serialization, so that it may start before the kernel ahead of
/// it in the stream has finished.
inline constexpr char kProgrammaticLaunchSuffix[] = "__hssm_pdl";

inline bool waitsForPrecedingKernel(const char *kernelName) {
  size_t n = std::strlen(kernelName), k = sizeof(kProgrammaticLaunchSuffix) - 1;
  return n >= k &&
         std::strcmp(kernelName + n - k, kProgrammaticLaunchSuffix) == 0;
}

} // namespace hssm

#endif // HSSM_RUNTIME_LAUNCHCONVENTIONS_H
