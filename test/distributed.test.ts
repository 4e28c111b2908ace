/**
 * Distributed scoring (src/distributed) against a real redis-server on a loopback port: the queue
 * Evaluator gives the local search's candidates.jsonl bit for bit; bad jobs fail once and the
 * worker goes on; a resumed coordinator re-attaches to its jobs; passwords; the registry.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { Queue } from 'bullmq';
import { ZennasError, ZennasErrorCode } from '../src/errors';
import { Engine } from '../src/engine/engine';
import { runSearch, SearchConfig } from '../src/search/evolution';
import { searchConfig, SearchConfigInput } from '../src/search/config';
import { SearchEngine } from '../src/search/engine-scorer';
import { readCandidatesFile } from '../src/search/store';
import {
  encodePayload, readPayload, parseRedisUrl, maskUrl, MAX_PAYLOAD_BYTES, queueEvaluator, startWorker, listWorkers, openRedis,
  encodeNumber, decodeNumber, parseFailure, failureText, configRunId, standInScore, WorkerEngine, scoreLinesOnQueue, openCommandQueue, formatQueueStats, checkpointWatcher,
} from '../src/distributed';
import { encodeDescriptor } from '../src/ops/descriptor';
import { lowerForScoring } from '../src/model/lower';
import { parseStructure } from '../src/grammar/parse';
import { startRedis } from './helpers/redis';
import { settledStates, sharedRedis } from './helpers/redis-suite';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `zennas-dist-${name}-`));
/** Candidate records without their timing (the one field that varies between equal runs). */
const records = (dir: string) => readCandidatesFile(path.join(dir, 'candidates.jsonl')).map(({ seconds: _s, ...r }) => r);
const cifar = (over: Partial<SearchConfigInput> = {}): SearchConfig =>
  searchConfig({ space: 'I', population: 12, iterations: 48, seed: 11, inFlight: 4, budgets: { params: 300e3, layers: 12 }, ...over });
