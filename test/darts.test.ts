/**
 * The DARTS space: its primitives, edge order and genotype codec (DARTS's own Genotype repr,
 * checked against CPython printing the same namedtuple).
 */
import test from 'ava';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { DARTS_EDGES, DARTS_EDGE_LIST, DARTS_OPS, DARTS_V2, formatDartsGenotype, parseDartsGenotype } from '../src/cells/darts';
import { DartsEdgeOps, DartsNetOptions, TENAS_DARTS_SPACE, dartsFullEdges, dartsGenotypeEdges, dartsGenotypeGraph, dartsSupernetGraph } from '../src/cells/darts-net';
import { countGraph } from '../src/cells/nb201-net';
import { inferGraph } from '../src/ops/graph';
import { encodeDescriptor } from '../src/ops/descriptor';
import { Engine } from '../src/engine/engine';
import { decodeForReference, referenceForward, referenceInput, referenceWeights } from '../src/reference';
import { findPython } from './helpers/python';
import { relErr } from './helpers/grad';
import { zennas } from './helpers/cli';
import { pruneDarts } from '../src/cells/prune';
import { dartsSupernetProxyGraph, runCellProxy } from '../src/cells/lowering';
import { PROXY_NAMES } from '../src/proxies/table';
import { proxyReference } from '../src/reference/proxies';
import { zenScoreReference } from '../src/reference';

const python = findPython(['json']);

// genotypes.py's DARTS_V2, as the file writes it (multi-line, list concats).
const DARTS_V2_SOURCE = `Genotype(
  normal = [
    ('sep_conv_3x3', 0),
    ('sep_conv_3x3', 1),
    ('sep_conv_3x3', 0),
    ('sep_conv_3x3', 1),
    ('sep_conv_3x3', 1),
    ('skip_connect', 0),
    ('skip_connect', 0),
    ('dil_conv_3x3', 2),
  ],
  normal_concat = [2, 3, 4, 5],
  reduce = [
    ('max_pool_3x3', 0),
    ('max_pool_3x3', 1),
    ('skip_connect', 2),
    ('max_pool_3x3', 1),
    ('max_pool_3x3', 0),
    ('skip_connect', 2),
    ('skip_connect', 2),
    ('max_pool_3x3', 1),
  ],
  reduce_concat = [2, 3, 4, 5],
)`;

