/**
 * ξ-GSNR Algorithm 1 and TE-NAS's rank-combined pruning on small NAS-Bench-201 supernets: the
 * loop's invariants (one op off every multi-op edge per round, s = P(N_t) − P(N_t \ o), argmin
 * removed, TE-NAS's smallest rank sum removed), determinism, CPython's rounding, and the CLI.
 */
import test from 'ava';
import { Engine } from '../src/engine/engine';
import { PruneResult, genotypeFrequencies, pruneNb201, pyRound, roundTo } from '../src/cells/prune';
import { NB201_EDGES, nb201Index, parseNb201 } from '../src/cells/nb201';
import { countGraph, nb201Graph, nb201SupernetGraph } from '../src/cells/nb201-net';
import { nb201SupernetProxyGraph, runCellProxy } from '../src/cells/lowering';
import { NB201_OPS, Nb201Op, isNb201Op } from '../src/cells/nb201';
import { zennas } from './helpers/cli';

const TINY = { net: { channels: 3, cells: 1 }, engineOptions: { batchSize: 8, numBatches: 2, resolution: 8 } };
const TENAS_TINY = { ntkBatchSize: 6, ntkResolution: 8, lrBatchSize: 50, lrSampleBatches: 2 };

/** A round's edges (string[][]: the loop is shared with DARTS) as NAS-Bench-201 ops, each checked. */
const nb201Edges = (edges: string[][]): Nb201Op[][] =>
  edges.map((e) => e.map((o) => { if (!isNb201Op(o)) throw new Error(`not a NAS-Bench-201 op: '${o}'`); return o; }));

let engine: Engine;
test.before(() => { engine = new Engine({ threads: 1 }); });
test.after.always(() => engine.close());

function checkLoop(t: import('ava').ExecutionContext, r: PruneResult, firstOps: number): void {
  t.is(r.rounds.length, firstOps - 1);
  let edges = NB201_EDGES.map(() => firstOps);
  for (const rd of r.rounds) {
    t.deepEqual(rd.edges.map((e) => e.length), edges);
    t.is(rd.removed.length, 6);
    t.deepEqual(rd.removed.map((x) => x.edge), [0, 1, 2, 3, 4, 5]);
    t.is(rd.candidates.length, edges.reduce((a, b) => a + b, 0));
    for (const x of rd.removed) t.true(rd.edges[x.edge]!.includes(x.op));
    edges = edges.map((n) => n - 1);
  }
  t.true(r.genotype.every((o, e) => r.rounds[r.rounds.length - 1]!.edges[e]!.includes(o)));
  t.is(r.genotypeString, `|${r.genotype[0]}~0|+|${r.genotype[1]}~0|${r.genotype[2]}~1|+|${r.genotype[3]}~0|${r.genotype[4]}~1|${r.genotype[5]}~2|`);
  t.is(r.index, nb201Index(r.genotype));
  const c = countGraph(nb201Graph(r.genotype), 32);
  t.is(r.params, c.params);
  t.is(r.flops, c.flops);
  t.is(r.evaluations, r.rounds.reduce((a, rd) => a + rd.candidates.length + 1, 0) * (r.algorithm === 'tenas' ? 2 : 1));
}

test('ξ-GSNR Algorithm 1: s(o) = P(N_t) − P(N_t \\ o), the argmin of every edge removed, single path after 3 rounds', async (t) => {
  const r = await pruneNb201(engine, { ...TINY, seed: 4 });
  checkLoop(t, r, 4);
  t.false(r.genotype.includes('none'));  // 'none' pruned first, as TE-NAS
  for (const rd of r.rounds) {
    for (const c of rd.candidates) t.is(c.score, (rd.base as number) - c.value);
    for (const x of rd.removed) {
      const s = rd.candidates.filter((c) => c.edge === x.edge);
      t.is(s.find((c) => c.op === x.op)!.score, Math.min(...s.map((c) => c.score)));
    }
  }
  // P(N_t) is gsnr on the supernet of the round with the run's seed: recompute round 2's base.
  const g = nb201SupernetProxyGraph(nb201Edges(r.rounds[1]!.edges), 'gsnr', { ...TINY.net, slots: NB201_OPS });
  t.is((await runCellProxy(engine, 'gsnr', g, { ...TINY.engineOptions, seed: 4, repeats: 1 })).mean, r.rounds[1]!.base as number);
  // Deterministic with a seed.
  const again = await pruneNb201(engine, { ...TINY, seed: 4 });
  t.deepEqual(again.rounds.map((x) => x.candidates), r.rounds.map((x) => x.candidates));
  t.is(again.genotypeString, r.genotypeString);
});

