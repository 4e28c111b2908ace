/**
 * The native CPU engine (native/, src/engine/): RNG contract, first-principles σ̄ checks,
 * determinism, modes, and the error contract at the N-API boundary (never a crash).
 * Descriptors are built by hand here (test/helpers/slot-ops.ts, native/DESCRIPTOR.md), independent of src/model/.
 */
import test from 'ava';
import { Engine, backends, cpuFeatures, version, ZenScoreOptions } from '../src/engine/engine';
import { spawnSync } from 'child_process';
import { loadNative, packageRoot } from '../src/engine/native';
import { gaussianTensor } from '../src/rng/philox';
import { zenScoreReference } from '../src/reference';
import { parseStructure } from '../src/grammar/parse';
import { lowerForScoring } from '../src/model/lower';
import { encodeDescriptor } from '../src/ops/descriptor';
import { isZennasError, ZennasError } from '../src/errors';

import { desc, SlotOp as Op, CONV, DWCONV, BN, RELU, MAXPOOL, GAP, LINEAR, SIGMOID, MUL, ADD } from './helpers/slot-ops';

/** conv(cin→cout,k) BN ReLU, repeated `layers` times, ping-ponging slots 1 and 2. */
function chain(cin: number, widths: number[], k = 3): { d: Int32Array; bns: number } {
  const ops: Op[] = [];
  let src = 0, c = cin;
  widths.forEach((w, i) => {
    const dst = i % 2 === 0 ? 1 : 2;
    ops.push([CONV, src, dst, 0, c, w, k, 1], [BN, dst, dst, 0, w, w, 0, 0], [RELU, dst, dst, 0, w, w, 0, 0]);
    src = dst;
    c = w;
  });
  return { d: desc(ops, { inputChannels: cin, output: src }), bns: widths.length };
}

const small = chain(3, [8, 16, 16]).d;
/** The default kernels and the scalar build (the environment of a fresh process). */
const SIMD_ENVS: Record<string, string>[] = [{}, { ZENNAS_SIMD: 'scalar' }];
const opts = (o: Partial<ZenScoreOptions> = {}): Partial<ZenScoreOptions> => ({ batchSize: 4, resolution: 12, repeats: 2, seed: 3, ...o });

async function withEngine<T>(threads: number, fn: (e: Engine) => Promise<T>): Promise<T> {
  const e = new Engine({ threads });
  try {
    return await fn(e);
  } finally {
    e.close();
  }
}

// ---------------------------------------------------------------- module info, RNG

test('version, cpuFeatures, backends', (t) => {
  t.regex(version(), /^\d+\.\d+\.\d+/);
  const f = cpuFeatures();
  t.true(f.simd === 'avx512' || f.simd === 'avx2' || f.simd === 'scalar');
  t.is(typeof f.avx512f, 'boolean');
  if (f.simd === 'avx512') t.true(f.avx512f && f.avx2 && f.fma);
  t.true(f.threads >= 1);
  const b = backends();
  t.is(b.cpu, true);
  t.is(typeof b.cuda, 'boolean');
  if (!b.cuda) t.regex(b.cudaReason ?? '', /CUDA|nvcc|cuDNN|GPU|driver/i);
});

