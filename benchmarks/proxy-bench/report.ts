/**
 * The report stage: for every scored column (proxy × input variant, and the counted baselines),
 * Kendall τ-b and Spearman ρ of the oriented score ('min' proxies negated, so τ > 0 always means
 * "ranks like accuracy") against test accuracy over the nets that have both, with percentile
 * bootstrap 95% intervals (src/stats/rank-correlation.ts); a scatter plot per column
 * (src/report/svg.ts renderPlot), a summary bar chart of τ with its interval, correlations.json,
 * and the table between the markers of README.md.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PROXY_NAMES, PROXY_TABLE } from '../../src/proxies/table';
import { niceTicks, renderPlot, xmlEscape } from '../../src/report/svg';
import { BootstrapEstimate, bootstrapCorrelation, kendallTau, spearmanRho } from '../../src/stats/rank-correlation';
import { writeFileAtomic } from '../../src/util/write-atomic';
import { readResults, type TrainedRow } from './results-csv';
import { DERIVED, readScores, scoreColumns, type ScoreColumn, type ScoresFile } from './score-nets';

/** One column's ranking quality. */
export interface ColumnCorrelation {
  key: string;
  proxy: string;
  variant: 'gaussian' | 'data';
  direction: 'max' | 'min';
  /** Nets with a score and an accuracy. */
  n: number;
  /** Nets where the proxy is undefined (null score). */
  undefinedOn: string[];
  kendallTau: BootstrapEstimate;
  spearmanRho: BootstrapEstimate;
}

/** Correlate every column of `scores` with the accuracies of `rows` (joined by id and structure). */
export function correlateColumns(rows: readonly TrainedRow[], scores: ScoresFile, columns: readonly ScoreColumn[], o: { resamples: number; seed?: number }): ColumnCorrelation[] {
  const acc = new Map(rows.map((r) => [`${r.id}\u0000${r.structure}`, Number(r.accuracy)]));
  const nets = scores.nets.filter((n) => acc.has(`${n.id}\u0000${n.structure}`));
  return columns.map((c) => {
    const x: number[] = [], y: number[] = [], undefinedOn: string[] = [];
    for (const n of nets) {
      const s = n.scores[c.key];
      if (s === null || s === undefined) { undefinedOn.push(n.id); continue; }
      x.push(c.direction === 'min' ? -s : s);
      y.push(acc.get(`${n.id}\u0000${n.structure}`)!);
    }
    const nan: BootstrapEstimate = { value: NaN, low: NaN, high: NaN, level: 0.95, resamples: 0 };
    const b = { resamples: o.resamples, seed: o.seed ?? 0 };
    const ok = x.length >= 3;
    return {
      key: c.key, proxy: c.proxy, variant: c.variant, direction: c.direction, n: x.length, undefinedOn,
      kendallTau: ok ? bootstrapCorrelation(kendallTau, x, y, b) : nan,
      spearmanRho: ok ? bootstrapCorrelation(spearmanRho, x, y, b) : nan,
    };
  });
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '–');
const ci = (e: BootstrapEstimate) => `${f3(e.value)} [${f3(e.low)}, ${f3(e.high)}]`;

/** The markdown table: one row per proxy, τ and ρ (95% CI) for Gaussian and data inputs. */
export function correlationTable(cs: readonly ColumnCorrelation[]): string {
  const by = new Map(cs.map((c) => [c.key, c]));
  const names = [...PROXY_NAMES, 'params', 'flops', 'random'];
  const lines = [
    '| proxy | variant | τ Gaussian [95% CI] | ρ Gaussian [95% CI] | τ data [95% CI] | ρ data [95% CI] | nets |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const p of names) {
    const g = by.get(p), d = by.get(`${p}@data`);
    if (!g) continue;
    const variant = p in PROXY_TABLE ? PROXY_TABLE[p as keyof typeof PROXY_TABLE].variant : 'counted';
    const derived = DERIVED[p as keyof typeof DERIVED] ? ' ¹' : '';
    const nets = d && d.n !== g.n ? `${g.n} / ${d.n}` : String(g.n);
    lines.push(`| ${p}${derived}${g.direction === 'min' ? ' (−)' : ''} | ${variant} | ${ci(g.kendallTau)} | ${ci(g.spearmanRho)} | ${d ? ci(d.kendallTau) : 'n/a'} | ${d ? ci(d.spearmanRho) : 'n/a'} | ${nets} |`);
  }
  return lines.join('\n');
}

