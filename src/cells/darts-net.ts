/**
 * The DARTS search network as TE-NAS builds it (VITA-Group/TENAS lib/models/cell_searchs/
 * search_model_darts_nasnet.py NASNetworkDARTS, search_cells.py NASNetSearchCell,
 * cell_operations.py OPS), lowered to a zennas Graph:
 *
 *   stem: conv 3×3 (3 → stemMultiplier·C, no bias) + BN (option `stem`)
 *   cells: N normal at C, a reduction cell at 2C, N − 1 normal at 2C, a reduction cell at 4C,
 *   N − 1 normal at 4C (the first `depth` of them when depth > 0: TE-NAS's DARTS setting is
 *   C = 1, N = 1, depth 2, stem multiplier 1)
 *   lastact: BN + ReLU (outputs[0] of the body), then GAP + Linear (bias).
 *
 * Cell: s0 = preprocess0(cell two back): FactorizedReduce (C_pp → C, stride 2) after a reduction
 * cell, else ReLU → conv 1×1 → BN; s1 = ReLU → conv 1×1 → BN of the previous cell. Node j (2..5)
 * = Σ over its edges i < j of Σ over the edge's ops op(node i); edges from s0, s1 have stride 2 in
 * a reduction cell. Output: nodes 2..5 concatenated along channels (4C).
 *
 * Ops (C → C, TE-NAS's cell_operations.OPS, affine BN):
 *   none: x·0 (stride 2: x[:, :, ::2, ::2]·0, here a 1×1/2 pool then ZERO);
 *   avg_pool_3x3: AvgPool2d(3, s, 1, count_include_pad=False); max_pool_3x3: MaxPool2d(3, s, 1);
 *   skip_connect: identity, or FactorizedReduce at stride 2 (ReLU; conv 1×1/2 of x and of
 *   x[:, :, 1:, 1:] zero-padded back to H×W, as TE-NAS, to C/2 channels each; concat; BN — on even
 *   maps the stride-2 conv never reads the padding, which is DARTS's own x[:, :, 1:, 1:]);
 *   sep_conv_k: twice (ReLU → depthwise k×k → conv 1×1 → BN), the first with the stride;
 *   dil_conv_k: ReLU → depthwise k×k dilation 2 → conv 1×1 → BN.
 *
 * Deviation (documented): TE-NAS's MixedOp weights an edge's ops by softmax(α) = 1/k; as in the
 * NAS-Bench-201 supernet zennas sums them (the engine has no scalar-scale op). Not a deviation
 * from TE-NAS but from DARTS's own model_search: no affine-free BN after the pools of a MixedOp.
 */
import { ZennasError } from '../errors';
import { Graph } from '../ops/graph';
import { CellGraphBuilder } from './graph-builder';
import { DARTS_EDGE_LIST, DARTS_OPS, DARTS_STEPS, DartsGenotype, DartsOp, checkDartsGenotype, isDartsOp } from './darts';

/** Options of the DARTS search network. */
export interface DartsNetOptions {
  /** Channels C of the first stage (TE-NAS's DARTS setting: 1). */
  channels?: number;
  /** Cells per stage N (TE-NAS: 1). */
  cells?: number;
  /** Build only the first `depth` cells (TE-NAS: 2); 0 = all 3N. */
  depth?: number;
  /** Stem conv 3×3 + BN (TE-NAS's use_stem). */
  stem?: boolean;
  /** Stem output channels = stemMultiplier · C (TE-NAS: 1; DARTS: 3). */
  stemMultiplier?: number;
  /** Classes of the Linear classifier; 0 = no GAP + Linear (the body only). */
  numClasses?: number;
  /** Input channels (without a stem they must equal stemMultiplier · C). */
  inputChannels?: number;
}

