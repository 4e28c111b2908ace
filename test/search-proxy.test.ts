import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ZennasError } from '../src/errors';
import { Structure } from '../src/grammar/ast';
import { countModel } from '../src/model/count';
import { Sfc32 } from '../src/rng/sfc32';
import { getPreset, registerSpace, SearchSpace, spaceI, spaceII } from '../src/spaces';
import { runSearch, SearchConfig, Scorer } from '../src/search/evolution';
import { searchConfig, SearchConfigInput } from '../src/search/config';
import { openEngine, SearchEngine } from '../src/search/engine-scorer';
import { checkScoring, proxyScoring, SEARCH_PROXIES } from '../src/search/proxy-scorer';
import { configDifference, readCandidatesFile } from '../src/search/store';
import { CandidateRecord } from '../src/search/types';
import { PROXY_NAMES, PROXY_TABLE } from '../src/proxies/table';
import { zennas } from './helpers/cli';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `zennas-proxy-${name}-`));
const read = (dir: string, f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
/** Candidate records without their timing (the one field that varies between equal runs). */
const records = (dir: string) => readCandidatesFile(path.join(dir, 'candidates.jsonl')).map(({ seconds: _s, ...r }) => r);

/** A stand-in engine: run(proxy, d) is a deterministic function of the descriptor; calls are logged. */
function fakeEngine(): SearchEngine & { calls: Array<{ proxy: string; o: Record<string, unknown> }> } {
  const calls: Array<{ proxy: string; o: Record<string, unknown> }> = [];
  return {
    calls,
    async zenScore() { throw new Error('the Zen-score is not this test\'s'); },
    async run(proxy: string, d: Int32Array, o: Record<string, unknown>) {
      calls.push({ proxy, o });
      let h = 2166136261;
      for (const w of d) h = Math.imul(h ^ w, 16777619);
      return { mean: 1 + d.length / 10 + (h >>> 0) / 2 ** 32, seconds: 0 };
    },
    close() {},
  };
}

const cifar = (over: Partial<SearchConfigInput> = {}) => searchConfig({ space: 'I', population: 12, iterations: 60, seed: 4, inFlight: 2, ...over });

// ---- the scoring record

test('searchConfig: the default scoring is the Zen-score record the search always wrote; no algorithm field', (t) => {
  const c = searchConfig({ space: 'I' });
  t.deepEqual(c.scoring, { proxy: 'zen', batchSize: 64, repeats: 1, mode: 'paper', bnEps: 1e-5, alpha: 0.01, backend: 'cpu', conv: 'auto' });
  t.false('algorithm' in c);
  t.false('algorithm' in searchConfig({ space: 'I', algorithm: 'zen-nas' }));
  t.is(searchConfig({ space: 'I', algorithm: 'xi-gsnr-evolution' }).algorithm, 'xi-gsnr-evolution');
});

test('proxyScoring: the table\'s defaults and direction; options a proxy does not take are refused by key', (t) => {
  t.deepEqual(proxyScoring('grad_norm'), { proxy: 'grad_norm', direction: 'max', batchSize: 64, repeats: 1, init: 'normal', bnEps: 1e-5, backend: 'cpu' });
  t.deepEqual(proxyScoring('synflow'), { proxy: 'synflow', direction: 'min', repeats: 1, init: 'normal', bnEps: 1e-5, backend: 'cpu' });
  t.deepEqual(proxyScoring('naswot').batchSize, PROXY_TABLE.naswot.batchSize);
  t.deepEqual(proxyScoring('gsnr', { numBatches: 2 }), { proxy: 'gsnr', direction: 'max', batchSize: 64, repeats: 1, init: 'torch', bnEps: 1e-5, numBatches: 2, xi: 1e-8, gsnrMode: 'batch', backend: 'cpu' });
  t.deepEqual(proxyScoring('flops'), { proxy: 'flops' });
  for (const n of PROXY_NAMES) {
    const r = proxyScoring(n);
    t.is(r.proxy, n);
    if (n !== 'zen') t.is(r.direction, PROXY_TABLE[n].direction, n);
  }
  t.true(SEARCH_PROXIES.includes('random') && SEARCH_PROXIES.includes('synflow'));
  const err = (f: () => unknown, re: RegExp) => t.regex(t.throws(f)!.message, re);
  err(() => proxyScoring('synflow', { batchSize: 8 }), /proxyOptions\.batchSize does not apply to proxy 'synflow'/);
  err(() => proxyScoring('grad_norm', { mode: 'official' }), /proxyOptions\.mode does not apply to proxy 'grad_norm'/);
  err(() => proxyScoring('naswot', { backend: 'cuda' }), /proxyOptions\.backend 'cuda': proxy 'naswot' runs on the CPU engine/);
  err(() => proxyScoring('zen', { init: 'torch' }), /proxyOptions\.init does not apply to the Zen-score/);
  err(() => proxyScoring('params', { repeats: 2 }), /proxyOptions\.repeats does not apply to 'params'/);
  err(() => proxyScoring('magic'), /proxy: unknown proxy 'magic'; a search takes: zen, flops, params, random, /);
  err(() => proxyScoring('grad_norm', { batchSize: 0 }), /proxyOptions\.batchSize is out of range/);
  // A hand-written record cannot flip a proxy's direction.
  err(() => checkScoring({ ...cifar(), scoring: { proxy: 'synflow' } }), /scoring\.direction is 'max' but proxy 'synflow' is a 'min' proxy/);
  err(() => checkScoring({ ...cifar(), numClasses: 0, scoring: proxyScoring('snip') }), /numClasses must be ≥ 1 for proxy 'snip'/);
});

test('engine options of a proxy search: the record\'s, plus the config\'s resolution and seed; each candidate lowered as the table says', async (t) => {
  const engine = fakeEngine();
  const c = cifar({ proxy: 'grad_norm_zc', proxyOptions: { batchSize: 16 }, iterations: 12 });
  const r = await runSearch(c, { engine });
  t.is(engine.calls.length, r.state.counts.scored);
  t.deepEqual(engine.calls[0], { proxy: 'grad_norm_zc', o: { resolution: 32, seed: 4, batchSize: 16, repeats: 1, init: 'torch', bnEps: 1e-5 } });
  // No engine, no proxy search (counted baselines need none).
  await t.throwsAsync(runSearch(cifar({ proxy: 'synflow' }), {}), { message: /proxy 'synflow' is scored by the native engine: give engine/ });
  const counted = await runSearch(cifar({ proxy: 'random', iterations: 30 }), {});
  t.is(counted.state.counts.proposed, 30);
  t.true(counted.best !== null);
});

// ---- direction

test('a min proxy: the search keeps the lowest raw value (score = −value), records name the proxy and the value', async (t) => {
  const dir = tmp('min');
  const r = await runSearch(cifar({ proxy: 'synflow', iterations: 80 }), { engine: fakeEngine(), outDir: dir });
  const recs = readCandidatesFile(path.join(dir, 'candidates.jsonl'));
  t.true(recs.length > 20);
  for (const rec of recs) {
    t.is(rec.proxy, 'synflow');
    t.is(rec.score, -rec.value!);
  }
  const lowest = Math.min(...recs.map((x) => x.value!));
  t.is(r.best!.score, -lowest);
  t.is(r.best!.structure, recs.find((x) => x.value === lowest)!.structure);
  // The population is the P lowest values seen (Zen-NAS drops the lowest score = the highest value).
  const kept = recs.map((x) => x.value!).sort((a, b) => a - b).slice(0, 12);
  t.deepEqual(r.state.population.map((m) => -m.score).sort((a, b) => a - b), kept);
  const summary = JSON.parse(read(dir, 'summary.json'));
  t.is(summary.proxy, 'synflow');
  t.is(summary.direction, 'min');
  t.is(summary.scoreName, '−synflow');
  t.is(summary.best.value, lowest);
  // A max proxy on the same engine keeps the highest: the two directions disagree on the best.
  const up = await runSearch(cifar({ proxy: 'synflow_zc', iterations: 80 }), { engine: fakeEngine() });
  t.true(up.best!.score > 0);
});

// ---- a non-default proxy through the native engine

let engineError: string | undefined;
try {
  openEngine('cpu', 1).close();
} catch (e) {
  engineError = (e as Error).message;
}
const native = engineError ? test.skip : test;
if (engineError) test('native engine tests skipped (no addon)', (t) => { t.log(engineError); t.pass(); });

native('naswot search through the engine: deterministic for its seed, the proxy named in checkpoint, candidates, summary and report', async (t) => {
  const engine = openEngine('cpu', 2);
  try {
    const run = async (dir: string, seed: number) => runSearch(cifar({ proxy: 'naswot', iterations: 24, seed }), { engine, outDir: dir });
    const [a, b, c] = [tmp('nw-a'), tmp('nw-b'), tmp('nw-c')];
    const ra = await run(a, 4);
    await run(b, 4);
    await run(c, 5);
    t.deepEqual(records(a), records(b));
    t.is(read(a, 'best.txt'), read(b, 'best.txt'));
    t.notDeepEqual(records(a).map((x) => x.score), records(c).map((x) => x.score), 'another seed, another run');
    t.true(ra.state.counts.scored > 0 && ra.state.counts.failed === 0);
    const cp = JSON.parse(read(a, 'checkpoint.json'));
    t.like(cp.config.scoring, { proxy: 'naswot', direction: 'max', batchSize: 8, init: 'normal' });
    t.true(records(a).every((x) => x.proxy === 'naswot' && x.value === undefined));
    const summary = JSON.parse(read(a, 'summary.json'));
    t.is(summary.proxy, 'naswot');
    t.is(summary.algorithm, 'zen-nas');
    t.is(summary.scoring.proxy, 'naswot');
    t.regex(read(a, 'report.md'), /\| proxy \| naswot \(higher is better\) \|/);
    t.regex(read(a, 'report.html'), /Best naswot proxy vs iteration/);
  } finally {
    engine.close();
  }
});

native('synflow through the engine: the best is the lowest synflow value of the run', async (t) => {
  const engine = openEngine('cpu', 2);
  try {
    const dir = tmp('sf');
    const r = await runSearch(cifar({ proxy: 'synflow', iterations: 30 }), { engine, outDir: dir });
    const recs = readCandidatesFile(path.join(dir, 'candidates.jsonl')).filter((x) => x.value !== null);
    t.true(recs.length > 10);
    t.is(r.best!.score, -Math.min(...recs.map((x) => x.value!)));
    t.true(recs.every((x) => x.value! > 0), 'synflow values are positive');
    t.regex(read(dir, 'report.md'), /\| proxy \| synflow \(lower is better: the search maximises −synflow\) \|/);
  } finally {
    engine.close();
  }
});

// ---- xi-gsnr-evolution

type Vec = number[];
/** A space of four integers in 0..9 with a random() generator; `calls` logs which hook made each proposal. */
function vecSpaceX(id: string): { space: SearchSpace<Vec>; calls: Array<'random' | 'mutate'> } {
  const calls: Array<'random' | 'mutate'> = [];
  const space: SearchSpace<Vec> = {
    id, title: 'vector space X', description: 'four integers in 0..9', supportsSe: false, defaultPreset: 'v',
    presets: { v: { name: 'v', description: 'v', initial: '0,0,0,0', resolution: 8, batchSize: 1, numClasses: 0, maxLayers: 40, iterations: 300 } },
    encode: (g) => g.join(','),
    decode: (key) => {
      const g = key.split(',').map(Number);
      if (g.length !== 4 || g.some((x) => !Number.isInteger(x) || x < 0 || x > 9)) throw new ZennasError('E_PARSE', `not a vector: ${key}`);
      return g;
    },
    check: () => {},
    count: (g) => ({ params: g.reduce((a, b) => a + b, 0), flops: 0, layers: 0 }),
    lower: (g) => Int32Array.from(g),
    mutate: (parent, { rng, changes }) => {
      calls.push('mutate');
      const g = parent.slice();
      for (let c = 0; c < changes; c++) {
        const i = rng.int(4);
        g[i] = Math.min(9, Math.max(0, g[i]! + rng.pick([-1, 1])));
      }
      return g;
    },
    random: (rng, ctx) => {
      calls.push('random');
      const g = [0, 0, 0, 0].map(() => rng.int(10));
      while (ctx.limits.params !== undefined && g.reduce((a, b) => a + b, 0) > ctx.limits.params) {
        const i = rng.int(4);
        if (g[i]! > 0) g[i]!--;
      }
      return g;
    },
  };
  registerSpace(space);
  return { space, calls };
}
const vecConfig = (space: string, over: Partial<SearchConfig> = {}): SearchConfig => ({
  space, preset: 'v', initial: '0,0,0,0', resolution: 8, numClasses: 0, se: false, budgets: { params: 20 },
  population: 10, iterations: 300, seed: 2, inFlight: 3, rho: 'paper', scoring: {}, algorithm: 'xi-gsnr-evolution', ...over,
});
const TARGET = [5, 1, 7, 3];
const vecScore: Scorer<Vec> = async (g) => -g.reduce((a, x, i) => a + (x - TARGET[i]!) ** 2, 0);

/** Replays ξ-GSNR Algorithm 2 over the records: the first N join, then a child replaces the lowest (earliest on ties) only if strictly higher. */
function replayXi(recs: CandidateRecord[], n: number): number[] {
  const pop: Array<{ it: number; s: number }> = [];
  for (const r of recs) {
    const s = r.score ?? -Infinity;
    if (pop.length < n) { pop.push({ it: r.iteration, s }); continue; }
    let k = 0;
    for (let i = 1; i < pop.length; i++) if (pop[i]!.s < pop[k]!.s) k = i;
    if (s > pop[k]!.s) { pop.splice(k, 1); pop.push({ it: r.iteration, s }); }
  }
  return pop.map((p) => p.it);
}

test('xi-gsnr-evolution: N random draws within budget first, then mutations; a child replaces the lowest only if it beats it', async (t) => {
  const { calls } = vecSpaceX('VECX1');
  const dir = tmp('xi');
  const r = await runSearch(vecConfig('VECX1'), { scorer: vecScore, outDir: dir });
  const recs = readCandidatesFile(path.join(dir, 'candidates.jsonl'));
  // The initial population: exactly N random draws, all fitting the budget, before any mutation.
  t.deepEqual(calls.slice(0, 10), Array(10).fill('random'));
  t.true(calls.slice(10).every((c) => c === 'mutate'));
  t.is(calls.length, 300);
  t.true(recs.slice(0, 10).every((x) => x.params <= 20 && x.parent === 0));
  t.true(recs.slice(10).every((x) => x.parent > 0), 'children of population members');
  t.is(r.state.population.length, 10);
  t.deepEqual(r.state.population.map((m) => m.iteration), replayXi(recs, 10));
  t.true(recs.length > r.state.population.length + 50, 'most children were skipped or replaced members');
  t.is(r.best!.structure, TARGET.join(','));
  t.is(JSON.parse(read(dir, 'summary.json')).algorithm, 'xi-gsnr-evolution');
  t.regex(read(dir, 'report.md'), /\| algorithm \| xi-gsnr-evolution/);
  // Zen-NAS on the same config differs: it starts from F0 and never calls random().
  const z = vecSpaceX('VECX2');
  await runSearch(vecConfig('VECX2', { algorithm: undefined }), { scorer: vecScore });
  t.false(z.calls.includes('random'));
});

test('xi-gsnr-evolution: ties never replace, so under a constant score the initial draws stay', async (t) => {
  vecSpaceX('VECX3');
  const r = await runSearch(vecConfig('VECX3', { iterations: 120 }), { scorer: async () => 1 });
  t.deepEqual(r.state.population.map((m) => m.iteration), [...Array(10).keys()].map((i) => i + 1));
  t.is(r.best!.iteration, 1);
  // A space without random() cannot run it.
  registerSpace({ ...vecSpaceX('VECX4').space, id: 'VECNR', random: undefined });
  await t.throwsAsync(runSearch(vecConfig('VECNR'), { scorer: vecScore }), { message: /algorithm 'xi-gsnr-evolution' starts from random genotypes, and vector space X has no random\(\) generator/ });
});

test('xi-gsnr-evolution on Space I with a counted proxy: deterministic, every member within budget, resumable to the same run', async (t) => {
  const c = cifar({ proxy: 'flops', algorithm: 'xi-gsnr-evolution', population: 16, iterations: 160, budgets: { params: 500e3 } });
  const [a, b] = [tmp('xi-a'), tmp('xi-b')];
  const ra = await runSearch(c, { outDir: a });
  // b: stopped after a few batches (a kill), then resumed.
  let batches = 0;
  const ctl = new AbortController();
  await runSearch(c, { outDir: b, signal: ctl.signal, checkpointEveryIterations: 1, onProgress: () => { if (++batches === 5) ctl.abort(); } });
  await runSearch(c, { outDir: b, resume: true });
  t.is(read(a, 'candidates.jsonl'), read(b, 'candidates.jsonl'));
  t.true(ra.state.population.every((m) => m.params <= 500e3 && m.layers <= 18));
  const recs = readCandidatesFile(path.join(a, 'candidates.jsonl'));
  t.true(recs.slice(0, 16).every((x) => x.params <= 500e3 && x.parent === 0));
  t.deepEqual(ra.state.population.map((m) => m.iteration), replayXi(recs, 16));
});

test('random() of Space I and II: budget-fitting structures on the template\'s skeleton (property over seeds)', (t) => {
  const cases = [
    { space: spaceI, preset: 'cifar', limits: { params: 1e6, layers: 18 } },
    { space: spaceI, preset: 'imagenet', limits: { flops: 400e6, layers: 14 } },
    { space: spaceII, preset: 'cifar', limits: { params: 1e6, layers: 18 } },
    { space: spaceII, preset: 'imagenet', limits: { flops: 400e6, layers: 14 } },
    { space: spaceI, preset: 'cifar', limits: { params: 50e3, layers: 6 } }, // tight: sub-layers all 1
  ];
  for (const { space, preset, limits } of cases) {
    const p = getPreset(space, preset);
    const template = space.decode(p.initial) as Structure;
    const options = { resolution: p.resolution, numClasses: p.numClasses, se: false };
    const seen = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      const g = space.random!(new Sfc32(seed), { options, template, limits }) as Structure;
      space.check(g);
      const key = space.encode(g);
      t.is(space.encode(space.decode(key)), key, 'canonical');
      const cost = countModel(g, options);
      for (const k of ['params', 'flops', 'layers'] as const) if (limits[k as keyof typeof limits] !== undefined) t.true(cost[k] <= limits[k as keyof typeof limits]!, `${space.id}/${preset} seed ${seed}: ${k} ${cost[k]}`);
      t.is(g.blocks.length, template.blocks.length);
      g.blocks.forEach((b, i) => {
        const tb = template.blocks[i]!;
        t.is(b.kind === 'SuperConvKXBNRELU', tb.kind === 'SuperConvKXBNRELU');
        t.is((b as { stride: number }).stride, (tb as { stride: number }).stride);
      });
      // Space II keeps its final 1×1 conv's width (the official _fixfc).
      if (space === spaceII) t.deepEqual(g.blocks[g.blocks.length - 1], { ...template.blocks[template.blocks.length - 1]!, in: (g.blocks[g.blocks.length - 2] as { out: number }).out });
      seen.add(key);
    }
    t.true(seen.size > 50, `${space.id}/${preset}: draws differ (${seen.size} distinct)`);
    // Deterministic for the generator's state.
    t.is(space.encode(space.random!(new Sfc32(9), { options, template, limits })), space.encode(space.random!(new Sfc32(9), { options, template, limits })));
  }
});