test('Philox4x32-10 known answer (native): ctr=0, key=0', (t) => {
  const hex = Array.from(loadNative()._philox(0, 0, 0, 0, 0, 0), (x) => x.toString(16).padStart(8, '0')).join(' ');
  t.is(hex, '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  const F = 0xffffffff;
  t.is(Array.from(loadNative()._philox(F, F, F, F, F, F), (x) => x.toString(16).padStart(8, '0')).join(' '), '408f276d 41c83b0e a20bc7c6 6d5451fd');
});

test('native Gaussians (vector and scalar paths) = float32(TS float64 Box–Muller), odd offsets included', (t) => {
  const native = loadNative();
  for (const [seed, stream, repeat] of [[0, 1, 0], [2 ** 40 + 12345, 0x40000000, 7], [Number.MAX_SAFE_INTEGER, 0x40000001, 3]] as const) {
    const ref = gaussianTensor(seed, stream, repeat, 1000);
    for (const simd of [undefined, 'scalar'] as const) {
      const g = native._gaussian(seed, stream, repeat, 5, 1000, simd);
      let mismatches = 0;
      for (let i = 0; i < g.length; i++) if (g[i] !== Math.fround(ref[i + 5]!)) mismatches++;
      t.is(mismatches, 0, `seed ${seed} stream ${stream} ${simd ?? 'simd'}`);
    }
  }
});

// ---------------------------------------------------------------- first principles

test('σ̄ of a 1×1 conv over N(0,1) inputs with N(0,1) weights: ln σ̄ ≈ ½ ln cin', async (t) => {
  const cin = 64;
  const d = desc([[CONV, 0, 1, 0, cin, 64, 1, 1], [BN, 1, 1, 0, 64, 64, 0, 0]], { inputChannels: cin, slots: 2 });
  const r = await withEngine(2, (e) => e.zenScore(d, { batchSize: 8, resolution: 8, repeats: 8, seed: 11 }));
  const m = r.logSigmaSum.reduce((a, b) => a + b, 0) / r.logSigmaSum.length;
  t.true(Math.abs(m - 0.5 * Math.log(cin)) < 0.03, `mean Σ ln σ̄ ${m} vs ${0.5 * Math.log(cin)}`);
});

test('σ̄ of CONV(3→8, k3)+BN+RELU at 16×16: ln σ̄ ≈ ½ ln(3·(mean valid taps per axis)²)', async (t) => {
  const d = desc([[CONV, 0, 1, 0, 3, 8, 3, 1], [BN, 1, 1, 0, 8, 8, 0, 0], [RELU, 1, 1, 0, 8, 8, 0, 0]], { slots: 2 });
  const H = 16;
  const taps = (3 * (H - 2) + 2 * 2) / H;  // zero padding: border pixels see 2 taps per axis
  const expected = 0.5 * Math.log(3 * taps * taps);
  const r = await withEngine(2, (e) => e.zenScore(d, { batchSize: 16, resolution: H, repeats: 200, seed: 5 }));
  const m = r.logSigmaSum.reduce((a, b) => a + b, 0) / r.logSigmaSum.length;
  // E[ln v̄] sits slightly below ln E[v̄] (8 channels × 27 weights): allow 0.04
  t.true(Math.abs(m - expected) < 0.04, `mean Σ ln σ̄ ${m} vs ${expected}`);
});

test('Δ is ≈ α·E|f(x)-f(x+ε)|-scaled: doubling α adds ≈ ln 2 to ln Δ (linear regime)', async (t) => {
  const r1 = await withEngine(2, (e) => e.zenScore(small, opts({ alpha: 1e-3 })));
  const r2 = await withEngine(2, (e) => e.zenScore(small, opts({ alpha: 2e-3 })));
  for (let i = 0; i < 2; i++) t.true(Math.abs(r2.logDelta[i]! - r1.logDelta[i]! - Math.log(2)) < 0.02);
});

// ---------------------------------------------------------------- determinism and modes

test('scores do not depend on the thread count (bitwise)', async (t) => {
  const d = chain(3, [16, 24, 40], 5).d;
  const a = await withEngine(1, (e) => e.zenScore(d, opts({ batchSize: 8, resolution: 20, repeats: 3 })));
  const b = await withEngine(2, (e) => e.zenScore(d, opts({ batchSize: 8, resolution: 20, repeats: 3 })));
  t.deepEqual(a.scores, b.scores);
  t.deepEqual(a.logSigmaSum, b.logSigmaSum);
});

test('seed reproducibility; repeats differ; chunking with firstRepeat reproduces one call', async (t) => {
  await withEngine(2, async (e) => {
    const a = await e.zenScore(small, opts({ repeats: 4, seed: 42 }));
    const b = await e.zenScore(small, opts({ repeats: 4, seed: 42 }));
    t.deepEqual(a.scores, b.scores);
    t.is(new Set(a.scores).size, 4);
    const c = await e.zenScore(small, opts({ repeats: 2, firstRepeat: 2, seed: 42 }));
    t.deepEqual(c.scores, a.scores.slice(2));
    const other = await e.zenScore(small, opts({ repeats: 4, seed: 43 }));
    t.notDeepEqual(other.scores, a.scores);
    t.true(Math.abs(a.mean - a.scores.reduce((x, y) => x + y, 0) / 4) < 1e-12);
    // np.std: the population standard deviation (divide by n, not n − 1), computed here by hand
    const m = a.scores.reduce((x, y) => x + y, 0) / 4;
    const popStd = Math.sqrt(a.scores.reduce((x, y) => x + (y - m) ** 2, 0) / 4);
    t.true(Math.abs(a.std - popStd) <= 1e-12 * Math.max(1, popStd), `std ${a.std} vs np.std ${popStd}`);
    t.true(Math.abs(a.ci95 - (1.96 * popStd) / 2) < 1e-12);
    t.true(a.seconds > 0);
  });
});

test("mode 'official': running_var carries over between repeats, and a chunked call equals one call", async (t) => {
  await withEngine(2, async (e) => {
    const o = opts({ repeats: 4, seed: 11, mode: 'official' });
    const all = await e.zenScore(small, o);
    // running_var moves 19% of the way to σ² per repeat (two forwards, momentum 0.1), so the
    // σ̄ terms — and the scores — creep upwards from repeat to repeat.
    for (let i = 1; i < 4; i++) t.true(all.logSigmaSum[i]! > all.logSigmaSum[i - 1]!, `Σ ln σ̄ ${all.logSigmaSum.join(', ')}`);
    const tail = await e.zenScore(small, { ...o, repeats: 2, firstRepeat: 2 });
    t.deepEqual(tail.scores, all.scores.slice(2));
    const head = await e.zenScore(small, { ...o, repeats: 1 });
    t.deepEqual(head.scores, all.scores.slice(0, 1), 'every call starts from running_var = 1');
  });
});

test("mode 'official' is ≈ 0.83 lower per BN than 'paper' at repeats=1 for wide layers", async (t) => {
  const { d, bns } = chain(512, [1024, 1024, 1024], 1);
  const o = { batchSize: 8, resolution: 4, repeats: 1, seed: 9 } as const;
  const paper = await withEngine(2, (e) => e.zenScore(d, { ...o, mode: 'paper' }));
  const official = await withEngine(2, (e) => e.zenScore(d, { ...o, mode: 'official' }));
  t.is(official.logDelta[0], paper.logDelta[0]);
  const perBn = (official.scores[0]! - paper.scores[0]!) / bns;
  // σ² → running_var = 0.81 + 0.19·σ²·m/(m−1): ½ ln 0.19 = −0.830 when σ² ≫ 1
  t.true(Math.abs(perBn - 0.5 * Math.log(0.19)) < 0.02, `per BN ${perBn}`);
});

test('every op kind runs: dwconv, max-pool, SE gate (GAP, sigmoid, MUL), ADD, LINEAR', async (t) => {
  const d = desc([
    [CONV, 0, 1, 0, 3, 16, 3, 2], [BN, 1, 1, 0, 16, 16, 0, 0], [RELU, 1, 1, 0, 16, 16, 0, 0],
    [MAXPOOL, 1, 2, 0, 16, 16, 3, 2],
    [DWCONV, 2, 3, 0, 16, 16, 5, 1], [BN, 3, 3, 0, 16, 16, 0, 0], [RELU, 3, 3, 0, 16, 16, 0, 0],
    [GAP, 3, 4, 0, 16, 16, 0, 0], [CONV, 4, 5, 0, 16, 4, 1, 1], [BN, 5, 5, 0, 4, 4, 0, 0], [RELU, 5, 5, 0, 4, 4, 0, 0],
    [CONV, 5, 4, 0, 4, 16, 1, 1], [SIGMOID, 4, 4, 0, 16, 16, 0, 0], [MUL, 3, 1, 4, 16, 16, 0, 0],
    [ADD, 1, 1, 2, 16, 16, 0, 0], [GAP, 1, 4, 0, 16, 16, 0, 0], [LINEAR, 4, 5, 0, 16, 10, 0, 0],
  ], { slots: 6, output: 1 });
  const r = await withEngine(2, (e) => e.zenScore(d, { batchSize: 4, resolution: 17, repeats: 2 }));
  t.true(r.scores.every(Number.isFinite));
  t.is(r.logSigmaSum.length, 2);
});

test('many concurrent calls resolve and equal the sequential results', async (t) => {
  await withEngine(2, async (e) => {
    const seq: number[][] = [];
    for (let s = 0; s < 6; s++) seq.push((await e.zenScore(small, opts({ seed: s }))).scores);
    const par = await Promise.all(Array.from({ length: 6 }, (_, s) => e.zenScore(small, opts({ seed: s }))));
    t.deepEqual(par.map((r) => r.scores), seq);
  });
});

test('CPU latency (eval mode, BN folded) reports consistent statistics', async (t) => {
  const r = await withEngine(2, (e) => e.latency(small, { batchSize: 4, resolution: 16, warmup: 1, iterations: 5 }));
  t.true(r.meanMs > 0 && r.p90Ms >= r.medianMs && r.imagesPerSecond > 0);
});

// ---------------------------------------------------------------- error contract

async function rejectsWith(t: import('ava').ExecutionContext, p: () => Promise<unknown>, code: string, re?: RegExp) {
  const err = await t.throwsAsync(p);
  t.true(isZennasError(err), `not a ZennasError: ${String(err)}`);
  t.is((err as { code?: string }).code, code, (err as Error).message);
  if (re) t.regex((err as Error).message, re);
}

const mutate = (f: (d: Int32Array) => void) => {
  const d = small.slice();
  f(d);
  return d;
};
// `small` = 3 × [CONV, BN, RELU]: op records start at word 8, each [code, nIn, nAttr, inputs…, attrs…]
// (CONV: 6 words + 3 attributes = 9 words with one input; BN/RELU: 4 words).
const CONV0 = 8;
const BAD_DESCRIPTORS: Array<[string, () => Int32Array, RegExp]> = [
  ['wrong magic', () => mutate((d) => { d[0] = 0x12345678; }), /magic/],
  ['a v1 descriptor', () => mutate((d) => { d[0] = 0x5a4e4e31; }), /v1/],
  ['wrong version', () => mutate((d) => { d[1] = 3; }), /version/],
  ['truncated', () => small.slice(0, small.length - 3), /words|truncated/],
  ['shorter than the header', () => new Int32Array(3), /short/],
  ['unknown opcode', () => mutate((d) => { d[CONV0] = 42; }), /opcode/],
  ['input produced later', () => mutate((d) => { d[CONV0 + 3] = 5; }), /not produced before/],
  ['two inputs for a conv', () => mutate((d) => { d[CONV0 + 1] = 2; }), /inputs/],
  ['attribute count differs from the schema', () => mutate((d) => { d[CONV0 + 2] = 2; }), /attributes/],
  ['even kernel', () => mutate((d) => { d[CONV0 + 5] = 4; }), /odd/],
  ['stride 0', () => mutate((d) => { d[CONV0 + 6] = 0; }), /stride/],
  ['cout 0', () => mutate((d) => { d[CONV0 + 4] = 0; }), /cout/],
  ['cout out of range', () => mutate((d) => { d[CONV0 + 4] = 65537; }), /cout/],
  ['output value never produced', () => mutate((d) => { d[d.length - 1] = 99; }), /output value/],
  ['output is the input', () => mutate((d) => { d[d.length - 1] = 0; }), /output value/],
  ['MUL gate of the wrong shape', () => desc([[CONV, 0, 1, 0, 3, 8, 3, 1], [MUL, 1, 2, 1, 8, 8, 0, 0]], { output: 2 }), /gate/],
  ['ADD of different shapes', () => desc([[CONV, 0, 1, 0, 3, 8, 3, 2], [ADD, 1, 2, 0, 8, 8, 0, 0]], { output: 2 }), /shape/],
];
const BAD_STRUCTURES: Array<[string, () => Int32Array, RegExp]> = [
  ['LINEAR on a spatial map', () => desc([[LINEAR, 0, 1, 0, 3, 10, 0, 0]]), /1×1/],
];
for (const [name, make, re] of BAD_STRUCTURES) {
  test(`shapes that do not fit → E_STRUCTURE: ${name}`, (t) => withEngine(1, (e) => rejectsWith(t, () => e.zenScore(make(), opts({ resolution: 2 })), 'E_STRUCTURE', re)));
}
for (const [name, make, re] of BAD_DESCRIPTORS) {
  test(`bad descriptor → E_DESCRIPTOR: ${name}`, (t) => withEngine(2, (e) => rejectsWith(t, () => e.zenScore(make(), opts({ resolution: 32 })), 'E_DESCRIPTOR', re)));
}

test('not an Int32Array → E_DESCRIPTOR (also straight at the native boundary)', async (t) => {
  await withEngine(1, async (e) => {
    await rejectsWith(t, () => e.zenScore(new Float32Array(16) as unknown as Int32Array), 'E_DESCRIPTOR');
    await rejectsWith(t, () => e.zenScore([1, 2] as unknown as Int32Array), 'E_DESCRIPTOR');
  });
  const native = new (loadNative().Engine)({ backend: 'cpu', threads: 1 });
  const err = await t.throwsAsync(native.run('zen', new Uint32Array(16) as unknown as Int32Array, {} as never));
  t.is((err as { code?: string }).code, 'E_DESCRIPTOR');
  native.close();
});

test('absurd plans → E_OUT_OF_MEMORY with a clear message, no crash', async (t) => {
  const d = desc([[CONV, 0, 1, 0, 3, 65536, 3, 1], [BN, 1, 1, 0, 65536, 65536, 0, 0]], { slots: 2 });
  await withEngine(1, (e) => rejectsWith(t, () => e.zenScore(d, { batchSize: 4096, resolution: 4096 }), 'E_OUT_OF_MEMORY', /GiB/));
});

test('BN over a single value per channel → E_OPTION', async (t) => {
  const d = desc([[GAP, 0, 1, 0, 3, 3, 0, 0], [CONV, 1, 2, 0, 3, 8, 1, 1], [BN, 2, 2, 0, 8, 8, 0, 0]], { output: 2 });
  await withEngine(1, (e) => rejectsWith(t, () => e.zenScore(d, { batchSize: 1, resolution: 8 }), 'E_OPTION', /batchSize/));
});

const BAD_OPTIONS: Array<[string, Record<string, unknown>, RegExp]> = [
  ['batchSize 0', { batchSize: 0 }, /batchSize/],
  ['batchSize 4097', { batchSize: 4097 }, /batchSize/],
  ['batchSize 1.5', { batchSize: 1.5 }, /batchSize/],
  ['resolution 0', { resolution: 0 }, /resolution/],
  ['repeats 0', { repeats: 0 }, /repeats/],
  ['repeats 100001', { repeats: 100001 }, /repeats/],
  ['seed −1', { seed: -1 }, /seed/],
  ['seed 2^53', { seed: 2 ** 53 }, /seed/],
  ['seed string', { seed: '1' }, /seed/],
  ['alpha 0', { alpha: 0 }, /alpha/],
  ['alpha NaN', { alpha: NaN }, /alpha/],
  ['alpha 1e-9 (vanishes in float32: Δ would be 0)', { alpha: 1e-9 }, /alpha/],
  ['bnEps −1', { bnEps: -1 }, /bnEps/],
  ['bnEps Infinity', { bnEps: Infinity }, /bnEps/],
  ['mode', { mode: 'fast' }, /mode/],
];
for (const [name, o, re] of BAD_OPTIONS) {
  test(`bad option → E_OPTION (TS and native): ${name}`, async (t) => {
    await withEngine(1, (e) => rejectsWith(t, () => e.zenScore(small, o as Partial<ZenScoreOptions>), 'E_OPTION', re));
    const native = new (loadNative().Engine)({ backend: 'cpu', threads: 1 });
    try {
      const err = await t.throwsAsync(native.run('zen', small, { batchSize: 2, resolution: 8, ...o } as never));
      t.is((err as { code?: string }).code, 'E_OPTION', (err as Error).message);
      t.regex((err as Error).message, re);
    } finally {
      native.close();
    }
  });
}

test('bad engine options → E_OPTION; closed engine → E_BACKEND', async (t) => {
  t.is(t.throws<ZennasError>(() => new Engine({ threads: 0 }))?.code, 'E_OPTION');
  t.is(t.throws<ZennasError>(() => new Engine({ backend: 'tpu' as never }))?.code, 'E_OPTION');
  const e = new Engine({ threads: 1 });
  e.close();
  e.close();
  await rejectsWith(t, () => e.zenScore(small, opts()), 'E_BACKEND', /closed/);
});

test("backend 'cuda' without a usable GPU → E_BACKEND naming what is missing", async (t) => {
  if (backends().cuda) { t.pass('a GPU is available'); return; }
  // Refused at construction, not at the first call.
  const err = t.throws(() => new Engine({ backend: 'cuda' }));
  t.is((err as { code?: string }).code, 'E_BACKEND');
  t.regex(err!.message, /^backend 'cuda' is unavailable: .*(CUDA|nvcc|cuDNN|GPU|driver)/i);
});

test('random garbage descriptors never crash the process', async (t) => {
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  await withEngine(2, async (e) => {
    for (let i = 0; i < 200; i++) {
      const d = small.slice();
      for (let j = 0; j < 3; j++) d[Math.floor(rnd() * d.length)] = Math.floor(rnd() * 40) - 5;
      try {
        await e.zenScore(d, { batchSize: 2, resolution: 9, repeats: 1 });
      } catch (err) {
        t.true(isZennasError(err), String(err));
        t.not((err as { code?: string }).code, 'E_INTERNAL', (err as Error).message);
      }
    }
  });
  t.pass();
});

/** Zen-scores of `d` in a fresh process with `env` (kernel selection is read once per process). */
function scoresInProcess(t: { is: (a: unknown, b: unknown, m?: string) => void }, d: Int32Array, resolution: number, env: Record<string, string>, expectFailure = false) {
  const script = `
    const z = require('node-gyp-build')(${JSON.stringify(packageRoot())});
    const e = new z.Engine({ backend: 'cpu', threads: 2 });
    e.run('zen', new Int32Array(${JSON.stringify(Array.from(d))}), { batchSize: 4, resolution: ${resolution}, repeats: 2, seed: 5 })
      .then((r) => { console.log(JSON.stringify({ simd: z.cpuFeatures().simd, scores: r.scores })); e.close(); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  if (expectFailure) {
    t.is(r.status !== 0 && /cannot take the indirect path/.test(r.stderr), true, `expected the indirect-only mode to fail: ${r.stderr}`);
    return { simd: '', scores: [] };
  }
  t.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { simd: string; scores: number[] };
}

test('the portable scalar kernels (ZENNAS_SIMD=scalar) agree with the SIMD kernels, k = 1, 3, 5, 7', async (t) => {
  for (const k of [1, 3, 5, 7]) {
    const d = chain(3, [16, 24], k).d;
    // 13×13: packed convolutions; 16×16 and 8×8: the indirect (unpacked) k×k path.
    for (const resolution of [13, 16, 8]) {
      const scalar = scoresInProcess(t, d, resolution, { ZENNAS_SIMD: 'scalar' });
      const simd = scoresInProcess(t, d, resolution, {});
      t.is(scalar.simd, 'scalar');
      for (let i = 0; i < 2; i++) t.true(Math.abs(scalar.scores[i]! - simd.scores[i]!) < 1e-4, `k ${k}, ${resolution}²: ${scalar.scores[i]} vs ${simd.scores[i]}`);
    }
  }
});

test('backward pass: the scalar kernels agree with the SIMD kernels (every conv path: k 1/3/5, strides 1/2, depthwise, both weight-gradient forms)', async (t) => {
  const d = desc([
    [CONV, 0, 1, 0, 3, 16, 5, 1], [BN, 1, 1, 0, 16, 16, 0, 0], [RELU, 1, 1, 0, 16, 16, 0, 0],
    [CONV, 1, 2, 0, 16, 24, 3, 2], [BN, 2, 2, 0, 24, 24, 0, 0], [RELU, 2, 2, 0, 24, 24, 0, 0],
    [DWCONV, 2, 1, 0, 24, 24, 3, 1], [CONV, 1, 3, 0, 24, 32, 1, 2], [CONV, 3, 4, 0, 32, 72, 1, 1], [MAXPOOL, 4, 5, 0, 72, 72, 3, 2],
  ], { output: 5 });
  const run = (env: Record<string, string>) => {
    const script = `
      const z = require('node-gyp-build')(${JSON.stringify(packageRoot())});
      const e = new z.Engine({ backend: 'cpu', threads: 2 });
      e.run('gradients', new Int32Array(${JSON.stringify(Array.from(d))}), { batchSize: 3, resolution: 16, seed: 2, returnGradients: true, inputGradient: true })
        .then((r) => { console.log(JSON.stringify({ simd: z.cpuFeatures().simd, g: r.gradients.map((x) => Array.from(x.data)), x: Array.from(r.inputGradient) })); e.close(); });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as { simd: string; g: number[][]; x: number[] };
  };
  const rel = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / Math.max(1e-300, b.reduce((s, v) => s + v * v, 0)));
  for (const form of ['dot', 'gemm']) {
    const scalar = run({ ZENNAS_SIMD: 'scalar', ZENNAS_BWD_DW: form }), simd = run({ ZENNAS_BWD_DW: form });
    t.is(scalar.simd, 'scalar');
    scalar.g.forEach((g, i) => t.true(rel(g, simd.g[i]!) < 1e-4, `${form}: gradient ${i}: ${rel(g, simd.g[i]!)}`));
    t.true(rel(scalar.x, simd.x) < 1e-4, `${form}: input gradient`);
  }
});

