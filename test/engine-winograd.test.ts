/**
 * Winograd F(4×4, 3×3) convolutions (native/cpu/winograd.h) and the conv option ('auto' lets the
 * planner choose Winograd per layer, 'direct' never does):
 * - the kernels against a float64 direct convolution, element by element, on random shapes
 *   (channel counts that are not multiples of 8, odd and tiny planes, partial tiles), SIMD and
 *   scalar, in calls of any number of tiles (results must not depend on the split);
 * - the Zen-score of every test net in both modes against the float64 reference;
 * - 'auto' really runs Winograd where it should (its bits differ from 'direct'), is independent
 *   of the thread count, and 'direct' is what ZENNAS_CONV=direct gives.
 */
import test from 'ava';
import { spawnSync } from 'child_process';
import { Engine } from '../src/engine/engine';
import { loadNative, packageRoot } from '../src/engine/native';
import { NodeSpec, buildGraph, zenScoreReference } from '../src/reference';
import { encodeDescriptor } from '../src/ops/descriptor';
import { Graph } from '../src/ops/graph';
import { parseStructure } from '../src/grammar/parse';
import { lowerForScoring } from '../src/model/lower';
import { searchConfig } from '../src/search/config';
import { configDifference } from '../src/search/store';
import { checkScorerMatchesConfig, engineScorer } from '../src/search/engine-scorer';
import { encodePayload, readPayload } from '../src/distributed/payload';

type ConvHook = (n: number, cin: number, cout: number, h: number, w: number, k: number, x: Float32Array, w8: Float32Array, algo: string, simd?: string, tiles?: number) => Float32Array;
const convStride1 = (loadNative() as unknown as { _convStride1: ConvHook })._convStride1;

/** A small fixed-seed generator (mulberry32) for shapes and values. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** float64 k×k stride-1 "same" conv, NCHW / OIHW; also Σ|w·x| per output (the error scale). */
function conv64(n: number, cin: number, cout: number, h: number, w: number, k: number, x: Float32Array, wt: Float32Array): { y: Float64Array; mag: Float64Array } {
  const pad = (k - 1) / 2;
  const y = new Float64Array(n * cout * h * w), mag = new Float64Array(y.length);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < cout; o++)
      for (let oy = 0; oy < h; oy++)
        for (let ox = 0; ox < w; ox++) {
          let s = 0, m = 0;
          for (let c = 0; c < cin; c++)
            for (let ky = 0; ky < k; ky++) {
              const iy = oy + ky - pad;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < k; kx++) {
                const ix = ox + kx - pad;
                if (ix < 0 || ix >= w) continue;
                const p = wt[((o * cin + c) * k + ky) * k + kx]! * x[((i * cin + c) * h + iy) * w + ix]!;
                s += p;
                m += Math.abs(p);
              }
            }
          const at = ((i * cout + o) * h + oy) * w + ox;
          y[at] = s;
          mag[at] = m;
        }
  return { y, mag };
}

/** Largest |got − want| relative to the magnitude Σ|w·x| of that output (float32 rounding scale). */
function worstError(got: Float32Array, want: { y: Float64Array; mag: Float64Array }): number {
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want.y[i]!) / Math.max(want.mag[i]!, 1e-30));
  return worst;
}

const SHAPES = (() => {
  const r = rng(18);
  const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
  const out: Array<{ n: number; cin: number; cout: number; h: number; w: number; k: number }> = [
    { n: 1, cin: 1, cout: 1, h: 1, w: 1, k: 3 },  // one partial tile, one pixel
    { n: 2, cin: 3, cout: 5, h: 4, w: 4, k: 3 },  // exactly one tile per image
    { n: 1, cin: 8, cout: 16, h: 2, w: 7, k: 3 },
    { n: 1, cin: 2, cout: 3, h: 1, w: 2, k: 7 },  // a 7×7 kernel over a plane smaller than it
    { n: 2, cin: 4, cout: 6, h: 3, w: 5, k: 5 },
  ];
  for (let i = 0; i < 18; i++) {
    out.push({ n: pick([1, 2, 3]), cin: pick([1, 3, 7, 8, 12, 16, 17, 24, 31, 40, 64, 72]), cout: pick([1, 5, 6, 8, 13, 16, 24, 33, 48, 72]), h: pick([3, 5, 7, 8, 9, 13, 16, 17]), w: pick([3, 5, 7, 8, 9, 13, 16, 17, 32]), k: pick([3, 3, 5, 7]) });
  }
  return out;
})();

