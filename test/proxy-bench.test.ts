/**
 * The cheap pieces of benchmarks/proxy-bench (no network, no training): the class-JSON reader and
 * the seeded class-balanced split on a synthetic 3-class fixture, .npy encoding (checked with
 * numpy where the bench venv exists), the resumable CSV, the seeded net list, and the shape of
 * the correlation table on synthetic scores.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { PIXELS, decodeNpy, encodeNpy, integrityOf, readClassJson, readNpy, readSplit, splitClasses, writeSplit } from '../benchmarks/proxy-bench/data';
import { FLOPS_CAP, LAYERS_CAP, PARAMS_HI, sampleNets } from '../benchmarks/proxy-bench/nets';
import { CSV_COLUMNS, TrainedRow, appendResult, csvLine, pendingNets, readResults } from '../benchmarks/proxy-bench/results-csv';
import { correlateColumns, correlationTable, tauBarChart } from '../benchmarks/proxy-bench/report';
import { scoreColumns, type ScoresFile } from '../benchmarks/proxy-bench/score-nets';
import { PROXY_NAMES, PROXY_TABLE } from '../src/proxies/table';
import { parseAccuracyTable } from '../src/stats/accuracy-table';
import { findPython } from './helpers/python';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-proxy-bench-'));

/** Class c's images: image i has every pixel (c·50 + i) mod 256, so each image names its class and index. */
function fixture(dir: string, perClass: number[]): string[] {
  return perClass.map((n, c) => {
    const data = Array.from({ length: n }, (_, i) => new Array(PIXELS).fill((c * 50 + i) % 256));
    if (c === 0) data.splice(2, 0, []); // the real 0.json holds empty entries: skipped
    const f = path.join(dir, `${c}.json`);
    fs.writeFileSync(f, JSON.stringify({ data }));
    return f;
  });
}

test('class JSON: images read, empty entries skipped, a malformed image named', (t) => {
  const dir = tmp();
  const [f0] = fixture(dir, [5]);
  const imgs = readClassJson(f0!);
  t.is(imgs.length, 5);
  t.deepEqual([...new Set(imgs[4]!)], [4]);
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ data: [new Array(PIXELS).fill(0), new Array(PIXELS).fill(256)] }));
  t.throws(() => readClassJson(bad), { message: /image 1 pixel 0 is 256/ });
  fs.writeFileSync(bad, JSON.stringify({ data: [[1, 2, 3]] }));
  t.throws(() => readClassJson(bad), { message: /image 0 has 3 pixels, expected 784/ });
  fs.writeFileSync(bad, '{"images": []}');
  t.throws(() => readClassJson(bad), { code: 'E_PARSE' } as never);
});

