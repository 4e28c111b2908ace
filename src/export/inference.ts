/**
 * The export pipeline of `zennas export` and the TensorRT runner: a descriptor's inference network
 * with the engine's Philox weights of repeat 0 and BN running statistics
 *   - 'calibrated' (default): the batch mean and variance of each BN in a training-mode forward of
 *     CALIBRATION_BATCH N(0,1) images at the export resolution (`engine.bnStatistics`: the
 *     Zen-score's input x of repeat 0). On those images the exported eval network computes exactly
 *     the training-mode network; on any input every BN output is O(1), as in a trained network, so
 *     deep residual nets stay far from FP16 overflow (latency does not depend on the values, but
 *     inf/NaN everywhere would not be a realistic workload);
 *   - 'fresh': mean 0, var 1, the eval mode of a just-constructed model (activations grow with
 *     depth and overflow FP16 in deep nets).
 *
 * The statistics come from a `BnStatisticsSource` the caller owns — in practice an
 * `Engine({ backend: 'cpu' })` — so this module opens no engine itself.
 */
import { ZennasError } from '../errors';
import { describe, checkInt, optionError } from '../util/validate';
import { BnRunningStats, checkExportOptions, checkOnnxSize, exportOnnx, toExportNet } from './onnx';
import { drawWeights } from './weights';

/** Images of the BN calibration forward (at the export resolution; BN needs batch·H·W ≥ 2). */
export const CALIBRATION_BATCH = 4;

/** What computes BN batch statistics: `Engine.bnStatistics` (CPU backend) has this shape. */
export interface BnStatisticsSource {
  bnStatistics(descriptor: Int32Array, options: { batchSize: number; resolution: number; seed?: number; bnEps?: number }): Promise<readonly BnRunningStats[]>;
}

/**
 * 'calibrated' BN running statistics: the batch statistics of every BN in a training-mode forward of
 * CALIBRATION_BATCH N(0,1) images (Philox input stream of `seed`, repeat 0) at `resolution`.
 * E_OUT_OF_MEMORY says how to export anyway.
 */
export async function calibrateBn(source: BnStatisticsSource, descriptor: Int32Array, options: { resolution: number; seed?: number; bnEps?: number }): Promise<BnRunningStats[]> {
  const net = toExportNet(descriptor, true); // BN statistics of any view; the export checks the view
  if (!net.nodes.some((n) => n.op === 'bn')) return []; // nothing to calibrate
  const { resolution } = options;
  try {
    return [...await source.bnStatistics(descriptor, { batchSize: CALIBRATION_BATCH, resolution, seed: options.seed ?? 0, bnEps: options.bnEps ?? 1e-5 })];
  } catch (e) {
    if ((e as { code?: string }).code === 'E_OUT_OF_MEMORY') {
      throw new ZennasError('E_OUT_OF_MEMORY', `BN calibration (a training-mode forward of ${CALIBRATION_BATCH} images at ${resolution}×${resolution}) does not fit in memory: ` +
        `export with bn 'fresh' (--bn fresh) or at a lower resolution (${(e as Error).message})`);
    }
    throw e;
  }
}

/** Options of `exportInferenceOnnx`. */
export interface InferenceExportOptions {
  /** Input height = width (the graph is static in H, W). */
  resolution: number;
  /** Export a scoring view (lowerForScoring's descriptor) on purpose; refused otherwise. */
  scoringView?: boolean;
  /** Called as the weights are drawn (a 300M-parameter net takes seconds): weights drawn of total. */
  onProgress?: (drawn: number, total: number) => void;
  /** Fixed batch size; omitted → a symbolic dimension 'batch'. */
  batchSize?: number;
  /** Element type of weights, input and output (default 'fp32'). */
  precision?: 'fp32' | 'fp16';
  /** BN running statistics (default 'calibrated'; see the module comment). */
  bn?: 'calibrated' | 'fresh';
  /** Philox seed of the weights and the calibration images, integer in [0, 2^53) (default 0). */
  seed?: number;
  /** BN ε folded into the convolutions (default 1e-5). */
  bnEps?: number;
  /** Text stored as the model's doc_string (e.g. the structure string). */
  docString?: string;
}

/**
 * A descriptor's inference network as ONNX bytes: weights drawn (`drawWeights`, seed, repeat 0),
 * BN statistics calibrated with `source` (not used, and may be null, for bn 'fresh' or a net
 * without BN), then `exportOnnx`. Refuses nets over 2 GiB before drawing anything.
 */
export async function exportInferenceOnnx(source: BnStatisticsSource | null, descriptor: Int32Array, options: InferenceExportOptions): Promise<Uint8Array> {
  const o = checkExportOptions(options);
  const bn = options.bn ?? 'calibrated';
  if (bn !== 'calibrated' && bn !== 'fresh') optionError(`bn must be 'calibrated' or 'fresh', got ${describe(bn)}`);
  const seed = checkInt('seed', options.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
  if (!(descriptor instanceof Int32Array)) throw new ZennasError('E_DESCRIPTOR', 'invalid descriptor: expected an Int32Array');
  const net = toExportNet(descriptor, options.scoringView);
  checkOnnxSize(net, o.precision);
  let bnStatistics: 'fresh' | BnRunningStats[] = 'fresh';
  if (bn === 'calibrated' && net.nodes.some((n) => n.op === 'bn')) {
    if (!source) optionError("bn 'calibrated' needs a source of BN statistics (an Engine with backend 'cpu'); pass one or use bn 'fresh'");
    bnStatistics = await calibrateBn(source, descriptor, { resolution: o.resolution, seed, bnEps: o.bnEps });
  } else if (bn === 'calibrated') {
    bnStatistics = [];
  }
  return exportOnnx(net, {
    ...o, weights: drawWeights(net, seed, 0, options.onProgress), bnStatistics,
    metadata: {
      'zennas.weights': `Philox N(0,1), seed ${seed}, repeat 0`,
      'zennas.bn': `eval mode, folded into the preceding conv where there is one; running statistics ${bn === 'fresh' ? 'mean 0, var 1' : `of ${CALIBRATION_BATCH} N(0,1) images (seed ${seed})`}, eps ${o.bnEps}`,
    },
  });
}
