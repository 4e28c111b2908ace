/**
 * NAS-Bench-201 cells: the genotype codec and both architecture orders (the benchmark's own
 * asserts; CPython's random.shuffle), the network's params/FLOPs against a PyTorch build written
 * from the definition (test/torch/nb201.py), every proxy on NB201 nets (native = float64
 * reference), and the supernet's stable op slots.
 */
import test from 'ava';
import * as path from 'path';
import { spawnSync } from 'child_process';
import {
  NB201_OPS, NB201_SIZE, Nb201Op, formatNb201, fromNb201Index, fromProductIndex, nb201Index, parseNb201, productIndex,
} from '../src/cells/nb201';
import { Nb201ReductionPool, countGraph, nb201Graph, nb201SupernetGraph } from '../src/cells/nb201-net';
import { cellProxySpec, nb201ProxyGraph, runCellProxy } from '../src/cells/lowering';
import { PythonRandom } from '../src/cells/python-random';
import { inferGraph } from '../src/ops/graph';
import { encodeDescriptor } from '../src/ops/descriptor';
import { Engine } from '../src/engine/engine';
import { PROXY_NAMES } from '../src/proxies/table';
import { proxyReference } from '../src/reference/proxies';
import { NodeSpec, buildGraph, decodeForReference, referenceForward, referenceInput, referenceWeights, zenScoreReference } from '../src/reference';
import { relErr } from './helpers/grad';
import { findPython } from './helpers/python';

const python = findPython(['torch']);
const plainPython = findPython(['json']);
const withTorch = python ? test : test.skip;
if (!python) console.log('  [skip] cells: PyTorch cross-checks need a Python with torch (set ZENNAS_PYTHON or run .ci/run to create .venv-bench)');

const EXAMPLE = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const ALL = (op: Nb201Op) => `|${op}~0|+|${op}~0|${op}~1|+|${op}~0|${op}~1|${op}~2|`;

test('genotype strings round-trip; every product index ↔ genotype ↔ string', (t) => {
  t.deepEqual(parseNb201(EXAMPLE), ['nor_conv_3x3', 'nor_conv_3x3', 'avg_pool_3x3', 'skip_connect', 'nor_conv_3x3', 'skip_connect']);
  t.is(formatNb201(parseNb201(EXAMPLE)), EXAMPLE);
  const seen = new Set<string>();
  const wrong: number[] = [];
  for (let p = 0; p < NB201_SIZE; p++) {
    const s = formatNb201(fromProductIndex(p));
    if (productIndex(parseNb201(s)) !== p) wrong.push(p);
    seen.add(s);
  }
  t.deepEqual(wrong, []);
  t.is(seen.size, NB201_SIZE);
  // gen_all: edge (1←0) most significant, op list order.
  t.is(formatNb201(fromProductIndex(0)), ALL('none'));
  t.is(formatNb201(fromProductIndex(1)), '|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|');
  t.is(formatNb201(fromProductIndex(NB201_SIZE - 1)), ALL('avg_pool_3x3'));
});

test('benchmark index: the asserts of NAS-Bench-201 generate_meta_info (random.seed(88) shuffle of gen_all)', (t) => {
  t.is(formatNb201(fromNb201Index(0)), '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|');
  t.is(formatNb201(fromNb201Index(9)), '|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|');
  t.is(formatNb201(fromNb201Index(123)), '|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|');
  for (const i of [0, 1, 9, 123, 5000, NB201_SIZE - 1]) t.is(nb201Index(fromNb201Index(i)), i);
  t.throws(() => fromNb201Index(NB201_SIZE), { code: 'E_OPTION', message: /0\.\.15624/ });
});

