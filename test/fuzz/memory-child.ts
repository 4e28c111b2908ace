/**
 * Child process of test/fuzz-engine-memory.test.ts: the process-wide plan budget is fixed when the
 * addon loads (ZENNAS_MEMORY_LIMIT), so each scenario runs in its own process. Prints one JSON line.
 */
import { Engine } from '../../src/engine/engine';
import { loadNative } from '../../src/engine/native';
import { desc, CONV, BN, RELU, GAP, LINEAR } from '../helpers/slot-ops';

type Memory = { limitBytes: number; usedBytes: number; peakBytes: number; waiting: number; plans: number };
const memory = (reset = false): Memory => (loadNative() as unknown as { _memory(reset?: boolean): Memory })._memory(reset);

/** conv 3→32 k3, BN, ReLU, twice: a plan of ~1.6 MiB at batch 8, 32×32 (activations dominate). */
export const NET = desc([[CONV, 0, 1, 0, 3, 32, 3, 1], [BN, 1, 1, 0, 32, 32, 0, 0], [RELU, 1, 1, 0, 32, 32, 0, 0], [CONV, 1, 2, 0, 32, 32, 3, 1], [BN, 2, 2, 0, 32, 32, 0, 0], [RELU, 2, 2, 0, 32, 32, 0, 0]], { output: 2 });
/** …then GAP and two LINEARs (64→2048→2048): 16.56 MiB of weights, 2.22 MiB of activations at batch 4, 32×32. */
export const WIDE = desc([[CONV, 0, 1, 0, 3, 64, 3, 1], [BN, 1, 1, 0, 64, 64, 0, 0], [RELU, 1, 1, 0, 64, 64, 0, 0], [GAP, 1, 2, 0, 64, 64, 0, 0], [LINEAR, 2, 3, 0, 64, 2048, 0, 0], [LINEAR, 3, 4, 0, 2048, 2048, 0, 0]], { output: 4 });
const OPTS = { batchSize: 8, resolution: 32, seed: 5 };

const outcome = (p: Promise<{ mean: number }>) => p.then((r) => ({ ok: true, mean: r.mean }), (e: { code?: string; message?: string }) => ({ ok: false, code: e.code, message: e.message }));

