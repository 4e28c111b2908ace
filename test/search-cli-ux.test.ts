/**
 * Issue #13 item 12–13: what `zennas search` says about its run folder and its result — extending a
 * finished run, resuming with a flag of another search, --out naming a file, no --out, and the
 * official count baselines' values in words. The 'flops'/'params' proxies need no engine.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { zennas } from './helpers/cli';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `zennas-ux-${name}-`));
const lines = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => { const { seconds: _s, ...rest } = JSON.parse(l); return rest; });

test('--resume --iterations N extends a finished run; with a constant rho it equals one run of N', (t) => {
  const base = ['search', '--proxy', 'flops', '--population', '12', '--seed', '3', '--rho', '0.4', '--budget-params', '300k', '--json'];
  const short = path.join(tmp('ext'), 'run');
  t.is(zennas(...base, '--iterations', '80', '--out', short).code, 0);
  const ext = zennas('search', '--out', short, '--resume', '--iterations', '160', '--json');
  t.is(ext.code, 0, ext.stderr);
  const j = JSON.parse(ext.stdout);
  t.is(j.iterationsDone, 160);
  t.true(j.complete);
  const long = path.join(tmp('long'), 'run');
  t.is(zennas(...base, '--iterations', '160', '--out', long).code, 0);
  t.deepEqual(lines(path.join(short, 'candidates.jsonl')), lines(path.join(long, 'candidates.jsonl')));
  // Fewer iterations than done would drop work: refused, nothing touched.
  const before = fs.readFileSync(path.join(short, 'candidates.jsonl'));
  const fewer = zennas('search', '--out', short, '--resume', '--iterations', '100');
  t.is(fewer.code, 2);
  t.regex(fewer.stderr, /the run has done 160 iterations; --iterations 100 would undo some: give at least 160, or leave it out/);
  t.deepEqual(fs.readFileSync(path.join(short, 'candidates.jsonl')), before);
});

test('--resume with the --space, --preset or --proxy of another search says which the run belongs to', (t) => {
  const out = path.join(tmp('space'), 'run');
  t.is(zennas('search', '--proxy', 'params', '--iterations', '20', '--population', '8', '--out', out, '--json').code, 0);
  const space = zennas('search', '--out', out, '--resume', '--space', 'II');
  t.is(space.code, 2);
  t.regex(space.stderr, /^zennas: error \[E_CHECKPOINT\]: the run in .* belongs to --space I, not II \(its checkpoint says so\): drop --space to continue it/);
  const proxy = zennas('search', '--out', out, '--resume', '--proxy', 'flops');
  t.regex(proxy.stderr, /belongs to --proxy params, not flops/);
  const preset = zennas('search', '--out', out, '--resume', '--preset', 'imagenet');
  t.regex(preset.stderr, /belongs to --preset cifar, not imagenet/);
  // The same values, spelt differently, are the same search.
  t.is(zennas('search', '--out', out, '--resume', '--space', '1', '--json').code, 0);
});

test('--out naming a file says it is a file; a run without --out says nothing was saved', (t) => {
  const dir = tmp('file');
  const file = path.join(dir, 'notes.txt');
  fs.writeFileSync(file, 'mine');
  const r = zennas('search', '--proxy', 'params', '--iterations', '5', '--out', file);
  t.is(r.code, 2);
  t.regex(r.stderr, /--out: '.*notes\.txt' is a regular file, not a folder/);
  t.is(fs.readFileSync(file, 'utf8'), 'mine');
  const none = zennas('search', '--proxy', 'flops', '--iterations', '10', '--population', '8');
  t.is(none.code, 0, none.stderr);
  t.regex(none.stdout, /^best log10\(FLOPs\) = \d+\.\d{4}, i\.e\. [\d.]+[kM] FLOPs \(the 'flops' baseline; /);
  t.regex(none.stdout, /nothing was saved: add --out DIR/);
  // The value in words matches the count printed with the best net.
  const m = /log10\(FLOPs\) = (\d+\.\d+)/.exec(none.stdout)!;
  const flops = Number(/FLOPs [\d.]+[kMG]? \(([\d,]+)\)/.exec(none.stdout)![1]!.replace(/,/g, ''));
  t.true(Math.abs(Number(m[1]) - Math.log10(flops)) < 1e-4);
});
