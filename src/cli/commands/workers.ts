import { Command } from 'commander';
import Table from 'cli-table3';
import { parseRedisUrl } from '../../distributed/connection';
import { DEFAULT_QUEUE, checkQueueName } from '../../distributed/names';
import { listWorkers, openRedis } from '../../distributed/registry';
import { ZennasError } from '../../errors';

/** `zennas workers`: the live workers of a queue (registry heartbeats). */
export function registerWorkersCommand(program: Command): void {
  program
    .command('workers')
    .description('list the live workers of a Redis queue: host, backend, threads, jobs done, last seen')
    .requiredOption('--redis <url>', 'redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://… (password also from ZENNAS_REDIS_PASSWORD)')
    .option('--queue <name>', 'queue name', DEFAULT_QUEUE)
    .option('--json', 'print a JSON array')
    .addHelpText('after', `
Examples:
  $ zennas workers --redis redis://10.0.0.5:6379   # needs: a Redis server with workers (zennas worker)
  $ zennas workers --redis redis://10.0.0.5:6379 --queue cifar --json   # needs: a Redis server with workers`)
    .action(async (f: { redis: string; queue: string; json?: boolean }) => {
      const target = parseRedisUrl(f.redis, '--redis', process.env.ZENNAS_REDIS_PASSWORD);
      const queue = checkQueueName(f.queue);
      const redis = openRedis({ ...target.connection, maxRetriesPerRequest: 1 as never, retryStrategy: () => null as never }, 'zennas-workers');
      let lastError = '';
      redis.on('error', (e: Error) => { lastError = e.message; });
      try {
        const workers = await Promise.race([
          listWorkers(redis, queue),
          new Promise<never>((_, rej) => setTimeout(() => rej(new Error(lastError || 'no answer within 10 s')), 10_000).unref()),
        ]).catch((e: Error) => { throw new ZennasError('E_BACKEND', `cannot list workers at ${target.display}: ${lastError || e.message}`); });
        const now = Date.now();
        if (f.json) {
          process.stdout.write(JSON.stringify(workers.map((w) => ({ ...w, lastSeenSecondsAgo: (now - w.lastSeen) / 1000 }))) + '\n');
          return;
        }
        if (workers.length === 0) {
          process.stdout.write(`no live workers on queue '${queue}' at ${target.display}\n`);
          return;
        }
        const t = new Table({ head: ['worker', 'host', 'backend', 'threads', 'conc.', 'running', 'done', 'failed', 'last seen'] });
        for (const w of workers) {
          t.push([w.id, w.host, w.mode === 'stand-in' ? 'stand-in' : w.backend, w.threads, w.concurrency, w.running, w.jobsDone, w.jobsFailed, `${((now - w.lastSeen) / 1000).toFixed(1)} s ago`]);
        }
        process.stdout.write(`${t.toString()}\n${workers.length} workers, ${workers.reduce((s, w) => s + w.concurrency, 0)} job slots on queue '${queue}' at ${target.display}\n`);
      } finally {
        redis.disconnect();
      }
    });
}
