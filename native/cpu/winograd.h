// Winograd F(4×4, 3×3) for dense 3×3 stride-1 "same" convolutions (Lavin & Gray 2016) on the
// engine's [C][N][H][W] layout. A tile is 4×4 outputs of one image, read from a 6×6 input patch
// (zero outside the image); tiles are numbered (image, tile row, tile column). Per tile and
// channel the patch is transformed (Bᵀ d B), the 36 transformed planes are 36 GEMMs
// U[ξ] (cout × cin) · V[ξ] (cin × tiles) on the packed SGEMM micro-kernel, and each output tile
// is Aᵀ m A. The weights are transformed (G g Gᵀ, in float64) once per weight draw.
// 5×5 and 7×7 stride-1 convs are nested 3×3 ones: the kernel, zero-padded to 6×6 / 9×9, is a
// grid of S = 2×2 / 3×3 sub-kernels 3×3, each a Winograd conv of the input shifted by 3 rows /
// columns; the S transformed inputs are stacked along K, so each ξ is one GEMM with K = S·cin
// (25 → 9 and 49 → 20.25 multiplies per output).
// Every tile's result depends only on its own inputs and the fixed K order of the GEMM: results
// do not depend on how tiles are split between workers (thread-count independent).
#pragma once
#include <cstdint>

#include "conv.h"
#include "gemm.h"

