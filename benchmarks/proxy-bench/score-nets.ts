/**
 * The scoring stage: every proxy of the table (src/proxies/table.ts) on every net through the
 * engine, at 28×28 with the table's defaults (batch size, repeats 1, seed 0, init), each net
 * lowered as the proxy's entry says (lowerForProxy, 10-class head); two input variants:
 *
 * - 'gaussian': the engine's default N(0,1) images (and, for proxies with a loss, labels drawn from
 *   the engine's label stream) — what the papers score with;
 * - 'data': Fashion-MNIST images — the first proxyImages(spec) images of the train split (class-
 *   interleaved, so balanced) and their true labels — for the proxies that take an input
 *   (PROXY_TABLE[p].extra has 'input'; zen and the synflows do not: their input is fixed).
 *
 * tenas_lr and tenas_ntk are read from the series of the 'tenas' run (linearRegions, ntkCond: the
 * same weights and images, so equal to their own runs — checked on n004: 64 − 80.857 = −16.857 —
 * at half the NTK cost, which dominates scoring on 2 cores).
 *
 * Plus the counted baselines of the search (src/search/proxy-scorer.ts): log10 params, log10 FLOPs
 * and 'random' (SHA-256 of seed 0 and the structure). A proxy undefined on a net (E_STRUCTURE, or
 * a non-finite value) is recorded as null with its reason. Resumable: scores.json is rewritten
 * after each net; a (net, column) already there is skipped.
 */
import * as fs from 'fs';
import { ZennasError } from '../../src/errors';
import { Engine } from '../../src/engine/engine';
import { parseStructure } from '../../src/grammar/parse';
import { encodeDescriptor } from '../../src/ops/descriptor';
import { lowerForProxy } from '../../src/proxies/lowering';
import { PROXY_NAMES, PROXY_TABLE, ProxyName, proxyImages } from '../../src/proxies/table';
import { countScorer, randomScorer } from '../../src/search/proxy-scorer';
import { readRegularFile } from '../../src/util/files';
import { writeFileAtomic } from '../../src/util/write-atomic';
import type { Dataset } from './data';
import { NUM_CLASSES, RESOLUTION, type BenchNet } from './nets';

export type InputVariant = 'gaussian' | 'data';
export const COUNTED = ['params', 'flops', 'random'] as const;

/** One scored column: a proxy (or counted baseline) under one input variant. */
export interface ScoreColumn {
  /** 'zen', 'snip@data', 'params', … */
  key: string;
  proxy: ProxyName | (typeof COUNTED)[number];
  variant: InputVariant;
  direction: 'max' | 'min';
}

/** The columns scored: every table proxy on Gaussian input, those taking an input on data too, then the counted ones. */
/** Columns read from another run's series: column proxy → [run proxy, series name]. */
export const DERIVED: Partial<Record<ProxyName, [ProxyName, string]>> = { tenas_lr: ['tenas', 'linearRegions'], tenas_ntk: ['tenas', 'ntkCond'] };

export function scoreColumns(): ScoreColumn[] {
  const out: ScoreColumn[] = [];
  for (const p of PROXY_NAMES) out.push({ key: p, proxy: p, variant: 'gaussian', direction: PROXY_TABLE[p].direction });
  for (const p of PROXY_NAMES) if ((PROXY_TABLE[p].extra as readonly string[]).includes('input')) out.push({ key: `${p}@data`, proxy: p, variant: 'data', direction: PROXY_TABLE[p].direction });
  for (const c of COUNTED) out.push({ key: c, proxy: c, variant: 'gaussian', direction: 'max' });
  return out;
}

/** One net's scores: value per column key (null: undefined there, reason in `failed`), seconds per key. */
export interface NetScores {
  id: string;
  structure: string;
  scores: Record<string, number | null>;
  failed: Record<string, string>;
  seconds: Record<string, number>;
}

/** The file: settings and the nets scored so far. */
export interface ScoresFile {
  resolution: number;
  numClasses: number;
  engineOptions: Record<string, unknown>;
  nets: NetScores[];
}

/** The scores file, or an empty one. */
export function readScores(file: string): ScoresFile {
  if (!fs.existsSync(file)) return { resolution: RESOLUTION, numClasses: NUM_CLASSES, engineOptions: { resolution: RESOLUTION }, nets: [] };
  return JSON.parse(readRegularFile(file, { maxBytes: 64 << 20, what: 'scores file', code: 'E_PARSE' }).toString('utf8')) as ScoresFile;
}

/** The data images and labels a proxy reads in the 'data' variant (the first n of the train split). */
export function dataBatch(d: Dataset, proxy: ProxyName): { input: Float32Array; labels: Int32Array } {
  const n = proxyImages(PROXY_TABLE[proxy], {});
  if (n > d.yTrain.length) throw new ZennasError('E_OPTION', `${proxy} reads ${n} images, the train split has ${d.yTrain.length}`);
  const per = RESOLUTION * RESOLUTION;
  return { input: d.xTrain.slice(0, n * per), labels: d.yTrain.slice(0, n) };
}

