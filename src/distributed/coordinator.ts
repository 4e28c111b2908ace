/**
 * The coordinator side: an Evaluator (src/search/evaluator.ts) that scores each candidate as a
 * BullMQ job instead of in this process.
 *
 * How it stays identical to a local search: the evaluator wraps the very scorer a local search
 * uses (configScorer of src/search/proxy-scorer.ts) around a stand-in engine whose zenScore/run
 * turn each call into a job (proxy, descriptor, options), so a worker makes the same engine call
 * with the same arguments and the loop applies the results in iteration order, as it always does.
 *
 * Job ids are deterministic: `<run id>-<iteration>-<payload hash>`, the run id a hash of the
 * search config. A coordinator that was killed and resumes proposes the same candidates again, so
 * its jobs have the same ids: BullMQ keeps the existing job (queued, running or done) instead of
 * adding a second one, and the coordinator re-attaches to its result.
 *
 * Results arrive as QueueEvents 'completed' / 'failed' events; a poll of the jobs that have waited
 * long (events can be lost across a Redis restart or when the event stream is trimmed) catches the
 * rest, and re-adds a job that Redis lost. Redis unreachable for longer than `redisTimeoutSeconds`
 * stops the search (the checkpoint stays; `--resume` continues).
 */
import * as crypto from 'crypto';
import { AsyncLocalStorage } from 'async_hooks';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { ZennasError } from '../errors';
import { Candidate, Evaluation, Evaluator, scorerEvaluator } from '../search/evaluator';
import { configScorer } from '../search/proxy-scorer';
import type { SearchEngine } from '../search/engine-scorer';
import type { SearchConfig } from '../search/types';
import { parseRedisUrl, RedisTarget } from './connection';
import { checkQueueName, DEFAULT_QUEUE } from './names';
import { ChunkPayload, encodePayload, JobPayload, MAX_CHUNK_CALLS, MAX_PAYLOAD_BYTES, PAYLOAD_VERSION, parseFailure, payloadBytes, payloadHash, readResult, WORKER_FAULTS } from './payload';
import { connectChecked, listWorkers } from './registry';

/** Settings of a queue evaluator. */
export interface QueueEvaluatorOptions {
  /** redis://… or rediss://… (or a parsed target). */
  redis: string | RedisTarget;
  /** Queue name (default 'zennas'); workers must serve the same one. */
  queue?: string;
  /** Prefix of the job ids (default: a hash of the config, so a resumed run finds its jobs). */
  runId?: string;
  /**
   * Iterations whose results the run no longer needs (a checkpoint covers them): their jobs are
   * removed from Redis. Absent: nothing can resume, so a job is removed as soon as its result is read.
   */
  coveredIteration?: () => number;
  /**
   * Candidates per job (default 1). Larger jobs cut the queue's per-job cost (a few Redis scripts
   * per job): worth it when a worker scores a candidate in a few ms; keep jobs ≥ 2 × the workers'
   * slots per batch (inFlight / jobSize ≥ 2 × slots) so that no worker idles.
   */
  jobSize?: number;
  /** Attempts per job when a worker breaks on it (default 3); a candidate's own error is never retried. */
  attempts?: number;
  /** A job pending this long is looked up directly (a missed event); default 5 s. */
  pollSeconds?: number;
  /** Redis unreachable this long stops the search (default 120 s). */
  redisTimeoutSeconds?: number;
}

/** Queue state for the progress line. */
export interface QueueStats {
  /** Live workers (registry heartbeats) and their jobs at once (Σ concurrency). */
  workers: number;
  slots: number;
  /** Jobs waiting in the queue (every run on it). */
  queued: number;
  /** Jobs running on workers. */
  running: number;
  /** Results this evaluator has received (re-attached ones included). */
  done: number;
  /** Candidates this evaluator is waiting for. */
  pending: number;
  /** Results per second over the last ~10 s. */
  candidatesPerSecond: number;
}

/** An Evaluator backed by a BullMQ queue. */
export interface QueueEvaluator<G = unknown> extends Evaluator<G> {
  /** The job-id prefix of this run. */
  readonly runId: string;
  /** Redis URL without the password. */
  readonly display: string;
  stats(): Promise<QueueStats>;
  /** Stop waiting (pending evaluations reject), close the queue connections. */
  close(): Promise<void>;
}

/** JSON with object keys sorted, so that equal configs hash equally whatever their key order. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

/** The default run id: 'z' + 16 hex digits of SHA-256 of the canonical config. */
export function configRunId(config: SearchConfig): string {
  return 'z' + crypto.createHash('sha256').update(`zennas-queue-v1\n${canonical(config)}`).digest('hex').slice(0, 16);
}

