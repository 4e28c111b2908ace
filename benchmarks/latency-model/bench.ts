/**
 * How good is the LUT estimate, measured (issue #15 item 5): random nets of the hardcore space,
 * the LUT estimate (Σ block entries + fixed part) against the whole net measured on the table's
 * own runtime (same batch, threads, warm-up and timed runs; median). Then a learned correction —
 * ridge regression on the block encoding (src/lut/correction.ts), λ by 5-fold CV on the training
 * nets — tested on held-out nets.
 *
 *   zennas lut build --space hardcore --runtime onnxruntime -o benchmarks/latency-model/hardcore-ort-b1.json
 *   npx tsx benchmarks/latency-model/bench.ts --lut benchmarks/latency-model/hardcore-ort-b1.json [--nets 150] [--seed 15] [--train 0.6] [--repeat 30] [--iterations N]
 *       [--passes K [--runs-per-pass R] [--group G] [--pass-warmup W]]   (interleaved protocol; the table's own protocol must match;
 *       G defaults to every net in one group: nets of different groups drift apart; 150 hardcore nets held at once: 6.5 GB RSS)
 *
 * Writes results-<runtime>-b<batch>-<clock>-<statistic>[-il<K>x<R>].json and estimate-vs-measured-<clock>-<statistic>[-il<K>x<R>].svg beside this file.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Sfc32 } from '../../src/rng/sfc32';
import { quantile } from '../../src/latency/stats';
import { renderPlot, Series } from '../../src/report/svg';
import { assertCompatible, estimateLatency, indexLut, lutContext, measureNets, openLutRuntime, readLut } from '../../src/lut';
import { hardcoreLutSpace } from '../../src/lut/hardcore';
import { blockFeatures, fitRidgeCv, predictLatency } from '../../src/lut/correction';
import { HARDCORE_CONFIGS, HardcoreGenotype, HardcoreVariant, hardcoreHeaviest, hardcoreKey, hardcoreLightest, hardcoreStages } from '../../src/spaces/hardcore';

const arg = (name: string, def?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0) return process.argv[i + 1]!;
  if (def === undefined) throw new Error(`--${name} is required`);
  return def;
};
const LUT = arg('lut');
const NETS = Number(arg('nets', '150'));
const SEED = Number(arg('seed', '15'));
const TRAIN = Number(arg('train', '0.6'));
const OUT = path.resolve(arg('out', __dirname));
const REPEAT = Number(arg('repeat', '30'));
/** Timed runs per whole net (default: the table's per piece). */
const ITERATIONS = process.argv.includes('--iterations') ? Number(arg('iterations')) : undefined;
/** Interleaved protocol (src/lut/interleave.ts): --passes K [--runs-per-pass R] [--group G]; absent: one pass per net. */
const INTERLEAVE = process.argv.includes('--passes')
  ? { passes: Number(arg('passes')), runsPerPass: Number(arg('runs-per-pass', '10')), groupSize: Number(arg('group', String(NETS))), passWarmup: Number(arg('pass-warmup', '1')), seed: SEED }
  : undefined;

interface Row { key: string; estimateMs: number; measuredMs: number; p90Ms: number; features: number[]; corrected?: number; split: 'train' | 'test' }

function errorStats(pairs: Array<[number, number]>) {
  const rel = pairs.map(([est, meas]) => Math.abs(est - meas) / meas);
  const signed = pairs.map(([est, meas]) => (est - meas) / meas);
  return {
    n: rel.length,
    medianAbsRelError: quantile(rel, 0.5),
    p95AbsRelError: quantile(rel, 0.95),
    maxAbsRelError: Math.max(...rel),
    meanSignedRelError: signed.reduce((a, b) => a + b, 0) / signed.length,
    within5pct: rel.filter((x) => x <= 0.05).length / rel.length,
  };
}

function randomNet(variant: HardcoreVariant, rng: Sfc32): HardcoreGenotype {
  return { variant, stages: hardcoreStages(variant).map((st) => Array.from({ length: st.minDepth + rng.int(st.maxDepth - st.minDepth + 1) }, () => rng.int(HARDCORE_CONFIGS.length))) };
}

