import * as fs from 'fs';
import * as path from 'path';
import { REPORT_FILES, ReportBlock, ReportCandidate, ReportSummary } from './types';
import { renderPlot, shortNumber, spansDecades, xmlEscape, Series } from './svg';
import { renderBlockDiagram } from './diagram';
import { bestCurve, CostKey, distinctScored, frontOfDistinct, hasLatency, noResultReason, ScoredCandidate, topOfDistinct } from './analysis';
import { formatCount, formatDuration } from '../util/units';

export { renderPlot, niceTicks, logTicks, spansDecades, shortNumber, xmlEscape } from './svg';
export type { PlotSpec, Series } from './svg';
export { renderBlockDiagram, diagramLayout, typeColor } from './diagram';
export type { DiagramLayout } from './diagram';
export { bestCurve, distinctScored, hasLatency, noResultReason, paretoFront, topK } from './analysis';
export type { CostKey, ScoredCandidate } from './analysis';
export { REPORT_FILES } from './types';
export type { ReportBest, ReportBlock, ReportCandidate, ReportRunInfo, ReportSummary } from './types';

/** What a report is made of: the run's summary and its scored candidates. */
export interface ReportInput {
  summary: ReportSummary;
  candidates: readonly ReportCandidate[];
  /**
   * The best network block by block (src/model/count's countModel rows, classifier included);
   * absent or null when the best is not a PlainNet structure (a cell space): the report then
   * shows its key only, with `bestBlocksNote` saying why.
   */
  bestBlocks?: readonly ReportBlock[] | null;
  bestBlocksNote?: string;
  /** Rows of the top-k table. Default 10. */
  topK?: number;
  /** Most points per scatter plot (sampled evenly, the fronts and the best always kept). Default 4000. */
  maxPoints?: number;
}

/** The SVGs of a report: plots (the latency one only when latency was measured) and the best network's diagram. */
export interface ReportPlots {
  bestVsIteration: string;
  scoreVsParams: string;
  scoreVsFlops: string;
  scoreVsLatency?: string;
  bestNet?: string;
}

/**
 * The derived sets of a candidate list, each computed once per list (a report renders the fronts
 * and the top-k several times: plots, HTML, Markdown; a long run has millions of candidates).
 */
const derived = new WeakMap<readonly ReportCandidate[], { distinct?: ScoredCandidate[]; fronts: Map<CostKey, ScoredCandidate[]>; top: Map<number, ScoredCandidate[]> }>();
function cacheOf(cs: readonly ReportCandidate[]) {
  let d = derived.get(cs);
  if (!d) derived.set(cs, (d = { fronts: new Map(), top: new Map() }));
  return d;
}
const distinctOf = (cs: readonly ReportCandidate[]) => (cacheOf(cs).distinct ??= distinctScored(cs));
function frontOf(cs: readonly ReportCandidate[], key: CostKey): ScoredCandidate[] {
  const c = cacheOf(cs);
  if (!c.fronts.has(key)) c.fronts.set(key, frontOfDistinct(distinctOf(cs), key));
  return c.fronts.get(key)!;
}
function topOf(cs: readonly ReportCandidate[], k: number): ScoredCandidate[] {
  const c = cacheOf(cs);
  if (!c.top.has(k)) c.top.set(k, topOfDistinct(distinctOf(cs), k));
  return c.top.get(k)!;
}

/** Most rows a front's table lists (a longer front is sampled evenly, its ends kept). */
const MAX_FRONT_ROWS = 100;

function sample<T>(xs: readonly T[], max: number, keep: readonly T[] = []): T[] {
  if (xs.length <= max) return xs.slice();
  const step = xs.length / max;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(xs[Math.floor(i * step)]!);
  const have = new Set(out);
  for (const k of keep) if (!have.has(k)) out.push(k);
  return out;
}

/** What the score axis is called: the Zen-score, the proxy a run maximised, or −proxy for a minimised one. */
export function scoreLabel(s: ReportSummary): string {
  if (s.scoreName) return s.scoreName;
  const proxy = s.scoring?.proxy;
  if (proxy === undefined || proxy === 'zen') return 'Zen-score';
  return s.scoring?.direction === 'min' ? `−${proxy}` : `${proxy} proxy`;
}

