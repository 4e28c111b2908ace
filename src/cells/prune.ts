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
 * DARTS (`pruneDarts`): the same loops on the 28 edges of TE-NAS's DARTS supernet (14 of the
 * normal cell, then 14 of the reduction cell; src/cells/darts-net.ts), then TE-NAS's
 * prune_func_rank_group: for every node of either cell (edge groups 0–2, 2–5, 5–9, 9–14), with
 * more than 2 incoming edges left, every edge is scored by masking it out (the same scores: s(e) =
 * P(N) − P(N \ e), or Δcond / ΔR ranks) and all but the 2 last in prune order are masked —
 * groups one after the other, each seeing the previous ones pruned. TE-NAS's DARTS settings
 * (prune_launch.py, CIFAR-10): 3 ops removed per edge per round (prune_number), NTK batch 14, the
 * NTK net C 1, N 1, depth 2, stem multiplier 1, the thin net the same without a stem on 1 channel.
 * ξ-GSNR's (§C.2): batch 4 × 2 batches, one op per edge per round (Algorithm 1).
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
import { CellEngineOptions, cellProxySpec, dartsSupernetProxyGraph, nb201SupernetProxyGraph, runCellProxy } from './lowering';
import type { Graph } from '../ops/graph';
import { DARTS_EDGE_LIST, DartsGene, DartsGenotype, DartsOp, formatDartsGenotype } from './darts';
import { DartsEdgeOps, DartsNetOptions, TENAS_DARTS_SPACE, dartsSupernetGraph } from './darts-net';

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
export interface PruneProgress { round: number; done: number; total: number; edge?: number; op?: string }

/** The score of one candidate op in a round. */
export interface PruneCandidate {
  edge: number;
  /** An op of the space (an edge's only op in an edge-selection round: removing it masks the edge). */
  op: string;
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
  /** 'ops' (one op per edge per round) or 'edges' (DARTS: keep 2 incoming edges of a node's group). */
  kind?: 'ops' | 'edges';
  /** 'edges' rounds: the group, e.g. 'normal node 4'. */
  group?: string;
  /** Ops per edge at the start of the round. */
  edges: string[][];
  /** xi-gsnr: P(N_t) (oriented); tenas: [cond(N_t), R(N_t)] means. */
  base: number | [number, number];
  candidates: PruneCandidate[];
  removed: { edge: number; op: string }[];
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

const cloneEdges = (edges: string[][]): string[][] => edges.map((e) => [...e]);
const singlePath = (edges: string[][]) => edges.every((e) => e.length <= 1);

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ZennasError('E_CANCELLED', 'the pruning search was cancelled');
}

/** What the pruning loop needs of a cell space; the loop itself knows no space. */
interface PruneSpace {
  /** Every edge's candidate ops, in slot order. */
  readonly ops: readonly string[];
  /** Prunable edges. */
  readonly edges: number;
  /** The graph `proxy` scores for a mask (ops per edge; an empty edge is masked out), one node layout for every mask. */
  graph(mask: string[][], proxy: ProxyName, net: object): Graph;
  /** xi-gsnr defaults: engine options and the supernet. */
  readonly xiEngine: CellEngineOptions;
  readonly xiNet: object;
  /** Ops removed per edge per round (TE-NAS prune_number; xi-gsnr: 1). */
  readonly tenasPruneNumber: number;
  readonly tenas: Partial<Omit<TenasSettings, 'ntkNet' | 'lrNet'>> & { ntkNet: object; lrNet: object };
  /** Edge selection after single-path (DARTS): groups of edges of which `keep` stay. */
  readonly groups?: readonly { name: string; edges: readonly number[]; keep: number }[];
}

interface LoopResult { edges: string[][]; rounds: PruneRound[]; evaluations: number; seconds: number; algorithm: PruneAlgorithm; proxy: string; seed: number; repeats: number }

