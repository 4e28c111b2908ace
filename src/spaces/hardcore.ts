/**
 * The HardCoRe-NAS search space (Nayman et al. 2021, appendix Table 3 macro and Table 4 block
 * configurations), over PlainNet structures with MBInvRes blocks (src/grammar/ast.ts).
 *
 * ## Genotype API (stable: later additions only)
 *
 * - `HardcoreGenotype = { variant, stages }`: `stages[s]` lists the configuration index (0..11,
 *   `HARDCORE_CONFIGS`, Table 4 order = the paper's c − 1) of every block of searched stage s, in
 *   order; its length is the stage's depth (`hardcoreStages(variant)[s].minDepth..maxDepth`).
 * - `hardcoreConfigIndex({ expansion, kernel, se })`: the inverse of `HARDCORE_CONFIGS[i]`.
 * - `hardcoreStages(variant)`: the searched stages (channels, stride, activation, depth range,
 *   input resolution at 224); `HARDCORE_CONFIGS`: the 12 configurations (expansion, kernel, SE).
 * - `hardcoreStructure(g)`: genotype → Structure (the whole net; the classifier is appended by
 *   counting / lowering with numClasses, as for every zennas structure); `hardcoreKey(g)` its string.
 * - `hardcoreGenotype(structure)`: the inverse (throws E_STRUCTURE when it is not a net of the space).
 * - `hardcoreLightest(variant)` / `hardcoreHeaviest(variant)`: min depth with configuration 0 /
 *   max depth with configuration 11 everywhere (the extremes of Table 4's latency order).
 * - `hardcoreBlock(variant, stage, position, config)`: the MBInvRes block at that place (its
 *   input channels and stride follow from the position); `hardcoreBlockContext(...)` adds its
 *   input resolution; `hardcoreBlockStructure(...)` is a Structure of that single block.
 * - `hardcoreFixedParts(variant)`: the fixed head (stem + first block) and tail (last blocks
 *   before the classifier) as Structures, with the tail's input resolution.
 *
 * ## Variants
 *
 * - `paper` (default): the appendix. Stem 3×3/32 stride 2 + BN + ReLU; MBInvRes e1 k3 16 ReLU
 *   (no SE: the paper does not say, the official code has none); searched stages 24 (stride 2,
 *   ReLU), 40 (2), 80 (2), 112 (1), 192 (2) with Swish and depth 2–4, then the 960 block (stride
 *   1, Swish, depth 1, its configuration searched: "the blocks of stages 3 to 8 are searched");
 *   1×1 conv 1280 + BN + Swish (EfficientNet-B0's head); pool; FC. SE = EfficientNet-B0's
 *   (`SE`: hidden ¼ of the block input, the block's activation, sigmoid gate).
 * - `official`: what Alibaba-MIIL/HardCoReNAS builds (timm/models/mobilenasnet.py
 *   `_gen_mobilenasnet` on the MobileNetV3 class): stem + BN + hard-swish; `ds` block 16 ReLU;
 *   stages 24, 40 with ReLU, 80, 112, 192 with hard-swish (depth 2–4); a 1×1 ConvBnAct 960
 *   hard-swish (fixed, not searched); global pool; MobileNetV3's efficient head: 1×1 conv 1280
 *   with bias (= LINEAR on the pooled map) + hard-swish; FC. SE = the code's `se_kwargs`
 *   (`HSE`: hidden make_divisible(mid·¼, 8), ReLU, hard-sigmoid gate).
 *
 * Configuration order (both variants): index = 4·er_i + 2·k_i + se_i over er ∈ (3, 4, 6),
 * k ∈ (3, 5), se ∈ (off, on) — the official `alpha_layer_index_to_global_index` loop order.
 */
import { Block, MBActivation, MBInvResBlock, Structure } from '../grammar/ast';
import { formatStructure } from '../grammar/format';
import { parseStructure } from '../grammar/parse';
import { convOutSize } from '../ops/schema';
import { countModel } from '../model/count';
import { lowerForScoring } from '../model/lower';
import { encodeDescriptor } from '../ops/descriptor';
import { ZennasError } from '../errors';
import type { Sfc32 } from '../rng/sfc32';
import { MutationContext, RandomContext, SearchSpace, SpaceCost, SpaceOptions, SpacePreset } from './types';

/** Which definition of the space: the paper's appendix or the official code. */
export type HardcoreVariant = 'paper' | 'official';
export const HARDCORE_VARIANTS: readonly HardcoreVariant[] = ['paper', 'official'];