test('indirect k×k convolutions give the same bits as packed ones (ZENNAS_CONV=packed), k = 3, 5, 7', async (t) => {
  // The indirect-only mode really refuses what it cannot do (13 is not a multiple of 8)…
  scoresInProcess(t, chain(3, [8], 3).d, 13, { ZENNAS_CONV: 'indirect' }, true);
  for (const k of [3, 5, 7]) {
    const d = chain(3, [16, 24, 8], k).d;
    for (const resolution of [16, 24, 32]) {
      for (const simd of SIMD_ENVS) {
        const packed = scoresInProcess(t, d, resolution, { ...simd, ZENNAS_CONV: 'packed' });
        // ZENNAS_CONV=indirect fails the call if any conv falls back to packing: all of these must not.
        const indirect = scoresInProcess(t, d, resolution, { ...simd, ZENNAS_CONV: 'indirect' });
        t.deepEqual(indirect.scores, packed.scores, `k ${k}, ${resolution}², ${indirect.simd}`);
      }
    }
  }
});

test('stride-2 k×k convolutions on phase-split rows (indirect) give the same bits as packed ones, k = 3, 5, 7', async (t) => {
  // 32² → 16² → 8² (output widths multiples of 8, so the indirect-only mode must take every conv), odd channel counts
  for (const k of [3, 5, 7]) {
    const d = desc([
      [CONV, 0, 1, 0, 3, 13, k, 2], [BN, 1, 1, 0, 13, 13, 0, 0], [RELU, 1, 1, 0, 13, 13, 0, 0],
      [CONV, 1, 2, 0, 13, 20, k, 2], [BN, 2, 2, 0, 20, 20, 0, 0], [RELU, 2, 2, 0, 20, 20, 0, 0],
      [CONV, 2, 3, 0, 20, 8, k, 1], [BN, 3, 3, 0, 8, 8, 0, 0], [RELU, 3, 3, 0, 8, 8, 0, 0],
    ], { output: 3 });
    for (const simd of SIMD_ENVS) {
      const packed = scoresInProcess(t, d, 32, { ...simd, ZENNAS_CONV: 'packed' });
      const indirect = scoresInProcess(t, d, 32, { ...simd, ZENNAS_CONV: 'indirect' });
      t.deepEqual(indirect.scores, packed.scores, `k ${k}, ${indirect.simd}`);
    }
  }
  // …and an output width that is not a multiple of 8 (28² → 14²) still packs
  scoresInProcess(t, desc([[CONV, 0, 1, 0, 3, 8, 3, 2], [BN, 1, 1, 0, 8, 8, 0, 0], [RELU, 1, 1, 0, 8, 8, 0, 0]], { output: 1 }), 28, { ZENNAS_CONV: 'indirect' }, true);
});

