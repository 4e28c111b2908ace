/**
 * `zennas score FILE --queue URL --proxy NAME` (issue #16 item 2 for every proxy of the table):
 * jobs carry the proxy and the options it takes, the worker checks them against the proxy table
 * before any engine sees them (an unknown proxy or a foreign option fails that job once, the worker
 * goes on), and each line's scores equal the local `zennas score LINE --proxy NAME` bit for bit.
 * Against a real redis-server on a loopback port (test/helpers/redis.ts).
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { Queue } from 'bullmq';
import { ZennasError } from '../src/errors';
import { encodePayload, parseRedisUrl, readPayload, scoreLinesOnQueue, startWorker, LineScore } from '../src/distributed';
import { Engine } from '../src/engine/engine';
import { score } from '../src/score';
import { proxyCall } from '../src/proxies/score';
import { parseStructure } from '../src/grammar/parse';
import { settledStates, sharedRedis } from './helpers/redis-suite';
import { BIN } from './helpers/cli';

const NETS = [
  'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)',
  'SuperConvK3BNRELU(3,16,1,1)SuperResK3K3(16,16,1,8,2)',
  'SuperConvK3BNRELU(3,8,2,1)SuperResK1K5K1(8,24,2,8,1)',
];
const S = NETS[0]!;

/** The CLI, asynchronously (the test process serves the queue's worker meanwhile). */
function zennasAsync(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (b) => { stdout += b; });
    p.stderr.on('data', (b) => { stderr += b; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

test('a proxy job is checked against the proxy table: foreign options and out-of-range values are refused before any engine', (t) => {
  const { descriptor, options } = proxyCall(parseStructure(S), 'gsnr', { batchSize: 4, numBatches: 2, xi: 1e-6, resolution: 16, seed: 1 });
  t.deepEqual(options, { batchSize: 4, resolution: 16, seed: 1, numBatches: 2, xi: 1e-6 });
  const ok = encodePayload('gsnr', descriptor, options);
  t.deepEqual(readPayload(JSON.parse(JSON.stringify(ok))).options, options);
  const bad = (data: unknown, re: RegExp) => {
    const e = t.throws(() => readPayload(data));
    t.is((e as ZennasError).code, 'E_OPTION');
    t.regex(e!.message, re);
  };
  bad({ ...ok, options: { ...options, mode: 'paper' } }, /^job payload: options\.mode is not an option of proxy 'gsnr' \(it takes: resolution, repeats, firstRepeat, seed, bnEps, batchSize, init, numBatches, xi, gsnrMode\)/);
  bad({ ...ok, proxy: 'snip' }, /options\.numBatches is not an option of proxy 'snip'/);
  bad({ ...ok, options: { ...options, xi: -1 } }, /^xi must be a number in \(0, 1000000\], got -1/);
  bad({ ...ok, options: { ...options, gsnrMode: 'running' } }, /^gsnrMode must be 'batch' or 'official' or 'sample', got 'running'/);
  bad({ ...ok, proxy: 'gradients' }, /unknown proxy "gradients"/);
});

test('scoreLinesOnQueue: an option the proxy does not take, data arrays or an unknown proxy are refused before Redis is touched', async (t) => {
  const q = { redis: 'redis://127.0.0.1:1' };
  await t.throwsAsync(scoreLinesOnQueue(S, { proxy: 'snip', numBatches: 3 }, q, () => {}), { code: 'E_OPTION', message: /option 'numBatches' applies to none of the proxies snip \(it is taken by: gsnr\)/ });
  await t.throwsAsync(scoreLinesOnQueue(S, { proxy: 'gsnr', labels: new Int32Array(4) } as never, q, () => {}), { code: 'E_OPTION', message: /labels cannot be sent to the workers/ });
  await t.throwsAsync(scoreLinesOnQueue(S, { proxy: 'nope' } as never, q, () => {}), { code: 'E_OPTION', message: /unknown proxy 'nope'/ });
});

// ---------------------------------------------------------------- against redis-server

const shared = sharedRedis(() => new Engine({ threads: 1 }));
const withRedis = shared.test;

withRedis('scoreLinesOnQueue with gsnr, synflow (min) and naswot (7 classes) on two workers: every line = the local score() bit for bit, in line order', async (t) => {
  const workers = await Promise.all([0, 1].map(() => startWorker({ redis: shared.server.url, queue: 'proxies', threads: 1, concurrency: 2 })));
  try {
    const text = `${NETS[0]}\n# comment\n${NETS[1]}\nNotAStructure(\n${NETS[2]}\n`;
    for (const [proxy, o] of [['gsnr', { batchSize: 4, numBatches: 2, repeats: 2, seed: 3, resolution: 16 }], ['synflow', { repeats: 2, seed: 1, resolution: 16 }], ['naswot', { batchSize: 6, repeats: 1, seed: 2, resolution: 16, numClasses: 7 }]] as const) {
      const got: LineScore[] = [];
      const r = await scoreLinesOnQueue(text, { proxy, ...o }, { redis: shared.server.url, queue: 'proxies', inFlight: 3 }, (l) => got.push(l));
      t.deepEqual(r, { scored: 3, failed: 1 }, proxy);
      t.deepEqual(got.map((l) => l.line), [1, 3, 4, 5]);
      t.regex(got[2]!.error!, /^unknown block 'NotAStructure'/);
      for (const [k, l] of [got[0]!, got[1]!, got[3]!].entries()) {
        const local = await score(NETS[k]!, { proxy, engine: shared.engine, ...o });
        t.true(Object.is(l.mean, local.mean), `${proxy} line ${l.line}: ${l.mean} vs ${local.mean}`);
        t.deepEqual(l.scores, local.scores);
      }
    }
    t.true(workers.every((w) => w.counts.done > 0), 'both workers took jobs');
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
});

withRedis('zennas score FILE --queue --proxy gsnr prints the local zennas score --proxy gsnr numbers; lists and --data are refused', async (t) => {
  const w = await startWorker({ redis: shared.server.url, queue: 'cli', threads: 1, concurrency: 2 });
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-dist-proxies-'));
    const file = path.join(dir, 'nets.txt');
    fs.writeFileSync(file, NETS.join('\n') + '\n');
    const flags = ['--proxy', 'gsnr', '-b', '4', '--num-batches', '2', '-n', '2', '-r', '16', '-s', '5'];
    const remote = await zennasAsync('score', file, '--queue', shared.server.url, '--queue-name', 'cli', ...flags, '--json');
    t.is(remote.code, 0, remote.stderr);
    const lines = remote.stdout.trim().split('\n').map((l) => JSON.parse(l) as { proxy: string; line: number; mean: number; scores: number[] });
    t.deepEqual(lines.map((l) => [l.proxy, l.line]), [['gsnr', 1], ['gsnr', 2], ['gsnr', 3]]);
    for (const [k, l] of lines.entries()) {
      const local = await zennasAsync('score', NETS[k]!, ...flags, '-t', '1', '--json');
      t.is(local.code, 0, local.stderr);
      const p = (JSON.parse(local.stdout) as { proxies: { proxy: string; mean: number; scores: number[] }[] }).proxies[0]!;
      t.true(Object.is(l.mean, p.mean), `line ${l.line}: ${l.mean} vs ${p.mean}`);
      t.deepEqual(l.scores, p.scores);
    }
    const text = await zennasAsync('score', file, '--queue', shared.server.url, '--queue-name', 'cli', ...flags, '--no-progress');
    t.is(text.code, 0, text.stderr);
    t.regex(text.stdout, /^line 1: gsnr \d/);
    const list = await zennasAsync('score', file, '--queue', shared.server.url, '--proxy', 'gsnr,snip');
    t.is(list.code, 2);
    t.regex(list.stderr, /--queue scores one proxy per run, --proxy names 2 \(gsnr, snip\)/);
    const foreign = await zennasAsync('score', file, '--queue', shared.server.url, '--proxy', 'snip', '--num-batches', '2');
    t.is(foreign.code, 2);
    t.regex(foreign.stderr, /option 'numBatches' applies to none of the proxies snip/);
  } finally {
    await w.close();
  }
});

withRedis('a job naming an unknown proxy or an option its proxy does not take fails once; the worker keeps serving proxy jobs', async (t) => {
  const w = await startWorker({ redis: shared.server.url, queue: 'badproxy', threads: 1 });
  const q = new Queue('badproxy', { connection: parseRedisUrl(shared.server.url).connection });
  try {
    const call = proxyCall(parseStructure(S), 'snip', { batchSize: 4, resolution: 16, seed: 2 });
    const ok = encodePayload('snip', call.descriptor, call.options);
    const cases: [unknown, RegExp][] = [
      [{ ...ok, proxy: 'snip2' }, /^\[E_OPTION\] job payload: unknown proxy "snip2"; workers score: zen, /],
      [{ ...ok, options: { ...ok.options, numBatches: 4 } }, /^\[E_OPTION\] job payload: options\.numBatches is not an option of proxy 'snip'/],
      [{ ...ok, options: { ...ok.options, init: 'xavier' } }, /^\[E_OPTION\] init must be 'normal' or 'torch', got 'xavier'/],
    ];
    const jobs = await Promise.all(cases.map(([data], i) => q.add('score', data, { jobId: `bp-${i}`, attempts: 5 })));
    const good = await q.add('score', ok, { jobId: 'bp-good', attempts: 5 });
    const states = await settledStates([...jobs, good]);
    t.deepEqual(states, ['failed', 'failed', 'failed', 'completed']);
    for (const [i, [, re]] of cases.entries()) {
      const j = (await q.getJob(`bp-${i}`))!;
      t.regex(j.failedReason, re);
      t.is(j.attemptsMade, 1, `case ${i} was tried once`);
    }
    const local = await shared.engine.run('snip', call.descriptor, call.options as never);
    t.true(Object.is((await q.getJob('bp-good'))!.returnvalue.mean, local.mean));
  } finally {
    await q.obliterate({ force: true }).catch(() => {});
    await q.close();
    await w.close();
  }
});