// ---- resume

test('resume refuses a changed proxy or algorithm with E_CHECKPOINT naming it (library)', async (t) => {
  const dir = tmp('resume');
  const c = cifar({ proxy: 'flops', iterations: 200 });
  const ctl = new AbortController();
  await runSearch(c, { outDir: dir, signal: ctl.signal, checkpointEveryIterations: 1, onProgress: () => ctl.abort() });
  const before = read(dir, 'candidates.jsonl');
  const e = await t.throwsAsync(runSearch(cifar({ proxy: 'params', iterations: 200 }), { outDir: dir, resume: true }));
  t.is((e as ZennasError).code, 'E_CHECKPOINT');
  t.regex(e!.message, /different search: 'scoring\.proxy' was "flops" in the checkpoint but is "params" now/);
  const e2 = await t.throwsAsync(runSearch({ ...c, algorithm: 'xi-gsnr-evolution' }, { outDir: dir, resume: true }));
  t.regex(e2!.message, /'algorithm' was unset in the checkpoint but is "xi-gsnr-evolution" now/);
  t.is(read(dir, 'candidates.jsonl'), before, 'files untouched');
  const ok = await runSearch(c, { outDir: dir, resume: true });
  t.true(ok.complete);
});

// ---- CLI (compiled dist/)