/** The shared loop: op rounds until single-path, then the space's edge-selection groups. */
async function pruneLoop(engine: Engine, space: PruneSpace, options: PruneOptions | DartsPruneOptions): Promise<LoopResult> {
  const known = ['algorithm', 'proxy', 'seed', 'repeats', 'none', 'net', 'engineOptions', 'tenas', 'onProgress', 'signal', 'pruneNumber'];
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
  const pruneNumber = checkInt('pruneNumber', (options as DartsPruneOptions).pruneNumber ?? (algorithm === 'tenas' ? space.tenasPruneNumber : 1), 1, space.ops.length);
  const tenas = { ...TENAS_DEFAULTS, ...space.tenas, ...(options.tenas ?? {}) } as TenasSettings;
  const signal = options.signal;

  const edges: string[][] = Array.from({ length: space.edges }, () => space.ops.filter((o) => none === 'search' || o !== 'none'));
  const rounds: PruneRound[] = [];
  let evaluations = 0;
  const t0 = performance.now();

  // One evaluation: per-repeat scores of a proxy on a sub-supernet (same seed → same θ and data).
  const evaluate = async (p: ProxyName, mask: string[][], net: object, eo: CellEngineOptions): Promise<number[]> => {
    checkAborted(signal);
    evaluations++;
    const r = await runCellProxy(engine, p, space.graph(mask, p, net), { ...eo, seed, repeats }, signal);
    return r.scores;
  };
  type Cand = { edge: number; op: string };
  const key = (c: Cand) => `${c.edge}:${c.op}`;

  /**
   * Scores of the candidates (each: the mask without it) and the prune order: xi-gsnr ascending
   * s(o) = P(N) − P(N \ o) (stable: ties keep candidate order); tenas ascending rank sum.
   */
  const score = async (mask: string[][], candidates: Cand[], progress: (done: number, c?: Cand) => void) => {
    const without = (c: Cand) => mask.map((ops, e) => (e === c.edge ? ops.filter((o) => o !== c.op) : ops));
    if (algorithm === 'xi-gsnr') {
      const sign = spec!.direction === 'min' ? -1 : 1;
      const eo = { ...space.xiEngine, ...(options.engineOptions ?? {}) };
      const net = { ...space.xiNet, ...(options.net ?? {}) };
      const P = async (m: string[][]) => sign * mean(await evaluate(proxy as ProxyName, m, net, eo));
      const b = await P(mask);
      progress(1);
      const scored: PruneCandidate[] = [];
      for (const [i, c] of candidates.entries()) {
        const v = await P(without(c));
        scored.push({ ...c, score: b - v, value: v });
        progress(i + 2, c);
      }
      const order = scored.map((c, i) => [c, i] as const).sort((a, b) => a[0].score - b[0].score || a[1] - b[1]).map(([c]) => ({ edge: c.edge, op: c.op }));
      return { base: b as number | [number, number], scored, order };
    }
    const ntkEo = { batchSize: tenas.ntkBatchSize, resolution: tenas.ntkResolution, init: 'torch' };
    const lrEo = { batchSize: tenas.lrBatchSize, sampleBatches: tenas.lrSampleBatches, resolution: tenas.lrResolution, init: 'torch' };
    const lrNet = { ...tenas.lrNet, inputChannels: (tenas.lrNet as { inputChannels?: number }).inputChannels ?? 1 };
    const cond0 = await evaluate('tenas_ntk', mask, tenas.ntkNet, ntkEo);
    const lr0 = await evaluate('tenas_lr', mask, lrNet, lrEo);
    progress(1);
    const ntk: [number, Cand][] = [];
    const lr: [number, Cand][] = [];
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
    const ntkSorted = [...ntk].sort((a, b) => roundTo(b[0], tenas.precision) - roundTo(a[0], tenas.precision));
    ntkSorted.forEach(([v, c], i) => ranks.set(key(c), [i === 0 ? 0 : v === ntkSorted[i - 1]![0] ? ranks.get(key(ntkSorted[i - 1]![1]))![0] : ranks.get(key(ntkSorted[i - 1]![1]))![0] + 1, 0]));
    const lrSorted = [...lr].sort((a, b) => roundTo(a[0], tenas.precision) - roundTo(b[0], tenas.precision));
    lrSorted.forEach(([v, c], i) => { ranks.get(key(c))![1] = i === 0 ? 0 : v === lrSorted[i - 1]![0] ? ranks.get(key(lrSorted[i - 1]![1]))![1] : ranks.get(key(lrSorted[i - 1]![1]))![1] + 1; });
    const order = ntkSorted.map(([, c]) => c).sort((a, b) => ranks.get(key(a))![0] + ranks.get(key(a))![1] - ranks.get(key(b))![0] - ranks.get(key(b))![1]);
    const lrOf = new Map(lr.map(([v, c]) => [key(c), v]));
    const scored = ntk.map(([v, c]) => ({ ...c, score: v, value: lrOf.get(key(c))!, ranks: ranks.get(key(c))! }));
    return { base: [mean(cond0), mean(lr0)] as number | [number, number], scored, order };
  };

  const runRound = async (kind: 'ops' | 'edges', candidates: Cand[], pick: (order: Cand[]) => Cand[], group?: string) => {
    const round = rounds.length + 1;
    const tr = performance.now();
    const total = candidates.length + 1;
    const progress = (done: number, c?: Cand) => options.onProgress?.({ round, done, total, ...(c ? { edge: c.edge, op: c.op } : {}) });
    const { base, scored, order } = await score(edges, candidates, progress);
    const removed = pick(order).sort((a, b) => a.edge - b.edge || space.ops.indexOf(a.op) - space.ops.indexOf(b.op));
    const before = cloneEdges(edges);
    for (const r of removed) edges[r.edge] = edges[r.edge]!.filter((o) => o !== r.op);
    rounds.push({ round, ...(space.groups ? { kind } : {}), ...(group ? { group } : {}), edges: before, base, candidates: scored, removed, seconds: (performance.now() - tr) / 1000 });
  };

  while (!singlePath(edges)) {
    const candidates: Cand[] = [];
    edges.forEach((ops, e) => { if (ops.length > 1) for (const op of ops) candidates.push({ edge: e, op }); });
    // TE-NAS: prune_number = min(prune_number, ops left on the first edge − 1); per edge the first that many in prune order.
    const n = Math.max(1, Math.min(pruneNumber, edges[0]!.length - 1));
    await runRound('ops', candidates, (order) => {
      const per = new Map<number, number>();
      return order.filter((c) => { const k = per.get(c.edge) ?? 0; if (k >= n) return false; per.set(c.edge, k + 1); return true; });
    });
  }
  for (const g of space.groups ?? []) {
    const active = g.edges.filter((e) => edges[e]!.length > 0);
    if (active.length <= g.keep) continue;
    // prune_func_rank_group: every remaining edge of the group is a candidate; all but the last `keep` in prune order go.
    await runRound('edges', active.map((e) => ({ edge: e, op: edges[e]![0]! })), (order) => order.slice(0, order.length - g.keep), g.name);
  }
  return { edges, rounds, evaluations, seconds: (performance.now() - t0) / 1000, algorithm, proxy, seed, repeats };
}