/** The proxy row of a report: its name and what the score is. */
function proxyText(s: ReportSummary): string {
  const proxy = s.scoring?.proxy;
  if (proxy === undefined) return 'custom scorer';
  const min = (s.direction ?? s.scoring?.direction) === 'min';
  return min ? `${proxy} (lower is better: the search maximises −${proxy})` : `${proxy} (higher is better)`;
}

/** The cost axes of the fronts: params and FLOPs always, latency when measured. */
function costAxes(candidates: readonly ReportCandidate[]): Array<{ key: CostKey; name: string; file: PlotKey; budget: keyof ReportSummary['budgets'] }> {
  return [
    { key: 'params', name: 'params', file: 'scoreVsParams', budget: 'params' },
    { key: 'flops', name: 'FLOPs', file: 'scoreVsFlops', budget: 'flops' },
    ...(hasLatency(candidates) ? [{ key: 'latencyMs' as const, name: 'latency', file: 'scoreVsLatency' as const, budget: 'latencyMs' as const }] : []),
  ];
}

const fmtCost = (key: CostKey, v: number) => (key === 'latencyMs' ? formatDuration(v) : shortNumber(v));

/** The SVGs of a report. */
export function reportPlots(input: ReportInput): ReportPlots {
  const scored = distinctOf(input.candidates);
  const label = scoreLabel(input.summary);
  const budgets = input.summary.budgets;
  const best = scored.reduce<ScoredCandidate | undefined>((b, c) => (!b || c.score > b.score ? c : b), undefined);
  const plots: Partial<ReportPlots> = {
    bestVsIteration: renderPlot({
      title: `Best ${label} vs iteration`, xLabel: 'iteration', yLabel: `best ${label}`,
      series: [{ label: 'best so far', points: bestCurve(input.candidates), color: '#2ca02c', style: 'line', step: true }],
    }),
  };
  for (const axis of costAxes(input.candidates)) {
    const withCost = scored.filter((c) => typeof c[axis.key] === 'number' && Number.isFinite(c[axis.key]));
    const front = frontOf(input.candidates, axis.key);
    const pts = sample(withCost, input.maxPoints ?? 4000, [...front, ...(best ? [best] : [])]);
    const xs = pts.map((c) => c[axis.key]!);
    const budget = budgets[axis.budget];
    const series: Series[] = [
      { label: `candidates (${pts.length}${pts.length < withCost.length ? ` of ${withCost.length}` : ''})`, points: pts.map((c) => [c[axis.key]!, c.score] as const), color: '#1f77b4', style: 'dots', radius: 2, opacity: 0.4 },
      { label: `Pareto front (${front.length})`, points: front.map((c) => [c[axis.key]!, c.score] as const), color: '#9467bd', style: 'line', step: true, markers: 3.5 },
      ...(best && best[axis.key] !== undefined ? [{ label: 'best', points: [[best[axis.key]!, best.score] as const], color: '#d62728', style: 'dots' as const, radius: 5, opacity: 1 }] : []),
    ];
    plots[axis.file] = renderPlot({
      title: `Pareto front: ${label} vs ${axis.name}`, xLabel: axis.key === 'latencyMs' ? `latency per mini-batch${typeof input.summary.scoring?.latencyBatchSize === 'number' ? ` of ${input.summary.scoring.latencyBatchSize}` : ''} (ms)` : axis.name, yLabel: label,
      xScale: spansDecades(budget !== undefined ? [...xs, budget] : xs) ? 'log' : 'linear',
      formatX: axis.key === 'latencyMs' ? (v) => String(Number(v.toPrecision(3))) : undefined,
      vlines: budget !== undefined ? [{ x: budget, label: `budget ${fmtCost(axis.key, budget)}`, color: '#ff7f0e' }] : [],
      series,
    });
  }
  if (input.bestBlocks && input.bestBlocks.length) {
    plots.bestNet = renderBlockDiagram(input.bestBlocks, { title: `Best network: ${input.bestBlocks.length} blocks (classifier included)` });
  }
  return plots as ReportPlots;
}

/** Where and how the run was made, as rows. */
function runInfoRows(s: ReportSummary): Array<[string, string]> {
  const r = s.run;
  if (!r) return [['run', 'not recorded (summary written before zennas recorded it)']];
  return [
    ['command line', r.commandLine],
    ['zennas version', r.version],
    ['commit', r.commit ?? 'not a git checkout'],
    ['date', r.date],
    ['machine', `${r.machine.os}; ${r.machine.cpu}; ${r.machine.cores} cores`],
    ['backend', r.backend],
    ['threads', r.threads === null ? 'n/a' : String(r.threads)],
  ];
}

