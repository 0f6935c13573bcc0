# The CUDA half of the runtime: the driver API (libcuda), libdl and the C++
# standard library only, no cudart and no LLVM, so that ahead-of-time
# artifacts run where no LLVM is installed. Included from CMakeLists.txt here.
# It needs cuda.h to build; libcuda.so.1 is found at run time.
if(CUDAToolkit_FOUND)
  add_library(HSSMRuntimeCuda STATIC
    CudaDriver.cpp
    CudaRuntime.cpp
    CudaBlas.cpp
    Artifact.cpp
    DeviceMirror.cpp
    DevicePool.cpp
  )
  set_target_properties(HSSMRuntimeCuda PROPERTIES
    POSITION_INDEPENDENT_CODE ON)
  target_include_directories(HSSMRuntimeCuda PUBLIC
    ${PROJECT_SOURCE_DIR}/include ${CUDAToolkit_INCLUDE_DIRS})
  # libcuda is opened with dlopen on first use (CudaDriver.cpp), not linked:
  # programs linking the runtime start where no driver is installed.
  target_link_libraries(HSSMRuntimeCuda PUBLIC
    HSSMRuntimeHost ${CMAKE_DL_LIBS})
  target_compile_definitions(HSSMRuntimeCuda INTERFACE HSSM_HAVE_CUDA=1)
  # Artifacts loaded with dlopen resolve mgpu* against the executable, so an
  # executable linking this library must export its symbols.
  target_link_options(HSSMRuntimeCuda INTERFACE
    "$<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:-rdynamic>")
endif()
