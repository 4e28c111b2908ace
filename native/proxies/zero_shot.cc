#include "zero_shot.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../common/philox.h"

namespace zennas {
namespace cpu {

namespace {
constexpr uint32_t kStreamLabels = 0x40000002u;

int32_t philoxLabel(PhiloxKey key, uint32_t repeat, int64_t n, int32_t classes) {
  const uint32_t ctr[4] = {static_cast<uint32_t>(n / 4), kStreamLabels, repeat, 0};
  uint32_t o[4];
  philox4x32_10(ctr, key, o);
  return static_cast<int32_t>((static_cast<uint64_t>(o[n % 4]) * static_cast<uint64_t>(classes)) >> 32);
}
}  // namespace

Init resolveInit(const ProxyRequest& r, Init def) {
  if (r.init.empty()) return def;
  if (r.init == "normal") return Init::Normal;
  if (r.init == "torch") return Init::Torch;
  fail("E_OPTION", "init must be 'normal' or 'torch', got '" + r.init + "'");
}

void initParams(Executor& x, Init init, uint64_t seed, uint32_t repeat, ThreadPool& pool) {
  if (init == Init::Torch) {
    x.drawWeightsTorch(seed, repeat, pool);
  } else {
    x.drawWeights(seed, repeat, pool);
    x.scaleBiases(0);  // a torch-init call may have left biases in this cached plan
  }
}

void fillImages(Executor& x, const ProxyRequest& r, uint32_t repeat, int64_t first, int64_t n, ThreadPool& pool) {
  const Shape s = x.descriptor().valueShape[0];
  const int64_t C = s.c, hw = s.plane(), cs = x.channelStride(0);
  float* base = x.value(0);
  if (!r.input.empty()) {
    for (int64_t img = 0; img < n; ++img)
      for (int64_t c = 0; c < C; ++c)
        std::memcpy(base + c * cs + img * hw, r.input.data() + ((first + img) * C + c) * hw, sizeof(float) * static_cast<size_t>(hw));
    return;
  }
  const Kernels& k = selectKernels();
  const PhiloxKey key = PhiloxKey::fromSeed(r.seed);
  const int64_t piece = std::min<int64_t>(hw, int64_t(1) << 18);
  const int64_t pieces = (hw + piece - 1) / piece;
  pool.parallelFor(n * C * pieces, [&](int64_t t, int, float*) {
    const int64_t plane = t / pieces, p = t % pieces;
    const int64_t img = plane / C, c = plane % C;
    const int64_t b = p * piece, e = std::min(hw, b + piece);
    const size_t src = static_cast<size_t>(((first + img) * C + c) * hw);
    k.gaussianFill(key, kStreamInput, repeat, src + static_cast<size_t>(b), src + static_cast<size_t>(e), base + c * cs + img * hw + b);
  });
}

void fillConstant(Executor& x, float v) {
  const Shape s = x.descriptor().valueShape[0];
  const int64_t cs = x.channelStride(0), len = x.config().images * s.plane();
  float* base = x.value(0);
  for (int64_t c = 0; c < s.c; ++c) {
    std::fill(base + c * cs, base + c * cs + len, v);
    std::fill(base + c * cs + len, base + (c + 1) * cs, 0.f);
  }
}

void checkDataLengths(const Executor& x, const ProxyRequest& r, int64_t images, const char* proxy) {
  const Shape s = x.descriptor().valueShape[0];
  const int64_t per = s.size();
  if (!r.input.empty() && static_cast<int64_t>(r.input.size()) != images * per)
    fail("E_OPTION", std::string(proxy) + ": input holds " + std::to_string(r.input.size()) + " floats, expected " + std::to_string(images) + " images × " +
                         std::to_string(per) + " (NCHW [" + std::to_string(images) + "][" + std::to_string(s.c) + "][" + std::to_string(s.h) + "][" +
                         std::to_string(s.w) + "])");
  if (!r.labels.empty() && static_cast<int64_t>(r.labels.size()) != images)
    fail("E_OPTION", std::string(proxy) + ": " + std::to_string(r.labels.size()) + " labels given, expected " + std::to_string(images) + " (one per image)");
}

int32_t requestLabel(const ProxyRequest& r, uint32_t repeat, int64_t at, int32_t classes) {
  const int32_t label = r.labels.empty() ? philoxLabel(PhiloxKey::fromSeed(r.seed), repeat, at, classes) : r.labels[static_cast<size_t>(at)];
  if (label < 0 || label >= classes)
    fail("E_OPTION", "labels[" + std::to_string(at) + "] = " + std::to_string(label) + " is not a class in 0.." + std::to_string(classes - 1));
  return label;
}

double seedCrossEntropy(Executor& x, const ProxyRequest& r, uint32_t repeat, int64_t first, const char* proxy) {
  const Descriptor& d = x.descriptor();
  const int64_t B = x.config().images;
  for (size_t k = 1; k < d.outputs.size(); ++k) {  // only outputs[0] carries the loss
    const int32_t v = d.outputs[k];
    std::memset(x.grad(v), 0, sizeof(float) * static_cast<size_t>(d.valueShape[static_cast<size_t>(v)].c * x.channelStride(v)));
  }
  const int32_t v = d.outputs[0];
  const Shape s = d.valueShape[static_cast<size_t>(v)];
  if (s.h != 1 || s.w != 1)
    fail("E_STRUCTURE", std::string(proxy) + " needs logits [classes][1][1] as the first output (a classifier head), got [" + std::to_string(s.c) + "][" +
                            std::to_string(s.h) + "][" + std::to_string(s.w) + "]");
  const int64_t cs = x.channelStride(v);
  const float* y = x.value(v);
  float* g = x.grad(v);
  const int32_t classes = static_cast<int32_t>(s.c);
  const PhiloxKey key = PhiloxKey::fromSeed(r.seed);
  std::memset(g, 0, sizeof(float) * static_cast<size_t>(s.c * cs));
  double loss = 0;
  for (int64_t n = 0; n < B; ++n) {
    const int64_t at = first + n;
    const int32_t label = r.labels.empty() ? philoxLabel(key, repeat, at, classes) : r.labels[static_cast<size_t>(at)];
    if (label < 0 || label >= classes)
      fail("E_OPTION", "labels[" + std::to_string(at) + "] = " + std::to_string(label) + " is not a class in 0.." + std::to_string(classes - 1));
    double mx = -INFINITY;
    for (int32_t c = 0; c < classes; ++c) mx = std::max(mx, static_cast<double>(y[c * cs + n]));
    double z = 0;
    for (int32_t c = 0; c < classes; ++c) z += std::exp(static_cast<double>(y[c * cs + n]) - mx);
    const double lse = mx + std::log(z);
    loss += lse - static_cast<double>(y[label * cs + n]);
    for (int32_t c = 0; c < classes; ++c) {
      const double p = std::exp(static_cast<double>(y[c * cs + n]) - lse);
      g[c * cs + n] = static_cast<float>((p - (c == label ? 1.0 : 0.0)) / static_cast<double>(B));
    }
  }
  return loss / static_cast<double>(B);
}

double crossEntropyBackward(Executor& x, const ProxyRequest& r, uint32_t repeat, int64_t first, ThreadPool& pool, const char* proxy,
                            bool weightGradsOnly) {
  fillImages(x, r, repeat, first, x.config().images, pool);
  Executor::ForwardMode mode;
  mode.bnEps = r.bnEps;
  x.forward(pool, mode);
  const double loss = seedCrossEntropy(x, r, repeat, first, proxy);
  x.backward(pool, false, weightGradsOnly);
  return loss;
}

void runCrossEntropyRepeats(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out, const char* proxy, Init def,
                            const std::function<double(Executor&)>& score) {
  checkDataLengths(x, r, r.batch, proxy);
  checkTrainBn(x, proxy, "use batchSize ≥ 2");
  const Init init = resolveInit(r, def);
  ZeroBiasesOnExit restore{x};
  std::vector<double> loss;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    loss.push_back(crossEntropyBackward(x, r, repeat, 0, pool, proxy, true));  // the scores read weight gradients only
    out.scores.push_back(score(x));
  }
  out.series.emplace_back("loss", std::move(loss));
}

double seedSum(Executor& x, float gv) {
  const Descriptor& d = x.descriptor();
  for (size_t k = 1; k < d.outputs.size(); ++k) {
    const int32_t v = d.outputs[k];
    std::memset(x.grad(v), 0, sizeof(float) * static_cast<size_t>(d.valueShape[static_cast<size_t>(v)].c * x.channelStride(v)));
  }
  const int32_t v = d.outputs[0];
  const Shape s = d.valueShape[static_cast<size_t>(v)];
  const int64_t cs = x.channelStride(v), len = x.config().images * s.plane();
  const float* y = x.value(v);
  float* g = x.grad(v);
  double sum = 0;
  for (int64_t c = 0; c < s.c; ++c) {
    for (int64_t j = 0; j < len; ++j) {
      sum += y[c * cs + j];
      g[c * cs + j] = gv;
    }
    for (int64_t j = len; j < cs; ++j) g[c * cs + j] = 0.f;
  }
  return sum;
}

void checkTrainBn(const Executor& x, const char* proxy, const char* fix) {
  const Descriptor& d = x.descriptor();
  const int64_t per = x.config().images / x.config().groups;
  for (size_t i = 0; i < d.ops.size(); ++i) {
    const OpDesc& o = d.ops[i];
    if (o.op == OpCode::BN && per * o.in.plane() < 2)
      fail("E_OPTION", std::string(proxy) + ": training-mode BN op " + std::to_string(i) + " normalises a single value per channel (" + std::to_string(per) +
                           " image(s) of " + std::to_string(o.in.h) + "×" + std::to_string(o.in.w) + "): its batch statistics are undefined (PyTorch: " +
                           "'Expected more than 1 value per channel when training'); " + fix);
  }
}

std::vector<double> symmetricEigenvalues(std::vector<double> a, int64_t n) {
  auto A = [&](int64_t i, int64_t j) -> double& { return a[static_cast<size_t>(i * n + j)]; };
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) A(i, j) = A(j, i);
  std::vector<double> d(static_cast<size_t>(n)), e(static_cast<size_t>(n), 0.0), v(static_cast<size_t>(n)), w(static_cast<size_t>(n));
  // Householder: H = I − 2vvᵀ zeroes column k below the subdiagonal; A ← HAH = A − 2(v wᵀ + w vᵀ), w = Av − (vᵀAv) v.
  for (int64_t k = 0; k + 2 < n; ++k) {
    double norm = 0;
    for (int64_t i = k + 1; i < n; ++i) norm += A(i, k) * A(i, k);
    norm = std::sqrt(norm);
    const double x0 = A(k + 1, k);
    const double alpha = x0 > 0 ? -norm : norm;
    d[static_cast<size_t>(k)] = A(k, k);
    e[static_cast<size_t>(k)] = alpha;
    double vn = 0;
    for (int64_t i = k + 1; i < n; ++i) {
      v[static_cast<size_t>(i)] = A(i, k) - (i == k + 1 ? alpha : 0.0);
      vn += v[static_cast<size_t>(i)] * v[static_cast<size_t>(i)];
    }
    if (norm == 0 || vn == 0) {
      e[static_cast<size_t>(k)] = x0;  // the column is already reduced
      continue;
    }
    vn = std::sqrt(vn);
    for (int64_t i = k + 1; i < n; ++i) v[static_cast<size_t>(i)] /= vn;
    double K = 0;
    for (int64_t i = k + 1; i < n; ++i) {
      double p = 0;
      for (int64_t j = k + 1; j < n; ++j) p += A(i, j) * v[static_cast<size_t>(j)];
      w[static_cast<size_t>(i)] = p;
      K += v[static_cast<size_t>(i)] * p;
    }
    for (int64_t i = k + 1; i < n; ++i) w[static_cast<size_t>(i)] -= K * v[static_cast<size_t>(i)];
    for (int64_t i = k + 1; i < n; ++i)
      for (int64_t j = k + 1; j < n; ++j) A(i, j) -= 2 * (v[static_cast<size_t>(i)] * w[static_cast<size_t>(j)] + w[static_cast<size_t>(i)] * v[static_cast<size_t>(j)]);
  }
  if (n >= 2) {
    d[static_cast<size_t>(n - 2)] = A(n - 2, n - 2);
    e[static_cast<size_t>(n - 2)] = A(n - 1, n - 2);
  }
  if (n >= 1) d[static_cast<size_t>(n - 1)] = A(n - 1, n - 1);
  e[static_cast<size_t>(n - 1)] = 0;
  // Implicit QL with Wilkinson shifts on (d, e): e[i] couples d[i] and d[i + 1].
  for (int64_t l = 0; l < n; ++l) {
    for (int iter = 0;; ++iter) {
      int64_t m = l;
      for (; m + 1 < n; ++m) {
        const double dd = std::fabs(d[static_cast<size_t>(m)]) + std::fabs(d[static_cast<size_t>(m + 1)]);
        if (std::fabs(e[static_cast<size_t>(m)]) + dd == dd) break;
      }
      if (m == l) break;
      if (iter == 200) fail("E_INTERNAL", "symmetric eigenvalues: the QL iteration did not converge");
      double g = (d[static_cast<size_t>(l + 1)] - d[static_cast<size_t>(l)]) / (2.0 * e[static_cast<size_t>(l)]);
      double r = std::hypot(g, 1.0);
      g = d[static_cast<size_t>(m)] - d[static_cast<size_t>(l)] + e[static_cast<size_t>(l)] / (g + (g >= 0 ? r : -r));
      double s = 1, c = 1, p = 0;
      int64_t i = m - 1;
      bool deflated = false;
      for (; i >= l; --i) {
        const double f = s * e[static_cast<size_t>(i)], b = c * e[static_cast<size_t>(i)];
        r = std::hypot(f, g);
        e[static_cast<size_t>(i + 1)] = r;
        if (r == 0) {
          d[static_cast<size_t>(i + 1)] -= p;
          e[static_cast<size_t>(m)] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[static_cast<size_t>(i + 1)] - p;
        r = (d[static_cast<size_t>(i)] - g) * s + 2.0 * c * b;
        p = s * r;
        d[static_cast<size_t>(i + 1)] = g + p;
        g = c * r - b;
      }
      if (deflated) continue;
      d[static_cast<size_t>(l)] -= p;
      e[static_cast<size_t>(l)] = g;
      e[static_cast<size_t>(m)] = 0;
    }
  }
  std::sort(d.begin(), d.end());
  return d;
}

double seedImageSum(Executor& x, int64_t img, float gv) {
  const Descriptor& d = x.descriptor();
  for (size_t k = 1; k < d.outputs.size(); ++k) {
    const int32_t v = d.outputs[k];
    std::memset(x.grad(v), 0, sizeof(float) * static_cast<size_t>(d.valueShape[static_cast<size_t>(v)].c * x.channelStride(v)));
  }
  const int32_t v = d.outputs[0];
  const Shape s = d.valueShape[static_cast<size_t>(v)];
  const int64_t cs = x.channelStride(v), plane = s.plane();
  const float* y = x.value(v);
  float* g = x.grad(v);
  std::memset(g, 0, sizeof(float) * static_cast<size_t>(s.c * cs));
  double sum = 0;
  for (int64_t c = 0; c < s.c; ++c)
    for (int64_t p = 0; p < plane; ++p) {
      sum += y[c * cs + img * plane + p];
      g[c * cs + img * plane + p] = gv;
    }
  return sum;
}

}  // namespace cpu
}  // namespace zennas
