/**
 * Faults of a distributed search, staged with real processes and a real redis-server on a
 * loopback port: a worker killed (SIGKILL) in the middle of a job, the coordinator killed at
 * random points and resumed, Redis killed and restarted on its append-only file during a run,
 * Redis gone for longer than the coordinator waits. The workers are stand-ins (`zennas worker
 * --stand-in`: a score hashed from the job, the same on every worker), so a faulty run must end
 * with exactly the candidates.jsonl of a clean one.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, spawn } from 'child_process';
import { Queue } from 'bullmq';
import { ZennasError } from '../src/errors';
import { runSearch, SearchConfig } from '../src/search/evolution';
import { searchConfig } from '../src/search/config';
import { readCandidatesFile, readCheckpoint } from '../src/search/store';
import { configRunId, encodePayload, listWorkers, openRedis, parseRedisUrl, queueEvaluator, startWorker, WorkerHandle } from '../src/distributed';
import { freePort, RedisServer, redisSkipReason, startRedis } from './helpers/redis';
import { BIN } from './helpers/cli';
import { encodeDescriptor } from '../src/ops/descriptor';
import { lowerForScoring } from '../src/model/lower';
import { parseStructure } from '../src/grammar/parse';

const ROOT = path.resolve(__dirname, '..');
const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `zennas-faults-${name}-`));
const records = (dir: string) => readCandidatesFile(path.join(dir, 'candidates.jsonl')).map(({ seconds: _s, ...r }) => r);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0);

/** `zennas …args` as users run it (the compiled CLI: `npm test` compiles first), as a child process. */
function cli(args: string[]): ChildProcess & { out: () => string } {
  const c = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout!.on('data', (b) => { out += String(b); });
  c.stderr!.on('data', (b) => { out += String(b); });
  return Object.assign(c, { out: () => out });
}
const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));
async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const cfg = (over: Partial<SearchConfig> = {}): SearchConfig =>
  ({ ...searchConfig({ space: 'I', population: 16, iterations: 160, seed: 7, inFlight: 4, budgets: { params: 300e3, layers: 12 }, proxyOptions: { batchSize: 4 } }), ...over });

/** The clean run of `config`: one in-process stand-in worker on its own queue. */
async function cleanRun(url: string, config: SearchConfig): Promise<ReturnType<typeof records>> {
  const q = `clean-${Math.random().toString(36).slice(2)}`;
  const w = await startWorker({ redis: url, queue: q, standIn: {}, concurrency: 8 });
  const ev = await queueEvaluator(config, { redis: url, queue: q });
  const dir = tmp('clean');
  await runSearch(config, { evaluator: ev, outDir: dir });
  await ev.close();
  await w.close();
  return records(dir);
}

const serial = redisSkipReason ? test.skip : test.serial;
if (redisSkipReason) test('Redis fault tests', (t) => t.pass(`skipped: ${redisSkipReason}`));

let server: RedisServer;
test.before(async () => {
  if (!redisSkipReason) server = await startRedis();
});
test.after.always(async () => { await server?.stop(); });

serial('a worker killed with SIGKILL in the middle of a job: the job is retried on another worker, nothing lost or doubled', async (t) => {
  const config = cfg({ iterations: 40 });
  const reference = await cleanRun(server.url, config);
  // Worker A takes one job and holds it for 60 s; its lock lapses 3 s after it dies.
  const a = cli(['worker', '--redis', server.url, '--queue', 'kill9', '--stand-in', '--stand-in-delay', '60000', '--lock-duration', '3000', '--stalled-interval', '500']);
  const q = new Queue('kill9', { connection: parseRedisUrl(server.url).connection });
  let b: WorkerHandle | undefined;
  try {
    await until('worker A to start', () => a.out().includes('serving queue'));
    const ev = await queueEvaluator(config, { redis: server.url, queue: 'kill9', coveredIteration: () => 0 });
    const dir = tmp('kill9');
    const run = runSearch(config, { evaluator: ev, outDir: dir });
    await until('worker A to hold a job', async () => (await q.getJobCounts('active')).active === 1);
    const held = (await q.getJobs(['active']))[0]!;
    a.kill('SIGKILL');
    await exited(a);
    const logs: string[] = [];
    // B checks for stalled jobs every 0.5 s; its own locks are long, so that a loaded machine cannot stall B's jobs.
    b = await startWorker({ redis: server.url, queue: 'kill9', standIn: {}, concurrency: 4, lockDuration: 20_000, stalledInterval: 500, onLog: (l) => logs.push(l) });
    await run;
    await ev.close();
    t.deepEqual(records(dir), reference);
    const again = (await q.getJob(held.id!))!;
    t.is(await again.getState(), 'completed');
    t.true(again.attemptsStarted >= 2, `the held job was started ${again.attemptsStarted} times`);
    t.is(again.returnvalue.worker, b.id, 'worker B finished the job A held');
    t.true(logs.some((l) => l.includes(`job ${held.id} stalled`)), logs.join('\n'));
    t.is(new Set(records(dir).map((r) => r.iteration)).size, records(dir).length);
  } finally {
    a.kill('SIGKILL');
    await b?.close();
    await q.close();
  }
});