test('CLI: --proxy synflow --json names the proxy and direction; --resume with another --proxy is E_CHECKPOINT naming both', (t) => {
  const out = path.join(tmp('cli'), 'run');
  const r = zennas('search', '--proxy', 'random', '--iterations', '60', '--population', '8', '--seed', '2', '--out', out, '--json');
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.is(j.proxy, 'random');
  t.is(j.algorithm, 'zen-nas');
  const bad = zennas('search', '--out', out, '--resume', '--proxy', 'flops');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /E_CHECKPOINT.*belongs to --proxy random, not flops \(its checkpoint says so\)/);
  const badAlg = zennas('search', '--out', out, '--resume', '--algorithm', 'xi-gsnr-evolution');
  t.regex(badAlg.stderr, /E_CHECKPOINT.*belongs to --algorithm zen-nas, not xi-gsnr-evolution/);
  for (const [args, re] of [
    [['--proxy', 'synflow', '--batch-size', '8'], /--batch-size does not apply to proxy 'synflow'/],
    [['--proxy', 'naswot', '--backend', 'cuda'], /--backend 'cuda': proxy 'naswot' runs on the CPU engine/],
    [['--proxy', 'zen', '--weight-init', 'torch'], /--weight-init applies to the proxies of the table/],
    [['--proxy', 'grad_norm', '--weight-init', 'uniform'], /--weight-init must be 'normal' or 'torch'/],
    [['--algorithm', 'darwin'], /--algorithm must be 'zen-nas' or 'xi-gsnr-evolution'/],
  ] as Array<[string[], RegExp]>) {
    const e = zennas('search', '--iterations', '4', ...args);
    t.is(e.code, 2, args.join(' '));
    t.regex(e.stderr, re);
  }
});

