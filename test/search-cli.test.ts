import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { BIN, zennas } from './helpers/cli';

// The 'flops' proxy (an official zero-shot baseline) needs no native engine, so these tests run everywhere.
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `zennas-cli-${name}-`));

test('search --json writes all files and a summary; best.txt loads in `zennas info`', (t) => {
  const out = path.join(tmp('json'), 'run');
  const r = zennas('search', '--proxy', 'flops', '--iterations', '200', '--population', '16', '--budget-params', '400k', '--seed', '5', '--out', out, '--json');
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.is(j.space, 'I');
  t.is(j.iterationsDone, 200);
  t.true(j.complete);
  t.deepEqual(j.budgets, { params: 400_000, layers: 18 });
  t.true(j.best.params <= 400_000 && j.best.layers <= 18);
  for (const f of ['candidates.jsonl', 'checkpoint.json', 'best.txt', 'summary.json', 'report.html', 'report.md']) t.true(fs.existsSync(path.join(out, f)), f);
  t.is(r.stderr, '', 'no progress bar or noise with --json');
  const info = zennas('info', path.join(out, 'best.txt'), '--resolution', '32', '--num-classes', '100', '--json');
  t.is(info.code, 0, info.stderr);
  t.is(JSON.parse(info.stdout).params, j.best.params);
});

test('human output names the best structure, its counts and the files', (t) => {
  const out = path.join(tmp('human'), 'run');
  const r = zennas('search', '--space', 'II', '--proxy', 'params', '--iterations', '120', '--population', '16', '--out', out);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^best log10\(params\) = [\d.]+, i\.e\. [\d.]+k params \(the 'params' baseline; iteration \d+ of 120, space II, 32×32\)\nSuperConvK3BNRELU\(3,/);
  t.regex(r.stdout, /params [\d.]+k \(\d{1,3}(,\d{3})*\), FLOPs [\d.]+M \(\d{1,3}(,\d{3})*\), layers \d+ {2}\[budgets: params ≤ 1M, layers ≤ 18\]/);
  t.regex(r.stdout, /files: .*best\.txt/);
});

test('a killed CLI run resumed with --resume equals an uninterrupted one', async (t) => {
  const args = ['search', '--proxy', 'flops', '--iterations', '2500', '--population', '24', '--seed', '9', '--checkpoint-every', '1'];
  const ref = path.join(tmp('ref'), 'run');
  t.is(zennas(...args, '--out', ref, '--json').code, 0);
  const dir = path.join(tmp('killed'), 'run');
  const child = spawn(process.execPath, [BIN, ...args, '--out', dir, '--json'], { stdio: 'ignore' });
  await new Promise((res) => setTimeout(res, 900));
  child.kill('SIGKILL');
  await new Promise((res) => child.on('exit', res));
  if (!fs.existsSync(path.join(dir, 'checkpoint.json'))) fs.rmSync(dir, { recursive: true, force: true });
  // Only --out and --resume: the other flags come from the checkpoint.
  const r = fs.existsSync(dir) ? zennas('search', '--out', dir, '--resume', '--json') : zennas(...args, '--out', dir, '--json');
  t.is(r.code, 0, r.stderr);
  t.is(fs.readFileSync(path.join(dir, 'candidates.jsonl'), 'utf8'), fs.readFileSync(path.join(ref, 'candidates.jsonl'), 'utf8'));
  t.is(fs.readFileSync(path.join(dir, 'best.txt'), 'utf8'), fs.readFileSync(path.join(ref, 'best.txt'), 'utf8'));
  // Contradicting the checkpoint is refused with the field named.
  const bad = zennas('search', '--out', dir, '--resume', '--seed', '10');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /E_CHECKPOINT.*'seed' was 9 in the checkpoint but is 10 now/);
});

