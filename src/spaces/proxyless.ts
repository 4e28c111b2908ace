/**
 * The ProxylessNAS mobile search space (Cai et al., ICLR 2019), as mit-han-lab/proxylessnas
 * builds it (search/imagenet_arch_search.py defaults + search/models/super_nets/super_proxyless.py)
 * and as ξ-GSNR's supplementary Algorithm 2 searches it on ImageNet (≈ 400M FLOPs):
 *
 * - first conv 3×3 stride 2 → 32, BN, ReLU6; first block 3x3_MBConv1 32 → 16 (fixed);
 * - six stages of widths 24, 40, 80, 96, 192, 320 with 4, 4, 4, 4, 4, 1 blocks and first-block
 *   strides 2, 2, 2, 1, 2, 1 (21 searched blocks; the others of a stage are stride 1, in = out);
 * - candidates of every block: MBConv k ∈ {3, 5, 7} × e ∈ {3, 6} (order 3x3_MBConv3, 3x3_MBConv6,
 *   5x5_MBConv3, 5x5_MBConv6, 7x7_MBConv3, 7x7_MBConv6 = choices 0..5), plus `Zero` (choice 6) where
 *   the block has an identity shortcut (stride 1 and in = out: every block but a stage's first),
 *   i.e. the block is skipped; 6^6 · 7^15 ≈ 1.1·10^17 nets;
 * - MBConv: 1×1 expansion to round(in·e) + BN + ReLU6, depthwise k×k + BN + ReLU6, 1×1 + BN, no SE;
 *   identity shortcut where stride 1 and in = out;
 * - feature mix 1×1 → 1280, BN, ReLU6; global pool; Linear 1280 → 1000 (with bias).
 *
 * Deviation (documented): ReLU6 is written as ReLU (the grammar has no ReLU6 block); parameter and
 * FLOP counts are unchanged, activations above 6 are not clipped.
 *
 * Genotype: `ProxylessGenotype = { stages }`, `stages[s]` has one choice per block of stage s
 * (length 4, 4, 4, 4, 4, 1). A skipped block is the identity, so the net only depends on the
 * multiset order of the non-skipped blocks: the canonical genotype puts a stage's skips last
 * (what `decode` returns and `mutate` produces). Keys are PlainNet strings with MBInvRes blocks.
 */
import { Block, MBInvResBlock, Structure } from '../grammar/ast';
import { formatStructure } from '../grammar/format';
import { parseStructure } from '../grammar/parse';
import { countModel } from '../model/count';
import { lowerForScoring } from '../model/lower';
import { encodeDescriptor } from '../ops/descriptor';
import { ZennasError } from '../errors';
import type { Sfc32 } from '../rng/sfc32';
import { MutationContext, RandomContext, SearchSpace, SpaceCost, SpaceOptions } from './types';

/** One candidate op of a searched block. */
export interface ProxylessChoice {
  index: number;
  /** The official name, e.g. `5x5_MBConv6`, or `Zero`. */
  name: string;
  kernel: number;
  expansion: number;
  /** The block is skipped (identity). */
  zero: boolean;
}

/** The candidates, in the official order; index 6 = Zero. */
export const PROXYLESS_CHOICES: readonly ProxylessChoice[] = Object.freeze([
  ...[3, 5, 7].flatMap((kernel) => [3, 6].map((expansion) => ({ kernel, expansion }))).map((c, index) =>
    Object.freeze({ index, name: `${c.kernel}x${c.kernel}_MBConv${c.expansion}`, kernel: c.kernel, expansion: c.expansion, zero: false })),
  Object.freeze({ index: 6, name: 'Zero', kernel: 0, expansion: 0, zero: true }),
]);
export const PROXYLESS_ZERO = 6;

/** One stage of the macro architecture. */
export interface ProxylessStage { index: number; in: number; out: number; stride: number; blocks: number }

/** width_stages 24,40,80,96,192,320; n_cell_stages 4,4,4,4,4,1; stride_stages 2,2,2,1,2,1. */
export const PROXYLESS_STAGES: readonly ProxylessStage[] = Object.freeze(
  [[16, 24, 2, 4], [24, 40, 2, 4], [40, 80, 2, 4], [80, 96, 1, 4], [96, 192, 2, 4], [192, 320, 1, 1]].map(([i, o, s, n], index) =>
    Object.freeze({ index, in: i!, out: o!, stride: s!, blocks: n! })),
);

const HEAD = 'ConvKX(3,32,3,2)BN(32)RELU(32)MBInvResE1K3RELU(32,16,1)';
const TAIL = 'ConvKX(320,1280,1,1)BN(1280)RELU(1280)';

