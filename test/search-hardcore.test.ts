/**
 * Hard-constrained search with a latency lookup table (issue #15 items 6–7): children over the
 * budget by the LUT estimate are repaired (greedy MCKP) or rejected before scoring; at the end the
 * top candidates are measured and the best one within the budget *by measurement* is returned.
 *   1. a made-up LUT-able space and a fake runtime whose measurements differ from the estimate
 *      (so that some estimate-feasible nets are over the budget when measured);
 *   2. the hardcore space end to end through the CLI at 32×32 on onnxruntime (the fast runtime of
 *      CI): `zennas lut build`, `lut estimate`, `search --lut` under a budget halfway between the
 *      lightest and the heaviest net; the result meets the budget by measurement.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runSearch, SearchConfig } from '../src/search/evolution';
import { buildSummary } from '../src/search/summary';
import { Lut, buildLut, lutEstimator, lutLatencySource, lutRepair, measureTopCandidates } from '../src/lut';
import { onnxRuntimeStatus } from '../src/latency';
import { zennas, zennasWithEnv } from './helpers/cli';
import { CTX, Toy, blockMs, encode, registerToyLutSpace } from './helpers/toy-lut-space';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-hc-'));

// ---- A made-up LUT-able space (test/helpers/toy-lut-space.ts): configurations 0..3, heavier with the index.
/** Measured whole net: the sum of its blocks, off by a key-dependent −8…+12 % (what a LUT cannot see). */
const wholeMs = (g: Toy) => {
  const sum = 2 + g.reduce((a, b, s) => a + b.reduce((x, c, j) => x + blockMs(s, j, c), 0), 0);
  let h = 2166136261;
  for (const ch of encode(g)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return sum * (0.92 + 0.2 * (h / 2 ** 32));
};
const { toyLut, toySpace, decode, fakeRuntime } = registerToyLutSpace({
  id: 'TOYLUT', title: 'toy LUT space', configs: ['c0', 'c1', 'c2', 'c3'], wholeMs, strictDecode: true,
});

test('LUT search on a made-up space: rejected or repaired before scoring, the result within the budget by measurement', async (t) => {
  const lut: Lut = await buildLut(toyLut, fakeRuntime(), { resolution: 8, numClasses: 0, warmup: 0, iterations: 1 });
  const est = lutEstimator(toyLut, lut);
  const lightest = est.estimate([[0], [0], [0]]);
  const heaviest = est.estimate([[3, 3, 3], [3, 3, 3], [3, 3, 3]]);
  const budgetMs = (lightest + heaviest) / 2;
  const scored: Toy[] = [];
  // The score rewards FLOPs: the search presses against the budget, so repairs and rejections happen.
  const scorer = async (g: Toy) => { scored.push(g); return toySpace.count(g, { resolution: 8, numClasses: 0, se: false }).flops; };
  let caught = 0; // nets within the budget by estimate but over it when measured
  for (const repair of [true, false]) {
    scored.length = 0;
    const config: SearchConfig = {
      space: 'TOYLUT', preset: 'v', initial: '0|0|0', resolution: 8, numClasses: 0, se: false, budgets: { latencyMs: budgetMs },
      population: 16, iterations: 300, seed: 3, inFlight: 2, rho: 'paper', scoring: { latencyBackend: 'lut:fake' },
    };
    const rep = lutRepair(est);
    const rt = fakeRuntime();
    let top = 0;
    const result = await runSearch<Toy>(config, {
      scorer, latency: lutLatencySource(est), ...(repair ? { repair: rep } : {}),
      verify: async (r) => {
        const check = await measureTopCandidates(r.state.population, decode, est, rt, { budgetMs, top: 5, resolution: 8, numClasses: 0 });
        top = check.measured.length;
        r.latencyCheck = check;
        r.best = check.chosen ? r.state.population.find((m) => m.structure === check.chosen!.structure)! : null;
      },
    });
    // Nothing over the budget by estimate was ever scored.
    for (const g of scored) t.true(est.estimate(g) <= budgetMs, `scored ${encode(g)}: estimate ${est.estimate(g)} > ${budgetMs}`);
    if (repair) t.true(rep.repaired > 10, `${rep.repaired} repairs`);
    else t.true(result.state.counts.rejected.latency > 10, `${result.state.counts.rejected.latency} rejected`);
    const check = result.latencyCheck!;
    t.truthy(check.chosen, 'a net within the budget by measurement');
    t.true(check.chosen!.measuredMs <= budgetMs);
    t.is(wholeMs(decode(check.chosen!.structure)), check.chosen!.measuredMs);
    // The chosen one is the highest-scoring measured candidate that fits; every better one was over when measured.
    const ranked = [...check.measured].sort((a, b) => b.score - a.score);
    t.deepEqual(ranked, check.measured, 'measured in score order');
    for (const m of check.measured) {
      if (m.score > check.chosen!.score) t.false(m.fits, `${m.structure} scores higher and fits: it should have been chosen`);
    }
    t.true(top >= 5 || top === result.state.population.length);
    caught += check.measured.filter((m) => m.estimateMs <= budgetMs && !m.fits).length;
    const summary = buildSummary(result);
    t.is(summary.best!.structure, check.chosen!.structure);
    t.is(summary.latencyCheck!.chosen!.structure, check.chosen!.structure);
    t.is(rt.measured, check.measured.length);
  }
  t.true(caught > 0, 'the estimate alone would have returned a net over the budget');
});

test('the final measurement refuses a runtime of other conditions than the table', async (t) => {
  const lut = await buildLut(toyLut, fakeRuntime(), { resolution: 8, numClasses: 0, warmup: 0, iterations: 1 });
  const est = lutEstimator(toyLut, lut);
  const other = { ...fakeRuntime(), context: { ...CTX, batchSize: 64, hardware: 'another CPU' } };
  const e = await t.throwsAsync(measureTopCandidates([{ structure: '0|0|0', score: 1 }], decode, est, other, { budgetMs: 100, top: 1, resolution: 8, numClasses: 0 }));
  t.regex(e!.message, /batchSize 1 vs 64; hardware "fake CPU" vs "another CPU"/);
  // No member fits: all of them measured, no choice.
  const none = await measureTopCandidates([{ structure: '3.3|3|3', score: 2 }, { structure: '0|0|0', score: 1 }], decode, est, fakeRuntime(), { budgetMs: 1, top: 1, resolution: 8, numClasses: 0 });
  t.is(none.chosen, null);
  t.is(none.measured.length, 2);
});

const ort = onnxRuntimeStatus();
const LIGHTEST = 'ConvKX(3,32,3,2)BN(32)RELU(32)MBInvResE1K3RELU(32,16,1)';

test.serial('hardcore end to end on onnxruntime at 32×32: lut build, estimate, search --lut under a halfway budget meets it by measurement', async (t) => {
  if (!ort.available) { t.log(`skipped: ${ort.reason}`); t.pass(); return; }
  const dir = tmp();
  const file = path.join(dir, 'lut.json');
  // --overhead kept: every entry keeps the per-run overhead, so a sum of ~20 entries over-counts it
  // and the estimates stay above what the final measurement sees. With it subtracted, the search's
  // population sits just under the budget by estimate, and under the suite's load (other test
  // files run beside this one) every member measured above it once: a CI flake, not a defect.
  const b = zennasWithEnv({ ZENNAS_PROGRESS_SECONDS: '0.001' }, 'lut', 'build', '--space', 'hardcore', '-r', '32', '--warmup', '1', '-i', '3', '--statistic', 'min', '--overhead', 'kept', '-o', file);
  t.is(b.code, 0, b.stderr);
  t.regex(b.stdout, /252 block entries \+ 2 fixed pieces of hardcore\/paper at 32×32/);
  t.regex(b.stderr, /lut build: 254\/254 pieces \| stage 5 block 0 e6k5se/, 'plain progress lines in a log');
  const again = zennas('lut', 'build', '--space', 'hardcore', '-r', '32', '--overhead', 'kept', '-o', file);
  t.is(again.code, 0);
  t.regex(again.stderr, /already holds a complete table/);
  const info = JSON.parse(zennas('lut', 'info', file, '--json').stdout) as { unit: string; batchSize: number; runtime: string; threads: number; complete: boolean };
  t.like(info, { unit: 'ms', batchSize: 1, runtime: 'onnxruntime', threads: 1, complete: true });
  const est = (s: string) => JSON.parse(zennas('lut', 'estimate', s, '--lut', file, '--json').stdout) as { estimateMs: number };
  const tail = 'ConvKX(960,1280,1,1)BN(1280)SWISH(1280)';
  const light = `${LIGHTEST}MBInvResE3K3RELU(16,24,2)MBInvResE3K3RELU(24,24,1)MBInvResE3K3SWISH(24,40,2)MBInvResE3K3SWISH(40,40,1)MBInvResE3K3SWISH(40,80,2)MBInvResE3K3SWISH(80,80,1)` +
    `MBInvResE3K3SWISH(80,112,1)MBInvResE3K3SWISH(112,112,1)MBInvResE3K3SWISH(112,192,2)MBInvResE3K3SWISH(192,192,1)MBInvResE3K3SWISH(192,960,1)${tail}`;
  const heavyStage = (cin: number, cout: number, s: number, act: string) => [0, 1, 2, 3].map((j) => `MBInvResE6K5${act}SE(${j ? cout : cin},${cout},${j ? 1 : s})`).join('');
  const heavy = `${LIGHTEST}${heavyStage(16, 24, 2, 'RELU')}${heavyStage(24, 40, 2, 'SWISH')}${heavyStage(40, 80, 2, 'SWISH')}${heavyStage(80, 112, 1, 'SWISH')}${heavyStage(112, 192, 2, 'SWISH')}MBInvResE6K5SWISHSE(192,960,1)${tail}`;
  const lo = est(light).estimateMs, hi = est(heavy).estimateMs;
  t.true(hi > lo, `${lo} < ${hi}`);
  const budget = (lo + hi) / 2;
  const s = zennas('search', '--space', 'hardcore', '-r', '32', '-b', '2', '--lut', file, '--budget-latency', `${budget}ms`, '--iterations', '24', '--population', '8', '--verify-top', '3', '--json');
  t.is(s.code, 0, s.stderr);
  const summary = JSON.parse(s.stdout) as { best: { structure: string; latencyMs: number }; latencyCheck: { budgetMs: number; chosen: { structure: string; measuredMs: number; estimateMs: number }; measured: unknown[]; context: { runtime: string } } };
  const c = summary.latencyCheck;
  t.is(c.context.runtime, 'onnxruntime');
  t.true(c.chosen.measuredMs <= budget, `measured ${c.chosen.measuredMs} > budget ${budget}`);
  t.is(summary.best.structure, c.chosen.structure);
  t.true(summary.best.latencyMs <= budget, 'its estimate fits too');
  // The text output puts estimate and measurement side by side.
  const text = zennas('search', '--space', 'hardcore', '-r', '32', '-b', '2', '--lut', file, '--budget-latency', `${budget}ms`, '--iterations', '6', '--population', '4', '--verify-top', '1', '--no-progress');
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /latency check \(hard constraint .* per run of 1, measured on onnxruntime/);
  t.regex(text.stdout, /→ score .* estimate .* ms {2}measured .* ms \(min; p90 .*\) {2}within budget/);
  // A table for another batch or space is refused before the search starts.
  const wrong = zennas('search', '--space', 'I', '--lut', file, '--budget-latency', '5ms', '--iterations', '2');
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, /--lut: space 'I' has no latency tables/);
  const batch = zennas('search', '--space', 'hardcore', '-r', '32', '--lut', file, '--budget-latency', '5ms', '--latency-batch-size', '64', '--iterations', '2');
  t.is(batch.code, 2);
  t.regex(batch.stderr, /batchSize 1 vs 64/);
});
