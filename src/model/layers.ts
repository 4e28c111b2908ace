/**
 * The flat layer list: what a structure lowers to and what the native engine consumes
 * (encoded by `descriptor.ts`, format in native/DESCRIPTOR.md).
 *
 * Values live in numbered activation slots; slot 0 is the network input. In-place ops
 * (BN, RELU, SIGMOID, MUL, ADD) have `dst === src`.
 */

/** Op names, in descriptor opcode order (opcode = index + 1). */
export const OP_NAMES = ['conv', 'dwconv', 'bn', 'relu', 'maxpool', 'gap', 'linear', 'sigmoid', 'mul', 'add'] as const;
export type OpName = (typeof OP_NAMES)[number];

/** Why a layer exists; lets counting and reports attribute it. */
export type LayerRole = 'main' | 'shortcut' | 'se' | 'classifier';

export interface Layer {
  op: OpName;
  src: number;
  dst: number;
  /** Second input slot (MUL gate, ADD shortcut); 0 when unused. */
  aux: number;
  cin: number;
  cout: number;
  kernel: number;
  stride: number;
  /** Index of the structure block this layer came from; -1 for the classifier head. */
  block: number;
  role: LayerRole;
}

/** A lowered model: the op list plus the slot bookkeeping the engine needs. */
export interface LayerList {
  inputChannels: number;
  numSlots: number;
  /** Slot holding the feature map compared by the Zen-score (pre-GAP) or the logits. */
  outputSlot: number;
  layers: Layer[];
}

/** Spatial shape of a layer's input and output at a given resolution. */
export interface LayerShape { cin: number; hin: number; win: number; cout: number; hout: number; wout: number }

/** PyTorch's output size with padding (k-1)/2. */
export function convOutSize(size: number, kernel: number, stride: number): number {
  const pad = (kernel - 1) >> 1;
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/** Weights (multiply-add count excluded) a layer holds: conv/linear weights (+ linear bias), BN γ and β. */
export function layerParams(l: Layer): number {
  switch (l.op) {
    case 'conv': return l.cin * l.cout * l.kernel * l.kernel;
    case 'dwconv': return l.cout * l.kernel * l.kernel;
    case 'bn': return 2 * l.cout;
    case 'linear': return l.cin * l.cout + l.cout;
    default: return 0;
  }
}

/** Multiply-adds of conv and linear layers (the paper's "FLOPs"). */
export function layerFlops(l: Layer, s: LayerShape): number {
  switch (l.op) {
    case 'conv': return l.cin * l.cout * l.kernel * l.kernel * s.hout * s.wout;
    case 'dwconv': return l.cout * l.kernel * l.kernel * s.hout * s.wout;
    case 'linear': return l.cin * l.cout;
    default: return 0;
  }
}
