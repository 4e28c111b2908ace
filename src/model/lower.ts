import { Block, MBActivation, MBInvResBlock, Structure } from '../grammar/ast';
import { mbHasResidual, mbMidChannels, mbSeChannels } from '../grammar/mbinvres';
import { ZennasError } from '../errors';
import { Layer, LayerList, LayerRole, LayerShape, OpName } from './layers';
import { inferGraph } from '../ops/graph';
import { LIMITS } from '../grammar/limits';
import { bool, literal, num, object, optional, parse } from '../util/schema';

/** Options shared by both lowerings. */
export interface LowerOptions {
  /** Insert SE after the k×k (or depthwise) conv of every residual super block (official `use_se`). */
  se?: boolean;
}

/** Options of the as-trained lowering. */
export interface TrainedLowerOptions extends LowerOptions {
  /** Classifier classes; 0 means no GAP + Linear head is appended. */
  numClasses?: number;
  /**
   * 'official' (default): the first unit of every residual super block always has a 1×1
   * projection shortcut (the official code's ResBlockProj; reproduces the paper's params, e.g.
   * ZenNet-0.3ms 85.4M). 'minimal': project only when channels or stride change (DESIGN §2 wording).
   */
  shortcuts?: 'official' | 'minimal';
}

/** Python's round(): half to even. The official code relies on it (round8(20) = 16). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Width of an IDW expansion layer: max(8, round(x/8)·8) (DESIGN §2). */
export function round8(x: number): number {
  return Math.max(8, roundHalfEven(x / 8) * 8);
}

/** Hidden width of an SE block: max(1, round(c/4)) as in the official SE. */
export function seChannels(c: number): number {
  return Math.max(1, roundHalfEven(c * 0.25));
}

/** Builds the graph in SSA form: every op produces a new value (node i → value i + 1). */
class Builder {
  private nodes: Layer[] = [];
  private channels: number[] = [];
  block = -1;
  role: LayerRole = 'main';
  alwaysProjectFirst = true;

  constructor(inputChannels: number) {
    this.channels.push(inputChannels); // value 0 = input
  }

  ch(v: number): number { return this.channels[v]!; }

  private emit(op: OpName, inputs: number[], cout: number, kernel = 0, stride = 0, extra: Partial<Layer> = {}): number {
    // Backstop of checkLoweredSize: a lowering never holds more ops than the engine accepts.
    if (this.nodes.length >= LIMITS.maxOps) throw tooLarge(null);
    this.nodes.push({ op, inputs, cin: this.ch(inputs[0]!), cout, kernel, stride, ...extra, block: this.block, role: this.role });
    return this.channels.push(cout) - 1;
  }

  conv(v: number, cout: number, k: number, s: number): number { return this.emit('conv', [v], cout, k, s); }
  dw(v: number, k: number, s: number): number { return this.emit('dwconv', [v], this.ch(v), k, s); }
  bn(v: number): number { return this.emit('bn', [v], this.ch(v)); }
  relu(v: number): number { return this.emit('relu', [v], this.ch(v)); }
  sigmoid(v: number): number { return this.emit('sigmoid', [v], this.ch(v)); }
  swish(v: number): number { return this.emit('swish', [v], this.ch(v)); }
  hswish(v: number): number { return this.emit('hswish', [v], this.ch(v)); }
  hsigmoid(v: number): number { return this.emit('hsigmoid', [v], this.ch(v)); }
  act(v: number, a: MBActivation): number { return a === 'relu' ? this.relu(v) : a === 'swish' ? this.swish(v) : this.hswish(v); }
  maxpool(v: number, k: number, s: number): number { return this.emit('maxpool', [v], this.ch(v), k, s); }
  gap(v: number): number { return this.emit('gap', [v], this.ch(v)); }
  /** nn.Linear: with bias, as the grammar's Linear block and the classifier head are trained. */
  linear(v: number, cout: number): number { return this.emit('linear', [v], cout, 0, 0, { bias: 1 }); }
  mul(v: number, gate: number): number { return this.emit('mul', [v, gate], this.ch(v)); }
  add(v: number, other: number): number { return this.emit('add', [v, other], this.ch(v)); }

  /** conv → BN (→ ReLU) */
  convBn(v: number, cout: number, k: number, s: number, relu: boolean): number {
    const y = this.bn(this.conv(v, cout, k, s));
    return relu ? this.relu(y) : y;
  }

