// Packed SGEMM (BLIS-style): C[M][cols] (+)= A[M][K] · B[K][cols]. A (the weights, OIHW = [M][K]
// row-major) is packed once per repeat into MR-row panels; B is packed per (KC × column chunk)
// panel straight from the activation tensor (implicit im2col, see conv.h), so no im2col matrix
// is ever materialised. The K summation order depends only on K and KC, never on how the
// columns are split between workers: results do not depend on the thread count.
#pragma once
#include <cstdint>

namespace zennas {
namespace cpu {

constexpr int kMR = 6;     // rows of the register block (6 × 16 = 12 ymm accumulators)
constexpr int kNR = 16;    // columns of the register block (2 ymm)
#ifndef ZENNAS_KC
#define ZENNAS_KC 256
#endif
#ifndef ZENNAS_MC
#define ZENNAS_MC 72
#endif
constexpr int kKC = ZENNAS_KC;   // depth of a packed panel (B micro-panel 16 KiB: L1)
constexpr int kMC = ZENNAS_MC;    // rows of A kept in L2 per pass (72 × 256 × 4 B = 72 KiB)
constexpr int kMaxChunkCols = 256;   // columns per parallel chunk (packed B ≤ 256 KiB: stays in L2)

/** Floats of a packed A for M×K: ceil(M/MR) panels of K×MR (padding rows are zero). */
inline int64_t packedASize(int64_t M, int64_t K) { return (M + kMR - 1) / kMR * kMR * K; }

/** Index of element (row, k) of A inside the packed layout. */
inline int64_t packedAIndex(int64_t row, int64_t k, int64_t K) { return (row / kMR) * K * kMR + k * kMR + row % kMR; }

}  // namespace cpu
}  // namespace zennas
