/**
 * A LUT in a hard-constrained search (issue #15 item 6): the estimate as the loop's latency source
 * (children over the budget are rejected before scoring), the greedy MCKP repair as its repair
 * hook, and the final measurement — the top candidates timed on the table's own runtime, the best
 * one whose *measured* latency meets the budget returned. The loop sees none of this: only a
 * LatencySource and a LatencyRepair (src/search/types.ts).
 */
import { ZennasError } from '../errors';
import { estimateLatency, indexLut, LutIndex } from './estimate';
import { repairChoices, RepairOptions } from './repair';
import { assertCompatible, lutContext } from './table';
import type { LutRuntime } from './runtime';
import { LatencyContext, Lut, LutChoices, LutSpace, LutSpaceOptions } from './types';
import { assertCorrectionFor, correctedEstimate, LutCorrectionFile } from './correction-file';
import type { FinalLatencyCheck, MeasuredCandidate } from '../search/types';

/** The conditions a search's table must match (its space, options and latency batch). */
export interface LutSearchSetting extends LutSpaceOptions {
  space: string;
  variant: string;
  /** Images per run the budget refers to (the search's latency batch size). */
  batchSize: number;
}

/** Throws E_OPTION (naming `--lut` and every difference) when the table is not for this search. */
export function checkLutForSearch(lut: Lut, s: LutSearchSetting, where = 'the latency table'): void {
  const diffs: string[] = [];
  if (lut.meta.space.toLowerCase() !== s.space.toLowerCase()) diffs.push(`space '${lut.meta.space}' vs '${s.space}'`);
  if (lut.meta.variant !== s.variant) diffs.push(`variant '${lut.meta.variant}' vs '${s.variant}'`);
  if (lut.meta.resolution !== s.resolution) diffs.push(`resolution ${lut.meta.resolution} vs ${s.resolution}`);
  if (lut.meta.numClasses !== s.numClasses) diffs.push(`numClasses ${lut.meta.numClasses} vs ${s.numClasses}`);
  if (lut.meta.batchSize !== s.batchSize) diffs.push(`batchSize ${lut.meta.batchSize} vs ${s.batchSize} (the budget is per run of that many images)`);
  if (!lut.complete) diffs.push('the table is unfinished (resume its build)');
  if (diffs.length) throw new ZennasError('E_OPTION', `${where} does not fit this search: ${diffs.join('; ')}`);
}

/** A LUT-able space with its table, ready for estimates. */
export interface LutEstimator<G> {
  ix: LutIndex;
  space: LutSpace<G>;
  /** The estimate the search uses: the corrected one when a correction is given, else the table's. */
  estimate(g: G): number;
  /** The table's own estimate (Σ entries + fixed part). */
  tableEstimate(g: G): number;
  /** The correction in use, if any. */
  correction?: LutCorrectionFile;
  /** The corrected estimate on choices (with a correction): what the repair checks the budget with. */
  choicesEstimate?: (c: LutChoices) => number;
}

/**
 * The estimator of a table, corrected by `correction` when given (fitted on this very table:
 * E_OPTION otherwise). The budget check and the repair of a search both use `estimate`.
 */
export function lutEstimator<G>(space: LutSpace<G>, lut: Lut, correction?: LutCorrectionFile): LutEstimator<G> {
  const ix = indexLut(lut);
  const tableEstimate = (g: G) => estimateLatency(ix, space.toChoices(g)).ms;
  if (!correction) return { ix, space, estimate: tableEstimate, tableEstimate };
  assertCorrectionFor(correction, lut);
  const corrected = correctedEstimate(ix, correction);
  return { ix, space, estimate: (g) => corrected(space.toChoices(g)), tableEstimate, correction, choicesEstimate: corrected };
}

/** The loop's latency source: the table's estimate (ms per run of the table's batch). */
export function lutLatencySource<G>(e: LutEstimator<G>): (g: G) => Promise<number> {
  return async (g) => e.estimate(g);
}

/** The loop's repair hook: the greedy MCKP downgrade to the budget (by the estimator's estimate, corrected or not), or null. Counts its repairs. */
export function lutRepair<G>(e: LutEstimator<G>, o: RepairOptions = {}): ((g: G, budgetMs: number) => G | null) & { repaired: number; failed: number } {
  const f = ((g: G, budgetMs: number) => {
    const r = repairChoices(e.ix, e.space.toChoices(g), budgetMs, e.choicesEstimate ? { ...o, estimate: e.choicesEstimate } : o);
    if (!r) { f.failed++; return null; }
    f.repaired++;
    return e.space.fromChoices(r.choices);
  }) as ((g: G, budgetMs: number) => G | null) & { repaired: number; failed: number };
  f.repaired = 0;
  f.failed = 0;
  return f;
}

/** summary.json's `latencyCheck` for a LUT search: the generic check (src/search/types.ts) under the table's conditions. */
export type LatencyCheck = FinalLatencyCheck<LatencyContext>;
export type { MeasuredCandidate };

/** A member of the final measurement's input: a population member. */
export interface RankedMember {
  structure: string;
  score: number;
  latencyMs?: number;
}

/**
 * Measure the `top` highest-scoring members on `runtime` (the table's own: same context, checked)
 * and, while none of them fits, the next ones; returns the check with the best measured-within-
 * budget candidate (or none: every member was measured and none fits).
 */
export async function measureTopCandidates<G>(
  members: readonly RankedMember[], decode: (key: string) => G, e: LutEstimator<G>, runtime: LutRuntime, o: LutSpaceOptions & { budgetMs: number; top: number },
  onMeasured?: (c: MeasuredCandidate, i: number) => void,
): Promise<LatencyCheck> {
  assertCompatible(lutContext(e.ix.lut.meta), runtime.context, "the final measurement runs under the table's conditions (its runtime, batch, precision, threads, on the same hardware)");
  const ranked = members.filter((m) => Number.isFinite(m.score)).slice().sort((a, b) => b.score - a.score);
  const measured: MeasuredCandidate[] = [];
  let chosen: MeasuredCandidate | null = null;
  for (let i = 0; i < ranked.length; i++) {
    if (i >= o.top && chosen) break;
    const m = ranked[i]!;
    const g = decode(m.structure);
    const r = await runtime.measure(e.space.net(g, o));
    // The table's statistic: the budget is met by the same number the estimate predicts.
    const ms = e.ix.lut.meta.statistic === 'min' ? r.minMs : r.medianMs;
    const c: MeasuredCandidate = {
      structure: m.structure, score: m.score, estimateMs: m.latencyMs ?? e.estimate(g), measuredMs: ms, p90Ms: r.p90Ms, fits: ms <= o.budgetMs,
    };
    measured.push(c);
    onMeasured?.(c, i);
    if (c.fits && !chosen) chosen = c;
  }
  const errs = measured.map((c) => Math.abs(c.estimateMs - c.measuredMs) / c.measuredMs);
  return {
    budgetMs: o.budgetMs, context: { ...runtime.context }, statistic: e.ix.lut.meta.statistic, measured, chosen, top: o.top, populationSize: members.length,
    maxRelativeError: errs.length ? Math.max(...errs) : null,
  };
}
