// Shared pieces of the CUDA backend: the failure type (mapped to the engine's error type by the
// adapter), CUDA/cuDNN status checks, RAII device buffers and the decoded op list with shapes.
#pragma once
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace zennas {
namespace cuda {

/** A recoverable failure of the CUDA backend; `code` is an engine error code (E_BACKEND, …). */
class CudaFailure : public std::runtime_error {
 public:
  CudaFailure(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

/** Throws CudaFailure (E_OUT_OF_MEMORY for allocation failures, else E_BACKEND); never aborts. */
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

/** Descriptor opcodes (native/DESCRIPTOR.md). */
enum Opcode : int32_t { kConv = 1, kDwConv = 2, kBn = 3, kRelu = 4, kMaxPool = 5, kGap = 6, kLinear = 7,
                        kSigmoid = 8, kMul = 9, kAdd = 10 };

/** One descriptor op with the spatial sizes of its input and output at the plan's resolution. */
struct NetOp {
  int32_t opcode, src, dst, aux, cin, cout, kernel, stride;
  int hin, win, hout, wout;
  size_t inElems() const { return static_cast<size_t>(cin) * hin * win; }   // per sample
  size_t outElems() const { return static_cast<size_t>(cout) * hout * wout; }
};

/** A descriptor decoded for the CUDA plans; `slotElems[s]` = the largest per-sample value in slot s. */
struct Net {
  int inputChannels = 0, numSlots = 0, outputSlot = 0, resolution = 0;
  std::vector<NetOp> ops;
  std::vector<size_t> slotElems;
  std::vector<int> slotH, slotW, slotC;  // shape of the value a slot holds at the end of the net
};

/**
 * Decode a descriptor and infer shapes. The engine's common validation has already run; this
 * repeats the structural checks it relies on (cheap) and throws E_DESCRIPTOR otherwise, so a
 * bad descriptor can never index outside a buffer here.
 */
Net decodeNet(const int32_t* words, size_t nWords, int resolution);

}  // namespace cuda
}  // namespace zennas
