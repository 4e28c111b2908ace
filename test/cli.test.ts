import test from 'ava';
import * as path from 'path';
import { ZOO } from './helpers/arbitraries';
import { zennas } from './helpers/cli';
import { Engine } from '../src/engine/engine';
import { encodeDescriptor } from '../src/ops/descriptor';
import { lowerForScoring } from '../src/model/lower';
import { parseStructure } from '../src/grammar/parse';

test('info --json on the ZenNet-1M CIFAR model gives about 1M params (README example)', (t) => {
  const r = zennas('info', path.join(ZOO, 'zennet_cifar_model_size1M_res32.txt'), '--resolution', '32', '--num-classes', '100', '--json');
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.is(j.params, 1_039_932);
  t.is(j.flops, 159_259_648);
  t.is(j.layers, 18);
  t.is(j.blocks.length, 9);
  t.is(j.outputResolution, 4);
});

test('info prints a table with totals', (t) => {
  const r = zennas('info', 'SuperConvK3BNRELU(3,8,2,1)SuperResK3K3(8,16,2,8,1)', '-r', '32', '-c', '10');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /SuperResK3K3/);
  // 232 (stem) + 1936 (SuperResK3K3, see count.test.ts) + Linear(16,10) 160 + 10 = 2338
  t.regex(r.stdout, /params\s+2\.34k \(2,338\)/);
});

test('a malformed structure exits 2 with a specific one-line message', (t) => {
  const r = zennas('info', 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(9,16,1,8,1)');
  t.is(r.code, 2);
  t.regex(r.stderr, /E_STRUCTURE.*channel mismatch: block 2 \(SuperResK3K3\) takes 9 input channels but block 1 produces 8/);
  t.notRegex(r.stderr, /at Object\.|node:internal/); // no stack trace
});

test('a missing file is reported as such', (t) => {
  const r = zennas('info', 'no/such/file.txt');
  t.is(r.code, 2);
  t.regex(r.stderr, /neither a structure string .* nor an existing file/);
});

test('bad flag values are rejected naming the flag', (t) => {
  const r = zennas('info', 'BN(8)', '--resolution', 'abc');
  t.not(r.code, 0);
  t.regex(r.stderr, /--resolution must be an integer/);
});

test('--help lists the commands with examples', (t) => {
  const r = zennas('--help');
  t.is(r.code, 0);
  for (const c of ['info', 'score', 'search']) t.regex(r.stdout, new RegExp(`\\n  ${c} `));
  t.regex(r.stdout, /Examples:/);
});

test('score --mode official over several repeats equals one engine call (running_var carries over)', async (t) => {
  const structure = 'SuperConvK3BNRELU(3,16,1,1)SuperResK3K3(16,32,2,32,1)';
  const r = zennas('score', structure, '-r', '16', '-b', '8', '-n', '4', '--mode', 'official', '--json');
  t.is(r.code, 0, r.stderr);
  const e = new Engine({});
  try {
    const api = await e.zenScore(encodeDescriptor(lowerForScoring(parseStructure(structure))), { batchSize: 8, resolution: 16, repeats: 4, mode: 'official' });
    t.deepEqual(JSON.parse(r.stdout).scores, api.scores);
  } finally {
    e.close();
  }
});

test('a structure "file" that is a directory or a device is refused before reading', (t) => {
  for (const p of ['/tmp', '/dev/zero']) {
    const r = zennas('info', p);
    t.is(r.code, 2, p);
    t.regex(r.stderr, /^zennas: error \[E_IO\]: the structure file '.*' is not a regular file/);
  }
});
