#include "zen_plan.h"

#include "kernels.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <sstream>

namespace zennas {
namespace cuda {
namespace {

void checkLaunch(const char* what) { checkCuda(cudaGetLastError(), what); }

}  // namespace

ZenPlan::ZenPlan(Net net, int batch, cudnnHandle_t handle, size_t workspaceLimit, DevicePool& pool)
    : net_(std::move(net)), B_(batch), pool_(pool) {
  const size_t twoB = 2 * static_cast<size_t>(B_);
  // As the CPU engine: a batch variance over one value is 0 and σ̄ would be −∞.
  for (size_t i = 0; i < net_.ops.size(); ++i) {
    const NetOp& op = net_.ops[i];
    if (op.opcode == kBn && static_cast<long long>(B_) * op.hin * op.win < 2)
      throw Failure("E_OPTION", "BN op " + std::to_string(i) +
                                        " normalises a single value per channel (batchSize·H·W = 1): use batchSize ≥ 2");
  }
  // Budget check first: a clear E_OUT_OF_MEMORY beats a failure deep inside cuDNN.
  size_t need = 0, weightFloats = 0, maxC = 1;
  for (size_t s = 0; s < net_.slotElems.size(); ++s) {
    if (twoB * net_.slotElems[s] > static_cast<size_t>(INT_MAX))
      throw Failure("E_OUT_OF_MEMORY", "CUDA backend: an activation of " + std::to_string(twoB * net_.slotElems[s]) +
                                               " elements exceeds cuDNN's 2^31 limit: reduce the batch size or resolution");
    need += twoB * net_.slotElems[s] * sizeof(float);
  }
  for (const NetOp& op : net_.ops) {
    if (op.opcode == kConv) weightFloats += static_cast<size_t>(op.cout) * op.cin * op.kernel * op.kernel;
    if (op.opcode == kDwConv) weightFloats += static_cast<size_t>(op.cout) * op.kernel * op.kernel;
    if (op.opcode == kLinear) weightFloats += static_cast<size_t>(op.cout) * op.cin;
    maxC = std::max<size_t>(maxC, op.cout);
  }
  need += weightFloats * sizeof(float);
  size_t freeB = 0, totalB = 0;
  checkCuda(cudaMemGetInfo(&freeB, &totalB), "cudaMemGetInfo");
  freeB += pool_.idleBytes();  // the pool's idle blocks are free for this plan too
  if (need > freeB) {
    std::ostringstream m;
    m << "CUDA backend: the Zen-score of this model at batch " << B_ << " needs " << (need >> 20) << " MiB of GPU memory, "
      << (freeB >> 20) << " MiB free: reduce the batch size or resolution";
    throw Failure("E_OUT_OF_MEMORY", m.str());
  }

  slots_.resize(net_.slotElems.size());
  for (size_t s = 0; s < slots_.size(); ++s) slots_[s].allocate(twoB * net_.slotElems[s] * sizeof(float), "activations", &pool_);
  weights_.allocate(std::max<size_t>(weightFloats, 1) * sizeof(float), "weights", &pool_);

  size_t wOff = 0;
  for (size_t i = 0; i < net_.ops.size(); ++i) {
    const NetOp& op = net_.ops[i];
    Step st;
    st.op = static_cast<int>(i);
    if (op.opcode == kConv || op.opcode == kDwConv) {
      ConvShape cs{static_cast<int>(twoB), op.cin, op.hin, op.win, op.cout, op.kernel, op.stride,
                   op.opcode == kDwConv ? op.cin : 1, op.hout, op.wout, op.dilation};
      convs_.emplace_back(handle, cs, DType::F32, /*strictFp32=*/true, AlgoSearch::Heuristic, workspaceLimit);
      st.conv = static_cast<int>(convs_.size() - 1);
      wsBytes_ = std::max(wsBytes_, convs_.back().workspaceBytes());
      st.weightCount = static_cast<size_t>(op.cout) * (op.opcode == kDwConv ? 1 : op.cin) * op.kernel * op.kernel;
    } else if (op.opcode == kLinear) {
      st.weightCount = static_cast<size_t>(op.cout) * op.cin;
    } else if (op.opcode == kBn) {
      st.bn = nBn_++;
      st.runningVarOffset = runningVarTotal_;
      runningVarTotal_ += op.cout;
      bnPartialSplitsMax_ = std::max(bnPartialSplitsMax_, bnSplits(2, B_, op.cout, op.hout * op.wout));
      if (i + 1 < net_.ops.size()) {
        const NetOp& next = net_.ops[i + 1];
        st.fuseRelu = next.opcode == kRelu && next.src == op.dst && next.dst == op.dst;
      }
    }
    st.weightOffset = wOff;
    wOff += st.weightCount;
    steps_.push_back(st);
    if (st.fuseRelu) ++i;  // the ReLU is applied inside the BN step
  }
  l1Blocks_ = l1Blocks(static_cast<size_t>(B_) * net_.outElems());

  workspace_.allocate(wsBytes_, "cuDNN workspace", &pool_);
  bnPartial_.allocate(2 * maxC * bnPartialSplitsMax_ * 2 * sizeof(double), "BN partial sums", &pool_);
  bnMean_.allocate(2 * maxC * sizeof(float), "BN mean", &pool_);
  bnInvstd_.allocate(2 * maxC * sizeof(float), "BN invstd", &pool_);
  bnVar_.allocate(maxC * sizeof(double), "BN variance", &pool_);
  runningVar_.allocate(std::max<size_t>(runningVarTotal_, 1) * sizeof(double), "BN running_var", &pool_);
  sigmaTerms_.allocate(std::max(nBn_, 1) * sizeof(double), "sigma terms", &pool_);
  l1Partial_.allocate(l1Blocks_ * sizeof(double), "L1 partial sums", &pool_);
  args_.allocate(sizeof(RepeatArgs), "repeat arguments", &pool_);
  bytes_ = need + wsBytes_;
}

void ZenPlan::enqueueRepeat(bool official, cudaStream_t stream, cudnnHandle_t handle) {
  const int twoB = 2 * B_;
  const RepeatArgs* args = args_.as<RepeatArgs>();
  const size_t inPerHalf = static_cast<size_t>(B_) * net_.inputChannels * net_.resolution * net_.resolution;
  // Fresh N(0,1) weights per repeat: stream = op index + 1, counter c2 = repeat.
  for (const Step& st : steps_) {
    if (st.weightCount)
      launchNormalFill(weights_.as<float>() + st.weightOffset, st.weightCount, args, static_cast<uint32_t>(st.op + 1), stream);
  }
  launchZenInput(slots_[0].as<float>(), inPerHalf, args, stream);
  checkLaunch("Philox weight/input generation");
  for (const Step& st : steps_) {
    const NetOp& op = net_.ops[st.op];
    float* src = slots_[op.src].as<float>();
    float* dst = slots_[op.dst].as<float>();
    const int hwIn = op.hin * op.win;
    switch (op.opcode) {
      case kConv:
      case kDwConv:
        convs_[st.conv].forward(handle, src, weights_.as<float>() + st.weightOffset, dst, workspace_.get(), workspace_.bytes());
        break;
      case kBn: {
        const int splits = bnSplits(2, B_, op.cout, hwIn);
        launchBnPartial(src, 2, B_, op.cout, hwIn, splits, bnPartial_.as<double>(), stream);
        double* rv = official ? runningVar_.as<double>() + st.runningVarOffset : nullptr;
        launchBnFinalize(bnPartial_.as<double>(), 2, op.cout, splits, static_cast<long long>(B_) * hwIn, args, bnMean_.as<float>(),
                         bnInvstd_.as<float>(), bnVar_.as<double>(), rv, stream);
        // Paper: σ̄ of the clean forward's batch variance; official: of running_var after both forwards.
        launchBnSigmaTerm(rv ? rv : bnVar_.as<double>(), op.cout, sigmaTerms_.as<double>() + st.bn, stream);
        launchBnApply(src, dst, bnMean_.as<float>(), bnInvstd_.as<float>(), 2, B_, op.cout, hwIn, st.fuseRelu, stream);
        break;
      }
      case kRelu: launchRelu(src, dst, DType::F32, static_cast<size_t>(twoB) * op.inElems(), stream); break;
      case kMaxPool:
        launchMaxPool(src, dst, DType::F32, twoB, op.cin, op.hin, op.win, op.hout, op.wout, op.kernel, op.stride, stream);
        break;
      case kAvgPool:
        launchAvgPool(src, dst, DType::F32, twoB, op.cin, op.hin, op.win, op.hout, op.wout, op.kernel, op.stride, op.pad, op.countIncludePad != 0,
                      stream);
        break;
      case kGap: launchGap(src, dst, DType::F32, twoB, op.cin, hwIn, stream); break;
      case kLinear:
        launchLinear(src, weights_.as<float>() + st.weightOffset, nullptr, dst, DType::F32, twoB, op.cin, op.cout, stream);
        break;
      case kSigmoid: launchSigmoid(src, dst, DType::F32, static_cast<size_t>(twoB) * op.inElems(), stream); break;
      case kSwish: launchSwish(src, dst, DType::F32, static_cast<size_t>(twoB) * op.inElems(), stream); break;
      case kHswish: launchHswish(src, dst, DType::F32, static_cast<size_t>(twoB) * op.inElems(), stream); break;
      case kHsigmoid: launchHsigmoid(src, dst, DType::F32, static_cast<size_t>(twoB) * op.inElems(), stream); break;
      case kMul: launchChannelMul(src, slots_[op.aux].get(), dst, DType::F32, twoB, op.cin, hwIn, stream); break;
      case kAdd: {
        // n-ary: (a + b) + c + …, in input order (as the CPU engine); dst is never one of inputs 1..
        const size_t n = static_cast<size_t>(twoB) * op.inElems();
        launchAdd(src, slots_[op.aux].get(), dst, DType::F32, n, false, stream);
        for (int32_t slot : op.extra) launchAdd(dst, slots_[slot].get(), dst, DType::F32, n, false, stream);
        break;
      }
      case kIdentity:
        if (src != dst)
          checkCuda(cudaMemcpyAsync(dst, src, static_cast<size_t>(twoB) * op.inElems() * sizeof(float), cudaMemcpyDeviceToDevice, stream),
                    "cudaMemcpyAsync(identity)");
        break;
      case kZero:
        checkCuda(cudaMemsetAsync(dst, 0, static_cast<size_t>(twoB) * op.outElems() * sizeof(float), stream), "cudaMemsetAsync(zero)");
        break;
      case kCrop: launchCrop(src, dst, DType::F32, twoB * op.cin, op.hin, op.win, op.hout, op.wout, op.offset, stream); break;
      case kConcat: {
        // per sample: the inputs' [C_k][H][W] blocks one after the other (the planner never puts dst on an input)
        const size_t hw = static_cast<size_t>(op.hout) * op.wout;
        size_t off = 0;
        for (size_t k = 0; k < op.inC.size(); ++k) {
          const size_t len = static_cast<size_t>(op.inC[k]) * hw;
          launchConcatCopy(slots_[op.inputSlot(k)].get(), dst, DType::F32, twoB, len, op.outElems(), off, stream);
          off += len;
        }
        break;
      }
      default: throw Failure("E_INTERNAL", "CUDA backend: unexpected opcode " + std::to_string(op.opcode));
    }
  }
  // Δ and the σ̄ sum into results[2·index] (official-mode replays write slots that are not read).
  const size_t outPerHalf = static_cast<size_t>(B_) * net_.outElems();
  const float* out = slots_[net_.outputSlot].as<float>();
  launchL1Partial(out, out + outPerHalf, outPerHalf, l1Blocks_, l1Partial_.as<double>(), stream);
  launchZenFinish(l1Partial_.as<double>(), l1Blocks_, static_cast<double>(B_), sigmaTerms_.as<double>(), nBn_, args, stream);
  launchAdvanceRepeat(args_.as<RepeatArgs>(), stream);
  checkLaunch("Zen-score forward kernels");
}

void ZenPlan::run(const ZenRunOptions& o, cudaStream_t stream, cudnnHandle_t handle, std::vector<double>& logDelta,
                  std::vector<double>& logSigmaSum) {
  // Official mode: running_var carries over from repeat to repeat (the official code never resets
  // it), so repeats [0, firstRepeat) are replayed first: a chunked call then equals one big call.
  const uint32_t end = o.firstRepeat + o.repeats;
  const uint32_t begin = o.official ? 0 : o.firstRepeat;
  const size_t slots = static_cast<size_t>(end - begin);
  if (results_.bytes() < slots * 2 * sizeof(double)) results_.allocate(slots * 2 * sizeof(double), "results", &pool_);
  if (o.official && runningVarTotal_ > 0) {
    // running_var starts at 1 (PyTorch init) and persists across the repeats of this call.
    launchFillF64(runningVar_.as<double>(), runningVarTotal_, 1.0, stream);
  }
  hostArgs_ = RepeatArgs{};
  hostArgs_.seed = o.seed;
  hostArgs_.repeat = begin;
  hostArgs_.index = 0;
  hostArgs_.alpha = o.alpha;
  hostArgs_.eps = o.bnEps;
  hostArgs_.results = results_.as<double>();
  // hostArgs_ is a member: it outlives the copy, which runs before anything reads args_.
  checkCuda(cudaMemcpyAsync(args_.get(), &hostArgs_, sizeof(RepeatArgs), cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync(repeat args)");
  checkLaunch("Zen-score setup");
  const int mode = o.official ? 1 : 0;
  RepeatGraph& graph = graphs_[mode];
  const bool wantGraph = useCudaGraphs(end - begin);
  for (uint32_t rep = begin; rep < end; ++rep) {
    if (o.cancelled) {
      // Kernels are queued asynchronously: keep at most two repeats ahead of the GPU so that a
      // cancellation (AbortSignal, Engine.close()) stops the call within about a repeat.
      const uint32_t k = rep - begin;
      if (k >= 1) checkCuda(cudaEventRecord(repeatDone_[(k - 1) % 2].get(), stream), "cudaEventRecord");
      if (k >= 2) checkCuda(cudaEventSynchronize(repeatDone_[k % 2].get()), "cudaEventSynchronize");
      if (o.cancelled()) fail("E_CANCELLED", "the call was cancelled (AbortSignal or engine.close())");
    }
    // Capture once a repeat has run eagerly on this plan (lazy initialisation stays out of it).
    if (!graph.ready() && wantGraph && warmed_[mode] && !graphFailed_[mode] &&
        !graph.capture(stream, [&] { enqueueRepeat(o.official, stream, handle); }))
      graphFailed_[mode] = true;
    if (graph.ready()) {
      graph.launch(stream);
    } else {
      enqueueRepeat(o.official, stream, handle);
      warmed_[mode] = true;
    }
  }
  hostResults_.resize(2 * static_cast<size_t>(o.repeats));
  const size_t skip = static_cast<size_t>(o.firstRepeat - begin);  // official-mode replays
  checkCuda(cudaMemcpyAsync(hostResults_.data(), results_.as<double>() + 2 * skip, hostResults_.size() * sizeof(double),
                            cudaMemcpyDeviceToHost, stream),
            "cudaMemcpyAsync(results)");
  checkCuda(cudaStreamSynchronize(stream), "Zen-score forward (cudaStreamSynchronize)");
  logDelta.resize(o.repeats);
  logSigmaSum.resize(o.repeats);
  for (uint32_t r = 0; r < o.repeats; ++r) {
    logDelta[r] = hostResults_[2 * r];
    logSigmaSum[r] = hostResults_[2 * r + 1];
  }
}

}  // namespace cuda
}  // namespace zennas