/** Per stage, one choice per block (PROXYLESS_CHOICES index; 6 = skipped). */
export interface ProxylessGenotype { stages: number[][] }

/** The MBInvRes block of choice `choice` at (stage, position), or null for Zero. */
export function proxylessBlock(stage: number, position: number, choice: number): MBInvResBlock | null {
  const st = PROXYLESS_STAGES[stage];
  const c = PROXYLESS_CHOICES[choice];
  if (!st || !c || position < 0 || position >= st.blocks) throw new ZennasError('E_OPTION', `proxyless: no block ${position} of stage ${stage} with choice ${choice}`);
  if (c.zero) return null;
  return { kind: 'MBInvRes', expansion: c.expansion, kernel: c.kernel, act: 'relu', se: 'none', in: position === 0 ? st.in : st.out, out: st.out, stride: position === 0 ? st.stride : 1 };
}

/** Throw E_OPTION unless `g` is a genotype of the space (zero only where a shortcut exists). */
export function checkProxylessGenotype(g: ProxylessGenotype): void {
  if (!g || !Array.isArray(g.stages) || g.stages.length !== PROXYLESS_STAGES.length) throw new ZennasError('E_OPTION', `genotype.stages: expected ${PROXYLESS_STAGES.length} stages`);
  g.stages.forEach((cs, s) => {
    const st = PROXYLESS_STAGES[s]!;
    if (!Array.isArray(cs) || cs.length !== st.blocks) throw new ZennasError('E_OPTION', `genotype.stages[${s}]: expected ${st.blocks} choices`);
    cs.forEach((c, b) => {
      if (!Number.isInteger(c) || c < 0 || c > PROXYLESS_ZERO) throw new ZennasError('E_OPTION', `genotype.stages[${s}][${b}]: choice must be an integer in 0..${PROXYLESS_ZERO}, got ${c}`);
      if (c === PROXYLESS_ZERO && b === 0) throw new ZennasError('E_OPTION', `genotype.stages[${s}][0]: the first block of a stage has no shortcut and cannot be Zero`);
    });
  });
}

/** The same net with every stage's skipped blocks last. */
export function canonicalProxyless(g: ProxylessGenotype): ProxylessGenotype {
  return { stages: g.stages.map((cs) => [...cs.filter((c) => c !== PROXYLESS_ZERO), ...cs.filter((c) => c === PROXYLESS_ZERO)]) };
}

/** genotype → Structure (the classifier is appended by counting / lowering with numClasses). */
export function proxylessStructure(g: ProxylessGenotype): Structure {
  checkProxylessGenotype(g);
  const blocks: Block[] = [...parseStructure(HEAD).blocks];
  canonicalProxyless(g).stages.forEach((cs, s) => cs.forEach((c, b) => { const blk = proxylessBlock(s, b, c); if (blk) blocks.push(blk); }));
  blocks.push(...parseStructure(TAIL).blocks);
  return { blocks };
}

/** The genotype (canonical) of a structure of the space; E_STRUCTURE naming the block otherwise. */
export function proxylessGenotype(s: Structure): ProxylessGenotype {
  const text = formatStructure(s);
  const head = parseStructure(HEAD).blocks.length, tail = parseStructure(TAIL).blocks.length;
  if (!text.startsWith(HEAD) || !text.endsWith(TAIL) || s.blocks.length < head + tail) throw new ZennasError('E_STRUCTURE', `not a net of the proxyless space: it must start with '${HEAD}' and end with '${TAIL}'`);
  const middle = s.blocks.slice(head, s.blocks.length - tail);
  let i = 0;
  const stages = PROXYLESS_STAGES.map((st) => {
    const cs: number[] = [];
    while (i < middle.length && cs.length < st.blocks && middle[i]!.kind === 'MBInvRes' && (middle[i] as MBInvResBlock).out === st.out) {
      const one = formatStructure({ blocks: [middle[i]!] });
      const c = PROXYLESS_CHOICES.find((ch) => !ch.zero && formatStructure({ blocks: [proxylessBlock(st.index, cs.length, ch.index)!] }) === one);
      if (!c) throw new ZennasError('E_STRUCTURE', `not a net of the proxyless space: block ${head + i + 1} (${one}) is no candidate of stage ${st.index}, position ${cs.length}`);
      cs.push(c.index);
      i++;
    }
    if (cs.length === 0) throw new ZennasError('E_STRUCTURE', `not a net of the proxyless space: stage ${st.index} (width ${st.out}) has no block`);
    while (cs.length < st.blocks) cs.push(PROXYLESS_ZERO);
    return cs;
  });
  if (i < middle.length) throw new ZennasError('E_STRUCTURE', `not a net of the proxyless space: block ${head + i + 1} (${formatStructure({ blocks: [middle[i]!] })}) does not fit the stages`);
  return { stages };
}

