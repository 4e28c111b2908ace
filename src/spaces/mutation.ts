import { Block, Structure, SuperConvBlock, SuperResBlock } from '../grammar/ast';
import { formatStructure, blockName } from '../grammar/format';
import { round8 } from '../model/lower';
import { countModel } from '../model/count';
import { ZennasError } from '../errors';
import type { Sfc32 } from '../rng/sfc32';
import { MutationContext, RandomContext, SearchSpace, SpaceCost } from './types';

/** A residual block type a space allows: family, kernel and (IDW) expansion. */
export interface ResidualChoice {
  kind: SuperResBlock['kind'];
  kernel: number;
  expansion: number;
}

/**
 * Zen-NAS Algorithm 3 (MUTATE) for spaces made of super blocks, driven by data: a space says
 * which residual block types exist and how widths/depths may move; this module does the rest.
 */
export interface BlockwiseRules {
  /** Residual block types of the space (family × kernel × expansion). */
  residualTypes: readonly ResidualChoice[];
  /** Width factor range, multiplied by U[lo, hi] (paper: [0.5, 2]). */
  widthRange: readonly [number, number];
  /** Smallest and largest channel counts after rounding to multiples of 8. */
  minChannels: number;
  maxChannels: number;
  /** sub_layers moves by ±step and stays ≥ 1. */
  subLayerStep: number;
  /**
   * Whether the output width of a SuperConvKXBNRELU block may change. The official spaces let the
   * stem's width move (search_space_XXBL.py); `_fixfc` keeps the final 1×1 conv fixed.
   */
  convWidthMutable(b: SuperConvBlock, index: number, s: Structure): boolean;
  /**
   * A residual block with at least this many sub_layers is split into two blocks
   * (⌊t/2⌋ with the original stride, then the rest at stride 1), as the official
   * `split(split_layer_threshold=6)` does. 0 disables splitting.
   */
  splitSubLayers: number;
}

function isRes(b: Block): b is SuperResBlock {
  return b.kind === 'SuperResKXKX' || b.kind === 'SuperResK1KXK1' || b.kind === 'SuperResIDWEXKX';
}

function sameType(b: SuperResBlock, c: ResidualChoice): boolean {
  return b.kind === c.kind && b.kernel === c.kernel && (b.kind !== 'SuperResIDWEXKX' || b.expansion === c.expansion);
}

/** Round a scaled width the official way (smart_round, base 8: Python round, ≥ 8) and clamp. */
export function scaleWidth(width: number, factor: number, rules: Pick<BlockwiseRules, 'minChannels' | 'maxChannels'>): number {
  const w = round8(width * factor);
  return Math.min(rules.maxChannels, Math.max(rules.minChannels, w));
}

/**
 * Set the input channels of block `i` to `c`, walking through channel-preserving basic blocks
 * (BN, ReLU, SE, MaxPool, ConvDW, GAP) until a block that maps channels takes `c` as its input.
 */
export function setInputChannels(blocks: Block[], i: number, c: number): void {
  for (let k = i; k < blocks.length; k++) {
    const b = blocks[k]!;
    switch (b.kind) {
      case 'BN': case 'RELU': case 'SE': case 'ConvDW': case 'AdaptiveAvgPool':
        blocks[k] = { ...b, channels: c };
        continue;
      case 'MaxPool':
        blocks[k] = { ...b, in: c, out: c };
        continue;
      default:
        blocks[k] = { ...b, in: c } as Block;
        return;
    }
  }
}

/** Indices of the blocks a mutation may select. */
export function mutableBlocks(s: Structure, rules: BlockwiseRules): number[] {
  const out: number[] = [];
  s.blocks.forEach((b, i) => {
    if (isRes(b)) out.push(i);
    else if (b.kind === 'SuperConvKXBNRELU' && rules.convWidthMutable(b, i, s)) out.push(i);
  });
  return out;
}

function otherSubLayers(n: number, step: number, pick: (xs: number[]) => number): number {
  const options = [n - step, n + step].filter((x) => x >= 1);
  return pick(options);
}

