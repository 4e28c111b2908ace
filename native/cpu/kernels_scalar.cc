// Portable kernels (no ISA flags): the fallback on CPUs without AVX2/FMA and on non-x86.
#define ZENNAS_ISA scalar
#include "kernels_impl.inl"

namespace zennas {
namespace cpu {
const Kernels& kernelsScalar() { return scalar::table(); }
}  // namespace cpu
}  // namespace zennas
