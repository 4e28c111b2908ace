/**
 * Latency lookup tables (issue #15 item 7): units and metadata (a batch-64 GPU table and a batch-1
 * CPU table are never combined), estimate = Σ entries on hand-made tables, the bilinear
 * expectation against enumeration on a tiny space, the greedy MCKP repair never returning an
 * infeasible net, and a resumable build on a made-up space with a fake runtime. No native code.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Sfc32 } from '../src/rng/sfc32';
import {
  ArchitectureDistribution, LatencyContext, Lut, LutChoices, LutNet, LutRuntime, LutSpace, assertCompatible, buildLut, buildPieces,
  checkLut, checkLutForSearch, estimateLatency, expectedLatency, incompatibilities, indexLut, lutContext, mergeLuts, readLut, repairChoices, writeLut,
} from '../src/lut';
import { blockFeatures, fitRidge, fitRidgeCv, predictLatency } from '../src/lut/correction';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-lut-'));

const CPU1: LatencyContext = { unit: 'ms', batchSize: 1, precision: 'fp32', runtime: 'onnxruntime', runtimeVersion: 'onnxruntime-node 1.30.0', hardware: 'AMD EPYC (2 cores)', threads: 1, clock: 'wall' };
const GPU64: LatencyContext = { unit: 'ms', batchSize: 64, precision: 'fp16', runtime: 'cuda', runtimeVersion: 'zennas 0.1.0', hardware: 'NVIDIA H100', threads: 0, clock: 'wall' };

/**
 * A hand-made table: 2 stages (depths 1..2 and 2..3), 3 configurations, t[s][j][c] = 1 + s + j/10 + c/100
 * (in `unit`), fixed pieces head 2 and tail 3.
 */
function handTable(ctx: LatencyContext = CPU1, over: Partial<Lut['meta']> = {}): Lut {
  const f = ctx.unit === 's' ? 1e-3 : ctx.unit === 'us' ? 1e3 : 1;
  const stages = [{ minDepth: 1, maxDepth: 2 }, { minDepth: 2, maxDepth: 3 }];
  const entries: Lut['entries'] = [];
  stages.forEach((st, s) => {
    for (let j = 0; j < st.maxDepth; j++) {
      for (let c = 0; c < 3; c++) {
        const ms = 1 + s + j / 10 + c / 100;
        entries.push({ stage: s, position: j, config: c, inputChannels: 8, outputChannels: 8, stride: 1, inputResolution: 4, latency: ms * f, p90: ms * f * 1.1, params: 100 * (c + 1), flops: 1000 * (c + 1) });
      }
    }
  });
  return {
    format: 'zennas-lut', version: 1, complete: true,
    meta: {
      ...ctx, space: 'toy', variant: 'v', resolution: 8, numClasses: 10, statistic: 'median', warmup: 1, iterations: 3,
      configs: ['a', 'b', 'c'], fixedNames: ['head', 'tail'], overhead: 'kept', overheadMs: 0, zennas: 'zennas test', created: '2026-01-01T00:00:00Z', ...over,
    },
    stages,
    fixed: [{ name: 'head', inputChannels: 3, inputResolution: 8, latency: 2 * f, p90: 2 * f }, { name: 'tail', inputChannels: 8, inputResolution: 4, latency: 3 * f, p90: 3 * f }],
    entries,
  };
}

test('units: a table in seconds or microseconds is read as milliseconds, never assumed', (t) => {
  for (const unit of ['s', 'ms', 'us'] as const) {
    const lut = checkLut(handTable({ ...CPU1, unit }));
    t.is(lut.meta.unit, 'ms');
    const e = lut.entries.find((x) => x.stage === 1 && x.position === 2 && x.config === 1)!;
    t.true(Math.abs(e.latency - 2.21) < 1e-12, `${unit}: ${e.latency}`); // 1 + 1 + 0.2 + 0.01 ms
    t.true(Math.abs(lut.fixed[1]!.latency - 3) < 1e-12);
  }
  // HardCoRe-NAS's official LUT is raw seconds read as ms: here a unit is required and checked.
  const noUnit = handTable() as unknown as { meta: Record<string, unknown> };
  delete noUnit.meta.unit;
  t.regex(t.throws(() => checkLut(noUnit, 'lut.json'))!.message, /^lut\.json: meta\.unit must be one of/);
  const msec = handTable() as unknown as { meta: Record<string, unknown> };
  msec.meta.unit = 'msec';
  t.is(t.throws(() => checkLut(msec))!.name, 'ZennasError');
});

