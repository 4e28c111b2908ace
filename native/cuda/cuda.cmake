# CUDA backend (cuDNN Zen-score + GPU latency), included once from the top-level CMakeLists.txt
# after the addon target exists; when nvcc and cuDNN are found it builds a second addon,
# zennas_cuda.node. It never fails the build: when nvcc or cuDNN is missing only the CPU addon
# is built and the reason is compiled in (ZENNAS_CUDA_REASON) so that
# `backends()` can report `cudaReason`.
#
# Inputs (all optional):
#   ZENNAS_WITH_CUDA    AUTO (default) | ON | OFF. OFF skips detection; ON still degrades to a
#                       CPU-only build with a warning rather than failing.
#   ZENNAS_CUDNN_ROOT   directory holding include/cudnn.h and lib/libcudnn.so*  (cache var)
#   ENV CUDNN_ROOT      same, from the environment
#   ZENNAS_ADDON_TARGET the addon target (default: ${PROJECT_NAME})
# Outputs:
#   ZENNAS_CUDA_ENABLED (TRUE/FALSE), ZENNAS_CUDA_REASON (string, empty when enabled)

set(ZENNAS_WITH_CUDA "AUTO" CACHE STRING "Build the CUDA backend: AUTO, ON or OFF")
set(ZENNAS_CUDNN_ROOT "" CACHE PATH "cuDNN root (include/ and lib/), e.g. the nvidia-cudnn wheel directory")
set(ZENNAS_CUDA_ARCHITECTURES "80-real;90" CACHE STRING "CUDA architectures of the CUDA backend (90 also embeds PTX)")
if(NOT ZENNAS_ADDON_TARGET)
  set(ZENNAS_ADDON_TARGET ${PROJECT_NAME})
endif()

set(ZENNAS_CUDA_ENABLED FALSE)
set(ZENNAS_CUDA_REASON "")

function(_zennas_cuda_disable reason)
  set(ZENNAS_CUDA_REASON "${reason}" PARENT_SCOPE)
  if(ZENNAS_WITH_CUDA STREQUAL "ON")
    message(WARNING "zennas: CUDA backend disabled: ${reason}")
  else()
    message(STATUS "zennas: CUDA backend disabled: ${reason}")
  endif()
endfunction()

# Where NVIDIA's Python wheels (torch's dependencies, or `pip install nvidia-cudnn-cu13`) put a
# library: nvidia/<name>/{include,lib}. `nvidia` is a namespace package, so ask for __path__.
function(_zennas_wheel_dir module outvar)
  set(${outvar} "" PARENT_SCOPE)
  find_program(_ZENNAS_PYTHON NAMES python3 python)
  if(NOT _ZENNAS_PYTHON)
    return()
  endif()
  execute_process(
    COMMAND "${_ZENNAS_PYTHON}" -c "import ${module} as m; print(list(m.__path__)[0])"
    OUTPUT_VARIABLE _dir OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc TIMEOUT 30)
  if(_rc EQUAL 0 AND IS_DIRECTORY "${_dir}")
    set(${outvar} "${_dir}" PARENT_SCOPE)
  endif()
endfunction()

if(ZENNAS_WITH_CUDA STREQUAL "OFF")
  set(ZENNAS_CUDA_REASON "built with ZENNAS_WITH_CUDA=OFF")
  message(STATUS "zennas: CUDA backend disabled: ZENNAS_WITH_CUDA=OFF")
elseif(NOT TARGET ${ZENNAS_ADDON_TARGET})
  _zennas_cuda_disable("internal: addon target '${ZENNAS_ADDON_TARGET}' not defined before native/cuda/cuda.cmake")
else()
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc AND NOT DEFINED ENV{CUDACXX})
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    _zennas_cuda_disable("nvcc (CUDA compiler) not found at build time")
  else()
    _zennas_wheel_dir(nvidia.cudnn _ZENNAS_CUDNN_WHEEL)
    set(_cudnn_hints ${ZENNAS_CUDNN_ROOT} $ENV{CUDNN_ROOT} $ENV{CUDNN_HOME} ${_ZENNAS_CUDNN_WHEEL} /usr/local/cuda /usr/local/cudnn /usr)
    find_path(ZENNAS_CUDNN_INCLUDE_DIR cudnn.h HINTS ${_cudnn_hints}
      PATH_SUFFIXES include include/x86_64-linux-gnu include/aarch64-linux-gnu)
    # Wheels ship only libcudnn.so.9 (no unversioned link), hence the explicit names.
    find_library(ZENNAS_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 HINTS ${_cudnn_hints}
      PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu lib/aarch64-linux-gnu)
    if(NOT ZENNAS_CUDNN_INCLUDE_DIR OR NOT ZENNAS_CUDNN_LIBRARY)
      unset(ZENNAS_CUDNN_INCLUDE_DIR CACHE)
      unset(ZENNAS_CUDNN_LIBRARY CACHE)
      _zennas_cuda_disable("cuDNN not found at build time (set ZENNAS_CUDNN_ROOT or CUDNN_ROOT, or pip install nvidia-cudnn-cu13)")
    else()
      file(STRINGS "${ZENNAS_CUDNN_INCLUDE_DIR}/cudnn_version.h" _v REGEX "#define CUDNN_MAJOR ")
      string(REGEX MATCH "[0-9]+" _cudnn_major "${_v}")
      if(NOT _cudnn_major OR _cudnn_major LESS 8)
        _zennas_cuda_disable("cuDNN >= 8 required, found '${_cudnn_major}' in ${ZENNAS_CUDNN_INCLUDE_DIR}")
      else()
        enable_language(CUDA)
        find_package(CUDAToolkit QUIET)
        if(NOT CUDAToolkit_FOUND)
          _zennas_cuda_disable("CUDA toolkit (cudart) not found next to ${CMAKE_CUDA_COMPILER}")
        else()
          set(ZENNAS_CUDA_ENABLED TRUE)
        endif()
      endif()
    endif()
  endif()
