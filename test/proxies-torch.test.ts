/**
 * Native zero-shot proxies vs PyTorch versions written from the official code (test/torch/proxies.py;
 * float64, the same Philox weights, input and labels), naswot and gsnr's three modes included (grasp:
 * test/proxies-grasp.test.ts). fisher, jacob_cov, tenas_ntk, tenas_lr and tenas run on four nets: conv/BN/ReLU
 * with residuals and max pool, IDW + SE, a plain conv chain and a depthwise net without SE. Runs when a Python with torch is found (ZENNAS_PYTHON or .venv-bench);
 * skipped otherwise.
 */
import test from 'ava';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { parseStructure } from '../src/grammar/parse';
import { decodeDescriptor, encodeDescriptor } from '../src/ops/descriptor';
import { Engine } from '../src/engine/engine';
import { philoxLabels } from '../src/rng/philox';
import { PROXY_TABLE } from '../src/proxies/table';
import { lowerForProxy } from '../src/proxies/lowering';
import { findPython } from './helpers/python';
import { buildGraph } from '../src/reference';

const python = findPython(['torch']);
const maybe = python ? test : test.skip;
if (!python) console.log('  [skip] proxies-torch: no Python with torch (set ZENNAS_PYTHON or run .ci/run to create .venv-bench)');

const NETS = [
  { name: 'conv/BN/ReLU, residual K3K3 and K1K5K1, max-pool', s: 'SuperConvK3BNRELU(3,8,1,1)MaxPool(8,8,3,2)SuperResK3K3(8,16,2,8,1)SuperResK1K5K1(16,16,1,8,1)', se: false },
  { name: 'IDW (depthwise) + SE', s: 'SuperConvK3BNRELU(3,8,2,1)SuperResIDWE2K3(8,16,1,8,1)', se: true },
];
// fisher, jacob_cov and the TE-NAS proxies also on a plain conv chain and a depthwise net without SE.
const MORE_NETS = [
  { name: 'plain conv chain (no residual), stride 2, 1×1', s: 'SuperConvK3BNRELU(3,8,1,1)SuperConvK3BNRELU(8,16,2,1)SuperConvK1BNRELU(16,12,1,1)', se: false },
  { name: 'depthwise (IDW E1 K3, E2 K5), no SE', s: 'SuperConvK3BNRELU(3,8,1,1)SuperResIDWE1K3(8,16,2,8,1)SuperResIDWE2K5(16,16,1,8,1)', se: false },
];
const PROXIES = ['grad_norm', 'grad_norm_zc', 'snip', 'synflow', 'synflow_zc', 'fisher', 'jacob_cov', 'tenas_ntk', 'tenas_lr', 'tenas'] as const;
const ALL_NETS = new Set(['grad_norm', 'grad_norm_zc', 'snip', 'synflow', 'synflow_zc']);

for (const name of PROXIES) {
  for (const net of [...NETS, ...(ALL_NETS.has(name) ? [] : MORE_NETS)]) {
    maybe(`${name} vs PyTorch (official definitions): ${net.name}`, async (t) => {
      const spec = PROXY_TABLE[name];
      const d = encodeDescriptor(lowerForProxy(parseStructure(net.s), spec, { se: net.se, numClasses: 10 }));
      const seed = 21, repeat = 1, batch = 6, resolution = 12;
      const sampleBatches = name === 'tenas_lr' || name === 'tenas' ? 2 : undefined;  // regions over 12 images, NTK over the first 6
      const engine = new Engine({ threads: 2 });
      const opts = { resolution, seed, firstRepeat: repeat, ...(spec.batchSize ? { batchSize: batch } : {}), ...(sampleBatches ? { sampleBatches } : {}) };
      if (name === 'synflow' && net.se) {  // SE's BN over one 1×1 image: PyTorch refuses it, so does the engine
        await t.throwsAsync(engine.run(name, d, opts), { code: 'E_OPTION' });
        engine.close();
        return;
      }
      let got;
      try {
        got = await engine.run(name, d, opts);
      } finally {
        engine.close();
      }
      const input = { net: decodeDescriptor(d), proxy: name, batch, resolution, seed, repeat, bnEps: 1e-5, sampleBatches, labels: Array.from(philoxLabels(seed, repeat, batch, 10)) };
      const p = spawnSync(python!, [path.join(__dirname, 'torch/proxies.py')], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 26 });
      if (p.status !== 0) throw new Error(`proxies.py failed: ${p.stderr}`);
      const ref = JSON.parse(p.stdout) as Record<string, number>;
      const e = Math.abs(got.scores[0]! - ref.score!) / Math.abs(ref.score!);
      t.log(`${name}: engine ${got.scores[0]} torch ${ref.score} (relative ${e.toExponential(2)})`);
      t.true(e <= 1e-5, `score ${got.scores[0]} vs ${ref.score}`);
      if (ref.loss !== undefined) t.true(Math.abs(got.series.loss![0]! - ref.loss) <= 1e-5 * Math.abs(ref.loss), `loss ${got.series.loss![0]} vs ${ref.loss}`);
      if (ref.official !== undefined) t.true(Math.abs(got.series.official![0]! - ref.official) <= 1e-5 * Math.abs(ref.official));
      if (ref.logR !== undefined) t.true(Math.abs(got.series.logR![0]! - ref.logR) <= 1e-5 * Math.max(1, Math.abs(ref.logR)), `ln R ${got.series.logR![0]} vs ${ref.logR}`);
      if (name === 'tenas') {  // both parts: the region count exactly (TE-NAS's half-precision Σ 1/multiplicity), the condition number
        t.true(Math.abs(got.series.linearRegions![0]! - ref.linearRegions!) < 1e-3, `regions ${got.series.linearRegions![0]} vs ${ref.linearRegions}`);
        t.true(Math.abs(got.series.ntkCond![0]! - ref.ntkCond!) <= 1e-5 * ref.ntkCond!, `cond ${got.series.ntkCond![0]} vs ${ref.ntkCond}`);
      }
    });
  }
}

