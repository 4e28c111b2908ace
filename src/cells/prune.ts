/**
 * Pruning search over the NAS-Bench-201 supernet.
 *
 * 'xi-gsnr' — ξ-GSNR supplementary §B Algorithm 1: θ initialised once; while the supernet N_t is
 * not single-path: for every op o_m still on an edge with more than one op, s(o_m) = P(N_t) −
 * P(N_t \ o_m); on every such edge remove the op of smallest s. P is any proxy of the table
 * (default gsnr; §C.2: batch 64 × 8 batches, ξ = 1e-8), oriented so that higher is better (a
 * 'min' proxy is negated), averaged over `repeats`. "θ once" is exact here: the supernet keeps
 * one node layout for every mask (src/cells/nb201-net.ts `slots`), so every op keeps its Philox
 * weight stream in N_t, in every N_t \ o_m and in every round; the images and labels are those of
 * the seed's repeats throughout.
 *
 * 'tenas' — TE-NAS prune_tenas.py prune_func_rank, prune_number 1, as prune_launch.py runs it:
 * per candidate op, Δcond = mean over `repeats` (3) of round((cond(N_t) − cond(N_t\o))/cond(N_t), 3)
 * on the NTK supernet (C = 3, N = 1, one batch of 72 images) and ΔR = mean of
 * round((R(N_t) − R(N_t\o))/R(N_t), 3) on the thin net (C = 1, N = 1, first cell only, no stem,
 * 3 batches of 1000 one-channel 3×3 images); ranks: Δcond descending, ΔR ascending, dense (equal
 * values share a rank), sorted by round_to(·, 3); the op with the smallest rank sum on each edge is
 * removed (stable order). TE-NAS's data loaders feed CIFAR images (and random single channels of
 * 3×3 crops for R); zennas feeds the engine's Gaussian images (the Zen-NAS convention of
 * tenas_ntk / tenas_lr). The weights: its init_model is a no-op for init 'kaiming_normal' (the
 * names do not match), so PyTorch's default init ('torch') is what TE-NAS ran.
 *
 * Both: 'none' is removed from every edge before the first round (TE-NAS `alpha[:, 0] = -INF`;
 * option `none: 'search'` keeps it as a candidate). TE-NAS's supernet weights an edge's ops by
 * softmax(α) = 1/k; zennas sums them (the engine has no scalar scale op).
 */
import { ZennasError } from '../errors';
import type { Engine } from '../engine/engine';
import type { ProxyName } from '../proxies/table';
import { NB201_EDGES, NB201_OPS, Nb201Op, formatNb201, nb201Index } from './nb201';
import { Nb201NetOptions, countGraph, nb201Graph } from './nb201-net';
import { CellEngineOptions, cellProxySpec, nb201SupernetProxyGraph, runCellProxy } from './lowering';

export type PruneAlgorithm = 'xi-gsnr' | 'tenas';
export const PRUNE_ALGORITHMS: readonly PruneAlgorithm[] = ['xi-gsnr', 'tenas'];

/** TE-NAS settings (prune_launch.py / prune_tenas.py for NAS-Bench-201). */
export interface TenasSettings {
  /** NTK batch (prune_launch.py batch_size 72). */
  ntkBatchSize: number;
  /** NTK input resolution (CIFAR: 32). */
  ntkResolution: number;
  /** The NTK supernet (model_config: C 3, N 1). */
  ntkNet: Nb201NetOptions;
  /** Linear-region images per batch and batches (Linear_Region_Collector input_size (1000, 1, 3, 3), sample_batch 3). */
  lrBatchSize: number;
  lrSampleBatches: number;
  lrResolution: number;
  /** The thin linear-region net (model_config_thin: C 1, N 1, depth 1, no stem, 1 input channel). */
  lrNet: Nb201NetOptions;
  /** Decimals of the relative changes (prune_launch.py precision 3). */
  precision: number;
}

export const TENAS_DEFAULTS: Readonly<TenasSettings> = Object.freeze({
  ntkBatchSize: 72,
  ntkResolution: 32,
  ntkNet: { channels: 3, cells: 1 },
  lrBatchSize: 1000,
  lrSampleBatches: 3,
  lrResolution: 3,
  lrNet: { channels: 1, cells: 1, depth: 1, stem: false, inputChannels: 1 },
  precision: 3,
});

