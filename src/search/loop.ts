import { keyedError, opt } from '../util/keyed-error';
import { Sfc32 } from '../rng/sfc32';
import type { SearchSpace, SpaceOptions } from '../spaces/types';
import { staticBudgetViolation, describeBudgets } from './budget';
import { Candidate, Evaluation, Evaluator } from './evaluator';
import {
  CandidateRecord, LatencyRepair, LatencySource, Member, SEARCH_ALGORITHMS, SearchConfig, SearchCounts, SearchResult, SearchState,
} from './types';

/**
 * The Zen-NAS evolutionary loop (Algorithm 2), generic over the genotype: it sees genotypes only
 * through a SearchSpace (encode/decode/check/count/lower/mutate), scores them through an
 * Evaluator and records through a RunRecorder. It imports no grammar, model, file or report code.
 */

/** Algorithm 2: while |P| is below this, children come from the initial genotype (1 change). */
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

/** Where the loop records a run (src/search/store.ts's RunStore in practice). */
export interface RunRecorder {
  /** Append the candidate records of one batch, in iteration order. */
  appendCandidates(records: CandidateRecord[]): void;
  /** Persist the full resumable state (covers every record appended so far). */
  writeCheckpoint(config: SearchConfig, state: SearchState): void;
  /** A note: failed scorings, invalid children. */
  log(line: string): void;
}

/** What the loop needs besides space, config and initial genotype. */
export interface LoopOptions<G> {
  evaluator: Evaluator<G>;
  /** Needed only when config.budgets.latencyMs is set. */
  latency?: LatencySource<G>;
  /**
   * With a latency budget: makes a child over it fit instead of rejecting it (the LUT's greedy
   * MCKP repair, src/lut); its result is counted and latency-checked again like any child.
   */
  repair?: LatencyRepair<G>;
  /** State to continue from (a resumed run); absent: a fresh run from config.seed. */
  state?: SearchState;
  /** Records candidates and checkpoints; a fresh run is checkpointed once before the first batch. */
  recorder?: RunRecorder;
  /** Checkpoint at least every this many iterations (default: time-based only). */
  checkpointEveryIterations?: number;
  /** Checkpoint at least every this many seconds (default 10). */
  checkpointEverySeconds?: number;
  onProgress?: (p: SearchProgress) => void;
  /** Log sink (the recorder gets the same lines). */
  onLog?: (line: string) => void;
  /** Stops at the next batch boundary (a final checkpoint is written). */
  signal?: AbortSignal;
  /** Called after a batch's candidates were recorded and before its checkpoint (kill-simulation hook). */
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

/**
 * Validate a config against its space; throws a KeyedError('E_OPTION') naming the option key
 * (`population`, `inFlight`, `budgets.latencyMs`, …). `seSpaces`: ids of spaces to suggest
 * when `se` is set on a space without SE.
 */
export function checkSearchConfig(
  c: SearchConfig,
  space: Pick<SearchSpace<unknown>, 'title' | 'supportsSe' | 'random'>,
  opts: { latency?: unknown; seSpaces?: readonly string[] } = {},
): void {
  const int = (v: number, name: string, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw keyedError('E_OPTION')`${opt(name)} must be an integer in ${min}..${max}, got ${v}`;
  };
  int(c.population, 'population', 1, 1_000_000);
  int(c.iterations, 'iterations', 1, 1e9);
  int(c.inFlight, 'inFlight', 1, 256);
  int(c.resolution, 'resolution', 8, 4096);
  int(c.numClasses, 'numClasses', 0, 1_000_000);
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) throw keyedError('E_OPTION')`${opt('seed')} must be a non-negative integer, got ${c.seed}`;
  if (c.rho !== 'paper' && !(typeof c.rho === 'number' && c.rho >= 0 && c.rho <= 1)) throw keyedError('E_OPTION')`${opt('rho')} must be 'paper' or a number in [0,1], got ${c.rho}`;
  if (c.se && !space.supportsSe) {
    const others = opts.seSpaces ?? [];
    throw others.length
      ? keyedError('E_OPTION')`${opt('se')}: ${space.title} has no SE option (use ${opt('space')} ${others.join(' or ')})`
      : keyedError('E_OPTION')`${opt('se')}: ${space.title} has no SE option`;
  }
  if (c.algorithm !== undefined && !SEARCH_ALGORITHMS.includes(c.algorithm)) {
    throw keyedError('E_OPTION')`${opt('algorithm')} must be ${SEARCH_ALGORITHMS.map((a) => `'${a}'`).join(' or ')}, got ${JSON.stringify(c.algorithm)}`;
  }
  if (c.algorithm === 'xi-gsnr-evolution' && typeof space.random !== 'function') {
    throw keyedError('E_OPTION')`${opt('algorithm')} 'xi-gsnr-evolution' starts from random genotypes, and ${space.title} has no random() generator`;
  }
  if (c.scoring.direction !== undefined && c.scoring.direction !== 'max' && c.scoring.direction !== 'min') {
    throw keyedError('E_OPTION')`${opt('scoring.direction')} must be 'max' or 'min', got ${JSON.stringify(c.scoring.direction)}`;
  }
  if (c.budgets.latencyMs !== undefined && !opts.latency) {
    throw keyedError('E_OPTION')`${opt('budgets.latencyMs')} needs a latency source, and ${opt('latency')} is not set`;
  }
}