const badFlags: Array<[string[], RegExp]> = [
  [['--budget-params', 'lots'], /E_OPTION.*--budget-params: expected a count such as 1M/],
  [['--budget-flops', '-400M'], /--budget-flops: must not be negative/],
  [['--budget-params', '1e40'], /--budget-params: '1e40' is absurdly large/],
  [['--budget-latency', '32ms'], /--budget-latency needs a latency source and no usable GPU was found \(.*\): add --latency-backend cpu/],
  [['--budget-latency', 'soon', '--latency-backend', 'cuda'], /--budget-latency: expected a duration/],
  [['--space', 'III'], /--space: unknown search space 'III'; known: I, II/],
  [['--iterations', '0'], /--iterations must be in 1\.\./],
  [['--population', '-3'], /--population must be a whole number/],
  [['--max-layers', 'many'], /--max-layers must be a whole number/],
  [['--resume'], /--resume needs --out DIR/],
  [['--se'], /--se: Search Space I has no SE option/],
  [['--proxy', 'magic'], /--proxy must be one of zen, flops, params/],
  [['--budget-params', '10k'], /initial structure breaks the params budget/],
  [['--init', 'SuperConvK3BNRELU(3,8,1,1)SuperResIDWE6K3(8,16,1,8,1)'], /Search Space I: block 1 \(SuperResIDWE6K3\) is not in the space/],
];
for (const [args, re] of badFlags) {
  test(`bad flag: ${args.join(' ')}`, (t) => {
    const r = zennas('search', '--proxy', args.includes('--proxy') ? 'zen' : 'flops', ...args);
    t.is(r.code, 2, r.stdout + r.stderr);
    t.regex(r.stderr, re);
    t.notRegex(r.stderr, /at Object\.|node:internal/);
  });
}

test('--help documents spaces, presets, units and examples', (t) => {
  const r = zennas('search', '--help');
  t.is(r.code, 0);
  for (const re of [/--budget-params <count>/, /--budget-latency <time>/, /preset cifar: .*params ≤ 1M, layers ≤ 18, 2000 iterations/, /preset imagenet/, /Examples:/, /--resume/]) t.regex(r.stdout, re);
});

test("--budget-… none lifts a preset's budget (cifar's 1M params)", (t) => {
  const r = zennas('search', '--proxy', 'params', '--budget-params', 'none', '--iterations', '60', '--population', '8', '--json');
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.deepEqual(j.budgets, { layers: 18 });
  const none = zennas('search', '--proxy', 'params', '--budget-params', 'none', '--max-layers', 'none', '--iterations', '10', '--population', '4', '--json');
  t.is(none.code, 0, none.stderr);
  t.deepEqual(JSON.parse(none.stdout).budgets, {});
});

test('--out holding a search: refused without --overwrite; --overwrite starts it afresh', (t) => {
  const out = path.join(tmp('overwrite'), 'run');
  const args = ['search', '--proxy', 'flops', '--iterations', '40', '--population', '8', '--out', out, '--json'];
  t.is(zennas(...args).code, 0);
  const first = fs.readFileSync(path.join(out, 'candidates.jsonl'), 'utf8');
  fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
  const again = zennas(...args);
  t.is(again.code, 2);
  t.regex(again.stderr, /already holds a search .*--overwrite/);
  const r = zennas(...args, '--overwrite');
  t.is(r.code, 0, r.stderr);
  t.is(fs.readFileSync(path.join(out, 'candidates.jsonl'), 'utf8'), first, 'same seed, same run');
  t.is(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'mine', 'files that are not the search\'s are kept');
  t.regex(zennas(...args, '--overwrite', '--resume').stderr, /--resume and --overwrite contradict/);
});

test('output piped into a reader that quits early ends quietly', (t) => {
  // `true` exits without reading, so every write of zennas meets a closed pipe (EPIPE).
  const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" search --proxy flops --iterations 30 --population 8 | true`], { encoding: 'utf8' });
  t.is(r.status, 0);
  t.notRegex(r.stderr, /EPIPE|Unhandled|at /);
});