/** The job id of one engine call of a run. */
export function jobId(runId: string, iteration: number, p: JobPayload): string {
  return `${runId}-${iteration}-${payloadHash(p)}`;
}

/** One engine call waiting for its result. */
interface Call {
  key: number;
  payload: JobPayload;
  resolve: (r: QueueCallResult) => void;
  reject: (e: Error) => void;
}

/** One job waiting: a single call, or (jobSize > 1) several consecutive calls in one job. */
interface Pending {
  id: string;
  /** The largest key of its calls (pruning: a job goes once a checkpoint covers all of them). */
  iteration: number;
  payload: JobPayload | ChunkPayload;
  calls: Call[];
  since: number;
}

const RUN_ID = /^[A-Za-z0-9_.]{1,64}$/;

/** What a queue client's call resolves to: the engine call's mean and seconds (and its per-repeat scores). */
export interface QueueCallResult {
  mean: number;
  seconds: number;
  scores?: number[];
}

/** Engine calls on the workers of a queue, each a job keyed by (run id, key). */
export interface QueueClient {
  readonly runId: string;
  readonly display: string;
  /** One engine call as a job; `key` (an iteration, a line number) makes the job id with the run id. */
  submit(key: number, proxy: string, descriptor: Int32Array, options: Record<string, unknown>): Promise<QueueCallResult>;
  /** Set when the queue broke (Redis lost): every pending call rejected with it. */
  readonly broken: ZennasError | undefined;
  stats(): Promise<QueueStats>;
  close(): Promise<void>;
}

/**
 * A client of a queue: engine calls become jobs with deterministic ids, results come back by
 * event (or by a poll of long-pending jobs). Resolves once the connections are ready.
 */
