import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ZennasError } from '../src/errors';
import { Structure } from '../src/grammar/ast';
import { formatStructure } from '../src/grammar/format';
import { countModel } from '../src/model/count';
import { registerSpace, SearchSpace, getPreset, spaceI } from '../src/spaces';
import { runSearch, evolve, initialGenotype, SearchConfig, Scorer } from '../src/search/evolution';
import { Candidate, Evaluation, Evaluator, scorerEvaluator } from '../src/search/evaluator';
import { KeyedError, keyedError, opt, renameOptions } from '../src/util/keyed-error';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `zennas-loop-${name}-`));

// ---- A space whose genotype is not a Structure: the loop must not care.
type Vec = number[];
const TARGET = [5, 1, 7, 3];
const vecSpace: SearchSpace<Vec> = {
  id: 'VEC',
  title: 'vector space',
  description: 'four integers in 0..9, moved by ±1',
  supportsSe: false,
  defaultPreset: 'v',
  presets: { v: { name: 'v', description: 'v', initial: '0,0,0,0', resolution: 8, batchSize: 1, numClasses: 0, maxLayers: 40, iterations: 300 } },
  encode: (g) => g.join(','),
  decode: (key) => {
    const g = key.split(',').map(Number);
    if (g.length !== 4 || g.some((x) => !Number.isInteger(x) || x < 0 || x > 9)) throw new ZennasError('E_PARSE', `not a vector: ${key}`);
    return g;
  },
  check: (g) => {
    if (g.length !== 4) throw new ZennasError('E_OPTION', 'four entries');
  },
  count: (g) => ({ params: g.reduce((a, b) => a + b, 0), flops: 0, layers: g.filter((x) => x > 0).length }),
  lower: (g) => Int32Array.from(g),
  mutate: (parent, { rng, changes }) => {
    const g = parent.slice();
    for (let c = 0; c < changes; c++) {
      const i = rng.int(4);
      g[i] = Math.min(9, Math.max(0, g[i]! + rng.pick([-1, 1])));
    }
    return g;
  },
};
registerSpace(vecSpace);
const vecScore: Scorer<Vec> = async (_g, d) => 0 - Array.from(d).reduce((a, x, i) => a + (x - TARGET[i]!) ** 2, 0);

function vecConfig(over: Partial<SearchConfig> = {}): SearchConfig {
  return {
    space: 'VEC', preset: 'v', initial: '0,0,0,0', resolution: 8, numClasses: 0, se: false, budgets: { params: 30 },
    population: 12, iterations: 400, seed: 1, inFlight: 3, rho: 'paper', scoring: {}, ...over,
  };
}

test('the loop is generic: a space of integer vectors finds its optimum, budgets hold', async (t) => {
  const r = await runSearch(vecConfig(), { scorer: vecScore });
  t.is(r.best?.structure, TARGET.join(','));
  t.is(r.best?.score, 0);
  t.true(r.state.population.every((m) => m.params <= 30));
  // evolve() on the space object directly gives the same run as the registry path.
  const c = vecConfig();
  const direct = await evolve(vecSpace, c, initialGenotype(vecSpace, c), { evaluator: scorerEvaluator(vecScore) });
  t.deepEqual(direct.state.population, r.state.population);
  t.deepEqual(direct.state.prng, r.state.prng);
});

