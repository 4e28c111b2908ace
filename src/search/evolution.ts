import { Structure } from '../grammar/ast';
import { parseStructure } from '../grammar/parse';
import { formatStructure } from '../grammar/format';
import { countModel } from '../model/count';
import { lowerForScoring } from '../model/lower';
import { encodeDescriptor } from '../model/descriptor';
import { ZennasError, isZennasError } from '../errors';
import { getSpace, SearchSpace } from '../spaces';
import { staticBudgetViolation, describeBudgets } from './budget';
import { Sfc32 } from './prng';
import { RunStore, RUN_FILES } from './store';
import { writeFileAtomic } from '../util/write-atomic';
import { buildSummary } from './summary';
import { writeReport } from '../report';
import * as fs from 'fs';
import * as path from 'path';
import {
  CandidateRecord, LatencySource, Member, Scorer, SearchConfig, SearchCounts, SearchResult, SearchState,
} from './types';

export * from './types';

/** Algorithm 2: while |P| is below this, children come from the initial structure (1 change). */
export const SMALL_POPULATION = 10;

/** Progress snapshot handed to `onProgress` after every batch. */
export interface SearchProgress {
  iteration: number;
  iterations: number;
  bestScore: number | null;
  populationSize: number;
  scored: number;
  rejected: number;
  /** Scored candidates/s in this process. */
  candidatesPerSecond: number;
}

/** Everything a search needs besides its config: scorer, optional latency, files, hooks. */
export interface SearchHooks {
  scorer: Scorer;
  /** Needed only when config.budgets.latencyMs is set. */
  latency?: LatencySource;
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
  /**
   * Test hook that simulates a kill: called after a batch's candidates were appended and before
   * its checkpoint; throwing from it leaves the files as a killed process would.
   */
  afterBatchWritten?: (iteration: number) => void;
}

/** ρ at iteration t of T (Algorithm 2 lines 3–7): 1 → 0.1 linearly over the first T/2, then 0.1. */
export function rhoAt(t: number, T: number, rho: SearchConfig['rho']): number {
  if (rho !== 'paper') return rho;
  if (t < T / 2) {
    const lambda = (T - 2 * t) / T;
    return lambda + 0.1 * (1 - lambda);
  }
  return 0.1;
}

/** Index of the member to drop: the lowest score, the earliest on ties (as the official list.index(min)). */
export function lowestIndex(pop: readonly Member[]): number {
  let k = 0;
  for (let i = 1; i < pop.length; i++) if (pop[i]!.score < pop[k]!.score) k = i;
  return k;
}