endif()

if(ZENNAS_CUDA_ENABLED)
  # The CUDA backend is a second addon, zennas_cuda.node, beside zennas.node: cuDNN is a
  # dynamic dependency, and if it cannot be found at load time only this module fails to load
  # (src/engine/native.ts reports why), never the CPU engine.
  set(ZENNAS_CUDA_TARGET zennas_cuda)
  file(GLOB ZENNAS_CUDA_SOURCES CONFIGURE_DEPENDS
    ${CMAKE_CURRENT_LIST_DIR}/*.cu ${CMAKE_CURRENT_LIST_DIR}/*.cc)
  # The shared layer, compiled into this module too (each .node is its own shared object with
  # hidden symbols, so the copies in zennas.node never clash): one descriptor validator, one
  # Engine class / option reader / error type. backend.cc built with ZENNAS_CUDA_BACKEND makes
  # makeBackend('cuda') the CUDA backend (native/cuda/cuda_backend.h) and links no CPU code.
  set(ZENNAS_CUDA_SHARED_SOURCES
    ${CMAKE_SOURCE_DIR}/native/common/descriptor.cc
    ${CMAKE_SOURCE_DIR}/native/common/philox.cc
    ${CMAKE_SOURCE_DIR}/native/common/thread_pool.cc
    ${CMAKE_SOURCE_DIR}/native/engine/backend.cc
    ${CMAKE_SOURCE_DIR}/native/engine/engine_napi.cc
    ${CMAKE_SOURCE_DIR}/native/engine/napi_util.cc)
  add_library(${ZENNAS_CUDA_TARGET} SHARED ${ZENNAS_CUDA_SOURCES} ${ZENNAS_CUDA_SHARED_SOURCES} ${CMAKE_JS_SRC})
  set_target_properties(${ZENNAS_CUDA_TARGET} PROPERTIES
    PREFIX "" SUFFIX ".node"
    CUDA_ARCHITECTURES "${ZENNAS_CUDA_ARCHITECTURES}"
    CUDA_STANDARD 17
    CUDA_STANDARD_REQUIRED ON
    CUDA_RUNTIME_LIBRARY Static
    POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${ZENNAS_CUDA_TARGET} PRIVATE
    ${CMAKE_JS_INC} ${NODE_ADDON_API_DIR} ${CMAKE_SOURCE_DIR}/native
    ${ZENNAS_CUDNN_INCLUDE_DIR} ${CUDAToolkit_INCLUDE_DIRS})
  target_compile_definitions(${ZENNAS_CUDA_TARGET} PRIVATE
    NAPI_VERSION=8 NAPI_CPP_EXCEPTIONS NODE_ADDON_API_DISABLE_DEPRECATED ZENNAS_WITH_CUDA=1 ZENNAS_CUDA_BACKEND=1)
  target_compile_options(${ZENNAS_CUDA_TARGET} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-O3 -fvisibility=hidden -Wall -Wno-unused-function>
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-fPIC -lineinfo>)
  # Static cudart: the module loads on machines without a driver (the backend then reports
  # "no CUDA GPU found"); cuDNN is dynamic, found through the RPATH of its build-time location
  # or LD_LIBRARY_PATH.
  find_package(Threads REQUIRED)
  target_link_libraries(${ZENNAS_CUDA_TARGET} PRIVATE ${CMAKE_JS_LIB} CUDA::cudart_static ${ZENNAS_CUDNN_LIBRARY} Threads::Threads)
  get_filename_component(_cudnn_libdir "${ZENNAS_CUDNN_LIBRARY}" DIRECTORY)
  set_property(TARGET ${ZENNAS_CUDA_TARGET} APPEND PROPERTY BUILD_RPATH "${_cudnn_libdir}")
  set_property(TARGET ${ZENNAS_CUDA_TARGET} APPEND PROPERTY INSTALL_RPATH "${_cudnn_libdir}")
  # The CPU addon only needs to know that the CUDA addon was built.
  target_compile_definitions(${ZENNAS_ADDON_TARGET} PRIVATE ZENNAS_WITH_CUDA=1)
  message(STATUS "zennas: CUDA backend enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, cuDNN ${_cudnn_major} at ${ZENNAS_CUDNN_LIBRARY}, archs ${ZENNAS_CUDA_ARCHITECTURES}) → zennas_cuda.node")
endif()

if(TARGET ${ZENNAS_ADDON_TARGET})
  # Always defined so the engine's backends() can say why CUDA is absent (empty when present).
  target_compile_definitions(${ZENNAS_ADDON_TARGET} PRIVATE "ZENNAS_CUDA_REASON=\"${ZENNAS_CUDA_REASON}\"")
endif()