test('genotype parse errors name what is wrong', (t) => {
  const bad: [string, RegExp][] = [
    ['|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|', /3 nodes/],
    ['|conv~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|', /unknown op 'conv'/],
    ['|none~0|+|none~0|+|none~0|none~1|none~2|', /node 2 needs 2 input/],
    ['|none~0|+|none~0|none~0|+|none~0|none~1|none~2|', /reads node 0 twice/],
    ['|none~1|+|none~0|none~1|+|none~0|none~1|none~2|', /node 1 cannot read node 1/],
    ['none~0|+|none~0|none~1|+|none~0|none~1|none~2|', /\|op~i\|/],
  ];
  for (const [s, m] of bad) t.throws(() => parseNb201(s), { code: 'E_PARSE', message: m }, s);
  // Order inside a node does not matter (str2structure keys by the input index).
  t.deepEqual(parseNb201('|none~0|+|skip_connect~1|none~0|+|none~0|none~1|none~2|'), ['none', 'none', 'skip_connect', 'none', 'none', 'none']);
});

(plainPython ? test : test.skip)('CPython random.seed(n) + shuffle: the whole NAS-Bench-201 permutation and other seeds', (t) => {
  const py = `import random, json
out = {}
for seed in [88, 0, 1, 2**40 + 7]:
    a = list(range(15625)); random.seed(seed); random.shuffle(a); out[str(seed)] = a
random.seed(5); out['bits'] = [random.getrandbits(32) for _ in range(5)]
print(json.dumps(out))`;
  const r = spawnSync(plainPython!, ['-c', py], { encoding: 'utf8', maxBuffer: 1 << 26 });
  t.is(r.status, 0, r.stderr);
  const want = JSON.parse(r.stdout) as Record<string, number[]>;
  for (const seed of [88, 0, 1, 2 ** 40 + 7]) t.deepEqual(new PythonRandom(seed).shuffle(Array.from({ length: NB201_SIZE }, (_, i) => i)), want[String(seed)]);
  const g = new PythonRandom(5);
  t.deepEqual(Array.from({ length: 5 }, () => g.getrandbits(32)), want.bits);
});