function rows(s: ReportSummary): Array<[string, string]> {
  const t = s.timing;
  const r = s.counts.rejected;
  return [
    ['search space', `${s.space} (preset ${s.preset})${s.se ? ', SE' : ''}`],
    ['proxy', proxyText(s)],
    ['algorithm', s.algorithm === 'xi-gsnr-evolution' ? 'xi-gsnr-evolution (ξ-GSNR supplementary Algorithm 2: random initial population, a child replaces the lowest only if better)' : 'zen-nas (Zen-NAS Algorithm 2)'],
    ['budgets', s.budgetText],
    ['resolution / classes', `${s.resolution} / ${s.numClasses}`],
    ['iterations', `${s.iterationsDone} of ${s.iterations}${s.complete ? '' : ' (stopped early)'}`],
    ['population', `${s.populationSize} (limit ${s.population}), seed ${s.seed}, ${s.inFlight} in flight`],
    ['scoring', Object.entries(s.scoring).map(([k, v]) => `${k} ${v}`).join(', ') || '—'],
    ['scored / failed', `${s.counts.scored} / ${s.counts.failed}`],
    ['rejected', `params ${r.params}, FLOPs ${r.flops}, layers ${r.layers}, latency ${r.latency}${s.counts.invalid ? `; invalid ${s.counts.invalid}` : ''}`],
    ['throughput', `${t.candidatesPerSecond.toFixed(2)} candidates/s over ${formatDuration(t.wallSeconds * 1000)}`],
    ['per candidate', `${t.engineMsPerCandidate.toFixed(2)} ms scoring, ${t.tsMsPerCandidate.toFixed(3)} ms TS loop (${(100 * t.tsShare).toFixed(1)}% of wall time)`],
  ];
}

function bestRows(s: ReportSummary): Array<[string, string]> {
  const b = s.best;
  if (!b) return [['best', 'none: no candidate fitted the budgets or scored (see “No result” above)']];
  return [
    [scoreLabel(s), b.score.toFixed(4)],
    ...(b.value !== undefined ? [[String(s.scoring?.proxy ?? 'value'), b.value.toFixed(4)] as [string, string]] : []),
    ['params', `${formatCount(b.params)} (${b.params})`],
    ['FLOPs', `${formatCount(b.flops)} (${b.flops})`],
    ['layers', String(b.layers)],
    ...(b.latencyMs !== undefined ? [['latency', formatDuration(b.latencyMs)] as [string, string]] : []),
    ['found at iteration', String(b.iteration)],
  ];
}

/** A table of networks: a front or the top-k. */
interface NetTable {
  headers: string[];
  rows: Array<{ cells: string[]; structure: string; best: boolean }>;
  note: string;
}

function netTable(s: ReportSummary, nets: readonly ScoredCandidate[], latency: boolean, note = ''): NetTable {
  const bestKey = s.best?.structure;
  return {
    headers: ['#', 'iteration', scoreLabel(s), 'params', 'FLOPs', ...(latency ? ['latency'] : []), 'layers'],
    rows: nets.map((c, i) => ({
      cells: [String(i + 1), String(c.iteration), c.score.toFixed(4), formatCount(c.params), formatCount(c.flops),
        ...(latency ? [c.latencyMs !== undefined ? formatDuration(c.latencyMs) : '—'] : []), c.layers !== undefined ? String(c.layers) : '—'],
      structure: c.structure ?? '',
      best: bestKey !== undefined && c.structure === bestKey,
    })),
    note,
  };
}

function frontTables(input: ReportInput): Array<{ title: string; anchor: string; table: NetTable; plot: PlotKey }> {
  const s = input.summary;
  const latency = hasLatency(input.candidates);
  return costAxes(input.candidates).map((axis) => {
    const front = frontOf(input.candidates, axis.key);
    const shown = sample(front, MAX_FRONT_ROWS, front.length ? [front[front.length - 1]!] : []);
    const note = shown.length < front.length ? `${shown.length} of the front's ${front.length} networks, evenly spaced` : '';
    return { title: `${scoreLabel(s)} vs ${axis.name}`, anchor: `front-${axis.file}`, table: netTable(s, shown, latency, note), plot: axis.file };
  });
}

