import test from 'ava';
import fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Structure, SuperResBlock } from '../src/grammar/ast';
import { formatStructure } from '../src/grammar/format';
import { parseStructure } from '../src/grammar/parse';
import { countModel } from '../src/model/count';
import { registerSpace, SearchSpace, getPreset, spaceI, spaceII, structureCodec } from '../src/spaces';
import { engineScorer, openEngine } from '../src/search/engine-scorer';
import { runSearch, lowestIndex, rhoAt, SearchConfig, Scorer, Member } from '../src/search/evolution';
import { readCandidatesFile } from '../src/search/store';
import { searchConfig } from '../src/search/config';
import { fitsBudgets, staticBudgetViolation } from '../src/search/budget';
import { KeyedError } from '../src/util/keyed-error';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `zennas-${name}-`));

// ---- A toy space with a known optimum; registered without touching the loop.
const TOY_BOUNDS = { width: [8, 64], sub: [1, 4] } as const;
const toySpace: SearchSpace<Structure> = {
  ...structureCodec,
  id: 'TOY',
  title: 'toy space',
  description: 'two residual blocks whose widths/depths step by ±8/±1',
  supportsSe: false,
  defaultPreset: 'toy',
  presets: {
    toy: { name: 'toy', description: 'toy', initial: 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,8,1,8,1)SuperResK3K3(8,8,2,8,1)', resolution: 16, batchSize: 1, numClasses: 10, maxLayers: 20, iterations: 400 },
  },
  check() {},
  mutate(parent, { rng, changes }) {
    const blocks = parent.blocks.map((b) => ({ ...b })) as Structure['blocks'];
    for (let c = 0; c < changes; c++) {
      const i = 1 + rng.int(2);
      const b = blocks[i] as SuperResBlock;
      const field = rng.pick(['out', 'bottleneck', 'subLayers'] as const);
      const d = rng.pick([-1, 1]);
      if (field === 'subLayers') b.subLayers = Math.min(TOY_BOUNDS.sub[1], Math.max(TOY_BOUNDS.sub[0], b.subLayers + d));
      else b[field] = Math.min(TOY_BOUNDS.width[1], Math.max(TOY_BOUNDS.width[0], b[field] + 8 * d));
      if (i === 1) (blocks[2] as SuperResBlock).in = (blocks[1] as SuperResBlock).out;
    }
    return { blocks };
  },
};
registerSpace(toySpace);
const TOY_OPT = 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,40,1,24,3)SuperResK3K3(40,16,2,32,2)';
const toyScore = (s: Structure) => {
  const [a, b] = [s.blocks[1] as SuperResBlock, s.blocks[2] as SuperResBlock];
  return -(((a.out - 40) / 8) ** 2 + ((a.bottleneck - 24) / 8) ** 2 + (a.subLayers - 3) ** 2 + ((b.out - 16) / 8) ** 2 + ((b.bottleneck - 32) / 8) ** 2 + (b.subLayers - 2) ** 2);
};

function config(over: Partial<SearchConfig> = {}): SearchConfig {
  const p = getPreset(spaceI);
  return {
    space: 'I', preset: 'cifar', initial: p.initial, resolution: 32, numClasses: 100, se: false,
    budgets: { params: 300e3, layers: 12 }, population: 24, iterations: 240, seed: 3, inFlight: 3, rho: 'paper', scoring: { toy: 1 },
    ...over,
  };
}

// Deterministic stand-in for the Zen-score: grows with depth and width like the real one, plus a hash.
const hashScore = (text: string) => {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
};
const toyZen: Scorer<Structure> = async (s) => ({ score: Math.log(countModel(s, { resolution: 32 }).flops) + 0.3 * hashScore(formatStructure(s)), seconds: 0 });

test('toy space with a known optimum: the search finds it', async (t) => {
  const r = await runSearch(
    { ...config(), space: 'TOY', preset: 'toy', initial: toySpace.presets.toy!.initial, resolution: 16, numClasses: 10, budgets: {}, population: 16, iterations: 600, inFlight: 4 },
    { scorer: async (s) => toyScore(s) },
  );
  t.is(r.best?.structure, TOY_OPT);
  t.true(r.best?.score === 0);
});

