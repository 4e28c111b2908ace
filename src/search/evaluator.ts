import { isZennasError } from '../errors';
import { CandidateCost } from './budget';
import { Scorer } from './types';

/** One budget-passing child the loop wants scored. */
export interface Candidate<G = unknown> {
  /** The iteration that proposed it: unique within a run, so it doubles as the candidate's id. */
  readonly iteration: number;
  /** The genotype's key (SearchSpace.encode): enough for a remote worker to rebuild it. */
  readonly key: string;
  /** The decoded genotype (for the Zen-NAS spaces a Structure). */
  readonly genotype: G;
  /** The space's lowering of the genotype (SearchSpace.lower): what the engine scores. */
  readonly descriptor: Int32Array;
  /** Its size (and latency, when a latency budget is set), already checked against the budgets. */
  readonly cost: Readonly<CandidateCost>;
}

/** The outcome of one evaluation. */
export interface Evaluation {
  /** The score; a failed evaluation is −∞ (with `error`). */
  score: number;
  /** Seconds of scoring (inside the engine when the scorer reports it, else wall time). */
  seconds: number;
  /** Why the evaluation failed; the candidate then counts as −∞ and is logged. */
  error?: string;
}

/**
 * Where candidates get scored: in this process (`scorerEvaluator`, `engineEvaluator`) or by a
 * pool of remote workers (e.g. a BullMQ queue whose `evaluate` adds a job carrying
 * `candidate.key` / `candidate.descriptor` and resolves when it completes).
 *
 * Contract with the loop (src/search/loop.ts):
 * - at most `config.inFlight` evaluations are pending at once (the loop submits a batch of that
 *   size and waits for all of it), so the pool needs no back-pressure of its own;
 * - evaluations may settle in any order: the loop applies them in iteration order, so the
 *   result never depends on which worker is faster;
 * - a failure of the candidate resolves with `{ score: -Infinity, error }` (a non-finite score
 *   without an error is treated the same); a rejection means the evaluator itself broke
 *   (no engine, no backend, lost pool) and stops the search, leaving the last checkpoint.
 */
export interface Evaluator<G = unknown> {
  evaluate(candidate: Candidate<G>): Promise<Evaluation>;
  /** Release what the evaluator holds (workers, queues). Called by whoever created it. */
  close?(): void | Promise<void>;
}

const now = () => performance.now() / 1000;

/** ZennasError codes that mean the scorer itself is unusable: they stop the search. */
const FATAL_CODES: ReadonlySet<string> = new Set(['E_NATIVE', 'E_BACKEND', 'E_INTERNAL']);

/**
 * An in-process Evaluator around a Scorer: a rejected promise or a non-finite score becomes a
 * failed evaluation (−∞, with the message); E_NATIVE / E_BACKEND / E_INTERNAL ZennasErrors
 * reject (stop the search). Seconds are the scorer's own when it reports them, else wall time.
 */
export function scorerEvaluator<G>(scorer: Scorer<G>): Evaluator<G> {
  return {
    async evaluate(c: Candidate<G>): Promise<Evaluation> {
      const t0 = now();
      try {
        const r = await scorer(c.genotype, c.descriptor);
        const score = typeof r === 'number' ? r : r.score;
        const seconds = typeof r === 'number' ? now() - t0 : (r.seconds ?? now() - t0);
        if (typeof score !== 'number' || !Number.isFinite(score)) return { score: -Infinity, seconds, error: `non-finite score ${score}` };
        return { score, seconds, error: undefined };
      } catch (e) {
        if (isZennasError(e) && FATAL_CODES.has(e.code)) throw e;
        return { score: -Infinity, seconds: now() - t0, error: (e as Error)?.message ?? String(e) };
      }
    },
  };
}