function blockRows(blocks: readonly ReportBlock[]): { headers: string[]; rows: string[][]; titles: string[] } {
  const total = blocks.reduce((a, b) => a + b.flops, 0) || 1;
  const res = (b: ReportBlock) => (b.inputResolution === b.outputResolution ? `${b.inputResolution}` : `${b.inputResolution} → ${b.outputResolution}`);
  return {
    headers: ['#', 'type', 'channels', 'stride', 'resolution', 'layers', 'params', 'FLOPs', 'FLOPs share'],
    rows: blocks.map((b) => [String(b.index), b.type, `${b.in} → ${b.out}`, String(b.stride), res(b), String(b.layers),
      formatCount(b.params), formatCount(b.flops), `${((100 * b.flops) / total).toFixed(1)}%`]),
    titles: blocks.map((b) => b.text),
  };
}

const CSS = `
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1240px; }
h1 { margin-bottom: 4px; }
h2 { margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.lede { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; }
table.kv th { text-align: left; padding: 3px 14px 3px 0; color: #555; font-weight: normal; vertical-align: top; white-space: nowrap; }
table.kv td { padding: 3px 0; }
table.data th, table.data td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: right; font-size: 13px; }
table.data th { background: #f6f6f6; }
table.data td.s { text-align: left; font-family: monospace; font-size: 11px; word-break: break-all; max-width: 780px; }
table.data td.t { text-align: left; }
table.data tr.best td { background: #fff1f0; }
code, .cmd { background: #f4f4f4; padding: 6px; display: block; word-break: break-all; font-size: 12px; font-family: monospace; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.why { background: #fff4e5; border: 1px solid #f0b36b; padding: 10px 14px; border-radius: 4px; }
.note { color: #666; font-size: 13px; }
details.front summary { cursor: pointer; font-weight: bold; margin: 10px 0 4px; }
`;

