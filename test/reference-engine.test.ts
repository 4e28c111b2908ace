/**
 * The native CPU engine against the float64 reference on the same Philox draws: per-repeat
 * logΔ and Σ ln σ̄ must agree up to float32 rounding (score within 1e-3).
 */
import test from 'ava';
import { zenScoreReference } from '../src/reference/zen-reference';
import { encodeDescriptor } from '../src/model/descriptor';
import { parseStructure } from '../src/grammar/parse';
import { lowerForScoring, lowerAsTrained } from '../src/model/lower';
import { Engine } from '../src/engine/engine';

const CASES: Array<{ name: string; d: () => Int32Array; batch: number; res: number; bnEps: number }> = [
  { name: 'conv/BN/ReLU + SuperResK3K3', d: () => encodeDescriptor(lowerForScoring(parseStructure('SuperConvK3BNRELU(3,16,1,1)SuperResK3K3(16,24,2,16,1)SuperResK5K5(24,32,1,16,1)'))), batch: 4, res: 16, bnEps: 1e-5 },
  { name: 'K7 stem + max-pool + bottleneck', d: () => encodeDescriptor(lowerForScoring(parseStructure('SuperConvK7BNRELU(3,16,2,1)MaxPool(16,16,3,2)SuperResK1K7K1(16,32,2,8,1)'))), batch: 4, res: 32, bnEps: 1e-3 },
  { name: 'IDW + SE (dwconv, GAP, sigmoid, mul)', d: () => encodeDescriptor(lowerForScoring(parseStructure('SuperConvK3BNRELU(3,16,1,1)SuperResIDWE4K5(16,24,2,16,1)'), { se: true })), batch: 8, res: 12, bnEps: 1e-5 },
  { name: 'as trained: residual ADD, projections, GAP + LINEAR logits', d: () => encodeDescriptor(lowerAsTrained(parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResK3K3(16,16,1,8,1)'), { numClasses: 10 })), batch: 6, res: 8, bnEps: 1e-5 },
];

for (const mode of ['paper', 'official'] as const) {
  for (const c of CASES) {
    test(`engine (float32) = reference (float64), ${mode}: ${c.name}`, async (t) => {
      const opts = { batchSize: c.batch, resolution: c.res, repeats: 3, seed: 2024, mode, bnEps: c.bnEps, alpha: 0.01 };
      const ref = zenScoreReference(c.d(), opts);
      const engine = new Engine({ backend: 'cpu', threads: 2 });
      try {
        const got = await engine.zenScore(c.d(), opts);
        t.is(got.scores.length, 3);
        for (let r = 0; r < 3; r++) {
          t.true(Math.abs(got.scores[r]! - ref.scores[r]!) < 1e-3, `repeat ${r}: ${got.scores[r]} vs ${ref.scores[r]}`);
          if (got.logSigmaSum) t.true(Math.abs(got.logSigmaSum[r]! - ref.logSigmaSum[r]!) < 1e-4, `Σ ln σ̄ r${r}: ${got.logSigmaSum[r]} vs ${ref.logSigmaSum[r]}`);
          if (got.logDelta) t.true(Math.abs(got.logDelta[r]! - ref.logDelta[r]!) < 1e-3, `ln Δ r${r}: ${got.logDelta[r]} vs ${ref.logDelta[r]}`);
        }
        t.true(Math.abs(got.mean - ref.mean) < 1e-3);
      } finally {
        engine.close();
      }
    });
  }
}

test('engine: repeat r does not depend on the thread count or the number of repeats', async (t) => {
  const d = CASES[0]!.d();
  const opts = { batchSize: 4, resolution: 16, seed: 7 };
  const e1 = new Engine({ backend: 'cpu', threads: 1 });
  const e2 = new Engine({ backend: 'cpu', threads: 2 });
  try {
    const a = await e1.zenScore(d, { ...opts, repeats: 3 });
    const b = await e2.zenScore(d, { ...opts, repeats: 3 });
    const c = await e2.zenScore(d, { ...opts, repeats: 1 });
    for (let r = 0; r < 3; r++) t.true(Math.abs(a.scores[r]! - b.scores[r]!) < 1e-5, `r${r}: ${a.scores[r]} vs ${b.scores[r]}`);
    t.true(Math.abs(c.scores[0]! - b.scores[0]!) < 1e-9);
  } finally {
    e1.close();
    e2.close();
  }
});