serial('the coordinator killed with SIGKILL at random points, then --resume: the result of an uninterrupted run, no job scored twice', async (t) => {
  const queue = 'coord';
  const w = await startWorker({ redis: server.url, queue, standIn: { delayMs: 3 }, concurrency: 4 });
  const dir = tmp('coord');
  const args = ['search', '--queue', server.url, '--queue-name', queue, '--space', 'I', '--iterations', '240', '--population', '16', '--in-flight', '4',
    '--seed', '7', '--budget-params', '300k', '--max-layers', '12', '--batch-size', '4', '--checkpoint-every', '1', '--out', dir, '--no-progress'];
  // A fixed sequence of "random" kill points (candidates written before the kill), so a failure reruns the same way.
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const candidates = path.join(dir, 'candidates.jsonl');
  try {
    for (let k = 0; k < 2; k++) {
      const at = lines(candidates) + 20 + Math.floor(rand() * 60);
      const c = cli(k === 0 ? args : [...args, '--resume']);
      await until(`${at} candidates`, () => lines(candidates) >= at || c.exitCode !== null);
      c.kill('SIGKILL');
      await exited(c);
      t.is(c.exitCode, null, `run ${k} was killed, not finished: ${c.out()}`);
    }
    const last = cli([...args, '--resume', '--json']);
    t.is(await exited(last), 0, last.out());
    const config = readCheckpoint(dir).config;
    // The jobs of the SIGKILLed sessions that a checkpoint covers were swept by the next session: none is left.
    const redis = openRedis(parseRedisUrl(server.url).connection, 'test');
    t.deepEqual(await redis.keys(`bull:${queue}:${configRunId(config)}-*`), []);
    redis.disconnect();
    const reference = await cleanRun(server.url, config);
    t.deepEqual(records(dir), reference);
    // Each candidate of the result was scored by a worker once: re-proposed iterations found their jobs.
    t.is(w.counts.done, reference.length);
  } finally {
    await w.close();
  }
});

serial('Redis killed and restarted on its append-only file during a run: the run goes on to the clean result', async (t) => {
  const aof = await startRedis({ persistent: true });
  let restarted: RedisServer | undefined;
  const config = cfg({ iterations: 200, seed: 8 });
  try {
    const reference = await cleanRun(aof.url, config);
    const w = await startWorker({ redis: aof.url, queue: 'restart', standIn: { delayMs: 5 }, concurrency: 4 });
    const ev = await queueEvaluator(config, { redis: aof.url, queue: 'restart', coveredIteration: () => 0, pollSeconds: 1 });
    const dir = tmp('restart');
    let progress = 0;
    const run = runSearch(config, { evaluator: ev, outDir: dir, onProgress: (p) => { progress = p.iteration; } });
    await until('the run to be under way', () => progress >= 40);
    await aof.stop({ keepDir: true, kill: true });
    const at = progress;
    await sleep(1500);
    restarted = await startRedis({ persistent: true, port: aof.port, dir: aof.dir });
    await run;
    await ev.close();
    await w.close();
    t.true(at < config.iterations, 'Redis went down before the end');
    t.deepEqual(records(dir), reference);
  } finally {
    await (restarted ?? aof).stop();
  }
});

