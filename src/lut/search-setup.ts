/**
 * Everything a hard-constrained search needs from a LUT, from a config and a table file: the
 * estimate as latency source, the greedy repair, and the final measurement on the table's own
 * runtime (opened, and checked against the table, before the search starts: a table of another
 * machine, runtime or batch is refused at once, not after hours of search).
 */
import { ZennasError } from '../errors';
import { getSpace } from '../spaces';
import type { LatencyRepair, LatencySource, SearchConfig, SearchResult } from '../search/types';
import { formatDuration } from '../util/units';
import { openLutRuntime, LutRuntime } from './runtime';
import { parseProtocol } from './interleave';
import { LatencyCheck, checkLutForSearch, lutEstimator, lutRepair, measureTopCandidates, MeasuredCandidate } from './search';
import { lutSpaceEntry } from './spaces';
import { assertCompatible, lutContext, readLut } from './table';
import { assertCorrectionFor, correctionId, readLutCorrection } from './correction-file';

/** Options of `lutSearchSetup`. */
export interface LutSearchOptions {
  /** lut.json. */
  file: string;
  /** Images per run the budget refers to, when the caller fixed it (must equal the table's). */
  batchSize?: number;
  /** Candidates measured at the end (default 5; more when none of them fits). */
  verifyTop?: number;
  /** Repair over-budget children (default true). */
  repair?: boolean;
  /**
   * A fitted correction of this table (zennas lut fit): the budget check and the repair use the
   * corrected estimate. It must have been fitted on this very table (E_OPTION otherwise).
   */
  correction?: string;
  /** Each final measurement as it is made. */
  onMeasured?: (c: MeasuredCandidate, i: number) => void;
}

/** Hooks of a LUT search and what the config records about them. */
export interface LutSearchSetup<G> {
  latency: LatencySource<G>;
  repair?: LatencyRepair<G> & { repaired: number; failed: number };
  verify: (result: SearchResult) => Promise<void>;
  /** config.scoring fields (compared on resume): the table's conditions. */
  scoring: Record<string, string | number>;
  /** One line: the table and its conditions. */
  describe: string;
  close(): void;
}

/** Open the table and its runtime for a search of `config` (E_OPTION naming --lut on any mismatch). */
export async function lutSearchSetup<G>(config: SearchConfig, o: LutSearchOptions): Promise<LutSearchSetup<G>> {
  const lut = readLut(o.file);
  const budgetMs = config.budgets.latencyMs;
  if (budgetMs === undefined) throw new ZennasError('E_OPTION', `--lut ${o.file} gives the latency of a --budget-latency, and none is set`);
  const entry = lutSpaceEntry(config.space, '--lut');
  const space = getSpace(config.space);
  const variant = entry.variantOf(space.decode(config.initial));
  checkLutForSearch(lut, { space: config.space, variant, resolution: config.resolution, numClasses: config.numClasses, batchSize: o.batchSize ?? lut.meta.batchSize }, `--lut ${o.file}`);
  const ls = entry.make(variant);
  const correction = o.correction !== undefined ? readLutCorrection(o.correction) : undefined;
  if (correction) assertCorrectionFor(correction, lut, `--lut-correction ${o.correction}`);
  const est = lutEstimator(ls, lut, correction);
  const interleave = parseProtocol(lut.meta.protocol);  // the final measurement under the table's own protocol
  const runtime: LutRuntime = await openLutRuntime({
    runtime: lut.meta.runtime, batchSize: lut.meta.batchSize, threads: lut.meta.threads || 1, warmup: lut.meta.warmup, iterations: lut.meta.iterations, precision: lut.meta.precision,
    clock: lut.meta.clock, ...(interleave ? { interleave } : {}),
  });
  try {
    // TensorRT and CUDA learn their device only when they run: checked at the final measurement then.
    const known = lut.meta.runtime === 'onnxruntime' || lut.meta.runtime === 'cpu';
    if (known) assertCompatible(lutContext(lut.meta), runtime.context, `--lut ${o.file} was measured elsewhere: estimates and this machine's measurements would not be comparable`);
  } catch (e) {
    runtime.close();
    throw e;
  }
  const repair = o.repair === false ? undefined : lutRepair(est);
  const top = o.verifyTop ?? 5;
  return {
    latency: async (g) => est.estimate(g as never),
    ...(repair ? { repair: repair as LatencyRepair<G> & { repaired: number; failed: number } } : {}),
    async verify(result) {
      const check: LatencyCheck = await measureTopCandidates(result.state.population, (k) => space.decode(k), est, runtime,
        { budgetMs, top, resolution: config.resolution, numClasses: config.numClasses }, o.onMeasured);
      result.latencyCheck = check;
      result.best = check.chosen ? result.state.population.find((m) => m.structure === check.chosen!.structure) ?? null : null;
    },
    scoring: {
      latencyBackend: `lut:${lut.meta.runtime}`, latencyBatchSize: lut.meta.batchSize, latencyPrecision: lut.meta.precision,
      lutStatistic: lut.meta.statistic, lutClock: lut.meta.clock, lutRuntimeVersion: lut.meta.runtimeVersion, lutHardware: lut.meta.hardware, lutThreads: lut.meta.threads, lutCreated: lut.meta.created,
      latencyRepair: repair ? 'greedy-mckp' : 'none',
      // A resumed run must estimate with the same correction (or none): the config records which.
      ...(correction ? { lutCorrection: correctionId(correction), lutCorrectionTarget: correction.target } : {}),
    },
    describe: `${o.file}: ${lut.meta.runtime} (${lut.meta.runtimeVersion}), batch ${lut.meta.batchSize}, ${lut.meta.precision}, ${lut.meta.threads} thread(s), on ${lut.meta.hardware}` +
      (correction ? `; estimates corrected by ${o.correction} (ridge on ${correction.target === 'ratio' ? 'measured / estimate' : 'measured ms'}, ${correction.fit.nets} nets, in-sample median error ${(100 * correction.fit.medianAbsRelError).toFixed(1)}%)` : ''),
    close: () => runtime.close(),
  };
}

/** The final measurement as the search command prints it: estimate and measurement side by side. */
export function formatLatencyCheck(c: LatencyCheck): string[] {
  const lines = [`latency check (hard constraint ${formatDuration(c.budgetMs)} per run of ${c.context.batchSize}, measured on ${c.context.runtime} ${c.context.runtimeVersion}, ${c.context.threads} thread(s), ${c.context.clock === 'cpu' ? 'CPU time' : 'wall clock'}, ${c.context.hardware}):`];
  for (const m of c.measured) {
    lines.push(`  ${m === c.chosen ? '→' : ' '} score ${m.score.toFixed(4)}  estimate ${m.estimateMs.toFixed(3)} ms  measured ${m.measuredMs.toFixed(3)} ms (${c.statistic}; p90 ${m.p90Ms.toFixed(3)})  ${m.fits ? 'within budget' : 'OVER budget'}`);
  }
  lines.push(c.chosen
    ? `returned: the best-scoring candidate whose measured ${c.statistic} meets the budget (${c.chosen.measuredMs.toFixed(3)} ≤ ${c.budgetMs} ms); estimate error of the measured ones ≤ ${(100 * (c.maxRelativeError ?? 0)).toFixed(1)}%`
    : `no candidate of the population (${c.measured.length} measured) meets the budget by measurement: no result (loosen the budget or rebuild the table)`);
  return lines;
}