async function main() {
  const lut = readLut(LUT);
  const variant = lut.meta.variant as HardcoreVariant;
  const space = hardcoreLutSpace(variant);
  const ix = indexLut(lut);
  const o = { resolution: lut.meta.resolution, numClasses: lut.meta.numClasses };
  const open = (seed: number) => openLutRuntime({
    runtime: lut.meta.runtime, batchSize: lut.meta.batchSize, threads: lut.meta.threads || 1, warmup: lut.meta.warmup, iterations: ITERATIONS ?? lut.meta.iterations,
    precision: lut.meta.precision, clock: lut.meta.clock, ...(INTERLEAVE ? { interleave: { ...INTERLEAVE, seed } } : {}),
  });
  const rt = await open(SEED);
  assertCompatible(lutContext(lut.meta), rt.context, 'the benchmark measures under the table\'s conditions');
  const rng = new Sfc32(SEED);
  const nets: HardcoreGenotype[] = [hardcoreLightest(variant), hardcoreHeaviest(variant)];
  const seen = new Set(nets.map(hardcoreKey));
  while (nets.length < NETS) {
    const g = randomNet(variant, rng);
    if (!seen.has(hardcoreKey(g))) { seen.add(hardcoreKey(g)); nets.push(g); }
  }
  const load0 = os.loadavg();
  const t0 = Date.now();
  const rows: Row[] = [];
  const stat = (r: { minMs: number; medianMs: number }) => (lut.meta.statistic === 'min' ? r.minMs : r.medianMs); // the table's statistic on both sides
  const measureAll = (r: typeof rt, gs: HardcoreGenotype[]) => measureNets(r, gs.map((g) => space.net(g, o)));
  const measured = await measureAll(rt, nets);
  process.stderr.write(`${nets.length} nets measured, ${((Date.now() - t0) / 1000).toFixed(0)} s, load ${os.loadavg()[0]!.toFixed(2)}\n`);
  for (const [i, g] of nets.entries()) {
    const c = space.toChoices(g);
    const r = measured[i]!;
    rows.push({ key: hardcoreKey(g), estimateMs: estimateLatency(ix, c).ms, measuredMs: stat(r), p90Ms: r.p90Ms, features: blockFeatures(ix, c), split: 'test' });
  }
  rt.close();
  // The noise floor: the first REPEAT nets measured again, an independent measurement under the
  // same protocol (fresh sessions, another visiting order): what no model of the estimate can beat.
  const rt2 = await open(SEED + 1);
  const again = await measureAll(rt2, nets.slice(0, REPEAT));
  rt2.close();
  const repeat = rows.slice(0, REPEAT).map((r, i) => ({ first: r.measuredMs, again: stat(again[i]!), i }));
  const load1 = os.loadavg();
  // Held-out split: a seeded shuffle (the lightest and heaviest nets may land on either side).
  const order = rows.map((_, i) => i);
  const srng = new Sfc32(SEED + 1);
  for (let i = order.length - 1; i > 0; i--) { const j = srng.int(i + 1); [order[i], order[j]] = [order[j]!, order[i]!]; }
  const nTrain = Math.round(TRAIN * rows.length);
  order.forEach((k, i) => { rows[k]!.split = i < nTrain ? 'train' : 'test'; });
  const train = rows.filter((r) => r.split === 'train');
  const test = rows.filter((r) => r.split === 'test');
  // Two targets: the measured ms, and the ratio measured / estimate (errors are judged relative).
  const model = fitRidgeCv(train.map((r) => r.features), train.map((r) => r.measuredMs));
  const ratioModel = fitRidgeCv(train.map((r) => r.features), train.map((r) => r.measuredMs / r.estimateMs));
  const byRatio = (r: Row) => r.estimateMs * predictLatency(ratioModel, r.features);
  // The target with the lower cross-validated relative error on the training nets (for the ratio
  // model, its relative error in the ratio is the relative error in ms).
  const useRatio = ratioModel.cvError < model.cvError;
  for (const r of rows) r.corrected = useRatio ? byRatio(r) : predictLatency(model, r.features);
  const lightest = rows[0]!, heaviest = rows[1]!;
  const result = {
    lut: path.relative(process.cwd(), LUT), space: `${lut.meta.space}/${variant}`, context: lutContext(lut.meta), resolution: o.resolution,
    statistic: lut.meta.statistic, warmup: lut.meta.warmup, iterations: lut.meta.iterations, netIterations: ITERATIONS ?? lut.meta.iterations, overhead: lut.meta.overhead, overheadMs: lut.meta.overheadMs,
    protocol: rt.context.protocol ?? 'sequential', interleave: INTERLEAVE ?? null, nets: rows.length, seed: SEED, train: train.length, test: test.length, seconds: (Date.now() - t0) / 1000,
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, loadBefore: load0, loadAfter: load1 },
    lightest: { measuredMs: lightest.measuredMs, estimateMs: lightest.estimateMs }, heaviest: { measuredMs: heaviest.measuredMs, estimateMs: heaviest.estimateMs },
    estimate: { all: errorStats(rows.map((r) => [r.estimateMs, r.measuredMs])), test: errorStats(test.map((r) => [r.estimateMs, r.measuredMs])) },
    repeatability: repeat.length ? errorStats(repeat.map((x) => [x.again, x.first])) : null,
    corrected: { model: { target: useRatio ? 'measured/estimate' : 'measured', lambda: (useRatio ? ratioModel : model).lambda, cvError: (useRatio ? ratioModel : model).cvError }, train: errorStats(train.map((r) => [r.corrected!, r.measuredMs])), test: errorStats(test.map((r) => [r.corrected!, r.measuredMs])) },
    rows: rows.map(({ features: _f, ...r }) => r),
  };
  const il = INTERLEAVE ? `-il${INTERLEAVE.passes}x${INTERLEAVE.runsPerPass}` : '';  // an interleaved run never overwrites a sequential one's files
  const suffix = `${lut.meta.runtime}-b${lut.meta.batchSize}-${lut.meta.clock}-${lut.meta.statistic}${il}`;
  const name = `results-${suffix}`;
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, `${name}.json`), JSON.stringify(result, null, 1) + '\n');
  const lo = Math.min(...rows.map((r) => Math.min(r.measuredMs, r.estimateMs))) * 0.95;
  const hi = Math.max(...rows.map((r) => Math.max(r.measuredMs, r.estimateMs))) * 1.05;
  const series: Series[] = [
    { label: 'y = x', points: [[lo, lo], [hi, hi]], color: '#444', style: 'line' },
    { label: '+5%', points: [[lo, lo * 1.05], [hi, hi * 1.05]], color: '#999', style: 'line', dashed: true },
    { label: '−5%', points: [[lo, lo * 0.95], [hi, hi * 0.95]], color: '#999', style: 'line', dashed: true },
    { label: 'LUT estimate (all nets)', points: rows.map((r) => [r.measuredMs, r.estimateMs] as const), color: '#1f77b4', style: 'dots', radius: 3, opacity: 0.7 },
    { label: 'corrected (held-out nets)', points: test.map((r) => [r.measuredMs, r.corrected!] as const), color: '#d62728', style: 'dots', radius: 3, opacity: 0.8 },
  ];
  const svg = renderPlot({
    title: `hardcore/${variant}: LUT estimate vs measured, ${lut.meta.runtime} batch ${lut.meta.batchSize}, ${lut.meta.threads} thread(s)`,
    xLabel: `measured whole-net latency (ms, ${lut.meta.statistic})`, yLabel: 'estimated latency (ms)', series, width: 720, height: 480,
  });
  fs.writeFileSync(path.join(OUT, `estimate-vs-measured-${lut.meta.clock}-${lut.meta.statistic}${il}.svg`), `<?xml version="1.0" encoding="UTF-8"?>\n${svg}\n`);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const line = (what: string, s: ReturnType<typeof errorStats>) =>
    `${what.padEnd(28)} n=${String(s.n).padStart(3)}  median ${pct(s.medianAbsRelError)}  p95 ${pct(s.p95AbsRelError)}  max ${pct(s.maxAbsRelError)}  mean signed ${pct(s.meanSignedRelError)}  within 5%: ${pct(s.within5pct)}`;
  process.stdout.write([
    `${rows.length} nets in ${result.seconds.toFixed(0)} s on ${result.machine.cpu} (${result.machine.cores} cores), load ${load0.map((x) => x.toFixed(2)).join('/')} → ${load1.map((x) => x.toFixed(2)).join('/')}`,
    `lightest measured ${lightest.measuredMs.toFixed(3)} ms (estimate ${lightest.estimateMs.toFixed(3)}), heaviest ${heaviest.measuredMs.toFixed(3)} ms (estimate ${heaviest.estimateMs.toFixed(3)})`,
    line('LUT estimate, all nets', result.estimate.all),
    line('LUT estimate, held-out', result.estimate.test),
    line(`corrected (ridge on ${useRatio ? 'ratio' : 'ms'}, λ=${(useRatio ? ratioModel : model).lambda}), train`, result.corrected.train),
    line('corrected, held-out', result.corrected.test),
    ...(result.repeatability ? [line('the same nets measured again', result.repeatability)] : []),
  ].join('\n') + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
