// The second weight init of the executor (PyTorch's default, DESCRIPTOR.md "Init 'torch'") and
// the parameter access the zero-shot proxies need (|W| for synflow, W ⊙ ∂L/∂W for SNIP). A TU of
// its own so that executor.cc stays about passes.
#include <algorithm>
#include <cmath>

#include "../common/errors.h"
#include "../common/philox.h"
#include "executor.h"

namespace zennas {
namespace cpu {

namespace {

bool gemmOp(OpCode op) { return op == OpCode::Conv || op == OpCode::Linear; }

}  // namespace

void Executor::drawWeightsTorch(uint64_t seed, uint32_t repeat, ThreadPool& pool) {
  winoStale_ = true;
  const PhiloxKey key = PhiloxKey::fromSeed(seed);
  // fan_in = weights / cout: CONV cin·k², DWCONV k² (one input channel per group), LINEAR cin.
  auto bound = [&](const OpDesc& o) { return 1.0 / std::sqrt(static_cast<double>(o.weights / o.cout)); };
  pool.parallelFor(static_cast<int64_t>(weightChunks_.size()), [&](int64_t t, int, float* scratch) {
    const WeightChunk& c = weightChunks_[static_cast<size_t>(t)];
    const Step& s = steps_[static_cast<size_t>(c.step)];
    const OpDesc& o = d_.ops[static_cast<size_t>(c.step)];
    float* w = weights_.data() + s.weightOffset;
    const uint32_t stream = static_cast<uint32_t>(c.step + 1);
    if (!gemmOp(o.op)) {
      k_.uniformFill(key, stream, repeat, c.begin, c.end, bound(o), w + c.begin);
      return;
    }
    k_.uniformFill(key, stream, repeat, c.begin, c.end, bound(o), scratch);
    const int64_t K = o.weights / o.cout;
    for (int64_t e = c.begin; e < c.end; ++e) w[packedAIndex(e / K, e % K, K)] = scratch[e - c.begin];
  });
  // LINEAR biases: elements weights .. weights + cout − 1 of the op's stream, same bound.
  for (size_t i = 0; i < d_.ops.size(); ++i) {
    const Step& s = steps_[i];
    const OpDesc& o = d_.ops[i];
    if (s.biasOffset < 0) continue;
    k_.uniformFill(key, static_cast<uint32_t>(i + 1), repeat, o.weights, o.weights + o.cout, bound(o), weights_.data() + s.biasOffset);
  }
}

void Executor::absParams() {
  winoStale_ = true;
  float* w = weights_.data();
  for (size_t j = 0; j < weights_.size(); ++j) w[j] = std::fabs(w[j]);  // packing pads are 0 and stay 0
}

void Executor::scaleBiases(double s) {
  for (size_t i = 0; i < d_.ops.size(); ++i) {
    const Step& st = steps_[i];
    if (st.biasOffset < 0) continue;
    float* b = weights_.data() + st.biasOffset;
    for (int64_t c = 0; c < d_.ops[i].cout; ++c) b[c] = s == 0 ? 0.f : static_cast<float>(s * b[c]);
  }
}

int64_t Executor::paramSize(size_t op) const {
  const OpDesc& o = d_.ops[op];
  if (o.op == OpCode::BN) return 2 * int64_t(o.cin);
  if (o.weights <= 0) return 0;
  return o.weights + (steps_[op].biasOffset >= 0 ? o.cout : 0);
}

void Executor::readParams(size_t op, float* out) const {
  const OpDesc& o = d_.ops[op];
  const Step& s = steps_[op];
  if (o.op == OpCode::BN) {
    std::fill(out, out + o.cin, 1.f);
    std::fill(out + o.cin, out + 2 * o.cin, 0.f);
    return;
  }
  if (o.weights <= 0) return;
  const float* w = weights_.data() + s.weightOffset;
  if (gemmOp(o.op)) {
    const int64_t K = o.weights / o.cout;
    for (int64_t e = 0; e < o.weights; ++e) out[e] = w[packedAIndex(e / K, e % K, K)];
  } else {
    std::copy(w, w + o.weights, out);
  }
  if (s.biasOffset >= 0) std::copy(weights_.data() + s.biasOffset, weights_.data() + s.biasOffset + o.cout, out + o.weights);
}

void Executor::setBias(size_t op, const float* b) {
  const Step& s = steps_[op];
  if (s.biasOffset < 0) return;
  std::copy(b, b + d_.ops[op].cout, weights_.data() + s.biasOffset);
}

void Executor::forwardOp(size_t i, ThreadPool& pool, const ForwardMode& m) { runStep(i, pool, m); }

void Executor::backwardBegin(bool inputGrad) {
  if (!c_.backward) fail("E_INTERNAL", "executor: this plan was compiled without a backward pass");
  for (size_t i = 0; i < steps_.size(); ++i)
    if (!needsGrad_[static_cast<size_t>(d_.ops[i].value)] && wgradOffset_[i] >= 0)
      std::fill(wgrad_.data() + wgradOffset_[i], wgrad_.data() + wgradOffset_[i] + wgradSize_[i], 0.f);
  if (inputGrad && !needsGrad_[0]) std::fill(grads_[0].data(), grads_[0].data() + grads_[0].size(), 0.f);
  shareGrads(false);  // step-wise: every value's own gradient buffer
}

void Executor::backwardOp(size_t i, ThreadPool& pool, bool inputGrad) { backwardStep(i, pool, inputGrad); }

}  // namespace cpu
}  // namespace zennas