test('the descriptor is copied at the call: mutating it afterwards does not change the result', async (t) => {
  await withEngine(2, async (e) => {
    const d = small.slice();
    const want = await e.zenScore(d, opts());
    const p = e.zenScore(d, opts());
    d.fill(0);
    t.deepEqual((await p).scores, want.scores);
  });
});

test('latency of an as-trained net (ADD residual, GAP, LINEAR) on the CPU', async (t) => {
  const d = desc([
    [CONV, 0, 1, 0, 3, 16, 3, 1], [BN, 1, 1, 0, 16, 16, 0, 0], [RELU, 1, 1, 0, 16, 16, 0, 0],
    [CONV, 1, 2, 0, 16, 16, 3, 1], [BN, 2, 2, 0, 16, 16, 0, 0], [ADD, 2, 2, 1, 16, 16, 0, 0], [RELU, 2, 2, 0, 16, 16, 0, 0],
    [GAP, 2, 3, 0, 16, 16, 0, 0], [LINEAR, 3, 4, 0, 16, 10, 0, 0],
  ], { slots: 5, output: 2 });
  const r = await withEngine(2, (e) => e.latency(d, { batchSize: 8, resolution: 32, warmup: 1, iterations: 4 }));
  t.is(r.device, 'cpu');
  t.true(r.meanMs > 0 && r.imagesPerSecond > 0 && (r.samplesMs?.length ?? 0) === 4);
  await withEngine(1, (e) => rejectsWith(t, () => e.latency(d, { batchSize: 8, resolution: 32, precision: 'fp16' }), 'E_OPTION', /fp16/));
});