test('metadata: a batch-64 GPU table and a batch-1 CPU table cannot be combined or compared', (t) => {
  t.deepEqual(incompatibilities(CPU1, { ...CPU1, unit: 's' }), [], 'a unit differs only in how numbers are written');
  t.deepEqual(incompatibilities(GPU64, CPU1), [
    'batchSize 64 vs 1', 'precision "fp16" vs "fp32"', 'runtime "cuda" vs "onnxruntime"',
    'runtimeVersion "zennas 0.1.0" vs "onnxruntime-node 1.30.0"', 'hardware "NVIDIA H100" vs "AMD EPYC (2 cores)"', 'threads 0 vs 1',
  ]);
  const e = t.throws(() => mergeLuts(handTable(GPU64), handTable(CPU1)));
  t.is((e as { code?: string }).code, 'E_OPTION');
  t.regex(e!.message, /merging latency tables: latencies measured under different conditions cannot be combined or compared \(batchSize 64 vs 1; precision/);
  t.throws(() => assertCompatible(lutContext(handTable(CPU1).meta), { ...CPU1, threads: 2 }, 'x'), { message: /threads 1 vs 2/ });
  t.throws(() => assertCompatible(lutContext(handTable(CPU1).meta), { ...CPU1, clock: 'cpu' }, 'x'), { message: /clock "wall" vs "cpu"/ });
  // Same conditions in other units merge, in ms.
  const a = handTable({ ...CPU1, unit: 'us' });
  a.entries = a.entries.filter((x) => x.stage === 0);
  a.complete = false;
  const b = handTable({ ...CPU1, unit: 's' });
  b.entries = b.entries.filter((x) => x.stage === 1);
  b.complete = false;
  const m = mergeLuts(a, b);
  t.true(m.complete);
  t.is(m.meta.unit, 'ms');
  t.is(m.entries.length, 2 * 3 + 3 * 3);
  t.true(Math.abs(estimateLatency(indexLut(checkLut(m)), { depths: [1, 2], configs: [[0], [0, 0]] }).ms - (5 + 1 + 2 + 2.1)) < 1e-9);
  // Another space or batch for a search: refused before the search, naming the difference.
  const lut = checkLut(handTable());
  t.regex(t.throws(() => checkLutForSearch(lut, { space: 'toy', variant: 'v', resolution: 8, numClasses: 10, batchSize: 64 }))!.message, /batchSize 1 vs 64/);
  t.regex(t.throws(() => checkLutForSearch(lut, { space: 'hardcore', variant: 'v', resolution: 224, numClasses: 10, batchSize: 1 }))!.message, /space 'toy' vs 'hardcore'; resolution 8 vs 224/);
  t.notThrows(() => checkLutForSearch(lut, { space: 'TOY', variant: 'v', resolution: 8, numClasses: 10, batchSize: 1 }));
});

test('the table is checked whole: entries inside its stages, each measured once, a complete one has all', (t) => {
  const dup = handTable();
  dup.entries.push({ ...dup.entries[0]! });
  t.regex(t.throws(() => checkLut(dup, 'x.json'))!.message, /^x\.json: entries\[15\]: stage 0 position 0 config 0 is measured twice/);
  const beyond = handTable();
  beyond.entries[0] = { ...beyond.entries[0]!, position: 2 };
  t.regex(t.throws(() => checkLut(beyond))!.message, /position 2 is beyond stage 0's 2 blocks/);
  const short = handTable();
  short.entries.pop();
  t.regex(t.throws(() => checkLut(short))!.message, /marked complete but holds 14 of the 15 block entries/);
  const twice = handTable();
  twice.fixed.push({ ...twice.fixed[0]! });
  t.regex(t.throws(() => checkLut(twice))!.message, /fixed\[2\]: 'head' is measured twice/);
  const stranger = handTable();
  stranger.fixed[0] = { ...stranger.fixed[0]!, name: 'stem' };
  t.regex(t.throws(() => checkLut(stranger))!.message, /fixed\[0\]: 'stem' is not one of the fixed pieces head, tail/);
  const noTail = handTable();
  noTail.fixed.pop();
  t.regex(t.throws(() => checkLut(noTail))!.message, /fixed part lacks tail/);
  const dir = tmp();
  const file = path.join(dir, 'lut.json');
  writeLut(file, handTable({ ...CPU1, unit: 's' }));
  t.is(readLut(file).meta.unit, 'ms');
  fs.writeFileSync(file, '{ nope');
  t.regex(t.throws(() => readLut(file))!.message, /lut\.json: not a latency table \(JSON/);
});

test('estimate = Σ block entries + fixed part, on a hand-made table', (t) => {
  const ix = indexLut(checkLut(handTable()));
  // head 2 + tail 3; stage 0: (0,0,c2) 1.02 + (0,1,c1) 1.11; stage 1: (1,0,c0) 2 + (1,1,c2) 2.12 + (1,2,c1) 2.21.
  const e = estimateLatency(ix, { depths: [2, 3], configs: [[2, 1], [0, 2, 1]] });
  t.true(Math.abs(e.ms - (5 + 1.02 + 1.11 + 2 + 2.12 + 2.21)) < 1e-12, String(e.ms));
  t.true(Math.abs(e.stagesMs[0]! - 2.13) < 1e-12);
  t.is(e.fixedMs, 5);
  // Overhead subtracted from every entry is counted once.
  const withOverhead = indexLut(checkLut(handTable(CPU1, { overhead: 'subtracted', overheadMs: 0.25 })));
  t.true(Math.abs(estimateLatency(withOverhead, { depths: [1, 2], configs: [[0], [0, 0]] }).ms - (5.25 + 1 + 2 + 2.1)) < 1e-12);
  const bad = (c: LutChoices, re: RegExp) => t.regex(t.throws(() => estimateLatency(ix, c))!.message, re);
  bad({ depths: [3, 2], configs: [[0, 0, 0], [0, 0]] }, /stage 0 has 3 blocks; the table allows 1\.\.2/);
  bad({ depths: [1, 2], configs: [[0], [0]] }, /stage 1: 2 blocks but 1 configurations/);
  bad({ depths: [1, 2], configs: [[3], [0, 0]] }, /configuration 3 is not one of the table's 3/);
  const partial = handTable();
  partial.complete = false;
  partial.entries = partial.entries.filter((x) => !(x.stage === 1 && x.config === 2));
  t.regex(t.throws(() => estimateLatency(indexLut(checkLut(partial)), { depths: [1, 2], configs: [[0], [2, 0]] }))!.message, /configuration c is not measured in this table/);
});

/** Random distributions with some exact zeros (fixed seed). */
function randomDistribution(rng: Sfc32, stages: Array<{ minDepth: number; maxDepth: number }>, C: number): ArchitectureDistribution {
  const simplex = (n: number) => {
    const v = Array.from({ length: n }, () => (rng.next() < 0.2 ? 0 : rng.next()));
    if (v.every((x): boolean => x === 0)) v[0] = 1;  // `: boolean`: not a type predicate (which would narrow v to 0[])
    const s = v.reduce((a, b) => a + b, 0);
    return v.map((x) => x / s);
  };
  return { alpha: stages.map((st) => Array.from({ length: st.maxDepth }, () => simplex(C))), beta: stages.map((st) => simplex(st.maxDepth - st.minDepth + 1)) };
}

/** Every architecture of the table's space with its probability under `p` (blocks independent). */
function enumerate(lut: Lut, p: ArchitectureDistribution): Array<{ c: LutChoices; prob: number }> {
  const C = lut.meta.configs.length;
  let out: Array<{ c: LutChoices; prob: number }> = [{ c: { depths: [], configs: [] }, prob: 1 }];
  lut.stages.forEach((st, s) => {
    const next: typeof out = [];
    for (const a of out) {
      for (let d = st.minDepth; d <= st.maxDepth; d++) {
        let combos: Array<{ cfg: number[]; prob: number }> = [{ cfg: [], prob: p.beta[s]![d - st.minDepth]! }];
        for (let j = 0; j < d; j++) combos = combos.flatMap((x) => Array.from({ length: C }, (_, k) => ({ cfg: [...x.cfg, k], prob: x.prob * p.alpha[s]![j]![k]! })));
        for (const x of combos) next.push({ c: { depths: [...a.c.depths, d], configs: [...a.c.configs, x.cfg] }, prob: a.prob * x.prob });
      }
    }
    out = next;
  });
  return out;
}

test('the bilinear expectation E[lat] = fixed + Σ_s Σ_b β_b Σ_{j≤b} Σ_c α_{j,c} t_{j,c} equals the mean over all architectures', (t) => {
  const rng = new Sfc32(15);
  for (let trial = 0; trial < 20; trial++) {
    const lut = checkLut(handTable());
    // Random entries (not the structured ones): the identity must not depend on them.
    for (const e of lut.entries) e.latency = 0.1 + 5 * rng.next();
    const ix = indexLut(lut);
    const p = randomDistribution(rng, lut.stages, 3);
    const all = enumerate(lut, p);
    t.is(all.length, (3 + 9) * (9 + 27), 'stage 0: 3 + 3² architectures, stage 1: 3² + 3³');
    const total = all.reduce((a, x) => a + x.prob, 0);
    t.true(Math.abs(total - 1) < 1e-12);
    const mean = all.reduce((a, x) => a + x.prob * estimateLatency(ix, x.c).ms, 0);
    const e = expectedLatency(ix, p);
    t.true(Math.abs(e - mean) < 1e-9 * mean, `trial ${trial}: ${e} vs ${mean}`);
  }
  // One-hot distributions give the architecture's estimate.
  const ix = indexLut(checkLut(handTable()));
  const oneHot = (n: number, k: number) => Array.from({ length: n }, (_, i) => (i === k ? 1 : 0));
  const p: ArchitectureDistribution = { alpha: [[oneHot(3, 2), oneHot(3, 1)], [oneHot(3, 0), oneHot(3, 2), oneHot(3, 1)]], beta: [oneHot(2, 1), oneHot(2, 1)] };
  t.true(Math.abs(expectedLatency(ix, p) - estimateLatency(ix, { depths: [2, 3], configs: [[2, 1], [0, 2, 1]] }).ms) < 1e-12);
  t.regex(t.throws(() => expectedLatency(ix, { ...p, beta: [[0.5, 0.6], oneHot(2, 1)] }))!.message, /beta\[0\] sums to 1\.1, not 1/);
  t.regex(t.throws(() => expectedLatency(ix, { ...p, beta: [[-0.5, 1.5], oneHot(2, 1)] }))!.message, /beta\[0\] holds -0\.5, not a probability/);
});

test('repair (greedy MCKP, HardCoRe-NAS §F): never infeasible; null only when even the lightest net is over', (t) => {
  const rng = new Sfc32(7);
  const lut = checkLut(handTable());
  for (const e of lut.entries) { e.latency = 0.2 + 3 * rng.next(); e.flops = Math.floor(1e6 * rng.next()); }
  const ix = indexLut(lut);
  // The lightest net: minimum depth, the fastest configuration of each remaining block.
  const lightest = { depths: [1, 2], configs: [[0], [0, 0]].map((cs, s) => cs.map((_, j) => { const row = ix.t[s]![j]!; return row.indexOf(Math.min(...row)); })) };
  const minMs = estimateLatency(ix, lightest).ms;
  let repaired = 0, impossible = 0;
  for (let trial = 0; trial < 400; trial++) {
    const depths = [1 + rng.int(2), 2 + rng.int(2)];
    const c: LutChoices = { depths, configs: depths.map((d) => Array.from({ length: d }, () => rng.int(3))) };
    const est = estimateLatency(ix, c).ms;
    const budget = minMs * (0.8 + 0.8 * rng.next());
    const r = repairChoices(ix, c, budget);
    if (r === null) {
      impossible++;
      t.true(minMs > budget, `null although the lightest net (${minMs}) fits ${budget}`);
      continue;
    }
    t.true(r.ms <= budget, `trial ${trial}: repaired estimate ${r.ms} > budget ${budget}`);
    t.true(Math.abs(estimateLatency(ix, r.choices).ms - r.ms) < 1e-12);
    if (est <= budget) t.deepEqual(r.steps, [], 'a feasible net is returned unchanged');
    else repaired++;
    for (const s of r.steps) t.true(s.savedMs > 0);
  }
  t.true(repaired > 50 && impossible > 20, `${repaired} repaired, ${impossible} impossible`);
});

test('repair takes the downgrade that loses the least value per ms saved', (t) => {
  const lut = checkLut(handTable());
  // Stage 1 block 0: c2 → c0 saves 0.02 ms for 2000 FLOPs; dropping stage 1's optional block 2 (c1: 2.21 ms, 2000 FLOPs) saves far more per FLOP.
  const ix = indexLut(lut);
  const c: LutChoices = { depths: [1, 3], configs: [[0], [2, 0, 1]] };
  const est = estimateLatency(ix, c).ms;
  const r = repairChoices(ix, c, est - 0.5)!;
  t.deepEqual(r.steps.map((s) => [s.stage, s.position, s.from, s.to]), [[1, 2, 1, null]]);
  // With a value that makes dropping expensive, configurations go down first (largest saving per value lost).
  const r2 = repairChoices(ix, c, est - 0.015, { value: (s, j, k) => (s === 1 && j === 2 ? 1e12 * (k + 1) : k * k) })!;
  t.deepEqual(r2.steps.map((s) => [s.stage, s.position, s.from, s.to]), [[1, 0, 2, 0]]);
  t.true(r2.ms <= est - 0.015);
  t.is(repairChoices(ix, c, 1), null, 'below the fixed part: impossible');
  t.regex(t.throws(() => repairChoices(ix, c, Number.NaN))!.message, /budget must be a positive number of ms/);
});

// ---- A made-up LUT-able space and a fake runtime: the build's order, resumption and refusals.
type Toy = number[][];
const toySpace: LutSpace<Toy> = {
  id: 'toy', variant: 'v', configs: ['a', 'b'],
  stages: () => [0, 1].map((s) => ({ minDepth: 1, maxDepth: 2, slots: [0, 1].map((j) => ({ stage: s, position: j, inputChannels: 8 * (s + 1), outputChannels: 8 * (s + 1), stride: 1, inputResolution: 8 >> s })) })),
  toChoices: (g) => ({ depths: g.map((b) => b.length), configs: g.map((b) => [...b]) }),
  fromChoices: (c) => c.configs.map((b) => [...b]),
  blockNet: (slot, config): LutNet => ({ descriptor: Int32Array.of(slot.stage, slot.position, config), inputChannels: slot.inputChannels, inputResolution: slot.inputResolution }),
  blockCost: (_slot, config) => ({ params: config + 1, flops: 10 * (config + 1) }),
  fixedNets: () => [{ name: 'head', descriptor: Int32Array.of(-1), inputChannels: 3, inputResolution: 8 }, { name: 'tail', descriptor: Int32Array.of(-2), inputChannels: 16, inputResolution: 4 }],
  net: (g) => ({ descriptor: Int32Array.from(g.flat()), inputChannels: 3, inputResolution: 8 }),
};

/** A runtime whose time of a piece is a function of it: block (s, j, c) → 1 + s + j/10 + c/100 ms, +0.5 ms overhead per run. */
function fakeRuntime(ctx: LatencyContext = CPU1): LutRuntime & { calls: string[] } {
  const calls: string[] = [];
  return {
    context: { ...ctx }, calls,
    async measure(net) {
      const d = [...net.descriptor];
      calls.push(d.join(','));
      const ms = net.inputResolution === 1 ? 0.5 : d.length === 1 ? (d[0] === -1 ? 2 : 3) + 0.5 : 1 + d[0]! + d[1]! / 10 + d[2]! / 100 + 0.5;
      return { medianMs: ms, p90Ms: ms + 0.1, minMs: ms - 0.01 };
    },
    close() {},
  };
}

test('lut build: every piece once, overhead subtracted and counted once; resumable; other conditions refused', async (t) => {
  const o = { resolution: 8, numClasses: 10, warmup: 1, iterations: 3 };
  t.is(buildPieces(toySpace, o, 'subtracted').length, 1 + 2 + 2 * 2 * 2);
  const rt = fakeRuntime();
  const lut = await buildLut(toySpace, rt, o);
  t.true(lut.complete);
  t.is(rt.calls.length, 11);
  t.is(lut.meta.overheadMs, 0.5);
  const ix = indexLut(checkLut(lut));
  t.true(Math.abs(ix.t[1]![1]![1]! - 2.11) < 1e-12, 'entry = measured − overhead');
  t.true(Math.abs(estimateLatency(ix, { depths: [1, 2], configs: [[0], [1, 0]] }).ms - (0.5 + 5 + 1 + 2.01 + 2.1)) < 1e-12);
  // Resume: stopped after 4 pieces, the second build measures only the other 7.
  const dir = tmp();
  const file = path.join(dir, 'lut.json');
  const stop = new AbortController();
  let seen = 0;
  const partial = await buildLut(toySpace, fakeRuntime(), { ...o, file, signal: stop.signal, onProgress: () => { if (++seen === 4) stop.abort(); } });
  t.false(partial.complete);
  t.false(readLut(file).complete);
  const rt2 = fakeRuntime();
  const progress: number[] = [];
  const resumed = await buildLut(toySpace, rt2, { ...o, file, onProgress: (p) => progress.push(p.resumed) });
  t.is(rt2.calls.length, 7);
  t.is(progress[0], 4);
  t.true(resumed.complete);
  t.deepEqual(indexLut(readLut(file)).t, ix.t, 'resumed table = uninterrupted table');
  // Another batch size, runtime or iteration count: refused, naming it; --overwrite starts afresh.
  const other = fakeRuntime({ ...CPU1, batchSize: 64 });
  const e = await t.throwsAsync(buildLut(toySpace, other, { ...o, file }));
  t.regex(e!.message, /holds a table built under other conditions .*batchSize 1 vs 64/);
  t.regex((await t.throwsAsync(buildLut(toySpace, fakeRuntime(), { ...o, iterations: 9, file })))!.message, /iterations 3, this build has 9/);
  const fresh = fakeRuntime({ ...CPU1, batchSize: 64 });
  t.true((await buildLut(toySpace, fresh, { ...o, file, overwrite: true })).complete);
  t.is(fresh.calls.length, 11);
  t.is(readLut(file).meta.batchSize, 64);
});

test('ridge correction: recovers a linear law exactly, shrinks with λ, cross-validates λ on the given rows only', (t) => {
  const rng = new Sfc32(5);
  const X = Array.from({ length: 40 }, () => [rng.next() * 10, rng.next() * 3, rng.next()]);
  const y = X.map(([a, b, c]) => 2 + 1.5 * a! - 0.5 * b! + 3 * c!);
  const m = fitRidge(X, y, 1e-9);
  for (const [i, x] of X.entries()) t.true(Math.abs(predictLatency(m, x) - y[i]!) < 1e-6, `row ${i}`);
  t.true(Math.abs(predictLatency(m, [1, 1, 1]) - 6) < 1e-6, 'and off the training rows');
  // A larger λ pulls the prediction towards the mean.
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const big = fitRidge(X, y, 1e6);
  t.true(Math.abs(predictLatency(big, X[0]!) - mean) < Math.abs(predictLatency(m, X[0]!) - mean));
  const cv = fitRidgeCv(X, y);
  t.is(cv.lambda, 1e-4, 'noise-free data: the smallest λ of the grid');
  t.true(cv.cvError < 1e-8);
  t.regex(t.throws(() => fitRidge([], [], 1))!.message, /need as many targets as feature rows/);
  // The block encoding: the estimate, then per stage Σ entries, depth, #SE, #5×5, Σ expansion.
  const lut = checkLut(handTable(CPU1, { configs: ['e3k3', 'e4k5se', 'e6k3se'] }));
  const ix = indexLut(lut);
  const c = { depths: [2, 3], configs: [[2, 1], [0, 2, 1]] };
  const f = blockFeatures(ix, c);
  t.is(f.length, 1 + 2 * 5);
  t.true(Math.abs(f[0]! - estimateLatency(ix, c).ms) < 1e-12);
  t.deepEqual(f.slice(2, 6), [2, 2, 1, 10]); // stage 0: depth 2, SE 2, 5×5 1, expansion 6 + 4
  t.deepEqual(f.slice(7, 11), [3, 2, 1, 13]); // stage 1: e3k3 + e6k3se + e4k5se
});
