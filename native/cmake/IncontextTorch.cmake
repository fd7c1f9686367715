# Finds libtorch for the native build and defines:
#   incontext::torch        headers + libraries (interface target)
#   incontext::torch_cuda   CUDA parts of libtorch, when present
#   INCONTEXT_TORCH_HAS_CUDA
#   ${CMAKE_BINARY_DIR}/torch-include   a link to the header tree, for the JavaCPP build of the JNI glue
add_library(incontext::torch INTERFACE IMPORTED GLOBAL)
add_library(incontext::torch_cuda INTERFACE IMPORTED GLOBAL)
set(INCONTEXT_TORCH_HAS_CUDA OFF)

if(INCONTEXT_TORCH_PACKAGE)
  find_package(Torch REQUIRED)
  set_target_properties(incontext::torch PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${TORCH_INCLUDE_DIRS}"
    INTERFACE_LINK_LIBRARIES "${TORCH_LIBRARIES}")
  separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(incontext::torch INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${_torch_flags}>)
  list(GET TORCH_INCLUDE_DIRS 0 _torch_inc)
  if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
    set(INCONTEXT_TORCH_HAS_CUDA ON)
  endif()
else()
  if(NOT INCONTEXT_LIBTORCH_DIR)
    message(FATAL_ERROR
      "incontext: no libtorch given. Either build through Maven (`mvn verify` unpacks the JavaCPP pytorch jar and "
      "passes -DINCONTEXT_LIBTORCH_DIR), pass -DINCONTEXT_LIBTORCH_DIR=<directory holding libtorch_cpu.so>, or "
      "build against a full PyTorch install with -DINCONTEXT_TORCH_PACKAGE=ON.")
  endif()
  foreach(lib libtorch_cpu.so libc10.so)
    if(NOT EXISTS "${INCONTEXT_LIBTORCH_DIR}/${lib}")
      message(FATAL_ERROR "incontext: ${lib} not found in INCONTEXT_LIBTORCH_DIR=${INCONTEXT_LIBTORCH_DIR}")
    endif()
  endforeach()

  if(TORCH_INCLUDE_DIR)
    set(_torch_inc "${TORCH_INCLUDE_DIR}")
  else()
    set(_deps "${CMAKE_BINARY_DIR}/_deps")
    set(_torch_inc "${_deps}/torch-headers/torch/include")
    set(_stamp "${_deps}/torch-headers/${INCONTEXT_TORCH_WHEEL_VERSION}.stamp")
    if(NOT EXISTS "${_stamp}")
      find_package(Python3 COMPONENTS Interpreter)
      if(NOT Python3_Interpreter_FOUND)
        message(FATAL_ERROR "incontext: python3 is needed to fetch the libtorch headers (torch==${INCONTEXT_TORCH_WHEEL_VERSION} "
                            "wheel with pip). Install python3 with pip, or pass -DTORCH_INCLUDE_DIR=<libtorch include dir>.")
      endif()
      message(STATUS "incontext: fetching torch==${INCONTEXT_TORCH_WHEEL_VERSION} with pip for its headers (once per build tree)")
      file(REMOVE_RECURSE "${_deps}/torch-wheel" "${_deps}/torch-headers")
      execute_process(
        COMMAND ${Python3_EXECUTABLE} -m pip download --no-deps --only-binary=:all: --disable-pip-version-check
                "torch==${INCONTEXT_TORCH_WHEEL_VERSION}" -d "${_deps}/torch-wheel"
        RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
      file(GLOB _wheel "${_deps}/torch-wheel/torch-*.whl")
      if(NOT _rc EQUAL 0 OR NOT _wheel)
        message(FATAL_ERROR
          "incontext: could not download torch==${INCONTEXT_TORCH_WHEEL_VERSION} with pip:\n${_err}\n"
          "The native build needs the C++ headers of exactly this libtorch build. Configure pip so that it can "
          "resolve that version (PyTorch's CPU wheel index, or a local wheel directory), or pass "
          "-DTORCH_INCLUDE_DIR=<the include/ directory of libtorch 2.13.0>.")
      endif()
      list(GET _wheel 0 _wheel)
      execute_process(
        COMMAND ${Python3_EXECUTABLE} -c
          "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor m in z.namelist():\n    if m.startswith('torch/include/'):\n        z.extract(m, sys.argv[2])"
          "${_wheel}" "${_deps}/torch-headers"
        RESULT_VARIABLE _rc ERROR_VARIABLE _err)
      if(NOT _rc EQUAL 0 OR NOT EXISTS "${_torch_inc}/ATen/ATen.h")
        message(FATAL_ERROR "incontext: could not extract torch/include from ${_wheel}:\n${_err}")
      endif()
      file(REMOVE_RECURSE "${_deps}/torch-wheel")   # 190 MB; only the headers are kept
      file(TOUCH "${_stamp}")
    endif()
  endif()
  if(NOT EXISTS "${_torch_inc}/ATen/ATen.h")
    message(FATAL_ERROR "incontext: ${_torch_inc} does not look like a libtorch include directory (no ATen/ATen.h)")
  endif()

  set(_libs "${INCONTEXT_LIBTORCH_DIR}/libtorch_cpu.so" "${INCONTEXT_LIBTORCH_DIR}/libc10.so")
  if(EXISTS "${INCONTEXT_LIBTORCH_DIR}/libtorch.so")
    list(APPEND _libs "${INCONTEXT_LIBTORCH_DIR}/libtorch.so")
  endif()
  # libtorch's OpenMP runtime: the op library's parallel loops must use the same one (CMakeLists.txt).
  if(EXISTS "${INCONTEXT_LIBTORCH_DIR}/libgomp.so.1")
    set(INCONTEXT_TORCH_OPENMP_LIBRARY "${INCONTEXT_LIBTORCH_DIR}/libgomp.so.1")
  endif()
  set(_rpath "${INCONTEXT_LIBTORCH_DIR}")
  if(INCONTEXT_OPENBLAS_DIR)
    list(APPEND _rpath "${INCONTEXT_OPENBLAS_DIR}")
    # libtorch_cpu.so carries a RUNPATH of its own, which hides our RPATH from its dependencies: name
    # OpenBLAS directly so that executables load it first and libtorch finds it by soname.
    list(APPEND _libs "-Wl,--no-as-needed" "${INCONTEXT_OPENBLAS_DIR}/libopenblas.so.0" "-Wl,--as-needed")
  endif()
  list(JOIN _rpath ":" _rpath_str)
  set_target_properties(incontext::torch PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_torch_inc};${_torch_inc}/torch/csrc/api/include"
    INTERFACE_LINK_LIBRARIES "${_libs}")
  # Executables (tests, benchmarks) find the jar's libraries where Maven unpacked them.
  target_link_options(incontext::torch INTERFACE "LINKER:-rpath,${_rpath_str}" "LINKER:-rpath-link,${_rpath_str}")
  # The wheel's headers are built with the C++11 ABI, like the jar.
  target_compile_definitions(incontext::torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1)

  if(EXISTS "${INCONTEXT_LIBTORCH_DIR}/libtorch_cuda.so" AND EXISTS "${INCONTEXT_LIBTORCH_DIR}/libc10_cuda.so")
    set(INCONTEXT_TORCH_HAS_CUDA ON)
    find_package(CUDAToolkit)
    set_target_properties(incontext::torch_cuda PROPERTIES INTERFACE_LINK_LIBRARIES
      "${INCONTEXT_LIBTORCH_DIR}/libtorch_cuda.so;${INCONTEXT_LIBTORCH_DIR}/libc10_cuda.so;$<$<TARGET_EXISTS:CUDA::cudart>:CUDA::cudart>")
  endif()
endif()

set_target_properties(incontext::torch PROPERTIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES
  "$<TARGET_PROPERTY:incontext::torch,INTERFACE_INCLUDE_DIRECTORIES>")
file(CREATE_LINK "${_torch_inc}" "${CMAKE_BINARY_DIR}/torch-include" SYMBOLIC)
message(STATUS "incontext: libtorch headers ${_torch_inc}; CUDA in libtorch: ${INCONTEXT_TORCH_HAS_CUDA}")