serial('Redis gone longer than the coordinator waits: a clear error, the checkpoint kept; --resume after Redis is back ends at the clean result', async (t) => {
  const aof = await startRedis({ persistent: true });
  let back: RedisServer | undefined;
  const config = cfg({ iterations: 120, seed: 9 });
  try {
    const reference = await cleanRun(aof.url, config);
    const w = await startWorker({ redis: aof.url, queue: 'gone', standIn: { delayMs: 5 }, concurrency: 4 });
    const ev = await queueEvaluator(config, { redis: aof.url, queue: 'gone', coveredIteration: () => 0, redisTimeoutSeconds: 2 });
    const dir = tmp('gone');
    let progress = 0;
    const run = runSearch(config, { evaluator: ev, outDir: dir, checkpointEveryIterations: 8, onProgress: (p) => { progress = p.iteration; } });
    await until('the run to be under way', () => progress >= 30);
    await aof.stop({ keepDir: true, kill: true });
    const e = await t.throwsAsync(run);
    t.is((e as ZennasError).code, 'E_BACKEND');
    t.regex(e!.message, /^lost Redis at redis:\/\/127\.0\.0\.1:\d+ for over 2 s; the checkpoint is kept: start Redis again and rerun with --resume/);
    await ev.close();
    back = await startRedis({ persistent: true, port: aof.port, dir: aof.dir });
    const ev2 = await queueEvaluator(config, { redis: aof.url, queue: 'gone', coveredIteration: () => 0 });
    await runSearch(config, { evaluator: ev2, outDir: dir, resume: true });
    await ev2.close();
    await w.close();
    t.deepEqual(records(dir), reference);
  } finally {
    await (back ?? aof).stop();
  }
});

serial('CLI: a bad --redis is a usage error naming the flag; an unreachable Redis is one clear E_BACKEND line; zennas workers lists the live ones', async (t) => {
  const run = async (args: string[]) => {
    const c = cli(args);
    const code = await exited(c);
    return { code, out: c.out() };
  };
  const bad = await run(['worker', '--redis', 'http://127.0.0.1:1']);
  t.is(bad.code, 2);
  t.regex(bad.out, /^zennas: error \[E_OPTION\]: --redis must start with redis:\/\/ or rediss:\/\/, not http:\/\//m);
  const closed = await freePort();
  const gone = await run(['search', '--queue', `redis://:pw@127.0.0.1:${closed}`, '--space', 'I', '--iterations', '8', '--no-progress']);
  t.is(gone.code, 2);
  t.regex(gone.out, new RegExp(`^zennas: error \\[E_BACKEND\\]: cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED`, 'm'));
  const w = await startWorker({ redis: server.url, queue: 'listed', standIn: {}, concurrency: 5 });
  try {
    const list = await run(['workers', '--redis', server.url, '--queue', 'listed', '--json']);
    t.is(list.code, 0, list.out);
    const rows = JSON.parse(list.out) as { id: string; concurrency: number; mode: string }[];
    t.deepEqual(rows.map((r) => [r.id, r.concurrency, r.mode]), [[w.id, 5, 'stand-in']]);
  } finally {
    await w.close();
  }
  const none = await run(['workers', '--redis', server.url, '--queue', 'listed']);
  t.regex(none.out, /^no live workers on queue 'listed' at redis:\/\/127\.0\.0\.1:\d+$/m);
});

serial('zennas worker on SIGINT finishes the job it runs, then leaves the registry and exits 0', async (t) => {
  const a = cli(['worker', '--redis', server.url, '--queue', 'sigint', '--stand-in', '--stand-in-delay', '1500']);
  const q = new Queue('sigint', { connection: parseRedisUrl(server.url).connection });
  try {
    await until('the worker to start', () => a.out().includes('serving queue'));
    const id = /zennas worker: (\S+) serving queue/.exec(a.out())![1];
    const job = await q.add('score', encodePayload('zen', encodeDescriptor(lowerForScoring(parseStructure('SuperConvK3BNRELU(3,8,1,1)'))), {}), { jobId: 'sigint-1' });
    await until('the job to run', async () => {
      const st = await job.getState();
      if (st === 'failed') throw new Error(`the job failed: ${(await q.getJob('sigint-1'))?.failedReason}`);
      return st === 'active';
    });
    a.kill('SIGINT');
    t.is(await exited(a), 0, a.out());
    const done = (await q.getJob('sigint-1'))!;
    t.is(await done.getState(), 'completed', a.out());
    t.is(done.returnvalue.worker, id);
    t.regex(a.out(), /SIGINT: finishing the running jobs \(1\)/);
    t.regex(a.out(), /stopped after 1 jobs \(0 failed\)/);
    const redis = openRedis(parseRedisUrl(server.url).connection, 'test');
    t.deepEqual(await listWorkers(redis, 'sigint'), []);
    redis.disconnect();
  } finally {
    a.kill('SIGKILL');
    await q.close();
  }
});