test('rho schedule (Algorithm 2) and lowest-score selection', (t) => {
  t.is(rhoAt(0, 100, 'paper'), 1);
  t.true(Math.abs(rhoAt(25, 100, 'paper') - 0.55) < 1e-12);
  t.is(rhoAt(50, 100, 'paper'), 0.1);
  t.is(rhoAt(99, 100, 'paper'), 0.1);
  t.is(rhoAt(10, 100, 0.3), 0.3);
  const m = (score: number, iteration: number): Member => ({ iteration, structure: '', score, params: 0, flops: 0, layers: 0 });
  t.is(lowestIndex([m(1, 1), m(0, 2), m(0, 3), m(2, 4)]), 1);
  t.is(lowestIndex([m(1, 1), m(-Infinity, 2), m(0, 3)]), 1);
});

test('property: budgets are never violated, population ≤ P and only the lowest are dropped', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: 1e6 }), fc.integer({ min: 110e3, max: 600e3 }), fc.integer({ min: 8e6, max: 60e6 }), fc.integer({ min: 6, max: 14 }), fc.integer({ min: 2, max: 20 }), fc.integer({ min: 1, max: 4 }),
      async (seed, params, flops, layers, population, inFlight) => {
        const budgets = { params, flops, layers };
        const r = await runSearch(config({ seed, budgets, population, inFlight, iterations: 80 }), {
          scorer: async (s) => {
            const c = countModel(s, { resolution: 32, numClasses: 100 });
            t.true(fitsBudgets(c, budgets), 'an over-budget child reached the scorer');
            return (await toyZen(s, new Int32Array())) as { score: number };
          },
          onProgress: () => undefined,
        });
        for (const m of r.state.population) {
          t.true(fitsBudgets(m, budgets));
          const c = countModel(parseStructure(m.structure), { resolution: 32, numClasses: 100 });
          t.is(c.params, m.params);
        }
        t.true(r.state.population.length <= population);
        t.is(r.state.counts.proposed, 80);
        const rej = r.state.counts.rejected;
        t.is(r.state.counts.scored + rej.params + rej.flops + rej.layers + r.state.counts.invalid, 80);
      },
    ),
    { numRuns: 25 },
  );
});

test('population keeps the best P of all scored candidates', async (t) => {
  const dir = tmp('pop');
  const r = await runSearch(config({ population: 12, iterations: 200 }), { scorer: toyZen, outDir: dir });
  const all = readCandidatesFile(path.join(dir, 'candidates.jsonl'));
  t.is(all.length, r.state.counts.scored);
  // Not all of the top-12 ever must survive (children arrive over time), but the population's
  // minimum bounds every candidate that arrived after the population was full and got dropped.
  t.is(r.state.population.length, 12);
  const keptScores = r.state.population.map((m) => m.score).sort((a, b) => b - a);
  const top = all.map((c) => c.score!).sort((a, b) => b - a).slice(0, 12);
  t.deepEqual(keptScores, top, 'dropping the lowest each time keeps exactly the top P');
  t.is(r.best?.score, top[0]);
  t.is(fs.readFileSync(path.join(dir, 'best.txt'), 'utf8').trim(), r.best!.structure);
});

test('completion order does not change the result (random scorer delays)', async (t) => {
  const cfg = config({ inFlight: 4, iterations: 120 });
  const a = tmp('order-a');
  const b = tmp('order-b');
  await runSearch(cfg, { scorer: toyZen, outDir: a });
  await runSearch(cfg, {
    scorer: async (s, d) => {
      await new Promise((res) => setTimeout(res, Math.random() * 8));
      return toyZen(s, d);
    },
    outDir: b,
  });
  t.is(fs.readFileSync(path.join(a, 'candidates.jsonl'), 'utf8'), fs.readFileSync(path.join(b, 'candidates.jsonl'), 'utf8'));
});

class Kill extends Error {}

