/**
 * Worker registry: each worker keeps a Redis hash (host, backend, threads, jobs done, last seen)
 * that expires unless its heartbeat refreshes it, so `zennas workers` and the coordinator's
 * progress line see live workers only. Job liveness itself is BullMQ's (job locks renewed while a
 * job runs; a lock that lapses makes the job stalled and another worker retries it): the registry
 * is for people, the locks are for correctness.
 */
import { Redis } from 'ioredis';
import { ZennasError } from '../errors';
import { RedisConnection } from './connection';
import { workerKey, workerPattern } from './names';

/** One worker as the registry shows it. */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  backend: string;
  threads: number;
  concurrency: number;
  /** 'engine' or 'stand-in' (the instant test mode). */
  mode: string;
  jobsDone: number;
  jobsFailed: number;
  /** Jobs it is running now. */
  running: number;
  startedAt: number;
  /** ms since the epoch of its last heartbeat. */
  lastSeen: number;
}

/** A Redis client for zennas' own keys (registry, stats), with the same connection options as BullMQ's. */
export function openRedis(connection: RedisConnection, name: string): Redis {
  return new Redis({ ...connection, connectionName: name, lazyConnect: false });
}

/**
 * Open a client and check that Redis answers (and takes the password) within `timeoutMs`; else
 * the client is closed and the error is an E_BACKEND naming the URL and Redis' own reason
 * (WRONGPASS, ECONNREFUSED, …). BullMQ's connections are opened only after this succeeded: one
 * that never becomes ready cannot be closed cleanly.
 */
export async function connectChecked(connection: RedisConnection, name: string, display: string, timeoutMs: number): Promise<Redis> {
  const redis = openRedis(connection, name);
  let lastError = '';
  let refusedSince = 0;
  // A wrong password or host name will not heal: give up at once; a refused connection after 2 s
  // (a Redis that is restarting); silence (a firewall) after timeoutMs.
  let giveUp: (e: Error) => void = () => {};
  const early = new Promise<never>((_, rej) => { giveUp = rej; });
  early.catch(() => {}); // later connection errors (after success) are the caller's to report
  redis.on('error', (e: Error & { code?: string }) => {
    lastError = e.message;
    // A certificate that does not verify will not start to (self-signed, unknown CA, wrong name, expired).
    const tlsRefused = typeof e.code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(e.code);
    if (/^(WRONGPASS|NOAUTH|NOPERM)/.test(e.message) || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' || tlsRefused) giveUp(e);
    if (e.code === 'ECONNREFUSED') {
      refusedSince ||= Date.now();
      if (Date.now() - refusedSince > 2000) giveUp(e);
    }
  });
  try {
    await Promise.race([
      redis.ping(),
      early,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs).unref()),
    ]);
    return redis;
  } catch (e) {
    redis.disconnect();
    throw new ZennasError('E_BACKEND', `cannot reach Redis at ${display}: ${lastError || (e as Error).message}`);
  }
}

/** Write one heartbeat: the hash, expiring after `ttlSeconds`. */
export async function writeHeartbeat(redis: Redis, queue: string, info: WorkerInfo, ttlSeconds: number): Promise<void> {
  const key = workerKey(queue, info.id);
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(info)) fields[k] = String(v);
  await redis.multi().hset(key, fields).expire(key, Math.max(1, Math.ceil(ttlSeconds))).exec();
}

/** Remove a worker's entry (graceful stop). */
export async function removeWorker(redis: Redis, queue: string, id: string): Promise<void> {
  await redis.del(workerKey(queue, id));
}

/** The live workers of a queue, by id. */
export async function listWorkers(redis: Redis, queue: string): Promise<WorkerInfo[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', workerPattern(queue), 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0' && keys.length < 100_000);
  const out: WorkerInfo[] = [];
  if (keys.length === 0) return out;
  const pipe = redis.pipeline();
  for (const k of keys) pipe.hgetall(k);
  const res = (await pipe.exec()) ?? [];
  for (const [err, h] of res) {
    if (err || !h || typeof h !== 'object') continue;
    const r = h as Record<string, string>;
    if (!r.id) continue; // expired between SCAN and HGETALL
    const n = (k: string) => (Number.isFinite(Number(r[k])) ? Number(r[k]) : 0);
    out.push({
      id: r.id, host: r.host ?? '?', pid: n('pid'), backend: r.backend ?? '?', threads: n('threads'), concurrency: n('concurrency'),
      mode: r.mode ?? 'engine', jobsDone: n('jobsDone'), jobsFailed: n('jobsFailed'), running: n('running'), startedAt: n('startedAt'), lastSeen: n('lastSeen'),
    });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