const descriptor = () => encodeDescriptor(lowerForScoring(parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)')));

// ---------------------------------------------------------------- no Redis needed

test('Redis URLs: host, port, db, password (URL-decoded), user, rediss:// TLS; the password never printed', (t) => {
  const a = parseRedisUrl('redis://127.0.0.1:6390/3');
  t.like(a.connection, { host: '127.0.0.1', port: 6390, db: 3 });
  t.is(a.connection.password, undefined);
  t.false(a.tls);
  const b = parseRedisUrl('rediss://worker:p%40ss%2Fw0rd@redis.internal');
  t.like(b.connection, { host: 'redis.internal', port: 6379, db: 0, username: 'worker', password: 'p@ss/w0rd', tls: { servername: 'redis.internal' } });
  t.true(b.tls);
  t.false(b.display.includes('p%40ss'));
  t.is(b.display, 'rediss://worker:***@redis.internal');
  t.is(parseRedisUrl('redis://:secret@[::1]:7000').connection.host, '::1');
  t.is(parseRedisUrl('redis://h:1', '--redis', 'fromenv').connection.password, 'fromenv');
  t.is(parseRedisUrl('redis://:given@h:1', '--redis', 'fromenv').connection.password, 'given');
  t.is(maskUrl('redis://:hunter2@h:1/0'), 'redis://:***@h:1/0');
  const bad = (u: string, re: RegExp) => {
    const e = t.throws(() => parseRedisUrl(u, '--queue'), { instanceOf: ZennasError });
    t.is(e!.code, 'E_OPTION');
    t.regex(e!.message, re);
    t.false(e!.message.includes('hunter2'));
  };
  bad('http://h:1', /^--queue must start with redis:\/\/ or rediss:\/\/, not http:\/\//);
  bad('redis://:hunter2@h:99999', /^--queue is not a URL/);
  bad('redis://h:1/abc', /has database 'abc'/);
  bad('redis://:hunter2@h:1/0?x=1', /takes no query/);
  bad('', /must be a Redis URL/);
  bad('localhost:6379', /must start with redis:\/\//);
});

test('job payloads: what a worker refuses names the field, before any engine sees it', (t) => {
  const d = descriptor();
  const ok = encodePayload('zen', d, { batchSize: 4, resolution: 32, repeats: 1, seed: 0, mode: 'paper', alpha: 0.01, bnEps: 1e-5 });
  const back = readPayload(JSON.parse(JSON.stringify(ok)));
  t.deepEqual([...back.descriptor], [...d]);
  t.deepEqual(back.options, ok.options);
  const bad = (data: unknown, code: ZennasErrorCode, re: RegExp) => {
    const e = t.throws(() => readPayload(data));
    t.is((e as ZennasError).code, code);
    t.regex(e!.message, re);
  };
  bad(null, 'E_OPTION', /^job payload: must be a JSON object, got null/);
  bad([1], 'E_OPTION', /got an array/);
  bad({ ...ok, v: 2 }, 'E_OPTION', /version 2, this worker reads version 1/);
  bad({ ...ok, proxy: 'nope' }, 'E_OPTION', /unknown proxy "nope"; workers score: zen, /);
  bad({ ...ok, extra: 1 }, 'E_OPTION', /unknown field 'extra'/);
  bad({ ...ok, descriptor: '***' }, 'E_DESCRIPTOR', /descriptor must be a base64 string/);
  bad({ ...ok, descriptor: Buffer.from([1, 2, 3]).toString('base64') }, 'E_DESCRIPTOR', /3 bytes, not a whole number/);
  const wrongMagic = Int32Array.from(d); wrongMagic[0] = 7;
  bad({ ...ok, descriptor: encodePayload('zen', wrongMagic, {}).descriptor }, 'E_DESCRIPTOR', /invalid descriptor: bad magic/);
  bad({ ...ok, options: { batchsize: 4 } }, 'E_OPTION', /options\.batchsize is not an engine option/);
  bad({ ...ok, options: { seed: [1] } }, 'E_OPTION', /options\.seed must be a number, string or boolean/);
  bad({ ...ok, descriptor: 'A'.repeat(MAX_PAYLOAD_BYTES) }, 'E_OPTION', new RegExp(`over the limit of ${MAX_PAYLOAD_BYTES} bytes`));
  t.throws(() => encodePayload('zen', d, { input: new Float32Array(2) }), { message: /engine option 'input' cannot be sent to a worker/ });
});

test('numbers travel bit for bit (NaN, ±Infinity, −0 as strings); failures keep their code', (t) => {
  for (const x of [0, -0, 1 / 3, -1e-310, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity, 42.83061714794135]) {
    t.true(Object.is(decodeNumber(JSON.parse(JSON.stringify(encodeNumber(x)))), x), String(x));
  }
  t.deepEqual(parseFailure(failureText('E_OUT_OF_MEMORY', 'plan of 3 GiB\nover the budget')), { code: 'E_OUT_OF_MEMORY', message: 'plan of 3 GiB\nover the budget' });
  t.deepEqual(parseFailure('job stalled more than allowable limit'), { message: 'job stalled more than allowable limit' });
  // The run id depends on the config, not on its key order; the stand-in score on the job.
  const c = cifar();
  const reordered = Object.fromEntries(Object.entries(c).reverse()) as SearchConfig;
  t.is(configRunId(reordered), configRunId(c));
  t.not(configRunId({ ...c, seed: 12 }), configRunId(c));
  const p = encodePayload('zen', descriptor(), { seed: 1 });
  t.is(standInScore(p), standInScore(JSON.parse(JSON.stringify(p))));
  t.true(standInScore(p) >= 0 && standInScore(p) < 1);
});

// ---------------------------------------------------------------- against redis-server

const shared = sharedRedis(() => new Engine({ backend: 'cpu', threads: 1 }));
const withRedis = shared.test;

withRedis('a search on two workers writes the candidates.jsonl of the local search, bit for bit (zen and a min proxy)', async (t) => {
  const workers = await Promise.all([0, 1].map((i) => startWorker({ redis: shared.server.url, queue: 'same', threads: 1, concurrency: 1 + i })));
  try {
    for (const cfg of [cifar({ proxyOptions: { batchSize: 4 } }), cifar({ proxy: 'synflow', iterations: 24, seed: 5 })]) {
      const local = tmp('local');
      const a = await runSearch(cfg, { engine: shared.engine, outDir: local });
      t.true(a.state.counts.scored > 10);
      // One candidate per job, and 3 per job (jobSize: fewer, larger jobs; same result).
      for (const jobSize of [1, 3]) {
        const remote = tmp(`remote-${jobSize}`);
        const ev = await queueEvaluator(cfg, { redis: shared.server.url, queue: 'same', jobSize, runId: `same${jobSize}` });
        const b = await runSearch(cfg, { evaluator: ev, outDir: remote });
        const st = await ev.stats();
        await ev.close();
        t.deepEqual(records(remote), records(local));
        t.deepEqual(b.state.population, a.state.population);
        const n = a.state.counts.scored;
        if (jobSize === 1) t.is(st.done, n);
        else t.true(st.done >= Math.ceil(n / 3) && st.done < n, `${st.done} jobs of ≤ 3 for ${n} candidates`);
        t.is(st.workers, 2);
        t.is(st.slots, 3);
        t.is(fs.readFileSync(path.join(remote, 'best.txt'), 'utf8'), fs.readFileSync(path.join(local, 'best.txt'), 'utf8'));
      }
    }
    t.true(workers[0]!.counts.done > 0 && workers[1]!.counts.done > 0, 'both workers took jobs');
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
});

withRedis('a job with a bad payload fails once with its reason (no retry) and the worker goes on serving', async (t) => {
  const w = await startWorker({ redis: shared.server.url, queue: 'bad', threads: 1 });
  const q = new Queue('bad', { connection: parseRedisUrl(shared.server.url).connection });
  try {
    const ok = encodePayload('zen', descriptor(), { batchSize: 2, resolution: 16, seed: 3 });
    const wrongMagic = Int32Array.from(descriptor()); wrongMagic[0] = 7;
    const cases: [unknown, RegExp][] = [
      [{ hello: 'world' }, /^\[E_OPTION\] job payload: unknown field 'hello'/],
      [{ ...ok, descriptor: 'A'.repeat(MAX_PAYLOAD_BYTES + 8) }, /^\[E_OPTION\] job payload: \d+ bytes, over the limit of 1048576 bytes/],
      [{ ...ok, proxy: 'zen-plus' }, /^\[E_OPTION\] job payload: unknown proxy "zen-plus"/],
      [{ ...ok, descriptor: encodePayload('zen', wrongMagic, {}).descriptor }, /^\[E_DESCRIPTOR\] job payload: invalid descriptor: bad magic/],
      // Well-formed but refused by the engine's option table: the candidate's error, not the worker's.
      [{ ...ok, options: { batchSize: 0 } }, /^\[E_OPTION\] batchSize must be an integer in \[1, 4096\], got 0/],
    ];
    const jobs = await Promise.all(cases.map(([data], i) => q.add('score', data, { jobId: `bad-${i}`, attempts: 5 })));
    const good = await q.add('score', ok, { jobId: 'good', attempts: 5 });
    const states = await settledStates([...jobs, good]);
    t.deepEqual(states, ['failed', 'failed', 'failed', 'failed', 'failed', 'completed']);
    for (const [i, [, re]] of cases.entries()) {
      const j = (await q.getJob(`bad-${i}`))!;
      t.regex(j.failedReason, re);
      t.is(j.attemptsMade, 1, `case ${i} was tried once`);
    }
    const g = (await q.getJob('good'))!;
    const local = await shared.engine.zenScore(descriptor(), { batchSize: 2, resolution: 16, seed: 3 });
    t.true(Object.is(g.returnvalue.mean, local.mean));
    t.is(w.counts.failed, cases.length);
    t.is(w.counts.done, 1);
  } finally {
    await q.obliterate({ force: true }).catch(() => {});
    await q.close();
    await w.close();
  }
});

withRedis('a candidate the engine refuses is recorded with the local run\'s error; a broken worker\'s error stops the search', async (t) => {
  // A worker engine that runs out of memory on every third descriptor length, as a real plan might.
  const flaky = (fatal: boolean): WorkerEngine & SearchEngine => ({
    async zenScore(d: Int32Array) {
      const sum = d.reduce((s, x) => s + x, 0);
      if (sum % 3 === 0) throw new ZennasError(fatal ? 'E_NATIVE' : 'E_OUT_OF_MEMORY', `plan of ${d.length} words does not fit`);
      return { mean: d.length / 7, seconds: 0.001, scores: [d.length / 7] };
    },
    async run() { throw new Error('not used'); },
    close() {},
  });
  const cfg = cifar({ proxyOptions: { batchSize: 4 }, iterations: 40 });
  const local = tmp('oom-local');
  const a = await runSearch(cfg, { engine: flaky(false), outDir: local });
  t.true(a.state.counts.failed > 0 && a.state.counts.failed < a.state.counts.scored, `${a.state.counts.failed} of ${a.state.counts.scored} failed`);
  const w = await startWorker({ redis: shared.server.url, queue: 'oom', engine: flaky(false) });
  for (const jobSize of [1, 4]) {
    // With 4 candidates per job, a refused candidate fails alone: the other three keep their scores.
    const remote = tmp('oom-remote');
    const ev = await queueEvaluator(cfg, { redis: shared.server.url, queue: 'oom', jobSize, runId: `oom${jobSize}` });
    await runSearch(cfg, { evaluator: ev, outDir: remote });
    await ev.close();
    t.deepEqual(records(remote), records(local));
  }
  await w.close();
  t.true(records(local).some((r) => r.score === null && /^plan of \d+ words does not fit$/.test(r.error ?? '')));

  const w2 = await startWorker({ redis: shared.server.url, queue: 'fatal', engine: flaky(true) });
  const ev2 = await queueEvaluator(cfg, { redis: shared.server.url, queue: 'fatal', attempts: 2, coveredIteration: () => 0 });
  const fatalDir = tmp('fatal');
  const e = await t.throwsAsync(runSearch(cfg, { evaluator: ev2, outDir: fatalDir }));
  t.is((e as ZennasError).code, 'E_NATIVE');
  t.regex(e!.message, /^plan of \d+ words does not fit$/);
  await ev2.close();
  await w2.close();
  // Healthy workers, the run resumed: the jobs that failed because the workers broke are retried
  // (the candidates' own failures are not), and the result is the local one.
  const w3 = await startWorker({ redis: shared.server.url, queue: 'fatal', engine: flaky(false) });
  const ev3 = await queueEvaluator(cfg, { redis: shared.server.url, queue: 'fatal', coveredIteration: () => 0 });
  await runSearch(cfg, { evaluator: ev3, outDir: fatalDir, resume: true });
  await ev3.close();
  await w3.close();
  t.deepEqual(records(fatalDir), records(local));
});

withRedis('a resumed coordinator re-attaches to the jobs of its killed session: nothing is scored twice', async (t) => {
  const cfg = cifar({ iterations: 60, population: 10, seed: 21 });
  const calls: string[] = [];
  const counting: WorkerEngine & SearchEngine = {
    async zenScore(d: Int32Array, o: unknown) { calls.push(`${d.join(',')}|${JSON.stringify(o)}`); return { mean: d.reduce((s, x) => s + x, 0) / 1e4, seconds: 0 }; },
    async run() { throw new Error('not used'); },
    close() {},
  };
  const reference = tmp('ref');
  await runSearch(cfg, { engine: counting, outDir: reference });
  const scored = records(reference).length;
  calls.length = 0;
  const w = await startWorker({ redis: shared.server.url, queue: 'resume', engine: counting });
  const dir = tmp('resume');
  class Kill extends Error {}
  for (const at of [13, 37]) {
    const ev = await queueEvaluator(cfg, { redis: shared.server.url, queue: 'resume', coveredIteration: checkpointWatcher(dir) });
    await t.throwsAsync(runSearch(cfg, {
      evaluator: ev, outDir: dir, resume: at !== 13, checkpointEveryIterations: 10,
      afterBatchWritten: (it) => { if (it >= at) throw new Kill(); },
    }), { instanceOf: Kill });
    await ev.close();
  }
  const ev = await queueEvaluator(cfg, { redis: shared.server.url, queue: 'resume', coveredIteration: checkpointWatcher(dir) });
  await runSearch(cfg, { evaluator: ev, outDir: dir, resume: true });
  await ev.close();
  await w.close();
  // Jobs go once a checkpoint covers them, those the killed sessions left behind included: none is left.
  const redis = openRedis(parseRedisUrl(shared.server.url).connection, 'test');
  t.deepEqual(await redis.keys(`bull:resume:${ev.runId}-*`), []);
  redis.disconnect();
  t.deepEqual(records(dir), records(reference));
  // Every candidate was scored exactly once on the worker, although iterations after each checkpoint were proposed twice.
  t.is(calls.length, scored);
  t.is(new Set(calls).size <= scored, true);
});

withRedis('requirepass: the password of the URL is used; a wrong one is a clear error; the registry lists live workers', async (t) => {
  const secure = await startRedis({ password: 'c0rrect horse' });
  try {
    const w = await startWorker({ redis: secure.url, queue: 'pw', standIn: {}, concurrency: 3, heartbeatSeconds: 1 });
    const wrong = secure.url.replace('c0rrect%20horse', 'wrong');
    const e = await t.throwsAsync(queueEvaluator(cifar(), { redis: wrong, queue: 'pw', redisTimeoutSeconds: 3 }));
    t.is((e as ZennasError).code, 'E_BACKEND');
    t.regex(e!.message, /^cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: /);
    t.false(e!.message.includes('wrong'));
    const cfg = cifar({ iterations: 20 });
    const ev = await queueEvaluator(cfg, { redis: secure.url, queue: 'pw' });
    const r = await runSearch(cfg, { evaluator: ev });
    await ev.close();
    t.is(r.state.counts.failed, 0);
    const redis = openRedis(parseRedisUrl(secure.url).connection, 'test');
    // The registry shows the count of the last heartbeat (every second here).
    let list = await listWorkers(redis, 'pw');
    for (let i = 0; i < 40 && list[0]?.jobsDone !== w.counts.done; i++) {
      await new Promise((r) => setTimeout(r, 100));
      list = await listWorkers(redis, 'pw');
    }
    t.is(list.length, 1);
    t.like(list[0], { id: w.id, mode: 'stand-in', concurrency: 3, jobsDone: w.counts.done, pid: process.pid, host: os.hostname() });
    t.true(Date.now() - list[0]!.lastSeen < 5000);
    await w.close();
    t.deepEqual(await listWorkers(redis, 'pw'), [], 'a stopped worker leaves the registry');
    redis.disconnect();
  } finally {
    await secure.stop();
  }
});

withRedis('zennas score --queue: a file of structures scored on the workers gives zennas score\'s numbers, in line order, bad lines as errors', async (t) => {
  const w = await startWorker({ redis: shared.server.url, queue: 'file', threads: 1, concurrency: 2 });
  try {
    const nets = [
      'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)',
      'SuperConvK3BNRELU(3,16,1,1)SuperResK3K3(16,16,1,8,2)',
      'SuperConvK3BNRELU(3,8,2,1)SuperResK1K5K1(8,24,2,8,1)',
    ];
    const text = `${nets[0]}\n\n# a comment\n${nets[1]}\nNotAStructure(\n${nets[2]}\n`;
    const o = { batchSize: 4, resolution: 32, repeats: 3, seed: 2, mode: 'paper' as const, alpha: 0.01, bnEps: 1e-5, se: false };
    const got: import('../src/distributed').LineScore[] = [];
    const r = await scoreLinesOnQueue(text, o, { redis: shared.server.url, queue: 'file', inFlight: 2 }, (l) => got.push(l));
    t.deepEqual(r, { scored: 3, failed: 1 });
    t.deepEqual(got.map((l) => l.line), [1, 4, 5, 6]);
    t.regex(got[2]!.error!, /^unknown block 'NotAStructure'/);
    for (const [k, l] of [got[0]!, got[1]!, got[3]!].entries()) {
      const { se: _se, ...zen } = o;
      const local = await shared.engine.zenScore(encodeDescriptor(lowerForScoring(parseStructure(nets[k]!))), zen);
      t.true(Object.is(l.mean, local.mean), `line ${l.line}`);
      t.deepEqual(l.scores, local.scores);
      t.is(l.std, local.std);
    }
  } finally {
    await w.close();
  }
});

withRedis('the command queue\'s progress line: workers (slots), queued, running, done, candidates/s', async (t) => {
  t.is(formatQueueStats({ workers: 3, slots: 12, queued: 40, running: 12, done: 1200, pending: 52, candidatesPerSecond: 35.24 }),
    'queue: 3 workers (12 slots) | queued 40 | running 12 | done 1200 | 35.2 cand/s');
  const w = await startWorker({ redis: shared.server.url, queue: 'progress', standIn: { delayMs: 40 }, concurrency: 2 });
  const lines: string[] = [];
  const cfg = cifar({ iterations: 40 });
  const q = await openCommandQueue(cfg, { url: shared.server.url, queueName: 'progress', progress: true, progressSeconds: 0.2, write: (l) => lines.push(l) });
  await runSearch(cfg, { evaluator: q.evaluator });
  await q.stop();
  await w.close();
  t.regex(lines[0]!, /^queue: scoring on the workers of queue 'progress' at redis:\/\/127\.0\.0\.1:\d+ \(run z[0-9a-f]{16}\)$/);
  const stats = lines.slice(1);
  t.true(stats.length >= 2, lines.join('\n'));
  for (const l of stats) t.regex(l, /^queue: 1 workers \(2 slots\) \| queued \d+ \| running [0-2] \| done \d+ \| \d+\.\d cand\/s$/);
  const done = stats.map((l) => Number(/done (\d+)/.exec(l)![1]));
  t.deepEqual(done, [...done].sort((a, b) => a - b), 'done only grows');
});

/** A throw-away CA and a server certificate for 127.0.0.1 (openssl), or undefined without openssl. */
function testCertificates(): { cert: string; key: string; ca: string } | undefined {
  const dir = tmp('tls');
  const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { cwd: dir, encoding: 'utf8' }).status === 0;
  const ok = sh('openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=zennas-test-ca') &&
    sh('openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1') &&
    sh('printf "subjectAltName=IP:127.0.0.1\\n" > ext.cnf && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf');
  return ok ? { cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key'), ca: path.join(dir, 'ca.crt') } : undefined;
}

withRedis('rediss://: TLS to a Redis with a private CA (ZENNAS_REDIS_CA); an unverified certificate is one clear error', async (t) => {
  const certs = testCertificates();
  if (!certs) return t.pass('skipped: no openssl to make a test certificate');
  const secure = await startRedis({ tls: certs, password: 'tls pw' });
  const before = process.env.ZENNAS_REDIS_CA;
  try {
    t.regex(secure.url, /^rediss:\/\//);
    delete process.env.ZENNAS_REDIS_CA;
    const e = await t.throwsAsync(queueEvaluator(cifar(), { redis: secure.url, queue: 'tls' }));
    t.is((e as ZennasError).code, 'E_BACKEND');
    t.regex(e!.message, /^cannot reach Redis at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+: .*(self[- ]signed|certificate)/i);
    process.env.ZENNAS_REDIS_CA = certs.ca;
    t.truthy(parseRedisUrl(secure.url).connection.tls?.ca);
    const w = await startWorker({ redis: secure.url, queue: 'tls', standIn: {} });
    const cfg = cifar({ iterations: 16 });
    const ev = await queueEvaluator(cfg, { redis: secure.url, queue: 'tls' });
    const r = await runSearch(cfg, { evaluator: ev });
    await ev.close();
    await w.close();
    t.is(r.state.counts.failed, 0);
    t.is(w.counts.done, r.state.counts.scored);
  } finally {
    if (before === undefined) delete process.env.ZENNAS_REDIS_CA; else process.env.ZENNAS_REDIS_CA = before;
    await secure.stop();
  }
});
