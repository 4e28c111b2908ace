/**
 * `zennas worker`: a BullMQ Worker that pulls scoring jobs from Redis and runs each through the
 * local Engine exactly as the search would in-process (engine.zenScore for 'zen', engine.run for
 * the table's other proxies), returning the mean and the engine's seconds.
 *
 * Failure policy (what the coordinator then sees):
 * - a payload that is malformed, oversized or names an unknown proxy, and an engine error the
 *   candidate causes (E_OPTION, E_DESCRIPTOR, E_STRUCTURE, E_OUT_OF_MEMORY, …) fail the job once
 *   (UnrecoverableError: no retry) with `[E_CODE] message`; the worker keeps serving;
 * - an error that means this worker is broken (E_NATIVE, E_BACKEND, E_INTERNAL, E_CANCELLED, or
 *   not a ZennasError) fails the attempt: the job is retried (another worker may take it);
 * - a worker that dies stops renewing its job locks: after `lockDuration` the job is stalled and
 *   another worker retries it (BullMQ's stalled-job check, every `stalledInterval`).
 */
import * as os from 'os';
import * as crypto from 'crypto';
import { Job, UnrecoverableError, Worker } from 'bullmq';
import { isZennasError, ZennasError } from '../errors';
import { openEngine, SearchEngine } from '../search/engine-scorer';
import { parseRedisUrl, RedisTarget } from './connection';
import { checkQueueName, DEFAULT_QUEUE } from './names';
import { encodeNumber, failureText, isChunk, JobResult, PAYLOAD_VERSION, readChunk, readPayload, standInScore, PayloadError, WORKER_FAULTS } from './payload';
import { connectChecked, removeWorker, WorkerInfo, writeHeartbeat } from './registry';


/** The engine calls a worker makes (src/engine/engine's Engine; a fake in tests). */
export type WorkerEngine = Pick<SearchEngine, 'zenScore' | 'run' | 'close'>;

/** Settings of a worker. */
export interface WorkerOptions {
  /** redis://[:password@]host:port[/db] or rediss://… (or a parsed target). */
  redis: string | RedisTarget;
  /** Queue name (default 'zennas'). */
  queue?: string;
  /** Engine backend of the Zen-score (other proxies always run on a CPU engine). Default 'cpu'. */
  backend?: 'cpu' | 'cuda';
  /** Engine threads (default: all cores). */
  threads?: number;
  /** Jobs run at once (they share the engine's threads). Default 1. */
  concurrency?: number;
  /**
   * Test mode: answer every valid job at once with standInScore(payload) (no engine), after
   * `delayMs` (default 0). Used to measure the coordinator alone and to stage faults.
   */
  standIn?: { delayMs?: number };
  /** Job lock (ms): a worker silent this long loses its job to another (BullMQ default 30000). */
  lockDuration?: number;
  /** Period of the stalled-job check (ms; BullMQ default 30000). */
  stalledInterval?: number;
  /** Stalls a job survives before it fails (default 2: a worker killed twice on it). */
  maxStalledCount?: number;
  /** Seconds between registry heartbeats (default 2; the entry expires after 3 missed ones). */
  heartbeatSeconds?: number;
  /** An engine to use instead of opening one (tests). Closed by close(). */
  engine?: WorkerEngine;
  /** Log lines (failed jobs, stalls, connection errors). */
  onLog?: (line: string) => void;
}

/** A running worker. */
export interface WorkerHandle {
  /** Registry id: host-pid-random. */
  readonly id: string;
  /** Jobs completed / failed by this worker so far. */
  readonly counts: { done: number; failed: number; running: number };
  /**
   * Stop: `force` false (default) finishes the jobs it is running first; true hands them back
   * at once (their locks lapse and another worker retries them).
   */
  close(force?: boolean): Promise<void>;
}