test('resume after kills at random points equals an uninterrupted run', async (t) => {
  const cfg = config({ iterations: 300, population: 20, inFlight: 3 });
  const ref = tmp('ref');
  await runSearch(cfg, { scorer: toyZen, outDir: ref, checkpointEveryIterations: 20 });
  const refJsonl = fs.readFileSync(path.join(ref, 'candidates.jsonl'), 'utf8');
  const refBest = fs.readFileSync(path.join(ref, 'best.txt'), 'utf8');
  const refSummary = JSON.parse(fs.readFileSync(path.join(ref, 'summary.json'), 'utf8'));

  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: 299 }), { minLength: 1, maxLength: 3 }), fc.boolean(), async (kills, garbage) => {
      kills.sort((x, y) => x - y);
      const dir = path.join(tmp('kill'), 'run');
      let resume = false;
      for (const k of kills) {
        await t.throwsAsync(
          runSearch(cfg, {
            scorer: toyZen, outDir: dir, resume, checkpointEveryIterations: 20,
            afterBatchWritten: (it) => { if (it >= k) throw new Kill(`killed at ${it}`); },
          }),
          { instanceOf: Kill },
        );
        // A process killed mid-write leaves half a line behind.
        if (garbage) fs.appendFileSync(path.join(dir, 'candidates.jsonl'), '{"iteration":99999,"struc');
        resume = true;
      }
      await runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true, checkpointEveryIterations: 20 });
      t.is(fs.readFileSync(path.join(dir, 'candidates.jsonl'), 'utf8'), refJsonl);
      t.is(fs.readFileSync(path.join(dir, 'best.txt'), 'utf8'), refBest);
      const sum = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
      t.deepEqual(sum.counts, refSummary.counts);
      t.deepEqual(sum.best, refSummary.best);
      // search.log marks every takeover, naming the checkpoint's iteration.
      const resumes = fs.readFileSync(path.join(dir, 'search.log'), 'utf8').split('\n').filter((l) => l.includes('resumed from the checkpoint'));
      t.is(resumes.length, kills.length);
      for (const l of resumes) t.regex(l, /at iteration (0|[1-9]\d*) \(\d+ candidates kept, \d+ bytes of later candidates dropped/);
    }),
    { numRuns: 8 },
  );
});

