// Building blocks of the zero-shot proxies (grad_norm, snip, synflow, naswot, gsnr, …): weight
// init by name, input images (Philox or data), loss seeds, and the parameter loops. Definitions:
// native/DESCRIPTOR.md "Zero-shot proxies" and src/proxies/table.ts.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "proxy.h"

namespace zennas {
namespace cpu {

enum class Init { Normal, Torch };

/** The request's init ('' → the proxy's default `def`). */
Init resolveInit(const ProxyRequest& r, Init def);

/**
 * Draws the parameters of a repeat: N(0,1) weights with LINEAR biases 0, or PyTorch's default
 * (U(−1/√fan_in, 1/√fan_in) weights and biases). BN γ = 1, β = 0 always.
 */
void initParams(Executor& x, Init init, uint64_t seed, uint32_t repeat, ThreadPool& pool);

/**
 * Plans are cached and shared between proxies; the Zen-score and 'gradients' expect LINEAR biases
 * at 0 after drawWeights. A proxy that sets biases (torch init, |·|) holds one of these.
 */
struct ZeroBiasesOnExit {
  Executor& x;
  ~ZeroBiasesOnExit() { x.scaleBiases(0); }
};

/**
 * Images [0, n) of value 0 ← images [first, first + n) of the request's input: `r.input` (data,
 * NCHW, the same every repeat) or the N(0,1) tensor [total][C][H][W] of Philox stream kStreamInput
 * and this repeat (so images [0, B) are the Zen-score's x).
 */
void fillImages(Executor& x, const ProxyRequest& r, uint32_t repeat, int64_t first, int64_t n, ThreadPool& pool);
/** Every element of value 0 (all images of the plan) ← v. */
void fillConstant(Executor& x, float v);

/** Images the request's `input` / `labels` must hold when given (else E_OPTION naming the option). */
void checkDataLengths(const Executor& x, const ProxyRequest& r, int64_t images, const char* proxy);

/**
 * Softmax cross-entropy on outputs[0] (logits [classes][1][1]) of the plan's images, mean over
 * them; labels [first, first + images) of r.labels or of the Philox label stream of this repeat.
 * Seeds the output gradients; returns the loss.
 */
double seedCrossEntropy(Executor& x, const ProxyRequest& r, uint32_t repeat, int64_t first, const char* proxy);
/** Label of image `at` (of all the request's images): r.labels[at] or the Philox label stream of this repeat; E_OPTION outside 0..classes−1. */
int32_t requestLabel(const ProxyRequest& r, uint32_t repeat, int64_t at, int32_t classes);
/** ∂(g · Σ outputs[0]) seeded; returns Σ outputs[0] (FP64). */
double seedSum(Executor& x, float g);

/**
 * One cross-entropy gradient of the plan's images: images and labels [first, first + images) of
 * this repeat, training-mode forward, CE seed, reverse pass (no input gradient). weightGradsOnly:
 * the caller reads weight gradients only, so a BN with a folded ReLU may run both backward steps as
 * one (the same bits; its output value then has no gradient of its own). Returns the loss.
 */
double crossEntropyBackward(Executor& x, const ProxyRequest& r, uint32_t repeat, int64_t first, ThreadPool& pool, const char* proxy,
                            bool weightGradsOnly = false);

/**
 * The loop of the single-gradient proxies (grad_norm, grad_norm_zc, snip): checks the data and the
 * training-mode BN, then per repeat draws the parameters (`r.init`, else `def`), runs one
 * cross-entropy gradient and pushes score(x) to out.scores (score reads weight gradients only:
 * crossEntropyBackward's weightGradsOnly); biases are zeroed again on exit and the losses become
 * the series `loss`.
 */
void runCrossEntropyRepeats(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out, const char* proxy, Init def,
                            const std::function<double(Executor&)>& score);

/** CONV, DWCONV, LINEAR: the layers with a `weight` (nn.Conv2d / nn.Linear). */
inline bool isWeightLayer(OpCode op) { return op == OpCode::Conv || op == OpCode::DwConv || op == OpCode::Linear; }

/**
 * E_OPTION when a training-mode BN of the plan normalises one value per channel (images·H·W < 2 in
 * a group): PyTorch refuses it ("Expected more than 1 value per channel when training").
 */
void checkTrainBn(const Executor& x, const char* proxy, const char* fix);

/**
 * Eigenvalues of the symmetric n×n matrix `a` (row-major, float64; only the lower triangle is
 * read), ascending: Householder reduction to tridiagonal form, then the implicit QL method with
 * Wilkinson shifts (EISPACK tred1 + tql1, LAPACK's dsterf in spirit). Backward stable: each
 * eigenvalue to within a few ulps of max|λ|. E_INTERNAL if QL does not converge (never seen).
 */
std::vector<double> symmetricEigenvalues(std::vector<double> a, int64_t n);

/** Seeds ∂(g · Σ of image `img`'s part of outputs[0]) (every other image's and output's gradient 0); returns that sum. */
double seedImageSum(Executor& x, int64_t img, float g);

}  // namespace cpu
}  // namespace zennas
