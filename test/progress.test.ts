/** Issue #13 item 10: progress that fits the terminal, says nothing false at the start, and shows in logs. */
import test from 'ava';
import { spawnSync } from 'child_process';
import { BIN } from './helpers/cli';
import { progressLine } from '../src/cli/progress';

const o = { label: 'search', unit: 'it' };

test('a progress line fits the terminal at every width, and keeps rate and ETA at 70 columns', (t) => {
  const detail = 'best 3.214 | 123.45 cand/s | pop 512';
  for (let columns = 20; columns <= 200; columns++) {
    const line = progressLine(o, 1234, 96000, 60, detail, columns);
    t.true(line.length <= columns - 1, `${columns}: ${line.length} chars: ${line}`);
  }
  const at70 = progressLine(o, 1234, 96000, 60, detail, 70);
  t.regex(at70, /^search 1% 1234\/96000 it \| ETA 1h16m \| best 3\.214 \| 123\.45 cand\/s$/, at70);
  t.regex(progressLine(o, 1234, 96000, 60, detail, 120), /^search \[█*░+\] 1234\/96000 it \| best 3\.214/);
});

test('no ETA before the rate is known (never "ETA 0s" at the start); "done" at the end', (t) => {
  t.regex(progressLine(o, 0, 2000, 0, '', 100), /ETA …$/);
  t.regex(progressLine(o, 5, 2000, 0.1, '', 100), /ETA …$/);
  t.regex(progressLine(o, 1000, 2000, 10, '', 100), /ETA 10s$/);
  t.regex(progressLine(o, 2000, 2000, 10, '', 100), /\| done$/);
  for (let d = 1; d < 2000; d += 37) t.notRegex(progressLine(o, d, 2000, d / 100, '', 100), /ETA 0s/);
});

test('with stderr not a TTY, a search prints a plain progress line every few seconds', (t) => {
  const r = spawnSync(process.execPath, [BIN, 'search', '--proxy', 'flops', '--iterations', '3000', '--population', '16', '--in-flight', '1'], {
    encoding: 'utf8', env: { ...process.env, ZENNAS_PROGRESS_SECONDS: '0.05' },
  });
  t.is(r.status, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('search: '));
  t.true(lines.length >= 2, r.stderr);
  for (const l of lines) t.regex(l, /^search: \d+\/3000 it \| best [-\d.]+ \| [\d.]+ cand\/s \| pop \d+ \| (ETA [\dhms…]+|done) \(\d+%, [\d.]+(us|ms|s|min) so far\)$/);
  t.notRegex(r.stderr, /\x1b\[|\r/, 'no terminal control codes in a log');
});

test('exporting a big net shows progress while its weights are drawn (plain lines in a log)', (t) => {
  const dir = require('fs').mkdtempSync(require('path').join(require('os').tmpdir(), 'zennas-export-progress-'));
  try {
    // 37.8M parameters at 8×8, BN 'fresh' (no calibration forward): the weights are the work.
    const r = spawnSync(process.execPath, [BIN, 'export', 'SuperConvK3BNRELU(3,2048,1,1)SuperConvK3BNRELU(2048,2048,1,1)', '-r', '8', '-c', '0', '--bn', 'fresh', '-o', `${dir}/big.onnx`], {
      encoding: 'utf8', env: { ...process.env, ZENNAS_PROGRESS_SECONDS: '0.000001' },
    });
    t.is(r.status, 0, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('export: drawing weights: '));
    t.true(lines.length >= 1, r.stderr);
    t.regex(lines[lines.length - 1]!, /^export: drawing weights: 37804032\/37804032 weights \| done \(100%, /);
  } finally {
    require('fs').rmSync(dir, { recursive: true, force: true });
  }
});