  /** SE: GAP → 1×1 c→c/4 BN ReLU → 1×1 → c BN → sigmoid, multiply. */
  se(v: number): number {
    const saved = this.role;
    this.role = 'se';
    const c = this.ch(v);
    const g = this.gap(v);
    const h = this.convBn(g, seChannels(c), 1, 1, true);
    const gate = this.sigmoid(this.convBn(h, c, 1, 1, false));
    this.role = saved;
    return this.mul(v, gate);
  }

  /**
   * An MBInvRes block's SE (timm SqueezeExcite): GAP → 1×1 conv with bias (LINEAR on the pooled
   * map) → act → 1×1 conv with bias → gate, multiply. `SE`: the block's act and sigmoid; `HSE`: ReLU and hard-sigmoid.
   */
  mbSe(v: number, blk: MBInvResBlock): number {
    const saved = this.role;
    this.role = 'se';
    const g = this.gap(v);
    const h = this.linear(g, mbSeChannels(blk));
    const a = blk.se === 'hse' ? this.relu(h) : this.act(h, blk.act);
    const z = this.linear(a, this.ch(v));
    const gate = blk.se === 'hse' ? this.hsigmoid(z) : this.sigmoid(z);
    this.role = saved;
    return this.mul(v, gate);
  }

  /** One MBInvRes block: [1×1 expand BN act] dw BN act [SE] 1×1 BN (+ identity shortcut as trained). */
  mbInvRes(x: number, blk: MBInvResBlock, trained: boolean): number {
    const e = blk.expansion === 1 ? x : this.act(this.bn(this.conv(x, mbMidChannels(blk), 1, 1)), blk.act);
    let d = this.act(this.bn(this.dw(e, blk.kernel, blk.stride)), blk.act);
    if (blk.se !== 'none') d = this.mbSe(d, blk);
    const y = this.bn(this.conv(d, blk.out, 1, 1));
    return trained && mbHasResidual(blk) ? this.add(y, x) : y;
  }

  finish(output: number): LayerList {
    return { inputChannels: this.ch(0), nodes: this.nodes, outputs: [output] };
  }
}

/**
 * One residual unit: main branch, then (trained only) the shortcut — identity, or a 1×1
 * conv+BN projection when channels or stride change — then ReLU.
 */
function residual(b: Builder, x: number, cout: number, stride: number, trained: boolean, main: (x: number) => number, first = false): number {
  const y = main(x);
  if (!trained) return b.relu(y);
  b.role = 'shortcut';
  const project = (first && b.alwaysProjectFirst) || b.ch(x) !== cout || stride !== 1;
  const sc = project ? b.convBn(x, cout, 1, stride, false) : x;
  b.role = 'main';
  return b.relu(b.add(y, sc));
}

function lowerBlock(b: Builder, x: number, blk: Block, trained: boolean, se: boolean): number {
  const maybeSe = (v: number) => (se ? b.se(v) : v);
  switch (blk.kind) {
    case 'SuperConvKXBNRELU':
      for (let i = 0; i < blk.subLayers; i++) x = b.convBn(x, blk.out, blk.kernel, i === 0 ? blk.stride : 1, true);
      return x;
    case 'SuperResKXKX':
      for (let i = 0; i < blk.subLayers; i++) {
        const s = i === 0 ? blk.stride : 1;
        x = residual(b, x, blk.out, s, trained, (v) =>
          b.convBn(maybeSe(b.convBn(v, blk.bottleneck, blk.kernel, s, true)), blk.out, blk.kernel, 1, false), i === 0);
      }
      return x;
    case 'SuperResK1KXK1':
      for (let i = 0; i < blk.subLayers; i++) {
        const s = i === 0 ? blk.stride : 1;
        const unit = (v: number, stride: number) =>
          b.convBn(maybeSe(b.convBn(b.convBn(v, blk.bottleneck, 1, 1, true), blk.bottleneck, blk.kernel, stride, true)), blk.out, 1, 1, false);
        x = residual(b, x, blk.out, s, trained, (v) => unit(v, s), i === 0);
        x = residual(b, x, blk.out, 1, trained, (v) => unit(v, 1));
      }
      return x;
    case 'SuperResIDWEXKX':
      for (let i = 0; i < blk.subLayers; i++) {
        const s = i === 0 ? blk.stride : 1;
        const unit = (v: number, mid: number, out: number, stride: number) => {
          const e = b.convBn(v, mid, 1, 1, true);
          const d = b.relu(b.bn(b.dw(e, blk.kernel, stride)));
          return b.convBn(maybeSe(d), out, 1, 1, false);
        };
        x = residual(b, x, blk.bottleneck, s, trained, (v) => unit(v, round8(blk.bottleneck * blk.expansion), blk.bottleneck, s), i === 0);
        x = residual(b, x, blk.out, 1, trained, (v) => unit(v, round8(blk.out * blk.expansion), blk.out, 1));
      }
      return x;
    case 'MBInvRes': return b.mbInvRes(x, blk, trained);
    case 'ConvKX': return b.conv(x, blk.out, blk.kernel, blk.stride);
    case 'ConvDW': return b.dw(x, blk.kernel, blk.stride);
    case 'BN': return b.bn(x);
    case 'RELU': return b.relu(x);
    case 'SE': return b.se(x);
    case 'SWISH': return b.swish(x);
    case 'HSWISH': return b.hswish(x);
    case 'MaxPool': return b.maxpool(x, blk.kernel, blk.stride);
    case 'AdaptiveAvgPool': return b.gap(x);
    case 'Linear': return b.linear(x, blk.out);
  }
}

