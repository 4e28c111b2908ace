/**
 * `zennas proxies` and `zennas score --proxy` (the compiled CLI, as users run it; `npm test`
 * compiles first).
 */
import test from 'ava';
import { zennas } from './helpers/cli';
import { PROXY_NAMES, PROXY_TABLE } from '../src/proxies/table';
import { ENGINE_OPTIONS } from '../src/engine/options';
import { Engine } from '../src/engine/engine';
import { encodeDescriptor } from '../src/ops/descriptor';
import { lowerForProxy } from '../src/proxies/lowering';
import { parseStructure } from '../src/grammar/parse';
import { proxyReference } from '../src/reference/proxies';
import { score } from '../src/score';

const S = 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResK1K3K1(16,16,1,8,1)';

test('zennas proxies: every proxy of the table with its definition and source; --json', (t) => {
  const r = zennas('proxies');
  t.is(r.code, 0, r.stderr);
  for (const n of PROXY_NAMES) t.regex(r.stdout, new RegExp(`^${n}  \\(`, 'm'));
  t.regex(r.stdout, /synflow {2}\(Zen-NAS; lower is better\)/);
  t.regex(r.stdout, /source: https:\/\/github.com\/SamsungLabs\/zero-cost-nas/);
  const j = JSON.parse(zennas('proxies', '--json').stdout) as { name: string; direction: string }[];
  t.deepEqual(j.map((p) => p.name), PROXY_NAMES);
});

test('zennas score --proxy: a table of the proxies (proxy, variant, mean, std, seconds); --json; all', (t) => {
  const r = zennas('score', S, '--proxy', 'grad_norm,snip', '-n', '2', '-t', '2');
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.regex(lines[0]!, /^proxy\s+variant\s+mean\s+std\s+seconds$/);
  t.regex(lines[1]!, /^grad_norm\s+Zen-NAS\s+\d/);
  t.regex(lines[2]!, /^snip\s+zero-cost-nas\s+\d/);
  const j = JSON.parse(zennas('score', S, '--proxy', 'all', '-n', '1', '-t', '2', '--json').stdout) as { resolution: number; proxies: { proxy: string; mean: number; scores: number[]; direction: string }[] };
  t.is(j.resolution, 32, 'the table default resolution');
  t.deepEqual(j.proxies.map((p) => p.proxy), PROXY_NAMES);
  for (const p of j.proxies) t.true(Number.isFinite(p.mean) && p.scores.length === 1, p.proxy);
  t.is(j.proxies.find((p) => p.proxy === 'synflow')!.direction, 'min');
  // the same seed and options reproduce the API's numbers
  const again = JSON.parse(zennas('score', S, '--proxy', 'naswot,gsnr', '-n', '1', '-t', '1', '--json').stdout) as typeof j;
  t.is(again.proxies[0]!.mean, j.proxies.find((p) => p.proxy === 'naswot')!.mean);
  t.is(again.proxies[1]!.mean, j.proxies.find((p) => p.proxy === 'gsnr')!.mean);
});

test('zennas score --proxy: unknown names and flags that apply to none of the proxies are clear errors', (t) => {
  const a = zennas('score', S, '--proxy', 'grad_norm,jacob', '-n', '1');
  t.is(a.code, 2);
  t.regex(a.stderr, /E_OPTION.*unknown proxy 'jacob'.*grad_norm/);
  const b = zennas('score', S, '--proxy', 'snip', '--xi', '1e-6', '-n', '1');
  t.is(b.code, 2);
  t.regex(b.stderr, /option 'xi' applies to none of the proxies snip \(it is taken by: gsnr\)/);
  const c = zennas('score', S, '--proxy', 'gsnr', '--gsnr-mode', 'sometimes', '-n', '1');
  t.is(c.code, 2);
  t.regex(c.stderr, /--gsnr-mode must be/);
});

// ---- --hvp-precision (grasp's Hessian-vector product in float32 or float64)