/** The space's options of a config (what counting and lowering depend on). */
export function spaceOptions(c: SearchConfig): SpaceOptions {
  return { resolution: c.resolution, numClasses: c.numClasses, se: c.se };
}

/** Decode and check config.initial; throws a KeyedError naming `initial` when it breaks a budget. */
export function initialGenotype<G>(space: SearchSpace<G>, config: SearchConfig): G {
  const initial = space.decode(config.initial);
  space.check(initial);
  const initialCost = space.count(initial, spaceOptions(config));
  const initialViolation = staticBudgetViolation(initialCost, config.budgets);
  if (initialViolation) {
    throw keyedError('E_OPTION')`the initial structure breaks the ${initialViolation} budget (params ${initialCost.params}, FLOPs ${initialCost.flops}, layers ${initialCost.layers}; ${describeBudgets(config.budgets)}); give a smaller ${opt('initial')} or a larger budget`;
  }
  return initial;
}

/**
 * Throws when `m` (a stored population member, e.g. from a checkpoint) is not one this search
 * could hold: its key does not decode to a valid genotype of the space (or is not the canonical
 * key), its stored counts differ from the space's count, or it breaks a budget.
 */
export function checkMember<G>(space: SearchSpace<G>, config: SearchConfig, m: Member): void {
  const g = space.decode(m.structure);
  space.check(g);
  if (space.encode(g) !== m.structure) throw new Error('its structure is not written in canonical form');
  const cost = space.count(g, spaceOptions(config));
  for (const k of ['params', 'flops', 'layers'] as const) {
    if (cost[k] !== m[k]) throw new Error(`it records ${k} ${m[k]}, but its structure has ${cost[k]}`);
  }
  const v = staticBudgetViolation(cost, config.budgets);
  if (v) throw new Error(`it breaks the ${v} budget (${describeBudgets(config.budgets)})`);
  const L = config.budgets.latencyMs;
  if (L === undefined ? m.latencyMs !== undefined : !(m.latencyMs !== undefined && m.latencyMs <= L)) {
    throw new Error(L === undefined ? 'it has a latency but the search has no latency budget' : `its latency ${m.latencyMs ?? 'is missing and'} does not fit the latency budget ${L} ms`);
  }
}

interface Pending<G> {
  iteration: number;
  parent: number;
  genotype: G;
  key: string;
  params: number;
  flops: number;
  layers: number;
  latencyMs?: number;
  descriptor: Int32Array;
}