/** Apply one block mutation to `blocks` in place (Algorithm 3, one selected super block). */
function mutateOnce(blocks: Block[], rules: BlockwiseRules, ctx: MutationContext): void {
  const s = { blocks };
  const candidates = mutableBlocks(s, rules);
  if (candidates.length === 0) return;
  const i = ctx.rng.pick(candidates);
  const b = blocks[i]!;
  const factor = () => ctx.rng.uniform(rules.widthRange[0], rules.widthRange[1]);
  if (b.kind === 'SuperConvKXBNRELU') {
    const out = scaleWidth(b.out, factor(), rules);
    blocks[i] = { ...b, out };
    if (i + 1 < blocks.length) setInputChannels(blocks, i + 1, out);
    return;
  }
  if (!isRes(b)) return;
  let next: SuperResBlock = { ...b };
  // Line 2–6: with probability ρ the block type (family, kernel, expansion) changes.
  if (ctx.rng.next() < ctx.rho) {
    const others = rules.residualTypes.filter((c) => !sameType(b, c));
    if (others.length > 0) {
      const t = ctx.rng.pick(others);
      next = { ...next, kind: t.kind, kernel: t.kernel, expansion: t.kind === 'SuperResIDWEXKX' ? t.expansion : 1 };
    }
  }
  // Line 7: alternate width or depth of the block within range.
  const what = ctx.rng.pick(['width', 'bottleneck', 'subLayers'] as const);
  if (what === 'width') next.out = scaleWidth(b.out, factor(), rules);
  else if (what === 'bottleneck') next.bottleneck = scaleWidth(b.bottleneck, factor(), rules);
  else next.subLayers = otherSubLayers(b.subLayers, rules.subLayerStep, (xs) => ctx.rng.pick(xs));
  blocks[i] = next;
  if (next.out !== b.out && i + 1 < blocks.length) setInputChannels(blocks, i + 1, next.out);
}

/** Split deep residual blocks as the official `split(6)`: keeps the stride on the first half. */
export function splitDeepBlocks(blocks: Block[], threshold: number): Block[] {
  if (threshold <= 0) return blocks;
  const out: Block[] = [];
  for (const b of blocks) {
    if (isRes(b) && b.subLayers >= threshold) {
      const first = Math.floor(threshold / 2);
      out.push({ ...b, subLayers: first });
      out.push({ ...b, in: b.out, stride: 1, subLayers: b.subLayers - first });
    } else {
      out.push(b);
    }
  }
  return out;
}

/**
 * A child of `parent` with `ctx.changes` block mutations; retried (a bounded number of times) when
 * the mutations cancel out so that the child usually differs from its parent.
 */
export function mutateBlockwise(parent: Structure, rules: BlockwiseRules, ctx: MutationContext): Structure {
  const parentText = formatStructure(parent);
  let child: Structure = parent;
  for (let attempt = 0; attempt < 8; attempt++) {
    const blocks = parent.blocks.map((b) => ({ ...b }) as Block);
    for (let c = 0; c < ctx.changes; c++) mutateOnce(blocks, rules, ctx);
    child = { blocks: splitDeepBlocks(blocks, rules.splitSubLayers) };
    if (formatStructure(child) !== parentText) break;
  }
  return child;
}

/** Initial-structure check shared by blockwise spaces: super blocks only, residual types in the space. */
export function checkBlockwise(s: Structure, rules: BlockwiseRules, spaceTitle: string): void {
  if (s.blocks.length === 0) throw new ZennasError('E_OPTION', `${spaceTitle}: the initial structure is empty`);
  const first = s.blocks[0]!;
  if (first.kind !== 'SuperConvKXBNRELU') {
    throw new ZennasError('E_OPTION', `${spaceTitle}: the initial structure must start with a SuperConvK{k}BNRELU stem, got ${blockName(first)}`);
  }
  s.blocks.forEach((b, i) => {
    if (b.kind === 'SuperConvKXBNRELU') return;
    if (!isRes(b)) throw new ZennasError('E_OPTION', `${spaceTitle}: block ${i} (${blockName(b)}) is not a super block of this space`);
    if (!rules.residualTypes.some((c) => sameType(b, c))) {
      const allowed = [...new Set(rules.residualTypes.map((c) => blockName({ ...c, in: 1, out: 1, stride: 1, bottleneck: 1, subLayers: 1 })))];
      throw new ZennasError('E_OPTION', `${spaceTitle}: block ${i} (${blockName(b)}) is not in the space; allowed: ${allowed.join(', ')}`);
    }
  });
  if (mutableBlocks(s, rules).length === 0) throw new ZennasError('E_OPTION', `${spaceTitle}: the initial structure has no block that can mutate`);
}

/** Whether a cost fits the limits (≤ each one given). */
function fits(c: SpaceCost, limits: Partial<SpaceCost>): boolean {
  return (limits.params === undefined || c.params <= limits.params) &&
    (limits.flops === undefined || c.flops <= limits.flops) &&
    (limits.layers === undefined || c.layers <= limits.layers);
}

/** A width drawn log-uniformly from [minChannels, maxChannels], rounded to a multiple of 8. */
function randomWidth(rng: Sfc32, rules: BlockwiseRules): number {
  const w = Math.exp(rng.uniform(Math.log(rules.minChannels), Math.log(rules.maxChannels)));
  return scaleWidth(w, 1, rules);
}