test('close() while calls are in flight: each settles (a score, or E_CANCELLED at its next repeat), never hangs; later calls reject', async (t) => {
  const e = new Engine({ threads: 2 });
  const inflight = Array.from({ length: 4 }, (_, s) => e.zenScore(small, opts({ seed: s })).then((r) => r, (err: { code?: string }) => err));
  e.close();
  const done = await Promise.all(inflight);
  t.is(done.length, 4);
  for (const r of done) {
    if ('scores' in r) t.true(r.scores.every(Number.isFinite));
    else t.is(r.code, 'E_CANCELLED');
  }
  await rejectsWith(t, () => e.zenScore(small, opts()), 'E_BACKEND');
});

test('bnStatistics: one entry per BN in op order, channel stats of the clean forward, first-principles values', async (t) => {
  // conv 1×1 of a single input channel into 2 channels, then BN: the BN input is w_c·x, so its batch
  // mean and variance are w_c·mean(x) and w_c²·var(x) for the engine's own x and w (Philox).
  const d = desc([[CONV, 0, 1, 0, 1, 2, 1, 1], [BN, 1, 1, 0, 2, 2, 0, 0]], { slots: 2, inputChannels: 1, output: 1 });
  const B = 3, R = 5, seed = 11;
  const stats = await withEngine(1, (e) => e.bnStatistics(d, { batchSize: B, resolution: R, seed }));
  t.is(stats.length, 1);
  t.is(stats[0]!.op, 1);
  const x = gaussianTensor(seed, 0x40000000, 0, B * R * R), w = gaussianTensor(seed, 1, 0, 2);
  const mx = x.reduce((a, v) => a + v, 0) / x.length;
  const vx = x.reduce((a, v) => a + (v - mx) ** 2, 0) / x.length;
  for (let c = 0; c < 2; c++) {
    t.true(Math.abs(stats[0]!.mean[c]! - w[c]! * mx) < 1e-5, `mean ${c}`);
    t.true(Math.abs(stats[0]!.variance[c]! - w[c]! ** 2 * vx) < 1e-5 * w[c]! ** 2 * vx + 1e-9, `variance ${c}`);
  }
  const many = await withEngine(2, (e) => e.bnStatistics(chain(3, [8, 16, 16]).d, { batchSize: 4, resolution: 12 }));
  t.deepEqual(many.map((s) => [s.op, s.mean.length, s.variance.length]), [[1, 8, 8], [4, 16, 16], [7, 16, 16]]);
  t.true(many.every((s) => s.variance.every((v) => v > 0)));
  const noBn = desc([[CONV, 0, 1, 0, 3, 4, 3, 1]], { slots: 2 });
  t.deepEqual(await withEngine(1, (e) => e.bnStatistics(noBn, { batchSize: 2, resolution: 4 })), []);
  await withEngine(1, (e) => rejectsWith(t, () => e.bnStatistics(small, { batchSize: 0, resolution: 8 }), 'E_OPTION', /batchSize/));
  const native = new (loadNative().Engine)({ backend: 'cpu', threads: 1 });
  try {
    const err = await t.throwsAsync(native.run('zen', small, { batchSize: 2, resolution: 8, bnStatistics: 'yes' } as never));
    t.regex((err as Error).message, /option 'bnStatistics' must be true or false/);
  } finally {
    native.close();
  }
});

