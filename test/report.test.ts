/**
 * The search report (src/report): Pareto fronts, top-k, the best net block by block, run
 * metadata, log axes, legends clear of the data, and why an empty run has no result. The page as
 * a browser draws it is test/report-chromium.test.ts.
 */
import test from 'ava';
import * as childProcess from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  distinctScored, logTicks, paretoFront, renderBlockDiagram, renderHtml, renderMarkdown, renderPlot, reportPlots,
  ReportBlock, ReportCandidate, spansDecades, topK,
} from '../src/report';
import { bestBlocks } from '../src/search/run-output';
import { processCommandLine } from '../src/search/summary';
import { runSearch } from '../src/search/evolution';
import { Structure } from '../src/grammar/ast';
import { formatStructure } from '../src/grammar/format';
import { parseStructure } from '../src/grammar/parse';
import { countModel } from '../src/model/count';
import { Sfc32 } from '../src/rng/sfc32';
import { formatDuration } from '../src/util/units';
import { smallConfig, tmp, toyZen } from './helpers/runs';
import { circles, legendBox, overlaps, plotArea } from './helpers/report-svg';

const ROOT = path.resolve(__dirname, '..');
const cand = (iteration: number, score: number | null, params: number, flops: number, extra: Partial<ReportCandidate> = {}): ReportCandidate =>
  ({ iteration, score, params, flops, structure: `net${iteration}`, ...extra });

/** Brute force: c is on the front when no other candidate has ≤ cost and ≥ score with one strict. */
function bruteFront(cs: ReportCandidate[], key: 'params' | 'flops'): Set<string> {
  const d = distinctScored(cs);
  const on = d.filter((c) => !d.some((o) => o !== c && o[key] <= c[key] && o.score >= c.score && (o[key] < c[key] || o.score > c.score)));
  // Equal (cost, score) pairs: the front keeps the earliest only.
  const seen = new Set<string>();
  const out = new Set<string>();
  for (const c of on.sort((a, b) => a.iteration - b.iteration)) {
    const k = `${c[key]}/${c.score}`;
    if (!seen.has(k)) { seen.add(k); out.add(c.structure!); }
  }
  return out;
}

test('paretoFront: known front; increasing in cost and score; failed and repeated nets ignored', (t) => {
  const cs = [cand(1, 5, 100, 10), cand(2, 7, 200, 5), cand(3, 6, 300, 50), cand(4, 9, 300, 40), cand(5, null, 50, 1), cand(6, 4, 100, 10), cand(7, 5, 100, 10, { structure: 'net1' })];
  t.deepEqual(paretoFront(cs, 'params').map((c) => c.iteration), [1, 2, 4]);
  t.deepEqual(paretoFront(cs, 'flops').map((c) => c.iteration), [2, 4]);
  t.deepEqual(topK(cs, 3).map((c) => c.iteration), [4, 2, 3]);
  t.deepEqual(topK(cs, 100).length, 5, 'distinct scored nets only');
});

test('paretoFront = brute-force non-dominated set, topK = full sort (fixed-seed property, 200 random runs)', (t) => {
  const rng = new Sfc32(7);
  for (let run = 0; run < 200; run++) {
    const n = 1 + rng.int(40);
    // Few distinct values, so ties on cost and on score are frequent.
    const cs = Array.from({ length: n }, (_, i) => cand(i + 1, rng.int(8) === 0 ? null : rng.int(10), 1 + rng.int(12), 1 + rng.int(12)));
    for (const key of ['params', 'flops'] as const) {
      const front = paretoFront(cs, key);
      t.deepEqual(front.map((c) => c.structure!).sort(), [...bruteFront(cs, key)].sort(), `run ${run} ${key}`);
      for (let i = 1; i < front.length; i++) t.true(front[i]![key] > front[i - 1]![key] && front[i]!.score > front[i - 1]!.score);
    }
    // topK (one pass) = the full sort's first k.
    const k = rng.int(12);
    const sorted = distinctScored(cs).sort((a, b) => b.score - a.score || a.iteration - b.iteration);
    t.deepEqual(topK(cs, k).map((c) => c.iteration), sorted.slice(0, k).map((c) => c.iteration), `run ${run} top ${k}`);
  }
});