/** A net of the space: per searched stage, the configuration index of each of its blocks. */
export interface HardcoreGenotype {
  variant: HardcoreVariant;
  /** stages[s][b] ∈ 0..11 (HARDCORE_CONFIGS); stages[s].length = depth of stage s. */
  stages: number[][];
}

/** One ElasticMBInvRes configuration of Table 4. */
export interface HardcoreConfig {
  /** 0-based index (the paper's c − 1), in expected-latency order. */
  index: number;
  expansion: 3 | 4 | 6;
  kernel: 3 | 5;
  se: boolean;
}

/** Table 4: er ∈ {3,4,6} × k ∈ {3,5} × SE off/on, in the official code's order. */
export const HARDCORE_CONFIGS: readonly HardcoreConfig[] = Object.freeze(
  ([3, 4, 6] as const).flatMap((expansion) => ([3, 5] as const).flatMap((kernel) => [false, true].map((se) => ({ expansion, kernel, se })))).map((c, index) => Object.freeze({ index, ...c })),
);

/** The index of configuration (expansion, kernel, se) in HARDCORE_CONFIGS; E_OPTION naming the field when there is none. */
export function hardcoreConfigIndex(c: { expansion: number; kernel: number; se: boolean }): number {
  const i = HARDCORE_CONFIGS.findIndex((x) => x.expansion === c.expansion && x.kernel === c.kernel && x.se === !!c.se);
  if (i < 0) throw new ZennasError('E_OPTION', `config: no Table 4 configuration has expansion ${c.expansion}, kernel ${c.kernel}, SE ${c.se ? 'on' : 'off'} (er ∈ {3,4,6}, k ∈ {3,5})`);
  return i;
}

/** One searched stage of the macro architecture. */
export interface HardcoreStage {
  /** 0-based index among the searched stages. */
  index: number;
  /** The paper's stage number (Table 3). */
  paperStage: number;
  /** Input channels of the stage's first block. */
  in: number;
  out: number;
  /** Stride of the first block (the others: 1). */
  stride: number;
  act: MBActivation;
  minDepth: number;
  maxDepth: number;
  /** Input resolution of the first block for a 224×224 image (see hardcoreBlockContext for others). */
  inputResolution224: number;
}

const stage = (index: number, paperStage: number, inC: number, out: number, stride: number, act: MBActivation, minDepth: number, maxDepth: number, res: number): HardcoreStage =>
  Object.freeze({ index, paperStage, in: inC, out, stride, act, minDepth, maxDepth, inputResolution224: res });

const STAGES: Record<HardcoreVariant, readonly HardcoreStage[]> = {
  paper: Object.freeze([
    stage(0, 3, 16, 24, 2, 'relu', 2, 4, 112),
    stage(1, 4, 24, 40, 2, 'swish', 2, 4, 56),
    stage(2, 5, 40, 80, 2, 'swish', 2, 4, 28),
    stage(3, 6, 80, 112, 1, 'swish', 2, 4, 14),
    stage(4, 7, 112, 192, 2, 'swish', 2, 4, 14),
    stage(5, 8, 192, 960, 1, 'swish', 1, 1, 7),
  ]),
  official: Object.freeze([
    stage(0, 3, 16, 24, 2, 'relu', 2, 4, 112),
    stage(1, 4, 24, 40, 2, 'relu', 2, 4, 56),
    stage(2, 5, 40, 80, 2, 'hswish', 2, 4, 28),
    stage(3, 6, 80, 112, 1, 'hswish', 2, 4, 14),
    stage(4, 7, 112, 192, 2, 'hswish', 2, 4, 14),
  ]),
};

/** The searched stages of a variant. */
export function hardcoreStages(variant: HardcoreVariant = 'paper'): readonly HardcoreStage[] {
  const s = STAGES[variant];
  if (!s) throw new ZennasError('E_OPTION', `variant: '${String(variant)}' is not a hardcore variant; known: ${HARDCORE_VARIANTS.join(', ')}`);
  return s;
}

const blocksOf = (text: string): Block[] => parseStructure(text).blocks;

