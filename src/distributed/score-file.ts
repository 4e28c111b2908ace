/**
 * `zennas score --queue`: the Zen-score, or any proxy of the table, of many structures (a file,
 * one per line) on the workers of a queue. Each line is one job — the engine call `zennas score
 * [--proxy NAME]` makes for it (proxyCall: the proxy's lowering and the options it takes), so a
 * worker returns the local number bit for bit — keyed by a hash of the file, the proxy and the
 * options plus the line number: rerunning the same command after a crash re-attaches to the jobs
 * not yet printed. Results come back in line order.
 */
import * as crypto from 'crypto';
import { ZennasError } from '../errors';
import { parseStructure } from '../grammar/parse';
import { summarizeScores } from '../util/stats';
import { PROXY_NAMES, ProxyName, proxySpec } from '../proxies/table';
import { ProxyScoreOptions, checkOptionsApply, proxyCall, proxyOptions } from '../proxies/score';
import { openQueueClient, QueueClient, QueueStats } from './coordinator';
import { RedisTarget } from './connection';

/**
 * What each line is scored with: `proxy` (default 'zen', the Zen-score) and the options of
 * `scoreProxies` (engine options, numClasses, se). Data images and labels do not travel.
 */
export interface FileScoreOptions extends Omit<ProxyScoreOptions, 'data' | 'labels' | 'signal'> {
  proxy?: ProxyName;
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
  const { proxy = 'zen', ...po } = o;
  if (!proxySpec(proxy)) throw new ZennasError('E_OPTION', `unknown proxy '${String(proxy)}'; the table has: ${PROXY_NAMES.join(', ')}`);
  for (const k of ['data', 'labels'] as const) if ((o as Record<string, unknown>)[k] !== undefined) throw new ZennasError('E_OPTION', `${k} cannot be sent to the workers (jobs carry no arrays): score with data locally`);
  const lines = text.split(/\r?\n/).map((s, i) => ({ line: i + 1, text: s.trim() })).filter((l) => l.text !== '' && !l.text.startsWith('#'));
  // The options each job carries (those the proxy takes), as scoreProxies passes them to the engine.
  checkOptionsApply([proxy], po);
  const opts = proxyOptions(proxy, po);
  const runId = 's' + crypto.createHash('sha256').update(JSON.stringify({ proxy, opts, numClasses: po.numClasses ?? null, se: !!po.se, text })).digest('hex').slice(0, 16);
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
      const call = proxyCall(parseStructure(s), proxy, po);
      const res = await client.submit(line, proxy, call.descriptor, call.options);
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
