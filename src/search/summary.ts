import { describeBudgets } from './budget';
import { scoreName, scoringDirection } from './proxy-scorer';
import { Member, SearchAlgorithm, SearchResult } from './types';

/** summary.json of a search (also what `zennas search --json` prints). */
export interface SearchSummary {
  space: string;
  preset: string;
  complete: boolean;
  iterations: number;
  iterationsDone: number;
  seed: number;
  population: number;
  inFlight: number;
  resolution: number;
  numClasses: number;
  se: boolean;
  budgets: SearchResult['config']['budgets'];
  budgetText: string;
  scoring: SearchResult['config']['scoring'];
  /** The loop: 'zen-nas' (Zen-NAS Algorithm 2) or 'xi-gsnr-evolution'. */
  algorithm: SearchAlgorithm;
  /** What scored the candidates: scoring.proxy, or 'custom' when the config names none (a scorer of the caller's). */
  proxy: string;
  /** 'max': the score is the proxy's value; 'min': the score is its negation (lower values are better). */
  direction: 'max' | 'min';
  /** What `score` is: 'Zen-score', '<proxy> proxy' or '−<proxy>'. */
  scoreName: string;
  initial: string;
  /** The best member; `value` is the proxy's own value (= −score) for a 'min' proxy. */
  best: (Member & { value?: number }) | null;
  counts: SearchResult['state']['counts'];
  populationSize: number;
  populationScore: { min: number | null; max: number | null; mean: number | null };
  timing: SearchResult['state']['timing'] & {
    /** Scored candidates/s over the whole run (all sessions). */
    candidatesPerSecond: number;
    /** Loop (TS) milliseconds per scored candidate. */
    tsMsPerCandidate: number;
    /** Scorer-reported (engine) milliseconds per scored candidate. */
    engineMsPerCandidate: number;
    /** Share of wall time spent in the loop's own TS work. */
    tsShare: number;
  };
  files?: Record<string, string>;
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

/** Build the summary object of a finished (or stopped) search. */
export function buildSummary(r: SearchResult, files?: Record<string, string>): SearchSummary {
  const c = r.config;
  const s = r.state;
  const scores = s.population.map((m) => m.score).filter(Number.isFinite);
  const n = Math.max(1, s.counts.scored);
  const out: SearchSummary = {
    space: c.space, preset: c.preset, complete: r.complete, iterations: c.iterations, iterationsDone: s.iteration,
    seed: c.seed, population: c.population, inFlight: c.inFlight, resolution: c.resolution, numClasses: c.numClasses, se: c.se,
    budgets: c.budgets, budgetText: describeBudgets(c.budgets), scoring: c.scoring,
    algorithm: c.algorithm ?? 'zen-nas', proxy: typeof c.scoring.proxy === 'string' ? c.scoring.proxy : 'custom',
    direction: scoringDirection(c.scoring), scoreName: scoreName(c.scoring), initial: c.initial,
    best: s.best ? { ...s.best, ...(scoringDirection(c.scoring) === 'min' ? { value: -s.best.score } : {}) } : null,
    counts: s.counts,
    populationSize: s.population.length,
    populationScore: {
      min: scores.length ? finite(Math.min(...scores)) : null,
      max: scores.length ? finite(Math.max(...scores)) : null,
      mean: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null,
    },
    timing: {
      ...s.timing,
      candidatesPerSecond: s.timing.wallSeconds > 0 ? s.counts.scored / s.timing.wallSeconds : 0,
      tsMsPerCandidate: (1000 * s.timing.tsSeconds) / n,
      engineMsPerCandidate: (1000 * s.timing.engineSeconds) / n,
      tsShare: s.timing.wallSeconds > 0 ? s.timing.tsSeconds / s.timing.wallSeconds : 0,
    },
  };
  if (files) out.files = files;
  return out;
}
