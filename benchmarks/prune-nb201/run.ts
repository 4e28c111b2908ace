/**
 * Speed of ξ-GSNR Algorithm 1 on NAS-Bench-201 (issue 17 item 6): one full `zennas prune` run
 * (C 16, N 5, batch 64 × 8 batches, ξ 1e-8, 32×32, seed 0) on the engine, then the same loop in
 * PyTorch written from the definition (torch_prune.py), same thread count, one after the other
 * in one process tree; writes both times, per-round times and the ratio.
 *
 *   npx tsx benchmarks/prune-nb201/run.ts [--threads 2] [--channels 16] [--cells 5] [--batch-size 64]
 *       [--num-batches 8] [--seed 0] [--reduction-pool avg2] [--skip-torch] [--torch-rounds R] [--zennas-from results.json] [--json results.json]
 *
 * --torch-rounds R stops the PyTorch loop after R rounds (the ratio is then per round);
 * --zennas-from reuses the zennas part of an earlier results file (when only PyTorch is rerun).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { Engine } from '../../src/engine/engine';
import { pruneNb201, edgeName } from '../../src/cells/prune';
import { NB201_REDUCTION_POOLS, Nb201ReductionPool } from '../../src/cells/nb201-net';
import { findPython } from '../../test/helpers/python';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const THREADS = Number(arg('--threads') ?? 2);
const C = Number(arg('--channels') ?? 16), N = Number(arg('--cells') ?? 5);
const BATCH = Number(arg('--batch-size') ?? 64), NB = Number(arg('--num-batches') ?? 8);
const SEED = Number(arg('--seed') ?? 0);
const JSON_OUT = arg('--json') ?? path.join(__dirname, 'results-2core-cpu.json');
const TORCH_ROUNDS = Number(arg('--torch-rounds') ?? 0);
const ZENNAS_FROM = arg('--zennas-from');
// The basic block's shortcut pool: NAS-Bench-201's AvgPool2d(2, 2) (zennas's default since the AVGPOOL pad attribute).
const POOL = (arg('--reduction-pool') ?? 'avg2') as Nb201ReductionPool;
if (!NB201_REDUCTION_POOLS.includes(POOL)) throw new Error(`--reduction-pool must be one of ${NB201_REDUCTION_POOLS.join(', ')}`);

interface ZennasPart { seconds: number; evaluations: number; roundSeconds: number[]; genotype: string; index: number; params: number; flops: number }

async function main(): Promise<void> {
  const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', logicalCpus: os.cpus().length, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), loadavgBefore: os.loadavg() };
  const config = { channels: C, cells: N, batchSize: BATCH, numBatches: NB, xi: 1e-8, resolution: 32, seed: SEED, threads: THREADS, reductionPool: POOL };
  let zennas: ZennasPart;
  let out: Record<string, unknown>;
  if (ZENNAS_FROM) {
    const prev = JSON.parse(fs.readFileSync(ZENNAS_FROM, 'utf8')) as Record<string, unknown>;
    zennas = prev.zennas as ZennasPart;
    out = { ...prev, machine: { ...(prev.machine as object), torchLoadavgBefore: os.loadavg() } };
  } else {
    process.stderr.write(`prune-nb201: zennas Algorithm 1, ${JSON.stringify(config)}\n`);
    const engine = new Engine({ threads: THREADS });
    const t0 = performance.now();
    const r = await pruneNb201(engine, {
      proxy: 'gsnr', seed: SEED, net: { channels: C, cells: N, reductionPool: POOL }, engineOptions: { batchSize: BATCH, numBatches: NB, xi: 1e-8, resolution: 32 },
      onProgress: (p) => process.stderr.write(`zennas: round ${p.round}: ${p.done}/${p.total}${p.op ? ` (edge ${edgeName(p.edge!)} without ${p.op})` : ''} ${((performance.now() - t0) / 1000).toFixed(0)} s\n`),
    });
    engine.close();
    zennas = { seconds: r.seconds, evaluations: r.evaluations, roundSeconds: r.rounds.map((x) => x.seconds), genotype: r.genotypeString, index: r.index, params: r.params, flops: r.flops };
    out = { date: new Date().toISOString(), machine, config, zennas: { ...zennas, removed: r.rounds.map((x) => x.removed) } };
    fs.writeFileSync(JSON_OUT, JSON.stringify(out, null, 2) + '\n');
    process.stderr.write(`zennas: ${r.genotypeString} in ${r.seconds.toFixed(1)} s (${r.evaluations} evaluations)\n`);
  }
  const python = findPython(['torch']);
  if (!process.argv.includes('--skip-torch') && python) {
    const p = spawnSync(python, [path.join(__dirname, 'torch_prune.py'), '--channels', String(C), '--cells', String(N), '--batch-size', String(BATCH), '--num-batches', String(NB), '--seed', String(SEED), '--threads', String(THREADS), '--rounds', String(TORCH_ROUNDS), '--reduction-pool', POOL], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
    if (p.status !== 0) throw new Error(`torch_prune.py failed (${p.status})`);
    const tr = JSON.parse(p.stdout) as { seconds: number; evaluations: number; genotype: string[]; rounds: { seconds: number }[]; torch: string };
    out.torch = { seconds: tr.seconds, evaluations: tr.evaluations, roundSeconds: tr.rounds.map((x) => x.seconds), genotype: tr.genotype, version: tr.torch, rounds: tr.rounds.length };
    out.ratio = {
      ...(tr.rounds.length === zennas.roundSeconds.length ? { torchOverZennas: tr.seconds / zennas.seconds } : {}),
      perRound: tr.rounds.map((x, i) => x.seconds / zennas.roundSeconds[i]!),
    };
  } else {
    out.torch = python ? 'skipped (--skip-torch)' : 'skipped: no Python with torch';
  }
  (out.machine as Record<string, unknown>).loadavgAfter = os.loadavg();
  fs.writeFileSync(JSON_OUT, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