test('resume refuses corrupt or mismatched checkpoints and leaves the files untouched', async (t) => {
  const dir = tmp('bad');
  const cfg = config({ iterations: 60 });
  await t.throwsAsync(
    runSearch(cfg, { scorer: toyZen, outDir: dir, checkpointEveryIterations: 10, afterBatchWritten: (it) => { if (it >= 30) throw new Kill(); } }),
    { instanceOf: Kill },
  );
  const cp = path.join(dir, 'checkpoint.json');
  const jl = path.join(dir, 'candidates.jsonl');
  const snapshot = () => [fs.readFileSync(cp, 'utf8'), fs.readFileSync(jl, 'utf8')];
  const before = snapshot();
  const expectErr = async (c: SearchConfig, re: RegExp) => {
    const e = await t.throwsAsync(runSearch(c, { scorer: toyZen, outDir: dir, resume: true }));
    t.is((e as { code?: string }).code, 'E_CHECKPOINT', e!.message);
    t.regex(e!.message, re);
  };
  await expectErr(config({ iterations: 60, seed: 4 }), /different search: 'seed' was 3 in the checkpoint but is 4 now/);
  await expectErr(config({ iterations: 60, budgets: { params: 1e6, layers: 12 } }), /'budgets' was/);
  t.deepEqual(snapshot(), before);

  fs.writeFileSync(cp, before[0]!.slice(0, 100));
  await expectErr(cfg, /is corrupt \(not valid JSON/);
  fs.writeFileSync(cp, JSON.stringify({ format: 'something-else' }));
  await expectErr(cfg, /not a zennas search checkpoint/);
  const parsed = JSON.parse(before[0]!);
  fs.writeFileSync(cp, JSON.stringify({ ...parsed, state: { ...parsed.state, prng: [1, 2] } }));
  await expectErr(cfg, /state\.prng must be an array of exactly 4 items, got an array of 2/);
  fs.writeFileSync(cp, before[0]!);
  fs.writeFileSync(jl, 'x' + before[1]!.slice(1));
  await expectErr(cfg, /does not match the checkpoint/);
  fs.writeFileSync(jl, before[1]!.slice(0, 50));
  await expectErr(cfg, /was truncated or replaced/);
  fs.writeFileSync(jl, before[1]!);
  t.deepEqual(snapshot(), before, 'failed resumes touched nothing');
  fs.unlinkSync(cp);
  await expectErr(cfg, /no checkpoint.json/);

  // A fresh run refuses a directory that holds a search.
  const e = await t.throwsAsync(runSearch(cfg, { scorer: toyZen, outDir: dir }));
  t.is((e as { code?: string }).code, 'E_OPTION');
  t.regex(e!.message, /^outDir: .* already holds a search .*pass resume to continue it, overwrite to start it afresh/);
  t.deepEqual((e as KeyedError).options, ['outDir', 'resume', 'overwrite']);
  t.regex((e as KeyedError).render((k) => `<${k}>`), /^<outDir>: .*pass <resume> to continue it, <overwrite>/);
});

test('failed scoring counts as -inf, is logged and is dropped first', async (t) => {
  const dir = tmp('fail');
  const logs: string[] = [];
  let n = 0;
  const r = await runSearch(config({ iterations: 60, population: 8 }), {
    outDir: dir,
    onLog: (l) => logs.push(l),
    scorer: async (s, d) => {
      if (++n % 5 === 0) throw new Error('engine exploded');
      if (n % 7 === 0) return NaN;
      return toyZen(s, d);
    },
  });
  t.true(r.state.counts.failed > 0);
  t.is(logs.length, r.state.counts.failed);
  t.regex(logs[0]!, /scoring failed, counted as -inf: engine exploded/);
  t.true(logs.some((l) => /non-finite score NaN/.test(l)));
  t.true(r.state.population.every((m) => Number.isFinite(m.score)), 'failed members are the first dropped');
  const recs = readCandidatesFile(path.join(dir, 'candidates.jsonl'));
  t.true(recs.some((c) => c.score === null && c.error === 'engine exploded'));
  t.regex(fs.readFileSync(path.join(dir, 'search.log'), 'utf8'), /engine exploded/);
});

test('latency budget: needs a source; uses it before scoring', async (t) => {
  const e = await t.throwsAsync(runSearch(config({ budgets: { latencyMs: 0.5 } }), { scorer: toyZen }));
  t.is((e as { code?: string }).code, 'E_OPTION');
  t.regex(e!.message, /^budgets\.latencyMs needs a latency source/);
  const fakeLatency = async (s: Structure) => countModel(s, { resolution: 32 }).flops / 1e7;
  let scoredOver = 0;
  const r = await runSearch(config({ budgets: { latencyMs: 2, layers: 12 }, iterations: 100 }), {
    latency: fakeLatency,
    scorer: async (s, d) => {
      if ((await fakeLatency(s)) > 2) scoredOver++;
      return toyZen(s, d);
    },
  });
  t.is(scoredOver, 0);
  t.true(r.state.counts.rejected.latency > 0);
  t.true(r.state.population.every((m) => m.latencyMs !== undefined && m.latencyMs <= 2));
});

test('bad configs give clear errors', async (t) => {
  const bad = async (c: Partial<SearchConfig>, re: RegExp) => {
    const e = await t.throwsAsync(runSearch(config(c), { scorer: toyZen }));
    t.is((e as { code?: string }).code, 'E_OPTION');
    t.regex(e!.message, re);
  };
  // Library errors name option keys (the CLI renders them as its flags).
  await bad({ population: 0 }, /^population must be an integer in 1\.\./);
  await bad({ iterations: 1.5 }, /^iterations must be an integer/);
  await bad({ inFlight: 0 }, /^inFlight must be an integer in 1\.\.256/);
  await bad({ se: true }, /^se: Search Space I has no SE option \(use space II\)/);
  await bad({ budgets: { params: 1000 } }, /initial structure breaks the params budget .*give a smaller initial or/);
  await bad({ space: 'V' }, /^space: unknown search space 'V'/);
});

test('report: self-contained HTML with well-formed SVGs (three plots, the best net\'s diagram), and markdown', async (t) => {
  const dir = tmp('report');
  await runSearch(config({ iterations: 120 }), { scorer: toyZen, outDir: dir });
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
  t.is(svgs.length, 4);
  t.false(/(src|href)=["']?https?:/i.test(html), 'no network resources');
  t.false(/<script/i.test(html));
  for (const svg of svgs) {
    // Well-formed enough: every opened element is closed (tags balance).
    const stack: string[] = [];
    for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)([^>]*?)(\/?)>/g)) {
      if (m[4] === '/') continue;
      if (m[1] === '/') t.is(stack.pop(), m[2]);
      else stack.push(m[2]!);
    }
    t.deepEqual(stack, []);
    t.false(/NaN|Infinity|undefined/.test(svg));
  }
  t.regex(html, /Best Zen-score vs iteration/);
  t.regex(html, /Zen-score vs params/);
  t.regex(html, /Zen-score vs FLOPs/);
  const md = fs.readFileSync(path.join(dir, 'report.md'), 'utf8');
  t.regex(md, /^# zennas search report/);
  t.regex(md, /\| best Zen-score \|/);
  // report.md links the same SVGs, in the same order, written as standalone files beside it.
  const links = [...md.matchAll(/!\[[^\]]+\]\(([^)]+\.svg)\)/g)].map((m) => m[1]!);
  t.deepEqual(links, ['best-net.svg', 'score-vs-params.svg', 'score-vs-flops.svg', 'best-vs-iteration.svg']);
  for (const [i, f] of links.entries()) {
    const file = fs.readFileSync(path.join(dir, f), 'utf8');
    t.true(file.startsWith('<?xml'), f);
    t.true(file.includes(svgs[i]!), `${f} is the plot report.html inlines`);
  }
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  t.is(summary.iterationsDone, 120);
  t.true(summary.timing.tsMsPerCandidate > 0);
});

