/**
 * `--data FILE.npy` / `--labels FILE.npy` (issue #12 item 2, #19 item 2): the .npy reader of
 * src/util/npy.ts (NumPy's own files, versions 1–3, every integer label dtype), the proxies' data
 * path through `score()` and `zennas score --proxy` (file = API with the same arrays = the float64
 * reference on the same images and labels), the first-images rule, and the refusals: proxies that
 * take no data or labels, images that do not fit the net, labels outside the head's classes.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { score } from '../src/score';
import { Engine } from '../src/engine/engine';
import { parseStructure } from '../src/grammar/parse';
import { encodeDescriptor } from '../src/ops/descriptor';
import { PROXY_TABLE } from '../src/proxies/table';
import { lowerForProxy } from '../src/proxies/lowering';
import { proxyReference } from '../src/reference/proxies';
import { decodeNpy, encodeNpy, readImagesNpy, readLabelsNpy } from '../src/util/npy';
import { decodeDescriptor } from '../src/ops/descriptor';
import { Sfc32 } from '../src/rng/sfc32';
import { zennas } from './helpers/cli';
import { findPython } from './helpers/python';

const S = 'SuperConvK3BNRELU(1,8,1,1)SuperResK3K3(8,16,2,8,1)';
const RES = 8;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-data-'));
const code = (e: unknown) => (e as { code?: string }).code;

/** N seeded images [N,1,8,8] (not Gaussian: uniform in [−2, 2)) and labels in 0..9. */
function dataset(n: number, seed: number) {
  const rng = new Sfc32(seed);
  const x = Float32Array.from({ length: n * RES * RES }, () => 4 * rng.next() - 2);
  const y = Int32Array.from({ length: n }, () => rng.int(10));
  return { x, y, shape: [n, 1, RES, RES] as [number, number, number, number] };
}

const engine = new Engine({ threads: 2 });
test.after.always(() => engine.close());

