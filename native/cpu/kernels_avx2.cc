// AVX2 + FMA kernels: this translation unit alone is compiled with -mavx2 -mfma; it is only
// called after selectKernels() has checked the CPU (cpuid), so the addon runs on any x86-64.
#define ZENNAS_ISA avx2
#include "kernels_impl.inl"

namespace zennas {
namespace cpu {
const Kernels* kernelsAvx2() {
#if ZENNAS_VEC
  return &avx2::table();
#else
  return nullptr;
#endif
}
}  // namespace cpu
}  // namespace zennas
