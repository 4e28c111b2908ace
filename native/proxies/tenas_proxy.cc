// The TE-NAS proxies (VITA-Group/TENAS lib/procedures/{ntk.py, linear_region_counter.py}, as
// Zen-NAS ZeroShotProxy/compute_te_nas_score.py runs them: PyTorch-default init, Gaussian input,
// the network without residual links + GAP + Linear head, training-mode BN):
//   `tenas_ntk`: one forward of the batch (B images); per image i one backward of Σ_c f_i,c (its
//     logits) through the batch graph (BN couples the images), g_i = the gradients of every
//     'weight' parameter (CONV / DWCONV / LINEAR weights and BN γ; not LINEAR biases or BN β);
//     NTK = G Gᵀ (FP64), cond = λmax / λmin (float64 eigenvalues); NaN → 1e5 and ±inf → ±DBL_MAX
//     (TE-NAS: np.nan_to_num(cond, nan=100000.0)). Score = cond (lower is better; Zen-NAS's
//     compute_NTK_score returns −cond). Series `lambdaMin`, `lambdaMax`.
//   `tenas_lr`: sampleBatches forwards of B images (images [jB, (j+1)B) of the repeat's input,
//     each batch with its own BN statistics); per image the code = (input of every RELU > 0), all
//     RELUs concatenated in op order (TE-NAS hooks every nn.ReLU with a 4-D input, SE's included);
//     score = the number of distinct codes among the sampleBatches·B images, counted exactly
//     (TE-NAS's Σ_i 1/#{j : code_j = code_i}). Series `units` (code length).
//   `tenas`: R_N − cond on the same weights (Zen-NAS compute_te_nas_score.py's __main__:
//     RN + compute_NTK_score = RN − cond; TE-NAS itself ranks the two). Series `linearRegions`,
//     `ntkCond`.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>

#include "zero_shot.h"

