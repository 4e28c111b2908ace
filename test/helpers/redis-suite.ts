/**
 * The setup of a test file's Redis-backed tests (test/distributed.test.ts,
 * test/distributed-proxies.test.ts): one private redis-server (test/helpers/redis.ts) and one
 * engine for the whole file, started before its tests and stopped after them; the tests run
 * serially, or are skipped, with one passing test that says why, where redis-server is not installed.
 * And the wait for a queue's jobs to settle.
 */
import test from 'ava';
import type { Job } from 'bullmq';
import { RedisServer, redisSkipReason, startRedis } from './redis';

export interface SharedRedis<E> {
  /** test.serial, or test.skip without redis-server. */
  readonly test: typeof test.serial | typeof test.skip;
  /** The file's redis-server (set once its tests start). */
  readonly server: RedisServer;
  /** The file's engine, from `openEngine` (set once its tests start). */
  readonly engine: E;
}

/** Registers the file's before / after hooks (call once, at the top level of a test file). */
export function sharedRedis<E extends { close(): void }>(openEngine: () => E): SharedRedis<E> {
  if (redisSkipReason) test('Redis-backed tests', (t) => t.pass(`skipped: ${redisSkipReason}`));
  let server: RedisServer | undefined;
  let engine: E | undefined;
  test.before(async () => {
    if (redisSkipReason) return;
    server = await startRedis();
    engine = openEngine();
  });
  test.after.always(async () => {
    engine?.close();
    await server?.stop();
  });
  return {
    test: redisSkipReason ? test.skip : test.serial,
    get server() { return server!; },
    get engine() { return engine!; },
  };
}

/** The jobs' states once every one has completed or failed (polled every 50 ms), or as they stand after `ms`. */
export async function settledStates(jobs: readonly Job[], ms = 30_000): Promise<string[]> {
  const until = Date.now() + ms;
  let states: string[] = [];
  while (Date.now() < until) {
    states = await Promise.all(jobs.map((j) => j.getState()));
    if (states.every((s) => s === 'completed' || s === 'failed')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return states;
}
