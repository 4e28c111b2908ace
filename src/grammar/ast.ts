/**
 * Architecture IR: one node per block of a PlainNet structure string (DESIGN §2).
 *
 * A structure is an ordered list of blocks; channels must chain (out of block i == in of i+1).
 * Super blocks carry their kernel (and expansion) in the type name, e.g. `SuperResK1K5K1`.
 */

/** Super block families of the Zen-NAS grammar. */
export type SuperKind = 'SuperConvKXBNRELU' | 'SuperResKXKX' | 'SuperResK1KXK1' | 'SuperResIDWEXKX';

/** `SuperConvK{k}BNRELU(in,out,stride,sub_layers)`: sub_layers × (conv k, BN, ReLU). */
export interface SuperConvBlock {
  kind: 'SuperConvKXBNRELU';
  kernel: number;
  in: number;
  out: number;
  stride: number;
  subLayers: number;
}

/** Residual super blocks: `SuperResK{k}K{k}`, `SuperResK1K{k}K1`, `SuperResIDWE{e}K{k}`. */
export interface SuperResBlock {
  kind: 'SuperResKXKX' | 'SuperResK1KXK1' | 'SuperResIDWEXKX';
  kernel: number;
  /** Expansion ratio; only meaningful for SuperResIDWEXKX (1 for the others). */
  expansion: number;
  in: number;
  out: number;
  stride: number;
  bottleneck: number;
  subLayers: number;
}

/** `ConvKX(in,out,k,stride)` */
export interface ConvBlock { kind: 'ConvKX'; in: number; out: number; kernel: number; stride: number }
/** `ConvDW(c,k,stride)` */
export interface ConvDWBlock { kind: 'ConvDW'; channels: number; kernel: number; stride: number }
/** `BN(c)` */
export interface BNBlock { kind: 'BN'; channels: number }
/** `RELU(c)` */
export interface ReluBlock { kind: 'RELU'; channels: number }
/** `MaxPool(in,out,k,stride)` — in must equal out. */
export interface MaxPoolBlock { kind: 'MaxPool'; in: number; out: number; kernel: number; stride: number }
/** `AdaptiveAvgPool(c,1)` — global average pooling to 1×1. */
export interface GapBlock { kind: 'AdaptiveAvgPool'; channels: number; outputSize: number }
/** `Linear(in,out)` — with bias. */
export interface LinearBlock { kind: 'Linear'; in: number; out: number }
/** `SE(c)` — squeeze-and-excitation with round(c/4) hidden channels. */
export interface SEBlock { kind: 'SE'; channels: number }

export type BasicBlock = ConvBlock | ConvDWBlock | BNBlock | ReluBlock | MaxPoolBlock | GapBlock | LinearBlock | SEBlock;
export type Block = SuperConvBlock | SuperResBlock | BasicBlock;

/** A parsed structure: the blocks in order. */
export interface Structure {
  blocks: Block[];
}
