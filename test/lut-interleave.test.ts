/**
 * The interleaved multi-pass protocol (issue #15): the visiting orders, the statistics over all
 * passes, groups; a LUT build under it (block entries timed in groups, every pass visiting every
 * entry of its group, the table written after each group and resumed from it, the meta's run
 * counts); and, where onnxruntime-node loads, a tiny interleaved build on it.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  InterleaveOptions, Lut, LutNet, LutRuntime, LutSpace, assertCompatible, buildLut, buildPieces, entryKey, getLutSpace, incompatibilities,
  interleaveOptions, measureInterleaved, openLutRuntime, parseProtocol, passOrder, protocolName, readLut,
} from '../src/lut';
import { ZennasError } from '../src/errors';
import { onnxRuntimeStatus } from '../src/latency';
import type { LatencyContext } from '../src/lut/types';
import { zennas } from './helpers/cli';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-lut-il-'));

/** A fake runner: net i's runs return times[i][k] in turn, and every call is logged. */
function fake(times: number[][]) {
  const log: string[] = [];
  let open = 0, maxOpen = 0;
  const prepare = async (i: number) => {
    open++; maxOpen = Math.max(maxOpen, open); log.push(`prep ${i}`);
    let k = 0;
    return { run: async () => { log.push(`run ${i}`); return times[i]![k++ % times[i]!.length]!; }, release: () => { open--; log.push(`rel ${i}`); } };
  };
  return { log, prepare, maxOpen: () => maxOpen, open: () => open };
}

test('each pass visits every net of the group once, in its seeded shuffled order, runsPerPass timed runs after passWarmup', async (t) => {
  const f = fake([[1], [2], [3], [4]]);
  await measureInterleaved([0, 1, 2, 3], f.prepare, { passes: 3, runsPerPass: 2, passWarmup: 1, seed: 7 });
  const runs = f.log.filter((l) => l.startsWith('run')).map((l) => Number(l.slice(4)));
  t.is(runs.length, 3 * 4 * 3);
  const want = [0, 1, 2].flatMap((p) => passOrder(4, 7, p).flatMap((i) => [i, i, i]));
  t.deepEqual(runs, want);
  t.deepEqual(f.log.slice(0, 4), ['prep 0', 'prep 1', 'prep 2', 'prep 3'], 'all sessions of the group created before any run');
  t.is(f.open(), 0, 'all released');
  const orders = [0, 1, 2].map((p) => passOrder(4, 7, p).join());
  t.true(new Set(orders).size > 1, 'the order changes between passes');
  t.deepEqual(passOrder(4, 7, 1), passOrder(4, 7, 1), 'seeded');
  t.deepEqual([...passOrder(10, 3, 0)].sort((a, b) => a - b), [...Array(10).keys()], 'a permutation');
});

test('the statistic is the median (and p90, min) over all passes\' timed runs; warm-up runs are not counted', async (t) => {
  // net 0: warm-up reads 100, then 5, 1, 3, 2 in turn (cycled): passes 2 × runs 2 with passWarmup 0.
  const f = fake([[5, 1, 3, 2], [10, 10, 10, 40]]);
  const r = await measureInterleaved([0, 1], f.prepare, { passes: 2, runsPerPass: 2, passWarmup: 0 });
  t.is(r[0]!.medianMs, 2.5);
  t.is(r[0]!.minMs, 1);
  t.is(r[1]!.medianMs, 10);
  t.true(Math.abs(r[1]!.p90Ms - 31) < 1e-12); // numpy linear: 10 + (40 − 10)·0.7
  const g = fake([[100, 4, 4, 4, 4]]);
  const w = await measureInterleaved([0], g.prepare, { passes: 2, runsPerPass: 2, passWarmup: 0 });
  t.is(w[0]!.medianMs, 4, 'sanity: index 0 first');
  const h = fake([[100, 4, 4, 100, 4, 4]]);
  const x = await measureInterleaved([0], h.prepare, { passes: 2, runsPerPass: 2, passWarmup: 1 });
  t.is(x[0]!.medianMs, 4, 'the 100 ms runs are the per-visit warm-ups');
});

