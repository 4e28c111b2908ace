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
  /** CPU conv algorithm ('auto' when absent, the engine's default); the config's scoring.conv. */
  conv?: 'auto' | 'direct';
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

/** Where a scorer records the Zen-score options it scores with (runSearch checks them against the config). */
export const SCORED_WITH: unique symbol = Symbol('zennas.scoredWith');

/** A Scorer backed by engine.zenScore (mean over `repeats`; engine-internal seconds reported). */
export function engineScorer(engine: SearchEngine, opts: EngineScoreOptions): Scorer<Structure> {
  const scorer = async (_s: Structure, descriptor: Int32Array) => {
    const r = await engine.zenScore(descriptor, opts);
    return { score: r.mean, seconds: r.seconds };
  };
  return Object.assign(scorer, { [SCORED_WITH]: { ...opts } });
}

/**
 * E_OPTION when a scorer built with its own Zen-score options (engineScorer) would score candidates
 * differently from what the config says — summary.json and the checkpoint record the config, so
 * they would describe a search that never ran. Scorers without recorded options are not checked.
 */
export function checkScorerMatchesConfig(scorer: unknown, config: { resolution: number; seed: number; scoring: Record<string, unknown> }): void {
  const used = (scorer as { [SCORED_WITH]?: EngineScoreOptions } | undefined)?.[SCORED_WITH];
  if (!used) return;
  const s = config.scoring;
  if (s.proxy !== undefined && s.proxy !== 'zen') {
    throw keyedError('E_OPTION')`${opt('scorer')} is a Zen-score scorer but ${opt('scoring.proxy')} is '${String(s.proxy)}': omit ${opt('scorer')} (runSearch builds it from the config) or set scoring.proxy 'zen'`;
  }
  const want: Record<string, unknown> = {
    resolution: config.resolution, seed: config.seed, batchSize: s.batchSize, repeats: s.repeats ?? 1,
    mode: s.mode ?? 'paper', alpha: s.alpha ?? 0.01, bnEps: s.bnEps ?? 1e-5, conv: s.conv ?? 'auto',
  };
  for (const [k, v] of Object.entries(want)) {
    const got = (used as unknown as Record<string, unknown>)[k] ?? (k === 'conv' ? 'auto' : undefined);
    if (v !== undefined && got !== v) {
      const where = k === 'resolution' || k === 'seed' ? k : `scoring.${k}`;
      throw keyedError('E_OPTION')`${opt('scorer')} scores with ${k} ${JSON.stringify(got)} but the config says ${opt(where)} ${JSON.stringify(v)}: the run's summary and checkpoint would describe a search that never ran; omit ${opt('scorer')} (runSearch builds it from the config and ${opt('engine')}) or make them agree`;
    }
  }
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