/** Lowering options, read once (a throwing getter is an E_OPTION naming it). */
const lowerOptionsSchema = object({
  se: optional(bool), numClasses: optional(num(0)), shortcuts: optional(literal<'official' | 'minimal'>('official', 'minimal')),
}, { extra: true });

/** Ops of an SE module: GAP → conv BN ReLU → conv BN → sigmoid, then the multiply. */
const SE_OPS = 8;

/** `ops`: the exact count, or null when only "more than the limit" is known. */
function tooLarge(ops: number | null, subLayers?: number): ZennasError {
  return new ZennasError('E_STRUCTURE',
    `structure too large: it lowers to ${ops === null ? `more than ${LIMITS.maxOps}` : ops} ops${subLayers !== undefined ? ` (Σ sub_layers = ${subLayers})` : ''}, ` +
    `above the engine's limit of ${LIMITS.maxOps} (2^20) ops; use fewer blocks or sub_layers`);
}

/** Options of loweredOps: which lowering, as lowerAsTrained / lowerForScoring take them. */
export interface LoweredOpsOptions extends TrainedLowerOptions {
  /** true: lowerAsTrained (residuals, projections, head); false: lowerForScoring. */
  trained: boolean;
}

/**
 * Exactly how many ops lowerAsTrained (trained) or lowerForScoring (not) emits for `s`, computed
 * from the blocks without building anything (O(blocks), no allocation), so that an absurd but
 * legal structure is refused before lowering. A property test keeps it equal to the lowerings.
 */
export function loweredOps(s: Structure, opts: LoweredOpsOptions): number {
  const se = !!opts.se ? SE_OPS : 0;
  const trained = opts.trained;
  const alwaysProjectFirst = (opts.shortcuts ?? 'official') === 'official';
  // The end of a residual unit: trained, [1×1 conv + BN projection] + add + ReLU; for scoring, ReLU.
  const tail = (project: boolean) => (trained ? (project ? 2 : 0) + 2 : 1);
  let ch = s.blocks.length ? inputChannelsOf(s) : 0;
  let ops = 0;
  for (const blk of s.blocks) {
    if (!trained && blk.kind === 'AdaptiveAvgPool') break;
    const L = 'subLayers' in blk ? blk.subLayers : 0;
    switch (blk.kind) {
      case 'SuperConvKXBNRELU':
        ops += 3 * L;
        break;
      case 'SuperResKXKX': // conv BN ReLU [SE] conv BN
        if (L > 0) ops += L * (5 + se + tail(false)) - tail(false) + tail(alwaysProjectFirst || ch !== blk.out || blk.stride !== 1);
        break;
      case 'SuperResK1KXK1': // two units of conv BN ReLU, conv BN ReLU [SE], conv BN
        if (L > 0) ops += L * (2 * (8 + se) + 2 * tail(false)) - tail(false) + tail(alwaysProjectFirst || ch !== blk.out || blk.stride !== 1);
        break;
      case 'SuperResIDWEXKX': // two units of conv BN ReLU, dw BN ReLU [SE], conv BN
        for (let i = 0; i < L; i++) {
          const x = i === 0 ? ch : blk.out;
          ops += 2 * (8 + se) + tail((i === 0 && alwaysProjectFirst) || x !== blk.bottleneck || (i === 0 ? blk.stride : 1) !== 1) + tail(blk.bottleneck !== blk.out);
        }
        break;
      case 'SE':
        ops += SE_OPS;
        break;
      case 'MBInvRes': // [conv BN act] dw BN act [GAP linear act linear gate mul] conv BN [add]
        ops += (blk.expansion === 1 ? 0 : 3) + 3 + (blk.se === 'none' ? 0 : 6) + 2 + (trained && mbHasResidual(blk) ? 1 : 0);
        break;
      default: // ConvKX, ConvDW, BN, RELU, SWISH, HSWISH, MaxPool, AdaptiveAvgPool, Linear
        ops += 1;
    }
    // The channels the next block receives: what the builder's last op of this block produces.
    if (blk.kind === 'ConvKX' || blk.kind === 'Linear' || blk.kind === 'MBInvRes' || ('subLayers' in blk && L > 0)) ch = blk.out;
  }
  if (trained && (opts.numClasses ?? 0) > 0 && s.blocks.length) {
    ops += (s.blocks[s.blocks.length - 1]!.kind === 'AdaptiveAvgPool' ? 0 : 1) + 1;
  }
  return ops;
}