test('groups bound the sessions held at once; results stay in input order', async (t) => {
  const f = fake(Array.from({ length: 7 }, (_, i) => [i + 1]));
  const r = await measureInterleaved([0, 1, 2, 3, 4, 5, 6], f.prepare, { passes: 2, runsPerPass: 1, groupSize: 3 });
  t.is(f.maxOpen(), 3);
  t.deepEqual(r.map((x) => x.medianMs), [1, 2, 3, 4, 5, 6, 7]);
  t.is(f.open(), 0);
});

test('options are checked (unknown keys, ranges) and a failing run releases every session', async (t) => {
  t.deepEqual(interleaveOptions(), { passes: 5, runsPerPass: 10, passWarmup: 1, groupSize: 50, seed: 0 });
  const e = t.throws(() => interleaveOptions({ pases: 3 } as never), { instanceOf: ZennasError });
  t.is(e!.code, 'E_OPTION');
  t.regex(e!.message, /pases/);
  t.regex(t.throws(() => interleaveOptions({ passes: 0 }))!.message, /passes must be an integer in \[1, 10000\], got 0/);
  const f = fake([[1], [Number.NaN]]);
  const err = await t.throwsAsync(measureInterleaved([0, 1], f.prepare, { passes: 1, runsPerPass: 1, passWarmup: 0 }), { instanceOf: ZennasError });
  t.regex(err!.message, /a run returned NaN ms/);
  t.is(f.open(), 0);
});

test('the protocol is part of a latency context: sequential and interleaved numbers are not compared', (t) => {
  const base: LatencyContext = { unit: 'ms', batchSize: 1, precision: 'fp32', runtime: 'onnxruntime', runtimeVersion: 'x', hardware: 'h', threads: 1, clock: 'wall' };
  const il = { ...base, protocol: protocolName(interleaveOptions({ passes: 3, runsPerPass: 4 })) };
  t.is(il.protocol, 'interleaved 3x4+1');
  t.deepEqual(incompatibilities(base, { ...base, protocol: 'sequential' }), [], 'absent = sequential (tables from before the field)');
  t.deepEqual(incompatibilities(base, il), ['protocol "sequential" vs "interleaved 3x4+1"']);
  t.throws(() => assertCompatible(base, il, 'x'), { message: /protocol "sequential" vs "interleaved 3x4\+1"/ });
  t.deepEqual(parseProtocol(il.protocol), { passes: 3, runsPerPass: 4, passWarmup: 1 });
  t.is(parseProtocol(undefined), null);
  t.throws(() => parseProtocol('bogus'), { message: /unknown latency protocol 'bogus'/ });
});

test('measureInterleaved from group g on: the orders of one call over the whole list (what a build timing group by group relies on)', async (t) => {
  // Times that depend on when a net is run (a drifting machine): equal results mean equal visiting orders.
  const drifting = () => {
    let clock = 0;
    return { prepare: async (i: number) => ({ run: async () => i + 0.001 * clock++, release: () => {} }) };
  };
  const o = { passes: 3, runsPerPass: 2, passWarmup: 1, groupSize: 3, seed: 11 };
  const nets = [0, 1, 2, 3, 4, 5, 6];
  const a = drifting();
  const one = (await measureInterleaved(nets, a.prepare, o)).map((r) => r.medianMs);
  const b = drifting();
  const byGroup: number[] = [];
  for (let g = 0; g * 3 < nets.length; g++) byGroup.push(...(await measureInterleaved(nets.slice(g * 3, g * 3 + 3), b.prepare, o, g)).map((r) => r.medianMs));
  t.deepEqual(byGroup, one);
  // Group 1 visited with group 0's orders gives other numbers: the offset matters.
  const c = drifting();
  await measureInterleaved([0, 1, 2], c.prepare, o, 0);
  const wrong = (await measureInterleaved([3, 4, 5], c.prepare, o, 0)).map((r) => r.medianMs);
  t.notDeepEqual(wrong, one.slice(3, 6));
  await t.throwsAsync(measureInterleaved(nets, a.prepare, o, -1), { message: /firstGroup must be an integer/ });
});

