/**
 * Native CPU engine (float32) against the float64 TypeScript reference on the same Philox draws
 * (static imports; see also reference-engine.test.ts). Per repeat, ln Δ and Σ ln σ̄ agree to
 * float32 rounding on small nets of every op kind, in both modes.
 */
import test from 'ava';
import { zenScoreReference } from '../src/reference/zen-reference';
import { encodeDescriptor } from '../src/model/descriptor';
import { parseStructure } from '../src/grammar/parse';
import { lowerForScoring, lowerAsTrained } from '../src/model/lower';
import { Engine } from '../src/engine/engine';

const CASES: Array<{ name: string; d: () => Int32Array; batch: number; res: number; bnEps: number }> = [
  { name: 'SuperConvK3BNRELU + SuperResK3K3/K5K5', d: () => encodeDescriptor(lowerForScoring(parseStructure('SuperConvK3BNRELU(3,16,1,1)SuperResK3K3(16,24,2,16,1)SuperResK5K5(24,32,1,16,1)'))), batch: 4, res: 16, bnEps: 1e-5 },
  { name: 'K7 stride-2 stem + max-pool + K1K7K1', d: () => encodeDescriptor(lowerForScoring(parseStructure('SuperConvK7BNRELU(3,16,2,1)MaxPool(16,16,3,2)SuperResK1K7K1(16,32,2,8,1)'))), batch: 4, res: 32, bnEps: 1e-3 },
  { name: 'IDW + SE (dwconv, GAP, sigmoid, mul)', d: () => encodeDescriptor(lowerForScoring(parseStructure('SuperConvK3BNRELU(3,16,1,1)SuperResIDWE4K5(16,24,2,16,1)'), { se: true })), batch: 8, res: 12, bnEps: 1e-5 },
  { name: 'as trained (ADD, projections, LINEAR)', d: () => encodeDescriptor(lowerAsTrained(parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResK3K3(16,16,1,8,1)'), { numClasses: 10 })), batch: 6, res: 8, bnEps: 1e-5 },
];

for (const mode of ['paper', 'official'] as const) {
  for (const c of CASES) {
    test(`engine = float64 reference (${mode}): ${c.name}`, async (t) => {
      const opts = { batchSize: c.batch, resolution: c.res, repeats: 3, seed: 2024, mode, bnEps: c.bnEps, alpha: 0.01 };
      const ref = zenScoreReference(c.d(), opts);
      const e = new Engine({ threads: 2 });
      try {
        const got = await e.zenScore(c.d(), opts);
        for (let r = 0; r < 3; r++) {
          t.true(Math.abs(got.logSigmaSum[r]! - ref.logSigmaSum[r]!) < 1e-5, `Σ ln σ̄ r${r}: ${got.logSigmaSum[r]} vs ${ref.logSigmaSum[r]}`);
          t.true(Math.abs(got.logDelta[r]! - ref.logDelta[r]!) < 1e-3, `ln Δ r${r}: ${got.logDelta[r]} vs ${ref.logDelta[r]}`);
        }
      } finally {
        e.close();
      }
    });
  }
}
