/**
 * The op schema is one table: the generated native header must match src/ops/schema.ts, opcodes
 * are dense and stable (v1's 1..10 kept), and the TS validator and the native validator agree on
 * what they reject.
 */
import test from 'ava';
import * as fs from 'fs';
import { renderHeader, HEADER_PATH } from '../scripts/gen-op-schema';
import { OP_SCHEMA, opSpecByCode } from '../src/ops/schema';
import { inferGraph, Graph } from '../src/ops/graph';
import { encodeDescriptor, decodeDescriptor } from '../src/ops/descriptor';
import { Engine } from '../src/engine/engine';

test('native/ops/schema.generated.h is generated from src/ops/schema.ts (run npx tsx scripts/gen-op-schema.ts)', (t) => {
  t.is(fs.readFileSync(HEADER_PATH, 'utf8'), renderHeader());
});

test('opcodes are dense, stable and named once', (t) => {
  t.deepEqual(OP_SCHEMA.map((o) => o.code), OP_SCHEMA.map((_, i) => i + 1));
  t.deepEqual(OP_SCHEMA.slice(0, 10).map((o) => o.name), ['conv', 'dwconv', 'bn', 'relu', 'maxpool', 'gap', 'linear', 'sigmoid', 'mul', 'add']);
  t.is(new Set(OP_SCHEMA.map((o) => o.name)).size, OP_SCHEMA.length);
  t.is(opSpecByCode(99), undefined);
});

const node = (op: Graph['nodes'][number]['op'], inputs: number[], cin: number, cout: number, kernel = 0, stride = 0, extra = {}) =>
  ({ op, inputs, cin, cout, kernel, stride, block: 0, role: 'main' as const, ...extra });

const GRAPHS: Array<[string, Graph, boolean]> = [
  ['a valid cell', { inputChannels: 3, outputs: [4], nodes: [node('conv', [0], 3, 4, 3, 1), node('avgpool', [1], 4, 4, 3, 1, { countIncludePad: 0 }), node('swish', [1], 4, 4), node('add', [1, 2, 3], 4, 4)] }, true],
  ['ADD of one input', { inputChannels: 3, outputs: [2], nodes: [node('conv', [0], 3, 4, 3, 1), node('add', [1], 4, 4)] }, false],
  ['input from the future', { inputChannels: 3, outputs: [2], nodes: [node('conv', [2], 3, 4, 3, 1), node('relu', [1], 4, 4)] }, false],
  ['even kernel', { inputChannels: 3, outputs: [1], nodes: [node('conv', [0], 3, 4, 2, 1)] }, false],
  ['countIncludePad 2', { inputChannels: 3, outputs: [1], nodes: [node('avgpool', [0], 3, 3, 3, 1, { countIncludePad: 2 })] }, false],
  ['gate of the wrong shape', { inputChannels: 3, outputs: [2], nodes: [node('conv', [0], 3, 4, 3, 1), node('mul', [1, 1], 4, 4)] }, false],
  ['output is the input', { inputChannels: 3, outputs: [0], nodes: [node('relu', [0], 3, 3)] }, false],
  ['concat of two widths', { inputChannels: 3, outputs: [3], nodes: [node('conv', [0], 3, 4, 3, 1), node('conv', [0], 3, 2, 1, 1), node('concat', [1, 2, 1], 4, 10)] }, true],
  ['concat of different H×W', { inputChannels: 3, outputs: [3], nodes: [node('conv', [0], 3, 4, 3, 1), node('conv', [0], 3, 2, 3, 2), node('concat', [1, 2], 4, 6)] }, false],
  ['concat of one input', { inputChannels: 3, outputs: [2], nodes: [node('conv', [0], 3, 4, 3, 1), node('concat', [1], 4, 4)] }, false],
  ['dwconv dilation 2 (DARTS dil_conv)', { inputChannels: 3, outputs: [1], nodes: [node('dwconv', [0], 3, 3, 5, 2, { dilation: 2 })] }, true],
  ['dwconv dilation 9', { inputChannels: 3, outputs: [1], nodes: [node('dwconv', [0], 3, 3, 3, 1, { dilation: 9 })] }, false],
  ['dwconv dilation 0', { inputChannels: 3, outputs: [1], nodes: [node('dwconv', [0], 3, 3, 3, 1, { dilation: 0 })] }, false],
  ['crop by 1 (FactorizedReduce)', { inputChannels: 3, outputs: [1], nodes: [node('crop', [0], 3, 3, 0, 0, { offset: 1 })] }, true],
  ['crop by 1 with fill (TE-NAS)', { inputChannels: 3, outputs: [1], nodes: [node('crop', [0], 3, 3, 0, 0, { offset: 1, fill: 1 })] }, true],
  ['crop fill 2', { inputChannels: 3, outputs: [1], nodes: [node('crop', [0], 3, 3, 0, 0, { offset: 1, fill: 2 })] }, false],
  ['crop offset 0', { inputChannels: 3, outputs: [1], nodes: [node('crop', [0], 3, 3, 0, 0, { offset: 0 })] }, false],
  ['crop offset 8', { inputChannels: 3, outputs: [1], nodes: [node('crop', [0], 3, 3, 0, 0, { offset: 8 })] }, false],
  // AVGPOOL's optional pad: even kernels only with it, pad ≤ k/2 (PyTorch), 0..7.
  ['avgpool 2×2/2 pad 0 (NAS-Bench-201)', { inputChannels: 3, outputs: [1], nodes: [node('avgpool', [0], 3, 3, 2, 2, { pad: 0 })] }, true],
  ['avgpool 4×4/1 pad 2', { inputChannels: 3, outputs: [1], nodes: [node('avgpool', [0], 3, 3, 4, 1, { pad: 2, countIncludePad: 0 })] }, true],
  ['avgpool 3×3/2 pad 0', { inputChannels: 3, outputs: [1], nodes: [node('avgpool', [0], 3, 3, 3, 2, { pad: 0 })] }, true],
  ['avgpool even kernel without pad', { inputChannels: 3, outputs: [1], nodes: [node('avgpool', [0], 3, 3, 2, 2)] }, false],
  ['avgpool pad more than half the kernel', { inputChannels: 3, outputs: [1], nodes: [node('avgpool', [0], 3, 3, 2, 1, { pad: 2 })] }, false],
  ['avgpool pad −1', { inputChannels: 3, outputs: [1], nodes: [node('avgpool', [0], 3, 3, 3, 1, { pad: -1 })] }, false],
];
for (const [name, g, ok] of GRAPHS) {
  test(`TS and native validators agree: ${name}`, async (t) => {
    const ts = (() => { try { inferGraph(g, 8); return true; } catch { return false; } })();
    t.is(ts, ok, 'TypeScript');
    const engine = new Engine({ threads: 1 });
    try {
      const native = await engine.zenScore(encodeDescriptor(g), { batchSize: 2, resolution: 8 }).then(() => true, (e: { code?: string }) => { t.is(e.code, 'E_DESCRIPTOR'); return false; });
      t.is(native, ok, 'native');
    } finally {
      engine.close();
    }
    t.deepEqual(decodeDescriptor(encodeDescriptor(g)).outputs, g.outputs);
  });
}

