/**
 * `zennas proxies` and `zennas score --proxy` (the compiled CLI, as users run it; `npm test`
 * compiles first).
 */
import test from 'ava';
import { zennas } from './helpers/cli';
import { PROXY_NAMES } from '../src/proxies/table';

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