namespace zennas {
namespace cpu {

namespace {

ExecutorConfig config(const ProxyRequest& r) { return {int64_t(r.batch), 1, r.resolution, true}; }

struct Ntk {
  double cond, lmin, lmax;
};

/**
 * The NTK condition number of images [0, B): one forward, then B reverse passes (one per image),
 * split over the lanes — lane l runs passes l, l + L, … on its own plan and one core — with the
 * same parameters (`init`) and input on every lane's plan.
 */
Ntk ntkCond(Lanes& lanes, Init init, const ProxyRequest& r, uint32_t repeat, ThreadPool& pool, std::vector<float>& G) {
  Executor& x = lanes.plan(0);
  const Descriptor& d = x.descriptor();
  const int64_t B = r.batch;
  int64_t P = 0;
  for (const OpDesc& o : d.ops) P += isWeightLayer(o.op) ? o.weights : o.op == OpCode::BN ? o.cin : 0;
  if (P == 0) fail("E_STRUCTURE", "tenas_ntk: the network has no weight parameter (conv, linear or BN γ)");
  G.resize(static_cast<size_t>(B * P));
  const int L = lanes.open(static_cast<int>(std::min<int64_t>(B, pool.threads())));
  Executor::ForwardMode mode;
  mode.bnEps = r.bnEps;
  for (int l = 0; l < L; ++l) {  // lane 0's parameters were drawn by the caller
    Executor& xl = lanes.plan(l);
    if (l > 0) initParams(xl, init, r.seed, repeat, pool);
    fillImages(xl, r, repeat, 0, B, pool);
    xl.forward(pool, mode);
  }
  const auto pass = [&](Executor& xl, ThreadPool& pl, int64_t i) {
    checkCancelled(r);
    seedImageSum(xl, i, 1.f);
    xl.backward(pl, false, true);  // reads weight gradients only: the fused BN + ReLU step may run
    float* row = G.data() + i * P;
    for (size_t op = 0; op < d.ops.size(); ++op) {
      const OpDesc& o = d.ops[op];
      const int64_t n = isWeightLayer(o.op) ? o.weights : o.op == OpCode::BN ? o.cin : 0;  // BN: dγ first
      if (n == 0) continue;
      std::memcpy(row, xl.weightGrad(op), sizeof(float) * static_cast<size_t>(n));
      row += n;
    }
  };
  if (L == 1) {
    for (int64_t i = 0; i < B; ++i) pass(x, pool, i);
  } else {
    pool.parallelFor(L, [&](int64_t l, int, float*) {
      for (int64_t i = l; i < B; i += L) pass(lanes.plan(static_cast<int>(l)), lanes.pool(static_cast<int>(l)), i);
    });
  }
  std::vector<double> K(static_cast<size_t>(B * B));
  const Kernels& k = selectKernels();
  pool.parallelFor(B * B, [&](int64_t t, int, float*) {
    const int64_t i = t / B, j = t % B;
    if (j < i) return;
    const double s = k.dot(G.data() + i * P, G.data() + j * P, P);  // float64 sums (vectorised)
    K[static_cast<size_t>(i * B + j)] = K[static_cast<size_t>(j * B + i)] = s;
  });
  const std::vector<double> v = symmetricEigenvalues(std::move(K), B);
  double cond = v.back() / v.front();
  if (std::isnan(cond)) cond = 1e5;
  else if (std::isinf(cond)) cond = cond > 0 ? DBL_MAX : -DBL_MAX;
  return {cond, v.front(), v.back()};
}

/** Zeroes the biases of every lane's plan on exit (ZeroBiasesOnExit for lanes). */
struct ZeroLaneBiasesOnExit {
  Lanes& lanes;
  ~ZeroLaneBiasesOnExit() {
    for (int l = 0; l < lanes.count(); ++l) lanes.plan(l).scaleBiases(0);
  }
};

/** Every RELU op (TE-NAS's hooks on nn.ReLU). */
std::vector<size_t> relus(const Descriptor& d) {
  std::vector<size_t> out;
  for (size_t i = 0; i < d.ops.size(); ++i)
    if (d.ops[i].op == OpCode::Relu) out.push_back(i);
  return out;
}

/** Distinct ReLU codes among sampleBatches·B images; `units` ← the code length. */
double linearRegions(Executor& x, const ProxyRequest& r, uint32_t repeat, ThreadPool& pool, double* units) {
  const Descriptor& d = x.descriptor();
  const int64_t B = r.batch, S = int64_t(r.sampleBatches) * B;
  const std::vector<size_t> rl = relus(d);
  if (rl.empty()) fail("E_STRUCTURE", "tenas_lr: the network has no ReLU (no activation pattern to count)");
  int64_t bits = 0;
  for (size_t i : rl) bits += d.valueShape[static_cast<size_t>(d.ops[i].value)].size();
  *units = static_cast<double>(bits);
  const int64_t bytes = (bits + 7) / 8;
  if (static_cast<double>(bytes) * static_cast<double>(S) > 4.0 * 1024 * 1024 * 1024)
    fail("E_OUT_OF_MEMORY", "tenas_lr: " + std::to_string(S) + " activation codes of " + std::to_string(bits) +
                                " bits exceed 4 GiB (lower sampleBatches, batchSize or resolution)");
  std::vector<std::string> codes(static_cast<size_t>(B), std::string(static_cast<size_t>(bytes), '\0'));
  std::unordered_set<std::string> seen;
  seen.reserve(static_cast<size_t>(S));
  Executor::ForwardMode mode;
  mode.bnEps = r.bnEps;
  for (int64_t j = 0; j < r.sampleBatches; ++j) {
    checkCancelled(r);
    fillImages(x, r, repeat, j * B, B, pool);
    x.forward(pool, mode);
    pool.parallelFor(B, [&](int64_t img, int, float*) {
      std::string& c = codes[static_cast<size_t>(img)];
      std::fill(c.begin(), c.end(), '\0');
      int64_t at = 0;
      for (size_t i : rl) {
        const int32_t v = d.ops[i].value;
        const Shape s = d.valueShape[static_cast<size_t>(v)];
        const int64_t plane = s.plane(), cs = x.channelStride(v);
        const float* y = x.value(v);
        for (int64_t ch = 0; ch < s.c; ++ch) {
          const float* row = y + ch * cs + img * plane;
          for (int64_t p = 0; p < plane; ++p, ++at)
            if (row[p] > 0) c[static_cast<size_t>(at >> 3)] = static_cast<char>(static_cast<unsigned char>(c[static_cast<size_t>(at >> 3)]) | (1u << (at & 7)));
        }
      }
    });
    for (const std::string& c : codes) seen.insert(c);
  }
  return static_cast<double>(seen.size());
}

void checkCommon(Executor& x, const ProxyRequest& r, const char* proxy, int64_t images) {
  if (!r.labels.empty()) fail("E_OPTION", std::string(proxy) + " takes no labels");
  if (r.sampleBatches < 1) fail("E_OPTION", std::string(proxy) + ": sampleBatches must be ≥ 1");
  checkDataLengths(x, r, images, proxy);
  checkTrainBn(x, proxy, "use batchSize ≥ 2");
}

void runNtk(Lanes& lanes, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  Executor& x = lanes.plan(0);
  checkCommon(x, r, "tenas_ntk", r.batch);
  const Init init = resolveInit(r, Init::Torch);
  ZeroLaneBiasesOnExit restore{lanes};
  std::vector<float> G;
  std::vector<double> lmin, lmax;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    const Ntk n = ntkCond(lanes, init, r, repeat, pool, G);
    out.scores.push_back(n.cond);
    lmin.push_back(n.lmin);
    lmax.push_back(n.lmax);
  }
  out.series.emplace_back("lambdaMin", std::move(lmin));
  out.series.emplace_back("lambdaMax", std::move(lmax));
}

void runLr(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  checkCommon(x, r, "tenas_lr", int64_t(r.sampleBatches) * r.batch);
  const Init init = resolveInit(r, Init::Torch);
  ZeroBiasesOnExit restore{x};
  std::vector<double> units;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    double u = 0;
    out.scores.push_back(linearRegions(x, r, repeat, pool, &u));
    units.push_back(u);
  }
  out.series.emplace_back("units", std::move(units));
}

void runTenas(Lanes& lanes, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  Executor& x = lanes.plan(0);
  checkCommon(x, r, "tenas", int64_t(r.sampleBatches) * r.batch);
  const Init init = resolveInit(r, Init::Torch);
  ZeroLaneBiasesOnExit restore{lanes};
  std::vector<float> G;
  std::vector<double> lr, cond;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    double u = 0;
    const double regions = linearRegions(x, r, repeat, pool, &u);
    const Ntk n = ntkCond(lanes, init, r, repeat, pool, G);
    out.scores.push_back(regions - n.cond);
    lr.push_back(regions);
    cond.push_back(n.cond);
  }
  out.series.emplace_back("linearRegions", std::move(lr));
  out.series.emplace_back("ntkCond", std::move(cond));
}

}  // namespace

extern const CpuProxy kTenasNtkProxy = {"tenas_ntk", config, nullptr, runNtk};
extern const CpuProxy kTenasLrProxy = {"tenas_lr", config, runLr};
extern const CpuProxy kTenasProxy = {"tenas", config, nullptr, runTenas};

}  // namespace cpu
}  // namespace zennas