test('primitives and the 14 supernet edges in DARTS order', (t) => {
  t.deepEqual([...DARTS_OPS], ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']);
  t.is(DARTS_EDGE_LIST.length, DARTS_EDGES);
  t.deepEqual(DARTS_EDGE_LIST.slice(0, 5), [[2, 0], [2, 1], [3, 0], [3, 1], [3, 2]]);
  t.deepEqual(DARTS_EDGE_LIST[13], [5, 4]);
});

test('genotype: genotypes.py source parses; str() form round-trips; errors name what is wrong', (t) => {
  t.deepEqual(parseDartsGenotype(DARTS_V2_SOURCE), DARTS_V2);
  const s = formatDartsGenotype(DARTS_V2);
  t.is(s, "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))");
  t.deepEqual(parseDartsGenotype(s), DARTS_V2);
  // Positional fields and double quotes (a namedtuple takes both).
  t.deepEqual(parseDartsGenotype(s.replace(/normal=|normal_concat=|reduce=|reduce_concat=/g, '').replace(/'/g, '"')), DARTS_V2);
  const bad: [string, string, RegExp][] = [
    [s.replace("'sep_conv_3x3', 0", "'conv_3x3', 0"), 'E_PARSE', /unknown op 'conv_3x3'/],
    [s.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), 'E_STRUCTURE', /normal\[7\]: node 5 cannot read node 5/],
    [s.replace("('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0)", "('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0)"), 'E_STRUCTURE', /normal\[0\]: node 2 cannot read node 2/],
    [s.replace("('skip_connect', 0), ('skip_connect', 0)", "('none', 0), ('skip_connect', 0)"), 'E_STRUCTURE', /'none' is never chosen/],
    [s.replace(", ('dil_conv_3x3', 2)]", ']'), 'E_STRUCTURE', /normal needs 8 \(op, input\) pairs/],
    [s.replace('normal_concat=range(2, 6)', 'normal_concat=range(6, 2)'), 'E_PARSE', /range\(6, 2\) is empty/],
    [s.replace('reduce_concat=range(2, 6)', 'reduce_concat=[2, 7]'), 'E_STRUCTURE', /reduce_concat: node 7 is not a node/],
    [s.replace('reduce=', 'normal='), 'E_PARSE', /field 'normal' given twice/],
    [s + ' x', 'E_PARSE', /unexpected text after the genotype/],
    ['Genotype(normal=[', 'E_PARSE', /expected/],
  ];
  for (const [text, code, message] of bad) t.throws(() => parseDartsGenotype(text), { code, message }, text.slice(0, 80));
});

(python ? test : test.skip)('formatDartsGenotype = CPython str() of the Genotype namedtuple', (t) => {
  const py = `from collections import namedtuple
Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')
DARTS_V2 = ${DARTS_V2_SOURCE}
print(str(DARTS_V2._replace(normal_concat=range(2, 6), reduce_concat=range(2, 6))))
print(str(DARTS_V2._replace(reduce_concat=[2, 4, 5])))`;
  const r = spawnSync(python!, ['-c', py], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const [a, b] = r.stdout.trim().split('\n');
  t.is(formatDartsGenotype(DARTS_V2), a);
  t.is(formatDartsGenotype({ ...DARTS_V2, normalConcat: [2, 3, 4, 5], reduceConcat: [2, 4, 5] }).replace('normal_concat=range(2, 6)', 'normal_concat=[2, 3, 4, 5]'), b);
});

// ---- the search network (TE-NAS's NASNetworkDARTS) ---------------------------------------------

const torchPython = findPython(['torch']);
const withTorch = torchPython ? test : test.skip;

const FULL = dartsFullEdges();
/** A sub-supernet: some ops removed per edge, one edge of each cell masked out (TE-NAS's −INF α). */
const PARTIAL: DartsEdgeOps = {
  normal: FULL.normal.map((ops, e) => (e === 3 ? [] : ops.filter((_, k) => (k + e) % 3 !== 0))),
  reduce: FULL.reduce.map((ops, e) => (e === 7 ? [] : ops.filter((_, k) => (k + e) % 2 === 0))),
};

withTorch('params / FLOPs and the forward equal a PyTorch build of TE-NAS\'s definition (supernets, a genotype net; C, N, depth, stem)', async (t) => {
  const configs: { edges: DartsEdgeOps; o: DartsNetOptions; r: number; forward?: boolean }[] = [
    { edges: FULL, o: {}, r: 32 },                                                        // TE-NAS's NTK net: C 1, N 1, depth 2
    { edges: FULL, o: { channels: 2, cells: 1, depth: 0 }, r: 16, forward: true },        // all 3 cells (two reductions)
    { edges: PARTIAL, o: { channels: 2, cells: 2, depth: 0, stemMultiplier: 3, numClasses: 7 }, r: 16, forward: true },
    { edges: dartsGenotypeEdges(DARTS_V2), o: { channels: 4, cells: 2, depth: 0, stemMultiplier: 3 }, r: 32 },
    { edges: dartsGenotypeEdges(DARTS_V2), o: { channels: 2, cells: 1, depth: 0 }, r: 8, forward: true },
    { edges: FULL, o: { channels: 1, depth: 2, stem: false, inputChannels: 1 }, r: 8, forward: true },  // TE-NAS's linear-region net
    { edges: FULL, o: { channels: 1, depth: 2, stem: false, inputChannels: 1 }, r: 3, forward: true },  // … on its 3×3 inputs (odd: the padded FactorizedReduce)
    { edges: PARTIAL, o: { channels: 2, cells: 1, depth: 0 }, r: 9, forward: true },
  ];
  const B = 2, seed = 3, repeat = 1;
  const runs = configs.map((c) => {
    const graph = dartsSupernetGraph(c.edges, c.o);
    const inC = c.o.inputChannels ?? 3;
    const py: Record<string, unknown> = {
      normal: c.edges.normal, reduce: c.edges.reduce, C: c.o.channels ?? 1, N: c.o.cells ?? 1, depth: c.o.depth ?? 2, stem: c.o.stem ?? true,
      stemMultiplier: c.o.stemMultiplier ?? 1, numClasses: c.o.numClasses ?? 10, inputChannels: inC, resolution: c.r,
    };
    let logits: Float64Array | undefined;
    if (c.forward) {
      const net = decodeForReference(encodeDescriptor(graph));
      const w = referenceWeights(net, seed, repeat), x = referenceInput('input', seed, repeat, B, inC, c.r);
      logits = referenceForward(net, w, x, { bnEps: 1e-5 }).outputs[0]!.data;
      py.weights = net.nodes.flatMap((n, i) => (n.op === 'conv' || n.op === 'linear' || n.op === 'dwconv' ? [...w[i]!.weight!] : []));
      py.input = [...x.data];
    }
    return { c, graph, logits, py };
  });
  const r = spawnSync(torchPython!, [path.join(__dirname, 'torch/darts.py')], { input: JSON.stringify({ nets: runs.map((u) => u.py) }), encoding: 'utf8', maxBuffer: 1 << 28 });
  t.is(r.status, 0, r.stderr);
  const torch = (JSON.parse(r.stdout) as { nets: { params: number; flops: number; logits?: number[] }[] }).nets;
  const engine = new Engine({ threads: 2 });
  try {
    for (let k = 0; k < runs.length; k++) {
      const u = runs[k]!, want = torch[k]!;
      const c = countGraph(u.graph, u.c.r);
      t.deepEqual({ params: c.params, flops: c.flops }, { params: want.params, flops: want.flops }, JSON.stringify(u.c.o));
      if (!u.logits) continue;
      const err = relErr(u.logits, want.logits!);
      t.true(err < 1e-10, `${JSON.stringify(u.c.o)}: reference vs PyTorch relative error ${err}`);
      // The engine (float32) on the same Philox draws: the 'gradients' proxy's sum loss = Σ logits.
      const e = await engine.run('gradients', encodeDescriptor(u.graph), { batchSize: B, resolution: u.c.r, seed, firstRepeat: repeat, loss: 'sum' });
      const sum = want.logits!.reduce((a, b) => a + b, 0), scale = want.logits!.reduce((a, b) => a + Math.abs(b), 0);
      t.true(Math.abs(e.scores[0]! - sum) <= 1e-5 * scale, `${JSON.stringify(u.c.o)}: engine Σ logits ${e.scores[0]} vs PyTorch ${sum}`);
    }
  } finally {
    engine.close();
  }
});

test('search network: macro skeleton, TE-NAS defaults, slots keep every node index, errors', (t) => {
  const g = dartsSupernetGraph(FULL);
  t.deepEqual(inferGraph(g, 32).values[g.outputs[0]!], { c: 10, h: 1, w: 1 });
  const body = dartsSupernetGraph(FULL, { numClasses: 0, depth: 0, channels: 2 });
  t.deepEqual(inferGraph(body, 32).values[body.outputs[0]!], { c: 32, h: 8, w: 8 });  // 4 nodes × 4C after two reductions
  t.is(g.nodes.filter((n) => n.op === 'concat' && n.inputs.length === 4).length, 2);  // the two cells' outputs
  t.is(g.nodes.filter((n) => n.op === 'dwconv' && n.dilation === 2).length, 2 * 14 * 2);  // dil_conv_3x3 / 5x5 on 14 edges × 2 cells
  // With slots, removing ops leaves weight-free placeholders: every node keeps its index (and Philox stream).
  const full = dartsSupernetGraph(FULL, { slots: TENAS_DARTS_SPACE });
  const part = dartsSupernetGraph(PARTIAL, { slots: TENAS_DARTS_SPACE });
  t.is(part.nodes.length, full.nodes.length);
  full.nodes.forEach((n, i) => {
    const m = part.nodes[i]!;
    if (m.op !== n.op || m.kernel !== n.kernel || m.cout !== n.cout) t.deepEqual([m.op, m.inputs], ['gap', [0]], `node ${i}`);
  });
  t.notThrows(() => inferGraph(part, 32));
  t.deepEqual(countGraph(dartsSupernetGraph(PARTIAL, { slots: TENAS_DARTS_SPACE }), 32), countGraph(dartsSupernetGraph(PARTIAL), 32));
  t.throws(() => dartsSupernetGraph({ ...FULL, normal: FULL.normal.slice(1) }), { code: 'E_STRUCTURE', message: /14 edges/ });
  t.throws(() => dartsSupernetGraph({ ...FULL, normal: FULL.normal.map((o, e) => (e < 2 ? [] : o)) }), { code: 'E_STRUCTURE', message: /normal cell node 2 has no input op/ });
  t.throws(() => dartsSupernetGraph(FULL, { slots: ['none'] }), { code: 'E_STRUCTURE', message: /has no slot/ });
  t.throws(() => dartsSupernetGraph(FULL, { widht: 1 } as never), { code: 'E_OPTION', message: /unknown DARTS option 'widht'/ });
  t.throws(() => dartsSupernetGraph(FULL, { stem: false }), { code: 'E_OPTION', message: /without a stem/ });
  // A genotype: 2 chosen edges per node, the rest masked; its graph = the supernet of those edges.
  const ge = dartsGenotypeEdges(DARTS_V2);
  t.deepEqual(ge.normal.map((o) => o.join()), ['sep_conv_3x3', 'sep_conv_3x3', 'sep_conv_3x3', 'sep_conv_3x3', '', 'skip_connect', 'sep_conv_3x3', '', '', 'skip_connect', '', 'dil_conv_3x3', '', '']);
  t.deepEqual(countGraph(dartsGenotypeGraph(DARTS_V2), 32), countGraph(dartsSupernetGraph(ge), 32));
});

// ---- pruning (ξ-GSNR Algorithm 1 / TE-NAS) on the DARTS supernet, then top-2 edges per node ------

const XI_TINY = { pruneNumber: 3, engineOptions: { batchSize: 2, numBatches: 2, resolution: 8 } };

test('pruneDarts, xi-gsnr: ops pruned to one per edge (the n lowest s of every edge), then per node all but the 2 highest-s edges; a valid DARTS genotype; deterministic', async (t) => {
  const engine = new Engine({ threads: 2 });
  try {
    const r = await pruneDarts(engine, { ...XI_TINY, seed: 1 });
    const g = parseDartsGenotype(r.genotypeString);
    t.deepEqual(g, r.genotype);
    const opRounds = r.rounds.filter((x) => x.kind === 'ops'), edgeRounds = r.rounds.filter((x) => x.kind === 'edges');
    t.is(opRounds.length, 2);  // 7 ops (none pruned first) → 4 → 1
    t.deepEqual(edgeRounds.map((x) => x.group), ['normal node 3', 'normal node 4', 'normal node 5', 'reduction node 3', 'reduction node 4', 'reduction node 5']);
    for (const rd of opRounds) {
      t.is(rd.removed.length, 28 * 3);
      for (let e = 0; e < 28; e++) {
        const cs = rd.candidates.filter((c) => c.edge === e).sort((a, b) => a.score - b.score);
        t.deepEqual(rd.removed.filter((x) => x.edge === e).map((x) => x.op).sort(), cs.slice(0, 3).map((c) => c.op).sort(), `round ${rd.round} edge ${e}`);
        t.is(rd.base as number - cs[0]!.value, cs[0]!.score);
      }
    }
    for (const rd of edgeRounds) {
      const kept = [...rd.candidates].sort((a, b) => b.score - a.score).slice(0, 2).map((c) => c.edge);
      t.deepEqual(rd.removed.map((x) => x.edge).sort(), rd.candidates.map((c) => c.edge).filter((e) => !kept.includes(e)).sort());
    }
    // The genotype's ops are the single ops left on its edges.
    const last = r.rounds[r.rounds.length - 1]!;
    t.true(last.removed.length > 0);
    t.true(r.params > 0 && r.flops > 0);
    const again = await pruneDarts(engine, { ...XI_TINY, seed: 1 });
    t.is(again.genotypeString, r.genotypeString);
    t.deepEqual(again.rounds.map((x) => x.candidates.map((c) => c.score)), r.rounds.map((x) => x.candidates.map((c) => c.score)));
  } finally {
    engine.close();
  }
});

test('pruneDarts, tenas: TE-NAS prune_number 3, dense ranks, the 3 smallest rank sums of every edge removed, then prune_func_rank_group keeps the 2 last of every node', async (t) => {
  const engine = new Engine({ threads: 2 });
  try {
    const r = await pruneDarts(engine, { algorithm: 'tenas', seed: 0, repeats: 1, tenas: { ntkBatchSize: 2, ntkResolution: 8, lrBatchSize: 20, lrSampleBatches: 1 } });
    t.notThrows(() => parseDartsGenotype(r.genotypeString));
    const rd = r.rounds[0]!;
    t.is(rd.kind, 'ops');
    for (let e = 0; e < 28; e += 9) {
      const sum = (c: (typeof rd.candidates)[number]) => c.ranks![0] + c.ranks![1];
      const cs = rd.candidates.filter((c) => c.edge === e);
      const removed = rd.removed.filter((x) => x.edge === e).map((x) => cs.find((c) => c.op === x.op)!);
      t.is(removed.length, 3);
      const keptMin = Math.min(...cs.filter((c) => !removed.includes(c)).map(sum));
      t.true(removed.every((c) => sum(c) <= keptMin), `edge ${e}`);
    }
    t.is(r.rounds.filter((x) => x.kind === 'edges').length, 6);
  } finally {
    engine.close();
  }
});

test('zennas prune --space darts: a DARTS genotype and its params/FLOPs, JSON; nb201-only flags refused', (t) => {
  const r = zennas('prune', '--space', 'darts', '-b', '2', '--num-batches', '2', '-r', '8', '--prune-number', '3', '--no-progress', '--json');
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { genotypeString: string; params: number; rounds: unknown[] };
  t.notThrows(() => parseDartsGenotype(j.genotypeString));
  t.true(j.params > 0);
  const bad = zennas('prune', '--space', 'darts', '--reduction-pool', 'avg3');
  t.is(bad.code, 2, bad.stderr);
  t.regex(bad.stderr, /--reduction-pool and --residuals apply to --space nb201 only/);
  t.regex(zennas('prune', '--space', 'nb201', '--depth', '1').stderr, /--depth applies to --space darts only/);
  t.regex(zennas('prune', '--space', 'nas').stderr, /--space must be 'nb201' or 'darts'/);
});

test('every proxy runs on the DARTS supernet (concat, dilated and padded-shift ops, an odd 9×9 map); native = float64 reference', async (t) => {
  const engine = new Engine({ threads: 2 });
  try {
    for (const p of PROXY_NAMES) {
      const g = dartsSupernetProxyGraph(PARTIAL, p, { channels: 2, cells: 1, depth: 2 });
      const fixedBatch = p === 'synflow' || p === 'synflow_zc';
      const o = { resolution: 9, seed: 3, ...(fixedBatch ? {} : { batchSize: 4 }), ...(p === 'gsnr' ? { numBatches: 2 } : {}) };
      const r = await runCellProxy(engine, p, g, o);
      const ref = p === 'zen'
        ? zenScoreReference(encodeDescriptor(g), { batchSize: 4, resolution: 9, repeats: 1, seed: 3 } as never).scores[0]!
        : proxyReference(p as never, g, { ...o, float32Draws: true }).scores[0]!;
      const tol = p === 'gsnr' ? 5e-4 : p === 'grasp' ? 2e-4 : p.startsWith('tenas') ? 1e-5 : 2e-6;
      t.true(Number.isFinite(r.scores[0]!) && Math.abs(r.scores[0]! - ref) <= tol * Math.max(1, Math.abs(ref)), `${p}: native ${r.scores[0]} vs reference ${ref}`);
    }
  } finally {
    engine.close();
  }
});
