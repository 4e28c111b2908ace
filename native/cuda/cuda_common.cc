#include "cuda_common.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <sstream>

namespace zennas {
namespace cuda {

void checkCuda(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next request starts clean
  std::ostringstream msg;
  if (status == cudaErrorMemoryAllocation) {
    msg << "CUDA backend: out of GPU memory (" << what << ")";
    throw CudaFailure("E_OUT_OF_MEMORY", msg.str());
  }
  msg << "CUDA backend: " << what << " failed: " << cudaGetErrorName(status) << ": " << cudaGetErrorString(status);
  // These poison the CUDA context for the rest of the process: every later call fails too.
  if (status == cudaErrorIllegalAddress || status == cudaErrorLaunchFailure || status == cudaErrorIllegalInstruction ||
      status == cudaErrorMisalignedAddress || status == cudaErrorHardwareStackError)
    msg << " (the CUDA context is lost: restart the process; please report this as a zennas bug)";
  throw CudaFailure("E_BACKEND", msg.str());
}

void checkCudnn(cudnnStatus_t status, const char* what) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  std::ostringstream msg;
  if (status == CUDNN_STATUS_ALLOC_FAILED) {
    msg << "CUDA backend: out of GPU memory in cuDNN (" << what << ")";
    throw CudaFailure("E_OUT_OF_MEMORY", msg.str());
  }
  msg << "CUDA backend: cuDNN " << what << " failed: " << cudnnGetErrorString(status);
  throw CudaFailure("E_BACKEND", msg.str());
}

void DeviceBuffer::allocate(size_t bytes, const char* what) {
  release();
  if (bytes == 0) return;
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
      throw CudaFailure("E_OUT_OF_MEMORY", msg.str());
    }
    msg << "CUDA backend: cudaMalloc(" << what << ") failed: " << cudaGetErrorString(st);
    throw CudaFailure("E_BACKEND", msg.str());
  }
  bytes_ = bytes;
}

void DeviceBuffer::release() {
  if (ptr_) cudaFree(ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
}

namespace {
int convOut(int size, int k, int stride) { return (size + 2 * ((k - 1) / 2) - k) / stride + 1; }
}  // namespace

Net decodeNet(const int32_t* d, size_t n, int resolution) {
  auto bad = [](const std::string& m) -> void { throw CudaFailure("E_DESCRIPTOR", "invalid descriptor: " + m); };
  if (n < 8 || d[0] != 0x5A4E4E31 || d[1] != 1) bad("bad header");
  const int nOps = d[2];
  if (nOps < 1 || n != 8 + 8 * static_cast<size_t>(nOps)) bad("length does not match the op count");
  Net net;
  net.numSlots = d[3];
  net.inputChannels = d[4];
  net.outputSlot = d[5];
  net.resolution = resolution;
  if (net.numSlots < 1 || net.numSlots > (1 << 20)) bad("slot count out of range");
  if (net.outputSlot < 0 || net.outputSlot >= net.numSlots) bad("output slot out of range");
  if (resolution < 1) bad("resolution < 1");
  std::vector<int> h(net.numSlots, 0), w(net.numSlots, 0), c(net.numSlots, 0);
  std::vector<char> written(net.numSlots, 0);
  h[0] = w[0] = resolution;
  c[0] = net.inputChannels;
  written[0] = 1;
  net.slotElems.assign(net.numSlots, 0);
  net.slotElems[0] = static_cast<size_t>(net.inputChannels) * resolution * resolution;
  for (int i = 0; i < nOps; ++i) {
    const int32_t* r = d + 8 + 8 * i;
    NetOp op{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], 0, 0, 0, 0};
    const std::string at = "op " + std::to_string(i) + ": ";
    if (op.opcode < kConv || op.opcode > kAdd) bad(at + "unknown opcode");
    if (op.src < 0 || op.src >= net.numSlots || op.dst < 0 || op.dst >= net.numSlots || op.aux < 0 ||
        op.aux >= net.numSlots)
      bad(at + "slot out of range");
    if (!written[op.src]) bad(at + "reads a slot before it is written");
    if ((op.opcode == kMul || op.opcode == kAdd) && !written[op.aux]) bad(at + "reads an aux slot before it is written");
    if (op.cin < 1 || op.cout < 1 || op.cin > 65536 || op.cout > 65536) bad(at + "channels out of range");
    if (c[op.src] != op.cin) bad(at + "input channels do not match the producer");
    const bool inPlaceOk = op.opcode == kBn || op.opcode == kRelu || op.opcode == kSigmoid || op.opcode == kMul || op.opcode == kAdd;
    if (!inPlaceOk && op.dst == op.src) bad(at + "this op cannot run in place (dst == src)");
    op.hin = h[op.src];
    op.win = w[op.src];
    op.hout = op.hin;
    op.wout = op.win;
    switch (op.opcode) {
      case kConv: case kDwConv: case kMaxPool:
        if (op.kernel < 1 || op.kernel > 15 || op.kernel % 2 == 0 || op.stride < 1 || op.stride > 8) bad(at + "bad kernel/stride");
        if (op.opcode != kConv && op.cin != op.cout) bad(at + "cin != cout");
        op.hout = convOut(op.hin, op.kernel, op.stride);
        op.wout = convOut(op.win, op.kernel, op.stride);
        break;
      case kGap: op.hout = op.wout = 1; if (op.cin != op.cout) bad(at + "cin != cout"); break;
      case kLinear: if (op.hin != 1 || op.win != 1) bad(at + "linear input is not 1x1"); break;
      case kMul:
        if (op.cin != op.cout || c[op.aux] != op.cin || h[op.aux] != 1 || w[op.aux] != 1) bad(at + "gate shape mismatch");
        break;
      case kAdd:
        if (op.cin != op.cout || c[op.aux] != op.cin || h[op.aux] != op.hin || w[op.aux] != op.win) bad(at + "add shape mismatch");
        break;
      default: if (op.cin != op.cout) bad(at + "cin != cout"); break;
    }
    if (op.hout < 1 || op.wout < 1) bad(at + "spatial size < 1");
    h[op.dst] = op.hout;
    w[op.dst] = op.wout;
    c[op.dst] = op.cout;
    written[op.dst] = 1;
    net.slotElems[op.dst] = std::max(net.slotElems[op.dst], op.outElems());
    net.ops.push_back(op);
  }
  if (!written[net.outputSlot]) bad("output slot never written");
  net.slotH = h;
  net.slotW = w;
  net.slotC = c;
  return net;
}

}  // namespace cuda
}  // namespace zennas
