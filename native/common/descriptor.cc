#include "descriptor.h"

#include <algorithm>
#include <sstream>

#include "errors.h"

namespace zennas {

const char* opName(OpCode op) {
  const OpSpec* s = opSpec(static_cast<int32_t>(op));
  return s ? s->name : "?";
}

namespace {

[[noreturn]] void bad(const std::string& msg) { fail("E_DESCRIPTOR", "invalid descriptor: " + msg); }

std::string at(size_t i, OpCode op) {
  std::ostringstream s;
  s << "op " << i << " (" << opName(op) << "): ";
  return s.str();
}

int64_t convOut(int64_t x, int k, int stride, int pad) { return (x + 2 * pad - k) / stride + 1; }

std::string shapeText(const Shape& s) {
  return "[" + std::to_string(s.c) + "][" + std::to_string(s.h) + "][" + std::to_string(s.w) + "]";
}

/** Liveness buffer assignment (the rule descriptor v1's TypeScript lowering used: same slots). */
void assignSlots(Descriptor& d) {
  const size_t nValues = d.ops.size() + 1;
  d.valueSlot.assign(nValues, -1);
  d.valueSlot[0] = 0;
  if (d.keepsAll) {
    for (size_t v = 0; v < nValues; ++v) d.valueSlot[v] = static_cast<int32_t>(v);
    d.nSlots = static_cast<int32_t>(nValues);
  } else {
    std::vector<int64_t> lastUse(nValues, -1);
    for (size_t i = 0; i < d.ops.size(); ++i)
      for (int32_t v : d.ops[i].inputs) lastUse[v] = static_cast<int64_t>(i);
    for (int32_t v : d.outputs) lastUse[v] = INT64_MAX;
    std::vector<int32_t> freeSlots;
    int32_t n = 1;
    for (size_t i = 0; i < d.ops.size(); ++i) {
      OpDesc& o = d.ops[i];
      const int32_t v0 = o.inputs[0];
      const bool lastRead = lastUse[v0] == static_cast<int64_t>(i) &&
                            std::count(o.inputs.begin(), o.inputs.end(), v0) == 1;
      // In place: input 0 dies here and is not the network input (never overwritten). MUL never
      // writes over its gate (input 1 is read per image while the output is written).
      const bool inPlace = opSpec(o.op).inPlace && v0 != 0 && lastRead;
      int32_t dst;
      if (inPlace) {
        dst = d.valueSlot[v0];
      } else {
        std::sort(freeSlots.begin(), freeSlots.end());
        if (!freeSlots.empty()) {
          dst = freeSlots.front();
          freeSlots.erase(freeSlots.begin());
        } else {
          dst = n++;
        }
      }
      d.valueSlot[o.value] = dst;
      std::vector<int32_t> seen;
      for (int32_t v : o.inputs) {
        if (std::find(seen.begin(), seen.end(), v) != seen.end()) continue;
        seen.push_back(v);
        if (lastUse[v] == static_cast<int64_t>(i) && v != 0 && !(inPlace && v == v0)) freeSlots.push_back(d.valueSlot[v]);
      }
    }
    d.nSlots = n;
  }
  d.slotMaxElems.assign(static_cast<size_t>(d.nSlots), 0);
  d.slotMaxElems[0] = d.valueShape[0].size();
  for (OpDesc& o : d.ops) {
    o.inputSlots.clear();
    for (int32_t v : o.inputs) o.inputSlots.push_back(d.valueSlot[v]);
    o.src = o.inputSlots[0];
    o.aux = o.inputSlots.size() > 1 ? o.inputSlots[1] : 0;
    o.dst = d.valueSlot[o.value];
    d.slotMaxElems[o.dst] = std::max(d.slotMaxElems[o.dst], o.out.size());
  }
  d.outputSlot = d.valueSlot[d.outputs[0]];
}

}  // namespace

Descriptor parseDescriptor(const int32_t* d, size_t length, int resolution, bool keepAll) {
  if (length < static_cast<size_t>(kHeaderWords)) bad("too short (" + std::to_string(length) + " words; the header has 8)");
  if (d[0] == 0x5A4E4E31) bad("descriptor v1 (\"ZNN1\") is no longer accepted: encode with encodeDescriptor (v2)");
  if (d[0] != kDescriptorMagic) bad("bad magic (expected 0x5A4E4E32 \"ZNN2\")");
  if (d[1] != kDescriptorVersion) bad("unsupported version " + std::to_string(d[1]) + " (expected 2)");
  const int64_t nOps = d[2];
  if (nOps < 1 || nOps > kMaxOps) bad("nOps " + std::to_string(nOps) + " out of range 1.." + std::to_string(kMaxOps));
  if (d[5] < 0 || static_cast<size_t>(d[5]) != length) bad("header says " + std::to_string(d[5]) + " words, the array has " + std::to_string(length));
  // Word 6: flags (bit 0: the scoring view, which only front ends read); word 7: reserved.
  if ((d[6] & ~1) != 0 || d[7] != 0) bad("header word 6 (flags) may only have bit 0 set and word 7 (reserved) must be 0");
  Descriptor out;
  out.keepsAll = keepAll;
  out.inputChannels = d[3];
  const int32_t nOut = d[4];
  if (out.inputChannels < 1 || out.inputChannels > 65536) bad("input channels " + std::to_string(out.inputChannels) + " out of range 1..65536");
  if (nOut < 1 || nOut > 1024) bad("nOutputs " + std::to_string(nOut) + " out of range 1..1024");

  out.valueShape.reserve(static_cast<size_t>(nOps) + 1);
  out.valueShape.push_back({out.inputChannels, resolution, resolution});
  out.ops.reserve(static_cast<size_t>(nOps));
  size_t pos = kHeaderWords;
  auto word = [&](const std::string& what) -> int32_t {
    if (pos >= length) bad("truncated in " + what);
    return d[pos++];
  };

  for (int64_t i = 0; i < nOps; ++i) {
    const std::string opAt = "op " + std::to_string(i);
    const int32_t code = word(opAt);
    const OpSpec* spec = opSpec(code);
    if (!spec) bad(opAt + ": unknown opcode " + std::to_string(code));
    OpDesc o;
    o.op = spec->code;
    o.value = static_cast<int32_t>(i + 1);
    const std::string where = at(static_cast<size_t>(i), o.op);
    const int32_t nIn = word(opAt), nAttr = word(opAt);
    if (nIn < spec->minInputs || nIn > spec->maxInputs)
      bad(where + std::to_string(nIn) + " inputs, expected " + std::to_string(spec->minInputs) +
          (spec->maxInputs != spec->minInputs ? ".." + std::to_string(spec->maxInputs) : ""));
    if (nAttr < spec->nRequired || nAttr > spec->nAttrs)
      bad(where + std::to_string(nAttr) + " attributes, the schema has " + std::to_string(spec->nRequired) +
          (spec->nRequired != spec->nAttrs ? ".." + std::to_string(spec->nAttrs) : ""));
    for (int32_t k = 0; k < nIn; ++k) {
      const int32_t v = word(opAt);
      if (v < 0 || v > i) bad(where + "input value " + std::to_string(v) + " is not produced before it (values 0.." + std::to_string(i) + ")");
      o.inputs.push_back(v);
    }
    bool hasPad = false;
    for (int32_t k = 0; k < nAttr; ++k) hasPad = hasPad || spec->attrs[k].field == AttrField::Pad;
    o.pad = -1;
    for (int32_t k = 0; k < nAttr; ++k) {
      const AttrSpec& a = spec->attrs[k];
      const int32_t v = word(opAt);
      const bool odd = a.odd || (a.oddUnlessPad && !hasPad);
      if (v < a.min || v > a.max || (odd && v % 2 == 0))
        bad(where + a.name + " " + std::to_string(v) + " out of range " + std::to_string(a.min) + ".." + std::to_string(a.max) +
            (odd ? (a.oddUnlessPad ? " (odd unless pad is given)" : " (odd)") : ""));
      switch (a.field) {
        case AttrField::Cout: o.cout = v; break;
        case AttrField::Kernel: o.kernel = v; break;
        case AttrField::Stride: o.stride = v; break;
        case AttrField::Bias: o.bias = v; break;
        case AttrField::CountIncludePad: o.countIncludePad = v; break;
        case AttrField::Pad: o.pad = v; break;
        case AttrField::Dilation: o.dilation = v; break;
        case AttrField::Offset: o.offset = v; break;
        case AttrField::Fill: o.fill = v; break;
      }
    }
    if (hasPad && 2 * o.pad > o.kernel)
      bad(where + "pad " + std::to_string(o.pad) + " is more than half of kernel " + std::to_string(o.kernel) + " (PyTorch's rule)");
    const int32_t extent = o.dilation * (o.kernel - 1) + 1;  // d·(k−1) + 1: the window's span
    if (!hasPad) o.pad = spec->shape == ShapeRule::Window && o.kernel > 0 ? (extent - 1) / 2 : 0;
    o.in = out.valueShape[o.inputs[0]];
    o.cin = static_cast<int32_t>(o.in.c);
    for (int32_t v : o.inputs) o.inputChannels.push_back(static_cast<int32_t>(out.valueShape[v].c));
    bool hasCout = false;
    for (int32_t k = 0; k < spec->nAttrs; ++k) hasCout = hasCout || spec->attrs[k].field == AttrField::Cout;
    if (!hasCout) o.cout = o.cin;
    switch (spec->shape) {
      case ShapeRule::Same: o.out = o.in; break;
      case ShapeRule::Window:
        o.out = {o.cout, convOut(o.in.h, extent, o.stride, o.pad), convOut(o.in.w, extent, o.stride, o.pad)};
        if (o.out.h < 1 || o.out.w < 1)
          fail("E_STRUCTURE", where + "a " + std::to_string(o.in.h) + "×" + std::to_string(o.in.w) + " input is too small for kernel " +
                                  std::to_string(o.kernel) + " stride " + std::to_string(o.stride));
        break;
      case ShapeRule::Global: o.out = {o.cin, 1, 1}; break;
      case ShapeRule::Linear:
        if (o.in.h != 1 || o.in.w != 1)
          fail("E_STRUCTURE", where + "needs a 1×1 input but gets " + std::to_string(o.in.h) + "×" + std::to_string(o.in.w) + " (GAP first)");
        o.out = {o.cout, 1, 1};
        break;
      case ShapeRule::Gate: {
        const Shape g = out.valueShape[o.inputs[1]];
        if (g.c != o.in.c || g.h != 1 || g.w != 1) bad(where + "the gate must be [" + std::to_string(o.in.c) + "][1][1], is " + shapeText(g));
        o.out = o.in;
        break;
      }
      case ShapeRule::Elementwise:
        for (int32_t v : o.inputs) {
          const Shape s = out.valueShape[v];
          if (s.c != o.in.c || s.h != o.in.h || s.w != o.in.w) bad(where + "inputs differ in shape (" + shapeText(o.in) + " vs " + shapeText(s) + ")");
        }
        o.out = o.in;
        break;
      case ShapeRule::Crop:
        if (o.in.h <= o.offset || o.in.w <= o.offset)
          fail("E_STRUCTURE", where + "a " + std::to_string(o.in.h) + "×" + std::to_string(o.in.w) + " input is too small for offset " + std::to_string(o.offset));
        o.out = o.fill ? o.in : Shape{o.in.c, o.in.h - o.offset, o.in.w - o.offset};
        break;
      case ShapeRule::Concat: {
        int64_t c = 0;
        for (int32_t v : o.inputs) {
          const Shape s = out.valueShape[v];
          if (s.h != o.in.h || s.w != o.in.w) bad(where + "inputs differ in H×W (" + shapeText(o.in) + " vs " + shapeText(s) + ")");
          c += s.c;
        }
        if (c > 65536) bad(where + std::to_string(c) + " output channels (at most 65536)");
        o.out = {c, o.in.h, o.in.w};
        o.cout = static_cast<int32_t>(c);
        break;
      }
    }
    switch (spec->weights) {
      case WeightKind::Conv: o.weights = static_cast<int64_t>(o.cout) * o.cin * o.kernel * o.kernel; break;
      case WeightKind::Depthwise: o.weights = static_cast<int64_t>(o.cout) * o.kernel * o.kernel; break;
      case WeightKind::Linear: o.weights = static_cast<int64_t>(o.cout) * o.cin; break;
      case WeightKind::BN: ++out.numBN; break;
      case WeightKind::None: break;
    }
    out.totalWeights += static_cast<double>(o.weights);
    out.valueShape.push_back(o.out);
    out.ops.push_back(std::move(o));
  }
  for (int32_t k = 0; k < nOut; ++k) {
    const int32_t v = word("outputs");
    if (v < 1 || v > nOps) bad("output value " + std::to_string(v) + " is not produced by an op");
    out.outputs.push_back(v);
  }
  if (pos != length) bad(std::to_string(length - pos) + " words after the outputs");
  out.outputShape = out.valueShape[out.outputs[0]];
  assignSlots(out);
  return out;
}

}  // namespace zennas
