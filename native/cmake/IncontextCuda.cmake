# INCONTEXT_CUDA = ON | OFF | AUTO. AUTO compiles the CUDA kernels whenever nvcc is found, so that a
# machine without a GPU (CI) still proves they compile. Sets INCONTEXT_CUDA_ENABLED.
set(INCONTEXT_CUDA_ENABLED OFF)
if(NOT INCONTEXT_CUDA STREQUAL "OFF")
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    # sm_90 machine code plus compute_90 PTX, which later GPUs JIT-compile.
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(INCONTEXT_CUDA_ENABLED ON)
    message(STATUS "incontext: CUDA ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}")
  elseif(INCONTEXT_CUDA STREQUAL "ON")
    message(FATAL_ERROR "incontext: INCONTEXT_CUDA=ON but no CUDA compiler was found. Put nvcc on PATH or set "
                        "CMAKE_CUDA_COMPILER; or use -DINCONTEXT_CUDA=AUTO / OFF.")
  endif()
endif()
