//===- CudaDriver.cpp - Loading the CUDA driver with dlopen ---------------===//

#include "CudaDriver.h"

#include <dlfcn.h>
#include <mutex>

#define HSSM_STR(x) #x
#define HSSM_XSTR(x) HSSM_STR(x)

const hssm::cuda::detail::Driver &hssm::cuda::detail::driver() {
  static Driver table;
  static std::once_flag once;
  std::call_once(once, [] {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
      const char *why = dlerror();
      table.error = std::string("no CUDA driver: dlopen(libcuda.so.1) failed") +
                    (why ? ": " + std::string(why) : "");
      return;
    }
    // The symbol names are the macro expansions (e.g. cuMemAlloc_v2).
#define HSSM_LOAD(name)                                                        \
  table.name = reinterpret_cast<decltype(table.name)>(                         \
      dlsym(lib, HSSM_XSTR(name)));                                            \
  if (!table.name && table.error.empty())                                      \
    table.error = "the CUDA driver lacks " HSSM_XSTR(name);
    HSSM_CUDA_DRIVER_FUNCTIONS(HSSM_LOAD)
#undef HSSM_LOAD
  });
  return table;
}
