import { keyedError, opt } from '../util/keyed-error';
import { getSpace, listSpaces, SearchSpace } from '../spaces';
import { Evaluator, scorerEvaluator } from './evaluator';
import { checkMember, checkSearchConfig, evolve, initialGenotype, SearchProgress } from './loop';
import { openRun, writeRunOutputs } from './run-output';
import { describeBudgets } from './budget';
import { searchConfigSchema } from './checkpoint';
import { bool, func, instance, nullable, num, object, optional, parse, str } from '../util/schema';
import { LatencyRepair, LatencySource, Scorer, SearchConfig, SearchResult } from './types';
import { checkScoring, configScorer } from './proxy-scorer';
import { checkScorerMatchesConfig, type SearchEngine } from './engine-scorer';
import type { LatencySeen, RunInfo } from './summary';

export * from './types';
export { SMALL_POPULATION, rhoAt, lowestIndex, evolve, freshState, checkSearchConfig, initialGenotype } from './loop';
export type { SearchProgress, RunRecorder, LoopOptions } from './loop';

/**
 * Everything a search needs besides its config: a scorer or evaluator, optional latency, files,
 * hooks. `G` is the genotype of the config's space (a Structure for Space I and II).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface SearchHooks<G = any> {
  /**
   * Scores candidates in this process (wrapped by `scorerEvaluator`). Give this, `evaluator`, or
   * neither: then `config.scoring.proxy` says what scores (./proxy-scorer's configScorer: 'zen'
   * and the table's proxies on `engine`; 'flops', 'params', 'random' counted without one).
   */
  scorer?: Scorer<G>;
  /** The engine of a search scored by `config.scoring.proxy` (not closed by the search). */
  engine?: SearchEngine;
  /** Scores candidates anywhere (e.g. a worker pool); takes precedence over `scorer`. Not closed by the search. */
  evaluator?: Evaluator<G>;
  /** Needed only when config.budgets.latencyMs is set. */
  latency?: LatencySource<G>;
  /** With a latency budget: repairs an over-budget child instead of rejecting it (src/lut's greedy MCKP step). */
  repair?: LatencyRepair<G>;
  /**
   * Runs after the loop and before the outputs are written: e.g. the final measurement of a LUT
   * search, which may replace `result.best` by the best candidate that meets the budget measured
   * and set `result.latencyCheck` (best.txt and summary.json then show it).
   */
  verify?: (result: SearchResult) => Promise<void>;
  /** Output directory (candidates.jsonl, checkpoint.json, …); none: in memory only. */
  outDir?: string;
  /** Continue the run in outDir from its checkpoint. */
  resume?: boolean;
  /** Start afresh in an outDir that holds a search, deleting that search's files. */
  overwrite?: boolean;
  /** Checkpoint at least every this many iterations (default: time-based only). */
  checkpointEveryIterations?: number;
  /** Checkpoint at least every this many seconds (default 10). */
  checkpointEverySeconds?: number;
  onProgress?: (p: SearchProgress) => void;
  /** Log sink for failed scorings and notes (also written to search.log with an outDir). */
  onLog?: (line: string) => void;
  /** Stops at the next batch boundary (a final checkpoint is written). */
  signal?: AbortSignal;
  /** How the run was made, for summary.json and the report (command line, threads, …); the rest is found there. */
  runInfo?: Partial<RunInfo>;
  /**
   * Test hook that simulates a kill: called after a batch's candidates were appended and before
   * its checkpoint; throwing from it leaves the files as a killed process would.
   */
  afterBatchWritten?: (iteration: number) => void;
}

/**
 * Validate a config; throws a KeyedError('E_OPTION') naming the offending option key
 * (`space`, `population`, `budgets.latencyMs`, …; the CLI renders them as its flags).
 */
export function validateConfig(c: SearchConfig, hooks: Pick<SearchHooks, 'latency'>): SearchSpace {
  const space = getSpace(c.space);
  checkSearchConfig(c, space, { latency: hooks.latency, seSpaces: listSpaces().filter((s) => s.supportsSe).map((s) => s.id) });
  checkScoring(c);
  return space;
}