test('native errors are instances of the library ZennasError (the class is handed to the addon at load)', async (t) => {
  const native = new (loadNative().Engine)({ backend: 'cpu', threads: 1 });
  try {
    const err = await t.throwsAsync(native.run('zen', new Int32Array(3), {} as never));
    t.true(err instanceof ZennasError);
    t.is((err as { code?: string }).code, 'E_DESCRIPTOR');
  } finally {
    native.close();
  }
  const sync = t.throws(() => new (loadNative().Engine)({ backend: 'gpu' } as never));
  t.true(sync instanceof ZennasError);
});

test('BN+ReLU fusion only when nothing else reads the BN output: CONV→BN→RELU→ADD(relu, bn) = float64 reference', async (t) => {
  // In v2 every op has its own value; the planner must not fold the ReLU into the BN here, since the
  // ADD reads the BN output too (a removed liveness guard changes this score and nothing else notices).
  const d = desc([[CONV, 0, 1, 0, 3, 8, 3, 1], [BN, 1, 1, 0, 8, 8, 0, 0], [RELU, 1, 2, 0, 8, 8, 0, 0], [ADD, 2, 2, 1, 8, 8, 0, 0]], { output: 2 });
  const o = { batchSize: 4, resolution: 8, repeats: 2, seed: 3 };
  const got = await withEngine(2, (e) => e.zenScore(d, o));
  const ref = zenScoreReference(d, o);
  got.scores.forEach((s, i) => t.true(Math.abs(s - ref.scores[i]!) < 1e-3, `repeat ${i}: ${s} vs reference ${ref.scores[i]}`));
});

