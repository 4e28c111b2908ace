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
import { encodeDescriptor } from '../src/ops/descriptor';

import { desc, SlotOp as Op, CONV, DWCONV, BN, RELU, MAXPOOL, GAP, SIGMOID, MUL, ADD } from './helpers/slot-ops';
import { Graph, GraphNode } from '../src/ops/graph';
import { OpName } from '../src/ops/schema';
import { decodeForReference, referenceInput, referenceLossGradients, referenceWeights } from '../src/reference';
import { philoxLabels } from '../src/rng/philox';

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
    return { d: desc(ops, { output: cur }), res, batch, seed };
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

// ---------------------------------------------------------------- backward pass on random graphs

/** A random DAG over every op of the schema (n-ary adds of equal shapes, SE gates, optional classifier). */
const arbGraph = fc
  .record({
    steps: fc.array(fc.record({
      op: fc.constantFrom<OpName>('conv', 'conv', 'dwconv', 'bn', 'bn', 'relu', 'maxpool', 'avgpool', 'sigmoid', 'swish', 'identity', 'zero', 'add', 'add', 'mul'),
      pick: fc.nat(1000), cout: fc.integer({ min: 1, max: 12 }), k: fc.constantFrom(1, 3, 5), stride: fc.constantFrom(1, 1, 2), flag: fc.boolean(),
      arity: fc.integer({ min: 2, max: 4 }),
    }), { minLength: 3, maxLength: 12 }),
    head: fc.constantFrom('sum', 'cross-entropy', 'cross-entropy-nobias'),
    classes: fc.integer({ min: 2, max: 7 }),
    res: fc.integer({ min: 4, max: 11 }),
    batch: fc.integer({ min: 2, max: 5 }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  })
  .map(({ steps, head, classes, res, batch, seed }) => {
    const shapes: { c: number; h: number }[] = [{ c: 3, h: res }];
    const nodes: GraphNode[] = [];
    const node = (op: OpName, inputs: number[], cout: number, extra: Partial<GraphNode> = {}) => {
      const x = shapes[inputs[0]!]!;
      nodes.push({ op, inputs, cin: x.c, cout, kernel: 0, stride: 0, block: 0, role: 'main', ...extra });
      return nodes.length;
    };
    const out = (k: number, s: number, h: number) => Math.floor((h + 2 * ((k - 1) >> 1) - k) / s) + 1;
    for (const st of steps) {
      const v = st.pick % shapes.length, x = shapes[v]!;
      let id: number;
      switch (st.op) {
        case 'conv': id = node('conv', [v], st.cout, { kernel: st.k, stride: st.stride }); shapes.push({ c: st.cout, h: out(st.k, st.stride, x.h) }); break;
        case 'dwconv': case 'maxpool': id = node(st.op, [v], x.c, { kernel: st.k, stride: st.stride }); shapes.push({ c: x.c, h: out(st.k, st.stride, x.h) }); break;
        case 'avgpool': id = node('avgpool', [v], x.c, { kernel: st.k, stride: st.stride, countIncludePad: st.flag ? 1 : 0 }); shapes.push({ c: x.c, h: out(st.k, st.stride, x.h) }); break;
        case 'add': {
          const same = shapes.map((s, i) => (s.c === x.c && s.h === x.h ? i : -1)).filter((i) => i >= 0);
          const inputs = Array.from({ length: st.arity }, (_, j) => same[(st.pick + 7 * j) % same.length]!);
          id = node('add', inputs, x.c); shapes.push({ ...x });
          break;
        }
        case 'mul': { // SE-style gate: GAP → sigmoid → x ⊙ gate
          const g = node('gap', [v], x.c); shapes.push({ c: x.c, h: 1 });
          const sg = node('sigmoid', [g], x.c); shapes.push({ c: x.c, h: 1 });
          id = node('mul', [v, sg], x.c); shapes.push({ ...x });
          break;
        }
        default: id = node(st.op, [v], x.c); shapes.push({ ...x });
      }
      void id;
    }
    let output = nodes.length;
    if (head !== 'sum') {
      const g = node('gap', [output], shapes[output]!.c); shapes.push({ c: shapes[output]!.c, h: 1 });
      output = node('linear', [g], classes, { bias: head === 'cross-entropy' ? 1 : 0, role: 'classifier' }); shapes.push({ c: classes, h: 1 });
    }
    const graph: Graph = { inputChannels: 3, nodes, outputs: [output] };
    return { graph, loss: head === 'sum' ? 'sum' as const : 'cross-entropy' as const, res, batch, seed };
  });

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i]! - b[i]!) ** 2; den += b[i]! ** 2; }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
};