/**
 * Zen-NAS evolutionary search (Algorithm 2; or ξ-GSNR's, config.algorithm) under budgets, in the registered space `config.space`:
 * validates, opens the run's files (fresh or resumed), runs the loop (./loop: deterministic for
 * (config, seed), whatever the evaluation order) and writes best.txt, summary.json and the report.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runSearch<G = any>(configIn: SearchConfig, hooksIn: SearchHooks<G>): Promise<SearchResult> {
  // Plain copies, each field read once: a getter that throws is an E_OPTION naming it, and none
  // can hand the loop a different value later (the loop reads the config throughout the run).
  const config = parse(searchConfigSchema, configIn, 'E_OPTION', { keyed: true });
  const hooks = parse(hooksSchema, hooksIn ?? {}, 'E_OPTION', { keyed: true }) as SearchHooks<G>;
  const space = validateConfig(config, hooks) as SearchSpace<G>;
  const fromConfig = !hooks.evaluator && !hooks.scorer && config.scoring.proxy !== undefined;
  if (hooks.scorer && !hooks.evaluator) checkScorerMatchesConfig(hooks.scorer, config);
  const evaluator = hooks.evaluator ?? (hooks.scorer ? scorerEvaluator(hooks.scorer) : fromConfig ? scorerEvaluator(configScorer<G>(config, hooks.engine, space)) : undefined);
  if (!evaluator) throw keyedError('E_OPTION')`a search needs ${opt('scorer')} or ${opt('evaluator')} (or a ${opt('scoring.proxy')} and an ${opt('engine')})`;
  const initial = initialGenotype(space, config);
  // The initial structure must fit the latency budget too, checked before any file is written (as
  // the static budgets are): otherwise every child of an over-budget F0 is likely over it, and the
  // run would end with nothing. With a repair hook (a LUT search) an infeasible F0 is repaired instead.
  let initialLatencyMs: number | undefined;
  if (config.budgets.latencyMs !== undefined && hooks.latency && !hooks.resume && !hooks.repair) {
    const ms = await hooks.latency(initial, space.encode(initial));
    if (typeof ms === 'number' && Number.isFinite(ms)) initialLatencyMs = ms;
    if (!(typeof ms === 'number' && ms >= 0 && ms <= config.budgets.latencyMs)) {
      throw keyedError('E_OPTION')`the initial structure breaks the latency budget: it takes ${typeof ms === 'number' ? `${Number(ms.toPrecision(3))} ms` : String(ms)} against ${opt('budgets.latencyMs')} ${config.budgets.latencyMs} ms (${describeBudgets(config.budgets)}); give a smaller ${opt('initial')} or a larger budget`;
    }
  }
  const { store, state } = openRun(config, hooks, { checkMember: (m) => checkMember(space, config, m) });
  // The store (and its directory lock) stays open until the outputs are written.
  try {
    // Every latency measured (rejected children too): an empty run's report says how close they came.
    const seen: LatencySeen = { count: 0, minMs: Infinity, maxMs: -Infinity };
    const measure = hooks.latency;
    const latency: LatencySource<G> | undefined = measure && (async (g, key) => {
      const ms = await measure(g, key);
      if (typeof ms === 'number' && Number.isFinite(ms)) { seen.count++; seen.minMs = Math.min(seen.minMs, ms); seen.maxMs = Math.max(seen.maxMs, ms); }
      return ms;
    });
    const result = await evolve(space, config, initial, {
      evaluator, latency, repair: hooks.repair, state, recorder: store,
      checkpointEveryIterations: hooks.checkpointEveryIterations, checkpointEverySeconds: hooks.checkpointEverySeconds,
      onProgress: hooks.onProgress, onLog: hooks.onLog, signal: hooks.signal, afterBatchWritten: hooks.afterBatchWritten,
    });
    if (hooks.verify && result.complete) await hooks.verify(result);
    if (store) result.files = writeRunOutputs(store, result, { run: hooks.runInfo, latencySeen: seen, ...(initialLatencyMs !== undefined ? { initialLatencyMs } : {}) });
    return result;
  } finally {
    store?.close();
  }
}

const positive = num(Number.MIN_VALUE);
/** SearchHooks' shape (functions and objects are kept, not copied). */
const hooksSchema = object({
  scorer: optional(func),
  evaluator: optional(instance('an Evaluator (an object with an evaluate method)', (o) => typeof (o as { evaluate?: unknown }).evaluate === 'function')),
  latency: optional(func),
  repair: optional(func),
  verify: optional(func),
  engine: optional(instance('an engine (an object with zenScore and close methods)', (o) => typeof (o as { zenScore?: unknown }).zenScore === 'function')),
  outDir: optional(str(4096)),
  resume: optional(bool),
  overwrite: optional(bool),
  checkpointEveryIterations: optional(positive),
  checkpointEverySeconds: optional(positive),
  onProgress: optional(func),
  onLog: optional(func),
  signal: optional(instance('an AbortSignal', (o) => typeof (o as { aborted?: unknown }).aborted === 'boolean')),
  afterBatchWritten: optional(func),
  runInfo: optional(object({
    commandLine: optional(str(100_000)), version: optional(str(200)), commit: optional(nullable(str(200))), date: optional(str(100)),
    machine: optional(object({ os: str(1000), cpu: str(1000), cores: num(0) })), backend: optional(str(100)), threads: optional(nullable(num(0))),
  })),
});
