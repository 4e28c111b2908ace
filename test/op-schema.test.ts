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
