/**
 * What the report derives from a run's candidates: Pareto fronts (score up, cost down), the
 * top-k table, the running best, and — for a run without a result — why nothing fitted.
 */
import { ReportCandidate, ReportSummary } from './types';
import { formatCount, formatDuration } from '../util/units';

/** A cost axis of a front: what is minimised against the score. */
export type CostKey = 'params' | 'flops' | 'latencyMs';

/** A scored candidate (score not null). */
export type ScoredCandidate = ReportCandidate & { score: number };

/**
 * Scored candidates, one per network: a structure scored more than once keeps its first record
 * (same structure, same seed: the same score). Records without a structure are kept as they are.
 */
export function distinctScored(candidates: readonly ReportCandidate[]): ScoredCandidate[] {
  const seen = new Set<string>();
  const out: ScoredCandidate[] = [];
  for (const c of candidates) {
    if (c.score === null || !Number.isFinite(c.score)) continue;
    if (c.structure !== undefined) {
      if (seen.has(c.structure)) continue;
      seen.add(c.structure);
    }
    out.push(c as ScoredCandidate);
  }
  return out;
}

/**
 * The Pareto front of score (maximised) against `cost` (minimised): the candidates no other
 * candidate beats on both (≤ cost and ≥ score, one strictly), in increasing cost — so also in
 * increasing score. Of equal (cost, score) pairs the earliest iteration stays. Candidates without
 * the cost (latency not measured) are left out.
 */
export function paretoFront(candidates: readonly ReportCandidate[], cost: CostKey): ScoredCandidate[] {
  return frontOfDistinct(distinctScored(candidates), cost);
}

/** paretoFront of candidates already distinct and scored (distinctScored's output). */
export function frontOfDistinct(scored: readonly ScoredCandidate[], cost: CostKey): ScoredCandidate[] {
  const pts = scored.filter((c) => typeof c[cost] === 'number' && Number.isFinite(c[cost]));
  pts.sort((a, b) => a[cost]! - b[cost]! || b.score - a.score || a.iteration - b.iteration);
  const front: ScoredCandidate[] = [];
  let best = -Infinity;
  for (const c of pts) {
    if (c.score > best) {
      front.push(c);
      best = c.score;
    }
  }
  return front;
}

/** The `k` highest-scoring distinct candidates, best first (ties: earlier iteration first). */
export function topK(candidates: readonly ReportCandidate[], k: number): ScoredCandidate[] {
  return topOfDistinct(distinctScored(candidates), k);
}

/** topK of candidates already distinct and scored: one pass keeping the k best (no full sort). */
export function topOfDistinct(scored: readonly ScoredCandidate[], k: number): ScoredCandidate[] {
  const better = (a: ScoredCandidate, b: ScoredCandidate) => a.score > b.score || (a.score === b.score && a.iteration < b.iteration);
  const top: ScoredCandidate[] = [];
  if (k <= 0) return top;
  for (const c of scored) {
    if (top.length === k && !better(c, top[k - 1]!)) continue;
    let i = top.length === k ? k - 1 : top.length;
    if (top.length < k) top.push(c);
    while (i > 0 && better(c, top[i - 1]!)) { top[i] = top[i - 1]!; i--; }
    top[i] = c;
  }
  return top;
}

/** Running best score after each scored candidate: the curve of the search's progress. */
export function bestCurve(candidates: readonly ReportCandidate[]): Array<[number, number]> {
  const pts: Array<[number, number]> = [];
  let best = -Infinity;
  for (const c of candidates) {
    if (c.score !== null && c.score > best) {
      best = c.score;
      pts.push([c.iteration, best]);
    }
  }
  const last = candidates[candidates.length - 1];
  if (pts.length && last && pts[pts.length - 1]![0] !== last.iteration) pts.push([last.iteration, best]);
  return pts;
}

/** Whether any candidate has a measured latency (then the report has a latency front). */
export function hasLatency(candidates: readonly ReportCandidate[]): boolean {
  return candidates.some((c) => typeof c.latencyMs === 'number' && Number.isFinite(c.latencyMs));
}

/**
 * Why a run has no best network, as one paragraph: what the proposals ran into (budget by budget,
 * with the initial structure's own size or the measured latencies beside each budget), or the
 * scoring errors when every candidate that fitted failed. Null when the run has a best.
 */
export function noResultReason(s: ReportSummary, candidates: readonly ReportCandidate[]): string | null {
  if (s.best) return null;
  const c = s.counts;
  if (s.iterationsDone === 0) return 'the search stopped before its first iteration: no candidate was proposed.';
  if (c.scored > 0 && c.failed >= c.scored) {
    const errors = new Map<string, number>();
    for (const r of candidates) if (r.error !== undefined) errors.set(r.error, (errors.get(r.error) ?? 0) + 1);
    const seen = [...errors].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([e, n]) => `${e} (×${n})`).join('; ');
    return `all ${c.scored} candidates that fitted the budgets failed to score${seen ? `: ${seen}` : ''}.`;
  }
  const r = c.rejected;
  const over = r.params + r.flops + r.layers + r.latency;
  const b = s.budgets;
  const ini = s.initialCost;
  const parts: string[] = [];
  const against = (n: number, what: string, budget: number | undefined, has: number | undefined, fmt: (v: number) => string) => {
    if (!n) return;
    const initial = has !== undefined && budget !== undefined ? `; the initial structure has ${fmt(has)} ${has > budget ? 'and is itself over' : 'of'} the ${fmt(budget)} budget` : '';
    parts.push(`${n} over the ${what} budget${initial}`);
  };
  against(r.params, 'params', b.params, ini?.params, formatCount);
  against(r.flops, 'FLOPs', b.flops, ini?.flops, formatCount);
  against(r.layers, 'layers', b.layers, ini?.layers, String);
  if (r.latency) {
    const L = b.latencyMs;
    const seen = s.latencySeen;
    const initial = ini?.latencyMs !== undefined && L !== undefined
      ? `; the initial structure measured ${formatDuration(ini.latencyMs)} ${ini.latencyMs > L ? 'against' : 'within'} the ${formatDuration(L)} budget` : '';
    const fastest = seen && seen.count > 0 && L !== undefined
      ? `; the fastest of the ${seen.count} measured took ${formatDuration(seen.minMs)} against the ${formatDuration(L)} budget` : '';
    parts.push(`${r.latency} over the latency budget${initial}${fastest}`);
  }
  const invalid = c.invalid ? `, ${c.invalid} invalid` : '';
  return `no candidate fitted the budgets (${s.budgetText}) in ${s.iterationsDone} iterations: ${over} proposals were over budget${invalid}` +
    (parts.length ? ` — ${parts.join('; ')}` : '') + '. Give a smaller initial structure or looser budgets.';
}
