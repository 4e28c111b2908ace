/**
 * The NAS-Bench-201 network (TinyNetwork, cell_infers/tiny_network.py) and its supernet
 * (TinyNetworkDarts with every op on every edge) lowered to a zennas Graph:
 *
 *   stem: conv 3×3 (3 → C, no bias) + BN
 *   stage 1: N cells at C; ResNet basic block C → 2C, stride 2; stage 2: N cells at 2C;
 *   basic block 2C → 4C, stride 2; stage 3: N cells at 4C
 *   lastact: BN + ReLU (outputs[0] of the body: the pre-GAP feature map), then GAP + Linear (bias).
 *
 * Basic block (cell_operations.ResNetBasicblock, stride 2): ReLU-conv3×3(s2)-BN, ReLU-conv3×3-BN,
 * shortcut AvgPool2d(2, 2) + conv 1×1 (no BN), output = shortcut + main (no ReLU).
 *
 * The shortcut pool (option `reductionPool`): 'avg2' (default) is NAS-Bench-201's own
 * AvgPool2d(2, stride 2, padding 0) (AVGPOOL with its pad attribute). 'avg3' (3×3 / stride 2 / pad 1,
 * padding excluded) and 'subsample' (1×1 / stride 2: every other pixel) are the stand-ins zennas
 * used before the engine had even pools, kept to reproduce older runs: params and FLOPs are the
 * same (the pool has neither; the 1×1 conv runs at the same reduced size), proxy values are not.
 * With 'avg2' every map entering a basic block must have an even size (as in PyTorch, where the
 * floor(H/2) shortcut would not add to the ceil(H/2) main branch otherwise).
 */
import { ZennasError } from '../errors';
import { Graph, inferGraph } from '../ops/graph';
import { CellGraphBuilder } from './graph-builder';
import { layerFlops, layerParams } from '../model/layers';
import { NB201_EDGES, NB201_OPS, Nb201Genotype, Nb201Op, isNb201Op } from './nb201';

/** Options of the NAS-Bench-201 network. */
export interface Nb201NetOptions {
  /** Channels of the first stage, C (NAS-Bench-201: 16). */
  channels?: number;
  /** Cells per stage, N (NAS-Bench-201: 5). */
  cells?: number;
  /** Classes of the Linear classifier (CIFAR-10: 10). 0 = no GAP + Linear (the body only). */
  numClasses?: number;
  /** Input channels (3; TE-NAS's linear-region net uses 1 and no stem, so it must equal C). */
  inputChannels?: number;
  /** The stem conv 3×3 + BN (TinyNetworkDarts' use_stem; default true). */
  stem?: boolean;
  /** Build only the first `depth` units of the 3N + 2 (cells and basic blocks; TinyNetworkDarts' depth); 0 = all. */
  depth?: number;
  /** The basic block's shortcut pool: 'avg2' (NAS-Bench-201's 2×2 / 2, default) or a stand-in, see the file comment. */
  reductionPool?: Nb201ReductionPool;
  /**
   * 'keep' (default): the net as NAS-Bench-201 defines it. 'remove': Zen-NAS's "no residual links"
   * carried over to cells — every skip_connect edge becomes none and the basic blocks lose their
   * shortcut. Not the default: in a cell space the skip edge *is* the searched choice, and removing
   * it makes genotypes that differ only in skip vs none indistinguishable.
   */
  residuals?: 'keep' | 'remove';
}

/** The basic block's shortcut pool: NAS-Bench-201's 'avg2', or the older stand-ins 'avg3' / 'subsample'. */
export type Nb201ReductionPool = 'avg2' | 'avg3' | 'subsample';
export const NB201_REDUCTION_POOLS: readonly Nb201ReductionPool[] = ['avg2', 'avg3', 'subsample'];

/** The ops on each of the 6 edges of every cell (a genotype has one per edge; a supernet several). */
export type Nb201EdgeOps = readonly (readonly Nb201Op[])[];

/** Options of the supernet graph. */
export interface Nb201SupernetOptions extends Nb201NetOptions {
  /**
   * The op slots of every edge, in order. Each slot always lowers to the same number of nodes:
   * an op absent from an edge leaves weight-free placeholders (GAP of the input image, read by
   * nothing), so every conv keeps its node index — and with it its Philox weight stream — in every
   * sub-supernet: N_t and N_t \ o_m share their weights θ, as Algorithm 1 initialises θ once and
   * TE-NAS copies the weights between the two networks it compares.
   */
  slots?: readonly Nb201Op[];
}

