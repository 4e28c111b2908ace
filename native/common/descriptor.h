// Model descriptor v1 (native/DESCRIPTOR.md): parsing, validation and shape inference. The
// engine never trusts src/: every rule of the contract is checked again here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace zennas {

enum class OpCode : int32_t { Conv = 1, DwConv = 2, BN = 3, Relu = 4, MaxPool = 5, Gap = 6, Linear = 7, Sigmoid = 8, Mul = 9, Add = 10 };

const char* opName(OpCode op);

struct Shape {
  int64_t c = 0, h = 0, w = 0;
  int64_t plane() const { return h * w; }
  int64_t size() const { return c * h * w; }
};

struct OpDesc {
  OpCode op;
  int32_t src, dst, aux, cin, cout, kernel, stride;
  Shape in, out;        // per image
  int64_t weights = 0;  // number of weights drawn for this op (CONV / DWCONV / LINEAR)
};

struct Descriptor {
  int32_t nSlots = 0, inputChannels = 0, outputSlot = 0;
  std::vector<OpDesc> ops;
  std::vector<int64_t> slotMaxElems;  // max per-image elements any write puts in each slot
  Shape outputShape;                  // of outputSlot after the last write
  double totalWeights = 0;  // double: a hostile descriptor may sum past int64
  int numBN = 0;
};

constexpr int32_t kDescriptorMagic = 0x5A4E4E31;
constexpr int kHeaderWords = 8, kOpWords = 8;

/**
 * Validate `words` and infer every op's shapes at `resolution` (square input). Throws
 * Failure("E_DESCRIPTOR", ...) naming the op and the rule broken.
 */
Descriptor parseDescriptor(const int32_t* words, size_t length, int resolution);

}  // namespace zennas
