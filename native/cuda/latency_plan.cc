#include "latency_plan.h"

#include "kernels.h"
#include "philox.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <sstream>

namespace zennas {
namespace cuda {
namespace {

/** RAII pair of CUDA events. */
struct EventPair {
  cudaEvent_t start = nullptr, stop = nullptr;
  EventPair() {
    checkCuda(cudaEventCreate(&start), "cudaEventCreate");
    if (cudaEventCreate(&stop) != cudaSuccess) {
      cudaEventDestroy(start);
      checkCuda(cudaErrorMemoryAllocation, "cudaEventCreate");
    }
  }
  ~EventPair() {
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
};

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  // Linear interpolation between closest ranks (numpy's default), so p50 of an even count is the mean of the middle two.
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

LatencyPlan::LatencyPlan(Net net, const LatencyOptions& o, cudnnHandle_t handle, cudaStream_t stream,
                         size_t workspaceLimit, DevicePool& pool)
    : net_(std::move(net)), o_(o), pool_(pool) {
  const size_t N = static_cast<size_t>(o_.batch);
  const size_t es = dtypeSize(o_.dtype);
  size_t need = 0;
  for (size_t s = 0; s < net_.slotElems.size(); ++s) {
    if (N * net_.slotElems[s] > static_cast<size_t>(INT_MAX))
      throw Failure("E_OUT_OF_MEMORY", "CUDA backend: an activation exceeds cuDNN's 2^31-element limit: reduce the batch size or resolution");
    need += N * net_.slotElems[s] * es;
  }

  // Steps: fold BN into the conv that produces its input, fuse a following ReLU.
  size_t paramElems = 0, maxC = 1;
  const auto& ops = net_.ops;
  for (size_t i = 0; i < ops.size(); ++i) {
    const NetOp& op = ops[i];
    Step st;
    st.op = static_cast<int>(i);
    maxC = std::max<size_t>(maxC, op.cout);
    auto fusesRelu = [&](size_t j, int slot) {
      return j < ops.size() && ops[j].opcode == kRelu && ops[j].src == slot && ops[j].dst == slot;
    };
    if (op.opcode == kConv || op.opcode == kDwConv) {
      st.weightOffset = paramElems;
      paramElems += static_cast<size_t>(op.cout) * (op.opcode == kDwConv ? 1 : op.cin) * op.kernel * op.kernel;
      if (i + 1 < ops.size() && ops[i + 1].opcode == kBn && ops[i + 1].src == op.dst && ops[i + 1].dst == op.dst) {
        st.hasBias = true;
        st.skip = 1;
        st.biasOffset = paramElems;
        paramElems += op.cout;
        if (fusesRelu(i + 2, op.dst)) { st.relu = true; st.skip = 2; }
      }
    } else if (op.opcode == kLinear) {
      st.weightOffset = paramElems;
      paramElems += static_cast<size_t>(op.cout) * op.cin;
      st.hasBias = true;
      st.biasOffset = paramElems;
      paramElems += op.cout;
    } else if (op.opcode == kBn || op.opcode == kAdd) {
      if (fusesRelu(i + 1, op.dst)) { st.relu = true; st.skip = 1; }
    }
    steps_.push_back(st);
    i += st.skip;
  }
  need += paramElems * es;
  size_t freeB = 0, totalB = 0;
  checkCuda(cudaMemGetInfo(&freeB, &totalB), "cudaMemGetInfo");
  freeB += pool_.idleBytes();
  if (need > freeB) {
    std::ostringstream m;
    m << "CUDA backend: this model at batch " << o_.batch << " needs " << (need >> 20) << " MiB of GPU memory, " << (freeB >> 20)
      << " MiB free: reduce the batch size or resolution";
    throw Failure("E_OUT_OF_MEMORY", m.str());
  }
  slots_.resize(net_.slotElems.size());
  for (size_t s = 0; s < slots_.size(); ++s) slots_[s].allocate(N * net_.slotElems[s] * es, "activations", &pool_);
  params_.allocate(std::max<size_t>(paramElems, 1) * es, "weights", &pool_);

  // Parameter values do not change the timing, but their magnitudes must keep FP16 activations
  // finite: He-scaled N(0, 2/fan_in) weights, BN with running stats (0, 1) folded in
  // (scale 1/sqrt(1+ε), bias 0).
  const float bnScale = static_cast<float>(1.0 / std::sqrt(1.0 + o_.bnEps));
  for (const Step& st : steps_) {
    const NetOp& op = ops[st.op];
    if (op.opcode != kConv && op.opcode != kDwConv && op.opcode != kLinear) continue;
    const size_t fanIn = static_cast<size_t>(op.opcode == kDwConv ? 1 : op.cin) * std::max(op.kernel, 1) * std::max(op.kernel, 1);
    const size_t count = static_cast<size_t>(op.cout) * fanIn;
    const float scale = static_cast<float>(std::sqrt(2.0 / static_cast<double>(fanIn))) * (st.hasBias && op.opcode != kLinear ? bnScale : 1.0f);
    char* base = static_cast<char*>(params_.get());
    launchFillNormalTyped(base + st.weightOffset * es, o_.dtype, count, 0x5EED, static_cast<uint32_t>(st.op + 1), scale, stream);
    if (st.hasBias) checkCuda(cudaMemsetAsync(base + st.biasOffset * es, 0, op.cout * es, stream), "cudaMemsetAsync(bias)");
  }
  // Unfolded BN: y = x / sqrt(1 + ε) (+0) per channel.
  {
    std::vector<float> scale(maxC, bnScale);
    DeviceBuffer tmp(maxC * sizeof(float), "BN scale", &pool_);
    checkCuda(cudaMemcpyAsync(tmp.get(), scale.data(), maxC * sizeof(float), cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync");
    bnScale_.allocate(maxC * es, "BN scale", &pool_);
    bnShift_.allocate(maxC * es, "BN shift", &pool_);
    launchConvertF32(tmp.as<float>(), bnScale_.get(), o_.dtype, maxC, stream);
    checkCuda(cudaMemsetAsync(bnShift_.get(), 0, maxC * es, stream), "cudaMemsetAsync(BN shift)");
    checkCuda(cudaStreamSynchronize(stream), "parameter initialisation");  // before `tmp` is freed
  }
  launchFillNormalTyped(slots_[0].get(), o_.dtype, N * net_.inputChannels * net_.resolution * net_.resolution, 0x5EED,
                        kStreamInput, 1.0f, stream);
  checkCuda(cudaGetLastError(), "latency input initialisation");

  // Algorithms by timed trials on the real buffers, with a scratch workspace for the trials.
  DeviceBuffer scratch;
  size_t scratchBytes = workspaceLimit;
  while (true) {
    try {
      scratch.allocate(scratchBytes, "cuDNN algorithm search workspace", &pool_);
      break;
    } catch (const Failure&) {
      if (scratchBytes <= (size_t(16) << 20)) throw;
      scratchBytes /= 2;
    }
  }
  checkCuda(cudaStreamSynchronize(stream), "latency plan setup");
  for (Step& st : steps_) {
    const NetOp& op = ops[st.op];
    if (op.opcode != kConv && op.opcode != kDwConv) continue;
    ConvShape cs{o_.batch, op.cin, op.hin, op.win, op.cout, op.kernel, op.stride, op.opcode == kDwConv ? op.cin : 1, op.hout, op.wout, op.dilation};
    char* base = static_cast<char*>(params_.get());
    convs_.emplace_back(handle, cs, o_.dtype, /*strictFp32=*/false, AlgoSearch::Benchmark, scratchBytes, slots_[op.src].get(),
                        base + st.weightOffset * es, slots_[op.dst].get(), scratch.get());
    st.conv = static_cast<int>(convs_.size() - 1);
    wsBytes_ = std::max(wsBytes_, convs_.back().workspaceBytes());
  }
  scratch.release();
  workspace_.allocate(wsBytes_, "cuDNN workspace", &pool_);
}

void LatencyPlan::forward(cudaStream_t stream, cudnnHandle_t handle) {
  const int N = o_.batch;
  const size_t es = dtypeSize(o_.dtype);
  char* base = static_cast<char*>(params_.get());
  for (const Step& st : steps_) {
    const NetOp& op = net_.ops[st.op];
    void* src = slots_[op.src].get();
    void* dst = slots_[op.dst].get();
    const int hwIn = op.hin * op.win;
    const size_t nIn = static_cast<size_t>(N) * op.inElems();
    switch (op.opcode) {
      case kConv:
      case kDwConv:
        convs_[st.conv].forward(handle, src, base + st.weightOffset * es, dst, workspace_.get(), workspace_.bytes());
        if (st.hasBias) launchBiasAct(dst, base + st.biasOffset * es, o_.dtype, N, op.cout, op.hout * op.wout, st.relu, stream);
        break;
      case kBn:
        if (src != dst) checkCuda(cudaMemcpyAsync(dst, src, nIn * es, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(BN)");
        launchScaleShift(dst, bnScale_.get(), bnShift_.get(), o_.dtype, N, op.cout, hwIn, st.relu, stream);
        break;
      case kRelu: launchRelu(src, dst, o_.dtype, nIn, stream); break;
      case kMaxPool:
        launchMaxPool(src, dst, o_.dtype, N, op.cin, op.hin, op.win, op.hout, op.wout, op.kernel, op.stride, stream);
        break;
      case kAvgPool:
        launchAvgPool(src, dst, o_.dtype, N, op.cin, op.hin, op.win, op.hout, op.wout, op.kernel, op.stride, op.pad, op.countIncludePad != 0,
                      stream);
        break;
      case kGap: launchGap(src, dst, o_.dtype, N, op.cin, hwIn, stream); break;
      case kLinear:
        launchLinear(src, base + st.weightOffset * es, base + st.biasOffset * es, dst, o_.dtype, N, op.cin, op.cout, stream);
        break;
      case kSigmoid: launchSigmoid(src, dst, o_.dtype, nIn, stream); break;
      case kSwish: launchSwish(src, dst, o_.dtype, nIn, stream); break;
      case kHswish: launchHswish(src, dst, o_.dtype, nIn, stream); break;
      case kHsigmoid: launchHsigmoid(src, dst, o_.dtype, nIn, stream); break;
      case kMul: launchChannelMul(src, slots_[op.aux].get(), dst, o_.dtype, N, op.cin, hwIn, stream); break;
      case kAdd: {
        // n-ary: (a + b) + c + …; a fused ReLU applies after the last sum only.
        launchAdd(src, slots_[op.aux].get(), dst, o_.dtype, nIn, st.relu && op.extra.empty(), stream);
        for (size_t k = 0; k < op.extra.size(); ++k)
          launchAdd(dst, slots_[op.extra[k]].get(), dst, o_.dtype, nIn, st.relu && k + 1 == op.extra.size(), stream);
        break;
      }
      case kIdentity:
        if (src != dst) checkCuda(cudaMemcpyAsync(dst, src, nIn * es, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(identity)");
        break;
      case kZero: checkCuda(cudaMemsetAsync(dst, 0, nIn * es, stream), "cudaMemsetAsync(zero)"); break;
      case kCrop: launchCrop(src, dst, o_.dtype, N * op.cin, op.hin, op.win, op.hout, op.wout, op.offset, stream); break;
      case kConcat: {
        const size_t hw = static_cast<size_t>(op.hout) * op.wout;
        size_t off = 0;
        for (size_t k = 0; k < op.inC.size(); ++k) {
          const size_t len = static_cast<size_t>(op.inC[k]) * hw;
          launchConcatCopy(slots_[op.inputSlot(k)].get(), dst, o_.dtype, N, len, op.outElems(), off, stream);
          off += len;
        }
        break;
      }
      default: throw Failure("E_INTERNAL", "CUDA backend: unexpected opcode " + std::to_string(op.opcode));
    }
  }
}

LatencyResult LatencyPlan::measure(cudaStream_t stream, cudnnHandle_t handle) {
  for (int i = 0; i < o_.warmup; ++i) forward(stream, handle);
  checkCuda(cudaGetLastError(), "latency warm-up kernels");
  checkCuda(cudaStreamSynchronize(stream), "latency warm-up");
  std::vector<EventPair> events(static_cast<size_t>(o_.iterations));
  for (auto& ev : events) {
    checkCuda(cudaEventRecord(ev.start, stream), "cudaEventRecord");
    forward(stream, handle);
    checkCuda(cudaEventRecord(ev.stop, stream), "cudaEventRecord");
  }
  checkCuda(cudaGetLastError(), "latency kernels");
  checkCuda(cudaStreamSynchronize(stream), "latency timing");
  LatencyResult r;
  for (auto& ev : events) {
    float ms = 0;
    checkCuda(cudaEventElapsedTime(&ms, ev.start, ev.stop), "cudaEventElapsedTime");
    r.samplesMs.push_back(ms);
  }
  double sum = 0;
  for (double v : r.samplesMs) sum += v;
  r.meanMs = sum / static_cast<double>(r.samplesMs.size());
  r.medianMs = quantile(r.samplesMs, 0.5);
  r.p90Ms = quantile(r.samplesMs, 0.9);
  r.minMs = *std::min_element(r.samplesMs.begin(), r.samplesMs.end());
  r.imagesPerSecond = r.meanMs > 0 ? 1000.0 * o_.batch / r.meanMs : 0;
  return r;
}

}  // namespace cuda
}  // namespace zennas
