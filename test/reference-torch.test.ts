/**
 * Cross-check of the float64 reference against the independent PyTorch implementation
 * (benchmarks/zen-score-cpu/torch_zen.py, same Philox streams). Runs when a Python with torch is
 * found (ZENNAS_PYTHON, or the benchmark's .venv-bench); skipped otherwise.
 */
import test from 'ava';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { zenScoreReference } from '../src/reference/zen-reference';
import { decodeDescriptor, encodeDescriptor } from '../src/model/descriptor';
import { parseStructure } from '../src/grammar/parse';
import { lowerForScoring } from '../src/model/lower';
import { findPython } from './helpers/python';

const ROOT = path.resolve(__dirname, '..');
const SCRIPT = path.join(ROOT, 'benchmarks/zen-score-cpu/torch_zen.py');

const python = findPython(['torch', 'numpy']);
const maybe = python ? test : test.skip;

const CASES: Array<{ name: string; structure: string; se?: boolean; batch: number; resolution: number; mode: 'paper' | 'official'; bnEps: number }> = [
  { name: 'plain', structure: 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)', batch: 4, resolution: 16, mode: 'paper', bnEps: 1e-5 },
  { name: 'bottleneck+maxpool', structure: 'SuperConvK7BNRELU(3,16,2,1)MaxPool(16,16,3,2)SuperResK1K5K1(16,32,2,8,1)', batch: 4, resolution: 32, mode: 'official', bnEps: 1e-3 },
  { name: 'idw+se', structure: 'SuperConvK3BNRELU(3,16,1,1)SuperResIDWE2K3(16,24,2,16,1)', se: true, batch: 3, resolution: 12, mode: 'paper', bnEps: 1e-5 },
  { name: 'idw+se official', structure: 'SuperConvK3BNRELU(3,16,1,1)SuperResIDWE4K5(16,24,2,16,1)', se: true, batch: 3, resolution: 12, mode: 'official', bnEps: 1e-5 },
];

function runTorch(dtype: 'float32' | 'float64') {
  const repeats = 3, seed = 12345;
  const nets = CASES.map((c) => {
    const d = encodeDescriptor(lowerForScoring(parseStructure(c.structure), { se: c.se }));
    const dec = decodeDescriptor(d);
    const ref = zenScoreReference(d, { batchSize: c.batch, resolution: c.resolution, repeats, seed, mode: c.mode, bnEps: c.bnEps });
    return { spec: { name: c.name, ...dec, batch: c.batch, resolution: c.resolution, repeats, seed, mode: c.mode, alpha: 0.01, bnEps: c.bnEps, dtype }, ref };
  });
  const r = spawnSync(python!, [SCRIPT, '-'], { input: JSON.stringify({ threads: 1, warmup: false, nets: nets.map((n) => n.spec) }), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`torch_zen.py failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { results: Array<{ name: string; scores: number[]; logDelta: number[]; logSigmaSum: number[] }> };
  return out.results.map((res, i) => ({ res, ref: nets[i]!.ref, repeats }));
}

maybe('torch_zen.py in float64 equals the float64 reference (same Philox draws, independent code)', (t) => {
  for (const { res, ref, repeats } of runTorch('float64')) {
    for (let k = 0; k < repeats; k++) {
      t.true(Math.abs(res.logDelta[k]! - ref.logDelta[k]!) < 1e-9, `${res.name} r${k} logΔ ${res.logDelta[k]} vs ${ref.logDelta[k]}`);
      t.true(Math.abs(res.logSigmaSum[k]! - ref.logSigmaSum[k]!) < 1e-9, `${res.name} r${k} Σlogσ ${res.logSigmaSum[k]} vs ${ref.logSigmaSum[k]}`);
    }
  }
});

maybe('torch_zen.py in float32 (the benchmark setting) agrees with the reference to float32 rounding', (t) => {
  for (const { res, ref, repeats } of runTorch('float32')) {
    for (let k = 0; k < repeats; k++) {
      // Δ differences O(1) activations at α = 0.01, and the SE BN normalises over only N = 3
      // values per channel here, which amplifies float32 rounding: 1e-3 on logΔ, 1e-5 on Σ log σ̄.
      t.true(Math.abs(res.logDelta[k]! - ref.logDelta[k]!) < 1e-3, `${res.name} r${k} logΔ ${res.logDelta[k]} vs ${ref.logDelta[k]}`);
      t.true(Math.abs(res.logSigmaSum[k]! - ref.logSigmaSum[k]!) < 1e-5, `${res.name} r${k} Σlogσ ${res.logSigmaSum[k]} vs ${ref.logSigmaSum[k]}`);
    }
  }
});