/** Score one net on every column. */
export async function scoreNet(engine: Engine, net: Pick<BenchNet, 'id' | 'structure'>, data: Dataset, columns: readonly ScoreColumn[], signal?: AbortSignal): Promise<NetScores> {
  const s = parseStructure(net.structure);
  const out: NetScores = { id: net.id, structure: net.structure, scores: {}, failed: {}, seconds: {} };
  const counted = { resolution: RESOLUTION, numClasses: NUM_CLASSES, se: false };
  for (const c of columns) {
    if (signal?.aborted) throw new ZennasError('E_CANCELLED', 'scoring was cancelled');
    if (c.proxy === 'params' || c.proxy === 'flops' || c.proxy === 'random') {
      const r = await (c.proxy === 'random' ? randomScorer(0) : countScorer(c.proxy, counted))(s, new Int32Array(0));
      out.scores[c.key] = typeof r === 'number' ? r : r.score;
      out.seconds[c.key] = 0;
      continue;
    }
    if (DERIVED[c.proxy]) continue; // filled by the run it derives from
    const spec = PROXY_TABLE[c.proxy];
    const d = encodeDescriptor(lowerForProxy(s, spec, { numClasses: NUM_CLASSES }));
    const opts: Record<string, unknown> = { resolution: RESOLUTION };
    if (c.variant === 'data') {
      const b = dataBatch(data, c.proxy);
      opts.input = b.input;
      if (spec.labels) opts.labels = b.labels;
    }
    try {
      const r = await engine.run(c.proxy as never, d, { ...opts, ...(signal ? { signal } : {}) } as never);
      out.scores[c.key] = Number.isFinite(r.mean) ? r.mean : null;
      if (!Number.isFinite(r.mean)) out.failed[c.key] = `score ${r.mean}`;
      out.seconds[c.key] = r.seconds;
      for (const [col, [from, series]] of Object.entries(DERIVED) as [ProxyName, [ProxyName, string]][]) {
        if (from !== c.proxy) continue;
        const key = c.variant === 'data' ? `${col}@data` : col;
        const v = r.series[series]!, m = v.reduce((a, b) => a + b, 0) / v.length;
        out.scores[key] = Number.isFinite(m) ? m : null;
        if (!Number.isFinite(m)) out.failed[key] = `score ${m}`;
        out.seconds[key] = 0;
      }
    } catch (e) {
      // Undefined on this net (e.g. naswot when images share every ReLU code); anything else stops.
      if (!(e instanceof ZennasError) || e.code !== 'E_STRUCTURE') throw e;
      out.scores[c.key] = null;
      out.failed[c.key] = e.message;
      for (const [col, [from]] of Object.entries(DERIVED) as [ProxyName, [ProxyName, string]][]) {
        if (from !== c.proxy) continue;
        const key = c.variant === 'data' ? `${col}@data` : col;
        out.scores[key] = null;
        out.failed[key] = e.message;
      }
    }
  }
  return out;
}

/** Options of the scoring stage. */
export interface ScoreStageOptions {
  file: string;
  data: Dataset;
  log: (m: string) => void;
  signal?: AbortSignal;
  /** Engine threads (default 1). */
  threads?: number;
}

/**
 * The costly columns (on 2 shared cores: tens of seconds to minutes per net): grasp's Hessian
 * difference, gsnr's 8 batches, and the NTK of tenas (tenas_ntk and tenas_lr derive from it).
 * Every net gets the cheap columns first, then the costly ones, so a run cut short still has the
 * cheap proxies on every trained net (the table gives each column's number of nets).
 */
export const COSTLY: readonly ProxyName[] = ['grasp', 'gsnr', 'tenas', 'tenas_ntk', 'tenas_lr'];

/** Score every (net, column) the file lacks, cheap columns on every net first, rewriting the file after each net. */
export async function scoreNets(nets: readonly BenchNet[], o: ScoreStageOptions): Promise<ScoresFile> {
  const file = readScores(o.file);
  const columns = scoreColumns();
  const byKey = new Map(file.nets.map((n) => [`${n.id}\u0000${n.structure}`, n]));
  const phases = [columns.filter((c) => !COSTLY.includes(c.proxy as ProxyName)), columns.filter((c) => COSTLY.includes(c.proxy as ProxyName))];
  const engine = new Engine({ threads: o.threads ?? 1 });
  try {
    for (const [p, phase] of phases.entries()) {
      const todo = nets.filter((n) => phase.some((c) => !(c.key in (byKey.get(`${n.id}\u0000${n.structure}`)?.scores ?? {}))));
      o.log(`score: ${p === 0 ? 'cheap' : 'costly'} columns (${phase.map((c) => c.key).join(', ')}): ${todo.length} of ${nets.length} nets to score`);
      for (const [k, n] of todo.entries()) {
        const t = Date.now();
        const key = `${n.id}\u0000${n.structure}`;
        let entry = byKey.get(key);
        if (!entry) {
          entry = { id: n.id, structure: n.structure, scores: {}, failed: {}, seconds: {} };
          byKey.set(key, entry);
          file.nets.push(entry);
        }
        // Columns derived from another run come with it: ask for the run's column when any is missing.
        const missing = phase.filter((c) => !(c.key in entry!.scores));
        const want = phase.filter((c) => missing.some((m) => m.key === c.key || (DERIVED[m.proxy as ProxyName]?.[0] === c.proxy && m.variant === c.variant)));
        const r = await scoreNet(engine, n, o.data, want, o.signal);
        Object.assign(entry.scores, r.scores);
        Object.assign(entry.failed, r.failed);
        Object.assign(entry.seconds, r.seconds);
        writeFileAtomic(o.file, JSON.stringify(file, null, 1) + '\n');
        o.log(`score: ${n.id} (${k + 1}/${todo.length}) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      }
    }
  } finally {
    engine.close();
  }
  return file;
}
