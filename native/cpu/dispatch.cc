#include <cstdlib>
#include <cstring>

#include "kernels.h"

namespace zennas {
namespace cpu {

CpuFeatures detectCpuFeatures() {
  CpuFeatures f;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  // libgcc's cpuid check for avx512f also requires the OS to save the opmask and zmm state (XCR0).
  f.avx512f = __builtin_cpu_supports("avx512f");
#endif
  return f;
}

const Kernels& selectKernels() {
  static const Kernels* chosen = [] {
    const char* force = std::getenv("ZENNAS_SIMD");
    const CpuFeatures f = detectCpuFeatures();
    const bool scalar = force && std::strcmp(force, "scalar") == 0, avx2Only = force && std::strcmp(force, "avx2") == 0;
    // kernelsAvx2() / kernelsAvx512() live in their ISA's translation unit: only call them once cpuid said yes.
    if (f.avx2 && f.fma && f.avx512f && !scalar && !avx2Only) {
      if (const Kernels* avx512 = kernelsAvx512()) return avx512;
    }
    if (f.avx2 && f.fma && !scalar) {
      if (const Kernels* avx2 = kernelsAvx2()) return avx2;
    }
    return &kernelsScalar();
  }();
  return *chosen;
}

}  // namespace cpu
}  // namespace zennas