test('a space producing invalid children: counted, logged, never scored', async (t) => {
  const broken: SearchSpace<Vec> = { ...vecSpace, id: 'VECBAD', mutate: (p, ctx) => (ctx.rng.next() < 0.3 ? [...p, 99] : vecSpace.mutate(p, ctx)) };
  registerSpace(broken);
  const logs: string[] = [];
  let scored = 0;
  const r = await runSearch(vecConfig({ space: 'VECBAD', iterations: 60 }), { scorer: async (g, d) => { scored++; return vecScore(g, d); }, onLog: (l) => logs.push(l) });
  t.true(r.state.counts.invalid > 0);
  t.is(scored, r.state.counts.scored);
  t.is(logs.filter((l) => /invalid child \(not a vector/.test(l)).length, r.state.counts.invalid);
});

// Deterministic stand-in for the Zen-score on Space I.
const hash = (text: string) => {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
};
const toyZen: Scorer<Structure> = async (s) => ({ score: Math.log(countModel(s, { resolution: 32 }).flops) + 0.3 * hash(formatStructure(s)), seconds: 0 });

function spaceIConfig(over: Partial<SearchConfig> = {}): SearchConfig {
  const p = getPreset(spaceI);
  return {
    space: 'I', preset: 'cifar', initial: p.initial, resolution: 32, numClasses: 100, se: false,
    budgets: { params: 300e3, layers: 12 }, population: 16, iterations: 150, seed: 7, inFlight: 4, rho: 'paper', scoring: { toy: 1 }, ...over,
  };
}

/**
 * A stand-in for a remote worker pool: jobs carry only the key and descriptor (what a queue would
 * serialize), finish after random delays (out of order) and report their own seconds.
 */
function poolEvaluator(score: (key: string) => number): Evaluator<unknown> & { maxPending: number; closed: boolean; seen: Candidate<unknown>[] } {
  let pending = 0;
  const ev = {
    maxPending: 0,
    closed: false,
    seen: [] as Candidate<unknown>[],
    async evaluate(c: Candidate<unknown>): Promise<Evaluation> {
      ev.seen.push(c);
      const job = JSON.parse(JSON.stringify({ id: c.iteration, key: c.key, descriptor: Array.from(c.descriptor) })) as { key: string };
      ev.maxPending = Math.max(ev.maxPending, ++pending);
      await new Promise((res) => setTimeout(res, Math.random() * 6));
      pending--;
      return { score: score(job.key), seconds: 0 };
    },
    close() {
      ev.closed = true;
    },
  };
  return ev;
}

test('an Evaluator (remote-pool stand-in, out-of-order) gives the same run as the local scorer', async (t) => {
  const a = tmp('local');
  const b = tmp('pool');
  const cfg = spaceIConfig();
  await runSearch(cfg, { scorer: toyZen, outDir: a });
  const keyScore = (key: string) => {
    const s = spaceI.decode(key);
    return Math.log(countModel(s, { resolution: 32 }).flops) + 0.3 * hash(formatStructure(s));
  };
  const pool = poolEvaluator(keyScore);
  const r = await runSearch(cfg, { evaluator: pool, outDir: b });
  for (const f of ['candidates.jsonl', 'best.txt']) t.is(fs.readFileSync(path.join(b, f), 'utf8'), fs.readFileSync(path.join(a, f), 'utf8'), f);
  t.true(pool.maxPending <= cfg.inFlight, `at most inFlight evaluations pending (${pool.maxPending})`);
  t.true(pool.maxPending > 1, 'evaluations overlap');
  t.false(pool.closed, 'a caller-provided evaluator is the caller\'s to close');
  t.is(pool.seen.length, r.state.counts.scored);
  // Candidates carry the space's key, lowering and budget-checked cost.
  for (const c of pool.seen) {
    t.is(c.key, formatStructure(c.genotype as Structure));
    t.true(c.descriptor instanceof Int32Array && c.descriptor.length > 0);
    t.true(c.cost.params <= 300e3 && c.cost.layers <= 12);
  }
});

test('evaluator outcomes: errors and non-finite scores count as -inf; a rejection stops the search', async (t) => {
  let n = 0;
  const flaky: Evaluator<unknown> = {
    async evaluate() {
      n++;
      if (n % 4 === 0) return { score: -Infinity, seconds: 0, error: 'worker lost the job' };
      if (n % 5 === 0) return { score: NaN, seconds: 0 };
      return { score: n, seconds: 0 };
    },
  };
  const logs: string[] = [];
  const r = await runSearch(spaceIConfig({ iterations: 60 }), { evaluator: flaky, onLog: (l) => logs.push(l) });
  t.true(r.state.counts.failed > 0);
  t.true(logs.some((l) => /counted as -inf: worker lost the job/.test(l)));
  t.true(logs.some((l) => /counted as -inf: non-finite score NaN/.test(l)));
  t.true(Number.isFinite(r.best!.score));

  const dir = tmp('broken');
  const broken: Evaluator<unknown> = {
    async evaluate(c) {
      if (c.iteration > 30) throw new ZennasError('E_BACKEND', 'pool is gone');
      return { score: c.iteration, seconds: 0 };
    },
  };
  const e = await t.throwsAsync(runSearch(spaceIConfig({ iterations: 60 }), { evaluator: broken, outDir: dir, checkpointEveryIterations: 8 }));
  t.is((e as ZennasError).code, 'E_BACKEND');
  const cp = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8'));
  t.true(cp.state.iteration > 0 && cp.state.iteration <= 30, 'the last checkpoint survives');

  // scorerEvaluator: fatal engine errors reject, others are failed evaluations.
  const c = { iteration: 1, key: 'k', genotype: null, descriptor: new Int32Array(1), cost: { params: 0, flops: 0, layers: 0 } };
  await t.throwsAsync(scorerEvaluator(async () => { throw new ZennasError('E_NATIVE', 'no addon'); }).evaluate(c), { message: 'no addon' });
  const failed = await scorerEvaluator(async () => { throw new ZennasError('E_OUT_OF_MEMORY', 'too big'); }).evaluate(c);
  t.is(failed.score, -Infinity);
  t.is(failed.error, 'too big');
  t.deepEqual(await scorerEvaluator(async () => ({ score: 2, seconds: 0.5 })).evaluate(c), { score: 2, seconds: 0.5, error: undefined });
});

test('a search needs a scorer or an evaluator', async (t) => {
  const e = await t.throwsAsync(runSearch(spaceIConfig(), {}));
  t.regex(e!.message, /^a search needs scorer or evaluator/);
});

test('library errors name option keys, never CLI flags; KeyedError renders them as a front end wants', async (t) => {
  const cases: Array<[Partial<SearchConfig>, string[]]> = [
    [{ population: 0 }, ['population']],
    [{ inFlight: 300 }, ['inFlight']],
    [{ numClasses: -1 }, ['numClasses']],
    [{ seed: 1.5 }, ['seed']],
    [{ rho: 3 }, ['rho']],
    [{ se: true }, ['se', 'space']],
    [{ budgets: { latencyMs: 1 } }, ['budgets.latencyMs', 'latency']],
    [{ budgets: { params: 10 } }, ['initial']],
    [{ space: 'nope' }, ['space']],
  ];
  for (const [over, keys] of cases) {
    const e = await t.throwsAsync(runSearch(spaceIConfig(over), { scorer: toyZen }));
    t.true(e instanceof KeyedError, e!.message);
    t.is((e as KeyedError).code, 'E_OPTION');
    t.deepEqual((e as KeyedError).options, keys);
    t.notRegex(e!.message, /--/, e!.message);
  }
  const dir = tmp('keys');
  await runSearch(spaceIConfig({ iterations: 8 }), { scorer: toyZen, outDir: dir });
  const resumeErrs = [
    await t.throwsAsync(runSearch(spaceIConfig({ iterations: 8 }), { scorer: toyZen, resume: true })),
    await t.throwsAsync(runSearch(spaceIConfig({ iterations: 8 }), { scorer: toyZen, outDir: dir })),
    await t.throwsAsync(runSearch(spaceIConfig({ iterations: 8, seed: 99 }), { scorer: toyZen, outDir: dir, resume: true })),
    await t.throwsAsync(runSearch(spaceIConfig({ iterations: 8 }), { scorer: toyZen, outDir: tmp('empty'), resume: true })),
  ];
  for (const e of resumeErrs) t.notRegex(e!.message, /--/, e!.message);
  t.regex(resumeErrs[0]!.message, /^resume needs outDir/);
  t.regex(resumeErrs[2]!.message, /'seed' was 7 in the checkpoint but is 99 now; resume with the same settings or use another outDir$/);

  const k = keyedError('E_OPTION')`${opt('population')} must be at most ${512}; see ${opt('inFlight')} {not a key}`;
  t.is(k.message, 'population must be at most 512; see inFlight {not a key}');
  t.is(k.render((x) => `--${x}`), '--population must be at most 512; see --inFlight {not a key}');
  const renamed = renameOptions(k, (x) => x.toUpperCase()) as ZennasError;
  t.false(renamed instanceof KeyedError);
  t.is(renamed.code, 'E_OPTION');
  t.is(renamed.message, 'POPULATION must be at most 512; see INFLIGHT {not a key}');
  const plain = new Error('x');
  t.is(renameOptions(plain, (x) => x), plain);
});

// ---- Import structure: the cycles the review found stay gone.
const SRC = path.join(__dirname, '..', 'src');
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|require\('(\.[^']+)'\)/g)) {
    const spec = m[1] ?? m[2]!;
    const base = path.resolve(path.dirname(file), spec);
    const hit = [`${base}.ts`, path.join(base, 'index.ts')].find((p) => fs.existsSync(p));
    if (hit) out.push(hit);
  }
  return out;
}
function allFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? allFiles(path.join(dir, d.name)) : d.name.endsWith('.ts') ? [path.join(dir, d.name)] : []));
}
const rel = (f: string) => path.relative(SRC, f).replace(/\\/g, '/');