async function main(job: string): Promise<unknown> {
  switch (job) {
    case 'size': { // one plan alone: its bytes
      const e = new Engine({ threads: 1 });
      const r = await e.zenScore(NET, { ...OPTS, repeats: 2 });
      const m = memory();
      e.close();
      return { bytes: m.usedBytes, mean: r.mean, limit: m.limitBytes };
    }
    case 'concurrent': { // 6 calls in flight on one engine and 2 on another, the budget fits 2 plans
      const a = new Engine({ threads: 1 }), b = new Engine({ threads: 1 });
      memory(true);
      let maxWaiting = 0;
      const poll = setInterval(() => { maxWaiting = Math.max(maxWaiting, memory().waiting); }, 2);
      const calls = [...Array.from({ length: 6 }, () => a.zenScore(NET, { ...OPTS, repeats: 6 })), ...Array.from({ length: 2 }, () => b.zenScore(NET, { ...OPTS, repeats: 6 }))];
      const results = await Promise.all(calls.map(outcome));
      clearInterval(poll);
      const m = memory();
      a.close();
      b.close();
      return { results, peak: m.peakBytes, limit: m.limitBytes, maxWaiting, after: memory() };
    }
    case 'refused': { // 'NET' or 'WIDE' over the limit
      const e = new Engine({ threads: 1 });
      const d = process.argv[3] === 'wide' ? WIDE : NET;
      const r = await outcome(e.zenScore(d, process.argv[3] === 'wide' ? { batchSize: 4, resolution: 32 } : OPTS));
      const m = memory();
      e.close();
      return { ...r, used: m.usedBytes, plans: m.plans };
    }
    case 'cancel': { // a call waiting for memory is cancelled by its AbortSignal; close() cancels the one running and one waiting
      const e = new Engine({ threads: 1 });
      const running = outcome(e.zenScore(NET, { ...OPTS, repeats: 100000 }));
      while (memory().plans < 1) await new Promise((r) => setTimeout(r, 2));
      const ac = new AbortController();
      const t0 = Date.now();
      const waiting = outcome(e.zenScore(NET, { ...OPTS, signal: ac.signal }));
      while (memory().waiting < 1 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 2));
      const sawWaiting = memory().waiting;
      ac.abort();
      const w = await waiting;
      const wMs = Date.now() - t0;
      const queued = outcome(e.zenScore(NET, OPTS)); // waits too, until close()
      while (memory().waiting < 1 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 2));
      const sawQueued = memory().waiting;
      e.close();
      const r = await running;
      return { sawWaiting, waiting: w, waitingMs: wMs, sawQueued, queued: await queued, running: r, after: memory() };
    }
    case 'latency-cancel': { // latency calls: one waiting for memory and one running are cancelled by their AbortSignals
      const e = new Engine({ threads: 1 });
      const running = outcome(e.zenScore(NET, { ...OPTS, repeats: 100000 }));
      while (memory().plans < 1) await new Promise((r) => setTimeout(r, 2));
      const ac = new AbortController();
      const t0 = Date.now();
      // Batch 16 in eval mode: as large as the Zen-score's plan (2 × 8 images), so it must wait.
      const lat = (p: Promise<{ medianMs: number }>) => p.then((r) => ({ ok: true, medianMs: r.medianMs }), (err: { code?: string; message?: string }) => ({ ok: false, code: err.code, message: err.message }));
      const waiting = lat(e.latency(NET, { batchSize: 16, resolution: 32, warmup: 0, iterations: 1, signal: ac.signal }));
      while (memory().waiting < 1 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 2));
      const sawWaiting = memory().waiting;
      ac.abort();
      const w = await waiting;
      const waitingMs = Date.now() - t0;
      e.close();
      await running;
      // A running measurement of 10⁵ timed forwards stops at its next forward.
      const f = new Engine({ threads: 1 });
      const ac2 = new AbortController();
      const t1 = Date.now();
      const long = lat(f.latency(NET, { batchSize: 8, resolution: 32, warmup: 0, iterations: 100000, signal: ac2.signal }));
      while (memory().plans < 1) await new Promise((r) => setTimeout(r, 2));
      ac2.abort();
      const l = await long;
      const longMs = Date.now() - t1;
      // The engine still measures after a cancelled call.
      const after = await lat(f.latency(NET, { batchSize: 8, resolution: 32, warmup: 0, iterations: 2 }));
      f.close();
      return { sawWaiting, waiting: w, waitingMs, long: l, longMs, after, memory: memory() };
    }
    case 'evict': { // an idle plan cached by one engine makes room for another engine's call
      const a = new Engine({ threads: 1 }), b = new Engine({ threads: 1 });
      const first = await outcome(a.zenScore(NET, OPTS));
      const held = memory().usedBytes;
      const second = await outcome(b.zenScore(NET, { ...OPTS, seed: 6 }));
      const m = memory();
      a.close();
      b.close();
      return { first, second, held, used: m.usedBytes, plans: m.plans };
    }
    case 'lanes': { // tenas_ntk on `threads` threads: one plan per lane while the budget has room for it
      const e = new Engine({ threads: Number(process.argv[3]) });
      memory(true);
      const r = await e.run('tenas_ntk', NET, { batchSize: 5, resolution: 16, seed: 3 });
      const m = memory();
      e.close();
      return { score: r.scores[0], lambdaMin: r.series.lambdaMin![0], peak: m.peakBytes, limit: m.limitBytes, after: memory() };
    }
    case 'zenlanes': { // Zen-scores on `threads` threads (paper and official mode, 32² and 72²) and the plans they left cached
      const e = new Engine({ threads: Number(process.argv[3]) });
      memory(true);
      const paper = await e.zenScore(NET, { ...OPTS, repeats: 3, firstRepeat: 1 });
      const plansPaper = memory().plans;
      const paperOnly = process.argv[4] === 'paper-only';
      const official = paperOnly ? { scores: [] } : await e.zenScore(NET, { ...OPTS, repeats: 2, mode: 'official' });
      const large = paperOnly ? { scores: [] } : await e.zenScore(NET, { ...OPTS, resolution: 72, repeats: 1 });
      const m = memory();
      e.close();
      return { paper: paper.scores, official: official.scores, large: large.scores, plansPaper, plans: m.plans, peak: m.peakBytes, limit: m.limitBytes };
    }
    case 'engine': { // a bad ZENNAS_MEMORY_LIMIT
      try {
        new Engine({ threads: 1 }).close();
        return { ok: true };
      } catch (e) {
        return { ok: false, code: (e as { code?: string }).code, message: (e as Error).message };
      }
    }
  }
  throw new Error(`unknown job ${job}`);
}

main(process.argv[2] ?? '').then((r) => { process.stdout.write(JSON.stringify(r) + '\n'); }, (e) => { process.stdout.write(JSON.stringify({ error: String(e) }) + '\n'); process.exitCode = 1; });