/** Options of `pruneNb201`. */
export interface PruneOptions {
  algorithm?: PruneAlgorithm;
  /** xi-gsnr: the proxy P (default 'gsnr'). */
  proxy?: ProxyName;
  /** Philox seed of weights, images and labels (default 0). */
  seed?: number;
  /** Repeats averaged per score (default: 1 for xi-gsnr, 3 for tenas as prune_launch.py). */
  repeats?: number;
  /** 'prune-first' (default, TE-NAS) or 'search' (none is a candidate like any op). */
  none?: 'prune-first' | 'search';
  /** xi-gsnr: the supernet (default C 16, N 5, 10 classes). */
  net?: Nb201NetOptions;
  /** xi-gsnr: engine options of the proxy (default batchSize 64, numBatches 8, xi 1e-8, resolution 32; the proxy's keys only). */
  engineOptions?: CellEngineOptions;
  /** tenas: settings (defaults TENAS_DEFAULTS). */
  tenas?: Partial<TenasSettings>;
  /** Called after every evaluation (progress). */
  onProgress?: (p: PruneProgress) => void;
  signal?: AbortSignal;
}

/** One progress event: evaluation `done` of `total` in round `round`. */
export interface PruneProgress { round: number; done: number; total: number; edge?: number; op?: Nb201Op }

/** The score of one candidate op in a round. */
export interface PruneCandidate {
  edge: number;
  op: Nb201Op;
  /** xi-gsnr: s(o) = P(N_t) − P(N_t \ o) (oriented); tenas: Δcond. */
  score: number;
  /** xi-gsnr: P(N_t \ o) (oriented); tenas: ΔR. */
  value: number;
  /** tenas: [Δcond rank, ΔR rank]. */
  ranks?: [number, number];
}

/** One round of the loop. */
export interface PruneRound {
  round: number;
  /** Ops per edge at the start of the round. */
  edges: Nb201Op[][];
  /** xi-gsnr: P(N_t) (oriented); tenas: [cond(N_t), R(N_t)] means. */
  base: number | [number, number];
  candidates: PruneCandidate[];
  removed: { edge: number; op: Nb201Op }[];
  seconds: number;
}

/** Result of `pruneNb201`. */
export interface PruneResult {
  algorithm: PruneAlgorithm;
  proxy: string;
  seed: number;
  repeats: number;
  genotype: Nb201Op[];
  /** NAS-Bench-201's string format. */
  genotypeString: string;
  /** The benchmark index (api.query_index_by_arch). */
  index: number;
  /** Params / FLOPs of the genotype's NAS-Bench-201 net (C 16, N 5, 10 classes, 32×32). */
  params: number;
  flops: number;
  rounds: PruneRound[];
  evaluations: number;
  seconds: number;
}

/** An edge as 'from→to' (edge 0 = '0→1'). */
export function edgeName(e: number): string {
  return `${NB201_EDGES[e]![1]}→${NB201_EDGES[e]![0]}`;
}

/**
 * CPython's round(x, n): correctly rounded, ties (exact binary halves) to even. x.toFixed rounds
 * the exact value but sends ties up, so ties are found on the exact expansion and sent to even.
 */
export function pyRound(x: number, n: number): number {
  if (!Number.isFinite(x) || Math.abs(x) >= 1e15) return x;
  const exact = Math.abs(x).toFixed(Math.min(100, n + 25));
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + n);
  if (/^50*$/.test(tail)) {
    const lo = Number(exact.slice(0, dot + 1 + n).replace(/\.$/, ''));
    const loDigits = exact.slice(0, dot + 1 + n).replace('.', '');
    const last = Number(loDigits[loDigits.length - 1]);
    const r = last % 2 === 0 ? lo : Number((lo + 10 ** -n).toFixed(n));
    return x < 0 ? -r : r;
  }
  return Number(x.toFixed(n));
}

/** TE-NAS round_to(number, precision): round to `precision` significant figures (after +1e-8). */
export function roundTo(x: number, precision: number): number {
  if (x === 0) return x;
  const sign = x / Math.abs(x);
  const a = Math.abs(x) + 1e-8;
  const power = Math.floor(Math.log(a) / Math.log(10)) + 1;
  return sign * pyRound(a * 10 ** -power, precision) * 10 ** power;
}

function checkInt(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new ZennasError('E_OPTION', `${name} must be an integer in ${lo}..${hi}, got ${JSON.stringify(v)}`);
  return v;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

const cloneEdges = (edges: Nb201Op[][]): Nb201Op[][] => edges.map((e) => [...e]);
const singlePath = (edges: Nb201Op[][]) => edges.every((e) => e.length === 1);

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ZennasError('E_CANCELLED', 'the pruning search was cancelled');
}