/** Strongly connected components (Tarjan) with more than one node. */
function cycles(graph: Map<string, Iterable<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), on = new Set<string>(), stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); c.push(w); } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

test('import structure: no cycle through search, spaces, report or rng; the loop and report stay decoupled', (t) => {
  const files = allFiles(SRC);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const mine = /^(search|spaces|report|rng)(\/|$)/;
  // File level, and folder level (src/search → src/report → src/search was the review's finding).
  const fileCycles = cycles(new Map([...graph].map(([f, ds]) => [rel(f), ds.map(rel)])));
  t.deepEqual(fileCycles.filter((c) => c.some((f) => mine.test(f))), [], 'file import cycles through search/spaces/report/rng');
  const folder = (f: string) => (rel(f).includes('/') ? rel(f).split('/')[0]! : rel(f));
  const folders = new Map<string, Set<string>>();
  for (const [f, ds] of graph) {
    const s = folders.get(folder(f)) ?? new Set<string>();
    for (const d of ds) if (folder(d) !== folder(f)) s.add(folder(d));
    folders.set(folder(f), s);
  }
  t.deepEqual(cycles(folders).filter((c) => c.some((f) => mine.test(f))), [], 'folder import cycles through search/spaces/report/rng');

  // spaces, report and rng import nothing of the search; report only itself and util.
  for (const f of files.filter((x) => /^(spaces|report|rng)\//.test(rel(x)))) {
    for (const d of graph.get(f)!) t.false(/^search\//.test(rel(d)), `${rel(f)} imports ${rel(d)}`);
  }
  for (const f of files.filter((x) => /^report\//.test(rel(x)))) {
    for (const d of graph.get(f)!) t.true(/^(report|util)\//.test(rel(d)), `${rel(f)} imports ${rel(d)}`);
  }
  // The loop knows nothing of grammar, model, engine, files or reports.
  for (const f of ['search/loop.ts', 'search/evaluator.ts', 'search/evolution.ts']) {
    for (const d of graph.get(path.join(SRC, f))!) t.false(/^(grammar|model|ops|report|engine)\//.test(rel(d)), `${f} imports ${rel(d)}`);
  }
  const loopText = fs.readFileSync(path.join(SRC, 'search/loop.ts'), 'utf8');
  t.notRegex(loopText, /from '(fs|path)'|\.\/store'|\.\/run-output'/);
});