withTorch('params / FLOPs equal a PyTorch build of the definition (several genotypes, C and N; every shortcut pool)', (t) => {
  const nets: { genotype: string; C: number; N: number; numClasses?: number; resolution?: number; reductionPool?: Nb201ReductionPool }[] = [
    { genotype: ALL('none'), C: 16, N: 5 }, { genotype: ALL('nor_conv_3x3'), C: 16, N: 5 }, { genotype: ALL('skip_connect'), C: 16, N: 5 },
    { genotype: EXAMPLE, C: 16, N: 5 }, { genotype: formatNb201(fromNb201Index(0)), C: 16, N: 5 }, { genotype: formatNb201(fromNb201Index(123)), C: 8, N: 2 },
    { genotype: ALL('nor_conv_1x1'), C: 3, N: 1, numClasses: 100 }, { genotype: ALL('avg_pool_3x3'), C: 16, N: 5, numClasses: 120, resolution: 16 },
    { genotype: EXAMPLE, C: 8, N: 2, reductionPool: 'avg3' }, { genotype: EXAMPLE, C: 8, N: 2, reductionPool: 'subsample' },
  ];
  const r = spawnSync(python!, [path.join(__dirname, 'torch/nb201.py')], { input: JSON.stringify({ nets }), encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const torch = (JSON.parse(r.stdout) as { nets: Record<string, number>[] }).nets;
  nets.forEach((n, i) => {
    const c = countGraph(nb201Graph(parseNb201(n.genotype), { channels: n.C, cells: n.N, numClasses: n.numClasses ?? 10, ...(n.reductionPool ? { reductionPool: n.reductionPool } : {}) }), n.resolution ?? 32);
    t.deepEqual({ ...c }, torch[i], n.genotype);
  });
  // Known sizes: all-conv3x3 at C 16, N 5 on CIFAR-10 is NAS-Bench-201's largest net (1.53 M params, 220 M FLOPs).
  t.deepEqual(countGraph(nb201Graph(parseNb201(ALL('nor_conv_3x3'))), 32), { params: 1531546, flops: 220119680, paramsNoClassifier: 1530896, flopsNoClassifier: 220119040 });
});

test('the macro skeleton: 3N cells, 2 basic blocks, shapes 32 → 16 → 8, BN + ReLU before GAP', (t) => {
  const g = nb201Graph(parseNb201(EXAMPLE), { channels: 16, cells: 5 });
  const shapes = inferGraph(g, 32);
  const out = shapes.values[g.outputs[0]!]!;
  t.deepEqual(out, { c: 10, h: 1, w: 1 });
  const body = nb201Graph(parseNb201(EXAMPLE), { numClasses: 0 });
  const last = body.nodes[body.nodes.length - 1]!;
  t.is(last.op, 'relu');
  t.is(body.nodes[body.nodes.length - 2]!.op, 'bn');
  t.deepEqual(inferGraph(body, 32).values[body.outputs[0]!], { c: 64, h: 8, w: 8 });
  t.is(new Set(g.nodes.filter((n) => n.block > 0).map((n) => n.block)).size, 3 * 5 + 2 + 1);  // cells, basic blocks, lastact
  // 'remove' residuals: skip edges become none, the basic blocks lose their shortcut.
  const plain = nb201Graph(parseNb201(EXAMPLE), { residuals: 'remove' });
  t.is(plain.nodes.filter((n) => n.role === 'shortcut').length, 0);
  t.is(plain.nodes.filter((n) => n.op === 'identity').length, 0);
  t.true(g.nodes.filter((n) => n.role === 'shortcut').length > 0);
  t.throws(() => nb201Graph(parseNb201(EXAMPLE), { channels: 0 }), { code: 'E_OPTION', message: /channels \(C\)/ });
  t.throws(() => nb201Graph(parseNb201(EXAMPLE), { reductionPool: 'avg4' as never }), { code: 'E_OPTION', message: /reductionPool must be 'avg2', 'avg3', 'subsample'/ });
  // The basic block's shortcut is NAS-Bench-201's AvgPool2d(2, 2, padding 0) by default.
  const pools = (o: object) => nb201Graph(parseNb201(EXAMPLE), o).nodes.filter((n) => n.role === 'shortcut' && n.op === 'avgpool').map((n) => [n.kernel, n.stride, n.pad, n.countIncludePad]);
  t.deepEqual(pools({}), [[2, 2, 0, 1], [2, 2, 0, 1]]);
  t.deepEqual(pools({ reductionPool: 'avg3' }), [[3, 2, undefined, 0], [3, 2, undefined, 0]]);
  t.deepEqual(pools({ reductionPool: 'subsample' }), [[1, 2, undefined, 1], [1, 2, undefined, 1]]);
  t.throws(() => nb201Graph(parseNb201(EXAMPLE), { widht: 3 } as never), { code: 'E_OPTION', message: /unknown NAS-Bench-201 option 'widht'/ });
});

withTorch('forward = a PyTorch TinyNetwork built the official way (AvgPool2d(2, 2) shortcut): reference logits and the engine\'s Σ logits', async (t) => {
  const genotypes = [EXAMPLE, '|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|'];
  const B = 3, R = 16, seed = 5, repeat = 1, C = 4, N = 2, classes = 7;
  const runs = genotypes.flatMap((genotype) => (['avg2', 'avg3'] as const).map((reductionPool) => {
    const graph = nb201Graph(parseNb201(genotype), { channels: C, cells: N, numClasses: classes, reductionPool });
    const net = decodeForReference(encodeDescriptor(graph));
    const w = referenceWeights(net, seed, repeat), x = referenceInput('input', seed, repeat, B, 3, R);
    const logits = referenceForward(net, w, x, { bnEps: 1e-5 }).outputs[0]!.data;
    const weights = net.nodes.flatMap((n, i) => (n.op === 'conv' || n.op === 'linear' ? [...w[i]!.weight!] : []));
    return { genotype, reductionPool, graph, logits, torchNet: { genotype, C, N, numClasses: classes, resolution: R, weights, input: [...x.data] } };
  }));
  // PyTorch builds the official pool for every run: the 'avg3' stand-in must then differ.
  const r = spawnSync(python!, [path.join(__dirname, 'torch/nb201.py')], { input: JSON.stringify({ nets: runs.map((u) => u.torchNet) }), encoding: 'utf8', maxBuffer: 1 << 28 });
  t.is(r.status, 0, r.stderr);
  const torch = (JSON.parse(r.stdout) as { nets: { logits: number[] }[] }).nets;
  const engine = new Engine({ threads: 2 });
  try {
    for (let k = 0; k < runs.length; k++) {
      const u = runs[k]!, want = torch[k]!.logits;
      t.is(want.length, B * classes);
      const err = relErr(u.logits, want);
      if (u.reductionPool === 'avg2') t.true(err < 1e-10, `${u.genotype}: reference vs PyTorch relative error ${err}`);
      else t.true(err > 1e-3, `${u.genotype}: the avg3 stand-in should not equal the official net (relative difference ${err})`);
      if (u.reductionPool !== 'avg2') continue;
      // The engine (float32) on the same Philox weights and input: the 'gradients' proxy's sum loss = Σ logits.
      const e = await engine.run('gradients', encodeDescriptor(u.graph), { batchSize: B, resolution: R, seed, firstRepeat: repeat, loss: 'sum' });
      const sum = want.reduce((a, b) => a + b, 0), scale = want.reduce((a, b) => a + Math.abs(b), 0);
      t.true(Math.abs(e.scores[0]! - sum) <= 1e-5 * scale, `${u.genotype}: engine Σ logits ${e.scores[0]} vs PyTorch ${sum} (Σ|logits| ${scale})`);
    }
  } finally {
    engine.close();
  }
});

test('every proxy runs on NB201 nets; native = float64 reference on a tiny cell net', async (t) => {
  const g = parseNb201('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|');
  const net = { channels: 2, cells: 1 };
  const engine = new Engine({ threads: 2 });
  try {
    for (const p of PROXY_NAMES) {
      const graph = nb201ProxyGraph(g, p, net);
      const fixedBatch = p === 'synflow' || p === 'synflow_zc';
      const o = { resolution: 8, seed: 3, ...(fixedBatch ? {} : { batchSize: 8 }), ...(p === 'gsnr' ? { numBatches: 2 } : {}) };
      const r = await runCellProxy(engine, p, graph, o);
      const ref = p === 'zen'
        ? zenScoreReference(encodeDescriptor(graph), { batchSize: 8, resolution: 8, repeats: 1, seed: 3 } as never).scores[0]!
        : proxyReference(p as never, graph, { ...o, float32Draws: true }).scores[0]!;
      // float32 engine vs float64 reference. gsnr's mean²/(var + ξ) amplifies the float32 gradient
      // error where a weight's gradient barely varies over the batches (C = 2 here): 1.4e-4 measured;
      // grad_norm, snip and fisher read the same gradients and agree to 2e-6.
      const tol = p === 'gsnr' ? 5e-4 : p.startsWith('tenas') ? 1e-5 : 2e-6;
      t.true(Math.abs(r.scores[0]! - ref) <= tol * Math.max(1, Math.abs(ref)), `${p}: native ${r.scores[0]} vs reference ${ref}`);
    }
  } finally {
    engine.close();
  }
});

test('every proxy runs on a CONCAT cell with a dilated depthwise conv (a DARTS cell: dil_conv, nodes stacked along channels); native = float64 reference', async (t) => {
  // Two preprocessed inputs, four intermediate nodes (sums of edge ops), their concat, then the head.
  const body: NodeSpec[] = [
    { op: 'conv', inputs: [0], cout: 4, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] },          // v2 = s0
    { op: 'relu', inputs: [2] }, { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 1 }, { op: 'bn', inputs: [4] },  // v5 = s1
    { op: 'maxpool', inputs: [2], kernel: 3, stride: 1 }, { op: 'identity', inputs: [5] }, { op: 'add', inputs: [6, 7] },  // v8 = node 2
    { op: 'avgpool', inputs: [8], kernel: 3, stride: 1, countIncludePad: 0 }, { op: 'add', inputs: [9, 2] },               // v10 = node 3
    { op: 'relu', inputs: [10] }, { op: 'dwconv', inputs: [11], kernel: 3, stride: 1, dilation: 2 }, { op: 'conv', inputs: [12], cout: 4, kernel: 1, stride: 1 },
    { op: 'bn', inputs: [13] }, { op: 'add', inputs: [14, 8] },                                                             // v15 = node 4
    { op: 'zero', inputs: [15] }, { op: 'add', inputs: [16, 10, 5] },                                                        // v17 = node 5
    { op: 'concat', inputs: [8, 10, 15, 17] },                                                                               // v18 [16][8][8]
  ];
  const engine = new Engine({ threads: 2 });
  try {
    for (const p of PROXY_NAMES) {
      const head = cellProxySpec(p).head;
      const graph = buildGraph(3, head ? [...body, { op: 'gap', inputs: [18] }, { op: 'linear', inputs: [19], cout: 10, bias: 1 }] : body);
      const fixedBatch = p === 'synflow' || p === 'synflow_zc';
      const o = { resolution: 8, seed: 3, ...(fixedBatch ? {} : { batchSize: 8 }), ...(p === 'gsnr' ? { numBatches: 2 } : {}) };
      const r = await runCellProxy(engine, p, graph, o);
      const ref = p === 'zen'
        ? zenScoreReference(encodeDescriptor(graph), { batchSize: 8, resolution: 8, repeats: 1, seed: 3 } as never).scores[0]!
        : proxyReference(p as never, graph, { ...o, float32Draws: true }).scores[0]!;
      const tol = p === 'gsnr' ? 5e-4 : p.startsWith('tenas') ? 1e-5 : 2e-6;
      t.true(Number.isFinite(r.scores[0]!) && Math.abs(r.scores[0]! - ref) <= tol * Math.max(1, Math.abs(ref)), `${p}: native ${r.scores[0]} vs reference ${ref}`);
    }
  } finally {
    engine.close();
  }
});

test('supernet: every op on every edge; removing an op keeps every other node (and Philox stream) in place', (t) => {
  const full = Array.from({ length: 6 }, () => [...NB201_OPS]);
  const g = nb201SupernetGraph(full, { channels: 4, cells: 2 });
  const minus = full.map((ops, e) => (e === 2 ? ops.filter((o) => o !== 'nor_conv_3x3') : ops));
  const h = nb201SupernetGraph(minus, { channels: 4, cells: 2 });
  t.is(h.nodes.length, g.nodes.length);
  let changed = 0;
  g.nodes.forEach((n, i) => {
    const m = h.nodes[i]!;
    if (m.op === n.op && m.cin === n.cin && m.cout === n.cout && m.kernel === n.kernel) return;
    changed++;
    t.is(m.op, 'gap', `node ${i}: placeholders only`);
    t.deepEqual(m.inputs, [0]);
  });
  t.is(changed, 3 * 3 * 2);  // 3 nodes (ReLU, conv, BN) × 3 stages × 2 cells
  // Each edge holds its ops summed: a cell of the full supernet has 6 × 5 op outputs into 3 node sums.
  t.is(g.nodes.filter((n) => n.op === 'conv' && n.kernel === 3 && n.block > 0 && n.role === 'main').length, 6 * 3 * 2 + 2 * 2);
  t.notThrows(() => inferGraph(h, 32));
  // The compact genotype graph and the supernet with single ops count the same params/FLOPs.
  const geno = parseNb201(EXAMPLE);
  t.deepEqual(countGraph(nb201SupernetGraph(geno.map((o) => [o]), {}), 32), countGraph(nb201Graph(geno), 32));
  t.throws(() => nb201SupernetGraph(full.map((ops, e) => (e === 1 ? [] : ops)), {}), { code: 'E_STRUCTURE', message: /edge 1 \(0→2\) has no op/ });
  t.throws(() => nb201SupernetGraph(full, { slots: ['none', 'skip_connect'] }), { code: 'E_STRUCTURE', message: /has no slot/ });
});