/** Validate a config; throws ZennasError('E_OPTION') naming the offending setting. */
export function validateConfig(c: SearchConfig, hooks: Pick<SearchHooks, 'latency'>): SearchSpace {
  const space = getSpace(c.space);
  const int = (v: number, name: string, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new ZennasError('E_OPTION', `${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  int(c.population, '--population', 1, 1_000_000);
  int(c.iterations, '--iterations', 1, 1e9);
  int(c.inFlight, '--in-flight', 1, 256);
  int(c.resolution, '--resolution', 8, 4096);
  int(c.numClasses, '--num-classes', 0, 1_000_000);
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) throw new ZennasError('E_OPTION', `--seed must be a non-negative integer, got ${c.seed}`);
  if (c.rho !== 'paper' && !(typeof c.rho === 'number' && c.rho >= 0 && c.rho <= 1)) throw new ZennasError('E_OPTION', `--rho must be 'paper' or a number in [0,1], got ${c.rho}`);
  if (c.se && !space.supportsSe) throw new ZennasError('E_OPTION', `--se: ${space.title} has no SE option (use --space II)`);
  if (c.budgets.latencyMs !== undefined && !hooks.latency) {
    throw new ZennasError('E_OPTION', '--budget-latency needs a latency source (--latency-backend cuda on a machine with an NVIDIA GPU); none is available');
  }
  return space;
}

interface Pending {
  iteration: number;
  parent: number;
  structure: Structure;
  text: string;
  params: number;
  flops: number;
  layers: number;
  latencyMs?: number;
  descriptor: Int32Array;
}

function freshState(seed: number): SearchState {
  return {
    iteration: 0,
    prng: new Sfc32(seed).getState(),
    population: [],
    best: null,
    counts: { proposed: 0, scored: 0, failed: 0, invalid: 0, rejected: { params: 0, flops: 0, layers: 0, latency: 0 } },
    timing: { wallSeconds: 0, tsSeconds: 0, engineSeconds: 0, latencySeconds: 0 },
  };
}

function totalRejected(c: SearchCounts): number {
  return c.rejected.params + c.rejected.flops + c.rejected.layers + c.rejected.latency;
}

const now = () => performance.now() / 1000;

/**
 * Zen-NAS evolutionary search (Algorithm 2) under budgets.
 *
 * Determinism: children are proposed in batches of `inFlight` budget-passing candidates, all drawn
 * with the seeded PRNG from the population as it stood when the batch began; they are scored
 * concurrently and applied in iteration order. So the result depends on (config, seed), never on
 * which score finishes first — and a resumed run (PRNG state + population restored, JSONL cut back
 * to the checkpoint) continues exactly where an uninterrupted run would be.
 */
export async function runSearch(config: SearchConfig, hooks: SearchHooks): Promise<SearchResult> {
  const space = validateConfig(config, hooks);
  const initial = parseStructure(config.initial);
  space.check(initial);
  const countOpts = { resolution: config.resolution, numClasses: config.numClasses, se: config.se };
  const initialCost = countModel(initial, countOpts);
  const initialViolation = staticBudgetViolation(initialCost, config.budgets);
  if (initialViolation) {
    throw new ZennasError('E_OPTION', `the initial structure breaks the ${initialViolation} budget (params ${initialCost.params}, FLOPs ${initialCost.flops}, layers ${initialCost.layers}; ${describeBudgets(config.budgets)}); give a smaller --init or a larger budget`);
  }

  let store: RunStore | undefined;
  let state: SearchState;
  if (hooks.outDir && hooks.resume) {
    ({ store, state } = RunStore.resume(hooks.outDir, config));
  } else {
    if (hooks.resume) throw new ZennasError('E_OPTION', '--resume needs --out DIR (the directory of the run to continue)');
    store = hooks.outDir ? RunStore.create(hooks.outDir, { overwrite: hooks.overwrite }) : undefined;
    state = freshState(config.seed);
  }

  const rng = new Sfc32(state.prng);
  // Parsed structures of population members; dropped members take theirs with them (no growth over T).
  const parsed = new WeakMap<Member, Structure>();
  const structureOf = (m: Member): Structure => {
    let s = parsed.get(m);
    if (!s) {
      s = parseStructure(m.structure);
      parsed.set(m, s);
    }
    return s;
  };
  const log = (line: string) => {
    hooks.onLog?.(line);
    store?.log(line);
  };

  const startWall = now();
  const wallBefore = state.timing.wallSeconds;
  let scoredHere = 0;
  let lastCheckpointIteration = state.iteration;
  let lastCheckpointTime = startWall;
  const checkpoint = () => {
    state.prng = rng.getState();
    state.timing.wallSeconds = wallBefore + (now() - startWall);
    store?.writeCheckpoint(config, state);
    lastCheckpointIteration = state.iteration;
    lastCheckpointTime = now();
  };
  if (store && !hooks.resume) checkpoint();

  const T = config.iterations;
  try {
    while (state.iteration < T) {
      if (hooks.signal?.aborted) break;
      // ---- propose a batch: each proposal is one iteration; rejected ones count too.
      let ts0 = now();
      const batch: Pending[] = [];
      const popSnapshot = state.population.slice();
      while (batch.length < config.inFlight && state.iteration < T) {
        const t = ++state.iteration;
        state.counts.proposed++;
        const fromInitial = popSnapshot.length < SMALL_POPULATION;
        const parentIdx = fromInitial ? -1 : rng.int(popSnapshot.length);
        const parentMember = parentIdx < 0 ? null : popSnapshot[parentIdx]!;
        const parent = parentMember ? structureOf(parentMember) : initial;
        const child = space.mutate(parent, { rng, changes: fromInitial ? 1 : 2, rho: rhoAt(t, T, config.rho) });
        const text = formatStructure(child);
        let checked: Structure;
        let cost: ReturnType<typeof countModel>;
        try {
          checked = parseStructure(text);
          cost = countModel(checked, countOpts); // throws on absurd sizes (> 2^53 FLOPs) when no budget bounds them
        } catch (e) {
          state.counts.invalid++;
          log(`iteration ${t}: the space produced an invalid child (${(e as Error).message}): ${text}`);
          continue;
        }
        const violation = staticBudgetViolation(cost, config.budgets);
        if (violation) {
          state.counts.rejected[violation]++;
          continue;
        }
        let latencyMs: number | undefined;
        if (config.budgets.latencyMs !== undefined) {
          state.timing.tsSeconds += now() - ts0;
          const l0 = now();
          latencyMs = await hooks.latency!(checked, text);
          state.timing.latencySeconds += now() - l0;
          ts0 = now();
          if (!(latencyMs <= config.budgets.latencyMs)) {
            state.counts.rejected.latency++;
            continue;
          }
        }
        const descriptor = encodeDescriptor(lowerForScoring(checked, { se: config.se }));
        batch.push({
          iteration: t, parent: parentMember ? parentMember.iteration : 0, structure: checked, text,
          params: cost.params, flops: cost.flops, layers: cost.layers, latencyMs, descriptor,
        });
      }
      state.timing.tsSeconds += now() - ts0;

      // ---- score the batch concurrently; settle order does not matter.
      const results = await Promise.all(
        batch.map(async (p) => {
          const t0 = now();
          try {
            const r = await hooks.scorer(p.structure, p.descriptor);
            const score = typeof r === 'number' ? r : r.score;
            const seconds = typeof r === 'number' ? now() - t0 : (r.seconds ?? now() - t0);
            if (typeof score !== 'number' || !Number.isFinite(score)) return { score: -Infinity, seconds, error: `non-finite score ${score}` };
            return { score, seconds, error: undefined };
          } catch (e) {
            if (isZennasError(e) && (e.code === 'E_NATIVE' || e.code === 'E_BACKEND' || e.code === 'E_INTERNAL')) throw e;
            return { score: -Infinity, seconds: now() - t0, error: (e as Error)?.message ?? String(e) };
          }
        }),
      );

      // ---- apply in iteration order (Algorithm 2 lines 13–16).
      const ts1 = now();
      const records: CandidateRecord[] = [];
      batch.forEach((p, k) => {
        const r = results[k]!;
        const member: Member = { iteration: p.iteration, structure: p.text, score: r.score, params: p.params, flops: p.flops, layers: p.layers };
        if (p.latencyMs !== undefined) member.latencyMs = p.latencyMs;
        parsed.set(member, p.structure);
        const rec: CandidateRecord = {
          iteration: p.iteration, structure: p.text, score: Number.isFinite(r.score) ? r.score : null,
          params: p.params, flops: p.flops, layers: p.layers, seconds: r.seconds, parent: p.parent,
        };
        if (p.latencyMs !== undefined) rec.latencyMs = p.latencyMs;
        if (r.error !== undefined) {
          rec.error = r.error;
          state.counts.failed++;
          log(`iteration ${p.iteration}: scoring failed, counted as -inf: ${r.error} :: ${p.text}`);
        }
        records.push(rec);
        state.counts.scored++;
        scoredHere++;
        state.timing.engineSeconds += r.seconds;
        state.population.push(member);
        while (state.population.length > config.population) state.population.splice(lowestIndex(state.population), 1);
        if (Number.isFinite(member.score) && (!state.best || member.score > state.best.score)) state.best = member;
      });
      store?.appendCandidates(records);
      state.timing.tsSeconds += now() - ts1;
      hooks.afterBatchWritten?.(state.iteration);

      const due =
        (hooks.checkpointEveryIterations !== undefined && state.iteration - lastCheckpointIteration >= hooks.checkpointEveryIterations) ||
        now() - lastCheckpointTime >= (hooks.checkpointEverySeconds ?? 10);
      if (due) checkpoint();
      hooks.onProgress?.({
        iteration: state.iteration, iterations: T, bestScore: state.best?.score ?? null,
        populationSize: state.population.length, scored: state.counts.scored, rejected: totalRejected(state.counts),
        candidatesPerSecond: scoredHere / Math.max(1e-9, now() - startWall),
      });
    }
    checkpoint();
  } finally {
    store?.close();
  }
  const wallHere = now() - startWall;
  const result: SearchResult = {
    config,
    state,
    complete: state.iteration >= T,
    best: state.best,
    candidatesPerSecond: scoredHere / Math.max(1e-9, wallHere),
    tsShare: state.timing.wallSeconds > 0 ? state.timing.tsSeconds / state.timing.wallSeconds : 0,
  };
  if (store) result.files = writeRunOutputs(store, result);
  return result;
}

/** best.txt, summary.json, report.html and report.md of a run (after its last checkpoint). */
function writeRunOutputs(store: RunStore, result: SearchResult): Record<string, string> {
  const files: Record<string, string> = {};
  for (const k of Object.keys(RUN_FILES) as Array<keyof typeof RUN_FILES>) files[k] = path.resolve(store.file(k));
  if (result.best) writeFileAtomic(files.best!, result.best.structure + '\n');
  else delete files.best;
  if (!fs.existsSync(files.log!)) delete files.log;
  const summary = buildSummary(result, files);
  writeFileAtomic(files.summary!, JSON.stringify(summary, null, 2) + '\n');
  writeReport(store.dir, { summary, candidates: store.readCandidates() });
  return files;
}
