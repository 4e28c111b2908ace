import { Block, Structure, SuperConvBlock, SuperResBlock } from '../grammar/ast';
import { formatStructure, blockName } from '../grammar/format';
import { round8 } from '../model/lower';
import { ZennasError } from '../errors';
import { MutationContext, SearchSpace } from './types';

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

/** The `check` and `mutate` hooks of a blockwise space (Space I, II): its rules are all that differ. */
export function blockwiseHooks(rules: BlockwiseRules, spaceTitle: string): Pick<SearchSpace<Structure>, 'check' | 'mutate'> {
  return {
    check: (s: Structure) => checkBlockwise(s, rules, spaceTitle),
    mutate: (parent: Structure, ctx: MutationContext) => mutateBlockwise(parent, rules, ctx),
  };
}
