// Shared pieces of the CUDA backend: CUDA/cuDNN status checks (errors are the engine's
// zennas::Failure, native/common/errors.h), RAII device buffers (from the backend's pool,
// device_pool.h), captured CUDA graphs, and the slot-level view of a descriptor v2
// (native/common/descriptor.h) that the plans execute.
#pragma once
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../common/errors.h"
#include "device_pool.h"

namespace zennas {
namespace cuda {

/** Throws Failure (E_OUT_OF_MEMORY for allocation failures, else E_BACKEND); never aborts. */
void checkCuda(cudaError_t status, const char* what);
void checkCudnn(cudnnStatus_t status, const char* what);

#define ZENNAS_CUDA_CHECK(call) ::zennas::cuda::checkCuda((call), #call)
#define ZENNAS_CUDNN_CHECK(call) ::zennas::cuda::checkCudnn((call), #call)

/**
 * Owning device allocation: from `pool` when one is given (released back to it), else
 * cudaMalloc / cudaFree. The pool must outlive the buffer.
 */
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes, const char* what = "buffer", DevicePool* pool = nullptr) { allocate(bytes, what, pool); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_), pool_(o.pool_) {
    o.ptr_ = nullptr;
    o.bytes_ = 0;
    o.pool_ = nullptr;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = o.ptr_; bytes_ = o.bytes_; pool_ = o.pool_;
      o.ptr_ = nullptr; o.bytes_ = 0; o.pool_ = nullptr;
    }
    return *this;
  }
  void allocate(size_t bytes, const char* what, DevicePool* pool = nullptr);
  void release();
  void* get() const { return ptr_; }
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  DevicePool* pool_ = nullptr;
};

/**
 * One repeat's kernel launches captured once into a CUDA graph and replayed (cudaGraphLaunch):
 * one launch per repeat instead of one per kernel, what small candidates are bound by. Whatever
 * changes between repeats (seed, repeat index, α, ε, where results go) is read by the kernels
 * from device memory (RepeatArgs, kernels.h), so the graph is the same for every repeat and the
 * results are bit-for-bit those of launching the kernels one by one.
 */
class RepeatGraph {
 public:
  RepeatGraph() = default;
  ~RepeatGraph();
  RepeatGraph(const RepeatGraph&) = delete;
  RepeatGraph& operator=(const RepeatGraph&) = delete;
  /**
   * Captures what `enqueue` queues on `stream` (nothing runs). False when the launches cannot be
   * captured (a cuDNN call that synchronises or throws under capture, another thread
   * invalidating it): the caller then launches eagerly, where a real error surfaces.
   */
  bool capture(cudaStream_t stream, const std::function<void()>& enqueue);
  bool ready() const { return exec_ != nullptr; }
  void launch(cudaStream_t stream) const;

 private:
  cudaGraphExec_t exec_ = nullptr;
};

/**
 * ZENNAS_CUDA_GRAPHS: "0" never captures, "1" always does, unset (auto) captures when a call
 * runs at least two repeats (one capture + instantiation costs about as much as one eager repeat).
 * A plan captures only after one eager repeat has run (cuDNN's and the driver's lazy
 * initialisation then happens outside the capture) and keeps the graph for its later calls.
 */
bool useCudaGraphs(uint32_t repeatsInCall);

/** Owning CUDA event without timing (cudaEventCreateWithFlags / cudaEventDestroy). */
class DeviceEvent {
 public:
  DeviceEvent();
  ~DeviceEvent();
  DeviceEvent(const DeviceEvent&) = delete;
  DeviceEvent& operator=(const DeviceEvent&) = delete;
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

/** Descriptor opcodes (native/DESCRIPTOR.md, = zennas::OpCode). */
enum Opcode : int32_t { kConv = 1, kDwConv = 2, kBn = 3, kRelu = 4, kMaxPool = 5, kGap = 6, kLinear = 7,
                        kSigmoid = 8, kMul = 9, kAdd = 10, kAvgPool = 11, kSwish = 12, kIdentity = 13, kZero = 14,
                        kHswish = 15, kHsigmoid = 16, kConcat = 17, kCrop = 18 };

/** One op with the spatial sizes of its input and output at the plan's resolution. */
struct NetOp {
  int32_t opcode, src, dst, aux, cin, cout, kernel, stride;  // slots: src = input 0, aux = input 1
  int hin, win, hout, wout;
  int32_t countIncludePad;     // AVGPOOL: divide by k² (1) or by the in-bounds count (0)
  int32_t pad;                 // window ops: d·(k−1)/2, or AVGPOOL's pad attribute
  int32_t dilation;            // DWCONV's dilation d (1 elsewhere)
  int32_t offset;              // CROP: rows / columns dropped at the top and left
  std::vector<int32_t> extra;  // ADD / CONCAT with > 2 inputs: the slots of inputs 2.. (in order)
  std::vector<int32_t> inC;    // channels of every input (CONCAT)
  int32_t inputSlot(size_t k) const { return k == 0 ? src : k == 1 ? aux : extra[k - 2]; }
  size_t inElems() const { return static_cast<size_t>(cin) * hin * win; }   // per sample
  size_t outElems() const { return static_cast<size_t>(cout) * hout * wout; }
};

/** A descriptor planned for the CUDA plans; `slotElems[s]` = the largest per-sample value in slot s. */
struct Net {
  int inputChannels = 0, numSlots = 0, outputSlot = 0, resolution = 0;
  std::vector<NetOp> ops;
  std::vector<size_t> slotElems;
  int outC = 0, outH = 0, outW = 0;  // shape of the output value (outputs[0]) per sample
  size_t outElems() const { return static_cast<size_t>(outC) * outH * outW; }
};

/**
 * Validate and plan a descriptor v2 with the engine's one validator (parseDescriptor,
 * native/common/descriptor.cc: E_DESCRIPTOR / E_STRUCTURE), then take its slot-level view
 * (forward-only plans: buffers by liveness). Every schema op has CUDA kernels.
 */
Net decodeNet(const int32_t* words, size_t nWords, int resolution);

}  // namespace cuda
}  // namespace zennas