/** Self-contained HTML report (inline SVG, inline CSS, no scripts or network resources). */
export function renderHtml(input: ReportInput, plots = reportPlots(input)): string {
  const s = input.summary;
  const e = xmlEscape;
  const kv = (rs: Array<[string, string]>, cls = 'kv') => `<table class="${cls}">${rs.map(([k, v]) => `<tr><th>${e(k)}</th><td>${k === 'command line' ? `<span class="cmd">${e(v)}</span>` : e(v)}</td></tr>`).join('')}</table>`;
  const nets = (t: NetTable, id: string) =>
    `<table class="data" id="${id}"><tr>${[...t.headers, 'structure'].map((h) => `<th>${e(h)}</th>`).join('')}</tr>` +
    t.rows.map((r) => `<tr class="net${r.best ? ' best' : ''}">${r.cells.map((c) => `<td>${e(c)}</td>`).join('')}<td class="s">${e(r.structure)}</td></tr>`).join('') +
    '</table>' + (t.note ? `<p class="note">${e(t.note)}</p>` : '');
  const why = noResultReason(s, input.candidates);
  const curve = bestCurve(input.candidates);
  const k = input.topK ?? 10;
  const top = topOf(input.candidates, k);
  const latency = hasLatency(input.candidates);
  const blocks = input.bestBlocks && input.bestBlocks.length ? blockRows(input.bestBlocks) : null;
  const parts: string[] = [];
  parts.push(`<h1>zennas search report</h1>`);
  parts.push(`<p class="lede">Space ${e(s.space)} · ${e(scoreLabel(s))} · ${e(s.budgetText)} · ${s.iterationsDone} of ${s.iterations} iterations${s.run ? ` · ${e(s.run.date)}` : ''}</p>`);
  if (why) parts.push(`<div class="why" id="no-result"><b>No result.</b> ${e(why.charAt(0).toUpperCase() + why.slice(1))}</div>`);
  parts.push('<h2 id="best">Best network</h2>');
  parts.push(`<code>${e(s.best?.structure ?? '(none)')}</code>`);
  parts.push(kv(bestRows(s)));
  if (plots.bestNet) parts.push(plots.bestNet);
  if (blocks) {
    parts.push(`<table class="data" id="best-blocks"><tr>${blocks.headers.map((h) => `<th>${e(h)}</th>`).join('')}</tr>` +
      blocks.rows.map((r, i) => `<tr title="${e(blocks.titles[i]!)}">${r.map((c, j) => `<td${j === 1 ? ' class="t"' : ''}>${e(c)}</td>`).join('')}</tr>`).join('') + '</table>');
  } else if (s.best) {
    parts.push(`<p class="note">${e(input.bestBlocksNote ?? 'No per-block table: the best network is not a PlainNet structure.')}</p>`);
  }
  if (distinctOf(input.candidates).length === 0) {
    parts.push('<h2 id="fronts">Pareto fronts, top networks, progress</h2>');
    parts.push('<p class="note">Nothing to plot or list: no candidate was scored.</p>');
  } else {
    parts.push('<h2 id="fronts">Pareto fronts</h2>');
    parts.push('<p class="note">Each front holds the networks no other candidate beats on both axes (a higher score at no larger cost). The best network is highlighted.</p>');
    parts.push(`<div class="plots">${frontTables(input).map((f) => plots[f.plot] ?? '').join('\n')}</div>`);
    // The fronts' networks, one list per front; the first open (the others one click away: long structures).
    frontTables(input).forEach((f, i) => {
      parts.push(`<details class="front"${i === 0 ? ' open' : ''}><summary>Front: ${e(f.title)} — ${f.table.rows.length} networks${f.table.note ? ` (${e(f.table.note)})` : ''}</summary>`);
      parts.push(f.table.rows.length ? nets({ ...f.table, note: '' }, f.anchor) : '<p class="note">empty: no scored candidate</p>');
      parts.push('</details>');
    });
    parts.push(`<h2 id="top">Top ${k} networks</h2>`);
    parts.push(top.length ? nets(netTable(s, top, latency), 'top-k') : '<p class="note">no scored candidate</p>');
    parts.push('<h2 id="progress">Best score over iterations</h2>');
    parts.push(`<div class="plots">${plots.bestVsIteration}`);
    parts.push(`<table class="data" id="best-curve"><tr><th>iteration</th><th>best ${e(scoreLabel(s))}</th></tr>` +
      sample(curve, 20, curve.length ? [curve[curve.length - 1]!] : []).map(([it, sc]) => `<tr><td>${it}</td><td>${sc.toFixed(4)}</td></tr>`).join('') + '</table></div>');
  }
  parts.push('<h2 id="run">Run</h2>');
  parts.push(kv([...runInfoRows(s), ...rows(s)]));
  parts.push('<h2 id="initial">Initial structure</h2>');
  parts.push(`<code>${e(s.initial)}</code>`);
  if (s.initialCost) {
    const ic = s.initialCost;
    parts.push(`<p class="note">params ${formatCount(ic.params)}, FLOPs ${formatCount(ic.flops)}, layers ${ic.layers}${ic.latencyMs !== undefined ? `, latency ${formatDuration(ic.latencyMs)}` : ''}</p>`);
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>zennas search report — space ${e(s.space)}</title>
<style>${CSS}</style>
</head>
<body>
${parts.join('\n')}
</body>
</html>
`;
}

/** Markdown report: tables, and the plots as the SVG files written beside it. */
export function renderMarkdown(input: ReportInput, plots = reportPlots(input)): string {
  const s = input.summary;
  const cell = (v: string) => v.replace(/\|/g, '\\|');
  const kv = (rs: Array<[string, string]>) => ['| | |', '|---|---|', ...rs.map(([k, v]) => `| ${k} | ${k === 'command line' ? `\`${v.replace(/`/g, "'")}\`` : cell(v)} |`)].join('\n');
  const grid = (headers: string[], rs: string[][]) => [`| ${headers.map(cell).join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rs.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
  const nets = (t: NetTable) => grid([...t.headers, 'structure'], t.rows.map((r) => [...r.cells.map((c, i) => (i === 0 && r.best ? `**${c}** (best)` : c)), r.structure ? `\`${r.structure}\`` : '—'])) + (t.note ? `\n\n_${t.note}_` : '');
  const why = noResultReason(s, input.candidates);
  const curve = bestCurve(input.candidates);
  const k = input.topK ?? 10;
  const top = topOf(input.candidates, k);
  const latency = hasLatency(input.candidates);
  const present = PLOT_FILES.filter(([key]) => plots[key] !== undefined);
  const link = (key: PlotKey) => (present.some(([p]) => p === key) ? [`![${PLOT_TITLES[key]}](${PLOT_FILES.find(([p]) => p === key)![1]})`, ''] : []);
  const lines: string[] = [
    '# zennas search report', '',
    `Space ${s.space} · ${scoreLabel(s)} · ${s.budgetText} · ${s.iterationsDone} of ${s.iterations} iterations${s.run ? ` · ${s.run.date}` : ''}`, '',
  ];
  if (why) lines.push(`> **No result.** ${why.charAt(0).toUpperCase() + why.slice(1)}`, '');
  lines.push('## Best network', '', '```', s.best?.structure ?? '(none)', '```', '', kv(bestRows(s)), '');
  if (input.bestBlocks && input.bestBlocks.length) {
    const b = blockRows(input.bestBlocks);
    lines.push(...link('bestNet'), grid(b.headers, b.rows), '');
  } else if (s.best) {
    lines.push(`_${input.bestBlocksNote ?? 'No per-block table: the best network is not a PlainNet structure.'}_`, '');
  }
  if (distinctOf(input.candidates).length === 0) {
    lines.push('## Pareto fronts, top networks, progress', '', '_Nothing to plot or list: no candidate was scored._', '');
  } else {
    lines.push('## Pareto fronts', '', 'Each front holds the networks no other candidate beats on both axes (a higher score at no larger cost).', '');
    for (const f of frontTables(input)) {
      lines.push(`### Front: ${f.title}`, '', ...link(f.plot), f.table.rows.length ? nets(f.table) : '_empty: no scored candidate_', '');
    }
    lines.push(`## Top ${k} networks`, '', top.length ? nets(netTable(s, top, latency)) : '_no scored candidate_', '');
    lines.push('## Best score over iterations', '', ...link('bestVsIteration'),
      `| iteration | best ${scoreLabel(s)} |`, '|---|---|',
      ...sample(curve, 20, curve.length ? [curve[curve.length - 1]!] : []).map(([it, sc]) => `| ${it} | ${sc.toFixed(4)} |`), '');
  }
  lines.push('## Run', '', kv([...runInfoRows(s), ...rows(s)]), '');
  lines.push('## Initial structure', '', '```', s.initial, '```', '');
  return lines.join('\n');
}

