#include "cuda_common.h"

#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "../common/descriptor.h"

namespace zennas {
namespace cuda {

void checkCuda(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next request starts clean
  std::ostringstream msg;
  if (status == cudaErrorMemoryAllocation) {
    msg << "CUDA backend: out of GPU memory (" << what << ")";
    throw Failure("E_OUT_OF_MEMORY", msg.str());
  }
  msg << "CUDA backend: " << what << " failed: " << cudaGetErrorName(status) << ": " << cudaGetErrorString(status);
  // These poison the CUDA context for the rest of the process: every later call fails too.
  if (status == cudaErrorIllegalAddress || status == cudaErrorLaunchFailure || status == cudaErrorIllegalInstruction ||
      status == cudaErrorMisalignedAddress || status == cudaErrorHardwareStackError)
    msg << " (the CUDA context is lost: restart the process; please report this as a zennas bug)";
  throw Failure("E_BACKEND", msg.str());
}

void checkCudnn(cudnnStatus_t status, const char* what) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  std::ostringstream msg;
  if (status == CUDNN_STATUS_ALLOC_FAILED) {
    msg << "CUDA backend: out of GPU memory in cuDNN (" << what << ")";
    throw Failure("E_OUT_OF_MEMORY", msg.str());
  }
  msg << "CUDA backend: cuDNN " << what << " failed: " << cudnnGetErrorString(status);
  throw Failure("E_BACKEND", msg.str());
}

void DeviceBuffer::allocate(size_t bytes, const char* what, DevicePool* pool) {
  release();
  if (bytes == 0) return;
  if (pool) {
    ptr_ = pool->allocate(bytes, what);  // throws E_OUT_OF_MEMORY / E_BACKEND
    pool_ = pool;
    bytes_ = bytes;
    return;
  }
  const cudaError_t st = cudaMalloc(&ptr_, bytes);
  if (st != cudaSuccess) {
    ptr_ = nullptr;
    cudaGetLastError();
    std::ostringstream msg;
    if (st == cudaErrorMemoryAllocation) {
      size_t freeB = 0, totalB = 0;
      cudaMemGetInfo(&freeB, &totalB);
      msg << "CUDA backend: out of GPU memory allocating " << (bytes >> 20) << " MiB for " << what << " ("
          << (freeB >> 20) << " of " << (totalB >> 20) << " MiB free): reduce the batch size or resolution";
      throw Failure("E_OUT_OF_MEMORY", msg.str());
    }
    msg << "CUDA backend: cudaMalloc(" << what << ") failed: " << cudaGetErrorString(st);
    throw Failure("E_BACKEND", msg.str());
  }
  bytes_ = bytes;
}

void DeviceBuffer::release() {
  if (ptr_) {
    if (pool_) pool_->release(ptr_);
    else cudaFree(ptr_);
  }
  ptr_ = nullptr;
  bytes_ = 0;
  pool_ = nullptr;
}

RepeatGraph::~RepeatGraph() {
  if (exec_) cudaGraphExecDestroy(exec_);
}

bool RepeatGraph::capture(cudaStream_t stream, const std::function<void()>& enqueue) {
  if (exec_) {
    cudaGraphExecDestroy(exec_);
    exec_ = nullptr;
  }
  // Thread-local mode: only this thread is barred from unsafe calls (cudaMalloc, syncs) while
  // capturing; requests on other threads go on as usual.
  if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  cudaGraph_t graph = nullptr;
  try {
    enqueue();
  } catch (...) {
    // A call that refuses to be captured (a cuDNN path that synchronises, say) fails here; the
    // caller runs the repeat eagerly, where a real error is reported.
    cudaStreamEndCapture(stream, &graph);
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    return false;
  }
  const cudaError_t st = cudaStreamEndCapture(stream, &graph);
  if (st != cudaSuccess || !graph) {
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    return false;
  }
  const cudaError_t inst = cudaGraphInstantiate(&exec_, graph, 0);
  cudaGraphDestroy(graph);
  if (inst != cudaSuccess) {
    exec_ = nullptr;
    cudaGetLastError();
    return false;
  }
  return true;
}

void RepeatGraph::launch(cudaStream_t stream) const { checkCuda(cudaGraphLaunch(exec_, stream), "cudaGraphLaunch"); }

bool useCudaGraphs(uint32_t repeatsInCall) {
  static const int mode = [] {
    const char* v = std::getenv("ZENNAS_CUDA_GRAPHS");
    if (!v || !*v) return -1;  // auto
    return std::strcmp(v, "0") == 0 ? 0 : 1;
  }();
  return mode < 0 ? repeatsInCall >= 2 : mode == 1;
}

DeviceEvent::DeviceEvent() { checkCuda(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming), "cudaEventCreate"); }

DeviceEvent::~DeviceEvent() {
  if (e_) cudaEventDestroy(e_);
}

Net decodeNet(const int32_t* words, size_t nWords, int resolution) {
  // The one validator (schema-driven, shared with the CPU backend) plans the buffers by liveness;
  // its slot-level view (src/dst/aux) is what the CUDA plans execute. A MUL never writes over its
  // gate and no non-in-place op writes over an input: the plans rely on both.
  const Descriptor d = parseDescriptor(words, nWords, resolution, /*keepAll=*/false);
  Net net;
  net.inputChannels = d.inputChannels;
  net.numSlots = d.nSlots;
  net.outputSlot = d.outputSlot;
  net.resolution = resolution;
  net.outC = static_cast<int>(d.outputShape.c);
  net.outH = static_cast<int>(d.outputShape.h);
  net.outW = static_cast<int>(d.outputShape.w);
  net.slotElems.assign(d.slotMaxElems.begin(), d.slotMaxElems.end());
  net.ops.reserve(d.ops.size());
  for (size_t i = 0; i < d.ops.size(); ++i) {
    const OpDesc& o = d.ops[i];
    NetOp op{static_cast<int32_t>(o.op), o.src, o.dst, o.aux, o.cin, o.cout, o.kernel, o.stride,
             static_cast<int>(o.in.h), static_cast<int>(o.in.w), static_cast<int>(o.out.h), static_cast<int>(o.out.w),
             o.countIncludePad, o.pad, o.dilation, o.offset, {}, o.inputChannels};
    for (size_t k = 2; k < o.inputSlots.size(); ++k) op.extra.push_back(o.inputSlots[k]);
    net.ops.push_back(std::move(op));
  }
  return net;
}

}  // namespace cuda
}  // namespace zennas
