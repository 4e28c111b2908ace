/**
 * `zennas score --queue`: the Zen-score of many structures (a file, one per line) on the workers
 * of a queue. Each line is one job (the engine.zenScore call `zennas score` makes for it), keyed by
 * a hash of the file and the options plus the line number: rerunning the same command after a
 * crash re-attaches to the jobs not yet printed. Results come back in line order.
 */
import * as crypto from 'crypto';
import { parseStructure } from '../grammar/parse';
import { lowerForScoring } from '../model/lower';
import { encodeDescriptor } from '../ops/descriptor';
import { summarizeScores } from '../util/stats';
import { openQueueClient, QueueClient, QueueStats } from './coordinator';
import { RedisTarget } from './connection';

/** The Zen-score options of `zennas score` (engine.zenScore's). */
export interface FileScoreOptions {
  batchSize: number;
  resolution: number;
  repeats: number;
  seed: number;
  mode: 'paper' | 'official';
  alpha: number;
  bnEps: number;
  se: boolean;
}

/** One line's result: its scores, or why it has none. */
export interface LineScore {
  /** 1-based line number in the file. */
  line: number;
  structure: string;
  mean: number | null;
  std?: number;
  ci95?: number;
  scores?: number[];
  seconds?: number;
  error?: string;
}

/** Score every non-empty, non-# line of `text` on the queue; `onResult` gets them in line order. */
export async function scoreLinesOnQueue(
  text: string, o: FileScoreOptions,
  q: { redis: string | RedisTarget; queue?: string; inFlight?: number; jobSize?: number; onStats?: (s: QueueStats) => void },
  onResult: (r: LineScore) => void,
): Promise<{ scored: number; failed: number }> {
  const lines = text.split(/\r?\n/).map((s, i) => ({ line: i + 1, text: s.trim() })).filter((l) => l.text !== '' && !l.text.startsWith('#'));
  const opts = { batchSize: o.batchSize, resolution: o.resolution, repeats: o.repeats, seed: o.seed, mode: o.mode, alpha: o.alpha, bnEps: o.bnEps };
  const runId = 's' + crypto.createHash('sha256').update(JSON.stringify({ opts, se: o.se, text })).digest('hex').slice(0, 16);
  let next = 0; // next index to hand to onResult
  // A job is removed once its line is printed (earlier ones stay for a rerun to re-attach to).
  const client: QueueClient = await openQueueClient({ redis: q.redis, queue: q.queue, runId, jobSize: q.jobSize, coveredIteration: () => (next > 0 ? lines[next - 1]!.line : 0) });
  const inFlight = q.inFlight ?? 1024;
  const results = new Map<number, LineScore>();
  let scored = 0;
  let failed = 0;
  const emit = () => {
    while (next < lines.length && results.has(next)) {
      const r = results.get(next)!;
      results.delete(next);
      if (r.error !== undefined) failed++; else scored++;
      onResult(r);
      next++;
    }
  };
  const one = async (k: number): Promise<void> => {
    const { line, text: s } = lines[k]!;
    let r: LineScore;
    try {
      const d = encodeDescriptor(lowerForScoring(parseStructure(s), { se: o.se }));
      const res = await client.submit(line, 'zen', d, opts);
      const st = res.scores && res.scores.length ? summarizeScores(res.scores) : undefined;
      r = { line, structure: s, mean: Number.isFinite(res.mean) ? res.mean : null, ...(st ? { std: st.std, ci95: st.ci95 } : {}), ...(res.scores ? { scores: res.scores } : {}), seconds: res.seconds };
    } catch (e) {
      if (client.broken) throw client.broken;
      r = { line, structure: s, mean: null, error: (e as Error)?.message ?? String(e) };
    }
    results.set(k, r);
    emit();
  };
  let timer: NodeJS.Timeout | undefined;
  if (q.onStats) {
    timer = setInterval(() => { client.stats().then(q.onStats!, () => {}); }, 2000);
    timer.unref();
  }
  try {
    // At most `inFlight` lines in flight: a million-line file does not become a million promises.
    let started = 0;
    const lane = async () => { while (started < lines.length) await one(started++); };
    await Promise.all(Array.from({ length: Math.min(inFlight, lines.length) }, lane));
  } finally {
    if (timer) clearInterval(timer);
    await client.close();
  }
  return { scored, failed };
}