test('log axis: ticks, when it is chosen, and positions proportional to log10', (t) => {
  t.deepEqual(logTicks(2e5, 3e8), [1e6, 1e7, 1e8]);
  t.deepEqual(logTicks(3e6, 9e7), [5e6, 1e7, 2e7, 5e7]);
  t.deepEqual(logTicks(3.1, 9.2), [4, 5, 6, 7, 8, 9]);
  t.true(spansDecades([1e6, 5e7]));
  t.false(spansDecades([1e6, 9e6]));
  t.false(spansDecades([0, 1e9]), 'zero cannot be on a log axis');
  const cs = [cand(1, 1, 1e3, 1e6), cand(2, 2, 2e3, 1e7), cand(3, 3, 3e3, 1e8), cand(4, 4, 4e3, 1e9)];
  const plots = reportPlots({ summary: summary(), candidates: cs });
  t.regex(plots.scoreVsFlops, /FLOPs \(log scale\)/);
  t.notRegex(plots.scoreVsParams, /log scale/, 'params 1k..4k: linear');
  // The four nets are one decade apart in FLOPs: equally spaced on the log axis.
  const xs = circles(plots.scoreVsFlops, 'candidates').map((c) => c.cx).sort((a, b) => a - b);
  t.is(xs.length, 4);
  for (let i = 2; i < xs.length; i++) t.true(Math.abs((xs[i]! - xs[i - 1]!) - (xs[1]! - xs[0]!)) < 0.3);
});

test('legends never cover data: the legend box lies outside the plot area, every point inside it (fixed-seed plots)', (t) => {
  const rng = new Sfc32(11);
  for (let run = 0; run < 40; run++) {
    const n = 1 + rng.int(300);
    const cs = Array.from({ length: n }, (_, i) => cand(i + 1, rng.next() * 100 - 20, 1e4 + rng.int(1e6), 10 ** (5 + 4 * rng.next()), { latencyMs: 0.1 + rng.next() * 50 }));
    const s = summary({ budgets: { params: 8e5, flops: rng.int(2) ? 3e8 : undefined, latencyMs: 30 } });
    const plots = reportPlots({ summary: s, candidates: cs });
    for (const [name, svg] of Object.entries(plots)) {
      if (name === 'bestNet' || svg === undefined) continue;
      const area = plotArea(svg);
      const legend = legendBox(svg);
      t.false(overlaps(legend, area), `run ${run} ${name}: legend overlaps the plot area`);
      for (const c of circles(svg)) {
        t.true(c.cx >= area.x - 0.1 && c.cx <= area.x + area.width + 0.1 && c.cy >= area.y - 0.1 && c.cy <= area.y + area.height + 0.1, `${name}: point outside the plot area`);
        t.false(overlaps(legend, { x: c.cx - c.r, y: c.cy - c.r, width: 2 * c.r, height: 2 * c.r }), `${name}: legend covers a point`);
      }
      t.false(/NaN|Infinity|undefined/.test(svg), name);
    }
  }
});

test('block diagram: one box per block, arrows between them, any block type drawn from the generic rows', (t) => {
  const s = parseStructure('SuperConvK3BNRELU(3,16,1,1)SuperResK1K5K1(16,32,2,16,2)SuperResK3K3(32,64,2,32,1)SuperConvK1BNRELU(64,256,1,1)');
  const blocks: ReportBlock[] = countModel(s, { resolution: 32, numClasses: 10 }).blocks;
  // A block family the report has never seen: drawn from its row like any other.
  blocks.splice(2, 0, { index: 99, type: 'MBInvResK5E6SE', text: 'MBInvResK5E6SE(32,32,1,1)', in: 32, out: 32, stride: 1, inputResolution: 16, outputResolution: 16, params: 12345, flops: 678901, layers: 1 });
  const svg = renderBlockDiagram(blocks);
  t.is((svg.match(/<g class="block"/g) ?? []).length, blocks.length);
  t.is((svg.match(/class="edge"/g) ?? []).length, blocks.length - 1);
  t.regex(svg, /data-type="MBInvResK5E6SE"/);
  t.regex(svg, /12.3k params · 679k FLOPs/);
  t.regex(svg, /ch 16 → 32 · stride 2/);
  t.regex(svg, /32×32 → 16×16 · 2 layers/);
  t.regex(svg, /data-type="Classifier"/);
  // Boxes never overlap.
  const boxes = [...svg.matchAll(/<g class="block"[^>]*>\n<title>[^<]*<\/title>\n<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => ({ x: +m[1]!, y: +m[2]!, width: +m[3]!, height: +m[4]! }));
  t.is(boxes.length, blocks.length);
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) t.false(overlaps(boxes[i]!, boxes[j]!));
});