/** Defaults: NAS-Bench-201's C = 16, N = 5, CIFAR-10's 10 classes. */
export const NB201_NET_DEFAULTS = { channels: 16, cells: 5, numClasses: 10, inputChannels: 3, stem: true, depth: 0, reductionPool: 'avg2', residuals: 'keep' } as const;

type Resolved = Required<Nb201NetOptions>;

function intIn(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new ZennasError('E_OPTION', `${name} must be an integer in ${lo}..${hi}, got ${JSON.stringify(v)}`);
  return v;
}

function resolve(o: Nb201NetOptions | undefined): Resolved {
  const g = (o ?? {}) as Record<string, unknown>;
  const known = ['channels', 'cells', 'numClasses', 'inputChannels', 'stem', 'depth', 'reductionPool', 'residuals', 'slots'];
  for (const k of Object.keys(g)) if (!known.includes(k)) throw new ZennasError('E_OPTION', `unknown NAS-Bench-201 option '${k}'; valid: ${known.join(', ')}`);
  const pick = <K extends keyof Resolved>(k: K): Resolved[K] => (g[k] === undefined ? NB201_NET_DEFAULTS[k] : g[k]) as Resolved[K];
  const r: Resolved = {
    channels: intIn('channels (C)', pick('channels'), 1, 4096),
    cells: intIn('cells (N)', pick('cells'), 1, 64),
    numClasses: intIn('numClasses', pick('numClasses'), 0, 65536),
    inputChannels: intIn('inputChannels', pick('inputChannels'), 1, 4096),
    stem: pick('stem'),
    depth: intIn('depth', pick('depth'), 0, 3 * 64 + 2),
    reductionPool: pick('reductionPool'),
    residuals: pick('residuals'),
  };
  if (!NB201_REDUCTION_POOLS.includes(r.reductionPool)) throw new ZennasError('E_OPTION', `reductionPool must be ${NB201_REDUCTION_POOLS.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(r.reductionPool)}`);
  if (typeof r.stem !== 'boolean') throw new ZennasError('E_OPTION', `stem must be true or false, got ${JSON.stringify(r.stem)}`);
  if (!r.stem && r.inputChannels !== r.channels) throw new ZennasError('E_OPTION', `without a stem the input channels (${r.inputChannels}) must equal channels C (${r.channels})`);
  if (r.residuals !== 'keep' && r.residuals !== 'remove') throw new ZennasError('E_OPTION', `residuals must be 'keep' or 'remove', got ${JSON.stringify(r.residuals)}`);
  return r;
}


/** Nodes an op lowers to (a placeholder of an absent op emits as many). */
const OP_NODES: Record<Nb201Op, number> = { none: 1, skip_connect: 1, nor_conv_1x1: 3, nor_conv_3x3: 3, avg_pool_3x3: 1 };

function edgeOp(b: CellGraphBuilder, op: Nb201Op, x: number): number {
  switch (op) {
    case 'none': return b.zero(x);
    case 'skip_connect': return b.identity(x);
    case 'nor_conv_1x1': return b.reluConvBn(x, b.c(x), 1, 1);
    case 'nor_conv_3x3': return b.reluConvBn(x, b.c(x), 3, 1);
    case 'avg_pool_3x3': return b.avgpool(x, 3, 1, 0);
  }
}

function checkEdgeOps(edges: Nb201EdgeOps, slots: readonly Nb201Op[] | undefined): void {
  if (!Array.isArray(edges) || edges.length !== 6) throw new ZennasError('E_STRUCTURE', `a NAS-Bench-201 cell has 6 edges, got ${Array.isArray(edges) ? edges.length : typeof edges}`);
  edges.forEach((ops, e) => {
    if (!Array.isArray(ops) || ops.length === 0) throw new ZennasError('E_STRUCTURE', `edge ${e} (${NB201_EDGES[e]![1]}→${NB201_EDGES[e]![0]}) has no op`);
    for (const o of ops) {
      if (typeof o !== 'string' || !isNb201Op(o)) throw new ZennasError('E_STRUCTURE', `edge ${e}: unknown op ${JSON.stringify(o)} (the ops: ${NB201_OPS.join(', ')})`);
      if (slots && !slots.includes(o)) throw new ZennasError('E_STRUCTURE', `edge ${e}: op '${o}' has no slot (slots: ${slots.join(', ')})`);
    }
    if (new Set(ops).size !== ops.length) throw new ZennasError('E_STRUCTURE', `edge ${e} lists an op twice: ${ops.join(', ')}`);
  });
}