test('Winograd F(4,3) (3×3; 5×5 and 7×7 as nested 3×3) = float64 direct conv, element by element, on random shapes (SIMD and scalar, any tile split)', (t) => {
  let worstWino = 0, worstDirect = 0;
  SHAPES.forEach((s, si) => {
    const r = rng(100 + si);
    const x = Float32Array.from({ length: s.n * s.cin * s.h * s.w }, () => 2 * r() - 1);
    const wt = Float32Array.from({ length: s.cout * s.cin * s.k * s.k }, () => 2 * r() - 1);
    const want = conv64(s.n, s.cin, s.cout, s.h, s.w, s.k, x, wt);
    const direct = convStride1(s.n, s.cin, s.cout, s.h, s.w, s.k, x, wt, 'direct');
    const wino = convStride1(s.n, s.cin, s.cout, s.h, s.w, s.k, x, wt, 'winograd');
    const winoScalar = convStride1(s.n, s.cin, s.cout, s.h, s.w, s.k, x, wt, 'winograd', 'scalar');
    const winoSplit = convStride1(s.n, s.cin, s.cout, s.h, s.w, s.k, x, wt, 'winograd', undefined, 16);
    const label = `n ${s.n}, ${s.cin}→${s.cout}, k ${s.k}, ${s.h}×${s.w}`;
    const ed = worstError(direct, want), ew = worstError(wino, want), es = worstError(winoScalar, want);
    worstDirect = Math.max(worstDirect, ed);
    worstWino = Math.max(worstWino, ew, es);
    // F(4,3) rounds through transforms with coefficients up to 8 (Aᵀ) and 5 (Bᵀ): a few hundred
    // float32 ulps of Σ|w·x| in the worst case, far below any layout or border mistake (≈ 1).
    t.true(ew < 5e-5, `${label}: winograd relative error ${ew}`);
    t.true(es < 5e-5, `${label}: winograd (scalar) relative error ${es}`);
    t.true(ed < 1e-5, `${label}: direct relative error ${ed}`);
    t.deepEqual(Array.from(winoSplit), Array.from(wino), `${label}: calls of 16 tiles give the same bits`);
  });
  t.log(`largest relative error: winograd ${worstWino.toExponential(2)}, direct ${worstDirect.toExponential(2)}`);
});

test('_convStride1 refuses bad arguments with E_OPTION (no crash)', (t) => {
  const x = new Float32Array(4), w = new Float32Array(9);
  t.throws(() => convStride1(1, 1, 1, 2, 2, 3, x, w, 'fft'), { message: /algo/ });
  t.throws(() => convStride1(1, 1, 1, 2, 3, 3, x, w, 'winograd'), { message: /lengths/ });
  t.throws(() => convStride1(0, 1, 1, 2, 2, 3, x, w, 'winograd'), { message: /range/ });
  t.throws(() => convStride1(1, 1, 1, 2, 2, 4, x, w, 'winograd'), { message: /range/ });
});

const structure = (s: string): Graph => lowerForScoring(parseStructure(s));
const cell: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 48, kernel: 3, stride: 1 },
  { op: 'bn', inputs: [1] },
  { op: 'swish', inputs: [2] },
  { op: 'conv', inputs: [3], cout: 64, kernel: 3, stride: 1 },  // Winograd under 'auto'
  { op: 'bn', inputs: [4] },
  { op: 'relu', inputs: [5] },
  { op: 'avgpool', inputs: [6], kernel: 3, stride: 1, countIncludePad: 1 },
  { op: 'add', inputs: [6, 7] },
  { op: 'conv', inputs: [8], cout: 41, kernel: 3, stride: 1 },  // Winograd, odd channels
  { op: 'bn', inputs: [9] },
];

/**
 * Test nets: the engine-reference nets and wider ones where 'auto' picks Winograd (`wino`: it
 * must; the planner's cost model wants ≳ 32 channels for 3×3 and 5×5, ≳ 48 for 7×7).
 */