/** Throws E_STRUCTURE when `s` would lower to more ops than the engine accepts (LIMITS.maxOps). */
export function checkLoweredSize(s: Structure, opts: LoweredOpsOptions): void {
  const ops = loweredOps(s, opts);
  if (ops > LIMITS.maxOps) throw tooLarge(ops, s.blocks.reduce((a, b) => a + ('subLayers' in b ? b.subLayers : 0), 0));
}

function inputChannelsOf(s: Structure): number {
  const first = s.blocks[0];
  if (!first) throw new ZennasError('E_STRUCTURE', 'structure has no blocks');
  return 'channels' in first ? first.channels : first.in;
}

/**
 * Lower for the Zen-score (DESIGN §1): residual links and projection shortcuts removed,
 * output = the feature map before global average pooling (blocks after the first
 * AdaptiveAvgPool are not part of f(·)).
 */
export function lowerForScoring(s: Structure, optsIn: LowerOptions = {}): LayerList {
  const opts = parse(lowerOptionsSchema, optsIn ?? {}, 'E_OPTION', { prefix: 'lowering: ', path: 'options' });
  const b = new Builder(inputChannelsOf(s));
  checkLoweredSize(s, { trained: false, se: !!opts.se });
  let x = 0;
  for (let i = 0; i < s.blocks.length; i++) {
    const blk = s.blocks[i]!;
    if (blk.kind === 'AdaptiveAvgPool') break;
    if (blk.kind === 'Linear') throw new ZennasError('E_STRUCTURE', `block ${i + 1} (Linear) needs a 1×1 input: put AdaptiveAvgPool before it`);
    b.block = i;
    x = lowerBlock(b, x, blk, false, !!opts.se);
  }
  if (x === 0) throw new ZennasError('E_STRUCTURE', 'nothing to score: the structure has no layers before global pooling');
  return { ...b.finish(x), view: 'scoring' };
}

/** Lower the network as trained: residual links and projections kept, plus a GAP + Linear head. */
export function lowerAsTrained(s: Structure, optsIn: TrainedLowerOptions = {}): LayerList {
  const opts = parse(lowerOptionsSchema, optsIn ?? {}, 'E_OPTION', { prefix: 'lowering: ', path: 'options' });
  const b = new Builder(inputChannelsOf(s));
  checkLoweredSize(s, { trained: true, se: !!opts.se, numClasses: opts.numClasses, shortcuts: opts.shortcuts });
  b.alwaysProjectFirst = (opts.shortcuts ?? 'official') === 'official';
  let x = 0;
  s.blocks.forEach((blk, i) => {
    b.block = i;
    x = lowerBlock(b, x, blk, true, !!opts.se);
  });
  const numClasses = opts.numClasses ?? 0;
  if (numClasses > 0) {
    const last = s.blocks[s.blocks.length - 1]!;
    if (last.kind === 'Linear') throw new ZennasError('E_STRUCTURE', 'the structure already ends in a Linear classifier; pass numClasses 0');
    b.block = -1;
    b.role = 'classifier';
    if (last.kind !== 'AdaptiveAvgPool') x = b.gap(x);
    x = b.linear(x, numClasses);
  }
  return b.finish(x);
}

/** Input/output shapes of every layer at a square input resolution (validates the graph). */
export function inferShapes(list: LayerList, resolution: number): LayerShape[] {
  if (!Number.isInteger(resolution) || resolution < 1 || resolution > LIMITS.maxResolution) {
    throw new ZennasError('E_OPTION', `resolution must be an integer in 1..${LIMITS.maxResolution}, got ${resolution}`);
  }
  return inferGraph(list, resolution).nodes;
}
