/**
 * How engine calls share the process: they run on the addon's own request threads (libuv's pool
 * stays free for fs, dns, zlib), can be cancelled with an AbortSignal, and engine.close() stops
 * what is in flight.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Engine } from '../src/engine/engine';
import { encodeDescriptor } from '../src/ops/descriptor';
import { lowerForScoring } from '../src/model/lower';
import { parseStructure } from '../src/grammar/parse';

const d = encodeDescriptor(lowerForScoring(parseStructure('SuperConvK3BNRELU(3,32,1,1)SuperResK3K3(32,64,1,32,2)SuperResK3K3(64,64,1,64,2)')));
const slow = { batchSize: 32, resolution: 32, repeats: 40 };

test.serial('8 calls in flight leave the libuv pool free: a small readFile completes long before any call ends', async (t) => {
  const engine = new Engine({ threads: 2 });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-libuv-')), 'f.txt');
  fs.writeFileSync(file, 'x');
  const ac = new AbortController();
  try {
    // 8 long calls (more than libuv's 4 workers): on libuv's pool the reads would wait for one to end.
    let ended = false;
    const calls = Array.from({ length: 8 }, (_, i) => engine.zenScore(d, { ...slow, repeats: 1000, seed: i, signal: ac.signal }).then(() => { ended = true; }, (e: { code?: string }) => e.code));
    await new Promise((r) => setTimeout(r, 100));  // all started
    await fs.promises.readFile(file);
    await fs.promises.readFile(file);
    t.false(ended, 'a read waited for an engine call to finish');
    ac.abort();
    const codes = await Promise.all(calls);
    t.deepEqual(codes, Array(8).fill('E_CANCELLED'));
  } finally {
    engine.close();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

test.serial('an AbortSignal cancels a long call (E_CANCELLED) and the engine stays usable', async (t) => {
  const engine = new Engine({ threads: 2 });
  try {
    const one = (await engine.zenScore(d, { ...slow, repeats: 2 })).seconds / 2;
    const ac = new AbortController();
    const p = engine.zenScore(d, { ...slow, signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    const t0 = performance.now();
    const e = await t.throwsAsync(p);
    t.is((e as { code?: string }).code, 'E_CANCELLED');
    const s = (performance.now() - t0) / 1000;
    t.true(s < 0.2 + 3 * one + 0.5, `stopped ${s.toFixed(2)} s after the call began (a repeat takes ${one.toFixed(2)} s, all 40 would take ${(40 * one).toFixed(1)} s)`);
    const again = await engine.zenScore(d, { batchSize: 4, resolution: 16 });
    t.true(Number.isFinite(again.mean));
    // an already-fired signal rejects at once; a signal that never fires changes nothing
    await t.throwsAsync(engine.run('gradients', d, { batchSize: 2, resolution: 8, signal: AbortSignal.abort() }), { code: 'E_CANCELLED' } as never);
    const kept = await engine.zenScore(d, { batchSize: 4, resolution: 16, signal: new AbortController().signal });
    t.is(kept.mean, again.mean);
    await t.throwsAsync(engine.zenScore(d, { signal: 'yes' as never }), { code: 'E_OPTION' } as never);
  } finally {
    engine.close();
  }
});

test.serial('engine.close() stops calls in flight (E_CANCELLED), later calls say the engine is closed', async (t) => {
  const engine = new Engine({ threads: 2 });
  const p = engine.zenScore(d, slow);
  await new Promise((r) => setTimeout(r, 150));
  engine.close();
  const e = await t.throwsAsync(p);
  t.is((e as { code?: string }).code, 'E_CANCELLED');
  await t.throwsAsync(engine.zenScore(d), { code: 'E_BACKEND' } as never);
});

test("official mode bounds the replay of earlier repeats (firstRepeat + repeats ≤ 100000)", async (t) => {
  const engine = new Engine({ threads: 1 });
  try {
    await t.throwsAsync(engine.zenScore(d, { mode: 'official', firstRepeat: 4e9 }), { code: 'E_OPTION', message: /replayed/ } as never);
  } finally {
    engine.close();
  }
});