const nativeCli = engineError ? test.skip : test;
nativeCli('CLI: --proxy synflow prints the lowest synflow value; --algorithm xi-gsnr-evolution runs', (t) => {
  const out = path.join(tmp('cli-sf'), 'run');
  const r = zennas('search', '--proxy', 'synflow', '--iterations', '20', '--population', '6', '--threads', '2', '--out', out);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^best synflow [\d.e+]+ \(lowest: the search maximises −synflow; iteration \d+ of 20, space I, 32×32\)/);
  const x = zennas('search', '--proxy', 'flops', '--algorithm', 'xi-gsnr-evolution', '--iterations', '40', '--population', '8', '--json');
  t.is(x.code, 0, x.stderr);
  t.is(JSON.parse(x.stdout).algorithm, 'xi-gsnr-evolution');
});

// ---- grasp's hvpPrecision (--hvp-precision)

test("proxyScoring('grasp'): hvpPrecision recorded (default float32); refused, naming grasp, where the table lacks it; out of the table's values refused", (t) => {
  t.deepEqual(proxyScoring('grasp'), { proxy: 'grasp', direction: 'max', batchSize: PROXY_TABLE.grasp.batchSize!, repeats: 1, init: PROXY_TABLE.grasp.init, bnEps: 1e-5, hvpPrecision: 'float32', backend: 'cpu' });
  t.is(proxyScoring('grasp', { hvpPrecision: 'float64' }).hvpPrecision, 'float64');
  t.false('hvpPrecision' in proxyScoring('snip'));
  const err = (f: () => unknown, re: RegExp) => t.regex(t.throws(f, { code: 'E_OPTION' } as never)!.message, re);
  err(() => proxyScoring('snip', { hvpPrecision: 'float64' }), /^proxyOptions\.hvpPrecision does not apply to proxy 'snip' \(it takes repeats, bnEps, batchSize, init; hvpPrecision is an option of grasp\)/);
  err(() => proxyScoring('gsnr', { hvpPrecision: 'float64' }), /hvpPrecision is an option of grasp/);
  err(() => proxyScoring('grasp', { gsnrMode: 'sample' }), /proxyOptions\.gsnrMode does not apply to proxy 'grasp' .*gsnrMode is an option of gsnr/);
  err(() => proxyScoring('zen', { hvpPrecision: 'float64' }), /proxyOptions\.hvpPrecision does not apply to the Zen-score \(it is an option of grasp\)/);
  err(() => proxyScoring('grasp', { hvpPrecision: 'float16' as never }), /proxyOptions\.hvpPrecision is out of range: hvpPrecision must be 'float32' or 'float64', got 'float16'/);
});

