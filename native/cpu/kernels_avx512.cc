// AVX-512 kernels: the AVX2 + FMA kernels with their hot loops at 512 bits where that keeps every
// value's operation sequence (kernels_impl.inl, ZENNAS_VEC512): the GEMM register block (6 × 32), the
// Winograd transforms (16 tiles, 8-double weight rows), the Gaussian draw (16 counters), the dot-form
// weight gradient (two dY rows per vector). This translation unit alone is compiled with -mavx512f;
// it is only called after selectKernels() has checked the CPU and the OS (cpuid, XCR0). Same bits as
// the AVX2 build (test/simd-avx512.test.ts).
// GCC 12 warns inside its own _mm512_insertf64x4 / _mm512_extractf64x4_pd (an "undefined" pass-through operand).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
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
