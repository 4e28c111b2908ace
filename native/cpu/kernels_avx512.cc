// AVX-512 kernels: the AVX2 + FMA kernels with the GEMM's register block widened to 512 bits
// (kernels_impl.inl, ZENNAS_VEC512): this translation unit alone is compiled with -mavx512f; it is
// only called after selectKernels() has checked the CPU and the OS (cpuid, XCR0). Same bits as the
// AVX2 build (test/simd-avx512.test.ts).
// GCC 12 warns inside its own _mm512_insertf64x4 (an "undefined" pass-through operand).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define ZENNAS_ISA avx512
#include "kernels_impl.inl"

namespace zennas {
namespace cpu {
const Kernels* kernelsAvx512() {
#if ZENNAS_VEC512
  return &avx512::table();
#else
  return nullptr;
#endif
}
}  // namespace cpu
}  // namespace zennas