test("ξ-GSNR with none: 'search' prunes in 4 rounds; a 'min' proxy is negated; any proxy of the table", async (t) => {
  const r = await pruneNb201(engine, { ...TINY, none: 'search', seed: 1 });
  checkLoop(t, r, 5);
  // s(none) = 0 exactly: a zero op adds zeros and has no weights (and keeps every other node in place).
  for (const c of r.rounds[0]!.candidates.filter((c) => c.op === 'none')) t.is(c.score, 0);
  const ntk = await pruneNb201(engine, { proxy: 'tenas_ntk', net: TINY.net, engineOptions: { batchSize: 6, resolution: 8 }, seed: 2 });
  checkLoop(t, ntk, 4);
  const g = nb201SupernetProxyGraph(nb201Edges(ntk.rounds[0]!.edges), 'tenas_ntk', { ...TINY.net, slots: NB201_OPS });
  t.is(ntk.rounds[0]!.base, -(await runCellProxy(engine, 'tenas_ntk', g, { batchSize: 6, resolution: 8, seed: 2, repeats: 1 })).mean);
  await t.throwsAsync(pruneNb201(engine, { ...TINY, proxy: 'nope' as never }), { code: 'E_OPTION', message: /unknown proxy 'nope'/ });
  await t.throwsAsync(pruneNb201(engine, { algorithm: 'tenas', proxy: 'gsnr' }), { code: 'E_OPTION', message: /does not apply/ });
  await t.throwsAsync(pruneNb201(engine, { ...TINY, none: 'keep' as never }), { code: 'E_OPTION', message: /none must be/ });
});

test('TE-NAS variant: Δcond and ΔR per op, dense ranks, the smallest rank sum of every edge removed', async (t) => {
  const r = await pruneNb201(engine, { algorithm: 'tenas', tenas: TENAS_TINY, seed: 0 });
  checkLoop(t, r, 4);
  t.is(r.repeats, 3);
  for (const rd of r.rounds) {
    const ntkVals = [...new Set(rd.candidates.map((c) => c.score))].sort((a, b) => b - a);
    for (const c of rd.candidates) {
      // Dense ranks (equal values share one); the ΔR rank ascends with ΔR.
      t.is(c.ranks![0], ntkVals.indexOf(c.score));
      for (const d of rd.candidates) if (c.value < d.value) t.true(c.ranks![1] <= d.ranks![1]);
      // Each repeat's relative change is rounded to 3 decimals, then averaged.
      t.true(Math.abs(c.score * 3 - Math.round(c.score * 3 * 1000) / 1000) < 1e-9);
    }
    for (const x of rd.removed) {
      const s = rd.candidates.filter((c) => c.edge === x.edge).map((c) => c.ranks![0] + c.ranks![1]);
      const removed = rd.candidates.find((c) => c.edge === x.edge && c.op === x.op)!;
      t.is(removed.ranks![0] + removed.ranks![1], Math.min(...s));
    }
  }
  const again = await pruneNb201(engine, { algorithm: 'tenas', tenas: TENAS_TINY, seed: 0 });
  t.is(again.genotypeString, r.genotypeString);
});