maybe('tenas_lr vs PyTorch (TE-NAS LinearRegionCount, Σ 1/multiplicity in half precision): a net of few ReLU units, 3 sample batches, repeated patterns', async (t) => {
  // 1×1 images, conv 3→3 + BN + ReLU, conv 3→4 + BN + ReLU: 7 code bits, many of the 48 images share a pattern
  const g = buildGraph(3, [
    { op: 'conv', inputs: [0], cout: 3, kernel: 1, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
    { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 1 }, { op: 'bn', inputs: [4] }, { op: 'relu', inputs: [5] },
    { op: 'gap', inputs: [6] }, { op: 'linear', inputs: [7], cout: 4, bias: 1 },
  ]);
  const d = encodeDescriptor(g);
  const seed = 5, repeat = 2, batch = 16, resolution = 1, sampleBatches = 3;
  const engine = new Engine({ threads: 2 });
  let lr;
  try {
    lr = await engine.run('tenas_lr', d, { resolution, seed, firstRepeat: repeat, batchSize: batch, sampleBatches });
  } finally {
    engine.close();
  }
  const input = { net: decodeDescriptor(d), proxy: 'tenas_lr', batch, resolution, seed, repeat, bnEps: 1e-5, sampleBatches, labels: [] };
  const p = spawnSync(python!, [path.join(__dirname, 'torch/proxies.py')], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (p.status !== 0) throw new Error(`proxies.py failed: ${p.stderr}`);
  const ref = JSON.parse(p.stdout) as Record<string, number>;
  t.log(`linear regions: engine ${lr.scores[0]} torch ${ref.score}`);
  t.true(lr.scores[0]! < batch * sampleBatches, 'some patterns repeat');
  t.true(Math.abs(lr.scores[0]! - ref.score!) < 1e-3, 'the official count is the number of distinct patterns');
});

function runTorch(input: Record<string, unknown>): Record<string, number> {
  const p = spawnSync(python!, [path.join(__dirname, 'torch/proxies.py')], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (p.status !== 0) throw new Error(`proxies.py failed: ${p.stderr}`);
  return JSON.parse(p.stdout) as Record<string, number>;
}

for (const net of NETS) {
  maybe(`naswot vs PyTorch (Zen-NAS compute_NASWOT_score.py: hooks on the body ReLUs, slogdet): ${net.name}`, async (t) => {
    const d = encodeDescriptor(lowerForProxy(parseStructure(net.s), PROXY_TABLE.naswot, { se: net.se }));
    const seed = 8, repeat = 2, batch = 8, resolution = 12;
    const engine = new Engine({ threads: 2 });
    let got;
    try {
      got = await engine.run('naswot', d, { resolution, seed, firstRepeat: repeat, batchSize: batch });
    } finally {
      engine.close();
    }
    const ref = runTorch({ net: decodeDescriptor(d), proxy: 'naswot', batch, resolution, seed, repeat, bnEps: 1e-5, labels: [] });
    t.log(`naswot: engine ${got.scores[0]} torch ${ref.score} (units ${got.series.units![0]} / ${ref.units})`);
    t.is(got.series.units![0], ref.units, 'the same ReLUs are coded (SE gate ReLUs excluded)');
    t.true(Math.abs(got.scores[0]! - ref.score!) <= 1e-4 * Math.abs(ref.score!), `${got.scores[0]} vs ${ref.score}`);
  });

  for (const gsnrMode of ['batch', 'official', 'sample'] as const) {
    maybe(`gsnr '${gsnrMode}' vs PyTorch (ξ-GSNR run_gsnr.py; 'official' without zero_grad): ${net.name}`, async (t) => {
      const d = encodeDescriptor(lowerForProxy(parseStructure(net.s), PROXY_TABLE.gsnr, { se: net.se, numClasses: 10 }));
      const seed = 4, repeat = 1, batch = 5, resolution = 12, numBatches = 4;
      const engine = new Engine({ threads: 2 });
      const opts = { resolution, seed, firstRepeat: repeat, batchSize: batch, numBatches, gsnrMode };
      try {
        if (gsnrMode === 'sample' && net.se) {  // per-image gradients: SE's BN over one 1×1 value, refused by PyTorch and the engine
          await t.throwsAsync(engine.run('gsnr', d, opts), { code: 'E_OPTION' });
          return;
        }
        const got = await engine.run('gsnr', d, opts);
        const images = gsnrMode === 'sample' ? batch : batch * numBatches;
        const ref = runTorch({ net: decodeDescriptor(d), proxy: 'gsnr', batch, resolution, seed, repeat, bnEps: 1e-5, gsnrMode, numBatches, xi: 1e-8, labels: Array.from(philoxLabels(seed, repeat, images, 10)) });
        const e = Math.abs(got.scores[0]! - ref.score!) / Math.abs(ref.score!);
        t.log(`gsnr ${gsnrMode}: engine ${got.scores[0]} torch ${ref.score} (relative ${e.toExponential(2)}), layers ${got.series.layers![0]} / ${ref.layers}`);
        t.is(got.series.layers![0], ref.layers);
        t.true(e <= 2e-5, `${got.scores[0]} vs ${ref.score}`);  // measured ≤ 3e-6 (float32 gradients; mean²/var amplifies them)
      } finally {
        engine.close();
      }
    });
  }
}
