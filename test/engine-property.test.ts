/**
 * Property test: random op chains (every conv kernel/stride path of the implicit-im2col packing,
 * rows that straddle GEMM panels, depthwise, max-pool, SE gates, residual ADD) scored by the
 * native engine agree with the float64 reference on the same Philox draws.
 */
import test from 'ava';
import fc from 'fast-check';
import { zenScoreReference } from '../src/reference/zen-reference';
import { Engine } from '../src/engine/engine';
import { arbStructureWithin } from './helpers/arbitraries';
import { parseStructure } from '../src/grammar/parse';
import { formatStructure } from '../src/grammar/format';
import { lowerForScoring } from '../src/model/lower';
import { encodeDescriptor } from '../src/model/descriptor';

type Op = [number, number, number, number, number, number, number, number];
const CONV = 1, DWCONV = 2, BN = 3, RELU = 4, MAXPOOL = 5, GAP = 6, SIGMOID = 8, MUL = 9, ADD = 10;

/** A random valid descriptor: blocks applied to a ping-pong pair of slots (1, 2); 3, 4 are scratch. */
const arbNet = fc
  .record({
    blocks: fc.array(
      fc.record({
        kind: fc.constantFrom('conv', 'conv', 'conv', 'dw', 'pool', 'se', 'res'),
        cout: fc.integer({ min: 1, max: 40 }),
        k: fc.constantFrom(1, 3, 5, 7),
        stride: fc.constantFrom(1, 1, 2, 3),
        relu: fc.boolean(),
      }),
      { minLength: 1, maxLength: 5 },
    ),
    res: fc.integer({ min: 5, max: 19 }),
    batch: fc.integer({ min: 2, max: 5 }),
    seed: fc.integer({ min: 0, max: 1000 }),
  })
  .map(({ blocks, res, batch, seed }) => {
    const ops: Op[] = [];
    let cur = 0, c = 3, h = res;
    const other = () => (cur === 1 ? 2 : 1);
    for (const b of blocks) {
      const s = h >= 2 * b.stride ? b.stride : 1;
      if (b.kind === 'conv') {
        const dst = other();
        ops.push([CONV, cur, dst, 0, c, b.cout, b.k, s], [BN, dst, dst, 0, b.cout, b.cout, 0, 0]);
        if (b.relu) ops.push([RELU, dst, dst, 0, b.cout, b.cout, 0, 0]);
        cur = dst; c = b.cout; h = Math.floor((h - 1) / s) + 1;
      } else if (b.kind === 'dw' && cur !== 0) {
        const dst = other();
        ops.push([DWCONV, cur, dst, 0, c, c, b.k, s], [BN, dst, dst, 0, c, c, 0, 0], [RELU, dst, dst, 0, c, c, 0, 0]);
        cur = dst; h = Math.floor((h - 1) / s) + 1;
      } else if (b.kind === 'pool' && cur !== 0) {
        const dst = other();
        ops.push([MAXPOOL, cur, dst, 0, c, c, b.k, s]);
        cur = dst; h = Math.floor((h - 1) / s) + 1;
      } else if (b.kind === 'se' && cur !== 0) {
        const m = Math.max(1, c >> 2);
        ops.push([GAP, cur, 3, 0, c, c, 0, 0], [CONV, 3, 4, 0, c, m, 1, 1], [BN, 4, 4, 0, m, m, 0, 0], [RELU, 4, 4, 0, m, m, 0, 0],
          [CONV, 4, 3, 0, m, c, 1, 1], [SIGMOID, 3, 3, 0, c, c, 0, 0], [MUL, cur, cur, 3, c, c, 0, 0]);
      } else if (b.kind === 'res' && cur !== 0) {
        const dst = other();
        ops.push([CONV, cur, dst, 0, c, c, b.k, 1], [BN, dst, dst, 0, c, c, 0, 0], [ADD, dst, dst, cur, c, c, 0, 0], [RELU, dst, dst, 0, c, c, 0, 0]);
        cur = dst;
      }
    }
    if (cur === 0) { ops.push([CONV, 0, 1, 0, 3, 4, 3, 1], [BN, 1, 1, 0, 4, 4, 0, 0]); cur = 1; }
    const d = new Int32Array(8 + 8 * ops.length);
    d.set([0x5a4e4e31, 1, ops.length, 5, 3, cur, 0, 0]);
    ops.forEach((o, i) => d.set(o, 8 + 8 * i));
    return { d, res, batch, seed };
  });

test('random op chains: engine = float64 reference (ln Δ, Σ ln σ̄), both modes', async (t) => {
  const engine = new Engine({ threads: 2 });
  try {
    await fc.assert(
      fc.asyncProperty(arbNet, fc.constantFrom('paper', 'official'), async ({ d, res, batch, seed }, mode) => {
        const o = { batchSize: batch, resolution: res, repeats: 1, seed, mode: mode as 'paper' | 'official', bnEps: 1e-5, alpha: 0.01 };
        const ref = zenScoreReference(d, o);
        const got = await engine.zenScore(d, o);
        const ds = Math.abs(got.logSigmaSum[0]! - ref.logSigmaSum[0]!);
        const dd = Math.abs(got.logDelta[0]! - ref.logDelta[0]!);
        if (!(ds < 1e-4 && dd < 1e-3)) throw new Error(`Σ ln σ̄ ${got.logSigmaSum[0]} vs ${ref.logSigmaSum[0]}, ln Δ ${got.logDelta[0]} vs ${ref.logDelta[0]}`);
      }),
      { numRuns: 60, seed: 20261124 },
    );
    t.pass();
  } finally {
    engine.close();
  }
});

test('random grammar structures (every block kind, ±SE): engine score = float64 reference within 1e-3', async (t) => {
  const engine = new Engine({ threads: 2 });
  const kinds = new Set<string>();
  try {
    await fc.assert(
      fc.asyncProperty(
        arbStructureWithin({ maxChannels: 24, maxBlocks: 4, maxSubLayers: 2 }),
        fc.boolean(), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 6, max: 14 }), fc.integer({ min: 0, max: 1e6 }), fc.constantFrom('paper', 'official'),
        async (structure, se, batch, res, seed, mode) => {
          // Through the printed text, as users give it: the parse → lower → encode path is under test too.
          const text = formatStructure(structure);
          const d = encodeDescriptor(lowerForScoring(parseStructure(text), { se }));
          const o = { batchSize: batch, resolution: res, repeats: 1, seed, mode: mode as 'paper' | 'official', bnEps: 1e-5, alpha: 0.01 };
          const ref = zenScoreReference(d, o);
          const got = await engine.zenScore(d, o);
          for (const b of structure.blocks) kinds.add(b.kind);
          if (!(Math.abs(got.scores[0]! - ref.scores[0]!) <= 1e-3)) throw new Error(`${text} (se ${se}, B ${batch}, ${res}², ${mode}): ${got.scores[0]} vs reference ${ref.scores[0]}`);
        },
      ),
      { numRuns: 40, seed: 20261125 },
    );
    // The generator must actually have exercised the whole grammar.
    t.deepEqual([...kinds].sort(), ['BN', 'ConvDW', 'ConvKX', 'MaxPool', 'RELU', 'SE', 'SuperConvKXBNRELU', 'SuperResIDWEXKX', 'SuperResK1KXK1', 'SuperResKXKX']);
  } finally {
    engine.close();
  }
});