// ---- A LUT build under the interleaved protocol, on a made-up space and a fake runtime.
type Toy = number[][];
/** 2 stages × 2 positions × 3 configurations = 12 block entries; fixed pieces head and tail. */
const toySpace: LutSpace<Toy> = {
  id: 'toy', variant: 'v', configs: ['a', 'b', 'c'],
  stages: () => [0, 1].map((s) => ({ minDepth: 1, maxDepth: 2, slots: [0, 1].map((j) => ({ stage: s, position: j, inputChannels: 8, outputChannels: 8, stride: 1, inputResolution: 8 })) })),
  toChoices: (g) => ({ depths: g.map((b) => b.length), configs: g.map((b) => [...b]) }),
  fromChoices: (c) => c.configs.map((b) => [...b]),
  blockNet: (slot, config): LutNet => ({ descriptor: Int32Array.of(slot.stage, slot.position, config), inputChannels: 8, inputResolution: 8 }),
  blockCost: (_slot, config) => ({ params: config + 1, flops: 10 * (config + 1) }),
  fixedNets: () => [{ name: 'head', descriptor: Int32Array.of(-1), inputChannels: 3, inputResolution: 8 }, { name: 'tail', descriptor: Int32Array.of(-2), inputChannels: 8, inputResolution: 4 }],
  net: (g) => ({ descriptor: Int32Array.from(g.flat()), inputChannels: 3, inputResolution: 8 }),
};
const CTX: LatencyContext = { unit: 'ms', batchSize: 1, precision: 'fp32', runtime: 'onnxruntime', runtimeVersion: 'onnxruntime-node 1.30.0', hardware: 'fake', threads: 1, clock: 'wall' };
const keyOf = (net: LutNet) => (net.inputResolution === 1 ? 'overhead' : [...net.descriptor].join(','));

/**
 * A runtime under the interleaved protocol whose sessions are fakes: a net's run takes
 * base + 0.001 ms × (runs so far in this call), so its numbers depend on the visiting order.
 * Every prepare, run and measureMany call is logged; `failAtGroup` throws at that block group.
 */
function interleavedFake(il: InterleaveOptions, failAtGroup?: number) {
  const o = interleaveOptions(il);
  const log: string[] = [];
  const calls: Array<{ nets: string[]; firstGroup: number }> = [];
  const base = (k: string) => {
    if (k === 'overhead') return 0.5;
    const d = k.split(',').map(Number);
    return d.length === 1 ? 2.5 - d[0]! : 1.5 + d[0]! + d[1]! / 10 + d[2]! / 100;
  };
  const many = async (nets: readonly LutNet[], firstGroup = 0) => {
    const keys = nets.map(keyOf);
    calls.push({ nets: keys, firstGroup });
    if (failAtGroup !== undefined && nets.length > 1 && firstGroup === failAtGroup) throw new ZennasError('E_BACKEND', 'the fake machine fell over');
    let clock = 0;
    const prepare = async (k: string) => {
      log.push(`prep ${k}`);
      return { run: async () => { log.push(`run ${k}`); return base(k) + 0.001 * clock++; }, release: () => {} };
    };
    return measureInterleaved(keys, prepare, o, firstGroup);
  };
  const rt: LutRuntime = { context: { ...CTX, protocol: protocolName(o) }, interleave: o, measure: async (net) => (await many([net]))[0]!, measureMany: many, close() {} };
  return { rt, log, calls };
}

const IL = { passes: 3, runsPerPass: 2, passWarmup: 1, groupSize: 5, seed: 9 };
const BUILD = { resolution: 8, numClasses: 10, warmup: 4, iterations: 77 };
const blockKeys = () => buildPieces(toySpace, BUILD, 'subtracted').flatMap((p) => (p.kind === 'block' ? [`${p.stage},${p.position},${p.config}`] : []));