/** Start a worker; resolves once it is connected and taking jobs. */
export async function startWorker(o: WorkerOptions): Promise<WorkerHandle> {
  const target = typeof o.redis === 'string' ? parseRedisUrl(o.redis, '--redis', process.env.ZENNAS_REDIS_PASSWORD) : o.redis;
  const queue = checkQueueName(o.queue ?? DEFAULT_QUEUE);
  const concurrency = o.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) throw new ZennasError('E_OPTION', `--concurrency must be an integer in 1..1024, got ${concurrency}`);
  const backend = o.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'cuda') throw new ZennasError('E_OPTION', `--backend must be 'cpu' or 'cuda', got '${String(backend)}'`);
  const standIn = o.standIn;
  const delayMs = standIn?.delayMs ?? 0;
  if (!(Number.isFinite(delayMs) && delayMs >= 0)) throw new ZennasError('E_OPTION', `--stand-in-delay must be a number of ms ≥ 0, got ${delayMs}`);
  const log = o.onLog ?? (() => {});
  const id = `${os.hostname()}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;

  // Redis first: a wrong password or host is one clear error before any engine or BullMQ connection opens.
  const registry = await connectChecked(target.connection, `zennas-registry-${id}`, target.display, 30_000);
  registry.on('error', () => {}); // the worker's own 'error' handler reports connection trouble once

  // Engines: the backend's for the Zen-score; the other proxies run on the CPU engine (opened when first needed).
  let engine: WorkerEngine | undefined;
  try {
    engine = o.engine ?? (standIn ? undefined : openEngine(backend, o.threads));
  } catch (e) {
    registry.disconnect();
    throw e;
  }
  let cpuEngine: WorkerEngine | undefined = backend === 'cpu' || o.engine ? engine : undefined;
  const engineFor = (proxy: string): WorkerEngine => {
    if (proxy === 'zen') return engine!;
    cpuEngine ??= openEngine('cpu', o.threads);
    return cpuEngine;
  };
  const threads = (engine as { threads?: number } | undefined)?.threads ?? o.threads ?? os.cpus().length;
  const counts = { done: 0, failed: 0, running: 0 };

  /** One call: its result, or throws UnrecoverableError (the candidate's fault) / Error (this worker's: retry). */
  const call = async (data: unknown, sized = false): Promise<JobResult> => {
    let p;
    try {
      p = readPayload(data, { sized });
    } catch (e) {
      const z = e as PayloadError;
      throw new UnrecoverableError(failureText(z.code, z.message));
    }
    if (standIn) {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return { v: PAYLOAD_VERSION, mean: encodeNumber(standInScore(data)), seconds: 0, worker: id };
    }
    let r: { mean: number; seconds: number; scores?: number[] };
    try {
      const eng = engineFor(p.proxy);
      r = p.proxy === 'zen' ? await eng.zenScore(p.descriptor, p.options as never) : await eng.run!(p.proxy, p.descriptor, p.options);
    } catch (e) {
      const code = isZennasError(e) ? e.code : 'E_INTERNAL';
      const text = failureText(code, (e as Error)?.message ?? String(e));
      if (WORKER_FAULTS.has(code)) throw new Error(text);
      throw new UnrecoverableError(text);
    }
    return { v: PAYLOAD_VERSION, mean: encodeNumber(r.mean), seconds: r.seconds, ...(Array.isArray(r.scores) ? { scores: r.scores.map(encodeNumber) } : {}), worker: id };
  };
  const process_ = async (job: Job): Promise<JobResult | { v: number; results: (JobResult | { error: string })[]; worker: string }> => {
    counts.running++;
    try {
      if (!isChunk(job.data)) return await call(job.data);
      let calls: unknown[];
      try {
        calls = readChunk(job.data);
      } catch (e) {
        const z = e as PayloadError;
        throw new UnrecoverableError(failureText(z.code, z.message));
      }
      // The calls run concurrently on the engine (its threads); a candidate's error stays its own,
      // a worker fault fails the attempt (the whole job is retried).
      const results = await Promise.all(calls.map((c) => call(c, true).catch((e: Error) => {
        if (e instanceof UnrecoverableError) return { error: e.message };
        throw e;
      })));
      return { v: PAYLOAD_VERSION, results, worker: id };
    } finally {
      counts.running--;
    }
  };

  const worker = new Worker(queue, process_, {
    connection: { ...target.connection, connectionName: `zennas-worker-${id}` },
    concurrency,
    autorun: false,
    lockDuration: o.lockDuration ?? 30_000,
    stalledInterval: o.stalledInterval ?? 30_000,
    maxStalledCount: o.maxStalledCount ?? 2,
    name: id,
  });
  worker.on('completed', () => { counts.done++; });
  worker.on('failed', (job, err) => {
    counts.failed++;
    log(`job ${job?.id ?? '?'} failed: ${err?.message ?? err}`);
  });
  worker.on('stalled', (jobId) => log(`job ${jobId} stalled (its worker stopped renewing the lock): retried`));
  let lastError = '';
  worker.on('error', (e) => {
    const m = (e as Error)?.message ?? String(e);
    if (m !== lastError) log(`redis ${target.display}: ${m}`);
    lastError = m;
  });

  const hb = o.heartbeatSeconds ?? 2;
  const startedAt = Date.now();
  const info = (): WorkerInfo => ({
    id, host: os.hostname(), pid: process.pid, backend: standIn ? 'none' : backend, threads: standIn ? 0 : threads, concurrency,
    mode: standIn ? 'stand-in' : 'engine', jobsDone: counts.done, jobsFailed: counts.failed, running: counts.running, startedAt, lastSeen: Date.now(),
  });
  const beat = () => writeHeartbeat(registry, queue, info(), 3 * hb + 1).catch(() => {});
  const timer = setInterval(beat, hb * 1000);
  timer.unref();

  try {
    await worker.waitUntilReady();
    await beat();
  } catch (e) {
    clearInterval(timer);
    registry.disconnect();
    await worker.close(true).catch(() => {});
    engine?.close();
    throw new ZennasError('E_BACKEND', `cannot reach Redis at ${target.display}: ${(e as Error).message}`);
  }
  void worker.run().catch((e) => log(`worker stopped: ${(e as Error).message}`));

  let closing: Promise<void> | undefined;
  return {
    id,
    counts,
    close(force = false) {
      closing ??= (async () => {
        clearInterval(timer);
        await worker.close(force).catch(() => {});
        // Redis may be gone: never hang the exit on it.
        await Promise.race([removeWorker(registry, queue, id).catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
        registry.disconnect();
        if (cpuEngine && cpuEngine !== engine) cpuEngine.close();
        engine?.close();
        engine = undefined;
      })();
      return closing;
    },
  };
}