/**
 * A random structure on the skeleton of `ctx.template` that fits `ctx.limits` (the `random` hook
 * of Space I and II). What it draws, in this order, all from `rng`:
 *
 * - the skeleton is the template's: the same blocks in the same order, with their strides and
 *   kernels; the stem's input channels; every SuperConv block keeps its kernel, and its width is
 *   drawn only where the rules let it mutate (Space II's final 1×1 conv keeps its width);
 * - each residual block: its type uniformly from the space's types (family × kernel ×
 *   expansion), then its output width and its bottleneck width, each log-uniform over
 *   [minChannels, maxChannels] (8..2048) rounded to a multiple of 8, then its sub_layers
 *   uniformly from 1..splitSubLayers − 1 (1..5: no block needs the split of deep blocks);
 * - then the limits: while the layer count (Σ sub_layers) is over its limit, one block with more
 *   than one sub-layer (drawn uniformly) loses one; while params or FLOPs are over, every drawn
 *   width is scaled by the largest common factor γ ∈ (0, 1] (bisection, 30 steps) at which the
 *   structure fits — so draws end near the params/FLOPs budget. When even all-minimal widths do
 *   not fit, the sub-layers go to 1; when that does not fit either, the template is returned.
 *
 * Input channels are chained from the widths; the result passes `checkBlockwise`.
 */
export function randomBlockwise(rules: BlockwiseRules, ctx: RandomContext<Structure>, rng: Sfc32): Structure {
  const tpl = ctx.template.blocks;
  const maxSub = Math.max(1, (rules.splitSubLayers > 1 ? rules.splitSubLayers : 6) - 1);
  // Drawn widths (before scaling) per block: [out, bottleneck] (bottleneck only for residual blocks); null: kept.
  const drawn: Array<[number, number] | null> = [];
  const proto: Block[] = tpl.map((b, i) => {
    if (b.kind === 'SuperConvKXBNRELU') {
      if (rules.convWidthMutable(b, i, ctx.template)) {
        drawn.push([randomWidth(rng, rules), 0]);
      } else drawn.push(null);
      return { ...b };
    }
    if (isRes(b)) {
      const t = rng.pick(rules.residualTypes);
      const out = randomWidth(rng, rules);
      const bottleneck = randomWidth(rng, rules);
      const subLayers = 1 + rng.int(maxSub);
      drawn.push([out, bottleneck]);
      return { ...b, kind: t.kind, kernel: t.kernel, expansion: t.kind === 'SuperResIDWEXKX' ? t.expansion : 1, subLayers } as SuperResBlock;
    }
    drawn.push(null);
    return { ...b } as Block;
  });
  const build = (gamma: number, subOne: boolean): Structure => {
    const blocks = proto.map((b) => ({ ...b }) as Block);
    blocks.forEach((b, i) => {
      const w = drawn[i];
      if (w && b.kind === 'SuperConvKXBNRELU') blocks[i] = { ...b, out: scaleWidth(w[0], gamma, rules) };
      else if (w && isRes(b)) blocks[i] = { ...b, out: scaleWidth(w[0], gamma, rules), bottleneck: scaleWidth(w[1], gamma, rules), ...(subOne ? { subLayers: 1 } : {}) };
    });
    for (let i = 1; i < blocks.length; i++) {
      const prev = blocks[i - 1]!;
      const out = 'out' in prev ? prev.out : 'channels' in prev ? prev.channels : undefined;
      if (out !== undefined) setInputChannels(blocks, i, out);
    }
    return { blocks };
  };
  const cost = (s: Structure) => countModel(s, ctx.options);
  // Layers: drop sub-layers of random deep blocks until Σ fits (widths do not change the count).
  if (ctx.limits.layers !== undefined) {
    for (;;) {
      const layers = cost(build(1, false)).layers;
      if (layers <= ctx.limits.layers) break;
      const deep = proto.map((b, i) => (isRes(b) && b.subLayers > 1 ? i : -1)).filter((i) => i >= 0);
      if (deep.length === 0) break;
      const i = rng.pick(deep);
      const b = proto[i] as SuperResBlock;
      proto[i] = { ...b, subLayers: b.subLayers - 1 };
    }
  }
  for (const subOne of [false, true]) {
    const full = build(1, subOne);
    if (fits(cost(full), ctx.limits)) return full;
    if (!fits(cost(build(0, subOne)), ctx.limits)) continue;
    let lo = 0, hi = 1; // build(lo) fits, build(hi) does not
    for (let k = 0; k < 30; k++) {
      const mid = (lo + hi) / 2;
      if (fits(cost(build(mid, subOne)), ctx.limits)) lo = mid;
      else hi = mid;
    }
    return build(lo, subOne);
  }
  return { blocks: tpl.map((b) => ({ ...b }) as Block) };
}

/** The `check`, `mutate` and `random` hooks of a blockwise space (Space I, II): its rules are all that differ. */
export function blockwiseHooks(rules: BlockwiseRules, spaceTitle: string): Pick<SearchSpace<Structure>, 'check' | 'mutate' | 'random'> {
  return {
    check: (s: Structure) => checkBlockwise(s, rules, spaceTitle),
    mutate: (parent: Structure, ctx: MutationContext) => mutateBlockwise(parent, rules, ctx),
    random: (rng: Sfc32, ctx: RandomContext<Structure>) => randomBlockwise(rules, ctx, rng),
  };
}