test('split: class-balanced, disjoint, interleaved, seeded; normalised with the train mean/std', (t) => {
  const dir = tmp();
  const classes = fixture(dir, [12, 10, 11]).map(readClassJson);
  const s = { trainPerClass: 4, testPerClass: 3, seed: 7 };
  const d = splitClasses(classes, s);
  t.is(d.yTrain.length, 12);
  t.is(d.yTest.length, 9);
  t.deepEqual([...d.yTrain], [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
  t.deepEqual([...d.yTest], [0, 1, 2, 0, 1, 2, 0, 1, 2]);
  // Back to raw pixels: each image is constant (c·50 + i), so its index i is recoverable.
  const raw = (x: Float32Array, k: number) => Math.round((x[k * PIXELS]! * d.std + d.mean) * 255);
  const idx = (x: Float32Array, y: Int32Array) => Array.from(y, (c, k) => raw(x, k) - 50 * c);
  const tr = idx(d.xTrain, d.yTrain), te = idx(d.xTest, d.yTest);
  for (let c = 0; c < 3; c++) {
    const a = tr.filter((_, k) => d.yTrain[k] === c), b = te.filter((_, k) => d.yTest[k] === c);
    t.is(new Set([...a, ...b]).size, 7, `class ${c}: train and test disjoint`);
  }
  // The train split has mean 0 and std 1 after normalisation.
  const m = d.xTrain.reduce((x, y) => x + y, 0) / d.xTrain.length;
  const v = d.xTrain.reduce((x, y) => x + (y - m) ** 2, 0) / d.xTrain.length;
  t.true(Math.abs(m) < 1e-5);
  t.true(Math.abs(v - 1) < 1e-4);
  // Same seed → same split; another seed → another.
  t.deepEqual(splitClasses(classes, s).xTrain, d.xTrain);
  t.notDeepEqual(splitClasses(classes, { ...s, seed: 8 }).xTrain, d.xTrain);
  t.throws(() => splitClasses(classes, { ...s, trainPerClass: 9 }), { message: /class 1 has 10 images, the split needs 12/ });
  // Written and read back exactly.
  writeSplit(dir, s, d);
  const back = readSplit(dir, s);
  t.deepEqual(back.xTrain, d.xTrain);
  t.deepEqual(back.yTest, d.yTest);
  t.is(back.std, d.std);
});

test('npy: header aligned to 64 bytes, round trip, malformed files refused', (t) => {
  const a = Float32Array.from({ length: 24 }, (_, i) => i / 3 - 2);
  const buf = encodeNpy(a, [2, 3, 4]);
  t.is((buf.readUInt16LE(8) + 10) % 64, 0);
  const back = decodeNpy(buf, 'x');
  t.deepEqual(back.shape, [2, 3, 4]);
  t.deepEqual(back.data, a);
  const y = decodeNpy(encodeNpy(Int32Array.from([3, -1, 7]), [3]), 'y');
  t.deepEqual([...y.data], [3, -1, 7]);
  t.true(y.data instanceof Int32Array);
  t.throws(() => decodeNpy(buf.subarray(0, buf.length - 4), 'short'), { message: /short: holds 92 data bytes, shape \(2, 3, 4\) needs 96/ });
  t.throws(() => decodeNpy(Buffer.from('not numpy at all'), 'n'), { message: /magic/ });
  const f8 = Buffer.from(buf); f8.write("'<f8'", buf.indexOf("'<f4'"), 'latin1');
  t.throws(() => decodeNpy(f8, 'f8'), { message: /dtype <f8/ });
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'a.npy'), buf);
  t.throws(() => readNpy(path.join(dir, 'a.npy'), 'i4'), { message: /expected <i4/ });
  t.throws(() => readNpy(path.join(dir, 'a.npy'), 'f4', 100), { message: /more than the 100/ });
});

test('npy: numpy reads what encodeNpy writes', (t) => {
  const py = findPython(['numpy']);
  if (!py) { t.pass('skipped: no Python with numpy (.venv-bench or ZENNAS_PYTHON)'); return; }
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'x.npy'), encodeNpy(Float32Array.from([0.5, -1.25, 3, 4, 5, 6]), [1, 2, 3]));
  fs.writeFileSync(path.join(dir, 'y.npy'), encodeNpy(Int32Array.from([9, 8]), [2]));
  const r = spawnSync(py, ['-c', `import numpy as np; x=np.load('${dir}/x.npy'); y=np.load('${dir}/y.npy'); print(x.dtype, x.shape, x[0,0,1], y.dtype, y.tolist())`], { encoding: 'utf8' });
  t.is(r.stdout.trim(), 'float32 (1, 2, 3) -1.25 int32 [9, 8]');
});

test('integrity: the npm sha512 form', (t) => {
  t.is(integrityOf(Buffer.from('abc')), 'sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==');
});

const row = (id: string, structure: string, recipe = 'r1', accuracy = '0.5'): TrainedRow =>
  ({ id, space: 'I', structure, params: '1', flops: '2', layers: '3', accuracy, train_loss: '0.1', train_seconds: '1.0', recipe, epochs: '2', train_images: '30', test_images: '9', seed: '0', commit: 'abc' });

test('results CSV: quoted structures, resume skips done nets, a partial last line is dropped and cut', (t) => {
  const f = path.join(tmp(), 'acc.csv');
  t.deepEqual(readResults(f), []);
  appendResult(f, row('n000', 'SuperConvK3BNRELU(1,8,2,1)'));
  appendResult(f, row('n001', 'A"B,C'));
  const text = fs.readFileSync(f, 'utf8');
  t.is(text.split('\n')[0], CSV_COLUMNS.join(','));
  t.true(text.includes('"SuperConvK3BNRELU(1,8,2,1)"'));
  t.true(text.includes('"A""B,C"'));
  t.deepEqual(readResults(f).map((r) => r.structure), ['SuperConvK3BNRELU(1,8,2,1)', 'A"B,C']);
  // zennas correlate reads it as an accuracy table.
  const tab = parseAccuracyTable(text);
  t.is(tab.archColumn, 'structure');
  t.deepEqual(tab.rows.map((r) => r.accuracy), [0.5, 0.5]);
  // A run killed mid-write: the partial line is not a row, and the next append cuts it.
  fs.appendFileSync(f, csvLine(row('n002', 'X')).slice(0, 12));
  t.is(readResults(f).length, 2);
  const nets = [{ id: 'n000', structure: 'SuperConvK3BNRELU(1,8,2,1)' }, { id: 'n001', structure: 'A"B,C' }, { id: 'n002', structure: 'X' }, { id: 'n003', structure: 'Y' }];
  t.deepEqual(pendingNets(nets, readResults(f), 'r1').map((n) => n.id), ['n002', 'n003']);
  t.deepEqual(pendingNets(nets, readResults(f), 'r2').map((n) => n.id), ['n000', 'n001', 'n002', 'n003'], 'another recipe retrains');
  t.deepEqual(pendingNets([{ id: 'n000', structure: 'changed' }], readResults(f), 'r1').map((n) => n.id), ['n000'], 'a changed structure retrains');
  appendResult(f, row('n002', 'X'));
  t.deepEqual(readResults(f).map((r) => r.id), ['n000', 'n001', 'n002']);
  t.false(fs.readFileSync(f, 'utf8').includes(csvLine(row('n002', 'X')).slice(0, 12) + 'n002'));
  fs.writeFileSync(f, 'id,accuracy\nn0,0.5\n');
  t.throws(() => readResults(f), { message: /header 'id,accuracy' is not/ });
});