test('npy: NumPy\'s own files (format 1.0, 2.0, 3.0; float32 and every integer dtype) read back exactly', (t) => {
  const py = findPython(['numpy']);
  if (!py) { t.pass('skipped: no Python with numpy (.venv-bench or ZENNAS_PYTHON)'); return; }
  const dir = tmp();
  const r = spawnSync(py, ['-c', `
import numpy as np, os
d = ${JSON.stringify(dir)}
x = (np.arange(2*3*4*5, dtype=np.float32).reshape(2,3,4,5) / 7 - 3)
for v in [(1,0),(2,0),(3,0)]:
    with open(os.path.join(d, 'x%d.npy' % v[0]), 'wb') as f:
        np.lib.format.write_array(f, x, version=v)
y = np.array([0, 3, 9, 1, 255 % 10], dtype=np.int64)
for dt in ['i1','u1','i2','u2','i4','u4','i8','u8']:
    np.save(os.path.join(d, 'y-%s.npy' % dt), y.astype(dt))
np.save(os.path.join(d, 'f8.npy'), x.astype(np.float64))
np.save(os.path.join(d, 'fortran.npy'), np.asfortranarray(x))
np.save(os.path.join(d, 'big.npy'), x.astype('>f4'))
np.save(os.path.join(d, 'neg.npy'), np.array([1, -2], dtype=np.int64))
np.save(os.path.join(d, 'huge.npy'), np.array([1, 2**40], dtype=np.int64))
np.save(os.path.join(d, 'nan.npy'), np.array([[[[0, np.nan]]]], dtype=np.float32))
np.save(os.path.join(d, 'y2d.npy'), np.zeros((2, 1), dtype=np.int64))
np.save(os.path.join(d, 'x3d.npy'), np.zeros((2, 4, 4), dtype=np.float32))
`], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const want = Float32Array.from({ length: 120 }, (_, i) => Math.fround(Math.fround(i / 7) - 3));
  for (const v of [1, 2, 3]) {
    const x = readImagesNpy(path.join(dir, `x${v}.npy`));
    t.deepEqual(x.shape, [2, 3, 4, 5]);
    t.deepEqual(x.data, want, `version ${v}`);
  }
  for (const dt of ['i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8']) t.deepEqual([...readLabelsNpy(path.join(dir, `y-${dt}.npy`))], [0, 3, 9, 1, 5], dt);
  const refused: [string, (f: string) => unknown, RegExp][] = [
    ['f8.npy', readImagesNpy, /dtype <f8 is not <f4 \(images must be float32/],
    ['fortran.npy', readImagesNpy, /fortran_order: True arrays are not read/],
    ['big.npy', readImagesNpy, /dtype >f4 .*big-endian/],
    ['x1.npy', readLabelsNpy, /dtype <f4 is not .*labels must be integers/],
    ['neg.npy', readLabelsNpy, /label -2 at index 1 is negative/],
    ['huge.npy', readLabelsNpy, /value 1099511627776 at index 1 does not fit in int32/],
    ['nan.npy', readImagesNpy, /value NaN at index 1 \(image 0\) is not finite/],
    ['y2d.npy', readLabelsNpy, /shape \(2, 1\) is not 1-D/],
    ['x3d.npy', readImagesNpy, /shape \(2, 4, 4\) is not 4-D NCHW/],
  ];
  for (const [f, read, re] of refused) {
    const e = t.throws(() => read(path.join(dir, f)), undefined, f);
    t.is(code(e), 'E_PARSE', f);
    t.regex(e!.message, re, f);
    t.true(e!.message.startsWith(path.join(dir, f)), 'the message names the file');
  }
});

test('npy: malformed headers are E_PARSE naming the fault; the file is bounded and must be a regular file', (t) => {
  const good = encodeNpy(Float32Array.from([1, 2, 3, 4]), [1, 1, 2, 2]);
  const withHeader = (h: string, major = 1) => {
    const head = Buffer.alloc(major === 1 ? 10 : 12);
    head.write('\x93NUMPY', 0, 'latin1');
    head[6] = major;
    if (major === 1) head.writeUInt16LE(h.length, 8); else head.writeUInt32LE(h.length, 8);
    return Buffer.concat([head, Buffer.from(h, 'latin1'), Buffer.alloc(16)]);
  };
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('PK\x03\x04 not npy'), /magic/],
    [Buffer.concat([good.subarray(0, 6), Buffer.from([4, 0]), good.subarray(8)]), /version 4\.0 is not 1\.0, 2\.0 or 3\.0/],
    [withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'extra': 1}\n"), /unknown key 'extra'/],
    [withHeader("{'descr': '<f4', 'shape': (4,)}\n"), /no 'fortran_order'/],
    [withHeader("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}\n"), /given twice/],
    [withHeader("{'descr': '<f4', 'fortran_order': 0, 'shape': (4,)}\n"), /'fortran_order' must be True or False/],
    [withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,)}\n"), /unexpected character "-"/],
    [withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': [4]}\n"), /'shape' must be a tuple/],
    [withHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,)}\n"), /structured dtypes are not read/],
    [withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} junk\n"), /text after the dict/],
    [withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}\n", 2), /holds 16 data bytes, shape \(4\) needs 16|^$/],
    [withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (5,)}\n", 3), /holds 16 data bytes, shape \(5\) needs 20/],
    [withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}\n"), /too large/],
    [withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}\n\u00e9"), /non-ASCII/],
    [good.subarray(0, 40), /header runs past the end/],
  ];
  // v2 with a correct size decodes: the case above is the positive control.
  t.deepEqual([...decodeNpy(cases[10]![0], 'v2').data], [0, 0, 0, 0]);
  for (const [buf, re] of cases.filter((_, i) => i !== 10)) {
    const e = t.throws(() => decodeNpy(buf, 'f'));
    t.is(code(e), 'E_PARSE');
    t.regex(e!.message, re);
  }
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'x.npy'), good);
  t.regex(t.throws(() => readImagesNpy(path.join(dir, 'x.npy'), 64))!.message, /more than the 64/);
  t.is(code(t.throws(() => readImagesNpy(dir))), 'E_IO');
  t.is(code(t.throws(() => readImagesNpy(path.join(dir, 'none.npy')))), 'E_IO');
});

test('score() with data and labels = the float64 reference on the same images and labels; data changes the score', async (t) => {
  const { x, y, shape } = dataset(16, 1);
  // gsnr: mean² / variance over 3 gradient samples amplifies float32 rounding (≈ 1e-6 here).
  for (const [proxy, batchSize, tol] of [['gsnr', 4, 1e-5], ['snip', 8, 1e-6], ['grad_norm', 8, 1e-6], ['naswot', 8, 1e-4]] as const) {
    const spec = PROXY_TABLE[proxy];
    const opts = { resolution: RES, batchSize, seed: 5, repeats: 2, ...(proxy === 'gsnr' ? { numBatches: 3 } : {}) };
    const takesLabels = spec.extra.includes('labels' as never);
    const r = await score(S, { proxy, engine, ...opts, data: { shape, data: x }, ...(takesLabels ? { labels: y } : {}) });
    const images = proxy === 'gsnr' ? 12 : batchSize;
    t.deepEqual(r.data, { images, of: 16 });
    const d = encodeDescriptor(lowerForProxy(parseStructure(S), spec, { numClasses: 10 }));
    const ref = proxyReference(proxy, d, { ...opts, input: Array.from(x.subarray(0, images * RES * RES)), ...(takesLabels ? { labels: Array.from(y.subarray(0, images)) } : {}), float32Draws: true });
    r.scores.forEach((s, i) => t.true(Math.abs(s - ref.scores[i]!) <= tol * Math.abs(ref.scores[i]!), `${proxy} repeat ${i}: ${s} vs reference ${ref.scores[i]}`));
    const gauss = await score(S, { proxy, engine, ...opts });
    t.notDeepEqual(gauss.scores, r.scores, `${proxy}: the data reaches the engine`);
  }
});