/** Horizontal bar chart of Kendall τ with its 95% interval per proxy, Gaussian and data bars side by side. */
export function tauBarChart(cs: readonly ColumnCorrelation[], title: string): string {
  const by = new Map(cs.map((c) => [c.key, c]));
  const names = [...PROXY_NAMES, 'params', 'flops', 'random'].filter((p) => by.has(p));
  const W = 760, left = 130, right = 30, top = 56, rowH = 30, bottom = 44;
  const H = top + names.length * rowH + bottom;
  const vals = cs.flatMap((c) => [c.kendallTau.low, c.kendallTau.high, c.kendallTau.value]).filter(Number.isFinite);
  const lo = Math.min(-0.2, ...vals), hi = Math.max(0.6, ...vals);
  const ticks = niceTicks(lo, hi, 8);
  const x0 = ticks[0]!, x1 = ticks[ticks.length - 1]!;
  const X = (v: number) => left + ((v - x0) / (x1 - x0)) * (W - left - right);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${xmlEscape(title)}</text>`,
    `<rect x="${left}" y="28" width="12" height="10" fill="#1f77b4"/><text x="${left + 16}" y="37">Gaussian input (the papers')</text>`,
    `<rect x="${left + 200}" y="28" width="12" height="10" fill="#ff7f0e"/><text x="${left + 216}" y="37">Fashion-MNIST images + labels</text>`,
    `<text x="${left + 420}" y="37">whiskers: bootstrap 95% CI</text>`,
  ];
  for (const t of ticks) {
    out.push(`<line x1="${X(t)}" y1="${top - 4}" x2="${X(t)}" y2="${H - bottom}" stroke="${t === 0 ? '#333' : '#ddd'}"/>`);
    out.push(`<text x="${X(t)}" y="${H - bottom + 14}" text-anchor="middle">${String(+t.toFixed(2))}</text>`);
  }
  out.push(`<text x="${(left + W - right) / 2}" y="${H - 10}" text-anchor="middle">Kendall τ (oriented score vs test accuracy)</text>`);
  names.forEach((p, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${left - 6}" y="${y + rowH / 2 + 4}" text-anchor="end">${xmlEscape(p)}</text>`);
    const bars: [ColumnCorrelation | undefined, string, number][] = [[by.get(p), '#1f77b4', 4], [by.get(`${p}@data`), '#ff7f0e', 15]];
    for (const [c, color, dy] of bars) {
      if (!c || !Number.isFinite(c.kendallTau.value)) continue;
      const a = X(Math.min(0, c.kendallTau.value)), b = X(Math.max(0, c.kendallTau.value));
      out.push(`<rect x="${a}" y="${y + dy}" width="${Math.max(b - a, 0.5)}" height="10" fill="${color}"><title>${xmlEscape(`${c.key}: τ ${ci(c.kendallTau)}`)}</title></rect>`);
      if (Number.isFinite(c.kendallTau.low)) out.push(`<line x1="${X(c.kendallTau.low)}" y1="${y + dy + 5}" x2="${X(c.kendallTau.high)}" y2="${y + dy + 5}" stroke="#222"/>`);
    }
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Options of writeReport. */
export interface ReportOptions {
  paths: { csv: string; scores: string; correlations: string; plots: string; readme: string };
  recipe: string;
  resamples: number;
  log: (m: string) => void;
}

const BEGIN = '<!-- proxy-bench:table:begin -->', END = '<!-- proxy-bench:table:end -->';

/** Correlations, plots and the README table from accuracy.csv and scores.json. */
export function writeReport(o: ReportOptions): ColumnCorrelation[] {
  const rows = readResults(o.paths.csv).filter((r) => r.recipe === o.recipe);
  const scores = readScores(o.paths.scores);
  const columns = scoreColumns();
  const cs = correlateColumns(rows, scores, columns, { resamples: o.resamples });
  const acc = new Map(rows.map((r) => [`${r.id}\u0000${r.structure}`, Number(r.accuracy)]));
  fs.mkdirSync(o.paths.plots, { recursive: true });
  for (const c of cs) {
    const pts = scores.nets.flatMap((n) => {
      const s = n.scores[c.key], a = acc.get(`${n.id}\u0000${n.structure}`);
      return s === null || s === undefined || a === undefined ? [] : [[c.direction === 'min' ? -s : s, 100 * a] as const];
    });
    const svg = renderPlot({
      title: `${c.key}: Kendall τ ${ci(c.kendallTau)}, Spearman ρ ${ci(c.spearmanRho)} (${c.n} nets)`,
      xLabel: `${c.direction === 'min' ? '−' : ''}${c.proxy} score${c.variant === 'data' ? ' (Fashion-MNIST input)' : c.proxy in PROXY_TABLE ? ' (Gaussian input)' : ''}`,
      yLabel: 'test accuracy (%)',
      series: [{ label: `${pts.length} nets, recipe ${o.recipe}`, points: pts, color: c.variant === 'data' ? '#ff7f0e' : '#1f77b4', style: 'dots', radius: 3, opacity: 0.75 }],
    });
    writeFileAtomic(path.join(o.paths.plots, `${c.key.replace('@', '-')}.svg`), svg);
  }
  const n = Math.max(0, ...cs.map((c) => c.n));
  writeFileAtomic(path.join(o.paths.plots, 'summary-tau.svg'), tauBarChart(cs, `Kendall τ of each proxy vs Fashion-MNIST test accuracy, ${n} nets (recipe ${o.recipe})`));
  writeFileAtomic(o.paths.correlations, JSON.stringify({ recipe: o.recipe, nets: n, resamples: o.resamples, bootstrapSeed: 0, columns: cs }, null, 1) + '\n');
  if (fs.existsSync(o.paths.readme)) {
    const text = fs.readFileSync(o.paths.readme, 'utf8');
    const i = text.indexOf(BEGIN), j = text.indexOf(END);
    if (i >= 0 && j > i) {
      const accs = rows.map((r) => 100 * Number(r.accuracy));
      const head = `${rows.length} nets trained (recipe ${o.recipe}), ${scores.nets.filter((s) => acc.has(`${s.id}\u0000${s.structure}`)).length} scored; test accuracy ${Math.min(...accs).toFixed(1)}–${Math.max(...accs).toFixed(1)} %. Generated by \`run.ts\`; bootstrap ${o.resamples} resamples, seed 0.`;
      writeFileAtomic(o.paths.readme, text.slice(0, i + BEGIN.length) + '\n' + head + '\n\n' + correlationTable(cs) + '\n' + text.slice(j));
    }
  }
  o.log(`report: ${cs.length} columns over ${n} nets → correlations.json, plots/, README table`);
  return cs;
}