namespace zennas {
namespace cpu {

constexpr int64_t kWinoXi = 36;  // transformed points per tile (6 × 6)
constexpr int64_t kWinoMaxChunk = 256;  // tiles per transform call (stack arrays of tile coordinates)

inline int64_t winoTilesH(const ConvGeom& g) { return (g.oh + 3) / 4; }
inline int64_t winoTilesW(const ConvGeom& g) { return (g.ow + 3) / 4; }
inline int64_t winoTiles(const ConvGeom& g) { return g.n * winoTilesH(g) * winoTilesW(g); }
/** Sub-kernels 3×3 per side: 1 (3×3), 2 (5×5), 3 (7×7). */
inline int64_t winoSub(const ConvGeom& g) { return (g.k + 2) / 3; }
/** GEMM depth: S·cin (row q = sub-kernel · cin + input channel). */
inline int64_t winoK(const ConvGeom& g) { return winoSub(g) * winoSub(g) * g.cin; }
/**
 * Floats between the 36 packed A matrices U[ξ] (cout × S·cin): whole cache lines, an odd number of
 * them, so that the 36 ξ streams the weight transform writes fall into 36 different cache sets (with
 * power-of-two channel counts the plain size is a multiple of 4 KiB for 512 channels and of 2 KiB
 * for 128 and 256: all 36 streams in one or two sets of a 12-way L1).
 */
/** `floats` rounded up to an odd number of cache lines (see winoUStride, winoXiStride). */
inline int64_t winoOddLines(int64_t floats) { return ((floats + 15) / 16 | 1) * 16; }
inline int64_t winoUStride(const ConvGeom& g) { return winoOddLines(packedASize(g.cout, winoK(g))); }
/** Floats of the transformed weights: 36 packed A matrices of cout × S·cin, winoUStride apart. */
inline int64_t winoWeightFloats(const ConvGeom& g) { return kWinoXi * winoUStride(g); }
/** Output channels per weight-transform task: whole MR-row panels (winoWeights computes a panel at once). */
constexpr int64_t kWinoWeightRows = 2 * kMR;
/** Scratch floats of a chunk of `tiles` without the ξ planes' padding: the planner's Winograd rule and chunk size read this. */
inline int64_t winoPlainScratchFloats(const ConvGeom& g, int64_t tiles) { return kWinoXi * tiles * (winoK(g) + g.cout + 2); }
constexpr int64_t kWinoScratchBudget = int64_t(1) << 20;  // a pool thread's scratch floats (ThreadPool::kScratchFloats; checked in executor.cc)
/**
 * `floats` rounded up to an odd number of cache lines: 36 ξ planes that far apart fall into 36
 * different cache sets (plain, power-of-two channel counts put them into one or two). Not for a
 * layer whose 16-tile chunk would then outgrow the scratch (the planner's Winograd rule reads the
 * unpadded size, so padding never changes which layers run Winograd, nor any bit).
 */
inline int64_t winoXiStride(const ConvGeom& g, int64_t floats) {
  const bool room = winoPlainScratchFloats(g, kNR) + 2 * kWinoXi * 32 <= kWinoScratchBudget;
  return room ? winoOddLines(floats) : floats;
}
/** Floats between the ξ planes of V ([36][T/16][S·cin][16]) and of M ([36][cout][T]) for T columns. */
inline int64_t winoVStride(const ConvGeom& g, int64_t T) { return winoXiStride(g, winoK(g) * T); }
inline int64_t winoMStride(const ConvGeom& g, int64_t T) { return winoXiStride(g, g.cout * T); }
/** Scratch floats a chunk of `tiles` (a multiple of 16) needs. */
inline int64_t winoScratchFloats(const ConvGeom& g, int64_t tiles) { return kWinoXi * (winoVStride(g, tiles) + winoMStride(g, tiles)) + 72 * tiles; }
/** A 3×3, 5×5 or 7×7 stride-1 "same" conv (pad (k−1)/2). */
inline bool winoEligible(const ConvGeom& g) {
  return (g.k == 3 || g.k == 5 || g.k == 7) && g.stride == 1 && g.pad == (g.k - 1) / 2 && g.oh == g.h && g.ow == g.w && g.h > 0 && g.w > 0;
}

/**
 * Transformed weights of output channels [co0, co1): U[ξ] packed as GEMM A (gemm.h) from the
 * conv's packed A (OIHW rows); the call whose range ends at cout also zeroes U's padding rows.
 */
using WinoWeightsFn = void (*)(const ConvGeom& g, const float* packedA, float* U, int64_t co0, int64_t co1);
/** The conv for tiles [t0, t1) (t1 − t0 ≤ the plan's chunk); scratch ≥ winoScratchFloats(g, chunk rounded up to 16). */
using WinoConvFn = void (*)(const ConvGeom& g, const float* U, const float* in, float* out, int64_t t0, int64_t t1, float* scratch);

/**
 * The same conv in three pieces over the whole layer ("layer-wide"), for layers whose transformed
 * weights are large next to their tiles (the wide, small-map stages: 37.7 MB of U for 512 → 512
 * channels, 64–128 tiles): each chunk of tiles would stream all of U again, here it is read once.
 * V ([36][T/16][S·cin][16]) and M ([36][cout][T]) hold one column per tile, T = tiles rounded up to
 * 16 (winoWideFloats). Input transform of tiles [t0, t0 + nt) (nt ≤ kWinoMaxChunk) into columns from
 * c0 (a multiple of 16), rows q ∈ [q0, q1); the GEMMs of ξ ∈ [xi0, xi1) over column panels
 * [p0, p1); the output transform of channels [co0, co1). Scratch: 72·kWinoMaxChunk floats (the
 * portable transforms). The same operations as winoConv, so the same bits.
 */
/** Columns of V and M for `tiles` tiles: whole 16-column GEMM panels (padding tiles are zero columns). */
inline int64_t winoCols(int64_t tiles) { return (tiles + kNR - 1) / kNR * kNR; }
inline int64_t winoWideFloats(const ConvGeom& g) { return kWinoXi * (winoVStride(g, winoCols(winoTiles(g))) + winoMStride(g, winoCols(winoTiles(g)))); }
using WinoInputColsFn = void (*)(const ConvGeom& g, const float* in, float* V, int64_t T, int64_t c0, int64_t t0, int64_t nt, int64_t q0, int64_t q1,
                                 float* scratch);
using WinoGemmColsFn = void (*)(const ConvGeom& g, const float* U, const float* V, float* M, int64_t T, int64_t xi0, int64_t xi1, int64_t p0,
                                int64_t p1);
using WinoOutputColsFn = void (*)(const ConvGeom& g, const float* M, int64_t T, int64_t c0, float* out, int64_t t0, int64_t nt, int64_t co0,
                                  int64_t co1, float* scratch);

/**
 * Winograd weight gradient F(3×3, 4×4), the dual of the forward's F(4×4, 3×3): per 4×4 output tile,
 * dW_sub = Gᵀ [(A dY Aᵀ) ⊙ (Bᵀ D B)] G (D: the 6×6 input patch of sub-kernel (a, b), shifted by
 * (3a, 3b)), summed over tiles as 36 GEMMs M[ξ] (cout × S·cin) = Σ_t dỸ[ξ][co][t] · X̃[ξ][q][t].
 * Tiles are taken in chunks of `ct` (a multiple of 8, ≤ 256): winoWgradPack transforms a chunk into
 * the GEMM's packed A (dỸ, MR-row panels over the chunk's tiles) and packed B (X̃, 16-column panels
 * of q), units [u0, u1) of winoWgradUnits (the A panels, then blocks of 8 q); the executor runs the
 * 36 GEMMs per chunk (accumulating in M), then winoWgradFinish turns M into dW rows [co0, co1).
 */
inline int64_t winoWgradKwPad(const ConvGeom& g) { return (winoK(g) + kNR - 1) / kNR * kNR; }
inline int64_t winoWgradCoPanels(const ConvGeom& g) { return (g.cout + kMR - 1) / kMR; }
inline int64_t winoWgradASize(const ConvGeom& g, int64_t ct) { return winoWgradCoPanels(g) * kMR * ct; }
inline int64_t winoWgradBSize(const ConvGeom& g, int64_t ct) { return winoWgradKwPad(g) * ct; }
inline int64_t winoWgradUnits(const ConvGeom& g) { return winoWgradCoPanels(g) + winoWgradKwPad(g) / 8; }
/** Floats between the ξ planes of the packed A, the packed B and M: odd numbers of cache lines (winoXiStride). */
inline int64_t winoWgradAStride(const ConvGeom& g, int64_t ct) { return winoOddLines(winoWgradASize(g, ct)); }
inline int64_t winoWgradBStride(const ConvGeom& g, int64_t ct) { return winoOddLines(winoWgradBSize(g, ct)); }
inline int64_t winoWgradMStride(const ConvGeom& g) { return winoOddLines(g.cout * winoWgradKwPad(g)); }
/** Floats of the plan buffer: packed A and B of every ξ for one chunk, then M. */
inline int64_t winoWgradFloats(const ConvGeom& g, int64_t ct) {
  return kWinoXi * (winoWgradAStride(g, ct) + winoWgradBStride(g, ct) + winoWgradMStride(g));
}
using WinoWgradPackFn = void (*)(const ConvGeom& g, const float* dy, const float* in, float* Ad, float* Bx, int64_t ct, int64_t t0,
                                 int64_t nt, int64_t u0, int64_t u1);
/** M[ξ] (+)= Ad[ξ] · Bx[ξ] over the chunk's nt tiles for ξ ∈ [xi0, xi1) (acc: add; the first chunk overwrites). */
using WinoWgradGemmFn = void (*)(const ConvGeom& g, const float* Ad, const float* Bx, float* M, int64_t ct, int64_t nt, int64_t xi0, int64_t xi1,
                                 bool acc);
/** dW[co][ci·k·k] (row stride cin·k·k, overwritten) from M ([36][cout][KwPad]), rows [co0, co1). */
using WinoWgradFinishFn = void (*)(const ConvGeom& g, const float* M, float* dW, int64_t co0, int64_t co1);

}  // namespace cpu
}  // namespace zennas
