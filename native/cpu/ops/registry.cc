#include <array>

#include "op.h"

namespace zennas {
namespace cpu {

namespace {
std::array<CpuOp, kMaxOpCode + 1>& table() {
  static std::array<CpuOp, kMaxOpCode + 1> t{};  // zero-initialised before any registration runs
  return t;
}
}  // namespace

CpuOpRegistration::CpuOpRegistration(OpCode code, CpuOp op) { table()[static_cast<size_t>(code)] = op; }

const CpuOp* findCpuOp(OpCode code) {
  const CpuOp& op = table()[static_cast<size_t>(code)];
  return op.forward ? &op : nullptr;
}

}  // namespace cpu
}  // namespace zennas