/** Fixed blocks before the first searched stage and after the last (the classifier is not a block). */
const FIXED: Record<HardcoreVariant, { head: string; tail: string }> = {
  paper: {
    head: 'ConvKX(3,32,3,2)BN(32)RELU(32)MBInvResE1K3RELU(32,16,1)',
    tail: 'ConvKX(960,1280,1,1)BN(1280)SWISH(1280)',
  },
  official: {
    head: 'ConvKX(3,32,3,2)BN(32)HSWISH(32)MBInvResE1K3RELU(32,16,1)',
    tail: 'ConvKX(192,960,1,1)BN(960)HSWISH(960)AdaptiveAvgPool(960,1)Linear(960,1280)HSWISH(1280)',
  },
};

/** The fixed parts of a variant: head (stem + first block) and tail (after the last searched stage). */
export function hardcoreFixedParts(variant: HardcoreVariant = 'paper'): { head: Structure; tail: Structure; tailInputResolution224: number } {
  hardcoreStages(variant);
  return { head: { blocks: blocksOf(FIXED[variant].head) }, tail: { blocks: blocksOf(FIXED[variant].tail) }, tailInputResolution224: 7 };
}

function checkPlace(variant: HardcoreVariant, stageIndex: number, position: number, config: number): HardcoreStage {
  const stages = hardcoreStages(variant);
  const st = stages[stageIndex];
  if (!Number.isInteger(stageIndex) || !st) throw new ZennasError('E_OPTION', `stage: ${stageIndex} is not a searched stage of hardcore/${variant} (0..${stages.length - 1})`);
  if (!Number.isInteger(position) || position < 0 || position >= st.maxDepth) throw new ZennasError('E_OPTION', `position: ${position} is outside stage ${stageIndex} (0..${st.maxDepth - 1})`);
  if (!Number.isInteger(config) || config < 0 || config >= HARDCORE_CONFIGS.length) throw new ZennasError('E_OPTION', `config: ${config} is not a configuration index (0..${HARDCORE_CONFIGS.length - 1})`);
  return st;
}

/** The MBInvRes block at (stage, position) with configuration `config`. */
export function hardcoreBlock(variant: HardcoreVariant, stageIndex: number, position: number, config: number): MBInvResBlock {
  const st = checkPlace(variant, stageIndex, position, config);
  const c = HARDCORE_CONFIGS[config]!;
  return {
    kind: 'MBInvRes', expansion: c.expansion, kernel: c.kernel, act: st.act,
    se: c.se ? (variant === 'official' ? 'hse' : 'se') : 'none',
    in: position === 0 ? st.in : st.out, out: st.out, stride: position === 0 ? st.stride : 1,
  };
}

/** A block in context: the block, its input resolution at `resolution` (default 224) and channels. */
export function hardcoreBlockContext(variant: HardcoreVariant, stageIndex: number, position: number, config: number, resolution = 224):
  { block: MBInvResBlock; inputResolution: number; inputChannels: number; outputResolution: number } {
  const block = hardcoreBlock(variant, stageIndex, position, config);
  // Resolution entering the stage: the stem (3×3 stride 2), then the strides of the stages before.
  let r = convOutSize(resolution, 3, 2);
  const stages = hardcoreStages(variant);
  for (let s = 0; s < stageIndex; s++) r = convOutSize(r, 3, stages[s]!.stride);
  const inputResolution = position === 0 ? r : convOutSize(r, block.kernel, stages[stageIndex]!.stride);
  return { block, inputResolution, inputChannels: block.in, outputResolution: convOutSize(inputResolution, block.kernel, block.stride) };
}

/** A Structure of the single block at (stage, position, config) — what a LUT entry measures. */
export function hardcoreBlockStructure(variant: HardcoreVariant, stageIndex: number, position: number, config: number): Structure {
  return { blocks: [hardcoreBlock(variant, stageIndex, position, config)] };
}

/** Throw E_OPTION unless `g` is a genotype of the space. */
export function checkHardcoreGenotype(g: HardcoreGenotype): void {
  if (!g || typeof g !== 'object' || !Array.isArray(g.stages)) throw new ZennasError('E_OPTION', 'genotype: expected { variant, stages: number[][] }');
  const stages = hardcoreStages(g.variant);
  if (g.stages.length !== stages.length) throw new ZennasError('E_OPTION', `genotype.stages: hardcore/${g.variant} has ${stages.length} searched stages, got ${g.stages.length}`);
  g.stages.forEach((blocks, s) => {
    const st = stages[s]!;
    if (!Array.isArray(blocks) || blocks.length < st.minDepth || blocks.length > st.maxDepth) {
      throw new ZennasError('E_OPTION', `genotype.stages[${s}]: depth must be in ${st.minDepth}..${st.maxDepth}, got ${Array.isArray(blocks) ? blocks.length : typeof blocks}`);
    }
    blocks.forEach((c, b) => {
      if (!Number.isInteger(c) || c < 0 || c >= HARDCORE_CONFIGS.length) throw new ZennasError('E_OPTION', `genotype.stages[${s}][${b}]: configuration must be an integer in 0..${HARDCORE_CONFIGS.length - 1}, got ${c}`);
    });
  });
}