/** The state of a run that has not started: iteration 0, the seeded PRNG, nothing scored. */
export function freshState(seed: number): SearchState {
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

/** An evaluation as the loop applies it: a non-finite score is a failure even without an error. */
function settled(r: Evaluation): Evaluation {
  // An evaluator (a remote pool) may hand back anything: keep only what a checkpoint can store.
  const seconds = typeof r?.seconds === 'number' && Number.isFinite(r.seconds) && r.seconds >= 0 ? r.seconds : 0;
  if (r?.error !== undefined) return { score: -Infinity, seconds, error: String(r.error) };
  if (typeof r?.score === 'number' && Number.isFinite(r.score)) return { score: r.score, seconds };
  return { score: -Infinity, seconds, error: `non-finite score ${r?.score}` };
}

const now = () => performance.now() / 1000;

/**
 * Zen-NAS evolutionary search (Algorithm 2) under budgets, on any SearchSpace — or, with
 * `config.algorithm` 'xi-gsnr-evolution', ξ-GSNR's evolution (supplementary Algorithm 2): while
 * the population holds fewer than N members every proposal is `space.random` (budget-fitting,
 * on the skeleton of the initial genotype) and joins it once scored; after that a parent is drawn
 * uniformly from the population, mutated (2 block changes, ρ as configured) and its child
 * replaces the lowest member only if it scores strictly higher (else it is recorded and
 * dropped). Every proposal is an iteration in both loops, random draws and rejected ones included.
 * `config` must be valid (checkSearchConfig) and `initial` its decoded initial genotype (initialGenotype).
 *
 * Scores: the evaluator's value, negated when `config.scoring.direction` is 'min' (the loop
 * always keeps the highest score); records of a named proxy other than 'zen' carry `proxy`, and of
 * a 'min' proxy also `value` (the evaluator's own number).
 *
 * Determinism: children are proposed in batches of `inFlight` budget-passing candidates, all drawn
 * with the seeded PRNG from the population as it stood when the batch began; they are evaluated
 * concurrently and applied in iteration order. So the result depends on (config, seed), never on
 * which evaluation finishes first — and a resumed run (PRNG state + population restored, records
 * cut back to the checkpoint) continues exactly where an uninterrupted run would be.
 */
export async function evolve<G>(space: SearchSpace<G>, config: SearchConfig, initial: G, opts: LoopOptions<G>): Promise<SearchResult> {
  const countOpts = spaceOptions(config);
  const recorder = opts.recorder;
  const resumed = opts.state !== undefined;
  const state = opts.state ?? freshState(config.seed);
  const rng = new Sfc32(state.prng);
  // Decoded genotypes of population members; dropped members take theirs with them (no growth over T).
  const decoded = new WeakMap<Member, G>();
  const genotypeOf = (m: Member): G => {
    if (decoded.has(m)) return decoded.get(m)!;
    const g = space.decode(m.structure);
    decoded.set(m, g);
    return g;
  };
  const log = (line: string) => {
    opts.onLog?.(line);
    recorder?.log(line);
  };

  const startWall = now();
  const wallBefore = state.timing.wallSeconds;
  let scoredHere = 0;
  let lastCheckpointIteration = state.iteration;
  let lastCheckpointTime = startWall;
  const checkpoint = () => {
    state.prng = rng.getState();
    state.timing.wallSeconds = wallBefore + (now() - startWall);
    recorder?.writeCheckpoint(config, state);
    lastCheckpointIteration = state.iteration;
    lastCheckpointTime = now();
  };
  if (recorder && !resumed) checkpoint();

  const T = config.iterations;
  const xiGsnr = config.algorithm === 'xi-gsnr-evolution';
  const negate = config.scoring.direction === 'min';
  const proxyName = typeof config.scoring.proxy === 'string' && config.scoring.proxy !== 'zen' ? config.scoring.proxy : undefined;
  const limits = { params: config.budgets.params, flops: config.budgets.flops, layers: config.budgets.layers };
  for (const k of ['params', 'flops', 'layers'] as const) if (limits[k] === undefined) delete limits[k];
  while (state.iteration < T) {
    if (opts.signal?.aborted) break;
    // ---- propose a batch: each proposal is one iteration; rejected ones count too.
    let ts0 = now();
    const batch: Pending<G>[] = [];
    const popSnapshot = state.population.slice();
    // xi-gsnr-evolution: random draws until N members; a batch never mixes draws and mutations.
    const toDraw = xiGsnr ? config.population - popSnapshot.length : 0;
    const batchSize = toDraw > 0 ? Math.min(config.inFlight, toDraw) : config.inFlight;
    while (batch.length < batchSize && state.iteration < T) {
      const t = ++state.iteration;
      state.counts.proposed++;
      let child: G;
      let parentMember: Member | null = null;
      if (toDraw > 0) {
        child = space.random!(rng, { options: countOpts, template: initial, limits });
      } else {
        const fromInitial = !xiGsnr && popSnapshot.length < SMALL_POPULATION;
        parentMember = fromInitial ? null : popSnapshot[rng.int(popSnapshot.length)]!;
        const parent = parentMember ? genotypeOf(parentMember) : initial;
        child = space.mutate(parent, { rng, changes: fromInitial ? 1 : 2, rho: rhoAt(t, T, config.rho) });
      }
      let key = space.encode(child);
      let checked: G;
      let cost: ReturnType<typeof space.count>;
      try {
        checked = space.decode(key);
        cost = space.count(checked, countOpts); // may throw on absurd sizes (> 2^53 FLOPs) when no budget bounds them
        for (const k of ['params', 'flops', 'layers'] as const) {
          if (!(typeof cost[k] === 'number' && Number.isFinite(cost[k]) && cost[k] >= 0)) throw new Error(`its ${k} count is ${cost[k]}, not a finite number ≥ 0`);
        }
      } catch (e) {
        state.counts.invalid++;
        log(`iteration ${t}: the space produced an invalid child (${(e as Error).message}): ${key}`);
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
        latencyMs = await opts.latency!(checked, key);
        state.timing.latencySeconds += now() - l0;
        ts0 = now();
        if (typeof latencyMs === 'number' && latencyMs > config.budgets.latencyMs && opts.repair) {
          // Repair instead of discarding: the repaired child is decoded, counted and estimated again.
          const fixed = opts.repair(checked, config.budgets.latencyMs);
          if (fixed !== null) {
            try {
              const k2 = space.encode(fixed);
              const g2 = space.decode(k2);
              const c2 = space.count(g2, countOpts);
              const v2 = staticBudgetViolation(c2, config.budgets);
              if (v2) { state.counts.rejected[v2]++; continue; }
              const l2 = await opts.latency!(g2, k2);
              if (typeof l2 === 'number' && l2 >= 0 && l2 <= config.budgets.latencyMs) {
                log(`iteration ${t}: repaired to the latency budget (${latencyMs} → ${l2} ms): ${k2}`);
                key = k2; checked = g2; cost = c2; latencyMs = l2;
              }
            } catch (e) {
              log(`iteration ${t}: the repair produced an invalid child (${(e as Error).message}); counted as over the budget: ${key}`);
            }
          }
        }
        if (!(typeof latencyMs === 'number' && latencyMs >= 0 && latencyMs <= config.budgets.latencyMs)) {
          if (!(typeof latencyMs === 'number' && latencyMs >= 0)) log(`iteration ${t}: the latency source returned ${String(latencyMs)}, not a latency; counted as over the budget: ${key}`);
          state.counts.rejected.latency++;
          continue;
        }
      }
      const descriptor = space.lower(checked, countOpts);
      batch.push({
        iteration: t, parent: parentMember ? parentMember.iteration : 0, genotype: checked, key,
        params: cost.params, flops: cost.flops, layers: cost.layers, latencyMs, descriptor,
      });
    }
    state.timing.tsSeconds += now() - ts0;

    // ---- evaluate the batch concurrently; settle order does not matter.
    const results = await Promise.all(
      batch.map(async (p) => {
        const cost = p.latencyMs !== undefined
          ? { params: p.params, flops: p.flops, layers: p.layers, latencyMs: p.latencyMs }
          : { params: p.params, flops: p.flops, layers: p.layers };
        const c: Candidate<G> = { iteration: p.iteration, key: p.key, genotype: p.genotype, descriptor: p.descriptor, cost };
        return settled(await opts.evaluator.evaluate(c));
      }),
    );

    // ---- apply in iteration order (Algorithm 2 lines 13–16).
    const ts1 = now();
    const records: CandidateRecord[] = [];
    batch.forEach((p, k) => {
      const r = results[k]!;
      const score = r.error !== undefined ? -Infinity : negate ? -r.score : r.score;
      const member: Member = { iteration: p.iteration, structure: p.key, score, params: p.params, flops: p.flops, layers: p.layers };
      if (p.latencyMs !== undefined) member.latencyMs = p.latencyMs;
      decoded.set(member, p.genotype);
      const rec: CandidateRecord = {
        iteration: p.iteration, structure: p.key, score: Number.isFinite(score) ? score : null,
        params: p.params, flops: p.flops, layers: p.layers, seconds: r.seconds, parent: p.parent,
      };
      if (p.latencyMs !== undefined) rec.latencyMs = p.latencyMs;
      if (r.error !== undefined) {
        rec.error = r.error;
        state.counts.failed++;
        log(`iteration ${p.iteration}: scoring failed, counted as -inf: ${r.error} :: ${p.key}`);
      }
      if (proxyName !== undefined) rec.proxy = proxyName;
      if (negate) rec.value = Number.isFinite(score) ? -score : null;
      records.push(rec);
      state.counts.scored++;
      scoredHere++;
      state.timing.engineSeconds += r.seconds;
      let joined = true;
      if (xiGsnr && state.population.length >= config.population) {
        // ξ-GSNR Algorithm 2: replace the lowest member only when the child beats it.
        const low = lowestIndex(state.population);
        joined = member.score > state.population[low]!.score;
        if (joined) {
          state.population.splice(low, 1);
          state.population.push(member);
        }
      } else {
        state.population.push(member);
        while (state.population.length > config.population) state.population.splice(lowestIndex(state.population), 1);
      }
      if (joined && Number.isFinite(member.score) && (!state.best || member.score > state.best.score)) state.best = member;
    });
    recorder?.appendCandidates(records);
    state.timing.tsSeconds += now() - ts1;
    opts.afterBatchWritten?.(state.iteration);

    const due =
      (opts.checkpointEveryIterations !== undefined && state.iteration - lastCheckpointIteration >= opts.checkpointEveryIterations) ||
      now() - lastCheckpointTime >= (opts.checkpointEverySeconds ?? 10);
    if (due) checkpoint();
    opts.onProgress?.({
      iteration: state.iteration, iterations: T, bestScore: state.best?.score ?? null,
      populationSize: state.population.length, scored: state.counts.scored, rejected: totalRejected(state.counts),
      candidatesPerSecond: scoredHere / Math.max(1e-9, now() - startWall),
    });
  }
  checkpoint();
  const wallHere = now() - startWall;
  return {
    config,
    state,
    complete: state.iteration >= T,
    best: state.best,
    candidatesPerSecond: scoredHere / Math.max(1e-9, wallHere),
    tsShare: state.timing.wallSeconds > 0 ? state.timing.tsSeconds / state.timing.wallSeconds : 0,
  };
}