test('CPython round(x, n) (ties to even on the exact binary value) and TE-NAS round_to', (t) => {
  const cases: [number, number, number][] = [
    [0.0625, 3, 0.062], [0.1875, 3, 0.188], [-0.0625, 3, -0.062], [2.675, 2, 2.67], [0.125, 2, 0.12], [0.375, 2, 0.38],
    [1.0005, 3, 1.0], [0.12345, 3, 0.123], [-0.5, 0, -0], [1.5, 0, 2], [2.5, 0, 2], [0.0004999, 3, 0], [123.4567, 3, 123.457],
  ];
  for (const [x, n, want] of cases) t.is(pyRound(x, n), want, `round(${x}, ${n})`);
  t.is(roundTo(0.123456, 3), 0.123 * 1);
  t.is(roundTo(-4567.8, 3), -0.457 * 10 ** 4);
  t.is(roundTo(0, 3), 0);
});

test('genotype frequencies over seeds', (t) => {
  const mk = (seed: number, g: string) => ({ seed, genotypeString: g, index: nb201Index(parseNb201(g)) }) as PruneResult;
  const a = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
  const b = '|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
  t.deepEqual(genotypeFrequencies([mk(0, b), mk(1, a), mk(2, a)]), [
    { genotype: a, index: nb201Index(parseNb201(a)), count: 2, seeds: [1, 2] },
    { genotype: b, index: nb201Index(parseNb201(b)), count: 1, seeds: [0] },
  ]);
});

test('zennas prune --space nb201 --proxy gsnr: a valid single-path genotype, params/FLOPs, rounds, JSON; usage errors', (t) => {
  const args = ['prune', '--space', 'nb201', '--proxy', 'gsnr', '--seed', '0', '-C', '2', '-N', '1', '-b', '8', '--num-batches', '2', '-r', '8', '-t', '1'];
  const j = zennas(...args, '--json');
  t.is(j.code, 0, j.stderr);
  const r = JSON.parse(j.stdout) as PruneResult;
  t.notThrows(() => parseNb201(r.genotypeString));
  t.is(r.rounds.length, 3);
  t.is(r.params, countGraph(nb201Graph(r.genotype), 32).params);
  t.regex(j.stderr, /prune: seed 0 round 1: 1\/25 evaluations \(N_t\)/);  // progress on stderr (not a TTY)
  const txt = zennas(...args, '--no-progress');
  t.is(txt.code, 0, txt.stderr);
  t.is(txt.stderr, '');
  t.regex(txt.stdout, new RegExp(`genotype ${r.genotypeString.replace(/[|+]/g, '\\$&')}`));
  t.regex(txt.stdout, /NAS-Bench-201 index \d+; params [\d.]+[kKM]? \(\d+\), FLOPs [\d.]+[kKMG]? \(\d+\)/);
  t.regex(txt.stdout, /round 1 \([\d.]+ s\): P\(N_t\) /);
  t.regex(txt.stdout, /3 rounds, 73 evaluations|3 rounds, 57 evaluations/);
  const runs = zennas(...args, '--runs', '2', '--no-progress', '--json');
  t.is(runs.code, 0, runs.stderr);
  const rr = JSON.parse(runs.stdout) as { runs: PruneResult[]; frequencies: { count: number }[] };
  t.deepEqual(rr.runs.map((x) => x.seed), [0, 1]);
  t.is(rr.runs[0]!.genotypeString, r.genotypeString);
  t.is(rr.frequencies.reduce((a, f) => a + f.count, 0), 2);
  const bad = zennas('prune', '--space', 'nas-bench-101');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /zennas: error \[E_OPTION\]: --space must be 'nb201' or 'darts'/);
  const bad2 = zennas('prune', '--space', 'nb201', '--algorithm', 'tenas', '--xi', '1e-8');
  t.is(bad2.code, 2);
  t.regex(bad2.stderr, /--xi does not apply to --algorithm tenas/);
  const bad3 = zennas('prune', '--space', 'nb201', '--proxy', 'snip', '--num-batches', '4');
  t.regex(bad3.stderr, /--num-batches applies to gsnr only/);
});

test('the supernet of a pruned-to-single-path mask has the genotype’s params and FLOPs', (t) => {
  const g = parseNb201('|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|skip_connect~2|');
  t.deepEqual(countGraph(nb201SupernetGraph(g.map((o) => [o]), { slots: NB201_OPS }), 32), countGraph(nb201Graph(g), 32));
});