/** The whole network of a genotype (without the classifier: count/lower it with numClasses). */
export function hardcoreStructure(g: HardcoreGenotype): Structure {
  checkHardcoreGenotype(g);
  const fixed = hardcoreFixedParts(g.variant);
  const blocks: Block[] = [...fixed.head.blocks];
  g.stages.forEach((cfgs, s) => cfgs.forEach((c, b) => blocks.push(hardcoreBlock(g.variant, s, b, c))));
  blocks.push(...fixed.tail.blocks);
  return { blocks };
}

/** The canonical key (PlainNet string) of a genotype. */
export function hardcoreKey(g: HardcoreGenotype): string {
  return formatStructure(hardcoreStructure(g));
}

/** The genotype of a structure of the space (either variant); E_STRUCTURE naming the block otherwise. */
export function hardcoreGenotype(s: Structure): HardcoreGenotype {
  const text = formatStructure(s);
  let why = '';
  for (const variant of HARDCORE_VARIANTS) {
    const fixed = FIXED[variant];
    const head = blocksOf(fixed.head).length, tail = blocksOf(fixed.tail).length;
    if (!text.startsWith(fixed.head) || !text.endsWith(fixed.tail) || s.blocks.length < head + tail) { why ||= `it does not start with '${FIXED.paper.head}' (paper) or '${FIXED.official.head}' (official) and end with that variant's tail`; continue; }
    const middle = s.blocks.slice(head, s.blocks.length - tail);
    const stages: number[][] = [];
    let i = 0, ok = true;
    // Stage outputs differ (24, 40, 80, …): a stage is the run of MBInvRes blocks with its width.
    for (const st of hardcoreStages(variant)) {
      const cfgs: number[] = [];
      while (ok && i < middle.length && middle[i]!.kind === 'MBInvRes' && (middle[i] as MBInvResBlock).out === st.out && cfgs.length < st.maxDepth) {
        const text1 = formatStructure({ blocks: [middle[i]!] });
        const cfg = HARDCORE_CONFIGS.find((c) => formatStructure({ blocks: [hardcoreBlock(variant, st.index, cfgs.length, c.index)] }) === text1);
        if (!cfg) { ok = false; why = `block ${head + i + 1} (${text1}) is not a configuration of hardcore/${variant} at stage ${st.index}, position ${cfgs.length}`; break; }
        cfgs.push(cfg.index);
        i++;
      }
      stages.push(cfgs);
    }
    if (ok && i < middle.length) { ok = false; why = `block ${head + i + 1} (${formatStructure({ blocks: [middle[i]!] })}) does not fit the stages of hardcore/${variant}`; }
    if (!ok) continue;
    const g: HardcoreGenotype = { variant, stages };
    try { checkHardcoreGenotype(g); } catch (e) { why = (e as Error).message; continue; }
    if (hardcoreKey(g) === text) return g;
    why = 'its blocks do not form the stages of the space';
  }
  throw new ZennasError('E_STRUCTURE', `not a net of the hardcore space: ${why}`);
}

/** Min depth, configuration 0 everywhere. */
export function hardcoreLightest(variant: HardcoreVariant = 'paper'): HardcoreGenotype {
  return { variant, stages: hardcoreStages(variant).map((st) => new Array<number>(st.minDepth).fill(0)) };
}

/** Max depth, configuration 11 everywhere. */
export function hardcoreHeaviest(variant: HardcoreVariant = 'paper'): HardcoreGenotype {
  return { variant, stages: hardcoreStages(variant).map((st) => new Array<number>(st.maxDepth).fill(HARDCORE_CONFIGS.length - 1)) };
}

/** Blocks of the net counted as its layers: every MBInvRes block (fixed ones included). */
function hardcoreLayers(g: HardcoreGenotype): number {
  return 1 + g.stages.reduce((a, s) => a + s.length, 0);
}

/**
 * One mutation: a gene drawn uniformly among every active block's configuration and every stage
 * depth that can move. A configuration moves to one of the 11 others; a depth moves by ±1 within
 * its range (a new block takes a random configuration, removing drops the last block).
 */
