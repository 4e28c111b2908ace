/**
 * Rank correlations (Kendall τ-b, Spearman ρ against brute-force definitions, bootstrap), the
 * accuracy-table reader, and `zennas correlate` on the synthetic NAS-Bench-201 fixture.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { averageRanks, bootstrapCorrelation, kendallTau, spearmanRho } from '../src/stats/rank-correlation';
import { parseAccuracyTable, parseCsv } from '../src/stats/accuracy-table';
import { Sfc32 } from '../src/rng/sfc32';
import { Engine } from '../src/engine/engine';
import { correlateTable } from '../src/stats/correlate';
import { zennas } from './helpers/cli';

/** τ-b from its definition: (concordant − discordant) / √((n0 − x ties)(n0 − y ties)), O(n²). */
function tauBrute(x: number[], y: number[]): number {
  let c = 0, d = 0, tx = 0, ty = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const a = Math.sign(x[i]! - x[j]!), b = Math.sign(y[i]! - y[j]!);
      if (a === 0 && b === 0) continue;
      if (a === 0) tx++;
      else if (b === 0) ty++;
      else if (a === b) c++;
      else d++;
    }
  }
  return (c - d) / Math.sqrt((c + d + tx) * (c + d + ty));
}

test('Kendall τ-b (O(n log n)) = its O(n²) definition on random data with ties; Spearman ρ = 1 − 6Σd²/(n(n²−1)) without ties', (t) => {
  const rng = new Sfc32(7);
  for (let k = 0; k < 60; k++) {
    const n = 2 + rng.int(60);
    const levels = 1 + rng.int(12);
    const x = Array.from({ length: n }, () => rng.int(levels));
    const y = x.map((v) => (rng.int(3) === 0 ? rng.int(levels) : v + rng.int(3)));
    const want = tauBrute(x, y);
    const got = kendallTau(x, y);
    if (Number.isNaN(want)) t.true(Number.isNaN(got));
    else t.true(Math.abs(got - want) < 1e-12, `n ${n}: ${got} vs ${want}`);
  }
  const x = [3.1, 0.2, 5.5, 1.7, 9.9, 4.4, 7.0];
  const y = [2, 1, 7, 3, 6, 4, 5];
  const rx = averageRanks(x), ry = averageRanks(y);
  const d2 = rx.reduce((a, r, i) => a + (r - ry[i]!) ** 2, 0);
  t.true(Math.abs(spearmanRho(x, y) - (1 - (6 * d2) / (7 * 48))) < 1e-12);
  t.deepEqual(averageRanks([10, 20, 10, 30]), [1.5, 3, 1.5, 4]);
  t.is(kendallTau([1, 2, 3], [3, 2, 1]), -1);
  t.is(spearmanRho([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  t.true(Number.isNaN(kendallTau([1, 1, 1], [1, 2, 3])));
  t.throws(() => kendallTau([1], [1]), { code: 'E_OPTION', message: /at least 2 pairs/ });
  t.throws(() => spearmanRho([1, 2], [1]), { code: 'E_OPTION', message: /paired/ });
});

test('bootstrap: deterministic with a seed, the interval holds the estimate, within [−1, 1]', (t) => {
  const rng = new Sfc32(3);
  const x = Array.from({ length: 40 }, () => rng.next());
  const y = x.map((v) => v + 0.3 * rng.next());
  const a = bootstrapCorrelation(kendallTau, x, y, { resamples: 300, seed: 1 });
  t.deepEqual(bootstrapCorrelation(kendallTau, x, y, { resamples: 300, seed: 1 }), a);
  t.not(bootstrapCorrelation(kendallTau, x, y, { resamples: 300, seed: 2 }).low, a.low);
  t.true(a.low <= a.value && a.value <= a.high && a.high <= 1 && a.low >= -1);
  t.is(a.resamples, 300);
  t.is(a.level, 0.95);
  t.throws(() => bootstrapCorrelation(kendallTau, x, y, { level: 1 }), { code: 'E_OPTION', message: /level/ });
});

test('accuracy tables: CSV quoting, comments, columns, errors with line numbers', (t) => {
  t.deepEqual(parseCsv('a,b\n"x, ""y""",2\r\n\n3,4'), [{ line: 1, fields: ['a', 'b'] }, { line: 2, fields: ['x, "y"', '2'] }, { line: 4, fields: ['3', '4'] }]);
  const tab = parseAccuracyTable('# made up\nindex,top1\n0,91.5\n9,88\n', { accuracyColumn: 'top1' });
  t.is(tab.archColumn, 'index');
  t.deepEqual(tab.rows, [{ line: 3, arch: '0', accuracy: 91.5 }, { line: 4, arch: '9', accuracy: 88 }]);
  t.throws(() => parseAccuracyTable('genotype,acc\nx,1\ny,2\n'), { code: 'E_PARSE', message: /no 'accuracy' column \(name another with --accuracy-column\)/ });
  t.throws(() => parseAccuracyTable('arch,accuracy\nx,1\n'), { code: 'E_PARSE', message: /no 'genotype', 'index' or 'structure' column/ });
  t.throws(() => parseAccuracyTable('genotype,accuracy\nx,high\ny,2\n', { file: 't.csv' }), { code: 'E_PARSE', message: /t\.csv line 2: accuracy 'high' is not a number/ });
  t.throws(() => parseAccuracyTable('genotype,accuracy\nx,1,3\n'), { code: 'E_PARSE', message: /line 2: 3 fields/ });
  t.throws(() => parseAccuracyTable('genotype,accuracy\n"x,1\n'), { code: 'E_PARSE', message: /unterminated/ });
});

const FIXTURE = path.join(__dirname, 'fixtures/nb201/synthetic-accuracy.csv');

test('zennas correlate on the NAS-Bench-201 fixture: τ, ρ with intervals per proxy, one SVG each, JSON', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-correlate-'));
  const args = ['correlate', '--table', FIXTURE, '--proxy', 'gsnr,naswot,synflow', '-C', '2', '-N', '1', '-b', '8', '-r', '8', '--bootstrap', '200', '-t', '1', '--svg-dir', dir];
  const j = zennas(...args, '--json', '--no-progress');
  t.is(j.code, 0, j.stderr);
  const r = JSON.parse(j.stdout) as { rows: number; proxies: { proxy: string; scores: (number | null)[]; failed: { line: number }[]; kendallTau: { value: number; low: number; high: number }; spearmanRho: { value: number }; svgFile: string }[]; archs: string[] };
  t.is(r.rows, 12);
  t.deepEqual(r.proxies.map((p) => p.proxy), ['gsnr', 'naswot', 'synflow']);
  for (const p of r.proxies) {
    t.true(p.kendallTau.low <= p.kendallTau.value && p.kendallTau.value <= p.kendallTau.high);
    const svg = fs.readFileSync(p.svgFile, 'utf8');
    t.regex(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    t.is((svg.match(/<circle/g) ?? []).length - 1, p.scores.filter((s) => s !== null).length);  // one dot per row, + the legend's
  }
  // naswot is undefined on the all-none net (every image shares every ReLU code): that row is left out, the rest scored.
  const naswot = r.proxies[1]!;
  t.deepEqual(naswot.failed.map((f) => f.line), [10]);
  t.is(naswot.scores[6], null);
  t.is(r.archs[6], '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|');
  // Text output: one row per proxy, the note about 'min' proxies, the files.
  const txt = zennas(...args, '--no-progress');
  t.is(txt.code, 0, txt.stderr);
  t.regex(txt.stdout, /proxy +Kendall τ +95% interval +Spearman ρ/);
  t.regex(txt.stdout, new RegExp(`gsnr +${r.proxies[0]!.kendallTau.value.toFixed(3)} `));
  t.regex(txt.stdout, /naswot: 1 row\(s\) left out/);
  t.regex(txt.stdout, /scatter synflow: .*synthetic-accuracy\.synflow\.svg/);
  // Usage errors.
  const bad = zennas('correlate', '--table', FIXTURE, '--proxy', 'gsnr,nope');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /unknown proxy 'nope'/);
  const bad2 = zennas('correlate', '--table', FIXTURE, '--proxy', 'gsnr', '--space', 'plainnet');
  t.regex(bad2.stderr, /a PlainNet table needs a 'structure' column/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('correlateTable on PlainNet structures: scores as `zennas score --proxy` lowers them; τ of a perfect ranking is 1', async (t) => {
  const rows = ['SuperConvK3BNRELU(3,8,1,1)', 'SuperConvK3BNRELU(3,8,1,1)SuperConvK3BNRELU(8,16,2,1)', 'SuperConvK3BNRELU(3,16,1,1)SuperResK3K3(16,32,2,16,1)SuperResK3K3(32,32,1,16,1)'];
  const engine = new Engine({ threads: 1 });
  try {
    const table = parseAccuracyTable(`structure,accuracy\n${rows.map((r, i) => `"${r}",${50 + i}`).join('\n')}\n`);
    const r = await correlateTable(engine, table, ['zen'], { engineOptions: { resolution: 16, batchSize: 8 }, resamples: 50 });
    t.is(r.space, 'plainnet');
    t.deepEqual(r.archs, rows);
    t.is(r.proxies[0]!.scores.length, 3);
    // Deeper nets have larger Zen-scores here, as the made-up accuracies: a perfect ranking.
    t.is(r.proxies[0]!.kendallTau.value, 1);
    t.is(r.proxies[0]!.spearmanRho.value, 1);
    await t.throwsAsync(correlateTable(engine, table, ['zen'], { space: 'nb201' }), { code: 'E_OPTION', message: /needs a 'genotype' or 'index' column/ });
    const bad = parseAccuracyTable('genotype,accuracy\n|none~0|,1\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,2\n', { file: 'x.csv' });
    await t.throwsAsync(correlateTable(engine, bad, ['zen']), { code: 'E_PARSE', message: /^line 2: NAS-Bench-201 genotype .*expected 3 nodes/ });
  } finally {
    engine.close();
  }
});
