/**
 * Per-evaluation speed of Algorithm 1's inner step on NAS-Bench-201 (C 16, N 5, gsnr at batch
 * 64 × 8, 32×32): the first K evaluations of round 1 (N_0, then N_0 \ o for the first candidates,
 * in Algorithm 1's order) on the engine, then the same K in PyTorch (torch_prune.py
 * --max-evaluations K), one after the other, same thread count. Records wall and process CPU
 * seconds (all threads): on a machine shared with other work, CPU seconds are the fairer ratio.
 *
 *   npx tsx benchmarks/prune-nb201/compare.ts [--evaluations 3] [--threads 2] [--json FILE]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { Engine } from '../../src/engine/engine';
import { NB201_OPS, Nb201Op } from '../../src/cells/nb201';
import { nb201SupernetProxyGraph, runCellProxy } from '../../src/cells/lowering';
import { findPython } from '../../test/helpers/python';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const K = Number(arg('--evaluations') ?? 3);
const THREADS = Number(arg('--threads') ?? 2);
const JSON_OUT = arg('--json') ?? path.join(__dirname, 'results-eval-compare.json');

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const edges: Nb201Op[][] = Array.from({ length: 6 }, () => NB201_OPS.filter((o) => o !== 'none'));
  const masks: Nb201Op[][][] = [edges];
  for (let e = 0; e < 6 && masks.length < K; e++) for (const op of edges[e]!) if (masks.length < K) masks.push(edges.map((ops, i) => (i === e ? ops.filter((o) => o !== op) : ops)));
  const engine = new Engine({ threads: THREADS });
  const per: { wall: number; cpu: number; score: number }[] = [];
  for (const m of masks) {
    const g = nb201SupernetProxyGraph(m, 'gsnr', { slots: NB201_OPS });
    const w = performance.now(), c = process.cpuUsage();
    const r = await runCellProxy(engine, 'gsnr', g, { batchSize: 64, numBatches: 8, xi: 1e-8, resolution: 32, seed: 0, repeats: 1 });
    const cu = process.cpuUsage(c);
    per.push({ wall: (performance.now() - w) / 1000, cpu: (cu.user + cu.system) / 1e6, score: r.mean });
    process.stderr.write(`zennas: evaluation ${per.length}/${K}: ${per[per.length - 1]!.wall.toFixed(1)} s wall, ${per[per.length - 1]!.cpu.toFixed(1)} s CPU\n`);
  }
  engine.close();
  const sum = (xs: { wall: number; cpu: number }[], k: 'wall' | 'cpu') => xs.reduce((a, x) => a + x[k], 0);
  const out: Record<string, unknown> = {
    date: new Date().toISOString(), machine: { cpu: os.cpus()[0]?.model ?? 'unknown', logicalCpus: os.cpus().length, loadBefore },
    config: { channels: 16, cells: 5, batchSize: 64, numBatches: 8, xi: 1e-8, resolution: 32, threads: THREADS, evaluations: K, reductionPool: 'avg2' },
    zennas: { perEvaluation: per, wall: sum(per, 'wall'), cpu: sum(per, 'cpu') },
  };
  fs.writeFileSync(JSON_OUT, JSON.stringify(out, null, 2) + '\n');
  const python = findPython(['torch']);
  if (python) {
    const p = spawnSync(python, [path.join(__dirname, 'torch_prune.py'), '--threads', String(THREADS), '--max-evaluations', String(K)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
    if (p.status !== 0) throw new Error(`torch_prune.py failed (${p.status})`);
    const tr = JSON.parse(p.stdout) as { perEvaluation: { wall: number; cpu: number }[]; torch: string };
    out.torch = { perEvaluation: tr.perEvaluation, wall: sum(tr.perEvaluation, 'wall'), cpu: sum(tr.perEvaluation, 'cpu'), version: tr.torch };
    out.ratio = { cpu: sum(tr.perEvaluation, 'cpu') / sum(per, 'cpu'), wall: sum(tr.perEvaluation, 'wall') / sum(per, 'wall') };
  }
  (out.machine as Record<string, unknown>).loadAfter = os.loadavg();
  fs.writeFileSync(JSON_OUT, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