test('bestBlocks: countModel rows whose totals are the best net\'s; a cell-space key or another count gives a note', (t) => {
  const cfg = smallConfig();
  const key = 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,64,1,1)';
  const c = countModel(parseStructure(key), { resolution: 32, numClasses: 100 });
  const member = { iteration: 3, structure: key, score: 1, params: c.params, flops: c.flops, layers: c.layers };
  const r = bestBlocks(cfg, member);
  t.is(r.blocks!.length, 4);
  t.is(r.blocks!.reduce((a, b) => a + b.params, 0), c.params);
  t.is(r.blocks!.reduce((a, b) => a + b.flops, 0), c.flops);
  const cell = bestBlocks({ ...cfg, space: 'nb201' }, { ...member, structure: '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|' });
  t.is(cell.blocks, null);
  t.regex(cell.note!, /not a PlainNet structure \(space nb201\)/);
  const other = bestBlocks({ ...cfg, space: 'X' }, { ...member, params: member.params + 1 });
  t.is(other.blocks, null);
  t.regex(other.note!, /counts this network as/);
  // The report of a cell-space best: its key, the note, no diagram.
  const s = summary({ best: { iteration: 3, structure: cell.blocks === null ? '|nor_conv_3x3~0|' : '', score: 2, params: 10, flops: 20, layers: 1 } });
  const input = { summary: s, candidates: [cand(3, 2, 10, 20, { structure: '|nor_conv_3x3~0|' })], bestBlocks: null, bestBlocksNote: cell.note };
  const html = renderHtml(input);
  t.regex(html, /\|nor_conv_3x3~0\|/);
  t.regex(html, /not a PlainNet structure/);
  t.notRegex(html, /class="block-diagram"/);
  t.is(reportPlots(input).bestNet, undefined);
});

test('processCommandLine: the zennas binary is "zennas"; arguments shell-quoted', (t) => {
  t.is(processCommandLine(['/usr/bin/node', '/x/dist/src/cli/zennas-bin.js', 'search', '--space', 'I', '--init', 'a b', "it's"]), `zennas search --space I --init 'a b' 'it'\\''s'`);
  t.is(processCommandLine(['/usr/bin/node', '/home/u/run.js', '--n', '3']), 'node /home/u/run.js --n 3');
});