test('a grasp search hands hvpPrecision to engine.run; an old grasp checkpoint without it resumes as float32, not as float64', async (t) => {
  const engine = fakeEngine();
  await runSearch(cifar({ proxy: 'grasp', proxyOptions: { hvpPrecision: 'float64', batchSize: 4 }, iterations: 6 }), { engine });
  t.true(engine.calls.length > 0);
  for (const c of engine.calls) t.deepEqual(c, { proxy: 'grasp', o: { resolution: 32, seed: 4, batchSize: 4, repeats: 1, init: PROXY_TABLE.grasp.init, bnEps: 1e-5, hvpPrecision: 'float64' } });
  const now32 = cifar({ proxy: 'grasp' });
  const { hvpPrecision: _h, ...old } = now32.scoring;
  const before = { ...now32, scoring: old };
  t.is(configDifference(before, now32), null, 'written before the option: the float32 product');
  t.regex(configDifference(before, cifar({ proxy: 'grasp', proxyOptions: { hvpPrecision: 'float64' } }))!, /^'scoring' was .*"hvpPrecision":"float32".* in the checkpoint but is .*"hvpPrecision":"float64"/);
  t.regex(configDifference(now32, cifar({ proxy: 'grasp', proxyOptions: { hvpPrecision: 'float64' } }))!, /^'scoring' was/);
});

