// Portable kernels (no ISA flags): the fallback on CPUs without AVX2/FMA and on non-x86.
// The Winograd weight transform passes 32-byte vectors between internal-linkage functions; the
// note that this changes the ABI without AVX concerns only external calls.
#pragma GCC diagnostic ignored "-Wpsabi"
#define ZENNAS_ISA scalar
#include "kernels_impl.inl"

namespace zennas {
namespace cpu {
const Kernels& kernelsScalar() { return scalar::table(); }
}  // namespace cpu
}  // namespace zennas
