import { Budgets } from './budget';
import { PrngState } from '../rng/sfc32';

/** What a scorer returns: the score and, optionally, the seconds spent inside the engine. */
export interface ScoreResult {
  score: number;
  seconds?: number;
}

/**
 * Scores one candidate (the engine's Zen-score in production, a toy function in tests): its
 * genotype (for the Zen-NAS spaces a parsed Structure) and the space's lowering of it. Wrapped
 * by `scorerEvaluator` (./evaluator): a rejected promise or a non-finite score counts as −∞ and
 * is logged; an E_NATIVE, E_BACKEND or E_INTERNAL ZennasError stops the search.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Scorer<G = any> = (genotype: G, descriptor: Int32Array) => Promise<number | ScoreResult>;

/** Measures a candidate's latency per mini-batch in ms (e.g. engine.latency on a GPU); `key` is the encoded genotype. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LatencySource<G = any> = (genotype: G, key: string) => Promise<number>;

/**
 * Makes a genotype over the latency budget fit it, or says it cannot (null): e.g. the LUT's greedy
 * multiple-choice-knapsack downgrade (src/lut/repair.ts, HardCoRe-NAS appendix §F).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LatencyRepair<G = any> = (genotype: G, budgetMs: number) => G | null;

/** Everything that determines the result of a search; a checkpoint only resumes an equal config. */
export interface SearchConfig {
  /** Search space id (registry key). */
  space: string;
  /** Preset of the space the defaults came from (informational). */
  preset: string;
  /** Initial structure F0. */
  initial: string;
  resolution: number;
  numClasses: number;
  /** SE modules in residual blocks (Space II), passed to counting and scoring. */
  se: boolean;
  budgets: Budgets;
  /** Population limit N. */
  population: number;
  /** Total iterations T (every proposal counts, rejected ones too, as in the official loop). */
  iterations: number;
  seed: number;
  /**
   * Children scored concurrently. Part of the config because a batch of children is drawn from
   * the population as it was when the batch started: the result depends on it, not on timing.
   */
  inFlight: number;
  /** ρ of Algorithm 2/3: 'paper' (1 → 0.1 over the first T/2) or a constant in [0,1]. */
  rho: 'paper' | number;
  /**
   * Scorer settings that change scores (batch size, repeats, mode, …), compared on resume.
   * `proxy` names the score (absent: a custom scorer; 'zen': the Zen-score); `direction: 'min'`
   * makes the loop maximise the negated value the evaluator returns (a proxy whose lower values are
   * better, e.g. synflow): the stored `score` is then −value and each record also holds `value`.
   */
  scoring: Record<string, string | number | boolean>;
  /**
   * The evolutionary loop: absent (or 'zen-nas') — Zen-NAS Algorithm 2 (children of F0 until the
   * population holds 10, the lowest dropped when it outgrows N); 'xi-gsnr-evolution' — ξ-GSNR's
   * supplementary Algorithm 2 (a random initial population of N budget-fitting genotypes, then a
   * child replaces the lowest member only if it scores higher). Absent for the default so that
   * checkpoints written before the field existed resume unchanged.
   */
  algorithm?: SearchAlgorithm;
}

/** The evolutionary loops `evolve` runs (SearchConfig.algorithm). */
export type SearchAlgorithm = 'zen-nas' | 'xi-gsnr-evolution';
export const SEARCH_ALGORITHMS: readonly SearchAlgorithm[] = ['zen-nas', 'xi-gsnr-evolution'];

/** A population member. `score` is −∞ for a failed scoring. */
export interface Member {
  iteration: number;
  /** The genotype's key (SearchSpace.encode; for Space I/II the PlainNet structure string). */
  structure: string;
  score: number;
  params: number;
  flops: number;
  layers: number;
  latencyMs?: number;
}

/** One line of candidates.jsonl: a scored (or failed) candidate. */
export interface CandidateRecord {
  iteration: number;
  /** The genotype's key (SearchSpace.encode). */
  structure: string;
  /** null when scoring failed (−∞). */
  score: number | null;
  params: number;
  flops: number;
  layers: number;
  latencyMs?: number;
  /** Seconds of scoring (inside the engine when the scorer reports it). */
  seconds: number;
  /** Iteration of the parent; 0 = the initial structure (or, in xi-gsnr-evolution, a random draw). */
  parent: number;
  error?: string;
  /** The proxy that scored it, when the config names one other than 'zen' (config.scoring.proxy). */
  proxy?: string;
  /** The proxy's own value when the search maximises its negation (direction 'min'): score = −value. */
  value?: number | null;
}

/** Counters of a search. */
export interface SearchCounts {
  proposed: number;
  scored: number;
  failed: number;
  invalid: number;
  rejected: { params: number; flops: number; layers: number; latency: number };
}

/** Timing of the search loop, for the TS-overhead measurement. */
export interface SearchTiming {
  /** Wall seconds of the loop (summed over resumed sessions). */
  wallSeconds: number;
  /** Seconds the JS thread spent in the loop's own work (mutate, encode/decode, count, lower, bookkeeping). */
  tsSeconds: number;
  /** Seconds reported by the scorer (time inside the engine), summed over candidates. */
  engineSeconds: number;
  /** Seconds spent measuring latency. */
  latencySeconds: number;
}

/** Full resumable state, as stored in checkpoint.json. */
export interface SearchState {
  /** Iterations done: proposals 1..iteration are fully resolved and written. */
  iteration: number;
  prng: PrngState;
  population: Member[];
  best: Member | null;
  counts: SearchCounts;
  timing: SearchTiming;
}

/** What a search resolves to. */
export interface SearchResult {
  config: SearchConfig;
  state: SearchState;
  /** True when all T iterations ran (false: stopped by a signal). */
  complete: boolean;
  /** The best member (highest score; ties → earliest). */
  best: Member | null;
  /** Scored candidates/s over the wall time of this process's part of the run. */
  candidatesPerSecond: number;
  /** Fraction of wall time the loop's own TS work took (the rest: engine or waiting). */
  tsShare: number;
  /** Files written, when an output directory was given. */
  files?: Record<string, string>;
  /**
   * The final latency measurement of a hard-constrained (LUT) search, when its `verify` hook ran:
   * estimates and measurements of the top candidates; `best` is then the chosen one.
   */
  latencyCheck?: FinalLatencyCheck;
}

export type { Budgets, PrngState };

/** One candidate of a search's final latency measurement (a hard latency constraint, e.g. src/lut). */
export interface MeasuredCandidate {
  structure: string;
  score: number;
  estimateMs: number;
  measuredMs: number;
  p90Ms: number;
  fits: boolean;
}

/**
 * What a search's `verify` hook measured at the end and returned (summary.json's `latencyCheck`):
 * the loop and the summary treat `context` (the measurement's conditions) as opaque.
 */
export interface FinalLatencyCheck<C extends object = object> {
  budgetMs: number;
  /** The conditions of both the estimates and the measurements (for a LUT search, the table's). */
  context: C;
  /** Measured candidates in score order (the top `top`, then further down until one fits). */
  measured: MeasuredCandidate[];
  /** Statistic of the measured runs compared with the budget ('median' by default). */
  statistic: 'median' | 'min';
  /** The returned candidate: the highest-scoring whose measured latency meets the budget; null if none. */
  chosen: MeasuredCandidate | null;
  /** How many of the population were measured / could have been. */
  top: number;
  populationSize: number;
  /** Estimate error over the measured ones: (estimate − measured) / measured, max |·|. */
  maxRelativeError: number | null;
}