const TINY = 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)';
nativeCli('CLI: search --proxy grasp --hvp-precision float64 records it in the checkpoint, resumes with it to the uninterrupted run; refusals name grasp and the values', (t) => {
  const base = ['search', '--proxy', 'grasp', '--init', TINY, '--resolution', '8', '--batch-size', '4', '--population', '4', '--rho', '0.2', '--threads', '2', '--seed', '3', '--quiet'];
  const whole = path.join(tmp('hvp-whole'), 'run');
  const w = zennas(...base, '--hvp-precision', 'float64', '--iterations', '12', '--out', whole);
  t.is(w.code, 0, w.stderr);
  const cp = JSON.parse(read(whole, 'checkpoint.json'));
  t.like(cp.config.scoring, { proxy: 'grasp', hvpPrecision: 'float64', batchSize: 4 });
  // Stopped after 6 iterations, then resumed to 12 with no --hvp-precision: the checkpoint's float64 goes on
  // (a constant --rho: the paper's schedule depends on the total iterations).
  const part = path.join(tmp('hvp-part'), 'run');
  t.is(zennas(...base, '--hvp-precision', 'float64', '--iterations', '6', '--out', part).code, 0);
  const r = zennas('search', '--out', part, '--resume', '--iterations', '12', '--threads', '2', '--quiet');
  t.is(r.code, 0, r.stderr);
  t.is(JSON.parse(read(part, 'checkpoint.json')).config.scoring.hvpPrecision, 'float64');
  t.deepEqual(records(part), records(whole), 'resumed = uninterrupted (float64 throughout)');
  // The float32 product scores the same candidates differently (same seed, same first candidate).
  const f32 = path.join(tmp('hvp-32'), 'run');
  t.is(zennas(...base, '--iterations', '1', '--out', f32).code, 0);
  t.is(JSON.parse(read(f32, 'checkpoint.json')).config.scoring.hvpPrecision, 'float32');
  t.not(records(f32)[0]!.score, records(whole)[0]!.score);
  // A resume that names the other precision is another search.
  const other = zennas('search', '--out', part, '--resume', '--iterations', '14', '--hvp-precision', 'float32');
  t.is(other.code, 2);
  t.regex(other.stderr, /E_CHECKPOINT.*hvpPrecision/);
  for (const [args, re] of [
    [['--proxy', 'snip', '--hvp-precision', 'float64'], /E_OPTION.*--hvp-precision does not apply to proxy 'snip' \(.*hvpPrecision is an option of grasp\)/],
    [['--proxy', 'zen', '--hvp-precision', 'float64'], /E_OPTION.*--hvp-precision applies to the proxies of the table \('zennas proxies'\) that take it \(grasp\), not to --proxy zen/],
    [['--proxy', 'grasp', '--hvp-precision', 'double'], /E_OPTION.*--hvp-precision must be 'float32' or 'float64', got 'double'/],
    [['--proxy', 'gsnr', '--gsnr-mode', 'running'], /E_OPTION.*--gsnr-mode must be 'batch', 'official' or 'sample', got 'running'/],
  ] as Array<[string[], RegExp]>) {
    const e = zennas('search', '--iterations', '4', ...args);
    t.is(e.code, 2, args.join(' '));
    t.regex(e.stderr, re);
  }
});