test('a real run: summary.json records run metadata; report.html/md show it, the fronts, top-k, the best net block by block', async (t) => {
  const dir = tmp('report-run');
  const cfg = smallConfig({ iterations: 150 });
  const r = await runSearch(cfg, { scorer: toyZen, outDir: dir, runInfo: { threads: 3 } });
  const summaryJson = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  const run = summaryJson.run;
  t.is(run.version, JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  if (fs.existsSync(path.join(ROOT, '.git'))) {
    t.is(run.commit, childProcess.execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim());
  } else {
    t.is(run.commit, null);
  }
  t.true(Math.abs(Date.parse(run.date) - Date.now()) < 600e3, run.date);
  t.deepEqual(run.machine, { os: `${os.type()} ${os.release()} ${os.arch()}`, cpu: os.cpus()[0]!.model.trim(), cores: os.cpus().length });
  t.is(run.backend, 'custom', 'a caller\'s scorer (no scoring.proxy, no backend)');
  t.is(run.threads, 3);
  t.is(run.commandLine, processCommandLine());
  t.deepEqual(summaryJson.initialCost, (({ params, flops, layers }) => ({ params, flops, layers }))(countModel(parseStructure(cfg.initial), { resolution: 32, numClasses: 100 })));

  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  const md = fs.readFileSync(path.join(dir, 'report.md'), 'utf8');
  for (const v of [run.version, run.commit ?? 'not a git checkout', run.date, `${run.machine.cores} cores`]) {
    t.true(html.includes(v), `html shows ${v}`);
    t.true(md.includes(v), `md shows ${v}`);
  }
  const cands = fs.readFileSync(path.join(dir, 'candidates.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ReportCandidate);
  // Every net of both fronts is listed (in both files), in the front's table.
  for (const key of ['params', 'flops'] as const) {
    const front = bruteFront(cands, key);
    t.true(front.size >= 2);
    const id = key === 'params' ? 'front-scoreVsParams' : 'front-scoreVsFlops';
    const table = html.match(new RegExp(`<table class="data" id="${id}">[\\s\\S]*?</table>`))![0];
    t.is((table.match(/<tr class="net/g) ?? []).length, front.size);
    for (const s of front) {
      t.true(table.includes(s), `${key} front lists ${s}`);
      t.true(md.includes(`\`${s}\``));
    }
  }
  // Top 10: the 10 highest distinct scores, best first, the best highlighted.
  const top = html.match(/<table class="data" id="top-k">[\s\S]*?<\/table>/)![0];
  const expected = topK(cands, 10);
  const listed = [...top.matchAll(/<td class="s">([^<]*)<\/td>/g)].map((m) => m[1]);
  t.deepEqual(listed, expected.map((c) => c.structure));
  t.is(listed[0], r.best!.structure);
  t.regex(top, /<tr class="net best">/);
  // The best net block by block: the rows add up to its params and FLOPs.
  const blocks = countModel(parseStructure(r.best!.structure), { resolution: 32, numClasses: 100 }).blocks;
  const blockTable = html.match(/<table class="data" id="best-blocks">[\s\S]*?<\/table>/)![0];
  t.is((blockTable.match(/<tr title=/g) ?? []).length, blocks.length);
  for (const b of blocks) t.true(blockTable.includes(`<td class="t">${b.type}</td>`));
  t.regex(md, /\| # \| type \| channels \| stride \| resolution \| layers \| params \| FLOPs \| FLOPs share \|/);
  t.regex(html, /class="block-diagram"/);
  t.true(fs.existsSync(path.join(dir, 'best-net.svg')));
  t.is(summaryJson.files.diagramBestNet, path.join(dir, 'best-net.svg'));
  // The best-score table is in the HTML too, ending at the last iteration with the best score.
  const curve = html.match(/<table class="data" id="best-curve">[\s\S]*?<\/table>/)![0];
  t.true(curve.includes(`<tr><td>150</td><td>${r.best!.score.toFixed(4)}</td></tr>`));
  // No latency measured: no latency front, no latency plot file.
  t.notRegex(html, /vs latency/);
  t.false(fs.existsSync(path.join(dir, 'score-vs-latency.svg')));
  t.is(summaryJson.files.plotScoreVsLatency, undefined);
  // The run's manifest claims every report file, the optional ones too (so --overwrite deletes them).
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'zennas-run.json'), 'utf8'));
  for (const f of ['report.html', 'report.md', 'best-vs-iteration.svg', 'score-vs-params.svg', 'score-vs-flops.svg', 'score-vs-latency.svg', 'best-net.svg']) t.true(manifest.files.includes(f), f);
});

/** A latency source that lets the initial structure through and puts every child at ≥ 19.7 ms. */
function latencyFor(initial: string, childMs: (s: Structure) => number) {
  return async (s: Structure) => (formatStructure(s) === initial ? 1 : childMs(s));
}

test('latency measured: a third front (score vs latency), its plot file, and latencies in the tables', async (t) => {
  const dir = tmp('report-latency');
  const cfg = smallConfig({ iterations: 80, budgets: { params: 300e3, layers: 12, latencyMs: 40 } });
  const ms = (s: Structure) => 2 + countModel(s, { resolution: 32 }).flops / 1e6;
  await runSearch(cfg, { scorer: toyZen, outDir: dir, latency: latencyFor(cfg.initial, ms) });
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  const summaryJson = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  t.true(fs.existsSync(path.join(dir, 'score-vs-latency.svg')));
  t.is(summaryJson.files.plotScoreVsLatency, path.join(dir, 'score-vs-latency.svg'));
  t.regex(html, /Pareto front: Zen-score vs latency/);
  t.regex(html, /<table class="data" id="front-scoreVsLatency">/);
  t.regex(html, /<th>latency<\/th>/);
  t.regex(fs.readFileSync(path.join(dir, 'report.md'), 'utf8'), /!\[Pareto front: score vs latency\]\(score-vs-latency\.svg\)/);
  t.true(summaryJson.latencySeen.count > 0 && summaryJson.latencySeen.minMs <= summaryJson.latencySeen.maxMs);
});

test('empty run, latency: the report says why — every child over the budget, the fastest one measured', async (t) => {
  const dir = tmp('report-empty');
  const cfg = smallConfig({ iterations: 30, budgets: { params: 300e3, layers: 12, latencyMs: 5 } });
  await runSearch(cfg, { scorer: toyZen, outDir: dir, latency: latencyFor(cfg.initial, (s) => 19.7 + countModel(s, { resolution: 32 }).params / 1e5) });
  const summaryJson = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  t.is(summaryJson.best, null);
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  const md = fs.readFileSync(path.join(dir, 'report.md'), 'utf8');
  const why = html.match(/<div class="why" id="no-result">([\s\S]*?)<\/div>/)![1]!;
  const n = summaryJson.counts.rejected.latency;
  t.true(n > 0);
  t.true(why.includes(`${n} over the latency budget`), why);
  t.true(summaryJson.latencySeen.minMs >= 19.7);
  t.true(why.includes(`the fastest of the ${summaryJson.latencySeen.count} measured took ${formatDuration(summaryJson.latencySeen.minMs)} against the 5ms budget`), why);
  t.true(md.includes('> **No result.**'));
  t.regex(html, /Nothing to plot or list: no candidate was scored/);
});

test('empty run, scoring: every candidate failed — the report names the error', async (t) => {
  const dir = tmp('report-failed');
  await runSearch(smallConfig({ iterations: 20 }), { scorer: async () => { throw new Error('E_OUT_OF_MEMORY: plan too large'); }, outDir: dir });
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  t.regex(html, /All \d+ candidates that fitted the budgets failed to score: .*E_OUT_OF_MEMORY: plan too large \(×\d+\)/);
});

test('empty run, static budgets: rejected counts beside the initial structure\'s own size', (t) => {
  const s = summary({
    best: null, budgets: { params: 1e6, layers: 10 }, budgetText: 'params ≤ 1M, layers ≤ 10', iterationsDone: 50,
    initialCost: { params: 990e3, flops: 5e7, layers: 10 },
    counts: { scored: 0, failed: 0, invalid: 0, rejected: { params: 30, flops: 0, layers: 20, latency: 0 } },
  });
  const html = renderHtml({ summary: s, candidates: [] });
  t.regex(html, /50 proposals were over budget — 30 over the params budget; the initial structure has 990k of the 1M budget; 20 over the layers budget; the initial structure has 10 of the 10 budget/);
  t.regex(renderMarkdown({ summary: s, candidates: [] }), /^> \*\*No result\.\*\* No candidate fitted the budgets/m);
});

function summary(over: Record<string, unknown> = {}): Parameters<typeof renderHtml>[0]['summary'] {
  return {
    space: 'I', preset: 'cifar', se: false, complete: true, iterations: 10, iterationsDone: 10, seed: 0, population: 8, populationSize: 8, inFlight: 2,
    resolution: 32, numClasses: 100, initial: 'SuperConvK3BNRELU(3,8,1,1)', budgets: {}, budgetText: 'no budget', scoring: { proxy: 'zen' },
    best: { iteration: 4, structure: 'net4', score: 4, params: 4e3, flops: 1e9, layers: 3 },
    counts: { scored: 4, failed: 0, rejected: { params: 0, flops: 0, layers: 0, latency: 0 } },
    timing: { wallSeconds: 1, candidatesPerSecond: 4, tsMsPerCandidate: 0.1, engineMsPerCandidate: 1, tsShare: 0.1 },
    ...over,
  } as Parameters<typeof renderHtml>[0]['summary'];
}

test('plots without data say so; renderPlot marks its plot area and legend box', (t) => {
  const svg = renderPlot({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ label: 'a', points: [], color: '#000', style: 'dots' }] });
  t.regex(svg, /no data/);
  t.regex(svg, /class="plot-area"/);
  t.regex(svg, /class="legend-box"/);
});
