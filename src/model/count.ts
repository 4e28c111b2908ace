import { DEFAULTS } from '../defaults';
import { Structure } from '../grammar/ast';
import { blockName, formatBlock } from '../grammar/format';
import { blockChannels } from '../grammar/parse';
import { ZennasError } from '../errors';
import { layerFlops, layerParams } from './layers';
import { inferShapes, lowerAsTrained } from './lower';
import { bool, literal, num, object, optional, parse } from '../util/schema';

const countOptionsSchema = object({
  resolution: num(), numClasses: optional(num()), se: optional(bool), shortcuts: optional(literal<'official' | 'minimal'>('official', 'minimal')),
}, { extra: true });

/** Options for counting a model. */
export interface CountOptions {
  /** Square input resolution (e.g. 32 for CIFAR, 224 for ImageNet). */
  resolution: number;
  /** Classes of the GAP + Linear head the model appends (0 = no head). Default: DEFAULTS.numClasses (100, the CIFAR setting). */
  numClasses?: number;
  /** Count SE modules inside residual super blocks. */
  se?: boolean;
  /** Projection-shortcut rule, see TrainedLowerOptions.shortcuts. */
  shortcuts?: 'official' | 'minimal';
}

/** Per-block counts. */
export interface BlockCount {
  index: number;
  /** PlainNet name, e.g. `SuperResK1K5K1`, or `Classifier` for the head. */
  type: string;
  text: string;
  in: number;
  out: number;
  stride: number;
  inputResolution: number;
  outputResolution: number;
  params: number;
  flops: number;
  layers: number;
}

/** Totals and per-block counts of a model (structure + classifier head). */
export interface ModelCount {
  params: number;
  flops: number;
  /** Σ sub_layers over super blocks (the search's max_layers budget). */
  layers: number;
  outputResolution: number;
  outputChannels: number;
  paramsNoClassifier: number;
  flopsNoClassifier: number;
  resolution: number;
  numClasses: number;
  blocks: BlockCount[];
}

/** Count params (weights + BN γ/β + linear bias), FLOPs (multiply-adds) and layers (DESIGN §2). */
export function countModel(s: Structure, optsIn: CountOptions): ModelCount {
  // Read once, as plain values: a getter that throws (or returns another value later) is an E_OPTION.
  const opts = parse(countOptionsSchema, optsIn, 'E_OPTION', { prefix: 'countModel: ', path: 'options' });
  const numClasses = opts.numClasses ?? DEFAULTS.numClasses; // the one defaults table (src/defaults.ts)
  if (!Number.isInteger(numClasses) || numClasses < 0 || numClasses > 1_000_000) {
    throw new ZennasError('E_OPTION', `numClasses must be an integer in 0..1000000, got ${numClasses}`);
  }
  const list = lowerAsTrained(s, { se: opts.se, numClasses, shortcuts: opts.shortcuts });
  const shapes = inferShapes(list, opts.resolution);
  const rows: BlockCount[] = s.blocks.map((b, index) => {
    const ch = blockChannels(b);
    return {
      index, type: blockName(b), text: formatBlock(b), in: ch.in, out: ch.out,
      stride: 'stride' in b ? b.stride : 1, inputResolution: 0, outputResolution: 0,
      params: 0, flops: 0, layers: 'subLayers' in b ? b.subLayers : 0,
    };
  });
  const head: BlockCount = {
    index: s.blocks.length, type: 'Classifier', text: numClasses ? `AdaptiveAvgPool+Linear(${ch(s)},${numClasses})` : '',
    in: ch(s), out: numClasses, stride: 1, inputResolution: 0, outputResolution: 1, params: 0, flops: 0, layers: 0,
  };
  const seen = new Set<number>();
  list.nodes.forEach((l, i) => {
    const row = l.block < 0 ? head : rows[l.block]!;
    const sh = shapes[i]!;
    if (!seen.has(row.index)) { seen.add(row.index); row.inputResolution = sh.hin; }
    if (l.role !== 'se' && l.role !== 'shortcut') row.outputResolution = sh.hout;
    row.params += layerParams(l);
    row.flops += layerFlops(l, sh);
  });
  // Blocks that lower to nothing keep the resolution they receive.
  let res = opts.resolution;
  for (const r of rows) {
    if (!seen.has(r.index)) { r.inputResolution = res; r.outputResolution = res; }
    res = r.outputResolution;
  }
  const sum = (k: 'params' | 'flops' | 'layers') => rows.reduce((a, r) => a + r[k], 0);
  const paramsNoClassifier = sum('params');
  const flopsNoClassifier = sum('flops');
  // Beyond 2^53 the counts are no longer exact integers: a structure that large is not a network anyone trains.
  for (const [what, v] of [['params', paramsNoClassifier + head.params], ['FLOPs', flopsNoClassifier + head.flops]] as const) {
    if (!Number.isSafeInteger(v)) {
      throw new ZennasError('E_STRUCTURE', `absurd size: ${what} ≈ ${v.toExponential(2)} at ${opts.resolution}×${opts.resolution} exceed 2^53 and cannot be counted exactly`);
    }
  }
  return {
    params: paramsNoClassifier + head.params,
    flops: flopsNoClassifier + head.flops,
    layers: sum('layers'),
    outputResolution: res,
    outputChannels: ch(s),
    paramsNoClassifier,
    flopsNoClassifier,
    resolution: opts.resolution,
    numClasses,
    blocks: numClasses ? [...rows, head] : rows,
  };
}

function ch(s: Structure): number {
  return blockChannels(s.blocks[s.blocks.length - 1]!).out;
}
