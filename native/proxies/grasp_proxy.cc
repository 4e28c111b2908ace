// `grasp` (zero-cost-nas foresight/pruners/measures/grasp.py, T = 1, one iteration): PyTorch-default
// init, the network as trained, CE on labels, training-mode BN; g = ∂L/∂W over the CONV / DWCONV /
// LINEAR weights, score = Σ −W ⊙ (H g) with H the Hessian of L over those weights.
//
// The official code gets Hg exactly by a double backward. This engine has no second-order pass, so
// the native variant (the table's variant, src/proxies/table.ts) uses two facts instead:
//  * only the sum is reported, and H is symmetric: Σ W ⊙ Hg = Wᵀ H g = gᵀ H W = ψ'(0) with
//    ψ(ε) = g · ∇_W L((1 + ε)·W), a derivative along W itself;
//  * along W, every conv followed by a training-mode BN is scale-free up to BN's ε, so no ReLU
//    input changes sign: ψ is smooth there and a finite difference does not pick up ReLU kinks.
// ψ'(0) by the 5-point central difference with h = 1/16 (error O(h⁴)): [ψ(−2h) − 8ψ(−h) + 8ψ(h) −
// ψ(2h)] / 12h. Float32 gradients bound it to ~1e-5 relative of the exact value (test/proxies-grasp.test.ts).
// A weight layer not followed by BN (NAS-Bench-201's shortcut conv) breaks the second fact: refused
// with E_STRUCTURE naming the op. Where a BN normalises few values (an SE module's BN over the batch of 1×1 maps: variance ~1e-3)
// its ε is not small against the variance, the step moves that BN's output by ~(ε/σ²)·h and ψ is far
// from polynomial at the scale of h (measured on an SE block, B = 6: 70-550 % off; h ≤ 1e-3 would do
// in float64 but is lost to float32 rounding). So the two 3-point estimates D(h), D(2h) are compared: their spread
// |D(h) − D(2h)| / max(|ψ'|, 1e-3·‖g‖²) (series `spread`; ~1e-4 on smooth nets) above 1e-2 is an
// E_STRUCTURE error, not a wrong score. Cost: 5 forward + backward passes. Series `loss`, `gHW`
// (= gᵀHW = −score), `spread`.
#include <algorithm>
#include <cmath>
#include <vector>

#include "zero_shot.h"

namespace zennas {
namespace cpu {

namespace {

constexpr double kStep = 1.0 / 16;
constexpr double kMaxSpread = 1e-2;

ExecutorConfig config(const ProxyRequest& r) { return {int64_t(r.batch), 1, r.resolution, true}; }

/** Σ over the weight layers of g · ∂L/∂W (float64) of the last backward. */
double dotWeightGrads(Executor& x, const std::vector<std::vector<float>>& g) {
  const Descriptor& d = x.descriptor();
  double s = 0;
  for (size_t i = 0; i < d.ops.size(); ++i) {
    if (!isWeightLayer(d.ops[i].op)) continue;
    const float* w = x.weightGrad(i);
    const std::vector<float>& gi = g[i];
    for (size_t j = 0; j < gi.size(); ++j) s += static_cast<double>(gi[j]) * w[j];
  }
  return s;
}

/**
 * E_STRUCTURE unless every weight layer feeds only BNs or no op (the classifier, whose logits go to
 * the loss): along W any other layer (NAS-Bench-201's BN-free shortcut conv, a BN-free stack) moves
 * ReLU inputs across 0 and the difference is wrong by O(1) (measured: 350 % on an NB201 cell net).
 */
void checkBnAfterWeights(const Descriptor& d) {
  for (size_t i = 0; i < d.ops.size(); ++i) {
    if (!isWeightLayer(d.ops[i].op)) continue;
    for (size_t j = 0; j < d.ops.size(); ++j)
      for (int32_t in : d.ops[j].inputs)
        if (in == d.ops[i].value && d.ops[j].op != OpCode::BN)
          fail("E_STRUCTURE", "grasp: op " + std::to_string(i) + " (" + opName(d.ops[i].op) + ") feeds op " + std::to_string(j) + " (" + opName(d.ops[j].op) +
                                  "), not a BN: the engine's Hg (a difference along W) needs every conv/linear but the classifier followed by training-mode BN; " +
                                  "score this net with the float64 reference (proxyReference('grasp', …)) or PyTorch's double backward (test/torch/proxies.py)");
  }
}

void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  const char* name = "grasp";
  checkBnAfterWeights(x.descriptor());
  checkDataLengths(x, r, r.batch, name);
  checkTrainBn(x, name, "use batchSize ≥ 2");
  const Init init = resolveInit(r, Init::Torch);
  const Descriptor& d = x.descriptor();
  ZeroBiasesOnExit restore{x};
  std::vector<std::vector<float>> g(d.ops.size());
  std::vector<double> loss, psi, spread;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    loss.push_back(crossEntropyBackward(x, r, repeat, 0, pool, name));
    for (size_t i = 0; i < d.ops.size(); ++i)
      if (isWeightLayer(d.ops[i].op)) g[i].assign(x.weightGrad(i), x.weightGrad(i) + d.ops[i].weights);
    // ψ(±h), ψ(±2h): each from freshly drawn weights scaled once (no rounding carried between steps).
    const double steps[4] = {-2 * kStep, -kStep, kStep, 2 * kStep};
    double v[4];
    for (int k = 0; k < 4; ++k) {
      checkCancelled(r);
      initParams(x, init, r.seed, repeat, pool);
      x.scaleWeights(1 + steps[k]);
      crossEntropyBackward(x, r, repeat, 0, pool, name);
      v[k] = dotWeightGrads(x, g);
    }
    const double gHW = (v[0] - 8 * v[1] + 8 * v[2] - v[3]) / (12 * kStep);
    const double d1 = (v[2] - v[1]) / (2 * kStep), d2 = (v[3] - v[0]) / (4 * kStep);
    double gg = 0;
    for (const std::vector<float>& gi : g)
      for (float e : gi) gg += static_cast<double>(e) * e;
    const double sp = std::fabs(d1 - d2) / std::max(std::fabs(gHW), 1e-3 * gg);
    if (!(sp <= kMaxSpread))
      fail("E_STRUCTURE", "grasp: the engine's difference along W is not smooth on this net (repeat " + std::to_string(repeat) + ": the 3-point estimates at h and 2h " +
                              "differ by " + std::to_string(100 * sp) + " % of gᵀHW, over " + std::to_string(100 * kMaxSpread) + " %): a BN over few values " +
                              "(an SE module's?) lets the step cross ReLU kinks; score this net with the float64 reference (proxyReference('grasp', …)) or " +
                              "PyTorch's double backward (test/torch/proxies.py)");
    psi.push_back(gHW);
    spread.push_back(sp);
    out.scores.push_back(-gHW);
  }
  out.series.emplace_back("loss", std::move(loss));
  out.series.emplace_back("gHW", std::move(psi));
  out.series.emplace_back("spread", std::move(spread));
}

}  // namespace

extern const CpuProxy kGraspProxy = {"grasp", config, run};

}  // namespace cpu
}  // namespace zennas