test('interleaved lut build: block entries in groups of G, each pass visiting every entry of its group in its seeded order; meta counts passes × runs', async (t) => {
  const f = interleavedFake(IL);
  const progress: Array<{ done: number; name: string; ms?: number }> = [];
  const lut = await buildLut(toySpace, f.rt, { ...BUILD, onProgress: (p) => progress.push({ done: p.done, name: p.piece.name, ...(p.ms !== undefined ? { ms: p.ms } : {}) }) });
  t.true(lut.complete);
  const blocks = blockKeys();
  t.is(blocks.length, 12);
  // Overhead and the fixed pieces one by one, then the 12 block entries in groups of 5, 5, 2 (their index passed on).
  t.deepEqual(f.calls, [
    { nets: ['overhead'], firstGroup: 0 }, { nets: ['-1'], firstGroup: 0 }, { nets: ['-2'], firstGroup: 0 },
    { nets: blocks.slice(0, 5), firstGroup: 0 }, { nets: blocks.slice(5, 10), firstGroup: 1 }, { nets: blocks.slice(10), firstGroup: 2 },
  ]);
  // The run log of the blocks: per group, every session prepared, then per pass p every entry visited once in
  // passOrder(n, seed, g × passes + p) order, 1 warm-up + 2 timed runs per visit.
  const want: string[] = [];
  for (let g = 0; g < 3; g++) {
    const group = blocks.slice(g * 5, g * 5 + 5);
    want.push(...group.map((k) => `prep ${k}`));
    for (let p = 0; p < 3; p++) {
      const order = passOrder(group.length, 9, g * 3 + p);
      t.deepEqual([...order].sort((a, b) => a - b), [...group.keys()], `group ${g} pass ${p} visits every entry once`);
      for (const i of order) want.push(...Array.from({ length: 3 }, () => `run ${group[i]}`));
    }
  }
  const blockLog = f.log.filter((l) => /\d,\d,\d$/.test(l));
  t.deepEqual(blockLog, want);
  // Values: entry (s, j, c) = its median − overhead; the median is that of its 6 timed runs in that order.
  const e0 = lut.entries.find((e) => e.stage === 0 && e.position === 0 && e.config === 0)!;
  const visits = want.filter((l) => l.startsWith('run ')).map((l) => l.slice(4)).slice(0, 5 * 3 * 3); // group 0's runs in order
  const clocks = visits.flatMap((k, c) => (k === '0,0,0' && c % 3 !== 0 ? [c] : [])); // the timed ones (every visit's first run is its warm-up)
  t.is(clocks.length, 6);
  const runs = clocks.map((c) => 1.5 + 0.001 * c).sort((a, b) => a - b);
  t.true(Math.abs(e0.median! - ((runs[2]! + runs[3]!) / 2 - lut.meta.overheadMs)) < 1e-12, `${e0.median}`);
  // The overhead alone: 3 passes × (1 warm-up + 2 runs), clock 0..8, timed 1,2,4,5,7,8 → median 4.5.
  t.true(Math.abs(lut.meta.overheadMs - (0.5 + 0.0045)) < 1e-12);
  // Meta: what was timed, consistent with the protocol's name; -i (77) is not used and not recorded.
  t.is(lut.meta.protocol, 'interleaved 3x2+1');
  t.is(lut.meta.iterations, 6);
  t.is(lut.meta.warmup, 4);
  t.deepEqual(parseProtocol(lut.meta.protocol), { passes: 3, runsPerPass: 2, passWarmup: 1 });
  // Progress counts every piece once, in order, each with its number.
  t.deepEqual(progress.map((p) => p.done), [...Array(15).keys()].map((i) => i + 1));
  t.deepEqual(progress.map((p) => p.name), buildPieces(toySpace, BUILD, 'subtracted').map((p) => p.name));
  t.true(progress.every((p) => p.ms !== undefined && Number.isFinite(p.ms)));
});

test('interleaved lut build: written after each group; interrupted in the second group, resumed: the table of an uninterrupted build', async (t) => {
  const whole = await buildLut(toySpace, interleavedFake(IL).rt, BUILD);
  const dir = tmp();
  const file = path.join(dir, 'lut.json');
  // After each group the file holds it: checked when the group's entries are reported.
  const seenOnDisk: number[] = [];
  const probe = interleavedFake(IL);
  await buildLut(toySpace, probe.rt, { ...BUILD, file: path.join(dir, 'probe.json'), onProgress: (p) => { if (p.piece.kind === 'block') seenOnDisk.push(readLut(path.join(dir, 'probe.json')).entries.length); } });
  t.deepEqual(seenOnDisk, [5, 5, 5, 5, 5, 10, 10, 10, 10, 10, 12, 12]);
  // A machine that fails at block group 1: the file keeps the overhead, fixed part and group 0.
  const failing = interleavedFake(IL, 1);
  const e = await t.throwsAsync(buildLut(toySpace, failing.rt, { ...BUILD, file }), { instanceOf: ZennasError });
  t.regex(e!.message, /fell over/);
  const partial = readLut(file);
  t.false(partial.complete);
  t.deepEqual(partial.entries.map((x) => entryKey(x.stage, x.position, x.config)), blockKeys().slice(0, 5).map((k) => k.replace(/,/g, '/')));
  t.is(partial.fixed.length, 2);
  // Resumed (another -i: not part of an interleaved table): only groups 1 and 2 are measured, with their own orders.
  const again = interleavedFake(IL);
  const resumedCounts: number[] = [];
  const resumed = await buildLut(toySpace, again.rt, { ...BUILD, iterations: 3, file, onProgress: (p) => resumedCounts.push(p.resumed) });
  t.deepEqual(again.calls, [{ nets: blockKeys().slice(5, 10), firstGroup: 1 }, { nets: blockKeys().slice(10), firstGroup: 2 }]);
  t.is(resumedCounts[0], 1 + 2 + 5);
  t.true(resumed.complete);
  const strip = (l: Lut) => ({ ...l, meta: { ...l.meta, created: '' } });
  t.deepEqual(strip(readLut(file)), strip(whole), 'resumed table = uninterrupted table, number for number');
  // Another protocol is refused, naming it; another order seed or group size only chooses the order (not recorded).
  const other = interleavedFake({ ...IL, passes: 4 });
  t.regex((await t.throwsAsync(buildLut(toySpace, other.rt, { ...BUILD, file: path.join(dir, 'probe.json') })))!.message, /protocol "interleaved 3x2\+1" vs "interleaved 4x2\+1"/);
});

