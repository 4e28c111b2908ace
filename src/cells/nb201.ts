/**
 * NAS-Bench-201 (Dong & Yang, ICLR 2020; D-X-Y/NAS-Bench-201, AutoDL-Projects): the cell, its
 * genotype string, its two architecture orders, and the macro skeleton lowered to a zennas Graph.
 *
 * Cell: 4 nodes, node 0 = the cell input, node j = Σ_{i<j} op_ij(node i); 6 edges in the order
 * (1←0), (2←0), (2←1), (3←0), (3←1), (3←2) — the genotype string's order and the supernet's
 * `edge2index` (sorted '1<-0' … '3<-2'); the cell's output is node 3.
 * Ops (cell_operations.py): none (x·0), skip_connect (identity), nor_conv_1x1 / nor_conv_3x3
 * (ReLU → conv (no bias) → BN), avg_pool_3x3 (stride 1, pad 1, count_include_pad=False).
 *
 * Genotype string: `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` (CellStructure.tostr).
 * Orders: `productIndex` = CellStructure.gen_all's order (itertools.product over the 6 edges, op
 * list order, edge (1←0) most significant); `nb201Index` = the benchmark's index 0–15624, which is
 * gen_all's list after `random.seed(88); random.shuffle(archs)` (generate_meta_info; its own asserts
 * pin archs[0], archs[9], archs[123], and so do our tests).
 */
import { ZennasError } from '../errors';
import { PythonRandom } from './python-random';

/** The five NAS-Bench-201 ops, in the benchmark's order (index 0–4). */
export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
/** One NAS-Bench-201 op name. */
export type Nb201Op = (typeof NB201_OPS)[number];

/** The 6 edges as [to, from] (genotype / edge2index order). */
export const NB201_EDGES: readonly (readonly [number, number])[] = [[1, 0], [2, 0], [2, 1], [3, 0], [3, 1], [3, 2]];

/** A NAS-Bench-201 genotype: one op per edge, in NB201_EDGES order. */
export type Nb201Genotype = readonly Nb201Op[];

/** Number of NAS-Bench-201 architectures, 5^6. */
export const NB201_SIZE = 15625;

const OP_INDEX = new Map<string, number>(NB201_OPS.map((o, i) => [o, i]));

/** Is `s` one of the five op names? */
export function isNb201Op(s: string): s is Nb201Op {
  return OP_INDEX.has(s);
}

/** The genotype string, e.g. `|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|`. */
export function formatNb201(g: Nb201Genotype): string {
  checkGenotype(g);
  return `|${g[0]}~0|+|${g[1]}~0|${g[2]}~1|+|${g[3]}~0|${g[4]}~1|${g[5]}~2|`;
}

function checkGenotype(g: Nb201Genotype): void {
  if (!Array.isArray(g) || g.length !== 6 || !g.every((o) => typeof o === 'string' && isNb201Op(o)))
    throw new ZennasError('E_STRUCTURE', `a NAS-Bench-201 genotype has 6 ops from ${NB201_OPS.join(', ')}, got ${JSON.stringify(g)}`);
}

/**
 * Parse a genotype string in NAS-Bench-201's format (CellStructure.str2structure): 3 nodes
 * separated by '+', node j lists `op~i` for i = 0..j−1, each between '|'. Every edge must be
 * given exactly once (a missing edge is an error here, not an implicit 'none'). E_PARSE names
 * what is wrong.
 */
export function parseNb201(text: string): Nb201Op[] {
  const bad = (msg: string): never => { throw new ZennasError('E_PARSE', `NAS-Bench-201 genotype ${JSON.stringify(text.length > 200 ? text.slice(0, 200) + '…' : text)}: ${msg}`); };
  if (typeof text !== 'string') bad('not a string');
  const t = text.trim();
  const nodes = t.split('+');
  if (nodes.length !== 3) bad(`expected 3 nodes separated by '+', got ${nodes.length}`);
  const ops: Nb201Op[] = [];
  nodes.forEach((node, n) => {
    const j = n + 1;
    if (!node.startsWith('|') || !node.endsWith('|')) bad(`node ${j} must be written |op~i|…|`);
    const items = node.split('|').filter((s) => s !== '');
    if (items.length !== j) bad(`node ${j} needs ${j} input(s) (op~0${j > 1 ? `…op~${j - 1}` : ''}), got ${items.length}`);
    const seen = new Array<Nb201Op | undefined>(j);
    for (const item of items) {
      const m = /^([a-z_0-9]+)~(\d+)$/.exec(item);
      if (!m) bad(`'${item}' is not op~input`);
      const [, op, from] = m!;
      if (!isNb201Op(op!)) bad(`unknown op '${op}' (the ops: ${NB201_OPS.join(', ')})`);
      const i = Number(from);
      if (i >= j) bad(`node ${j} cannot read node ${i} (only 0..${j - 1})`);
      if (seen[i] !== undefined) bad(`node ${j} reads node ${i} twice`);
      seen[i] = op as Nb201Op;
    }
    ops.push(...(seen as Nb201Op[]));
  });
  return ops;
}

/** gen_all's (itertools.product's) position of a genotype: Σ op_e · 5^(5−e). */
export function productIndex(g: Nb201Genotype): number {
  checkGenotype(g);
  return g.reduce((a, o) => a * 5 + OP_INDEX.get(o)!, 0);
}

/** The genotype at gen_all's position p. */
export function fromProductIndex(p: number): Nb201Op[] {
  checkIndex(p, 'product index');
  const ops = new Array<Nb201Op>(6);
  for (let e = 5; e >= 0; e--) {
    ops[e] = NB201_OPS[p % 5]!;
    p = Math.floor(p / 5);
  }
  return ops;
}

function checkIndex(i: number, what: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= NB201_SIZE) throw new ZennasError('E_OPTION', `NAS-Bench-201 ${what} must be an integer in 0..${NB201_SIZE - 1}, got ${i}`);
}

let official: { toProduct: Int32Array; fromProduct: Int32Array } | undefined;

/** The benchmark order, computed once: official index → product index and back. */
function officialOrder(): { toProduct: Int32Array; fromProduct: Int32Array } {
  if (!official) {
    const archs = Array.from({ length: NB201_SIZE }, (_, i) => i);
    new PythonRandom(88).shuffle(archs);
    const toProduct = Int32Array.from(archs);
    const fromProduct = new Int32Array(NB201_SIZE);
    toProduct.forEach((p, i) => { fromProduct[p] = i; });
    official = { toProduct, fromProduct };
  }
  return official;
}

/** The NAS-Bench-201 benchmark index (api.query_index_by_arch) of a genotype. */
export function nb201Index(g: Nb201Genotype): number {
  return officialOrder().fromProduct[productIndex(g)]!;
}

/** The genotype of benchmark index i (api.arch(i)). */
export function fromNb201Index(i: number): Nb201Op[] {
  checkIndex(i, 'index');
  return fromProductIndex(officialOrder().toProduct[i]!);
}