test('Space II with SE: counts include the SE modules', async (t) => {
  const p = getPreset(spaceII);
  const cfg = config({ space: 'II', preset: 'cifar', initial: p.initial, se: true, budgets: { params: 1e6, layers: 18 }, iterations: 40 });
  const r = await runSearch(cfg, { scorer: toyZen });
  for (const m of r.state.population) {
    const s = parseStructure(m.structure);
    t.is(m.params, countModel(s, { resolution: 32, numClasses: 100, se: true }).params);
    t.true(m.params > countModel(s, { resolution: 32, numClasses: 100 }).params);
  }
});

// Real Zen-scores through the native engine, when it is built: deterministic for a seed.
let engineAvailable = true;
try {
  openEngine('cpu', 1).close();
} catch {
  engineAvailable = false;
}
(engineAvailable ? test : test.skip)('engine scorer: a tiny real search is deterministic for its seed', async (t) => {
  const run = async () => {
    const engine = openEngine('cpu');
    try {
      const scorer = engineScorer(engine, { batchSize: 4, resolution: 32, repeats: 1, seed: 3, mode: 'paper', alpha: 0.01, bnEps: 1e-5 });
      const r = await runSearch(config({ iterations: 12, population: 8, inFlight: 3 }), { scorer });
      return r.state.population.map((m) => [m.structure, m.score]);
    } finally {
      engine.close();
    }
  };
  const a = await run();
  t.true(a.length > 0 && a.every(([, s]) => Number.isFinite(s as number)));
  t.deepEqual(await run(), a);
});

test('searchConfig: official defaults (P = 512, T = 480k) and the preset fill the gaps; null lifts a budget', (t) => {
  const c = searchConfig({ space: 'I' });
  t.is(c.population, 512);
  t.is(c.iterations, 480_000);
  t.is(c.preset, 'cifar');
  t.is(c.initial, getPreset(spaceI).initial);
  t.is(c.resolution, 32);
  t.deepEqual(c.budgets, { params: 1_000_000, layers: 18 });
  t.is(c.scoring.batchSize, 64);
  const d = searchConfig({ space: 'II', preset: 'imagenet', budgets: { layers: null, latencyMs: 32 }, iterations: 10 });
  t.is(d.resolution, 224);
  t.is(d.iterations, 10);
  t.is(d.budgets.layers, undefined);
  t.is(d.budgets.latencyMs, 32);
  t.is((t.throws(() => searchConfig({ space: 'IX' })) as { code?: string } | undefined)?.code, 'E_OPTION');
});

test('budgets are upper bounds: a candidate exactly at a budget fits, one unit above does not (oracle: ≤ on countModel)', async (t) => {
  const c = countModel(parseStructure(getPreset(spaceI).initial), { resolution: 32, numClasses: 100 });
  for (const k of ['params', 'flops', 'layers'] as const) {
    t.is(staticBudgetViolation(c, { [k]: c[k] }), null, `${k} exactly at the budget`);
    t.true(fitsBudgets(c, { [k]: c[k] }));
    t.is(staticBudgetViolation(c, { [k]: c[k] - 1 }), k, `${k} one above the budget`);
  }
  t.true(fitsBudgets({ ...c, latencyMs: 2 }, { latencyMs: 2 }));
  t.false(fitsBudgets({ ...c, latencyMs: 2.000001 }, { latencyMs: 2 }));
  // A whole search whose budgets are the initial structure's own counts: it starts (the initial
  // is exactly at every budget) and every candidate it scores is within them.
  const exact = { params: c.params, flops: c.flops, layers: c.layers };
  let scored = 0;
  const r = await runSearch(config({ budgets: exact, iterations: 60 }), {
    scorer: async (s, d) => {
      const k = countModel(s, { resolution: 32, numClasses: 100 });
      t.true(k.params <= exact.params && k.flops <= exact.flops && k.layers <= exact.layers);
      scored++;
      return toyZen(s, d);
    },
  });
  t.is(r.state.counts.scored, scored);
  // Latency exactly at its budget is scored, not rejected.
  const atBudget = await runSearch(config({ budgets: { latencyMs: 2, layers: 12, params: 300e3 }, iterations: 30 }), { latency: async () => 2, scorer: toyZen });
  t.is(atBudget.state.counts.rejected.latency, 0);
  t.true(atBudget.state.counts.scored > 0);
});
