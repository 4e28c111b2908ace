/**
 * Memory is bounded per process, not per call (native/cpu/cpu_backend.h): every CPU plan of every
 * engine holds its bytes against one budget (ZENNAS_MEMORY_LIMIT, default min(16 GiB, 75 % of
 * RAM)); calls in flight beyond it wait (first come, first served; idle cached plans are evicted
 * first; still cancellable), a plan larger than the budget is refused with E_OUT_OF_MEMORY saying
 * whether activations or weights dominate. The budget is read when the addon loads, so each
 * scenario runs in a child process (test/fuzz/memory-child.ts).
 */
import test from 'ava';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { Engine } from '../src/engine/engine';
import { desc, CONV, GAP, LINEAR } from './helpers/slot-ops';

const CHILD = path.join(__dirname, 'fuzz', 'memory-child.ts');
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function child(job: string, limit?: string | number, ...args: string[]): Json {
  const env = { ...process.env };
  delete env.ZENNAS_MEMORY_LIMIT;
  if (limit !== undefined) env.ZENNAS_MEMORY_LIMIT = String(limit);
  const r = spawnSync(process.execPath, ['--import=tsx', CHILD, job, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`child ${job} exited ${r.status} ${r.signal ?? ''}: ${r.stdout} ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

let planBytes = 0;
let soloMean = 0;
test.before(() => {
  const s = child('size');
  planBytes = s.bytes;
  soloMean = s.mean;
  if (!(planBytes > 1e6 && planBytes < 1e8)) throw new Error(`setup: plan of ${planBytes} bytes`);
});

test('8 calls in flight on two engines never hold more than the process budget (2.5 plans): they wait, all succeed, same scores', (t) => {
  const limit = Math.floor(planBytes * 2.5);
  const r = child('concurrent', limit);
  t.is(r.limit, limit);
  t.is(r.results.length, 8);
  for (const x of r.results) t.true(x.ok, JSON.stringify(x));
  t.is(new Set(r.results.map((x: Json) => x.mean)).size, 1, 'every call scores the same net and seed');
  t.true(r.peak <= limit, `peak ${r.peak} > limit ${limit}`);
  t.true(r.peak >= 2 * planBytes, 'two plans did run side by side');
  t.true(r.maxWaiting >= 1, 'calls beyond the budget waited');
  t.is(r.after.usedBytes, 0, 'close() gave every plan back');
  t.is(r.after.plans, 0);
});

test('tenas_ntk runs its per-image passes on one plan per thread when the budget has room (the bits of one thread), else on its one plan', (t) => {
  const one = child('lanes', undefined, '1'), two = child('lanes', undefined, '2'), three = child('lanes', undefined, '3');
  t.true(Number.isFinite(one.score) && one.score > 1, JSON.stringify(one));
  for (const r of [two, three]) {
    t.is(r.score, one.score, 'the lane a pass runs in changes nothing');
    t.is(r.lambdaMin, one.lambdaMin);
    t.is(r.after.usedBytes, 0);
  }
  t.true(two.peak >= 1.9 * one.peak, `two lanes: peak ${two.peak} vs one plan ${one.peak}`);
  t.true(three.peak >= 2.9 * one.peak, `three lanes: peak ${three.peak} vs one plan ${one.peak}`);
  // Room for one plan and a half: the call takes no second lane rather than wait for memory.
  const tight = child('lanes', Math.floor(one.peak * 1.5), '2');
  t.is(tight.score, one.score);
  t.true(tight.peak <= tight.limit && tight.peak < 1.1 * one.peak, `peak ${tight.peak}, limit ${tight.limit}`);
});

test('Zen-score on 2 threads: the two forwards on two plans of B images at once (paper mode), the bits of one plan of 2B; one plan when the budget has no room', (t) => {
  const one = child('zenlanes', undefined, '1'), two = child('zenlanes', undefined, '2');
  t.is(one.plansPaper, 1);
  t.is(two.plansPaper, 2, 'two lanes, two plans of B images');
  for (const k of ['paper', 'official', 'large']) t.deepEqual(two[k], one[k], k);
  t.is(two.plans, 5, 'official mode kept one plan of 2B images; 72² took two lanes');
  t.is(one.plans, 2, 'paper and official mode share the plan of 2B images');
  t.true(one.paper.every((v: number) => Number.isFinite(v)));
  // Room for one plan of B images (half the 2B plan's activations), not for two: lane 0 runs both forwards in turn.
  const tight = child('zenlanes', Math.floor(planBytes * 0.75), '2', 'paper-only');
  t.is(tight.plansPaper, 1);
  t.deepEqual(tight.paper, one.paper);
  t.true(tight.peak <= tight.limit);
});

test('a plan larger than the whole budget is refused at once: E_OUT_OF_MEMORY, activations dominate → lower batchSize or resolution', (t) => {
  const r = child('refused', Math.floor(planBytes / 2));
  t.false(r.ok);
  t.is(r.code, 'E_OUT_OF_MEMORY');
  t.regex(r.message, /^the plan needs 4\.\d\d MiB \(activations of 16 images \(2 forwards of 8 side by side\) at 32×32: 4\.\d\d MiB; weights: \d+\.\d KiB\), more than the memory limit of 2\.\d\d MiB \(set by ZENNAS_MEMORY_LIMIT\), shared by every plan of the process: the activations dominate: lower batchSize or resolution/);
  t.is(r.used, 0, 'nothing left reserved');
});

test('weights dominate: the advice is a smaller network, not batchSize (and says when no batchSize can fit)', (t) => {
  const fits = child('refused', '17M', 'wide'); // weights 16.56 MiB < 17 MiB < 18.78 MiB needed
  t.is(fits.code, 'E_OUT_OF_MEMORY');
  t.regex(fits.message, /weights: 16\.56 MiB\), more than the memory limit of 17\.00 MiB .*: the weights dominate \(batchSize and resolution barely change them\): use a smaller network/);
  t.notRegex(fits.message, /: lower batchSize/);
  const never = child('refused', '16M', 'wide');
  t.regex(never.message, /the weights dominate and alone exceed the limit, so no batchSize or resolution fits: the network is too large/);
  t.notRegex(never.message, /lower batchSize/);
});

test('weights dominate in-process too (default budget): two 65536² LINEARs need 32 GiB whatever the batch', async (t) => {
  const d = desc([[CONV, 0, 1, 0, 3, 65536, 1, 1], [GAP, 1, 2, 0, 65536, 65536, 0, 0], [LINEAR, 2, 3, 0, 65536, 65536, 0, 0], [LINEAR, 3, 4, 0, 65536, 65536, 0, 0]], { output: 4 });
  const e = new Engine({ threads: 1 });
  try {
    for (const run of [() => e.zenScore(d, { batchSize: 1, resolution: 1 }), () => e.run('gradients', d, { batchSize: 1, resolution: 1 })]) {
      const err = await t.throwsAsync(run());
      t.is((err as { code?: string }).code, 'E_OUT_OF_MEMORY');
      t.regex(err!.message, /weights( and their gradients)?: (32|96)\.\d\d GiB\).*the weights dominate and alone exceed the limit/);
      t.notRegex(err!.message, /lower batchSize/);
    }
  } finally {
    e.close();
  }
});

test('a call waiting for memory is cancelled by its AbortSignal (E_CANCELLED at once); close() cancels the running one and those waiting', (t) => {
  const r = child('cancel', Math.floor(planBytes * 1.5));
  t.is(r.sawWaiting, 1, 'the second call waited');
  t.is(r.waiting.code, 'E_CANCELLED');
  t.regex(r.waiting.message, /cancelled while it waited for memory \(the process's plans held 4\.\d\d MiB of the 6\.\d\d MiB budget, this plan needs 4\.\d\d MiB\)/);
  t.true(r.waitingMs < 3000, `${r.waitingMs} ms`);
  t.is(r.running.code, 'E_CANCELLED');
  t.is(r.sawQueued, 1, 'a third call waited');
  t.is(r.queued.code, 'E_CANCELLED', 'close() cancels a call waiting for memory too');
  t.is(r.after.usedBytes, 0);
  t.is(r.after.waiting, 0);
});

test('latency calls are cancellable too: one waiting for memory and one running stop with E_CANCELLED (issue #20 item 4)', (t) => {
  const r = child('latency-cancel', Math.floor(planBytes * 1.5));
  t.is(r.sawWaiting, 1, 'the latency call waited for memory');
  t.like(r.waiting, { ok: false, code: 'E_CANCELLED' });
  t.regex(r.waiting.message, /cancelled while it waited for memory/);
  t.like(r.long, { ok: false, code: 'E_CANCELLED' });
  t.regex(r.long.message, /^the latency measurement was cancelled/);
  t.true(r.longMs < 30_000, `10⁵ forwards take minutes; cancelled after ${r.longMs} ms`);
  t.true(r.after.ok && r.after.medianMs > 0, JSON.stringify(r.after));
  t.is(r.memory.usedBytes, 0);
  t.is(r.memory.waiting, 0);
});

test("another engine's idle cached plan is evicted to make room (no wait, no deadlock)", (t) => {
  const r = child('evict', Math.floor(planBytes * 1.5));
  t.true(r.first.ok && r.second.ok, JSON.stringify(r));
  t.is(r.held, planBytes, "the first engine's plan stayed cached (held against the budget)");
  t.is(r.plans, 1, 'it was evicted for the second');
  t.not(r.first.mean, r.second.mean);
});

test('ZENNAS_MEMORY_LIMIT that is not a size is E_OPTION when the engine is made; a suffix is powers of 1024', (t) => {
  for (const bad of ['-3G', '1x', 'lots', '0']) {
    const r = child('engine', bad);
    t.false(r.ok, bad);
    t.is(r.code, 'E_OPTION');
    t.regex(r.message, /^ZENNAS_MEMORY_LIMIT must be a size in bytes/);
  }
  t.true(child('engine', '2GiB').ok);
  t.is(child('size', '1.5g').limit, 1.5 * 2 ** 30);
  t.is(soloMean > 0, true);
});