const NETS: Array<{ name: string; graph: () => Graph; batch: number; res: number; bnEps: number; wino: boolean }> = [
  { name: 'SuperConvK3BNRELU + SuperResK3K3/K5K5', graph: () => structure('SuperConvK3BNRELU(3,32,1,1)SuperResK3K3(32,48,2,32,1)SuperResK5K5(48,48,1,32,1)'), batch: 4, res: 16, bnEps: 1e-5, wino: true },
  { name: 'K7 stride-2 stem + max-pool + K1K7K1', graph: () => structure('SuperConvK7BNRELU(3,16,2,1)MaxPool(16,16,3,2)SuperResK1K7K1(16,32,2,8,1)'), batch: 4, res: 32, bnEps: 1e-3, wino: false },
  { name: 'IDW + SE', graph: () => structure('SuperConvK3BNRELU(3,16,1,1)SuperResIDWE4K5(16,24,2,16,1)'), batch: 8, res: 12, bnEps: 1e-5, wino: false },
  { name: 'CIFAR-like K3K3 stack, 32×32', graph: () => structure('SuperConvK3BNRELU(3,24,1,1)SuperResK3K3(24,32,1,24,2)SuperResK3K3(32,48,2,32,1)SuperResK3K3(48,64,2,40,1)'), batch: 4, res: 32, bnEps: 1e-5, wino: true },
  { name: 'odd plane (13×13), wide', graph: () => structure('SuperConvK3BNRELU(3,72,1,1)SuperResK3K3(72,80,1,72,1)'), batch: 2, res: 13, bnEps: 1e-5, wino: true },
  { name: 'wide K7K7 (nested 3×3 Winograd)', graph: () => structure('SuperConvK3BNRELU(3,64,1,1)SuperResK7K7(64,64,1,64,1)'), batch: 2, res: 8, bnEps: 1e-5, wino: true },
  { name: 'v2 cell (swish, avgpool, n-ary add)', graph: () => buildGraph(3, cell), batch: 4, res: 16, bnEps: 1e-5, wino: true },
];

const bits = (x: number) => Buffer.from(new Float64Array([x]).buffer).toString('hex');

for (const mode of ['paper', 'official'] as const) {
  test(`Zen-score: every test net, conv 'auto' and 'direct', = float64 reference (${mode})`, async (t) => {
    const engine = new Engine({ backend: 'cpu', threads: 2 });
    try {
      for (const c of NETS) {
        const d = encodeDescriptor(c.graph());
        const opts = { batchSize: c.batch, resolution: c.res, repeats: 2, seed: 2024, mode, bnEps: c.bnEps, alpha: 0.01 };
        const ref = zenScoreReference(d, opts);
        const got = { auto: await engine.zenScore(d, { ...opts, conv: 'auto' }), direct: await engine.zenScore(d, { ...opts, conv: 'direct' }) };
        for (const conv of ['auto', 'direct'] as const) {
          for (let r = 0; r < 2; r++) {
            const g = got[conv];
            t.true(Math.abs(g.scores[r]! - ref.scores[r]!) < 1e-3, `${c.name}, ${conv}, r${r}: ${g.scores[r]} vs ${ref.scores[r]}`);
            t.true(Math.abs(g.logSigmaSum[r]! - ref.logSigmaSum[r]!) < 1e-5, `${c.name}, ${conv}, Σ ln σ̄ r${r}`);
          }
        }
        // Winograd rounds differently: where the planner chose it the bits must differ, elsewhere not.
        if (c.wino) t.notDeepEqual(got.auto.scores.map(bits), got.direct.scores.map(bits), `${c.name}: 'auto' ran Winograd`);
        else t.deepEqual(got.auto.scores.map(bits), got.direct.scores.map(bits), `${c.name}: no Winograd layer`);
      }
    } finally {
      engine.close();
    }
  });
}

test("conv 'auto' (Winograd) scores do not depend on the thread count", async (t) => {
  const e1 = new Engine({ backend: 'cpu', threads: 1 }), e2 = new Engine({ backend: 'cpu', threads: 2 });
  try {
    for (const c of NETS.filter((n) => n.wino)) {
      const d = encodeDescriptor(c.graph());
      const opts = { batchSize: c.batch, resolution: c.res, repeats: 2, seed: 9, conv: 'auto' as const };
      t.deepEqual((await e1.zenScore(d, opts)).scores.map(bits), (await e2.zenScore(d, opts)).scores.map(bits), c.name);
    }
  } finally {
    e1.close();
    e2.close();
  }
});

