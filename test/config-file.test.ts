/** Issue #13 item 15: `search --config FILE` (JSON or YAML, keyed by the flags' names) and `--quiet`. */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { zennas } from './helpers/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-config-'));
const file = (name: string, text: string) => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };
const strip = (j: { timing?: unknown; files?: unknown; run?: unknown }) => { const { timing: _t, files: _f, run: _r, ...rest } = j; return rest; };

test('a YAML or JSON config gives the same search as its flags; the command line wins', (t) => {
  const flags = ['--space', 'II', '--proxy', 'flops', '--iterations', '60', '--population', '8', '--budget-params', '600k', '--seed', '4', '--se'];
  const yaml = file('s.yaml', '# comment\nspace: II\nproxy: flops\niterations: 60\npopulation: 8\nbudget-params: 600k\nseed: 4\nse: true\nprogress: false\n');
  const json = file('s.json', JSON.stringify({ space: 'II', proxy: 'flops', iterations: 60, population: 8, 'budget-params': '600k', seed: 4, se: true }));
  const a = JSON.parse(zennas('search', ...flags, '--json').stdout);
  const b = JSON.parse(zennas('search', '--config', yaml, '--json').stdout);
  const c = JSON.parse(zennas('search', '--config', json, '--json').stdout);
  t.deepEqual(strip(b), strip(a));
  t.deepEqual(strip(c), strip(a));
  t.true(a.se);
  const d = JSON.parse(zennas('search', '--config', yaml, '--iterations', '30', '--json').stdout);
  t.is(d.iterations, 30, 'the command line wins over the file');
});

test('a config with an unknown flag, a bad value or the wrong shape is E_OPTION naming the file and the flag', (t) => {
  const cases: [string, string, RegExp][] = [
    ['typo.yaml', 'iteratons: 5\n', /--config .*typo\.yaml: unknown flag 'iteratons' \(did you mean 'iterations'\?\)/],
    ['value.json', '{"budget-params": "lots"}', /--config .*value\.json: --budget-params: expected a count/],
    ['list.yaml', '- iterations\n', /must be a mapping of flag names to values/],
    ['switch.yaml', 'se: 1\n', /'se' is a switch: true or false, got 1/],
    ['nested.yaml', 'iterations: [1, 2]\n', /'iterations' must be a single value/],
    ['broken.json', '{"iterations": ', /not valid JSON/],
    ['self.yaml', 'config: other.yaml\n', /unknown flag 'config'/],
  ];
  for (const [name, text, re] of cases) {
    const r = zennas('search', '--config', file(name, text));
    t.is(r.code, 2, name);
    t.regex(r.stderr, re, name);
  }
  const missing = zennas('search', '--config', path.join(dir, 'nope.yaml'));
  t.is(missing.code, 2);
  t.regex(missing.stderr, /cannot open the config file/);
  const fifoLike = zennas('search', '--config', dir);
  t.regex(fifoLike.stderr, /is not a regular file/);
});

test('--quiet prints only the result: no progress lines, no notes', (t) => {
  const r = zennas('search', '--proxy', 'flops', '--iterations', '40', '--population', '8', '--quiet');
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  t.regex(r.stdout, /^best log10\(FLOPs\)/);
  t.notRegex(r.stdout, /nothing was saved/);
});
