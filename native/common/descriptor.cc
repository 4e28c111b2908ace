#include "descriptor.h"

#include "errors.h"

#include <sstream>

namespace zennas {

const char* opName(OpCode op) {
  switch (op) {
    case OpCode::Conv: return "CONV";
    case OpCode::DwConv: return "DWCONV";
    case OpCode::BN: return "BN";
    case OpCode::Relu: return "RELU";
    case OpCode::MaxPool: return "MAXPOOL";
    case OpCode::Gap: return "GAP";
    case OpCode::Linear: return "LINEAR";
    case OpCode::Sigmoid: return "SIGMOID";
    case OpCode::Mul: return "MUL";
    case OpCode::Add: return "ADD";
  }
  return "?";
}

namespace {

[[noreturn]] void bad(const std::string& msg) { fail("E_DESCRIPTOR", "invalid descriptor: " + msg); }

std::string at(size_t i, OpCode op) {
  std::ostringstream s;
  s << "op " << i << " (" << opName(op) << "): ";
  return s.str();
}

int64_t convOut(int64_t x, int k, int stride) { return (x + 2 * ((k - 1) / 2) - k) / stride + 1; }

}  // namespace

Descriptor parseDescriptor(const int32_t* d, size_t length, int resolution) {
  if (length < static_cast<size_t>(kHeaderWords)) bad("too short (" + std::to_string(length) + " words; the header has 8)");
  if (d[0] != kDescriptorMagic) bad("bad magic (expected 0x5A4E4E31 \"ZNN1\")");
  if (d[1] != 1) bad("unsupported version " + std::to_string(d[1]) + " (expected 1)");
  const int64_t nOps = d[2];
  if (nOps < 1 || nOps > 1000000) bad("nOps " + std::to_string(nOps) + " out of range 1..1000000");
  if (length != static_cast<size_t>(kHeaderWords + kOpWords * nOps))
    bad("length " + std::to_string(length) + " does not match 8 + 8·" + std::to_string(nOps) + " ops");
  Descriptor out;
  out.nSlots = d[3];
  out.inputChannels = d[4];
  out.outputSlot = d[5];
  if (out.nSlots < 1 || out.nSlots > 65536) bad("nSlots " + std::to_string(out.nSlots) + " out of range 1..65536");
  if (out.inputChannels < 1 || out.inputChannels > 65536) bad("input channels " + std::to_string(out.inputChannels) + " out of range 1..65536");
  if (out.outputSlot < 0 || out.outputSlot >= out.nSlots) bad("output slot " + std::to_string(out.outputSlot) + " not in [0, nSlots)");
  if (d[6] != 0 || d[7] != 0) bad("reserved header words 6, 7 must be 0");

  std::vector<Shape> slot(out.nSlots);
  std::vector<bool> written(out.nSlots, false);
  out.slotMaxElems.assign(out.nSlots, 0);
  slot[0] = {out.inputChannels, resolution, resolution};
  written[0] = true;
  out.slotMaxElems[0] = slot[0].size();
  out.ops.reserve(static_cast<size_t>(nOps));

  for (int64_t i = 0; i < nOps; ++i) {
    const int32_t* r = d + kHeaderWords + kOpWords * i;
    if (r[0] < 1 || r[0] > 10) bad("op " + std::to_string(i) + ": unknown opcode " + std::to_string(r[0]));
    OpDesc o{static_cast<OpCode>(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], {}, {}, 0};
    const std::string where = at(static_cast<size_t>(i), o.op);
    auto checkSlot = [&](int32_t s, const char* what) {
      if (s < 0 || s >= out.nSlots) bad(where + what + " slot " + std::to_string(s) + " not in [0, " + std::to_string(out.nSlots) + ")");
    };
    auto readSlot = [&](int32_t s, const char* what) -> Shape {
      checkSlot(s, what);
      if (!written[s]) bad(where + what + " slot " + std::to_string(s) + " is read before it is written");
      return slot[s];
    };
    if (o.cin < 1 || o.cin > 65536) bad(where + "cin " + std::to_string(o.cin) + " out of range 1..65536");
    if (o.cout < 1 || o.cout > 65536) bad(where + "cout " + std::to_string(o.cout) + " out of range 1..65536");
    o.in = readSlot(o.src, "src");
    checkSlot(o.dst, "dst");
    if (o.in.c != o.cin)
      bad(where + "cin " + std::to_string(o.cin) + " does not match the " + std::to_string(o.in.c) + " channels of slot " + std::to_string(o.src));
    const bool windowed = o.op == OpCode::Conv || o.op == OpCode::DwConv || o.op == OpCode::MaxPool;
    if (windowed) {
      if (o.kernel < 1 || o.kernel > 15 || o.kernel % 2 == 0) bad(where + "kernel " + std::to_string(o.kernel) + " must be odd in 1..15");
      if (o.stride < 1 || o.stride > 8) bad(where + "stride " + std::to_string(o.stride) + " out of range 1..8");
    }
    auto sameC = [&]() {
      if (o.cout != o.cin) bad(where + "cout " + std::to_string(o.cout) + " must equal cin " + std::to_string(o.cin));
    };
    switch (o.op) {
      case OpCode::Conv:
        o.out = {o.cout, convOut(o.in.h, o.kernel, o.stride), convOut(o.in.w, o.kernel, o.stride)};
        o.weights = static_cast<int64_t>(o.cout) * o.cin * o.kernel * o.kernel;
        break;
      case OpCode::DwConv:
        sameC();
        o.out = {o.cout, convOut(o.in.h, o.kernel, o.stride), convOut(o.in.w, o.kernel, o.stride)};
        o.weights = static_cast<int64_t>(o.cout) * o.kernel * o.kernel;
        break;
      case OpCode::MaxPool:
        sameC();
        o.out = {o.cout, convOut(o.in.h, o.kernel, o.stride), convOut(o.in.w, o.kernel, o.stride)};
        break;
      case OpCode::BN: case OpCode::Relu: case OpCode::Sigmoid:
        sameC();
        o.out = o.in;
        break;
      case OpCode::Gap:
        sameC();
        o.out = {o.cout, 1, 1};
        break;
      case OpCode::Linear:
        if (o.in.h != 1 || o.in.w != 1)
          bad(where + "src slot " + std::to_string(o.src) + " is " + std::to_string(o.in.h) + "×" + std::to_string(o.in.w) + ", LINEAR needs 1×1 (GAP first)");
        o.out = {o.cout, 1, 1};
        o.weights = static_cast<int64_t>(o.cout) * o.cin;
        break;
      case OpCode::Mul: {
        sameC();
        const Shape a = readSlot(o.aux, "aux");
        if (a.c != o.cin || a.h != 1 || a.w != 1)
          bad(where + "aux slot " + std::to_string(o.aux) + " must be [N][" + std::to_string(o.cin) + "][1][1], is [N][" + std::to_string(a.c) + "][" +
              std::to_string(a.h) + "][" + std::to_string(a.w) + "]");
        o.out = o.in;
        break;
      }
      case OpCode::Add: {
        sameC();
        const Shape a = readSlot(o.aux, "aux");
        if (a.c != o.in.c || a.h != o.in.h || a.w != o.in.w) bad(where + "aux slot " + std::to_string(o.aux) + " shape differs from src");
        o.out = o.in;
        break;
      }
    }
    if (o.out.h < 1 || o.out.w < 1)
      bad(where + "spatial size " + std::to_string(o.out.h) + "×" + std::to_string(o.out.w) + " < 1 (input " + std::to_string(o.in.h) + "×" +
          std::to_string(o.in.w) + ", kernel " + std::to_string(o.kernel) + ", stride " + std::to_string(o.stride) + ")");
    // Ops that read a window or a reduction of their input cannot run in place.
    const bool inPlaceOk = o.op == OpCode::BN || o.op == OpCode::Relu || o.op == OpCode::Sigmoid || o.op == OpCode::Add || o.op == OpCode::Mul;
    if (!inPlaceOk && o.dst == o.src) bad(where + "dst slot " + std::to_string(o.dst) + " must differ from src (this op cannot run in place)");
    if (o.op == OpCode::Mul && o.dst == o.aux) bad(where + "dst slot " + std::to_string(o.dst) + " must differ from the aux (gate) slot");
    slot[o.dst] = o.out;
    written[o.dst] = true;
    if (o.out.size() > out.slotMaxElems[o.dst]) out.slotMaxElems[o.dst] = o.out.size();
    out.totalWeights += static_cast<double>(o.weights);
    if (o.op == OpCode::BN) ++out.numBN;
    out.ops.push_back(o);
  }
  bool outputWritten = false;
  for (const auto& o : out.ops) outputWritten = outputWritten || o.dst == out.outputSlot;
  if (!outputWritten)
    bad("output slot " + std::to_string(out.outputSlot) + " is never written by an op");
  out.outputShape = slot[out.outputSlot];
  return out;
}

}  // namespace zennas
