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
#endif
  return f;
}

const Kernels& selectKernels() {
  static const Kernels* chosen = [] {
    const char* force = std::getenv("ZENNAS_SIMD");
    const CpuFeatures f = detectCpuFeatures();
    // kernelsAvx2() lives in the -mavx2 translation unit: only call it once cpuid said yes.
    if (f.avx2 && f.fma && !(force && std::strcmp(force, "scalar") == 0)) {
      if (const Kernels* avx2 = kernelsAvx2()) return avx2;
    }
    return &kernelsScalar();
  }();
  return *chosen;
}

}  // namespace cpu
}  // namespace zennas
