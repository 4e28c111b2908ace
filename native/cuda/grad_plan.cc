#include "grad_plan.h"

#include "philox.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

namespace zennas {
namespace cuda {
namespace {

void checkLaunch(const char* what) { checkCuda(cudaGetLastError(), what); }

int64_t paramCount(const OpDesc& o) {
  switch (opSpec(o.op).weights) {
    case WeightKind::Conv: case WeightKind::Depthwise: return o.weights;
    case WeightKind::Linear: return o.weights + (o.bias ? o.cout : 0);
    case WeightKind::BN: return 2 * int64_t(o.cin);
    case WeightKind::None: return 0;
  }
  return 0;
}

}  // namespace

GradLayout planGradients(const Descriptor& d) {
  GradLayout L;
  const size_t nValues = d.valueShape.size(), nOps = d.ops.size();
  L.wgradOffset.assign(nOps, -1);
  L.wgradSize.assign(nOps, 0);
  for (size_t i = 0; i < nOps; ++i) {
    const int64_t n = paramCount(d.ops[i]);
    if (n <= 0) continue;
    L.wgradOffset[i] = L.wgradTotal;
    L.wgradSize[i] = n;
    L.wgradTotal += n;
  }
  // Values an output depends on; the first consumer (in reverse op order) of a value overwrites
  // its gradient, later ones add (outputs count as written: the loss head seeds them).
  L.needsGrad.assign(nValues, 0);
  for (int32_t v : d.outputs) L.needsGrad[static_cast<size_t>(v)] = 1;
  for (size_t i = nOps; i-- > 0;)
    if (L.needsGrad[static_cast<size_t>(d.ops[i].value)])
      for (int32_t v : d.ops[i].inputs) L.needsGrad[static_cast<size_t>(v)] = 1;
  std::vector<char> written(nValues, 0);
  for (int32_t v : d.outputs) written[static_cast<size_t>(v)] = 1;
  L.acc.resize(nOps);
  for (size_t i = nOps; i-- > 0;) {
    const OpDesc& o = d.ops[i];
    L.acc[i].assign(o.inputs.size(), 0);
    if (!L.needsGrad[static_cast<size_t>(o.value)]) continue;
    for (size_t k = 0; k < o.inputs.size(); ++k) {
      const size_t v = static_cast<size_t>(o.inputs[k]);
      L.acc[i][k] = written[v];
      written[v] = 1;
    }
  }
  return L;
}

Descriptor decodeGradNet(const int32_t* words, size_t nWords, int resolution) {
  return parseDescriptor(words, nWords, resolution, /*keepAll=*/true);
}

GradPlan::GradPlan(Descriptor d, int batch, cudnnHandle_t handle, size_t workspaceLimit, DevicePool& pool)
    : d_(std::move(d)), L_(planGradients(d_)), B_(batch), pool_(pool) {
  if (!d_.keepsAll) throw Failure("E_INTERNAL", "CUDA backend: a gradients plan needs a descriptor planned with keepAll");
  const size_t nValues = d_.valueShape.size(), nOps = d_.ops.size();
  for (size_t i = 0; i < nOps; ++i) {
    const OpDesc& o = d_.ops[i];
    if (o.op == OpCode::BN && static_cast<long long>(B_) * o.in.plane() < 2)
      throw Failure("E_OPTION", "BN op " + std::to_string(i) + " normalises a single value per channel (batchSize·H·W = 1): use batchSize ≥ 2");
  }
  // Budget first: a clear E_OUT_OF_MEMORY beats a failure deep inside cuDNN.
  size_t need = 0;
  for (size_t v = 0; v < nValues; ++v) {
    const size_t n = elems(static_cast<int32_t>(v));
    if (n > static_cast<size_t>(INT_MAX))
      throw Failure("E_OUT_OF_MEMORY", "CUDA backend: an activation of " + std::to_string(n) +
                                           " elements exceeds cuDNN's 2^31 limit: reduce the batch size or resolution");
    need += n * sizeof(float) * (L_.needsGrad[v] ? 2 : 1);
  }
  wOffset_.assign(nOps, -1);
  biasOffset_.assign(nOps, -1);
  bnOffset_.assign(nOps, -1);
  for (size_t i = 0; i < nOps; ++i) {
    const OpDesc& o = d_.ops[i];
    maxC_ = std::max<size_t>(maxC_, static_cast<size_t>(std::max(o.cin, o.cout)));
    if (o.weights > 0) {
      wOffset_[i] = static_cast<int64_t>(weightFloats_);
      weightFloats_ += static_cast<size_t>(o.weights);
    }
    if (o.op == OpCode::Linear && o.bias) {
      biasOffset_[i] = static_cast<int64_t>(weightFloats_);
      weightFloats_ += static_cast<size_t>(o.cout);
    }
    if (o.op == OpCode::BN) {
      bnOffset_[i] = bnChannels_;
      bnChannels_ += o.cin;
      const int splits = bnSplits(1, B_, o.cin, static_cast<int>(o.in.plane()));
      partialDoubles_ = std::max<size_t>(partialDoubles_, static_cast<size_t>(o.cin) * splits * 2);
    }
    if (o.op == OpCode::MaxPool) argmaxElems_ = std::max(argmaxElems_, elems(o.value));
  }
  need += (weightFloats_ + static_cast<size_t>(L_.wgradTotal)) * sizeof(float);
  size_t freeB = 0, totalB = 0;
  checkCuda(cudaMemGetInfo(&freeB, &totalB), "cudaMemGetInfo");
  freeB += pool_.idleBytes();
  if (need > freeB) {
    std::ostringstream m;
    m << "CUDA backend: the gradients of this model at batch " << B_ << " need " << (need >> 20) << " MiB of GPU memory, " << (freeB >> 20)
      << " MiB free: reduce the batch size or resolution";
    throw Failure("E_OUT_OF_MEMORY", m.str());
  }

  // cuDNN convolutions, forward + backward (filter always, data where the input needs a gradient).
  size_t ws = 0;
  conv_.assign(nOps, -1);
  for (size_t i = 0; i < nOps; ++i) {
    const OpDesc& o = d_.ops[i];
    if (o.op != OpCode::Conv && o.op != OpCode::DwConv) continue;
    ConvShape cs{B_, o.cin, static_cast<int>(o.in.h), static_cast<int>(o.in.w), o.cout, o.kernel, o.stride,
                 o.op == OpCode::DwConv ? o.cin : 1, static_cast<int>(o.out.h), static_cast<int>(o.out.w), o.dilation};
    convs_.emplace_back(handle, cs, DType::F32, /*strictFp32=*/true, AlgoSearch::Heuristic, workspaceLimit);
    if (L_.needsGrad[static_cast<size_t>(o.value)])
      convs_.back().enableBackward(handle, L_.needsGrad[static_cast<size_t>(o.inputs[0])] != 0, workspaceLimit);
    conv_[i] = static_cast<int>(convs_.size() - 1);
    ws = std::max(ws, convs_.back().workspaceBytes());
  }

  vals_.resize(nValues);
  grads_.resize(nValues);
  for (size_t v = 0; v < nValues; ++v) {
    const size_t bytes = elems(static_cast<int32_t>(v)) * sizeof(float);
    vals_[v].allocate(bytes, "activations", &pool_);
    if (L_.needsGrad[v]) grads_[v].allocate(bytes, "gradients", &pool_);
  }
  weights_.allocate(std::max<size_t>(weightFloats_, 1) * sizeof(float), "weights", &pool_);
  wgrad_.allocate(static_cast<size_t>(std::max<int64_t>(L_.wgradTotal, 1)) * sizeof(float), "weight gradients", &pool_);
  workspace_.allocate(ws, "cuDNN workspace", &pool_);
  bnMean_.allocate(static_cast<size_t>(std::max<int64_t>(bnChannels_, 1)) * sizeof(float), "BN mean", &pool_);
  bnInvstd_.allocate(static_cast<size_t>(std::max<int64_t>(bnChannels_, 1)) * sizeof(float), "BN invstd", &pool_);
  bnPartial_.allocate(partialDoubles_ * sizeof(double), "BN partial sums", &pool_);
  bnCoef_.allocate(2 * maxC_ * sizeof(float), "BN backward coefficients", &pool_);
  argmax_.allocate(argmaxElems_ * sizeof(int32_t), "max-pool argmax", &pool_);
  lossBlocks_ = reduceBlocks(elems(d_.outputs[0]));
  normBlocks_ = reduceBlocks(static_cast<size_t>(L_.wgradTotal));
  reduce_.allocate(static_cast<size_t>(std::max(lossBlocks_, normBlocks_)) * sizeof(double), "reduction partials", &pool_);
  perSample_.allocate(static_cast<size_t>(B_) * sizeof(double), "per-sample losses", &pool_);
  labels_.allocate(static_cast<size_t>(B_) * sizeof(int32_t), "labels", &pool_);
  args_.allocate(sizeof(RepeatArgs), "repeat arguments", &pool_);
  bytes_ = need + ws;
}

void GradPlan::forwardOp(size_t i, cudaStream_t stream, cudnnHandle_t handle) {
  const OpDesc& o = d_.ops[i];
  const float* x = val(o.inputs[0]);
  float* y = val(o.value);
  const int N = B_, C = o.cin, H = static_cast<int>(o.in.h), W = static_cast<int>(o.in.w);
  const int Ho = static_cast<int>(o.out.h), Wo = static_cast<int>(o.out.w), HW = H * W;
  const size_t nIn = elems(o.inputs[0]);
  float* w = wOffset_[i] >= 0 ? weights_.as<float>() + wOffset_[i] : nullptr;
  switch (o.op) {
    case OpCode::Conv:
    case OpCode::DwConv:
      convs_[static_cast<size_t>(conv_[i])].forward(handle, x, w, y, workspace_.get(), workspace_.bytes());
      break;
    case OpCode::BN: {
      const int splits = bnSplits(1, N, C, HW);
      float* mean = bnMean_.as<float>() + bnOffset_[i];
      float* invstd = bnInvstd_.as<float>() + bnOffset_[i];
      launchBnPartial(x, 1, N, C, HW, splits, bnPartial_.as<double>(), stream);
      launchBnFinalize(bnPartial_.as<double>(), 1, C, splits, static_cast<long long>(N) * HW, args_.as<RepeatArgs>(), mean, invstd, nullptr,
                       nullptr, stream);
      launchBnApply(x, y, mean, invstd, 1, N, C, HW, false, stream);
      break;
    }
    case OpCode::Relu: launchRelu(x, y, DType::F32, nIn, stream); break;
    case OpCode::MaxPool: launchMaxPool(x, y, DType::F32, N, C, H, W, Ho, Wo, o.kernel, o.stride, stream); break;
    case OpCode::AvgPool:
      launchAvgPool(x, y, DType::F32, N, C, H, W, Ho, Wo, o.kernel, o.stride, o.pad, o.countIncludePad != 0, stream);
      break;
    case OpCode::Gap: launchGap(x, y, DType::F32, N, C, HW, stream); break;
    case OpCode::Linear:
      launchLinear(x, w, biasOffset_[i] >= 0 ? weights_.as<float>() + biasOffset_[i] : nullptr, y, DType::F32, N, o.cin, o.cout, stream);
      break;
    case OpCode::Sigmoid: launchSigmoid(x, y, DType::F32, nIn, stream); break;
    case OpCode::Swish: launchSwish(x, y, DType::F32, nIn, stream); break;
    case OpCode::Hswish: launchHswish(x, y, DType::F32, nIn, stream); break;
    case OpCode::Hsigmoid: launchHsigmoid(x, y, DType::F32, nIn, stream); break;
    case OpCode::Mul: launchChannelMul(x, val(o.inputs[1]), y, DType::F32, N, C, HW, stream); break;
    case OpCode::Add:
      // n-ary: (a + b) + c + …, in input order (as the CPU engine)
      launchAdd(x, val(o.inputs[1]), y, DType::F32, nIn, false, stream);
      for (size_t k = 2; k < o.inputs.size(); ++k) launchAdd(y, val(o.inputs[k]), y, DType::F32, nIn, false, stream);
      break;
    case OpCode::Identity:
      checkCuda(cudaMemcpyAsync(y, x, nIn * sizeof(float), cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync(identity)");
      break;
    case OpCode::Zero: checkCuda(cudaMemsetAsync(y, 0, elems(o.value) * sizeof(float), stream), "cudaMemsetAsync(zero)"); break;
    case OpCode::Crop: launchCrop(x, y, DType::F32, N * C, H, W, Ho, Wo, o.offset, stream); break;
    case OpCode::Concat: {
      size_t off = 0;
      const size_t row = static_cast<size_t>(o.cout) * HW;
      for (size_t k = 0; k < o.inputs.size(); ++k) {
        const size_t len = static_cast<size_t>(o.inputChannels[k]) * HW;
        launchConcatCopy(val(o.inputs[k]), y, DType::F32, N, len, row, off, stream);
        off += len;
      }
      break;
    }
    default: throw Failure("E_INTERNAL", std::string("CUDA backend: no forward for op ") + opName(o.op));
  }
}

void GradPlan::backwardOp(size_t i, bool inputGradient, cudaStream_t stream, cudnnHandle_t handle) {
  const OpDesc& o = d_.ops[i];
  if (!L_.needsGrad[static_cast<size_t>(o.value)]) return;
  // Gradient buffer of input k, or null when none is wanted (value 0 only with inputGradient).
  auto dxOf = [&](size_t k) -> float* {
    const int32_t v = o.inputs[k];
    return L_.needsGrad[static_cast<size_t>(v)] && (v != 0 || inputGradient) ? grad(v) : nullptr;
  };
  auto accOf = [&](size_t k) { return L_.acc[i][k] != 0; };
  const float* x = val(o.inputs[0]);
  const float* y = val(o.value);
  const float* dy = grad(o.value);
  float* dx = dxOf(0);
  const bool acc = accOf(0);
  const int N = B_, C = o.cin, H = static_cast<int>(o.in.h), W = static_cast<int>(o.in.w);
  const int Ho = static_cast<int>(o.out.h), Wo = static_cast<int>(o.out.w), HW = H * W;
  const size_t nIn = elems(o.inputs[0]);
  const float* w = wOffset_[i] >= 0 ? weights_.as<float>() + wOffset_[i] : nullptr;
  float* wg = L_.wgradOffset[i] >= 0 ? wgrad_.as<float>() + L_.wgradOffset[i] : nullptr;
  switch (o.op) {
    case OpCode::Conv:
    case OpCode::DwConv: {
      const ConvLayer& conv = convs_[static_cast<size_t>(conv_[i])];
      conv.backwardFilter(handle, x, dy, wg, workspace_.get(), workspace_.bytes());
      if (dx) conv.backwardData(handle, w, dy, dx, acc, workspace_.get(), workspace_.bytes());
      break;
    }
    case OpCode::Linear:
      launchLinearBwdWeight(x, dy, wg, o.bias ? wg + o.weights : nullptr, N, o.cin, o.cout, stream);
      if (dx) launchLinearBwdData(dy, w, dx, N, o.cin, o.cout, acc, stream);
      break;
    case OpCode::BN: {
      const int splits = bnSplits(1, N, C, HW);
      const float* mean = bnMean_.as<float>() + bnOffset_[i];
      const float* invstd = bnInvstd_.as<float>() + bnOffset_[i];
      launchBnBwdPartial(x, dy, mean, invstd, N, C, HW, splits, bnPartial_.as<double>(), stream);
      launchBnBwdFinalize(bnPartial_.as<double>(), C, splits, static_cast<long long>(N) * HW, wg, wg + C, bnCoef_.as<float>(), stream);
      if (dx) launchBnBwdApply(x, dy, dx, mean, invstd, bnCoef_.as<float>(), N, C, HW, acc, stream);
      break;
    }
    case OpCode::Relu: if (dx) launchReluBwd(y, dy, dx, nIn, acc, stream); break;
    case OpCode::Sigmoid: if (dx) launchSigmoidBwd(y, dy, dx, nIn, acc, stream); break;
    case OpCode::Swish: if (dx) launchSwishBwd(x, dy, dx, nIn, acc, stream); break;
    case OpCode::Hswish: if (dx) launchHswishBwd(x, dy, dx, nIn, acc, stream); break;
    case OpCode::Hsigmoid: if (dx) launchHsigmoidBwd(x, dy, dx, nIn, acc, stream); break;
    case OpCode::MaxPool:
      if (dx) {
        launchMaxPoolArgmax(x, argmax_.as<int32_t>(), N, C, H, W, Ho, Wo, o.kernel, o.stride, stream);
        launchMaxPoolBwd(argmax_.as<int32_t>(), dy, dx, N, C, H, W, Ho, Wo, o.kernel, o.stride, acc, stream);
      }
      break;
    case OpCode::AvgPool:
      if (dx) launchAvgPoolBwd(dy, dx, N, C, H, W, Ho, Wo, o.kernel, o.stride, o.pad, o.countIncludePad != 0, acc, stream);
      break;
    case OpCode::Gap: if (dx) launchGapBwd(dy, dx, N, C, HW, acc, stream); break;
    case OpCode::Mul: {
      // x's part first, then the gate's (added when x and the gate are one value).
      const float* gate = val(o.inputs[1]);
      if (dx) launchChannelMulBwdX(dy, gate, dx, N, C, HW, acc, stream);
      if (float* dg = dxOf(1)) launchChannelMulBwdGate(dy, x, dg, N, C, HW, accOf(1), stream);
      break;
    }
    case OpCode::Add:
      for (size_t k = 0; k < o.inputs.size(); ++k)
        if (float* d = dxOf(k)) launchAccumulate(dy, d, nIn, accOf(k), stream);
      break;
    case OpCode::Concat: {
      size_t off = 0;
      const size_t row = static_cast<size_t>(o.cout) * HW;
      for (size_t k = 0; k < o.inputs.size(); ++k) {
        const size_t len = static_cast<size_t>(o.inputChannels[k]) * HW;
        if (float* d = dxOf(k)) launchConcatSliceBwd(dy, d, N, len, row, off, accOf(k), stream);
        off += len;
      }
      break;
    }
    case OpCode::Crop: if (dx) launchCropBwd(dy, dx, N * C, H, W, Ho, Wo, o.offset, acc, stream); break;
    case OpCode::Identity: if (dx) launchAccumulate(dy, dx, nIn, acc, stream); break;
    case OpCode::Zero:
      // No gradient flows back; the first writer of the input's gradient writes zeros.
      if (dx && !acc) checkCuda(cudaMemsetAsync(dx, 0, nIn * sizeof(float), stream), "cudaMemsetAsync(zero gradient)");
      break;
    default: throw Failure("E_INTERNAL", std::string("CUDA backend: no backward for op ") + opName(o.op));
  }
}

void GradPlan::enqueueRepeat(bool crossEntropy, bool inputGradient, cudaStream_t stream, cudnnHandle_t handle) {
  const RepeatArgs* args = args_.as<RepeatArgs>();
  // Parameters from stream op + 1 (OIHW order): N(0,1) with LINEAR biases 0, or init 'torch'
  // (args→torchInit); x from the Zen-score's input stream.
  for (size_t i = 0; i < d_.ops.size(); ++i) {
    const OpDesc& o = d_.ops[i];
    if (wOffset_[i] < 0) continue;
    const double bound = 1.0 / std::sqrt(static_cast<double>(o.weights / o.cout));  // 1/√fan_in (Executor::drawWeightsTorch)
    const uint32_t streamId = static_cast<uint32_t>(i + 1);
    launchParamFill(weights_.as<float>() + wOffset_[i], static_cast<size_t>(o.weights), 0, args, streamId, bound, false, stream);
    if (biasOffset_[i] >= 0)
      launchParamFill(weights_.as<float>() + biasOffset_[i], static_cast<size_t>(o.cout), static_cast<size_t>(o.weights), args, streamId,
                      bound, true, stream);
  }
  launchNormalFill(val(0), elems(0), args, kStreamInput, stream);
  checkLaunch("Philox weight/input generation");
  for (size_t i = 0; i < d_.ops.size(); ++i) forwardOp(i, stream, handle);
  checkLaunch("gradients: forward kernels");

  // Loss head: only outputs[0] carries the loss; the other outputs' gradients start at 0.
  for (size_t k = 1; k < d_.outputs.size(); ++k)
    checkCuda(cudaMemsetAsync(grad(d_.outputs[k]), 0, elems(d_.outputs[k]) * sizeof(float), stream), "cudaMemsetAsync(output gradient)");
  const int32_t out = d_.outputs[0];
  if (crossEntropy) {
    const int classes = static_cast<int>(d_.valueShape[static_cast<size_t>(out)].c);
    launchLossCrossEntropy(val(out), grad(out), B_, classes, labels_.as<int32_t>(), args, perSample_.as<double>(), stream);
    launchLossCeFinish(perSample_.as<double>(), B_, args, stream);
  } else {
    launchLossSumPartial(val(out), grad(out), elems(out), lossBlocks_, reduce_.as<double>(), stream);
    launchLossSumFinish(reduce_.as<double>(), lossBlocks_, args, stream);
  }
  checkLaunch("gradients: loss head");

  // Reverse pass; ops no output depends on get exact zeros.
  for (size_t i = 0; i < d_.ops.size(); ++i)
    if (!L_.needsGrad[static_cast<size_t>(d_.ops[i].value)] && L_.wgradOffset[i] >= 0)
      checkCuda(cudaMemsetAsync(wgrad_.as<float>() + L_.wgradOffset[i], 0, static_cast<size_t>(L_.wgradSize[i]) * sizeof(float), stream),
                "cudaMemsetAsync(unreachable weight gradient)");
  for (size_t i = d_.ops.size(); i-- > 0;) backwardOp(i, inputGradient, stream, handle);
  checkLaunch("gradients: backward kernels");
  launchSumSquaresPartial(wgrad_.as<float>(), static_cast<size_t>(L_.wgradTotal), normBlocks_, reduce_.as<double>(), stream);
  launchGradNormFinish(reduce_.as<double>(), normBlocks_, args, stream);
  launchAdvanceRepeat(args_.as<RepeatArgs>(), stream);
  checkLaunch("gradients: gradient norm");
}

GradRunResult GradPlan::run(const GradRunOptions& o, cudaStream_t stream, cudnnHandle_t handle) {
  const int32_t out = d_.outputs[0];
  const Shape s = d_.valueShape[static_cast<size_t>(out)];
  if (o.crossEntropy) {
    if (s.h != 1 || s.w != 1)
      fail("E_OPTION", "loss 'cross-entropy' needs logits of shape [classes][1][1] as the first output, got [" + std::to_string(s.c) + "][" +
                           std::to_string(s.h) + "][" + std::to_string(s.w) + "] (lower with a classifier head)");
    if (!o.labels.empty() && static_cast<int64_t>(o.labels.size()) != B_)
      fail("E_OPTION", "labels: " + std::to_string(o.labels.size()) + " labels for a batch of " + std::to_string(B_));
    for (size_t n = 0; n < o.labels.size(); ++n)
      if (o.labels[n] < 0 || o.labels[n] >= s.c)
        fail("E_OPTION", "labels[" + std::to_string(n) + "] = " + std::to_string(o.labels[n]) + " is not a class in 0.." + std::to_string(s.c - 1));
  }
  const size_t slots = o.repeats;
  if (results_.bytes() < slots * 2 * sizeof(double)) results_.allocate(slots * 2 * sizeof(double), "results", &pool_);
  const bool hasLabels = o.crossEntropy && !o.labels.empty();
  if (hasLabels) {
    hostLabels_ = o.labels;  // a member: the copy may read it after this call returns to the loop
    checkCuda(cudaMemcpyAsync(labels_.get(), hostLabels_.data(), hostLabels_.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream),
              "cudaMemcpyAsync(labels)");
  }
  hostArgs_ = RepeatArgs{};
  hostArgs_.seed = o.seed;
  hostArgs_.repeat = o.firstRepeat;
  hostArgs_.index = 0;
  hostArgs_.eps = o.bnEps;
  hostArgs_.results = results_.as<double>();
  hostArgs_.hasLabels = hasLabels ? 1u : 0u;
  hostArgs_.torchInit = o.torchInit ? 1u : 0u;
  checkCuda(cudaMemcpyAsync(args_.get(), &hostArgs_, sizeof(RepeatArgs), cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync(repeat args)");
  const int mode = (o.crossEntropy ? 2 : 0) + (o.inputGradient ? 1 : 0);
  RepeatGraph& graph = graphs_[mode];
  const bool wantGraph = useCudaGraphs(o.repeats);
  for (uint32_t k = 0; k < o.repeats; ++k) {
    if (o.cancelled) {  // at most two repeats queued ahead of the GPU (see ZenPlan::run)
      if (k >= 1) checkCuda(cudaEventRecord(repeatDone_[(k - 1) % 2].get(), stream), "cudaEventRecord");
      if (k >= 2) checkCuda(cudaEventSynchronize(repeatDone_[k % 2].get()), "cudaEventSynchronize");
      if (o.cancelled()) fail("E_CANCELLED", "the call was cancelled (AbortSignal or engine.close())");
    }
    // Capture once a repeat has run eagerly on this plan (lazy initialisation stays out of it).
    if (!graph.ready() && wantGraph && warmed_[mode] && !graphFailed_[mode] &&
        !graph.capture(stream, [&] { enqueueRepeat(o.crossEntropy, o.inputGradient, stream, handle); }))
      graphFailed_[mode] = true;
    if (graph.ready()) {
      graph.launch(stream);
    } else {
      enqueueRepeat(o.crossEntropy, o.inputGradient, stream, handle);
      warmed_[mode] = true;
    }
  }
  GradRunResult r;
  hostResults_.resize(2 * slots);
  checkCuda(cudaMemcpyAsync(hostResults_.data(), results_.get(), hostResults_.size() * sizeof(double), cudaMemcpyDeviceToHost, stream),
            "cudaMemcpyAsync(results)");
  std::vector<float> wgrad;
  if (o.returnGradients && L_.wgradTotal > 0) {
    wgrad.resize(static_cast<size_t>(L_.wgradTotal));
    checkCuda(cudaMemcpyAsync(wgrad.data(), wgrad_.get(), wgrad.size() * sizeof(float), cudaMemcpyDeviceToHost, stream),
              "cudaMemcpyAsync(weight gradients)");
  }
  if (o.returnGradients && o.inputGradient) {
    r.inputGradient.assign(elems(0), 0.0f);  // zeros when no output depends on the input
    if (L_.needsGrad[0])
      checkCuda(cudaMemcpyAsync(r.inputGradient.data(), grad(0), r.inputGradient.size() * sizeof(float), cudaMemcpyDeviceToHost, stream),
                "cudaMemcpyAsync(input gradient)");
  }
  checkCuda(cudaStreamSynchronize(stream), "gradients (cudaStreamSynchronize)");
  r.loss.resize(o.repeats);
  r.gradNorm.resize(o.repeats);
  for (uint32_t k = 0; k < o.repeats; ++k) {
    r.loss[k] = hostResults_[2 * k];
    r.gradNorm[k] = hostResults_[2 * k + 1];
  }
  if (o.returnGradients)
    for (size_t i = 0; i < d_.ops.size(); ++i)
      if (L_.wgradOffset[i] >= 0) {
        const float* g = wgrad.data() + L_.wgradOffset[i];
        r.gradients.emplace_back(static_cast<int32_t>(i), std::vector<float>(g, g + L_.wgradSize[i]));
      }
  return r;
}

}  // namespace cuda
}  // namespace zennas
