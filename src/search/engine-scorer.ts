import { Structure } from '../grammar/ast';
import { lowerAsTrained } from '../model/lower';
import { encodeDescriptor } from '../ops/descriptor';
import { ZennasError } from '../errors';
import { keyedError, opt } from '../util/keyed-error';
import { Evaluator, scorerEvaluator } from './evaluator';
import { LatencySource, Scorer } from './types';

/** Zen-score options the search passes to the engine for every candidate. */
export interface EngineScoreOptions {
  batchSize: number;
  resolution: number;
  repeats: number;
  /** One seed for all candidates (common random numbers: comparisons are not blurred by seed noise). */
  seed: number;
  mode: 'paper' | 'official';
  alpha: number;
  bnEps: number;
}

/** The part of src/engine/engine's Engine the search uses. */
export interface SearchEngine {
  zenScore(d: Int32Array, o: EngineScoreOptions): Promise<{ mean: number; seconds: number }>;
  /** engine.run(proxy, descriptor, options): the zero-shot proxies of src/proxies/table.ts (./proxy-scorer). */
  run?(proxy: string, d: Int32Array, o: Record<string, unknown>): Promise<{ mean: number; seconds: number }>;
  latency?(d: Int32Array, o: Record<string, unknown>): Promise<{ meanMs: number }>;
  close(): void;
}

/**
 * Open the native engine. Loaded lazily so that `zennas search --help` and the toy-scorer tests
 * work without the addon; a missing addon is a clear E_NATIVE error.
 */
export function openEngine(backend: 'cpu' | 'cuda', threads?: number): SearchEngine {
  let mod: { Engine: new (o: { backend: 'cpu' | 'cuda'; threads?: number }) => SearchEngine };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('../engine/engine');
  } catch (e) {
    throw new ZennasError('E_NATIVE', `the native engine could not be loaded (${(e as Error).message.split('\n')[0]}); build it with 'npm run build:native'`);
  }
  return new mod.Engine({ backend, threads });
}

/** A Scorer backed by engine.zenScore (mean over `repeats`; engine-internal seconds reported). */
export function engineScorer(engine: SearchEngine, opts: EngineScoreOptions): Scorer<Structure> {
  return async (_s: Structure, descriptor: Int32Array) => {
    const r = await engine.zenScore(descriptor, opts);
    return { score: r.mean, seconds: r.seconds };
  };
}

/**
 * The local Evaluator of the search: engine.zenScore in this process (engineScorer wrapped by
 * scorerEvaluator). The engine stays its caller's: closing the evaluator does not close it.
 */
export function engineEvaluator(engine: SearchEngine, opts: EngineScoreOptions): Evaluator<Structure> {
  return scorerEvaluator(engineScorer(engine, opts));
}

/** Latency per mini-batch (ms) of the as-trained network via engine.latency (GPU, DESIGN §4). */
export function engineLatencySource(
  engine: SearchEngine,
  opts: { batchSize: number; iterations: number; resolution: number; numClasses: number; se: boolean; precision: 'fp16' | 'fp32'; backend: string },
): LatencySource<Structure> {
  if (typeof engine.latency !== 'function') {
    throw keyedError('E_BACKEND')`${opt('budgets.latencyMs')}: the '${opts.backend}' engine of this build cannot measure latency`;
  }
  return async (s: Structure) => {
    const d = encodeDescriptor(lowerAsTrained(s, { numClasses: opts.numClasses, se: opts.se }));
    const r = await engine.latency!(d, { batchSize: opts.batchSize, resolution: opts.resolution, precision: opts.precision, warmup: 3, iterations: opts.iterations });
    return r.meanMs;
  };
}