test('the first images are read: data of 2B images scores as its first B; labels pair with images', async (t) => {
  const big = dataset(16, 2);
  const head = { shape: [8, 1, RES, RES] as [number, number, number, number], data: big.x.slice(0, 8 * RES * RES) };
  const o = { proxy: 'snip' as const, engine, resolution: RES, batchSize: 8, seed: 1 };
  const a = await score(S, { ...o, data: { shape: big.shape, data: big.x }, labels: big.y });
  const b = await score(S, { ...o, data: head, labels: big.y.slice(0, 8) });
  t.deepEqual(a.scores, b.scores);
  // resolution from the data when none is given
  t.is((await score(S, { proxy: 'snip', engine, batchSize: 8, data: head })).options.resolution, RES);
});

test('refusals: proxies without data or labels, images that do not fit the net, labels outside the head', async (t) => {
  const { x, y, shape } = dataset(16, 3);
  const data = { shape, data: x };
  const o = { engine, resolution: RES, batchSize: 8 };
  const no = async (opts: Parameters<typeof score>[1], re: RegExp, s = S) => {
    const e = await t.throwsAsync(score(s, { ...o, ...opts }));
    t.is(code(e), 'E_OPTION', e?.message);
    t.regex(e!.message, re);
  };
  await no({ data }, /proxy 'zen' takes no data: its definition fixes its input \(Gaussian x and ε\)/);
  await no({ proxy: 'synflow', data, batchSize: undefined }, /proxy 'synflow' takes no data/);
  await no({ proxy: 'synflow_zc', data, batchSize: undefined }, /proxy 'synflow_zc' takes no data/);
  await no({ proxy: 'naswot', labels: y }, /proxy 'naswot' takes no labels/);
  await no({ proxy: 'jacob_cov', data, labels: y }, /proxy 'jacob_cov' takes no labels/);
  await no({ proxy: 'snip', data, resolution: 16 }, /data images are 8×8, the resolution is 16×16/);
  await no({ proxy: 'snip', data }, /data images have 1 channels, the net takes 3/, 'SuperConvK3BNRELU(3,8,1,1)');
  await no({ proxy: 'snip', data, batchSize: 32 }, /proxy 'snip' reads 32 images \(one batch\), the data holds 16/);
  await no({ proxy: 'gsnr', data, batchSize: 8 }, /proxy 'gsnr' reads 64 images \(8 batches of 8\), the data holds 16/);
  await no({ proxy: 'snip', data, labels: y.slice(0, 12) }, /labels hold 12 labels for 16 data images/);
  await no({ proxy: 'snip', labels: Int32Array.from(y, (v) => v + 5) }, /label 1\d \(image \d\) is not a class of the net's head: 0\.\.9/);
  await no({ proxy: 'snip', labels: y, numClasses: 4 }, /is not a class of the net's head: 0\.\.3/);
  await no({ proxy: 'snip', data: { shape: [16, 1, 8, 7], data: x } as never }, /data must be \{ shape: \[N, C, H, W\]/);
  await no({ proxy: 'snip', labels: [1, 2] as never }, /labels must be an Int32Array/);
  // Labels alone (Gaussian input) are fine for a CE proxy
  t.true(Number.isFinite((await score(S, { ...o, proxy: 'snip', labels: y })).mean));
});

test('zennas score --proxy --data --labels: the file gives the API\'s numbers bit for bit; refusals are clear errors', async (t) => {
  const dir = tmp();
  const { x, y, shape } = dataset(24, 4);
  const X = path.join(dir, 'x.npy'), Y = path.join(dir, 'y.npy');
  fs.writeFileSync(X, encodeNpy(x, shape));
  fs.writeFileSync(Y, encodeNpy(y, [24]));
  const r = zennas('score', S, '--proxy', 'gsnr,snip,naswot', '-b', '8', '--num-batches', '3', '-n', '2', '-t', '2', '--data', X, '--labels', Y, '--json');
  // naswot takes no labels: refused as a whole, nothing printed
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /^zennas: error \[E_OPTION\]: proxy 'naswot' takes no labels/);
  t.is(r.stdout, '');
  const ok = zennas('score', S, '--proxy', 'gsnr,snip', '-b', '8', '--num-batches', '3', '-n', '2', '-t', '2', '--data', X, '--labels', Y, '--json');
  t.is(ok.code, 0, ok.stderr);
  const j = JSON.parse(ok.stdout) as { resolution: number; data: string; proxies: { proxy: string; scores: number[]; data: unknown; labels: unknown }[] };
  t.is(j.resolution, RES, 'the resolution of the data');
  t.is(j.data, X);
  for (const p of j.proxies) {
    const api = await score(S, { proxy: p.proxy as 'gsnr', engine, resolution: RES, batchSize: 8, repeats: 2, seed: 0, ...(p.proxy === 'gsnr' ? { numBatches: 3 } : {}), data: { shape, data: x }, labels: y });
    t.deepEqual(p.scores, api.scores, p.proxy);
    t.deepEqual(p.data, { images: p.proxy === 'gsnr' ? 24 : 8, of: 24 });
    // the same through the API's file paths
    const viaFile = await score(S, { proxy: p.proxy as 'gsnr', engine, batchSize: 8, repeats: 2, ...(p.proxy === 'gsnr' ? { numBatches: 3 } : {}), data: X, labels: Y });
    t.deepEqual(viaFile.scores, api.scores, `${p.proxy}: API with file paths`);
  }
  const text = zennas('score', S, '--proxy', 'snip', '-b', '8', '-n', '1', '--data', X);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /8×8, seed 0, data .*x\.npy \(first images of 24\)/);
  for (const [args, re] of [
    [['--data', X], /the Zen-score takes no data/],
    [['--proxy', 'synflow', '--data', X], /proxy 'synflow' takes no data/],
    [['--proxy', 'snip', '--data', Y], /dtype <i4 is not <f4/],
    [['--proxy', 'snip', '--data', X, '-r', '32'], /data images are 8×8, the resolution is 32×32/],
    [['--proxy', 'snip', '--data', path.join(dir, 'missing.npy')], /E_IO.*cannot open the data file/],
    [['--queue', 'redis://127.0.0.1:1', '--data', X], /--data and --labels do not combine with --queue/],
  ] as const) {
    const e = zennas('score', S, '-n', '1', ...args);
    t.is(e.code, 2, e.stderr);
    t.regex(e.stderr, re);
  }
});

test('score() from .npy files = PyTorch (test/torch/proxies_data.py: np.load of the same files, float64) for gsnr, snip, fisher, naswot, jacob_cov', async (t) => {
  const py = findPython(['torch', 'numpy']);
  if (!py) { t.pass('skipped: no Python with torch and numpy (.venv-bench or ZENNAS_PYTHON)'); return; }
  const dir = tmp();
  const { x, y, shape } = dataset(20, 8);
  const X = path.join(dir, 'x.npy'), Y = path.join(dir, 'y.npy');
  fs.writeFileSync(X, encodeNpy(x, shape));
  fs.writeFileSync(Y, encodeNpy(y, [20]));
  const net = 'SuperConvK3BNRELU(1,8,1,1)MaxPool(8,8,3,2)SuperResK3K3(8,16,2,8,1)SuperResK1K5K1(16,16,1,8,1)';
  for (const [proxy, batch, extra] of [['gsnr', 5, { numBatches: 3 }], ['snip', 6, {}], ['fisher', 6, {}], ['naswot', 6, {}], ['jacob_cov', 6, {}]] as const) {
    const spec = PROXY_TABLE[proxy];
    const takesLabels = spec.extra.includes('labels' as never);
    const r = await score(net, { proxy, engine, batchSize: batch, seed: 4, ...extra, data: X, ...(takesLabels ? { labels: Y } : {}) });
    const d = encodeDescriptor(lowerForProxy(parseStructure(net), spec, { numClasses: 10 }));
    const input = { net: decodeDescriptor(d), proxy, batch, resolution: RES, seed: 4, repeat: 0, bnEps: 1e-5, data: X, ...(takesLabels ? { labels: Y } : {}), images: r.data!.images, ...extra };
    const p = spawnSync(py, [path.join(__dirname, 'torch/proxies_data.py')], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 26 });
    t.is(p.status, 0, p.stderr);
    const ref = (JSON.parse(p.stdout) as { score: number }).score;
    const e = Math.abs(r.mean - ref) / Math.abs(ref);
    t.log(`${proxy}: engine ${r.mean} torch ${ref} (relative ${e.toExponential(2)})`);
    t.true(e <= (proxy === 'naswot' || proxy === 'jacob_cov' ? 1e-4 : 1e-5), `${proxy}: ${r.mean} vs ${ref}`);
  }
});
