/**
 * Distributed scoring throughput (issue #16), on one machine with a private redis-server:
 *
 *   npx tsc -p tsconfig.json && npx tsx benchmarks/distributed/bench.ts [--candidates 200] [--stand-in-iterations 20000] [--json FILE]
 *
 * Part 1 — workers: the same N CIFAR candidates (Space I, ≤ 1M params, ≤ 18 layers: proposals of a
 *   seeded search, scored as its Zen-score: batch 64, 32×32, 1 repeat) scored through the queue by
 *   1 worker × 1 thread, then by 2 workers × 1 thread (`zennas worker --threads 1`, separate
 *   processes, started and registered before the clock starts). candidates/s = N / wall time from
 *   the first job added to the last result read (`scoreLinesOnQueue`, 64 in flight).
 * Part 2 — coordinator: a real search (`runSearch` + the queue Evaluator, --in-flight 256,
 *   population 512, with --out: checkpoints and the pruning of covered jobs; 1 and 32 candidates
 *   per job) against stand-in workers (`zennas worker --stand-in --concurrency 256`: a score
 *   hashed from the job, no engine), so the rate is the coordinator's + Redis' own ceiling; and the
 *   same number of candidates without the search loop (scoreLinesOnQueue, 1024 in flight, 1 and 32
 *   per job) for the queue alone.
 * The machine's load average is recorded before and after: on a shared machine it bounds what the
 * numbers mean.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, execSync, spawn } from 'child_process';
import { runSearch, SearchConfig } from '../../src/search/evolution';
import { searchConfig } from '../../src/search/config';
import { readCandidatesFile } from '../../src/search/store';
import { checkpointWatcher, listWorkers, openRedis, parseRedisUrl, queueEvaluator, scoreLinesOnQueue } from '../../src/distributed';
import { startRedis } from '../../test/helpers/redis';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('--candidates', 200);
const STAND_IN_ITER = arg('--stand-in-iterations', 20000);
const jsonIdx = process.argv.indexOf('--json');
const jsonOut = jsonIdx > 0 ? process.argv[jsonIdx + 1] : path.join(__dirname, 'results-2core-cpu.json');
const BIN = path.resolve(__dirname, '../../dist/src/cli/zennas-bin.js');
const now = () => performance.now() / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function worker(url: string, queue: string, extra: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, 'worker', '--redis', url, '--queue', queue, '--quiet', ...extra], { stdio: 'inherit' });
}
async function waitWorkers(url: string, queue: string, n: number): Promise<void> {
  const redis = openRedis(parseRedisUrl(url).connection, 'bench');
  try {
    for (let i = 0; i < 600; i++) {
      if ((await listWorkers(redis, queue)).length >= n) return;
      await sleep(100);
    }
    throw new Error(`${n} workers did not register`);
  } finally {
    redis.disconnect();
  }
}
const stop = async (ps: ChildProcess[]) => {
  await Promise.all(ps.map((p) => new Promise<void>((r) => { if (p.exitCode !== null) r(); else { p.once('exit', () => r()); p.kill('SIGTERM'); } })));
};

async function main() {
  if (!fs.existsSync(BIN)) throw new Error(`build the CLI first: npx tsc -p tsconfig.json (${BIN} is missing)`);
  const load0 = os.loadavg();
  const server = await startRedis();
  const url = server.url;
  const result: Record<string, unknown> = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, platform: `${os.platform()} ${os.release()}`, redis: execSync('redis-server --version').toString().trim() },
    commit: execSync('git rev-parse HEAD', { cwd: __dirname }).toString().trim(),
    date: new Date().toISOString(),
    loadAverageBefore: load0.map((x) => +x.toFixed(2)),
  };
  try {
    // ---- the candidates: budget-fitting proposals of a seeded CIFAR search (counted, no engine).
    const propose: SearchConfig = searchConfig({ space: 'I', preset: 'cifar', proxy: 'flops', iterations: 4 * N, population: 64, seed: 1, inFlight: 8 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-bench-dist-'));
    await runSearch(propose, { outDir: dir });
    const structures = [...new Set(readCandidatesFile(path.join(dir, 'candidates.jsonl')).map((r) => r.structure))].slice(0, N);
    if (structures.length < N) throw new Error(`only ${structures.length} distinct candidates`);
    const text = structures.join('\n') + '\n';
    const zen = { batchSize: 64, resolution: 32, repeats: 1, seed: 0, mode: 'paper' as const, alpha: 0.01, bnEps: 1e-5, se: false };

    // ---- part 1: 1 worker × 1 thread vs 2 workers × 1 thread, same candidates.
    const part1: Record<string, unknown> = {};
    for (const n of [1, 2]) {
      const queue = `w${n}`;
      const ps = Array.from({ length: n }, () => worker(url, queue, ['--threads', '1', '--concurrency', '1']));
      await waitWorkers(url, queue, n);
      // A different seed per configuration: no job id is shared, every candidate is scored afresh.
      const t0 = now();
      const r = await scoreLinesOnQueue(text, { ...zen, seed: n }, { redis: url, queue, inFlight: 64 }, () => {});
      const wall = now() - t0;
      await stop(ps);
      if (r.scored !== N) throw new Error(`part 1 (${n} workers): ${r.failed} candidates failed`);
      part1[`${n}x1`] = { workers: n, threads: 1, candidates: N, wallSeconds: +wall.toFixed(3), candidatesPerSecond: +(N / wall).toFixed(2) };
      process.stderr.write(`part 1: ${n} worker(s) × 1 thread: ${N} candidates in ${wall.toFixed(2)} s = ${(N / wall).toFixed(2)} candidates/s\n`);
    }
    const s1 = (part1['1x1'] as { candidatesPerSecond: number }).candidatesPerSecond;
    const s2 = (part1['2x1'] as { candidatesPerSecond: number }).candidatesPerSecond;
    part1.speedup = +(s2 / s1).toFixed(3);
    result.workers = part1;

    // ---- part 2: the coordinator against stand-in workers.
    const ps = [worker(url, 'standin', ['--stand-in', '--concurrency', '256'])];
    await waitWorkers(url, 'standin', 1);
    const searches: Record<string, unknown>[] = [];
    let scored = 0;
    for (const jobSize of [1, 32]) {
      // A seed per job size: no job is shared between the two runs.
      const cfg: SearchConfig = searchConfig({ space: 'I', preset: 'cifar', iterations: STAND_IN_ITER, population: 512, seed: 2 + jobSize, inFlight: 256 });
      const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-bench-dist-run-'));
      const ev = await queueEvaluator(cfg, { redis: url, queue: 'standin', jobSize, coveredIteration: checkpointWatcher(runDir) });
      const t0 = now();
      const res = await runSearch(cfg, { evaluator: ev, outDir: runDir });
      const wall = now() - t0;
      await ev.close();
      scored = res.state.counts.scored;
      process.stderr.write(`part 2: search (--out, checkpoints) + queue + stand-in, ${jobSize} candidate(s) per job: ${scored} candidates in ${wall.toFixed(2)} s = ${(scored / wall).toFixed(0)} candidates/s (TS loop ${(100 * res.tsShare).toFixed(1)} % of wall)\n`);
      searches.push({ jobSize, iterations: STAND_IN_ITER, inFlight: 256, population: 512, scored, wallSeconds: +wall.toFixed(3), candidatesPerSecond: Math.round(scored / wall), tsShare: +res.tsShare.toFixed(3) });
    }
    // The queue alone: the same number of jobs, no search loop.
    const many = Array.from({ length: Math.min(20000, scored) }, (_, i) => structures[i % structures.length]).join('\n');
    const queueAlone: Record<string, unknown>[] = [];
    for (const jobSize of [1, 32]) {
      const t1 = now();
      const q = await scoreLinesOnQueue(many, { ...zen, seed: 99 + jobSize }, { redis: url, queue: 'standin', inFlight: 1024, jobSize }, () => {});
      const wallQ = now() - t1;
      process.stderr.write(`part 2: queue alone, ${jobSize} candidate(s) per job: ${q.scored} candidates in ${wallQ.toFixed(2)} s = ${(q.scored / wallQ).toFixed(0)} candidates/s\n`);
      queueAlone.push({ jobSize, candidates: q.scored, inFlight: 1024, wallSeconds: +wallQ.toFixed(3), candidatesPerSecond: Math.round(q.scored / wallQ) });
    }
    await stop(ps);
    result.coordinator = {
      searches,
      queueAlone,
    };
  } finally {
    await server.stop();
  }
  result.loadAverageAfter = os.loadavg().map((x) => +x.toFixed(2));
  result.method = 'benchmarks/distributed/bench.ts: one private redis-server on 127.0.0.1 (no persistence), workers as `zennas worker` processes of the compiled CLI on the same machine; wall times by performance.now() around the scoring only (workers registered first).';
  fs.writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
