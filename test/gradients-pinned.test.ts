/**
 * The reverse pass's kernels may be rewritten for speed only when every gradient keeps its bits:
 * these hashes (sha1 of every weight gradient's float32 bytes, and the input gradient where asked)
 * and losses were produced by the build of b6b8162, before the stride-2 / small-map / 1×1-strided
 * rewrites of the next stop, with conv 'direct'. The vector kernels (AVX2, and AVX-512, which
 * test/simd-avx512.test.ts holds to AVX2's bits) sum in their own order, so a scalar-only CPU
 * (or ZENNAS_SIMD=scalar) gets other bits: the test says so and skips there.
 */
import test from 'ava';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parseStructure } from '../src/grammar/parse';
import { lowerAsTrained } from '../src/model/lower';
import { encodeDescriptor } from '../src/ops/descriptor';
import { Engine, cpuFeatures } from '../src/engine/engine';

interface Pinned { name: string; structure: string; options: Record<string, unknown>; lossBits: string; sha1: string }
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures/pinned/gradients.json'), 'utf8')) as { cases: Pinned[] };
const bits = (x: number) => Buffer.from(new Float64Array([x]).buffer).toString('hex');
const scalar = cpuFeatures().simd === 'scalar';

for (const threads of [1, 2]) {
  test(`gradients are bit-identical to b6b8162's (conv 'direct', ${threads} thread${threads > 1 ? 's' : ''})`, async (t) => {
    if (scalar) { t.log('skipped: the portable kernels sum in another order (the pins are the vector kernels\' bits)'); t.pass(); return; }
    const engine = new Engine({ threads });
    try {
      for (const c of fixture.cases) {
        const d = encodeDescriptor(lowerAsTrained(parseStructure(c.structure), { numClasses: 10 }));
        const r = await engine.run('gradients', d, { ...c.options, conv: 'direct', returnGradients: true } as never);
        const h = crypto.createHash('sha1');
        for (const g of r.gradients!) h.update(Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength));
        if (r.inputGradient) h.update(Buffer.from(r.inputGradient.buffer, r.inputGradient.byteOffset, r.inputGradient.byteLength));
        t.is(bits(r.scores[0]!), c.lossBits, `${c.name}: loss`);
        t.is(h.digest('hex'), c.sha1, `${c.name}: gradients`);
      }
    } finally {
      engine.close();
    }
  });
}