test('degenerate Zen-scores say so: Δ below float32 resolution, BN over ≤ 4 values (issue: silent wrong results)', async (t) => {
  // The reported case: a 2→1-channel bottleneck at batch 2, 8×8 — engine −25.77 vs float64 −45.40.
  const d = encodeDescriptor(lowerForScoring(parseStructure('SuperResK1K7K1(2,1,3,1,2)')));
  const r = await withEngine(1, (e) => e.zenScore(d, { batchSize: 2, resolution: 8, repeats: 2 }));
  t.truthy(r.degenerate, `no warning for ${r.mean}`);
  t.regex(r.degenerate!.join(' '), /float32 resolution/);
  // a healthy net is not flagged
  const ok = await withEngine(1, (e) => e.zenScore(small, opts()));
  t.is(ok.degenerate, undefined);
  // BN over a 1×1 map of 2 images: 2 values per channel
  const few = desc([[GAP, 0, 1, 0, 3, 3, 0, 0], [CONV, 1, 2, 0, 3, 8, 1, 1], [BN, 2, 2, 0, 8, 8, 0, 0]], { output: 2 });
  const f = await withEngine(1, (e) => e.zenScore(few, { batchSize: 2, resolution: 8 }));
  t.regex((f.degenerate ?? []).join(' '), /normalises only 2 values per channel/);
});