/** The smallest net (3x3_MBConv3 first blocks, every other block skipped) and the largest (7x7_MBConv6 everywhere). */
export function proxylessLightest(): ProxylessGenotype {
  return { stages: PROXYLESS_STAGES.map((st) => Array.from({ length: st.blocks }, (_, b) => (b === 0 ? 0 : PROXYLESS_ZERO))) };
}
export function proxylessHeaviest(): ProxylessGenotype {
  return { stages: PROXYLESS_STAGES.map((st) => new Array<number>(st.blocks).fill(5)) };
}

/** One choice in every block (choice 0, 3x3_MBConv3 everywhere: 257M FLOPs at 224, the preset's start). */
export function proxylessUniform(choice = 0): ProxylessGenotype {
  return { stages: PROXYLESS_STAGES.map((st) => new Array<number>(st.blocks).fill(choice)) };
}

function countProxyless(g: ProxylessGenotype, o: SpaceOptions): SpaceCost {
  const s = proxylessStructure(g);
  const c = countModel(s, { resolution: o.resolution, numClasses: o.numClasses });
  return { params: c.params, flops: c.flops, layers: s.blocks.filter((b) => b.kind === 'MBInvRes').length };
}

/**
 * One mutation: one of the 21 searched blocks uniformly, its choice replaced by another allowed
 * one uniformly (5 others for a stage's first block, 6 for the rest), then canonicalised.
 */
function mutateOnce(g: ProxylessGenotype, rng: Sfc32): ProxylessGenotype {
  const places = PROXYLESS_STAGES.flatMap((st) => Array.from({ length: st.blocks }, (_, b) => [st.index, b] as const));
  const [s, b] = places[rng.int(places.length)]!;
  const stages = g.stages.map((cs) => [...cs]);
  const allowed = b === 0 ? PROXYLESS_ZERO : PROXYLESS_ZERO + 1;
  const old = stages[s]![b]!;
  const c = rng.int(allowed - 1);
  stages[s]![b] = c >= old ? c + 1 : c;
  return canonicalProxyless({ stages });
}

const key = (g: ProxylessGenotype) => formatStructure(proxylessStructure(g));

/** The ProxylessNAS mobile space (ξ-GSNR Algorithm 2's ImageNet space). */
export const proxylessSpace: SearchSpace<ProxylessGenotype> = {
  id: 'proxyless',
  title: 'ProxylessNAS mobile space',
  description: 'ProxylessNAS (mit-han-lab/proxylessnas): 21 MBConv blocks over stages 24/40/80/96/192/320, k ∈ {3,5,7} × e ∈ {3,6} or Zero (skip) where a shortcut exists; ReLU6 written as ReLU',
  supportsSe: false,
  defaultPreset: 'imagenet',
  presets: {
    imagenet: {
      name: 'imagenet',
      description: 'ImageNet 224, ≈ 400M FLOPs as ξ-GSNR (T = 2000, P = 128, batch 64); starts from 3x3_MBConv3 everywhere (257M FLOPs)',
      initial: key(proxylessUniform(0)),
      resolution: 224,
      batchSize: 64,
      numClasses: 1000,
      maxLayers: 22,
      budgetFlops: 400e6,
      iterations: 2000,
    },
  },
  encode: key,
  decode: (k: string) => proxylessGenotype(parseStructure(k)),
  check: checkProxylessGenotype,
  count: countProxyless,
  lower: (g: ProxylessGenotype, _o: SpaceOptions): Int32Array => encodeDescriptor(lowerForScoring(proxylessStructure(g))),
  structure: proxylessStructure,
  mutate(parent: ProxylessGenotype, ctx: MutationContext): ProxylessGenotype {
    let g = canonicalProxyless(parent);
    for (let i = 0; i < Math.max(1, ctx.changes); i++) g = mutateOnce(g, ctx.rng);
    return g;
  },
  random(rng: Sfc32, ctx: RandomContext<ProxylessGenotype>): ProxylessGenotype {
    for (let attempt = 0; attempt < 64; attempt++) {
      const g = canonicalProxyless({ stages: PROXYLESS_STAGES.map((st) => Array.from({ length: st.blocks }, (_, b) => rng.int(b === 0 ? PROXYLESS_ZERO : PROXYLESS_ZERO + 1))) });
      const c = countProxyless(g, ctx.options);
      if ((['params', 'flops', 'layers'] as const).every((k) => ctx.limits[k] === undefined || c[k] <= ctx.limits[k]!)) return g;
    }
    return ctx.template;
  },
};
