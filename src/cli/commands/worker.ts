import { Command } from 'commander';
import { ZennasError } from '../../errors';
import { startWorker } from '../../distributed/worker';
import { parseRedisUrl } from '../../distributed/connection';
import { DEFAULT_QUEUE } from '../../distributed/names';
import { intOption } from '../structure-input';
import { FileScoreOptions, scoreLinesOnQueue } from '../../distributed/score-file';
import { ProxyName } from '../../proxies/table';
import { parseProxyList } from '../../proxies/score';
import { ProxyFlags, proxyFlagOptions } from './proxies';
import { formatQueueStats } from '../../distributed/search-queue';
import { readRegularText } from '../../util/files';

interface WorkerFlags {
  redis: string; backend: string; threads?: number; concurrency: number; queue: string;
  standIn?: boolean; standInDelay?: number; lockDuration: number; stalledInterval: number; quiet?: boolean;
}

/** `zennas worker`: serve scoring jobs of a Redis queue with this machine's engine. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('serve scoring jobs from a Redis queue (BullMQ) on this machine\'s engine, for `zennas search --queue` / `zennas score --queue`')
    .requiredOption('--redis <url>', 'redis://[:PASSWORD@]HOST:PORT[/DB], or rediss://… for TLS (password also from ZENNAS_REDIS_PASSWORD; a private CA from ZENNAS_REDIS_CA)')
    .option('--backend <name>', "engine of the Zen-score: 'cpu' or 'cuda' (the other proxies run on a CPU engine)", 'cpu')
    .option('-t, --threads <n>', 'engine threads, shared by the jobs running at once (default: all cores)', intOption('--threads', 1, 1024))
    .option('--concurrency <n>', 'jobs run at once', intOption('--concurrency', 1, 1024), 1)
    .option('--queue <name>', 'queue name (the search\'s --queue-name)', DEFAULT_QUEUE)
    .option('--stand-in', 'test mode: no engine; answer every valid job at once with a score hashed from the job (measures the coordinator and Redis alone)')
    .option('--stand-in-delay <ms>', 'test mode: the stand-in answers after this many ms', intOption('--stand-in-delay', 0, 86_400_000))
    .option('--lock-duration <ms>', 'job lock: a worker silent this long loses its job to another worker', intOption('--lock-duration', 100, 86_400_000), 30_000)
    .option('--stalled-interval <ms>', 'how often this worker looks for jobs whose worker died', intOption('--stalled-interval', 100, 86_400_000), 30_000)
    .option('-q, --quiet', 'no log lines (start, failed jobs, stalls)')
    .addHelpText('after', `
A worker runs until stopped: SIGINT/SIGTERM finishes the jobs it is running and exits; a second
signal hands them back at once (another worker retries them after --lock-duration).
A job whose payload is malformed, too large, names an unknown proxy or carries an option its
proxy does not take (checked against the proxy table before any engine sees it), or that the
engine refuses (bad descriptor, option values, out of memory), fails once with its error and is not
retried; the worker goes on. Run one worker per machine (or per GPU, with --backend cuda and CUDA_VISIBLE_DEVICES).

Examples:
  $ zennas worker --redis redis://10.0.0.5:6379 --threads 16   # needs: a Redis server (one command per worker machine)
  $ ZENNAS_REDIS_PASSWORD=secret zennas worker --redis rediss://redis.internal:6380/2 --backend cuda   # needs: a Redis server with TLS and a GPU
  $ zennas worker --redis redis://127.0.0.1:6379 --stand-in --concurrency 64   # needs: a Redis server (a stand-in worker for the coordinator benchmark)`)
    .action(async (f: WorkerFlags) => {
      if (f.backend !== 'cpu' && f.backend !== 'cuda') throw new ZennasError('E_OPTION', `--backend must be 'cpu' or 'cuda', got '${f.backend}'`);
      if (f.standInDelay !== undefined && !f.standIn) throw new ZennasError('E_OPTION', '--stand-in-delay needs --stand-in');
      const target = parseRedisUrl(f.redis, '--redis', process.env.ZENNAS_REDIS_PASSWORD);
      const log = f.quiet ? () => {} : (l: string) => process.stderr.write(`zennas worker: ${l}\n`);
      const w = await startWorker({
        redis: target, queue: f.queue, backend: f.backend as 'cpu' | 'cuda', threads: f.threads, concurrency: f.concurrency,
        standIn: f.standIn ? { delayMs: f.standInDelay ?? 0 } : undefined, lockDuration: f.lockDuration, stalledInterval: f.stalledInterval, onLog: log,
      });
      log(`${w.id} serving queue '${f.queue}' at ${target.display}: ${f.standIn ? 'stand-in (test mode, no engine)' : `backend ${f.backend}${f.threads ? `, ${f.threads} threads` : ''}`}, concurrency ${f.concurrency}`);
      await new Promise<void>((resolve) => {
        let stops = 0;
        const stop = (sig: string) => {
          stops++;
          if (stops === 1) {
            log(`${sig}: finishing the running jobs (${w.counts.running}); again to hand them back now`);
            void w.close(false).then(() => { process.exitCode = 0; resolve(); });
          } else {
            log(`${sig}: handing the running jobs back`);
            void w.close(true).finally(() => { process.exitCode = 130; resolve(); });
          }
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
      });
      log(`stopped after ${w.counts.done} jobs (${w.counts.failed} failed)`);
    });
}

/**
 * `zennas score FILE --queue URL [--proxy NAME]`: every structure of FILE (one per line) scored on
 * the workers with the Zen-score or one proxy of the table, printed in line order. The options are
 * those `zennas score [--proxy NAME]` of one line uses, so each result equals the local one.
 */