type PlotKey = keyof ReportPlots;
/** The SVG files a report writes beside report.md (report.html inlines the same SVGs); optional ones only when drawn. */
export const PLOT_FILES: ReadonlyArray<readonly [PlotKey, string]> = [
  ['bestVsIteration', REPORT_FILES.plotBestVsIteration],
  ['scoreVsParams', REPORT_FILES.plotScoreVsParams],
  ['scoreVsFlops', REPORT_FILES.plotScoreVsFlops],
  ['scoreVsLatency', REPORT_FILES.plotScoreVsLatency],
  ['bestNet', REPORT_FILES.diagramBestNet],
];
const PLOT_TITLES: Record<PlotKey, string> = {
  bestVsIteration: 'best score vs iteration',
  scoreVsParams: 'Pareto front: score vs params',
  scoreVsFlops: 'Pareto front: score vs FLOPs',
  scoreVsLatency: 'Pareto front: score vs latency',
  bestNet: 'best network, block by block',
};

/** The names of the files `reportFiles` writes for this input (the optional SVGs only when drawn). */
export function reportFileNames(input: Pick<ReportInput, 'candidates' | 'bestBlocks'>): string[] {
  const drawn = (key: PlotKey) => (key === 'scoreVsLatency' ? hasLatency(input.candidates) : key === 'bestNet' ? !!input.bestBlocks?.length : true);
  return [...PLOT_FILES.filter(([key]) => drawn(key)).map(([, file]) => file), REPORT_FILES.reportHtml, REPORT_FILES.reportMd];
}

/** A report's files: name → content (the SVGs as standalone XML files), only those drawn. */
export function reportFiles(input: ReportInput): Map<string, string> {
  const plots = reportPlots(input);
  const files = new Map<string, string>();
  for (const [key, file] of PLOT_FILES) {
    const svg = plots[key];
    if (svg !== undefined) files.set(file, `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`);
  }
  files.set(REPORT_FILES.reportHtml, renderHtml(input, plots));
  files.set(REPORT_FILES.reportMd, renderMarkdown(input, plots));
  return files;
}

/** Write report.html, report.md and the SVGs into `dir`; returns their paths. */
export function writeReport(dir: string, input: ReportInput): { html: string; md: string; plots: string[] } {
  const out: string[] = [];
  for (const [name, text] of reportFiles(input)) {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    out.push(p);
  }
  return { html: path.join(dir, REPORT_FILES.reportHtml), md: path.join(dir, REPORT_FILES.reportMd), plots: out.filter((p) => p.endsWith('.svg')) };
}