const NB201_SPACE: PruneSpace = {
  ops: NB201_OPS,
  edges: NB201_EDGES.length,
  graph: (mask, p, net) => nb201SupernetProxyGraph(mask as Nb201Op[][], p, { ...(net as Nb201NetOptions), slots: NB201_OPS }),
  xiEngine: { batchSize: 64, numBatches: 8, xi: 1e-8, resolution: 32 },
  xiNet: {},
  tenasPruneNumber: 1,
  tenas: { ntkBatchSize: TENAS_DEFAULTS.ntkBatchSize, ntkNet: TENAS_DEFAULTS.ntkNet, lrNet: TENAS_DEFAULTS.lrNet },
};

/** ξ-GSNR Algorithm 1 or TE-NAS's rank-combined variant on the NAS-Bench-201 supernet. */
export async function pruneNb201(engine: Engine, options: PruneOptions = {}): Promise<PruneResult> {
  const r = await pruneLoop(engine, NB201_SPACE, options);
  const genotype = r.edges.map((e) => e[0]! as Nb201Op);
  const count = countGraph(nb201Graph(genotype), 32);
  return {
    algorithm: r.algorithm, proxy: r.proxy, seed: r.seed, repeats: r.repeats, genotype, genotypeString: formatNb201(genotype), index: nb201Index(genotype),
    params: count.params, flops: count.flops, rounds: r.rounds, evaluations: r.evaluations, seconds: r.seconds,
  };
}

/** Options of `pruneDarts` (`net` and `tenas` nets are DARTS network options). */
export interface DartsPruneOptions extends Omit<PruneOptions, 'net' | 'tenas'> {
  /** xi-gsnr: the supernet (default TE-NAS's: C 1, N 1, depth 2, stem multiplier 1, 10 classes). */
  net?: DartsNetOptions;
  /** tenas: settings (DARTS defaults: NTK batch 14, TE-NAS's two DARTS nets). */
  tenas?: Partial<Omit<TenasSettings, 'ntkNet' | 'lrNet'> & { ntkNet: DartsNetOptions; lrNet: DartsNetOptions }>;
  /** Ops removed per edge per round (default: tenas 3, TE-NAS's CIFAR-10 prune_number; xi-gsnr 1). */
  pruneNumber?: number;
}

/** Result of `pruneDarts`. */
export interface DartsPruneResult {
  algorithm: PruneAlgorithm;
  proxy: string;
  seed: number;
  repeats: number;
  genotype: DartsGenotype;
  /** DARTS's Genotype(...) format. */
  genotypeString: string;
  /** Params / FLOPs of the genotype's search network at the pruning net's C, N, depth (32×32, 10 classes). */
  params: number;
  flops: number;
  rounds: PruneRound[];
  evaluations: number;
  seconds: number;
}

