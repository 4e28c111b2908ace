/**
 * Engine v2 must not change a single Zen-score: these scores (float64 bits) were produced by the
 * engine before the redesign (commit 64e01d5, descriptor v1, ZenPlan) and are reproduced exactly
 * — every mode, chunked repeats, SE, IDW, depthwise, max-pool, odd resolutions. They are the
 * direct convolution's bits: the tests ask for conv 'direct' (the default 'auto' may choose
 * Winograd, which rounds differently; test/engine-winograd.test.ts checks it).
 */
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import { parseStructure } from '../src/grammar/parse';
import { lowerForScoring } from '../src/model/lower';
import { encodeDescriptor } from '../src/ops/descriptor';
import { Engine, ZenScoreOptions } from '../src/engine/engine';

interface Pinned { name: string; structure: string; se: boolean; options: Partial<ZenScoreOptions>; bits: string[]; logDeltaBits: string[]; logSigmaSumBits: string[] }
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/pinned/zen-scores.json'), 'utf8')) as { cases: Pinned[] };
const bits = (x: number) => Buffer.from(new Float64Array([x]).buffer).toString('hex');

for (const threads of [1, 2]) {
  test(`Zen-scores are bit-identical to the pre-v2 engine (${threads} thread${threads > 1 ? 's' : ''})`, async (t) => {
    const engine = new Engine({ threads });
    try {
      for (const c of fixture.cases) {
        const d = encodeDescriptor(lowerForScoring(parseStructure(c.structure), { se: c.se }));
        const r = await engine.zenScore(d, { ...c.options, conv: 'direct' });
        t.deepEqual(r.scores.map(bits), c.bits, c.name);
        t.deepEqual(r.logDelta.map(bits), c.logDeltaBits, `${c.name}: ln Δ`);
        t.deepEqual(r.logSigmaSum.map(bits), c.logSigmaSumBits, `${c.name}: Σ ln σ̄`);
      }
    } finally {
      engine.close();
    }
  });
}

test('the same scores through engine.run("zen")', async (t) => {
  const engine = new Engine({ threads: 2 });
  try {
    const c = fixture.cases[1]!;
    const r = await engine.run('zen', encodeDescriptor(lowerForScoring(parseStructure(c.structure), { se: c.se })), { ...c.options, conv: 'direct' });
    t.deepEqual(r.scores.map(bits), c.bits);
  } finally {
    engine.close();
  }
});
