import test from 'ava';
import { assertCompatible, incompatibilities, interleaveOptions, measureInterleaved, parseProtocol, passOrder, protocolName } from '../src/lut';
import { ZennasError } from '../src/errors';
import type { LatencyContext } from '../src/lut/types';

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