function mutateOnce(g: HardcoreGenotype, rng: Sfc32): HardcoreGenotype {
  const stages = hardcoreStages(g.variant);
  const genes: Array<{ s: number; b: number } | { s: number; depth: true }> = [];
  g.stages.forEach((blocks, s) => {
    blocks.forEach((_, b) => genes.push({ s, b }));
    if (stages[s]!.maxDepth > stages[s]!.minDepth) genes.push({ s, depth: true });
  });
  const gene = genes[rng.int(genes.length)]!;
  const next = g.stages.map((b) => [...b]);
  const blocks = next[gene.s]!;
  if ('b' in gene) {
    const c = rng.int(HARDCORE_CONFIGS.length - 1);
    blocks[gene.b] = c >= blocks[gene.b]! ? c + 1 : c;
  } else {
    const st = stages[gene.s]!;
    const grow = blocks.length === st.minDepth ? true : blocks.length === st.maxDepth ? false : rng.next() < 0.5;
    if (grow) blocks.push(rng.int(HARDCORE_CONFIGS.length));
    else blocks.pop();
  }
  return { variant: g.variant, stages: next };
}

function randomGenotype(variant: HardcoreVariant, rng: Sfc32): HardcoreGenotype {
  return {
    variant,
    stages: hardcoreStages(variant).map((st) => {
      const depth = st.minDepth + rng.int(st.maxDepth - st.minDepth + 1);
      return Array.from({ length: depth }, () => rng.int(HARDCORE_CONFIGS.length));
    }),
  };
}

function fits(cost: SpaceCost, limits: Partial<SpaceCost>): boolean {
  return (['params', 'flops', 'layers'] as const).every((k) => limits[k] === undefined || cost[k] <= limits[k]!);
}

function countHardcore(g: HardcoreGenotype, o: SpaceOptions): SpaceCost {
  const c = countModel(hardcoreStructure(g), { resolution: o.resolution, numClasses: o.numClasses });
  return { params: c.params, flops: c.flops, layers: hardcoreLayers(g) };
}

const preset = (variant: HardcoreVariant, description: string): SpacePreset => ({
  name: variant,
  description,
  initial: hardcoreKey(hardcoreLightest(variant)),
  resolution: 224,
  batchSize: 64,
  numClasses: 1000,
  maxLayers: hardcoreLayers(hardcoreHeaviest(variant)),
  iterations: 2000,
});

/** The HardCoRe-NAS space; presets `paper` (default) and `official` start from their lightest net. */
export const hardcoreSpace: SearchSpace<HardcoreGenotype> = {
  id: 'hardcore',
  title: 'HardCoRe-NAS space',
  description: 'HardCoRe-NAS (appendix Tables 3–4): EfficientNet-B0 macro, stages of 24/40/80/112/192 with depth 2–4, MBInvRes er ∈ {3,4,6} × k ∈ {3,5} × SE; presets paper | official (the official code: hard-swish, hard-sigmoid SE)',
  supportsSe: false,
  defaultPreset: 'paper',
  presets: {
    paper: preset('paper', 'the appendix: ReLU in stem, 16 and 24, Swish after; EfficientNet SE; the 960 block searched (ImageNet 224)'),
    official: preset('official', 'Alibaba-MIIL/HardCoReNAS: hard-swish stem and 80/112/192, ReLU 16/24/40, hard-sigmoid SE, fixed 1×1 960, MobileNetV3 head (ImageNet 224)'),
  },
  encode: hardcoreKey,
  decode: (key: string) => hardcoreGenotype(parseStructure(key)),
  check: checkHardcoreGenotype,
  count: countHardcore,
  lower: (g: HardcoreGenotype, _o: SpaceOptions): Int32Array => encodeDescriptor(lowerForScoring(hardcoreStructure(g))),
  structure: hardcoreStructure,
  mutate(parent: HardcoreGenotype, ctx: MutationContext): HardcoreGenotype {
    let g = parent;
    for (let i = 0; i < Math.max(1, ctx.changes); i++) g = mutateOnce(g, ctx.rng);
    return g;
  },
  random(rng: Sfc32, ctx: RandomContext<HardcoreGenotype>): HardcoreGenotype {
    for (let attempt = 0; attempt < 64; attempt++) {
      const g = randomGenotype(ctx.template.variant, rng);
      if (fits(countHardcore(g, ctx.options), ctx.limits)) return g;
    }
    return ctx.template;
  },
};