export async function openQueueClient(o: QueueEvaluatorOptions & { runId: string }): Promise<QueueClient> {
  const target = typeof o.redis === 'string' ? parseRedisUrl(o.redis, '--queue', process.env.ZENNAS_REDIS_PASSWORD) : o.redis;
  const name = checkQueueName(o.queue ?? DEFAULT_QUEUE, '--queue-name');
  const runId = o.runId;
  if (!RUN_ID.test(runId)) throw new ZennasError('E_OPTION', `runId must be 1–64 letters, digits, '_' or '.', got ${JSON.stringify(runId)}`);
  const attempts = o.attempts ?? 3;
  const pollMs = (o.pollSeconds ?? 5) * 1000;
  const timeoutMs = (o.redisTimeoutSeconds ?? 120) * 1000;
  const keep = o.coveredIteration !== undefined;
  const connection = { ...target.connection };

  const redis: Redis = await connectChecked(connection, `zennas-stats-${runId}`, target.display, Math.min(timeoutMs, 30_000));
  redis.on('error', () => {});
  const queue = new Queue(name, {
    connection: { ...connection, connectionName: `zennas-coordinator-${runId}` },
    streams: { events: { maxLen: 100_000 } },
    defaultJobOptions: {
      attempts, backoff: { type: 'fixed', delay: 1000 },
      // Kept until a checkpoint covers them (a resumed coordinator re-attaches); else dropped at once.
      removeOnComplete: keep ? false : true, removeOnFail: keep ? false : true,
    },
  });
  queue.setMaxListeners(0);
  // Read events from the stream's present end, fixed now: an event of a job added before the
  // listener's first read is not missed (a QueueEvents starting at '$' could miss it).
  const tail = await redis.xrevrange(`bull:${name}:events`, '+', '-', 'COUNT', 1).catch(() => []);
  const lastEventId = tail[0]?.[0] ?? '0-0';
  const events = new QueueEvents(name, { connection: { ...connection, connectionName: `zennas-events-${runId}` }, lastEventId });
  queue.on('error', () => {}); // reported through the watchdog
  events.on('error', () => {});

  const pending = new Map<string, Pending>();
  const consumed: { iteration: number; id: string }[] = [];
  let done = 0;
  const recent: number[] = []; // completion times (ms) for the rate
  let broken: ZennasError | undefined;
  let closed = false;

  const fail = (e: ZennasError) => {
    if (broken) return;
    broken = e;
    for (const p of pending.values()) for (const c of p.calls) c.reject(e);
    pending.clear();
  };
  const failure = (reason: string): Error => {
    const f = parseFailure(reason ?? 'failed without a reason');
    // The engine's own error, rebuilt: the search logs the message a local run logs (and stops on E_NATIVE/E_BACKEND/E_INTERNAL).
    return f.code ? new ZennasError(f.code, f.message) : new Error(`the job failed on the workers: ${f.message}`);
  };

  const settle = (id: string, f: (p: Pending) => void) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    done++;
    recent.push(Date.now());
    if (recent.length > 4096) recent.splice(0, recent.length - 4096);
    consumed.push({ iteration: p.iteration, id });
    f(p);
    prune();
  };
  // A worker always returns a result object, so a completed job whose return value reads as null
  // lost it (seen after Redis restarted from its append-only file mid-run): score it again, a few
  // times at most, instead of recording a failed candidate.
  const lostResults = new Map<string, number>();
  const completed = (id: string, returnvalue: unknown) => {
    const p = pending.get(id);
    if (p && (returnvalue === null || returnvalue === undefined)) {
      const n = (lostResults.get(id) ?? 0) + 1;
      lostResults.set(id, n);
      if (n <= 3) {
        void queue.remove(id).catch(() => 0).then(() => queue.add('score', p.payload, { jobId: id })).catch(() => {});
        return;
      }
    }
    lostResults.delete(id);
    settleCompleted(id, returnvalue);
  };
  const settleCompleted = (id: string, returnvalue: unknown) => settle(id, (p) => {
    if (p.calls.length === 1 && !('calls' in p.payload)) {
      try {
        p.calls[0]!.resolve(readResult(returnvalue));
      } catch (e) {
        p.calls[0]!.reject(e as Error);
      }
      return;
    }
    const rs = (returnvalue as { results?: unknown[] } | null)?.results;
    p.calls.forEach((c, k) => {
      const r = Array.isArray(rs) ? rs[k] : undefined;
      if (r && typeof r === 'object' && typeof (r as { error?: unknown }).error === 'string') return c.reject(failure((r as { error: string }).error));
      try {
        c.resolve(readResult(r));
      } catch (e) {
        c.reject(e as Error);
      }
    });
  });
  const failed = (id: string, reason: string) => settle(id, (p) => {
    const e = failure(reason);
    for (const c of p.calls) c.reject(e);
  });

  events.on('completed', ({ jobId: id, returnvalue }) => completed(id, returnvalue));
  // BullMQ emits 'failed' on the final failure only (a retried attempt goes back to 'waiting' / 'delayed').
  events.on('failed', ({ jobId: id, failedReason }) => failed(id, failedReason));
  // A job id that already existed (a resumed run): it may be finished already.
  events.on('duplicated', ({ jobId: id }) => {
    const p = pending.get(id);
    if (p) void lookUp([p], true);
  });

  /**
   * Read jobs' states directly: finished ones settle, missing ones are added again. `reattach`: a
   * job of an earlier session — one that failed because its workers broke (not because of its
   * candidate) is retried now rather than failing this session too.
   */
  const lookUp = async (ps: Pending[], reattach = false) => {
    for (const p of ps) {
      if (!pending.has(p.id)) continue;
      let job: Job | undefined;
      try {
        job = await queue.getJob(p.id);
      } catch {
        return; // Redis trouble: the watchdog decides
      }
      if (!pending.has(p.id)) continue;
      if (!job) {
        // Redis lost it (a restart before its write reached the append-only file) or it was pruned: add it again.
        queue.add('score', p.payload, { jobId: p.id }).catch(() => {});
        continue;
      }
      const state = await job.getState().catch(() => 'unknown');
      if (state === 'completed') completed(p.id, job.returnvalue);
      else if (state === 'failed') {
        const code = parseFailure(job.failedReason ?? '').code;
        if (reattach && (code === undefined || WORKER_FAULTS.has(code))) await job.retry('failed').catch(() => {});
        else failed(p.id, job.failedReason);
      }
    }
  };

  // One add per job (ioredis pipelines concurrent commands): unlike addBulk, an add whose id
  // exists already emits 'duplicated', which is how a resumed run learns a job is done.
  const add = (p: Pending) => {
    queue.add('score', p.payload, { jobId: p.id }).catch((e: Error) => {
      fail(new ZennasError('E_BACKEND', `cannot add jobs to queue '${name}' at ${target.display}: ${e.message}`));
    });
  };

  let pruning: Promise<void> | undefined;
  const prune = () => {
    if (pruning || consumed.length === 0) return;
    const covered = keep ? o.coveredIteration!() : Infinity;
    if (!keep) {
      consumed.length = 0; // removeOnComplete / removeOnFail removed them already
      return;
    }
    const drop = consumed.filter((c) => c.iteration <= covered);
    if (drop.length === 0) return;
    const left = consumed.filter((c) => c.iteration > covered);
    consumed.length = 0;
    consumed.push(...left);
    pruning = (async () => {
      // Pipelined: ioredis sends them together.
      await Promise.all(drop.map((c) => queue.remove(c.id).catch(() => 0)));
      pruning = undefined;
    })();
  };

  /**
   * Jobs of this run that a checkpoint covers but nobody will read again — those a killed
   * session had read and not yet removed: found by their ids (`<run id>-<iteration>-…`,
   * `<run id>-<first>x<n>-…`) and removed.
   */
  const sweep = async () => {
    if (!keep) return;
    const covered = o.coveredIteration!();
    if (!(covered > 0)) return;
    const prefix = `bull:${name}:${runId}-`;
    const ids = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const id = k.slice(`bull:${name}:`.length).split(':')[0]!;
        const m = /^[A-Za-z0-9_.]+-(\d+)(?:x(\d+))?-[0-9a-f]+$/.exec(id);
        if (m && Number(m[1]) + (m[2] ? Number(m[2]) - 1 : 0) <= covered) ids.add(id);
      }
    } while (cursor !== '0');
    await Promise.all([...ids].map((id) => queue.remove(id).catch(() => 0)));
  };

  // Watchdog: Redis answering, missed events.
  let lastOk = Date.now();
  const watchdog = setInterval(() => {
    if (closed || broken) return;
    redis.ping().then(() => { lastOk = Date.now(); }, () => {});
    if (Date.now() - lastOk > timeoutMs) {
      fail(new ZennasError('E_BACKEND', `lost Redis at ${target.display} for over ${Math.round(timeoutMs / 1000)} s; the checkpoint is kept: start Redis again and rerun with --resume (jobs already done are not scored again)`));
      return;
    }
    const old = [...pending.values()].filter((p) => Date.now() - p.since > pollMs);
    if (old.length) {
      for (const p of old) p.since = Date.now();
      void lookUp(old);
    }
  }, Math.min(1000, pollMs));
  watchdog.unref();

  const ready = Promise.all([queue.waitUntilReady(), events.waitUntilReady(), redis.ping()]);
  ready.catch(() => {}); // a late rejection after the race is decided is not unhandled
  try {
    await Promise.race([
      ready,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no answer within ${Math.round(Math.min(timeoutMs, 30000) / 1000)} s`)), Math.min(timeoutMs, 30000)).unref()),
    ]);
  } catch (e) {
    clearInterval(watchdog);
    await Promise.race([Promise.allSettled([queue.close(), events.close()]), new Promise((r) => setTimeout(r, 1000).unref())]);
    queue.disconnect().catch(() => {});
    events.disconnect().catch(() => {});
    redis.disconnect();
    throw new ZennasError('E_BACKEND', `cannot reach Redis at ${target.display}: ${(e as Error).message}`);
  }

  const enqueue = (p: Pending) => {
    const before = pending.get(p.id);
    if (before) for (const c of before.calls) c.reject(new ZennasError('E_INTERNAL', `job ${p.id} submitted twice`));
    pending.set(p.id, p);
    add(p);
  };
  // jobSize > 1: the calls of one tick (a loop batch is submitted in one tick) are cut into jobs of
  // jobSize consecutive calls, so the same batch gives the same jobs again after a resume.
  const jobSize = o.jobSize ?? 1;
  if (!Number.isInteger(jobSize) || jobSize < 1 || jobSize > MAX_CHUNK_CALLS) throw new ZennasError('E_OPTION', `jobSize must be an integer in 1..${MAX_CHUNK_CALLS}, got ${jobSize}`);
  let tick: Call[] = [];
  const flush = () => {
    const calls = tick;
    tick = [];
    for (let i = 0; i < calls.length; i += jobSize) {
      const part = calls.slice(i, i + jobSize);
      const payload: ChunkPayload = { v: PAYLOAD_VERSION, calls: part.map((c) => c.payload) };
      const json = JSON.stringify(payload);
      const bytes = Buffer.byteLength(json, 'utf8');
      if (bytes > MAX_PAYLOAD_BYTES) {
        for (const c of part) c.reject(new ZennasError('E_OPTION', `the job of keys ${part[0]!.key}..${part[part.length - 1]!.key} is ${bytes} bytes, over the workers' limit of ${MAX_PAYLOAD_BYTES}; use a smaller jobSize`));
        continue;
      }
      enqueue({ id: `${runId}-${part[0]!.key}x${part.length}-${payloadHash(json)}`, iteration: Math.max(...part.map((c) => c.key)), payload, calls: part, since: Date.now() });
    }
  };
  const submit = (iteration: number, proxy: string, d: Int32Array, options: Record<string, unknown>): Promise<QueueCallResult> => {
    if (broken) return Promise.reject(broken);
    if (closed) return Promise.reject(new ZennasError('E_CANCELLED', 'the queue evaluator is closed'));
    const payload = encodePayload(proxy, d, options);
    // jobSize > 1: the whole job's size is checked when the tick is cut into jobs.
    const bytes = jobSize === 1 ? payloadBytes(payload) : 0;
    if (bytes > MAX_PAYLOAD_BYTES) return Promise.reject(new ZennasError('E_OPTION', `the job of iteration ${iteration} is ${bytes} bytes, over the workers' limit of ${MAX_PAYLOAD_BYTES}`));
    return new Promise((resolve, reject) => {
      const call: Call = { key: iteration, payload, resolve, reject };
      if (jobSize === 1) {
        enqueue({ id: jobId(runId, iteration, payload), iteration, payload, calls: [call], since: Date.now() });
        return;
      }
      if (tick.length === 0) setImmediate(flush);
      tick.push(call);
    });
  };
  // In the background: a resumed run's first jobs come after its checkpoint, none of those is touched.
  // (A multi-call job counts as covering first..first+n−1: one whose calls skip iterations may go early and be scored again, never wrongly.)
  void sweep().catch(() => {});
  return {
    runId,
    display: target.display,
    submit,
    get broken() { return broken; },
    async stats(): Promise<QueueStats> {
      const [counts, workers] = await Promise.all([
        queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active'),
        listWorkers(redis, name),
      ]);
      const now = Date.now();
      const window = recent.filter((t) => now - t <= 10_000);
      const span = window.length > 1 ? Math.max(1, now - window[0]!) : 10_000;
      return {
        workers: workers.length, slots: workers.reduce((s, w) => s + w.concurrency, 0),
        queued: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0), running: counts.active ?? 0,
        done, pending: pending.size, candidatesPerSecond: (1000 * window.length) / span,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(watchdog);
      // The run's last checkpoint is written by now: drop the jobs it covers (bounded wait: Redis may be gone).
      if (!broken) {
        await Promise.race([(async () => { await pruning; prune(); await pruning; })().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
      }
      for (const p of pending.values()) for (const c of p.calls) c.reject(new ZennasError('E_CANCELLED', 'the queue evaluator was closed'));
      pending.clear();
      const quit = Promise.allSettled([queue.close(), events.close(), redis.quit()]);
      // Redis gone: do not hang the exit on a connection that will never answer.
      await Promise.race([quit, new Promise((r) => setTimeout(r, 2000).unref())]);
      queue.disconnect().catch(() => {});
      events.disconnect().catch(() => {});
      redis.disconnect();
    },
  };
}

/**
 * An Evaluator that sends each candidate of `config` to the workers of a queue. Works for every
 * engine-scored proxy (zen and the table's); 'flops' / 'params' / 'random' need no engine and are
 * counted here, as locally. Resolves once the queue's connections are ready.
 */
export async function queueEvaluator<G = unknown>(config: SearchConfig, o: QueueEvaluatorOptions): Promise<QueueEvaluator<G>> {
  const client = await openQueueClient({ ...o, runId: o.runId ?? configRunId(config) });
  // The engine the local scorer calls: each call becomes a job of the candidate being evaluated.
  const current = new AsyncLocalStorage<number>();
  const call = (proxy: string, d: Int32Array, opts: Record<string, unknown>) => {
    const iteration = current.getStore();
    if (iteration === undefined) return Promise.reject(new ZennasError('E_INTERNAL', 'a queue engine call outside evaluate()'));
    return client.submit(iteration, proxy, d, opts);
  };
  const engine: SearchEngine = {
    zenScore: (d, opts) => call('zen', d, opts as unknown as Record<string, unknown>),
    run: (proxy, d, opts) => call(proxy, d, opts),
    close: () => {},
  };
  const inner = scorerEvaluator(configScorer(config, engine));
  return {
    runId: client.runId,
    display: client.display,
    async evaluate(c: Candidate<G>): Promise<Evaluation> {
      if (client.broken) throw client.broken;
      const r = await current.run(c.iteration, () => inner.evaluate(c as Candidate<never>));
      if (client.broken) throw client.broken; // the queue broke: stop the search rather than record −∞
      return r;
    },
    stats: () => client.stats(),
    close: () => client.close(),
  };
}