test('AVGPOOL pad is an optional trailing attribute: without it a record keeps its 3 attributes (old descriptors, same words)', async (t) => {
  const g = (extra: object): Graph => ({ inputChannels: 3, outputs: [1], nodes: [node('avgpool', [0], 3, 3, 3, 2, { countIncludePad: 0, ...extra })] });
  const old = encodeDescriptor(g({}));
  // [opcode 11, 1 input, 3 attributes, input 0, kernel 3, stride 2, countIncludePad 0]: descriptor v2 as before the attribute.
  t.deepEqual([...old.slice(8, 15)], [11, 1, 3, 0, 3, 2, 0]);
  const padded = encodeDescriptor(g({ pad: 1 }));  // pad (k−1)/2 written out: the same pool
  t.deepEqual([...padded.slice(8, 16)], [11, 1, 4, 0, 3, 2, 0, 1]);
  t.is(decodeDescriptor(old).nodes[0]!.pad, undefined);
  t.is(decodeDescriptor(padded).nodes[0]!.pad, 1);
  const engine = new Engine({ threads: 1 });
  try {
    const o = { batchSize: 2, resolution: 9, seed: 4 };
    // Conv first so the pool acts on a feature map (the Zen-score of a weight-free net is degenerate).
    const net = (extra: object): Int32Array => encodeDescriptor({ inputChannels: 3, outputs: [2], nodes: [node('conv', [0], 3, 4, 3, 1), node('avgpool', [1], 4, 4, 3, 2, { countIncludePad: 0, ...extra })] });
    const a = await engine.zenScore(net({}), o), b = await engine.zenScore(net({ pad: 1 }), o), c = await engine.zenScore(net({ pad: 0 }), o);
    t.deepEqual(a.scores, b.scores);
    t.notDeepEqual(a.scores, c.scores);
    // A record with 2 or 5 attributes is malformed.
    const bad = Int32Array.from(old);
    bad[10] = 2;
    await t.throwsAsync(engine.zenScore(bad, o), { code: 'E_DESCRIPTOR', message: /2 attributes, the schema has 3\.\.4/ });
    t.throws(() => decodeDescriptor(bad), { code: 'E_DESCRIPTOR', message: /2 attributes, the schema has 3\.\.4/ });
  } finally {
    engine.close();
  }
  t.throws(() => inferGraph({ ...g({}), nodes: [node('avgpool', [0], 3, 3, 2, 2)] }, 8), { code: 'E_DESCRIPTOR', message: /kernel 2 out of range 1\.\.15 \(odd unless pad is given\)/ });
  t.throws(() => inferGraph({ ...g({}), nodes: [node('avgpool', [0], 3, 3, 2, 1, { pad: 2 })] }, 8), { code: 'E_DESCRIPTOR', message: /pad 2 is more than half of kernel 2/ });
});

test('DWCONV dilation is an optional trailing attribute: without it a record keeps its 2 attributes; d·(k−1)/2 padding keeps the size', (t) => {
  const g = (extra: object): Graph => ({ inputChannels: 3, outputs: [1], nodes: [node('dwconv', [0], 3, 3, 3, 1, extra)] });
  t.deepEqual([...encodeDescriptor(g({})).slice(8, 14)], [2, 1, 2, 0, 3, 1]);
  t.deepEqual([...encodeDescriptor(g({ dilation: 2 })).slice(8, 15)], [2, 1, 3, 0, 3, 1, 2]);
  t.is(decodeDescriptor(encodeDescriptor(g({ dilation: 2 }))).nodes[0]!.dilation, 2);
  // "same" at stride 1; at stride 2 floor((H − 1)/2) + 1 as PyTorch with padding d·(k−1)/2.
  t.deepEqual(inferGraph(g({ dilation: 2 }), 8).values[1], { c: 3, h: 8, w: 8 });
  t.deepEqual(inferGraph({ ...g({}), nodes: [node('dwconv', [0], 3, 3, 5, 2, { dilation: 2 })] }, 9).values[1], { c: 3, h: 5, w: 5 });
  t.throws(() => inferGraph({ ...g({}), nodes: [node('dwconv', [0], 3, 3, 3, 1, { dilation: 9 })] }, 8), { code: 'E_DESCRIPTOR', message: /dilation 9 out of range 1\.\.8/ });
});
