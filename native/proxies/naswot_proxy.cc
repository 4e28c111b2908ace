// `naswot` (Zen-NAS ZeroShotProxy/compute_NASWOT_score.py, after BayesWatch's nas-without-training):
// N(0,1) init, the Gaussian input (batchSize images, table default 8), one training-mode forward;
// per image the binary code c = (input of every coded ReLU > 0), K = Σ over those ReLUs of
// c cᵀ + (1 − c)(1 − c)ᵀ — K[i][j] = number of units where images i and j agree — and
// score = ln|det K| (float64 LU with partial pivoting, numpy's slogdet). Coded ReLUs: every RELU
// except those whose value reaches the outputs only through a MUL's gate (SE's nn.ReLU, which the
// official hooks on basic_blocks.RELU do not see). The code is read from the ReLU's output
// (relu(x) > 0 ⇔ x > 0): a backward plan keeps every value. Two images with identical codes make
// K singular: E_OPTION when the images themselves are identical, E_STRUCTURE otherwise.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "zero_shot.h"

namespace zennas {
namespace cpu {

namespace {

ExecutorConfig config(const ProxyRequest& r) { return {int64_t(r.batch), 1, r.resolution, true}; }

/** RELU ops whose value reaches an output other than through a MUL's gate input. */
std::vector<size_t> codedRelus(const Descriptor& d) {
  std::vector<bool> main(d.ops.size() + 1, false);
  for (int32_t v : d.outputs) main[static_cast<size_t>(v)] = true;
  for (size_t i = d.ops.size(); i-- > 0;) {
    const OpDesc& o = d.ops[i];
    if (!main[static_cast<size_t>(o.value)]) continue;
    for (size_t k = 0; k < o.inputs.size(); ++k)
      if (!(o.op == OpCode::Mul && k == 1)) main[static_cast<size_t>(o.inputs[k])] = true;
  }
  std::vector<size_t> out;
  for (size_t i = 0; i < d.ops.size(); ++i)
    if (d.ops[i].op == OpCode::Relu && main[static_cast<size_t>(d.ops[i].value)]) out.push_back(i);
  return out;
}

/** ln|det K| by LU with partial pivoting; false when a pivot is exactly 0. */
bool logAbsDet(std::vector<double> a, int64_t n, double* out) {
  double log = 0;
  for (int64_t k = 0; k < n; ++k) {
    int64_t p = k;
    for (int64_t r = k + 1; r < n; ++r)
      if (std::fabs(a[static_cast<size_t>(r * n + k)]) > std::fabs(a[static_cast<size_t>(p * n + k)])) p = r;
    if (a[static_cast<size_t>(p * n + k)] == 0) return false;
    if (p != k)
      for (int64_t j = 0; j < n; ++j) std::swap(a[static_cast<size_t>(k * n + j)], a[static_cast<size_t>(p * n + j)]);
    const double piv = a[static_cast<size_t>(k * n + k)];
    log += std::log(std::fabs(piv));
    for (int64_t r = k + 1; r < n; ++r) {
      const double f = a[static_cast<size_t>(r * n + k)] / piv;
      if (f == 0) continue;
      for (int64_t j = k; j < n; ++j) a[static_cast<size_t>(r * n + j)] -= f * a[static_cast<size_t>(k * n + j)];
    }
  }
  *out = log;
  return true;
}

void run(Executor& x, const ProxyRequest& r, ThreadPool& pool, ProxyResult& out) {
  const Descriptor& d = x.descriptor();
  const int64_t B = r.batch;
  if (B < 2) fail("E_OPTION", "naswot needs batchSize ≥ 2 (K is batchSize × batchSize)");
  if (!r.labels.empty()) fail("E_OPTION", "naswot takes no labels");
  checkDataLengths(x, r, B, "naswot");
  checkTrainBn(x, "naswot", "use batchSize ≥ 2");
  const std::vector<size_t> relus = codedRelus(d);
  if (relus.empty()) fail("E_STRUCTURE", "naswot: the network has no ReLU to code (K = 0)");
  int64_t maxWords = 1;
  for (size_t i : relus) {
    const Shape s = d.valueShape[static_cast<size_t>(d.ops[i].value)];
    maxWords = std::max<int64_t>(maxWords, (s.c * s.plane() + 63) / 64);
  }
  std::vector<uint64_t> bits(static_cast<size_t>(B * maxWords));
  std::vector<double> K(static_cast<size_t>(B * B));
  std::vector<double> units;
  const Init init = resolveInit(r, Init::Normal);
  ZeroBiasesOnExit restore{x};
  Executor::ForwardMode mode;
  mode.bnEps = r.bnEps;
  for (uint32_t repeat = r.firstRepeat; repeat < r.firstRepeat + r.repeats; ++repeat) {
    checkCancelled(r);
    initParams(x, init, r.seed, repeat, pool);
    fillImages(x, r, repeat, 0, B, pool);
    x.forward(pool, mode);
    std::fill(K.begin(), K.end(), 0.0);
    int64_t total = 0;
    for (size_t i : relus) {
      const int32_t v = d.ops[i].value;
      const Shape s = d.valueShape[static_cast<size_t>(v)];
      const int64_t plane = s.plane(), cs = x.channelStride(v), n = s.c * plane, words = (n + 63) / 64;
      const float* y = x.value(v);
      total += n;
      pool.parallelFor(B, [&](int64_t img, int, float*) {
        uint64_t* b = bits.data() + img * words;
        std::memset(b, 0, sizeof(uint64_t) * static_cast<size_t>(words));
        for (int64_t c = 0; c < s.c; ++c) {
          const float* row = y + c * cs + img * plane;
          for (int64_t p = 0; p < plane; ++p)
            if (row[p] > 0) {
              const int64_t j = c * plane + p;
              b[j >> 6] |= uint64_t(1) << (j & 63);
            }
        }
      });
      pool.parallelFor(B, [&](int64_t a, int, float*) {
        const uint64_t* ba = bits.data() + a * words;
        for (int64_t c = a; c < B; ++c) {
          const uint64_t* bc = bits.data() + c * words;
          int64_t differ = 0;
          for (int64_t w = 0; w < words; ++w) differ += __builtin_popcountll(ba[w] ^ bc[w]);
          K[static_cast<size_t>(a * B + c)] += static_cast<double>(n - differ);
        }
      });
    }
    for (int64_t a = 0; a < B; ++a)
      for (int64_t c = a + 1; c < B; ++c) K[static_cast<size_t>(c * B + a)] = K[static_cast<size_t>(a * B + c)];
    for (int64_t a = 0; a < B; ++a)
      for (int64_t c = a + 1; c < B; ++c) {
        if (K[static_cast<size_t>(a * B + c)] != static_cast<double>(total)) continue;
        const Shape s0 = d.valueShape[0];
        const int64_t cs0 = x.channelStride(0), hw = s0.plane();
        bool same = true;
        for (int64_t ch = 0; ch < s0.c && same; ++ch)
          same = std::memcmp(x.value(0) + ch * cs0 + a * hw, x.value(0) + ch * cs0 + c * hw, sizeof(float) * static_cast<size_t>(hw)) == 0;
        fail(same ? "E_OPTION" : "E_STRUCTURE", "naswot: images " + std::to_string(a) + " and " + std::to_string(c) + " have identical ReLU codes" +
                                                    (same ? " (the input images are identical)" : "") + ": K is singular and ln|det K| is undefined");
      }
    double ld = 0;
    if (!logAbsDet(K, B, &ld)) fail("E_STRUCTURE", "naswot: K is singular: ln|det K| is undefined");
    out.scores.push_back(ld);
    units.push_back(static_cast<double>(total));
  }
  out.series.emplace_back("units", std::move(units));
}

}  // namespace

extern const CpuProxy kNaswotProxy = {"naswot", config, run};

}  // namespace cpu
}  // namespace zennas
