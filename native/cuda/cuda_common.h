// Shared pieces of the CUDA backend: CUDA/cuDNN status checks (errors are the engine's
// zennas::Failure, native/common/errors.h), RAII device buffers, and the slot-level view of a
// descriptor v2 (native/common/descriptor.h) that the plans execute.
#pragma once
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../common/errors.h"

namespace zennas {
namespace cuda {

/** Throws Failure (E_OUT_OF_MEMORY for allocation failures, else E_BACKEND); never aborts. */
void checkCuda(cudaError_t status, const char* what);
void checkCudnn(cudnnStatus_t status, const char* what);

#define ZENNAS_CUDA_CHECK(call) ::zennas::cuda::checkCuda((call), #call)
#define ZENNAS_CUDNN_CHECK(call) ::zennas::cuda::checkCudnn((call), #call)

/** Owning device allocation (cudaMalloc / cudaFree). */
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes, const char* what = "buffer") { allocate(bytes, what); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; o.bytes_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) { release(); ptr_ = o.ptr_; bytes_ = o.bytes_; o.ptr_ = nullptr; o.bytes_ = 0; }
    return *this;
  }
  void allocate(size_t bytes, const char* what);
  void release();
  void* get() const { return ptr_; }
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

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
                        kSigmoid = 8, kMul = 9, kAdd = 10, kAvgPool = 11, kSwish = 12, kIdentity = 13, kZero = 14 };

/** One op with the spatial sizes of its input and output at the plan's resolution. */
struct NetOp {
  int32_t opcode, src, dst, aux, cin, cout, kernel, stride;  // slots: src = input 0, aux = input 1
  int hin, win, hout, wout;
  std::vector<int32_t> extra;  // ADD with > 2 inputs: the slots of inputs 2.. (summed in order)
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
 * native/common/descriptor.cc: E_DESCRIPTOR / E_STRUCTURE), then take its slot-level view.
 * Ops the CUDA kernels do not implement yet fail with E_BACKEND naming the op.
 */
Net decodeNet(const int32_t* words, size_t nWords, int resolution);

}  // namespace cuda
}  // namespace zennas