test('zennas score --proxy grasp --hvp-precision float64 = the API and engine.run in float64 (bit for bit), = the float64 reference within 1e-9, ≠ the float32 product', async (t) => {
  const args = ['score', S, '--proxy', 'grasp', '-r', '8', '-b', '4', '-n', '2', '-s', '5', '-t', '2', '--json'];
  const r64 = zennas(...args, '--hvp-precision', 'float64');
  t.is(r64.code, 0, r64.stderr);
  const cli64 = (JSON.parse(r64.stdout) as { proxies: { proxy: string; scores: number[]; options: Record<string, unknown> }[] }).proxies[0]!;
  const r32 = zennas(...args, '--hvp-precision', 'float32');
  t.is(r32.code, 0, r32.stderr);
  const cli32 = (JSON.parse(r32.stdout) as { proxies: { scores: number[] }[] }).proxies[0]!;
  const dflt = (JSON.parse(zennas(...args).stdout) as { proxies: { scores: number[] }[] }).proxies[0]!;
  t.deepEqual(dflt.scores, cli32.scores, "float32 is the default");
  const api = await score(S, { proxy: 'grasp', resolution: 8, batchSize: 4, repeats: 2, seed: 5, threads: 2, hvpPrecision: 'float64' });
  t.deepEqual(cli64.scores, api.scores, 'the CLI = score() with hvpPrecision float64');
  const d = encodeDescriptor(lowerForProxy(parseStructure(S), PROXY_TABLE.grasp, { se: false, numClasses: 10 }));
  const opts = { resolution: 8, batchSize: 4, repeats: 2, seed: 5 };
  const engine = new Engine({ threads: 2 });
  try {
    t.deepEqual(cli64.scores, (await engine.run('grasp', d, { ...opts, hvpPrecision: 'float64' })).scores, "the CLI = engine.run('grasp', …, { hvpPrecision: 'float64' })");
    t.deepEqual(cli32.scores, (await engine.run('grasp', d, opts)).scores);
  } finally {
    engine.close();
  }
  // The float64 reference (src/reference: exact R-operator in float64, the engine's float32 draws).
  const ref = proxyReference('grasp', d, { ...opts, float32Draws: true });
  cli64.scores.forEach((v, i) => t.true(Math.abs(v - ref.scores[i]!) <= 1e-9 * Math.abs(ref.scores[i]!), `repeat ${i}: ${v} vs reference ${ref.scores[i]}`));
  t.notDeepEqual(cli64.scores, cli32.scores, 'the float32 product rounds differently');
});

test('zennas score --hvp-precision: refused on proxies without it (naming grasp) and for a value outside the table', (t) => {
  const a = zennas('score', S, '--proxy', 'snip,gsnr', '--hvp-precision', 'float64', '-n', '1');
  t.is(a.code, 2);
  t.regex(a.stderr, /E_OPTION.*option 'hvpPrecision' applies to none of the proxies snip, gsnr \(it is taken by: grasp\)/);
  const b = zennas('score', S, '--proxy', 'grasp', '--hvp-precision', 'float16', '-n', '1');
  t.is(b.code, 2);
  t.regex(b.stderr, /E_OPTION.*--hvp-precision must be 'float32' or 'float64', got 'float16'/);
  const c = zennas('score', S, '--proxy', 'gsnr', '--gsnr-mode', 'sometimes', '-n', '1');
  t.regex(c.stderr, /--gsnr-mode must be 'batch', 'official' or 'sample', got 'sometimes'/);
  // The help of both flags is the option table's doc.
  const h = zennas('score', '--help').stdout.replace(/\s+/g, ' ');
  t.true(h.includes(`--hvp-precision <p> ${ENGINE_OPTIONS.hvpPrecision.doc.replace(/\s+/g, ' ')}`));
  t.true(h.includes(`--gsnr-mode <mode> ${ENGINE_OPTIONS.gsnrMode.doc.replace(/\s+/g, ' ')}`));
});
