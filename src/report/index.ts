import * as fs from 'fs';
import * as path from 'path';
import { REPORT_FILES, ReportCandidate, ReportSummary } from './types';
import { renderPlot, shortNumber, xmlEscape, Series } from './svg';
import { formatCount, formatDuration } from '../util/units';

export { renderPlot, niceTicks, shortNumber, xmlEscape } from './svg';
export type { PlotSpec, Series } from './svg';
export { REPORT_FILES } from './types';
export type { ReportBest, ReportCandidate, ReportSummary } from './types';

/** What a report is made of: the run's summary and its scored candidates. */
export interface ReportInput {
  summary: ReportSummary;
  candidates: readonly ReportCandidate[];
  /** Most points per scatter plot (sampled evenly, the best always kept). Default 4000. */
  maxPoints?: number;
}

/** Running best score after each scored candidate: the curve of Algorithm 2's progress. */
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

function sample<T>(xs: readonly T[], max: number, keep?: T): T[] {
  if (xs.length <= max) return xs.slice();
  const step = xs.length / max;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(xs[Math.floor(i * step)]!);
  if (keep !== undefined && !out.includes(keep)) out.push(keep);
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

/** The three SVG plots of a report. */
export function reportPlots(input: ReportInput): { bestVsIteration: string; scoreVsParams: string; scoreVsFlops: string } {
  const scored = input.candidates.filter((c) => c.score !== null);
  const bestRec = scored.reduce<ReportCandidate | undefined>((b, c) => (!b || c.score! > b.score! ? c : b), undefined);
  const pts = sample(scored, input.maxPoints ?? 4000, bestRec);
  const bestSeries = (fx: (c: ReportCandidate) => number): Series[] =>
    bestRec ? [{ label: 'best', points: [[fx(bestRec), bestRec.score!]], color: '#d62728', style: 'dots', radius: 5, opacity: 1 }] : [];
  const label = scoreLabel(input.summary);
  const budgets = input.summary.budgets;
  const scatter = (title: string, xLabel: string, fx: (c: ReportCandidate) => number, budget?: number) =>
    renderPlot({
      title, xLabel, yLabel: label,
      vlines: budget !== undefined ? [{ x: budget, label: `budget ${shortNumber(budget)}`, color: '#ff7f0e' }] : [],
      series: [
        { label: `candidates (${pts.length}${pts.length < scored.length ? ` of ${scored.length}` : ''})`, points: pts.map((c) => [fx(c), c.score!] as const), color: '#1f77b4', style: 'dots', radius: 2, opacity: 0.45 },
        ...bestSeries(fx),
      ],
    });
  return {
    bestVsIteration: renderPlot({
      title: `Best ${label} vs iteration`, xLabel: 'iteration', yLabel: `best ${label}`,
      series: [{ label: 'best so far', points: bestCurve(input.candidates), color: '#2ca02c', style: 'line', step: true }],
    }),
    scoreVsParams: scatter(`${label} vs params`, 'params', (c) => c.params, budgets.params),
    scoreVsFlops: scatter(`${label} vs FLOPs`, 'FLOPs', (c) => c.flops, budgets.flops),
  };
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
    ['rejected', `params ${r.params}, FLOPs ${r.flops}, layers ${r.layers}, latency ${r.latency}`],
    ['throughput', `${t.candidatesPerSecond.toFixed(2)} candidates/s over ${formatDuration(t.wallSeconds * 1000)}`],
    ['per candidate', `${t.engineMsPerCandidate.toFixed(2)} ms scoring, ${t.tsMsPerCandidate.toFixed(3)} ms TS loop (${(100 * t.tsShare).toFixed(1)}% of wall time)`],
  ];
}

function bestRows(s: ReportSummary): Array<[string, string]> {
  const b = s.best;
  if (!b) return [['best', 'none (no candidate fit the budgets)']];
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

/** Self-contained HTML report (inline SVG, inline CSS, no scripts or network resources). */
export function renderHtml(input: ReportInput, plots = reportPlots(input)): string {
  const s = input.summary;
  const table = (rs: Array<[string, string]>) =>
    `<table>${rs.map(([k, v]) => `<tr><th>${xmlEscape(k)}</th><td>${xmlEscape(v)}</td></tr>`).join('')}</table>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>zennas search report — space ${xmlEscape(s.space)}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1360px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th { text-align: left; padding: 3px 12px 3px 0; color: #555; font-weight: normal; }
td { padding: 3px 0; }
code { background: #f4f4f4; padding: 6px; display: block; word-break: break-all; font-size: 12px; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
</style>
</head>
<body>
<h1>zennas search report</h1>
<h2>Best structure</h2>
<code>${xmlEscape(s.best?.structure ?? '(none)')}</code>
${table(bestRows(s))}
<h2>Plots</h2>
<div class="plots">
${plots.bestVsIteration}
${plots.scoreVsParams}
${plots.scoreVsFlops}
</div>
<h2>Run</h2>
${table(rows(s))}
<h2>Initial structure</h2>
<code>${xmlEscape(s.initial)}</code>
</body>
</html>
`;
}

/** Markdown report: tables, and the plots as the SVG files written beside it. */
export function renderMarkdown(input: ReportInput): string {
  const s = input.summary;
  const table = (rs: Array<[string, string]>) => ['| | |', '|---|---|', ...rs.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`)].join('\n');
  const curve = bestCurve(input.candidates);
  const lines = [
    '# zennas search report', '',
    '## Best structure', '', '```', s.best?.structure ?? '(none)', '```', '', table(bestRows(s)), '',
    '## Run', '', table(rows(s)), '',
    '## Best score over iterations', '',
    `| iteration | best ${scoreLabel(s)} |`, '|---|---|',
    ...sample(curve, 20, curve[curve.length - 1]).map(([it, sc]) => `| ${it} | ${sc.toFixed(4)} |`), '',
    '## Plots', '',
    ...PLOT_FILES.map(([key, file]) => `![${PLOT_TITLES[key]}](${file})`), '',
  ];
  return lines.join('\n');
}

type PlotKey = keyof ReturnType<typeof reportPlots>;
/** The plot files report.md links to (report.html inlines the same SVGs). */
const PLOT_FILES: ReadonlyArray<readonly [PlotKey, string]> = [
  ['bestVsIteration', REPORT_FILES.plotBestVsIteration],
  ['scoreVsParams', REPORT_FILES.plotScoreVsParams],
  ['scoreVsFlops', REPORT_FILES.plotScoreVsFlops],
];
const PLOT_TITLES: Record<PlotKey, string> = {
  bestVsIteration: 'best score vs iteration',
  scoreVsParams: 'score vs params',
  scoreVsFlops: 'score vs FLOPs',
};

/** Write report.html, report.md and the plot SVGs into `dir`; returns their paths. */
export function writeReport(dir: string, input: ReportInput): { html: string; md: string; plots: string[] } {
  const html = path.join(dir, REPORT_FILES.reportHtml);
  const md = path.join(dir, REPORT_FILES.reportMd);
  const svgs = reportPlots(input);
  const plots = PLOT_FILES.map(([key, file]) => {
    const p = path.join(dir, file);
    fs.writeFileSync(p, `<?xml version="1.0" encoding="UTF-8"?>\n${svgs[key]}\n`);
    return p;
  });
  fs.writeFileSync(html, renderHtml(input, svgs));
  fs.writeFileSync(md, renderMarkdown(input));
  return { html, md, plots };
}

