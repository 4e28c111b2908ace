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
/** `SWISH(c)` — x·sigmoid(x). */
export interface SwishBlock { kind: 'SWISH'; channels: number }
/** `HSWISH(c)` — hard-swish x·min(max(x + 3, 0), 6)/6. */
export interface HSwishBlock { kind: 'HSWISH'; channels: number }

/** Activation of an MBInvRes block, in its name: `RELU`, `SWISH`, `HSWISH`. */
export type MBActivation = 'relu' | 'swish' | 'hswish';
/**
 * Squeeze-and-excitation of an MBInvRes block, in its name: none; `SE` = EfficientNet's (hidden
 * make_divisible(in·¼, 1) from the block's input channels, the block's activation, sigmoid gate);
 * `HSE` = MobileNetV3's / HardCoRe-NAS's official code's (hidden make_divisible(mid·¼, 8) from the
 * expanded channels, ReLU, hard-sigmoid gate). Both with 1×1 convs with bias (LINEAR on the pooled map).
 */
export type MBSqueeze = 'none' | 'se' | 'hse';

/**
 * `MBInvResE{e}K{k}{RELU|SWISH|HSWISH}[SE|HSE](in,out,stride)` — one MobileNetV2 inverted
 * residual (MBConv) block as timm / torchvision build it: 1×1 expansion to
 * mid = make_divisible(in·e, 8) + BN + act (absent for e = 1: mid = in), depthwise k×k at `stride`
 * + BN + act, optional SE, 1×1 projection + BN (linear), and an identity shortcut when
 * stride = 1 and in = out (as trained only; the Zen-score view drops it).
 */
export interface MBInvResBlock {
  kind: 'MBInvRes';
  expansion: number;
  kernel: number;
  act: MBActivation;
  se: MBSqueeze;
  in: number;
  out: number;
  stride: number;
}

export type BasicBlock = ConvBlock | ConvDWBlock | BNBlock | ReluBlock | MaxPoolBlock | GapBlock | LinearBlock | SEBlock | SwishBlock | HSwishBlock;
/** Any block of a structure: a super block, an MBInvRes block or a basic block. */
export type Block = SuperConvBlock | SuperResBlock | MBInvResBlock | BasicBlock;

/** A parsed structure: the blocks in order. */
export interface Structure {
  blocks: Block[];
}