/** ξ-GSNR Algorithm 1 or TE-NAS's rank-combined variant on the NAS-Bench-201 supernet. */
export async function pruneNb201(engine: Engine, options: PruneOptions = {}): Promise<PruneResult> {
  const known = ['algorithm', 'proxy', 'seed', 'repeats', 'none', 'net', 'engineOptions', 'tenas', 'onProgress', 'signal'];
  for (const k of Object.keys(options ?? {})) if (!known.includes(k)) throw new ZennasError('E_OPTION', `unknown prune option '${k}'; valid: ${known.join(', ')}`);
  const algorithm = options.algorithm ?? 'xi-gsnr';
  if (!PRUNE_ALGORITHMS.includes(algorithm)) throw new ZennasError('E_OPTION', `algorithm must be ${PRUNE_ALGORITHMS.map((a) => `'${a}'`).join(' or ')}, got ${JSON.stringify(algorithm)}`);
  if (algorithm === 'tenas' && options.proxy !== undefined && options.proxy !== ('tenas' as ProxyName))
    throw new ZennasError('E_OPTION', `algorithm 'tenas' ranks by tenas_ntk and tenas_lr together; proxy '${options.proxy}' does not apply (use algorithm 'xi-gsnr' for a single proxy)`);
  const proxy = algorithm === 'tenas' ? 'tenas' : options.proxy ?? 'gsnr';
  const spec = algorithm === 'xi-gsnr' ? cellProxySpec(proxy) : undefined;
  const seed = checkInt('seed', options.seed ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const repeats = checkInt('repeats', options.repeats ?? (algorithm === 'tenas' ? 3 : 1), 1, 1000);
  const none = options.none ?? 'prune-first';
  if (none !== 'prune-first' && none !== 'search') throw new ZennasError('E_OPTION', `none must be 'prune-first' or 'search', got ${JSON.stringify(none)}`);
  const tenas: TenasSettings = { ...TENAS_DEFAULTS, ...(options.tenas ?? {}) };
  const signal = options.signal;

  let edges: Nb201Op[][] = NB201_EDGES.map(() => NB201_OPS.filter((o) => none === 'search' || o !== 'none'));
  const rounds: PruneRound[] = [];
  let evaluations = 0;
  const t0 = performance.now();

  // One evaluation: per-repeat scores of a proxy on a sub-supernet (same seed → same θ and data).
  const evaluate = async (p: ProxyName, mask: Nb201Op[][], net: Nb201NetOptions, eo: CellEngineOptions): Promise<number[]> => {
    checkAborted(signal);
    evaluations++;
    const g = nb201SupernetProxyGraph(mask, p, { ...net, slots: NB201_OPS });
    const r = await runCellProxy(engine, p, g, { ...eo, seed, repeats }, signal);
    return r.scores;
  };

  while (!singlePath(edges)) {
    const round = rounds.length + 1;
    const tr = performance.now();
    const candidates: { edge: number; op: Nb201Op }[] = [];
    edges.forEach((ops, e) => { if (ops.length > 1) for (const op of ops) candidates.push({ edge: e, op }); });
    const total = candidates.length + 1;
    const without = (c: { edge: number; op: Nb201Op }) => edges.map((ops, e) => (e === c.edge ? ops.filter((o) => o !== c.op) : ops));
    const progress = (done: number, c?: { edge: number; op: Nb201Op }) => options.onProgress?.({ round, done, total, ...(c ? { edge: c.edge, op: c.op } : {}) });
    const removed: { edge: number; op: Nb201Op }[] = [];
    let scored: PruneCandidate[];
    let base: number | [number, number];

    if (algorithm === 'xi-gsnr') {
      const sign = spec!.direction === 'min' ? -1 : 1;
      const eo = { batchSize: 64, numBatches: 8, xi: 1e-8, resolution: 32, ...(options.engineOptions ?? {}) };
      const net = { ...(options.net ?? {}) };
      const P = async (mask: Nb201Op[][]) => sign * mean(await evaluate(proxy as ProxyName, mask, net, eo));
      const b = await P(edges);
      base = b;
      progress(1);
      scored = [];
      for (const [i, c] of candidates.entries()) {
        const v = await P(without(c));
        scored.push({ ...c, score: b - v, value: v });
        progress(i + 2, c);
      }
      edges.forEach((ops, e) => {
        if (ops.length < 2) return;
        // argmin s over the edge's ops; ties: the first in op order.
        let best: PruneCandidate | undefined;
        for (const c of scored) if (c.edge === e && (!best || c.score < best.score)) best = c;
        removed.push({ edge: e, op: best!.op });
      });
    } else {
      const ntkEo = { batchSize: tenas.ntkBatchSize, resolution: tenas.ntkResolution, init: 'torch' };
      const lrEo = { batchSize: tenas.lrBatchSize, sampleBatches: tenas.lrSampleBatches, resolution: tenas.lrResolution, init: 'torch' };
      const lrNet = { ...tenas.lrNet, inputChannels: tenas.lrNet.inputChannels ?? 1 };
      const cond0 = await evaluate('tenas_ntk', edges, tenas.ntkNet, ntkEo);
      const lr0 = await evaluate('tenas_lr', edges, lrNet, lrEo);
      base = [mean(cond0), mean(lr0)];
      progress(1);
      const ntk: [number, { edge: number; op: Nb201Op }][] = [];
      const lr: [number, { edge: number; op: Nb201Op }][] = [];
      for (const [i, c] of candidates.entries()) {
        const m = without(c);
        const cond = await evaluate('tenas_ntk', m, tenas.ntkNet, ntkEo);
        const regions = await evaluate('tenas_lr', m, lrNet, lrEo);
        ntk.push([mean(cond.map((x, r) => pyRound((cond0[r]! - x) / cond0[r]!, tenas.precision))), c]);
        lr.push([mean(regions.map((x, r) => pyRound((lr0[r]! - x) / lr0[r]!, tenas.precision))), c]);
        progress(i + 2, c);
      }
      // prune_func_rank: stable sorts by round_to keys, dense ranks on the raw means.
      const ranks = new Map<string, [number, number]>();
      const key = (c: { edge: number; op: Nb201Op }) => `${c.edge}:${c.op}`;
      const ntkSorted = [...ntk].sort((a, b) => roundTo(b[0], tenas.precision) - roundTo(a[0], tenas.precision));
      ntkSorted.forEach(([v, c], i) => ranks.set(key(c), [i === 0 ? 0 : v === ntkSorted[i - 1]![0] ? ranks.get(key(ntkSorted[i - 1]![1]))![0] : ranks.get(key(ntkSorted[i - 1]![1]))![0] + 1, 0]));
      const lrSorted = [...lr].sort((a, b) => roundTo(a[0], tenas.precision) - roundTo(b[0], tenas.precision));
      lrSorted.forEach(([v, c], i) => { ranks.get(key(c))![1] = i === 0 ? 0 : v === lrSorted[i - 1]![0] ? ranks.get(key(lrSorted[i - 1]![1]))![1] : ranks.get(key(lrSorted[i - 1]![1]))![1] + 1; });
      const order = ntkSorted.map(([, c]) => c).sort((a, b) => ranks.get(key(a))![0] + ranks.get(key(a))![1] - ranks.get(key(b))![0] - ranks.get(key(b))![1]);
      const done = new Set<number>();
      for (const c of order) if (!done.has(c.edge)) { done.add(c.edge); removed.push({ edge: c.edge, op: c.op }); }
      removed.sort((a, b) => a.edge - b.edge);
      const lrOf = new Map(lr.map(([v, c]) => [key(c), v]));
      scored = ntk.map(([v, c]) => ({ ...c, score: v, value: lrOf.get(key(c))!, ranks: ranks.get(key(c))! }));
    }
    const before = cloneEdges(edges);
    for (const r of removed) edges[r.edge] = edges[r.edge]!.filter((o) => o !== r.op);
    rounds.push({ round, edges: before, base, candidates: scored, removed, seconds: (performance.now() - tr) / 1000 });
  }
  const genotype = edges.map((e) => e[0]!);
  const count = countGraph(nb201Graph(genotype), 32);
  return {
    algorithm, proxy, seed, repeats, genotype, genotypeString: formatNb201(genotype), index: nb201Index(genotype),
    params: count.params, flops: count.flops, rounds, evaluations, seconds: (performance.now() - t0) / 1000,
  };
}

/** How often each final genotype came out of runs with several seeds. */
export interface PruneFrequency { genotype: string; index: number; count: number; seeds: number[] }

/** Genotype frequencies of several runs (most frequent first, then by first seed). */
export function genotypeFrequencies(results: readonly PruneResult[]): PruneFrequency[] {
  const m = new Map<string, PruneFrequency>();
  for (const r of results) {
    const f = m.get(r.genotypeString) ?? { genotype: r.genotypeString, index: r.index, count: 0, seeds: [] };
    f.count++;
    f.seeds.push(r.seed);
    m.set(r.genotypeString, f);
  }
  return [...m.values()].sort((a, b) => b.count - a.count || a.seeds[0]! - b.seeds[0]!);
}

