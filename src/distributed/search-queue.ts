/**
 * `zennas search --queue` / `zennas score --queue`: the queue evaluator with what a command needs
 * around it — results pruned once the run's checkpoint covers them, and a progress line
 * (workers, jobs queued / running / done, candidates/s) on stderr.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readCheckpoint, RUN_FILES } from '../search/store';
import type { SearchConfig } from '../search/types';
import { queueEvaluator, QueueEvaluator, QueueStats } from './coordinator';

/** One progress line: `queue: 3 workers (12 slots) | queued 40 | running 12 | done 1200 | 35.2 cand/s`. */
export function formatQueueStats(s: QueueStats, extra = ''): string {
  return `queue: ${s.workers} workers (${s.slots} slots) | queued ${s.queued} | running ${s.running} | done ${s.done} | ${s.candidatesPerSecond.toFixed(1)} cand/s${extra}`;
}

/** The iteration a run directory's checkpoint covers (0 without one), re-read only when the file changed. */
export function checkpointWatcher(outDir: string): () => number {
  const file = path.join(outDir, RUN_FILES.checkpoint);
  let mtime = -1;
  let covered = 0;
  return () => {
    try {
      const m = fs.statSync(file).mtimeMs;
      if (m !== mtime) {
        covered = readCheckpoint(outDir).state.iteration;
        mtime = m;
      }
    } catch {
      // none yet, or being replaced: keep what was known
    }
    return covered;
  };
}

/** Settings of a command's queue. */
export interface CommandQueueOptions {
  url: string;
  queueName?: string;
  /** The run directory (search --out): results are kept until its checkpoint covers them. */
  outDir?: string;
  /** Print progress lines every `progressSeconds` (default 2) to `write`. */
  progress?: boolean;
  progressSeconds?: number;
  write?: (line: string) => void;
  /** Extra text of the progress line (e.g. the search's iteration). */
  status?: () => string;
  runId?: string;
  /** Candidates per job (QueueEvaluatorOptions.jobSize; default 1). */
  jobSize?: number;
}

/** The queue evaluator of a command, its progress line running; stop() ends both. */
export async function openCommandQueue<G>(config: SearchConfig, o: CommandQueueOptions): Promise<{ evaluator: QueueEvaluator<G>; stop(): Promise<void> }> {
  const evaluator = await queueEvaluator<G>(config, {
    redis: o.url, queue: o.queueName, runId: o.runId, jobSize: o.jobSize,
    ...(o.outDir ? { coveredIteration: checkpointWatcher(o.outDir) } : {}),
  });
  // On a terminal the stats line rewrites itself; elsewhere (logs, pipes) one plain line each time.
  const tty = !o.write && !!process.stderr.isTTY;
  let open = false;
  const write = o.write ?? ((l: string) => {
    if (tty && l.startsWith('queue: ') && /\| done /.test(l)) {
      process.stderr.write(`\r\x1b[Kzennas: ${l}`);
      open = true;
    } else {
      process.stderr.write(`${open ? '\n' : ''}zennas: ${l}\n`);
      open = false;
    }
  });
  let timer: NodeJS.Timeout | undefined;
  let busy = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    evaluator.stats().then((s) => write(formatQueueStats(s, o.status?.() ?? '')), () => {}).finally(() => { busy = false; });
  };
  if (o.progress) {
    write(`queue: scoring on the workers of queue '${o.queueName ?? 'zennas'}' at ${evaluator.display} (run ${evaluator.runId})`);
    timer = setInterval(tick, (o.progressSeconds ?? 2) * 1000);
    timer.unref();
  }
  return {
    evaluator,
    async stop() {
      if (timer) clearInterval(timer);
      if (open) process.stderr.write('\n');
      await evaluator.close();
    },
  };
}