test('lut build refuses a runtime whose recorded protocol is not how it measures; a sequential runtime is timed piece by piece as before', async (t) => {
  const f = interleavedFake(IL);
  const liar: LutRuntime = { ...f.rt, context: { ...CTX } };
  t.regex((await t.throwsAsync(buildLut(toySpace, liar, BUILD)))!.message, /protocol 'sequential' does not match how it measures \(interleaved 3x2\+1\)/);
  const calls: string[] = [];
  const seq: LutRuntime = { context: { ...CTX }, measure: async (net) => { calls.push(keyOf(net)); return { medianMs: 1, p90Ms: 1, minMs: 1 }; }, close() {} };
  const lut = await buildLut(toySpace, seq, BUILD);
  t.deepEqual(calls, ['overhead', '-1', '-2', ...blockKeys()]);
  t.is(lut.meta.iterations, 77, 'sequential: the -i runs');
  t.is(lut.meta.protocol, undefined);
});

const ort = onnxRuntimeStatus();

test.serial('interleaved lut build on onnxruntime-node: 6 real hardcore blocks at 32×32, truthful meta, positive finite entries; lut info says so', async (t) => {
  if (!ort.available) { t.log(`skipped: ${ort.reason}`); t.pass(); return; }
  const hc = getLutSpace('hardcore', 'paper');
  // Stage 0's two first positions and the three lightest configurations of the hardcore space.
  const small: LutSpace<unknown> = {
    ...hc, configs: hc.configs.slice(0, 3),
    stages: (o) => hc.stages(o).slice(0, 1).map((s) => ({ minDepth: Math.min(s.minDepth, 2), maxDepth: 2, slots: s.slots.slice(0, 2) })),
  };
  const rt = await openLutRuntime({ runtime: 'onnxruntime', warmup: 1, interleave: { passes: 2, runsPerPass: 2, passWarmup: 1, groupSize: 4, seed: 3 } });
  const dir = tmp();
  const file = path.join(dir, 'lut.json');
  try {
    const lut = await buildLut(small, rt, { resolution: 32, numClasses: 10, warmup: 1, iterations: 50, overhead: 'kept', file });
    t.true(lut.complete);
    t.is(lut.entries.length, 6);
    t.like(lut.meta, { runtime: 'onnxruntime', protocol: 'interleaved 2x2+1', iterations: 4, warmup: 1, overhead: 'kept', resolution: 32 });
    t.is(lut.meta.protocol, protocolName(rt.interleave!));
    for (const e of [...lut.entries, ...lut.fixed]) {
      for (const v of [e.latency, e.median!, e.min!, e.p90]) t.true(Number.isFinite(v) && v > 0, `${JSON.stringify(e)}`);
      t.true(e.min! <= e.median! && e.median! <= e.p90);
    }
  } finally {
    rt.close();
  }
  const info = zennas('lut', 'info', file);
  t.is(info.code, 0, info.stderr);
  t.regex(info.stdout, /median of 4 runs \(interleaved 2x2\+1\) after 1 warm-up/);
});