test('net list: seeded, prefix-stable, within the limits, Space I and II alternating', (t) => {
  const a = sampleNets(8, 0);
  t.deepEqual(sampleNets(4, 0), a.slice(0, 4));
  t.notDeepEqual(sampleNets(4, 1).map((n) => n.structure), a.slice(0, 4).map((n) => n.structure));
  t.deepEqual(a.map((n) => n.space), ['I', 'II', 'I', 'II', 'I', 'II', 'I', 'II']);
  for (const n of a) {
    t.true(n.structure.startsWith('SuperConvK3BNRELU(1,'), n.structure);
    t.true(n.params <= Math.min(n.target, PARAMS_HI) && n.flops <= FLOPS_CAP && n.layers <= LAYERS_CAP, n.id);
  }
  t.is(new Set(a.map((n) => n.structure)).size, 8);
});

test('correlation table: one row per proxy and baseline, τ/ρ for both inputs, n per column', (t) => {
  const cols = scoreColumns();
  const withInput = PROXY_NAMES.filter((p) => (PROXY_TABLE[p].extra as readonly string[]).includes('input'));
  t.is(cols.length, PROXY_NAMES.length + withInput.length + 3);
  // Synthetic: 12 nets, accuracy rises with i; 'zen' ranks exactly like it, 'synflow' (a 'min'
  // proxy) falls with i (so oriented it ranks like accuracy), naswot undefined on two nets.
  const rows = Array.from({ length: 12 }, (_, i) => row(`n${i}`, `S${i}`, 'r1', String(0.5 + i / 100)));
  const scores: ScoresFile = {
    resolution: 28, numClasses: 10, engineOptions: {},
    nets: rows.map((r, i) => ({
      id: r.id, structure: r.structure, failed: {}, seconds: {},
      scores: Object.fromEntries(cols.map((c) => [c.key, c.key === 'synflow' ? -i : c.key === 'naswot' && i < 2 ? null : c.key === 'random' ? (i * 7) % 12 : i])),
    })),
  };
  const cs = correlateColumns(rows, scores, cols, { resamples: 200 });
  const by = new Map(cs.map((c) => [c.key, c]));
  t.true(Math.abs(by.get('zen')!.kendallTau.value - 1) < 1e-12);
  t.true(Math.abs(by.get('synflow')!.kendallTau.value - 1) < 1e-12, 'min proxies are negated');
  t.is(by.get('naswot')!.n, 10);
  t.deepEqual(by.get('naswot')!.undefinedOn, ['n0', 'n1']);
  t.true(by.get('zen')!.kendallTau.low <= 1 && Math.abs(by.get('zen')!.spearmanRho.value - 1) < 1e-12);
  const table = correlationTable(cs).split('\n');
  t.is(table.length, 2 + PROXY_NAMES.length + 3);
  t.true(table[0]!.startsWith('| proxy | variant | τ Gaussian'));
  const zenRow = table.find((l) => l.startsWith('| zen |'))!;
  t.true(zenRow.includes('| n/a | n/a |'), 'zen takes no input: no data column');
  t.true(table.find((l) => l.startsWith('| naswot |'))!.endsWith('| 10 / 12 |'));
  const svg = tauBarChart(cs, 'τ');
  t.true(svg.startsWith('<svg'));
  t.is((svg.match(/<rect x=/g) ?? []).length, 2 + cs.filter((c) => Number.isFinite(c.kendallTau.value)).length);
});