/** TE-NAS's DARTS edge groups: the incoming edges of nodes 2..5, per cell (normal edges 0–13, reduction 14–27). */
const DARTS_GROUPS = (['normal', 'reduction'] as const).flatMap((cellName, c) => [[0, 2], [2, 5], [5, 9], [9, 14]].map(([a, b], k) => ({
  name: `${cellName} node ${k + 2}`, edges: Array.from({ length: b! - a! }, (_, i) => 14 * c + a! + i), keep: 2,
})));

/** The DARTS edge mask as the two cells' edge lists. */
function dartsMask(mask: string[][]): DartsEdgeOps {
  return { normal: mask.slice(0, 14) as DartsOp[][], reduce: mask.slice(14) as DartsOp[][] };
}

/** ξ-GSNR Algorithm 1 or TE-NAS's variant on TE-NAS's DARTS supernet, then the top-2 incoming edges of every node; the genotype in DARTS's format. */
export async function pruneDarts(engine: Engine, options: DartsPruneOptions = {}): Promise<DartsPruneResult> {
  const space: PruneSpace = {
    ops: TENAS_DARTS_SPACE,
    edges: 28,
    graph: (mask, p, net) => dartsSupernetProxyGraph(dartsMask(mask), p, { ...(net as DartsNetOptions), slots: TENAS_DARTS_SPACE }),
    xiEngine: { batchSize: 4, numBatches: 2, xi: 1e-8, resolution: 32 },
    xiNet: {},
    tenasPruneNumber: 3,
    tenas: { ntkBatchSize: 14, ntkNet: TENAS_DARTS_NETS.ntkNet, lrNet: TENAS_DARTS_NETS.lrNet },
    groups: DARTS_GROUPS,
  };
  const r = await pruneLoop(engine, space, options);
  const m = dartsMask(r.edges);
  // TE-NAS genotype(): per node its remaining (op, input) pairs in edge order (every weight is equal after pruning).
  const genes = (edges: DartsOp[][]) => DARTS_EDGE_LIST.flatMap(([, from], e) => edges[e]!.map((op) => [op, from] as DartsGene));
  const genotype: DartsGenotype = { normal: genes(m.normal as DartsOp[][]), normalConcat: [2, 3, 4, 5], reduce: genes(m.reduce as DartsOp[][]), reduceConcat: [2, 3, 4, 5] };
  const net = options.algorithm === 'tenas' ? { ...TENAS_DARTS_NETS.ntkNet, ...(options.tenas?.ntkNet ?? {}) } : { ...(options.net ?? {}) };
  const count = countGraph(dartsSupernetGraph(m, { ...net, numClasses: 10, stem: true, inputChannels: 3 }), 32);
  return {
    algorithm: r.algorithm, proxy: r.proxy, seed: r.seed, repeats: r.repeats, genotype, genotypeString: formatDartsGenotype(genotype),
    params: count.params, flops: count.flops, rounds: r.rounds, evaluations: r.evaluations, seconds: r.seconds,
  };
}

/** TE-NAS's two DARTS nets (prune_tenas.py model_config / model_config_thin): C 1, N 1, depth 2, stem multiplier 1; the thin one without a stem on 1 channel. */
export const TENAS_DARTS_NETS: Readonly<{ ntkNet: DartsNetOptions; lrNet: DartsNetOptions }> = Object.freeze({
  ntkNet: { channels: 1, cells: 1, depth: 2, stemMultiplier: 1 },
  lrNet: { channels: 1, cells: 1, depth: 2, stemMultiplier: 1, stem: false, inputChannels: 1 },
});

/** How often each final genotype came out of runs with several seeds. */
export interface PruneFrequency { genotype: string; /** NAS-Bench-201's index (absent for DARTS). */ index?: number; count: number; seeds: number[] }

/** Genotype frequencies of several runs (most frequent first, then by first seed). */
export function genotypeFrequencies(results: readonly { genotypeString: string; seed: number; index?: number }[]): PruneFrequency[] {
  const m = new Map<string, PruneFrequency>();
  for (const r of results) {
    const f = m.get(r.genotypeString) ?? { genotype: r.genotypeString, ...(r.index !== undefined ? { index: r.index } : {}), count: 0, seeds: [] };
    f.count++;
    f.seeds.push(r.seed);
    m.set(r.genotypeString, f);
  }
  return [...m.values()].sort((a, b) => b.count - a.count || a.seeds[0]! - b.seeds[0]!);
}

