// Model descriptor v2 (native/DESCRIPTOR.md): parsing and validation from the op schema
// (native/ops/schema.generated.h, generated from src/ops/schema.ts), shape inference, and the
// buffer planner that maps SSA values to activation buffers. The engine never trusts src/: every
// rule of the contract is checked here, once, for every backend.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../ops/schema.generated.h"

namespace zennas {

const char* opName(OpCode op);

struct Shape {
  int64_t c = 0, h = 0, w = 0;
  int64_t plane() const { return h * w; }
  int64_t size() const { return c * h * w; }
};

/** One op after planning: its value ids, the buffers (slots) they live in, shapes and attributes. */
struct OpDesc {
  OpCode op;
  int32_t src = 0, dst = 0, aux = 0;   // slots of input 0, the output and input 1 (MUL gate, ADD operand)
  int32_t cin = 0, cout = 0, kernel = 0, stride = 0;
  Shape in, out;                       // per image
  int64_t weights = 0;                 // weights drawn for this op (CONV / DWCONV / LINEAR, bias excluded)
  int32_t bias = 0, countIncludePad = 0;
  int32_t pad = 0;                     // window ops: d·(k−1)/2, or AVGPOOL's pad attribute
  int32_t dilation = 1;                // DWCONV's dilation d (1 for every other op)
  int32_t offset = 0;                  // CROP: rows / columns dropped at the top and left
  int32_t fill = 0;                    // CROP: 1 = zero-filled back to the input's H×W
  std::vector<int32_t> inputs;         // value ids of every input (n-ary ADD)
  std::vector<int32_t> inputSlots;     // their slots
  std::vector<int32_t> inputChannels;  // channels of every input (CONCAT's output channel offsets follow from them)
  int32_t value = 0;                   // value id produced (op index + 1)
};

struct Descriptor {
  int32_t nSlots = 0, inputChannels = 0, outputSlot = 0;
  std::vector<OpDesc> ops;
  std::vector<int32_t> outputs;       // value ids (outputs[0] = what proxies read)
  std::vector<int32_t> valueSlot;     // slot of every value (0 = input)
  std::vector<Shape> valueShape;      // per-image shape of every value
  std::vector<int64_t> slotMaxElems;  // max per-image elements any write puts in each slot
  Shape outputShape;                  // of outputs[0]
  double totalWeights = 0;            // double: a hostile descriptor may sum past int64
  int numBN = 0;
  bool keepsAll = false;              // every value has its own buffer (backward pass)
};

constexpr int32_t kDescriptorMagic = 0x5A4E4E32;  // "ZNN2"
constexpr int32_t kDescriptorVersion = 2;
constexpr int kHeaderWords = 8;
constexpr int32_t kMaxOps = 1 << 20;

/**
 * Validate `words` against the op schema, infer every value's shape at `resolution` (square
 * input) and assign buffers: by liveness with in-place ops (forward only), or one buffer per value
 * when `keepAll` (what a backward pass needs). Throws Failure("E_DESCRIPTOR", ...) naming the op
 * and the rule broken (E_STRUCTURE when shapes do not fit the resolution).
 */
Descriptor parseDescriptor(const int32_t* words, size_t length, int resolution, bool keepAll = false);

}  // namespace zennas
