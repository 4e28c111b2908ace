// Parameter-free ops of the CPU executor, one file each (relu.cc, swish.cc, add.cc, …): a new op
// of this kind is its schema entry, one file here (forward and backward), its CUDA kernel, its
// float64 reference and its ONNX mapping — the executor and the build find it by itself (the
// file registers its opcode; CMake and binding.gyp compile every file in this folder).
// Ops with parameters or plan-time state (conv, dwconv, linear, BN) live in executor.cc.
#pragma once
#include <cstdint>
#include <functional>

#include "../../common/descriptor.h"
#include "../../common/thread_pool.h"
#include "../kernels.h"

namespace zennas {
namespace cpu {

/** What an op sees of one forward or backward step. Buffers are [C][N][H][W] with channel strides g.inStride / g.outStride. */
struct OpStep {
  const OpDesc& op;
  const ConvGeom& g;       // channels, planes, window, strides (as a conv's)
  int64_t images;          // N
  ThreadPool& pool;
  const Kernels& k;
  int64_t channelsPerTask; // the plan's split (independent of the thread count)
  const float* const* inputs;  // per input: its buffer
  const int64_t* inputStrides; // per input: its channel stride
  float* out;              // forward: the output buffer (may equal inputs[0] for in-place ops)
  // backward (null in forward steps)
  const float* dy = nullptr;   // gradient of the output
  float* const* dx = nullptr;  // per input: its gradient buffer, or null when none is needed
  const bool* acc = nullptr;   // per input: add into dx (another consumer wrote it first)

  int64_t inPlane() const { return op.in.plane(); }
  int64_t outPlane() const { return op.out.plane(); }
  /** fn(c) for every channel c in [0, channels), split as the plan says. */
  void perChannel(int64_t channels, const std::function<void(int64_t)>& fn) const {
    const int64_t per = channelsPerTask;
    pool.parallelFor((channels + per - 1) / per, [&](int64_t t, int, float*) {
      for (int64_t c = t * per; c < std::min(channels, (t + 1) * per); ++c) fn(c);
    });
  }
};

/**
 * Forward of an elementwise op y = f(x), with f evaluated in float64 and rounded once to float
 * (channel by channel, split as the plan says). In place when out == inputs[0].
 */
template <class F>
void mapForward(const OpStep& s, F f) {
  const int64_t len = s.images * s.inPlane();
  s.perChannel(s.op.cout, [&](int64_t c) {
    const float* x = s.inputs[0] + c * s.g.inStride;
    float* y = s.out + c * s.g.outStride;
    for (int64_t i = 0; i < len; ++i) y[i] = static_cast<float>(f(static_cast<double>(x[i])));
  });
}

/**
 * Backward of an elementwise op whose gradient is read from its input: dx (+)= g(x, dy), g in
 * float64 (e.g. dy·f'(x)), rounded once to float; nothing when no input gradient is needed.
 */
template <class G>
void mapBackwardFromInput(const OpStep& s, G g) {
  if (!s.dx[0]) return;
  const int64_t len = s.images * s.inPlane();
  s.perChannel(s.op.cout, [&](int64_t c) {
    const float* x = s.inputs[0] + c * s.g.inStride;
    const float* dy = s.dy + c * s.g.outStride;
    float* dx = s.dx[0] + c * s.g.inStride;
    for (int64_t i = 0; i < len; ++i) {
      const float d = static_cast<float>(g(static_cast<double>(x[i]), static_cast<double>(dy[i])));
      dx[i] = s.acc[0] ? dx[i] + d : d;
    }
  });
}

struct CpuOp {
  void (*forward)(const OpStep& s);
  void (*backward)(const OpStep& s);
};

/** The registered implementation of `code`, or nullptr (a core op of executor.cc, or a bug). */
const CpuOp* findCpuOp(OpCode code);

struct CpuOpRegistration {
  CpuOpRegistration(OpCode code, CpuOp op);
};

#define ZENNAS_CPU_OP(CODE, FORWARD, BACKWARD) \
  static const ::zennas::cpu::CpuOpRegistration zennasCpuOp##CODE(::zennas::OpCode::CODE, {FORWARD, BACKWARD})

}  // namespace cpu
}  // namespace zennas