/** Defaults: TE-NAS's DARTS supernet for the NTK (prune_tenas.py model_config), CIFAR-10's 10 classes. */
export const DARTS_NET_DEFAULTS = { channels: 1, cells: 1, depth: 2, stem: true, stemMultiplier: 1, numClasses: 10, inputChannels: 3 } as const;

/** The ops on each of the 14 edges of the normal and of the reduction cells (an empty edge is masked out, as TE-NAS's −INF α). */
export interface DartsEdgeOps {
  normal: readonly (readonly DartsOp[])[];
  reduce: readonly (readonly DartsOp[])[];
}

/** Options of the supernet graph. */
export interface DartsSupernetOptions extends DartsNetOptions {
  /** Op slots of every edge, in order (default: TE-NAS's DARTS_SPACE order); an absent op leaves weight-free placeholders. */
  slots?: readonly DartsOp[];
}

/** TE-NAS's op order of the DARTS space (cell_operations.DARTS_SPACE). */
export const TENAS_DARTS_SPACE: readonly DartsOp[] = ['none', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5', 'avg_pool_3x3', 'max_pool_3x3'];

type Resolved = Required<DartsNetOptions>;

function intIn(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new ZennasError('E_OPTION', `${name} must be an integer in ${lo}..${hi}, got ${JSON.stringify(v)}`);
  return v;
}

function resolve(o: DartsNetOptions | undefined): Resolved {
  const g = (o ?? {}) as Record<string, unknown>;
  const known = ['channels', 'cells', 'depth', 'stem', 'stemMultiplier', 'numClasses', 'inputChannels', 'slots'];
  for (const k of Object.keys(g)) if (!known.includes(k)) throw new ZennasError('E_OPTION', `unknown DARTS option '${k}'; valid: ${known.join(', ')}`);
  const pick = <K extends keyof Resolved>(k: K): Resolved[K] => (g[k] === undefined ? DARTS_NET_DEFAULTS[k] : g[k]) as Resolved[K];
  const r: Resolved = {
    channels: intIn('channels (C)', pick('channels'), 1, 4096),
    cells: intIn('cells (N)', pick('cells'), 1, 64),
    depth: intIn('depth', pick('depth'), 0, 3 * 64),
    stem: pick('stem'),
    stemMultiplier: intIn('stemMultiplier', pick('stemMultiplier'), 1, 64),
    numClasses: intIn('numClasses', pick('numClasses'), 0, 65536),
    inputChannels: intIn('inputChannels', pick('inputChannels'), 1, 4096),
  };
  if (typeof r.stem !== 'boolean') throw new ZennasError('E_OPTION', `stem must be true or false, got ${JSON.stringify(r.stem)}`);
  if (!r.stem && r.inputChannels !== r.channels * r.stemMultiplier) throw new ZennasError('E_OPTION', `without a stem the input channels (${r.inputChannels}) must equal stemMultiplier · C (${r.channels * r.stemMultiplier})`);
  return r;
}

/** The shared cell builder plus DARTS's two compound ops. */
class Builder extends CellGraphBuilder {
  /** ReLU; conv 1×1/2 of x and of x[:, :, 1:, 1:] zero-padded (C_out/2 and the rest); concat; BN. */
  factorizedReduce(v: number, cout: number): number {
    const half = cout >> 1;
    if (half < 1) throw new ZennasError('E_STRUCTURE', `FactorizedReduce to ${cout} channel(s): needs at least 2`);
    const x = this.relu(v);
    const a = this.conv(x, half, 1, 2);
    const b = this.conv(this.shift(x, 1), cout - half, 1, 2);
    return this.bn(this.concat([a, b]));
  }
  /** ReLU → depthwise k×k (stride, dilation) → conv 1×1 → BN (TE-NAS's SepConv). */
  sepConv(v: number, k: number, s: number, dilation = 1): number { return this.bn(this.conv(this.dwconv(this.relu(v), k, s, dilation), this.c(v), 1, 1)); }
}

/** Nodes an op lowers to at a stride (a placeholder of an absent op emits as many). */
function opNodes(op: DartsOp, stride: number): number {
  switch (op) {
    case 'none': return stride === 1 ? 1 : 2;
    case 'avg_pool_3x3': case 'max_pool_3x3': return 1;
    case 'skip_connect': return stride === 1 ? 1 : 6;
    case 'sep_conv_3x3': case 'sep_conv_5x5': return 8;
    case 'dil_conv_3x3': case 'dil_conv_5x5': return 4;
  }
}

function edgeOp(b: Builder, op: DartsOp, x: number, stride: number): number {
  switch (op) {
    case 'none': return b.zero(stride === 1 ? x : b.avgpool(x, 1, stride, 1));
    case 'avg_pool_3x3': return b.avgpool(x, 3, stride, 0);
    case 'max_pool_3x3': return b.maxpool(x, stride);
    case 'skip_connect': return stride === 1 ? b.identity(x) : b.factorizedReduce(x, b.c(x));
    case 'sep_conv_3x3': return b.sepConv(b.sepConv(x, 3, stride), 3, 1);
    case 'sep_conv_5x5': return b.sepConv(b.sepConv(x, 5, stride), 5, 1);
    case 'dil_conv_3x3': return b.sepConv(x, 3, stride, 2);
    case 'dil_conv_5x5': return b.sepConv(x, 5, stride, 2);
  }
}

function checkEdges(edges: DartsEdgeOps, slots: readonly DartsOp[] | undefined): void {
  for (const kind of ['normal', 'reduce'] as const) {
    const list = edges?.[kind];
    if (!Array.isArray(list) || list.length !== DARTS_EDGE_LIST.length) throw new ZennasError('E_STRUCTURE', `a DARTS ${kind} cell has ${DARTS_EDGE_LIST.length} edges, got ${Array.isArray(list) ? list.length : typeof list}`);
    list.forEach((ops, e) => {
      const [to, from] = DARTS_EDGE_LIST[e]!;
      if (!Array.isArray(ops)) throw new ZennasError('E_STRUCTURE', `${kind} edge ${e} (${from}→${to}): expected a list of ops`);
      for (const o of ops) {
        if (typeof o !== 'string' || !isDartsOp(o)) throw new ZennasError('E_STRUCTURE', `${kind} edge ${e}: unknown op ${JSON.stringify(o)} (the primitives: ${DARTS_OPS.join(', ')})`);
        if (slots && !slots.includes(o)) throw new ZennasError('E_STRUCTURE', `${kind} edge ${e}: op '${o}' has no slot (slots: ${slots.join(', ')})`);
      }
      if (new Set(ops).size !== ops.length) throw new ZennasError('E_STRUCTURE', `${kind} edge ${e} lists an op twice: ${ops.join(', ')}`);
    });
  }
}

/** One cell: preprocess, 4 nodes, concat. */
function cell(b: Builder, s0in: number, s1in: number, C: number, reduction: boolean, reductionPrev: boolean, edges: readonly (readonly DartsOp[])[], slots: readonly DartsOp[] | undefined): number {
  const s0 = reductionPrev ? b.factorizedReduce(s0in, C) : b.reluConvBn(s0in, C);
  const s1 = b.reluConvBn(s1in, C);
  const states = [s0, s1];
  let e = 0;
  for (let j = 2; j < 2 + DARTS_STEPS; j++) {
    const terms: number[] = [];
    for (let i = 0; i < j; i++, e++) {
      const stride = reduction && i < 2 ? 2 : 1;
      const present = new Set(edges[e]!);
      for (const op of slots ?? TENAS_DARTS_SPACE) {
        if (present.has(op)) terms.push(edgeOp(b, op, states[i]!, stride));
        else if (slots) for (let k = 0; k < opNodes(op, stride); k++) b.gap(0);  // placeholder: keeps later node indices
      }
    }
    if (terms.length === 0) throw new ZennasError('E_STRUCTURE', `${reduction ? 'reduction' : 'normal'} cell node ${j} has no input op (every edge into it is empty)`);
    states.push(b.sum(terms));
  }
  return b.concat(states.slice(2));
}

function build(edges: DartsEdgeOps, o: Resolved, slots: readonly DartsOp[] | undefined): Graph {
  checkEdges(edges, slots);
  const b = new Builder(o.inputChannels);
  const C = o.channels, N = o.cells;
  const stemC = C * o.stemMultiplier;
  let s0 = o.stem ? b.bn(b.conv(0, stemC, 3, 1)) : 0;
  let s1 = s0;
  const layers: [number, boolean][] = [
    ...Array.from({ length: N }, () => [C, false] as [number, boolean]), [2 * C, true], ...Array.from({ length: N - 1 }, () => [2 * C, false] as [number, boolean]),
    [4 * C, true], ...Array.from({ length: N - 1 }, () => [4 * C, false] as [number, boolean]),
  ];
  const count = o.depth > 0 ? Math.min(o.depth, layers.length) : layers.length;
  let reductionPrev = false;
  for (let i = 0; i < count; i++) {
    const [Cc, reduction] = layers[i]!;
    b.block = i + 1;
    const out = cell(b, s0, s1, Cc, reduction, reductionPrev, reduction ? edges.reduce : edges.normal, slots);
    s0 = s1;
    s1 = out;
    reductionPrev = reduction;
  }
  return b.finish(s1, count + 1, o.numClasses);
}

/** The supernet with the given ops on every edge of the normal and reduction cells (summed; an empty edge is masked out). */
export function dartsSupernetGraph(edges: DartsEdgeOps, options?: DartsSupernetOptions): Graph {
  const { slots, ...rest } = options ?? {};
  if (slots !== undefined && (!Array.isArray(slots) || slots.length === 0 || slots.some((x) => !isDartsOp(x)) || new Set(slots).size !== slots.length)) {
    throw new ZennasError('E_OPTION', `slots must be distinct DARTS ops, got ${JSON.stringify(slots)}`);
  }
  return build(edges, resolve(rest), slots);
}

/** The full supernet's edges: every op of `ops` on all 14 edges of both cells. */
export function dartsFullEdges(ops: readonly DartsOp[] = TENAS_DARTS_SPACE): DartsEdgeOps {
  const all = DARTS_EDGE_LIST.map(() => [...ops]);
  return { normal: all, reduce: all.map((x) => [...x]) };
}

/** The edges of a genotype: on each node's two chosen edges its op, every other edge masked (TE-NAS's search network after pruning). */
export function dartsGenotypeEdges(g: DartsGenotype): DartsEdgeOps {
  checkDartsGenotype(g);
  for (const [kind, concat] of [['normal', g.normalConcat], ['reduce', g.reduceConcat]] as const) {
    if (concat.join() !== '2,3,4,5') throw new ZennasError('E_STRUCTURE', `DARTS genotype: the search network concatenates nodes 2..5; ${kind}_concat is ${JSON.stringify(concat)}`);
  }
  const edges = (genes: DartsGenotype['normal']) => {
    const out: DartsOp[][] = DARTS_EDGE_LIST.map(() => []);
    genes.forEach(([op, input], k) => {
      const node = 2 + (k >> 1);
      const e = DARTS_EDGE_LIST.findIndex(([to, from]) => to === node && from === input);
      if (out[e]!.includes(op)) throw new ZennasError('E_STRUCTURE', `DARTS genotype: node ${node} reads node ${input} twice with '${op}'`);
      out[e]!.push(op);
    });
    return out;
  };
  return { normal: edges(g.normal), reduce: edges(g.reduce) };
}

/** The search network of a genotype (compact: no placeholders). */
export function dartsGenotypeGraph(g: DartsGenotype, options?: DartsNetOptions): Graph {
  return build(dartsGenotypeEdges(g), resolve(options), undefined);
}