/** One cell: node j = Σ over edges i→j of Σ over the edge's ops. */
function cell(b: CellGraphBuilder, x: number, edges: Nb201EdgeOps, o: Resolved, slots: readonly Nb201Op[] | undefined): number {
  const nodes = [x];
  let e = 0;
  for (let j = 1; j <= 3; j++) {
    const terms: number[] = [];
    for (let i = 0; i < j; i++, e++) {
      const present = new Set(edges[e]!.map((op) => (o.residuals === 'remove' && op === 'skip_connect' ? 'none' : op)));
      for (const op of slots ?? NB201_OPS) {
        if (present.has(op)) terms.push(edgeOp(b, op, nodes[i]!));
        else if (slots) for (let k = 0; k < OP_NODES[op]; k++) b.gap(0);  // placeholder: keeps later node indices
      }
    }
    if (terms.length === 0) throw new ZennasError('E_STRUCTURE', `cell node ${j} has no input op`);
    nodes.push(b.sum(terms));
  }
  return nodes[3]!;
}

/** ResNet basic block, stride 2: shortcut (pool + 1×1 conv) + main (ReLUConvBN ×2). */
function reduction(b: CellGraphBuilder, x: number, cout: number, o: Resolved): number {
  const main = b.reluConvBn(b.reluConvBn(x, cout, 3, 2), cout, 3, 1);
  if (o.residuals === 'remove') return main;
  b.role = 'shortcut';
  const pooled = o.reductionPool === 'avg2' ? b.avgpool(x, 2, 2, 1, 0)  // AvgPool2d(2, 2, padding 0)
    : o.reductionPool === 'avg3' ? b.avgpool(x, 3, 2, 0) : b.avgpool(x, 1, 2, 1);
  const sc = b.conv(pooled, cout, 1, 1);
  b.role = 'main';
  return b.sum([sc, main]);
}

function build(edges: Nb201EdgeOps, o: Resolved, slots: readonly Nb201Op[] | undefined): Graph {
  checkEdgeOps(edges, slots);
  const b = new CellGraphBuilder(o.inputChannels);
  const C = o.channels;
  b.block = 0;
  let x = o.stem ? b.bn(b.conv(0, C, 3, 1)) : 0;
  let block = 1;
  const units = o.depth > 0 ? o.depth : 3 * o.cells + 2;
  for (let stage = 0; stage < 3 && block <= units; stage++) {
    if (stage > 0) {
      b.block = block++;
      x = reduction(b, x, C << stage, o);
    }
    for (let n = 0; n < o.cells && block <= units; n++) {
      b.block = block++;
      x = cell(b, x, edges, o, slots);
    }
  }
  return b.finish(x, block, o.numClasses);
}

/** The NAS-Bench-201 network of a genotype (compact: no placeholders). */
export function nb201Graph(genotype: Nb201Genotype, options?: Nb201NetOptions): Graph {
  if (!Array.isArray(genotype) || genotype.length !== 6) throw new ZennasError('E_STRUCTURE', `a NAS-Bench-201 genotype has 6 ops, got ${JSON.stringify(genotype)}`);
  return build(genotype.map((op) => [op]), resolve(options), undefined);
}

/**
 * The supernet with `edges[e]` the ops remaining on edge e (the same in every cell, as
 * TinyNetworkDarts shares one α per edge): each edge sums its ops (TE-NAS weights them by
 * softmax(α) = 1/|ops| — the engine has no scalar scale op, so zennas sums them with weight 1).
 * With `slots` (default: all five ops) the node layout is the same for every mask.
 */
export function nb201SupernetGraph(edges: Nb201EdgeOps, options?: Nb201SupernetOptions): Graph {
  const { slots, ...rest } = options ?? {};
  const s = slots ?? NB201_OPS;
  if (!Array.isArray(s) || s.length === 0 || s.some((x) => !isNb201Op(x)) || new Set(s).size !== s.length) throw new ZennasError('E_OPTION', `slots must be distinct NAS-Bench-201 ops, got ${JSON.stringify(s)}`);
  return build(edges, resolve(rest), s);
}

/** Params (conv/linear weights, linear bias, BN γ/β) and FLOPs (conv/linear multiply-adds) of a graph. */
export interface GraphCount {
  params: number;
  flops: number;
  paramsNoClassifier: number;
  flopsNoClassifier: number;
}

/** Counts of a graph at a square resolution (DESIGN §2's convention, as countModel). */
export function countGraph(g: Graph, resolution: number): GraphCount {
  const shapes = inferGraph(g, resolution).nodes;
  const c: GraphCount = { params: 0, flops: 0, paramsNoClassifier: 0, flopsNoClassifier: 0 };
  g.nodes.forEach((n, i) => {
    const p = layerParams(n), f = layerFlops(n, shapes[i]!);
    c.params += p;
    c.flops += f;
    if (n.role !== 'classifier') { c.paramsNoClassifier += p; c.flopsNoClassifier += f; }
  });
  return c;
}