export async function scoreFileOnQueue(file: string, f: {
  queue: string; queueName?: string; resolution: number; batchSize: number; repeats: number; seed: number; mode: string;
  alpha: string; bnEps: string; se?: boolean; json?: boolean; progress: boolean; proxy?: string;
} & Partial<ProxyFlags>, cmd: Command): Promise<void> {
  const num = (flag: string, v: string) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new ZennasError('E_OPTION', `${flag} must be a positive number, got '${v}'`);
    return x;
  };
  if (f.mode !== 'paper' && f.mode !== 'official') throw new ZennasError('E_OPTION', `--mode must be 'paper' or 'official', got '${f.mode}'`);
  if ((f as { backend?: unknown }).backend !== undefined && (f as { backend?: unknown }).backend !== 'cpu') throw new ZennasError('E_OPTION', "--backend does not apply with --queue: the workers' --backend decides");
  let proxy: ProxyName = 'zen';
  if (f.proxy !== undefined) {
    const names = parseProxyList(f.proxy);
    if (names.length !== 1) throw new ZennasError('E_OPTION', `--queue scores one proxy per run, --proxy names ${names.length} (${names.join(', ')}): run it once per proxy`);
    proxy = names[0]!;
  }
  const options: FileScoreOptions = f.proxy !== undefined
    ? { proxy, ...proxyFlagOptions(f as ProxyFlags, cmd) }
    : { batchSize: f.batchSize, resolution: f.resolution, repeats: f.repeats, seed: f.seed, mode: f.mode as 'paper' | 'official', alpha: num('--alpha', f.alpha), bnEps: num('--bn-eps', f.bnEps), se: !!f.se };
  const target = parseRedisUrl(f.queue, '--queue', process.env.ZENNAS_REDIS_PASSWORD);
  const text = readRegularText(file, { maxBytes: 1 << 30, what: 'structure list' });
  const out = (s: string) => process.stdout.write(s + '\n');
  const showStats = f.progress && !f.json;
  const label = proxy === 'zen' ? 'Zen-score' : proxy;
  const fmt = proxy === 'zen' ? (x: number) => x.toFixed(4) : fmtScore;
  const r = await scoreLinesOnQueue(text, options, { redis: target, queue: f.queueName, onStats: showStats ? (s) => process.stderr.write(`zennas: ${formatQueueStats(s)}\n`) : undefined }, (l) => {
    if (f.json) out(JSON.stringify(proxy === 'zen' ? l : { proxy, ...l }));
    else out(l.error !== undefined ? `line ${l.line}: error: ${l.error}` : `line ${l.line}: ${label} ${l.mean === null ? (proxy === 'zen' ? '-inf' : 'n/a') : fmt(l.mean)}${l.ci95 !== undefined && f.repeats > 1 ? ` ± ${fmt(l.ci95)}` : ''}  ${l.structure}`);
  });
  if (!f.json) process.stderr.write(`zennas: ${r.scored} structures scored, ${r.failed} failed, on queue '${f.queueName ?? 'zennas'}' at ${target.display}\n`);
  if (r.scored === 0 && r.failed > 0) process.exitCode = 1;
}

/** Four decimals, or an exponent for the proxies whose values are huge or tiny (synflow, gsnr). */
function fmtScore(x: number): string {
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e6 || a < 1e-3) ? x.toExponential(4) : x.toFixed(4);
}
