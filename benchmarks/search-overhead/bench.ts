/**
 * Search-loop overhead: how much of a Zen-NAS search is the TypeScript loop (mutate, validate,
 * count, lower, encode, bookkeeping) and how much is the engine.
 *
 *   npx tsx benchmarks/search-overhead/bench.ts [--iterations N] [--engine-iterations N] [--json FILE]
 *
 * Part 1 runs the loop with a free scorer (pure TS cost per proposal). Part 2, when the native
 * engine loads, runs real CIFAR searches with engine.zenScore at 1/2/4 candidates in flight.
 */
import * as os from 'os';
import * as fs from 'fs';
import { runSearch, SearchConfig, Scorer } from '../../src/search/evolution';
import { engineScorer, openEngine } from '../../src/search/engine-scorer';
import { getSpace, getPreset } from '../../src/spaces';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const ITER = arg('--iterations', 3000);
const ENGINE_ITER = arg('--engine-iterations', 64);
const jsonIdx = process.argv.indexOf('--json');
const jsonOut = jsonIdx > 0 ? process.argv[jsonIdx + 1] : undefined;

function config(space: string, preset: string, over: Partial<SearchConfig> = {}): SearchConfig {
  const p = getPreset(getSpace(space), preset);
  return {
    space, preset, initial: p.initial, resolution: p.resolution, numClasses: p.numClasses, se: false,
    budgets: { params: p.budgetParams, flops: p.budgetFlops, layers: p.maxLayers }, population: 512, iterations: ITER,
    seed: 1, inFlight: 4, rho: 'paper', scoring: {}, ...over,
  };
}

const free: Scorer = async (_s, d) => ({ score: d.length + Math.random(), seconds: 0 });

async function main() {
  const results: Record<string, unknown>[] = [];
  console.log(`node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'})\n`);
  console.log('Part 1 — TS loop only (free scorer)');
  console.log('space preset    proposals/s  TS ms/proposal  TS ms/scored  scored');
  for (const [space, preset] of [['I', 'cifar'], ['I', 'imagenet'], ['II', 'cifar'], ['II', 'imagenet']] as const) {
    const r = await runSearch(config(space, preset), { scorer: free });
    const s = r.state;
    const row = {
      part: 'ts-only', space, preset, proposals: s.counts.proposed, scored: s.counts.scored,
      proposalsPerSecond: s.counts.proposed / s.timing.wallSeconds,
      tsMsPerProposal: (1000 * s.timing.tsSeconds) / s.counts.proposed,
      tsMsPerScored: (1000 * s.timing.tsSeconds) / Math.max(1, s.counts.scored),
    };
    results.push(row);
    console.log(`${space.padEnd(5)} ${preset.padEnd(9)} ${row.proposalsPerSecond.toFixed(0).padStart(11)}  ${row.tsMsPerProposal.toFixed(3).padStart(14)}  ${row.tsMsPerScored.toFixed(3).padStart(12)}  ${s.counts.scored}`);
  }

  let engineOk = true;
  try {
    openEngine('cpu', 1).close();
  } catch (e) {
    engineOk = false;
    console.log(`\nPart 2 skipped: ${(e as Error).message}`);
  }
  if (engineOk) {
    console.log(`\nPart 2 — CIFAR Space I, Zen-score batch 64, repeat 1, ${ENGINE_ITER} iterations`);
    console.log('in-flight threads  cand/s  engine ms/cand  TS ms/cand  TS share');
    const cores = os.availableParallelism();
    for (const [inFlight, threads] of [[1, cores], [2, cores], [4, cores], [2, 1]] as const) {
      const engine = openEngine('cpu', threads);
      try {
        const scorer = engineScorer(engine, { batchSize: 64, resolution: 32, repeats: 1, seed: 1, mode: 'paper', alpha: 0.01, bnEps: 1e-5 });
        const r = await runSearch(config('I', 'cifar', { iterations: ENGINE_ITER, inFlight }), { scorer });
        const s = r.state;
        const row = {
          part: 'engine', space: 'I', preset: 'cifar', inFlight, threads, scored: s.counts.scored,
          candidatesPerSecond: s.counts.scored / s.timing.wallSeconds,
          engineMsPerCandidate: (1000 * s.timing.engineSeconds) / s.counts.scored,
          tsMsPerCandidate: (1000 * s.timing.tsSeconds) / s.counts.scored,
          tsShare: s.timing.tsSeconds / s.timing.wallSeconds,
          bestScore: r.best?.score,
        };
        results.push(row);
        console.log(`${String(inFlight).padStart(9)} ${String(threads).padStart(7)}  ${row.candidatesPerSecond.toFixed(2).padStart(6)}  ${row.engineMsPerCandidate.toFixed(1).padStart(14)}  ${row.tsMsPerCandidate.toFixed(3).padStart(10)}  ${(100 * row.tsShare).toFixed(2).padStart(7)}%`);
      } finally {
        engine.close();
      }
    }
  }
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ node: process.version, cores: os.cpus().length, results }, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