test("conv option: validated from the option table; 'direct' = ZENNAS_CONV=direct; ZENNAS_CONV=winograd forces it on small layers", async (t) => {
  const engine = new Engine({ backend: 'cpu', threads: 2 });
  const d = encodeDescriptor(NETS[0]!.graph());
  const small = encodeDescriptor(structure('SuperConvK3BNRELU(3,8,1,1)SuperConvK3BNRELU(8,8,1,1)'));
  const opts = { batchSize: 4, resolution: 16, repeats: 2, seed: 5 };
  try {
    await t.throwsAsync(engine.zenScore(d, { ...opts, conv: 'fft' as never }), { code: 'E_OPTION', message: /conv must be 'auto' or 'direct'/ });
    const direct = (await engine.zenScore(d, { ...opts, conv: 'direct' })).scores;
    const auto = (await engine.zenScore(d, { ...opts, conv: 'auto' })).scores;
    const smallAuto = (await engine.zenScore(small, opts)).scores;
    const script = (desc: Int32Array, conv: string) => `
      const z = require('node-gyp-build')(${JSON.stringify(packageRoot())});
      const e = new z.Engine({ backend: 'cpu', threads: 2 });
      e.run('zen', new Int32Array(${JSON.stringify(Array.from(desc))}), { batchSize: 4, resolution: 16, repeats: 2, seed: 5, conv: '${conv}' })
        .then((r) => { console.log(JSON.stringify(r.scores)); e.close(); });`;
    const run = (desc: Int32Array, conv: string, env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ['-e', script(desc, conv)], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
      t.is(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as number[];
    };
    t.deepEqual(run(d, 'auto', { ZENNAS_CONV: 'direct' }).map(bits), direct.map(bits), "ZENNAS_CONV=direct overrides conv 'auto'");
    t.deepEqual(run(d, 'auto', {}).map(bits), auto.map(bits));
    // 8 channels: the planner keeps the direct GEMM; forced Winograd differs in the bits, not the score.
    const forced = run(small, 'auto', { ZENNAS_CONV: 'winograd' });
    t.notDeepEqual(forced.map(bits), smallAuto.map(bits));
    forced.forEach((s, i) => t.true(Math.abs(s - smallAuto[i]!) < 1e-4, `forced Winograd ${s} vs ${smallAuto[i]}`));
  } finally {
    engine.close();
  }
});

test('search runs do not mix conv algorithms: the scoring record names conv, a resume with another is refused, a run from before the option resumes as direct', (t) => {
  const auto = searchConfig({ space: 'I' });
  t.is(auto.scoring.conv, 'auto');
  const direct = searchConfig({ space: 'I', proxyOptions: { conv: 'direct' } });
  t.regex(configDifference(auto, direct) ?? '', /'scoring' was .*"conv":"auto".* but is .*"conv":"direct"/);
  t.is(configDifference(direct, direct), null);
  const { conv: _c, ...old } = auto.scoring;  // a checkpoint written before the option
  const before = { ...auto, scoring: old };
  t.is(configDifference(before, direct), null, 'an old run goes on with the direct convolutions');
  t.truthy(configDifference(before, auto), 'and not with Winograd');
  // A scorer built with other engine options than the config is refused before the run starts.
  const fake = { zenScore: async () => ({ mean: 0, seconds: 0 }), close: () => {} };
  const opts = { batchSize: 64, resolution: 32, repeats: 1, seed: 0, mode: 'paper' as const, alpha: 0.01, bnEps: 1e-5 };
  t.notThrows(() => checkScorerMatchesConfig(engineScorer(fake, opts), auto));
  t.throws(() => checkScorerMatchesConfig(engineScorer(fake, { ...opts, conv: 'direct' }), auto), { code: 'E_OPTION', message: /conv/ });
  t.throws(() => searchConfig({ space: 'I', proxy: 'grad_norm', proxyOptions: { conv: 'direct' } }), { code: 'E_OPTION', message: /conv/ });
  // Queue jobs carry it to the workers (a Zen-score option; other proxies do not take it).
  const d = encodeDescriptor(structure('SuperConvK3BNRELU(3,8,1,1)'));
  t.is(readPayload(encodePayload('zen', d, { ...opts, conv: 'direct' })).options.conv, 'direct');
  t.throws(() => readPayload(encodePayload('zen', d, { ...opts, conv: 'fft' })), { message: /conv must be 'auto' or 'direct'/ });
  t.throws(() => readPayload(encodePayload('grad_norm', d, { batchSize: 64, conv: 'direct' })), { message: /not an option of proxy 'grad_norm'/ });
});
