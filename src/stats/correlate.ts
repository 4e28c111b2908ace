/**
 * Ranking quality of proxies on an (architecture, accuracy) table: every row scored by every
 * proxy through the engine, then Kendall τ-b and Spearman ρ of score vs accuracy with percentile
 * bootstrap intervals, and a scatter plot (SVG) per proxy. Scores are oriented by the table's
 * direction ('min' proxies negated), so τ > 0 always means "ranks like accuracy".
 */
import { ZennasError } from '../errors';
import type { Engine } from '../engine/engine';
import { encodeDescriptor } from '../ops/descriptor';
import { Graph } from '../ops/graph';
import { parseStructure } from '../grammar/parse';
import { lowerForProxy } from '../proxies/lowering';
import { PROXY_TABLE, ProxyName } from '../proxies/table';
import { fromNb201Index, parseNb201, formatNb201 } from '../cells/nb201';
import { Nb201NetOptions } from '../cells/nb201-net';
import { engineOptionsFor, nb201ProxyGraph } from '../cells/lowering';
import { renderPlot } from '../report/svg';
import { AccuracyTable } from './accuracy-table';
import { BootstrapEstimate, bootstrapCorrelation, kendallTau, spearmanRho } from './rank-correlation';

/** Options of `correlateTable`. */
export interface CorrelateOptions {
  /** 'nb201' (genotype / index rows) or 'plainnet' (structure rows). Default: from the table's column. */
  space?: 'nb201' | 'plainnet';
  /** NAS-Bench-201 net options (C, N, …); numClasses also sets the PlainNet head. */
  net?: Nb201NetOptions;
  /** Engine options (resolution default 32; each proxy takes its keys, its defaults otherwise). */
  engineOptions?: Record<string, unknown>;
  /** Bootstrap resamples (default 1000) and seed. */
  resamples?: number;
  bootstrapSeed?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** One proxy's ranking quality. */
export interface ProxyCorrelation {
  proxy: ProxyName;
  direction: 'max' | 'min';
  /** Raw scores (mean over repeats), one per row; null where the proxy is undefined on that net. */
  scores: (number | null)[];
  /** Rows left out of the correlation: the proxy is undefined there (E_STRUCTURE, e.g. naswot on a net whose images share every ReLU code). */
  failed: { line: number; message: string }[];
  kendallTau: BootstrapEstimate;
  spearmanRho: BootstrapEstimate;
  seconds: number;
  /** Scatter plot: oriented score vs accuracy. */
  svg: string;
}

/** Result of `correlateTable`. */
export interface CorrelateResult {
  rows: number;
  space: 'nb201' | 'plainnet';
  /** NAS-Bench-201 rows in the benchmark's string format (normalised), else the structures. */
  archs: string[];
  accuracy: number[];
  proxies: ProxyCorrelation[];
}

/** The architecture graphs of a table for one proxy. */
function graphsFor(t: AccuracyTable, space: 'nb201' | 'plainnet', proxy: ProxyName, net: Nb201NetOptions): Graph[] {
  return t.rows.map((r) => {
    try {
      if (space === 'plainnet') return lowerForProxy(parseStructure(r.arch), PROXY_TABLE[proxy], { numClasses: net.numClasses ?? 10 });
      const g = t.archColumn === 'index' ? fromNb201Index(indexOf(r.arch)) : parseNb201(r.arch);
      return nb201ProxyGraph(g, proxy, net);
    } catch (e) {
      if (e instanceof ZennasError) throw new ZennasError(e.code, `line ${r.line}: ${e.message}`);
      throw e;
    }
  });
}

function indexOf(s: string): number {
  if (!/^\d+$/.test(s)) throw new ZennasError('E_PARSE', `index '${s}' is not an integer`);
  return Number(s);
}

/** Score every row of `t` with every proxy and correlate with accuracy. */
export async function correlateTable(engine: Engine, t: AccuracyTable, proxies: readonly ProxyName[], o: CorrelateOptions = {}): Promise<CorrelateResult> {
  const space = o.space ?? (t.archColumn === 'structure' ? 'plainnet' : 'nb201');
  if (space === 'nb201' && t.archColumn === 'structure') throw new ZennasError('E_OPTION', "--space nb201 needs a 'genotype' or 'index' column, the table has 'structure'");
  if (space === 'plainnet' && t.archColumn !== 'structure') throw new ZennasError('E_OPTION', `a PlainNet table needs a 'structure' column, the table has '${t.archColumn}'`);
  const net = o.net ?? {};
  const eo = { resolution: 32, ...(o.engineOptions ?? {}) };
  const accuracy = t.rows.map((r) => r.accuracy);
  const archs = t.rows.map((r) => {
    if (space !== 'nb201') return r.arch;
    try {
      return formatNb201(t.archColumn === 'index' ? fromNb201Index(indexOf(r.arch)) : parseNb201(r.arch));
    } catch (e) {
      if (e instanceof ZennasError) throw new ZennasError(e.code, `line ${r.line}: ${e.message}`);
      throw e;
    }
  });
  const total = proxies.length * t.rows.length;
  let done = 0;
  const out: ProxyCorrelation[] = [];
  for (const proxy of proxies) {
    const spec = PROXY_TABLE[proxy];
    const graphs = graphsFor(t, space, proxy, net);
    const opts = engineOptionsFor(proxy, eo);
    const scores: (number | null)[] = [];
    const failed: { line: number; message: string }[] = [];
    let seconds = 0;
    for (const [i, g] of graphs.entries()) {
      if (o.signal?.aborted) throw new ZennasError('E_CANCELLED', 'correlate was cancelled');
      try {
        const r = await engine.run(proxy as never, encodeDescriptor(g), { ...opts, ...(o.signal ? { signal: o.signal } : {}) } as never);
        scores.push(Number.isFinite(r.mean) ? r.mean : null);
        if (!Number.isFinite(r.mean)) failed.push({ line: t.rows[i]!.line, message: `score ${r.mean}` });
        seconds += r.seconds;
      } catch (e) {
        // A net on which the proxy is undefined is left out; anything else (options, memory) stops.
        if (!(e instanceof ZennasError) || e.code !== 'E_STRUCTURE') throw e;
        scores.push(null);
        failed.push({ line: t.rows[i]!.line, message: e.message });
      }
      o.onProgress?.(++done, total);
    }
    const kept = scores.flatMap((s, i) => (s === null ? [] : [i]));
    if (kept.length < 2) throw new ZennasError('E_STRUCTURE', `${proxy} is defined on ${kept.length} row(s) only (${failed.map((f) => `line ${f.line}: ${f.message}`).join('; ')}); a rank correlation needs 2`);
    const oriented = kept.map((i) => (spec.direction === 'min' ? -scores[i]! : scores[i]!));
    const acc = kept.map((i) => accuracy[i]!);
    const b = { resamples: o.resamples ?? 1000, seed: o.bootstrapSeed ?? 0 };
    const tau = bootstrapCorrelation(kendallTau, oriented, acc, b);
    const rho = bootstrapCorrelation(spearmanRho, oriented, acc, b);
    const svg = renderPlot({
      title: `${proxy}: Kendall τ ${tau.value.toFixed(3)} [${tau.low.toFixed(3)}, ${tau.high.toFixed(3)}], Spearman ρ ${rho.value.toFixed(3)} (${kept.length} archs)`,
      xLabel: spec.direction === 'min' ? `−${proxy} score` : `${proxy} score`,
      yLabel: t.accuracyColumn,
      series: [{ label: `${kept.length} architectures`, points: oriented.map((s, i) => [s, acc[i]!] as const), color: '#1f77b4', style: 'dots', radius: 3, opacity: 0.7 }],
    });
    out.push({ proxy, direction: spec.direction, scores, failed, kendallTau: tau, spearmanRho: rho, seconds, svg });
  }
  return { rows: t.rows.length, space, archs, accuracy, proxies: out };
}