test('random graphs over every op: native gradients = float64 reference (relative error ≤ 1e-4 per op)', async (t) => {
  const engine = new Engine({ threads: 2 });
  const seen = new Set<string>();
  let runs = 0, worst = 0;
  try {
    await fc.assert(
      fc.asyncProperty(arbGraph, async ({ graph, loss, res, batch, seed }) => {
        const d = encodeDescriptor(graph);
        const net = decodeForReference(d);
        const got = await engine.run('gradients', d, { batchSize: batch, resolution: res, seed, loss, returnGradients: true, inputGradient: true });
        const x = referenceInput('input', seed, 0, batch, 3, res);
        const classes = graph.nodes[graph.outputs[0]! - 1]!.cout;
        const head = loss === 'sum' ? { kind: 'sum' as const } : { kind: 'crossEntropy' as const, labels: philoxLabels(seed, 0, batch, classes) };
        const ref = referenceLossGradients(net, referenceWeights(net, seed, 0), x, head, { bnEps: 1e-5 });
        const byOp = new Map((got.gradients ?? []).map((g) => [g.op, g.data]));
        const scale = Math.max(1e-30, ...ref.gradients.weights.map((w) => Math.sqrt([...(w.weight ?? []), ...(w.bias ?? []), ...(w.gamma ?? []), ...(w.beta ?? [])].reduce((a, v) => a + v * v, 0))));
        ref.gradients.weights.forEach((w, i) => {
          const want = [...(w.weight ?? []), ...(w.bias ?? []), ...(w.gamma ?? []), ...(w.beta ?? [])];
          if (!want.length) return;
          const have = byOp.get(i);
          if (!have || have.length !== want.length) throw new Error(`op ${i} (${graph.nodes[i]!.op}): ${have?.length} gradient values, reference ${want.length}`);
          // Relative to the op's own norm, floored at 1e-2 of the net's largest: a gradient that the
          // maths cancels to ~0 (a conv scale undone by the BN after it, a dead ReLU branch) keeps
          // only float32 rounding, which no relative test can hold to 1e-4.
          const norm = Math.sqrt(want.reduce((a, v) => a + v * v, 0));
          const e = relErr(have, want) * (norm / Math.max(norm, 1e-2 * scale));
          worst = Math.max(worst, e);
          if (!(e <= 1e-4)) throw new Error(`op ${i} (${graph.nodes[i]!.op}): relative error ${e.toExponential(2)} in ${JSON.stringify(graph.nodes.map((n) => n.op))}`);
        });
        const inNorm = Math.sqrt(ref.gradients.input.data.reduce((a, v) => a + v * v, 0));
        const ei = relErr(got.inputGradient!, ref.gradients.input.data) * (inNorm / Math.max(inNorm, 1e-2 * scale));
        if (!(ei <= 1e-4)) throw new Error(`input gradient: relative error ${ei.toExponential(2)}`);
        for (const n of graph.nodes) seen.add(n.op);
        runs++;
      }),
      { numRuns: 48, seed: 20261201 },
    );
    t.log(`${runs} graphs, worst per-op relative error ${worst.toExponential(2)}`);
    t.true(runs >= 40);
    t.deepEqual([...seen].sort(), ['add', 'avgpool', 'bn', 'conv', 'dwconv', 'gap', 'identity', 'linear', 'maxpool', 'mul', 'relu', 'sigmoid', 'swish', 'zero']);
  } finally {
    engine.close();
  }
});

test('MUL whose input and gate are one value: both gradient parts add up (= float64 reference)', async (t) => {
  const node = (op: OpName, inputs: number[], cin: number, cout: number, extra: Partial<GraphNode> = {}): GraphNode =>
    ({ op, inputs, cin, cout, kernel: 0, stride: 0, block: 0, role: 'main', ...extra });
  const graph: Graph = {
    // the MUL is the gap value's only consumer, so it writes that gradient first (then adds)
    inputChannels: 3, outputs: [4],
    nodes: [node('conv', [0], 3, 4, { kernel: 3, stride: 1 }), node('gap', [1], 4, 4), node('mul', [2, 2], 4, 4), node('sigmoid', [3], 4, 4)],
  };
  const d = encodeDescriptor(graph);
  const engine = new Engine({ threads: 2 });
  try {
    const got = await engine.run('gradients', d, { batchSize: 3, resolution: 6, seed: 4, returnGradients: true });
    const net = decodeForReference(d);
    const ref = referenceLossGradients(net, referenceWeights(net, 4, 0), referenceInput('input', 4, 0, 3, 3, 6), { kind: 'sum' }, { bnEps: 1e-5 });
    const want = ref.gradients.weights[0]!.weight!, have = got.gradients!.find((g) => g.op === 0)!.data;
    t.true(relErr(have, want) <= 1e-5, `relative error ${relErr(have, want)}`);
  } finally {
    engine.close();
  }
});
