/**
 * The DARTS cell space (Liu et al., ICLR 2019; quark0/darts cnn/genotypes.py, model_search.py):
 * its 8 primitives and the genotype in DARTS's own format.
 *
 * Cell: 2 input nodes (0 = the cell two back, 1 = the previous cell, after preprocessing) and 4
 * intermediate nodes 2..5; node j = Σ over its incoming edges of op(node i), i < j; 14 edges in a
 * supernet (2 + 3 + 4 + 5). The cell's output is the concatenation of nodes 2..5 along channels.
 *
 * Genotype (the derived, discrete cell, `Genotype` namedtuple's repr):
 *   Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), …], normal_concat=range(2, 6),
 *            reduce=[…], reduce_concat=range(2, 6))
 * `normal` / `reduce` list 2 (op, input) pairs per intermediate node, node 2's first (8 pairs):
 * model_search.Network.genotype() keeps the 2 strongest incoming edges of every node and the
 * strongest op other than `none` on each, so `none` never appears in a genotype.
 */
import { ZennasError } from '../errors';

/** DARTS's 8 primitives, in PRIMITIVES order (genotypes.py). */
export const DARTS_OPS = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5'] as const;
/** One DARTS primitive. */
export type DartsOp = (typeof DARTS_OPS)[number];

/** Intermediate nodes of a DARTS cell (steps). */
export const DARTS_STEPS = 4;
/** Edges of a DARTS supernet cell: node j (2..5) has j incoming edges, 2 + 3 + 4 + 5. */
export const DARTS_EDGES = 14;

/** One gene: the op and the node it reads (0, 1: the cell inputs; 2..: intermediate nodes). */
export type DartsGene = readonly [op: DartsOp, input: number];

/** A DARTS genotype: two genes per intermediate node for each cell kind, and the concatenated nodes. */
export interface DartsGenotype {
  normal: readonly DartsGene[];
  normalConcat: readonly number[];
  reduce: readonly DartsGene[];
  reduceConcat: readonly number[];
}

/** Is `s` one of the 8 primitives? */
export function isDartsOp(s: string): s is DartsOp {
  return (DARTS_OPS as readonly string[]).includes(s);
}

/** The [to, from] of the 14 supernet edges in DARTS's order (node 2's from 0 and 1, then node 3's, …). */
export const DARTS_EDGE_LIST: readonly (readonly [number, number])[] = Array.from({ length: DARTS_STEPS }, (_, k) => k + 2)
  .flatMap((j) => Array.from({ length: j }, (_, i) => [j, i] as const));

/** DARTS (second order) from the paper (genotypes.py DARTS_V2): a fixed example for tests and docs. */
export const DARTS_V2: DartsGenotype = {
  normal: [['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 0], ['sep_conv_3x3', 1], ['sep_conv_3x3', 1], ['skip_connect', 0], ['skip_connect', 0], ['dil_conv_3x3', 2]],
  normalConcat: [2, 3, 4, 5],
  reduce: [['max_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 2], ['max_pool_3x3', 1], ['max_pool_3x3', 0], ['skip_connect', 2], ['skip_connect', 2], ['max_pool_3x3', 1]],
  reduceConcat: [2, 3, 4, 5],
};

/** E_STRUCTURE unless `g` is a valid genotype: 8 genes per cell kind, node j's 2 genes read nodes < j, no `none`, concat ⊆ 2..5. */
export function checkDartsGenotype(g: DartsGenotype): void {
  const bad = (msg: string): never => { throw new ZennasError('E_STRUCTURE', `DARTS genotype: ${msg}`); };
  if (typeof g !== 'object' || g === null) bad('not an object');
  for (const kind of ['normal', 'reduce'] as const) {
    const genes = g[kind];
    if (!Array.isArray(genes) || genes.length !== 2 * DARTS_STEPS) bad(`${kind} needs ${2 * DARTS_STEPS} (op, input) pairs (2 per intermediate node), got ${Array.isArray(genes) ? genes.length : typeof genes}`);
    genes.forEach((gene, k) => {
      const node = 2 + (k >> 1);
      if (!Array.isArray(gene) || gene.length !== 2) bad(`${kind}[${k}] is not an (op, input) pair`);
      const [op, input] = gene;
      if (typeof op !== 'string' || !isDartsOp(op)) bad(`${kind}[${k}]: unknown op ${JSON.stringify(op)} (the primitives: ${DARTS_OPS.join(', ')})`);
      if (op === 'none') bad(`${kind}[${k}]: 'none' is never chosen in a DARTS genotype (model_search.genotype() skips it)`);
      if (!Number.isInteger(input) || input < 0 || input >= node) bad(`${kind}[${k}]: node ${node} cannot read node ${JSON.stringify(input)} (inputs 0..${node - 1})`);
    });
    const concat = g[kind === 'normal' ? 'normalConcat' : 'reduceConcat'];
    const name = `${kind}_concat`;
    if (!Array.isArray(concat) || concat.length === 0) bad(`${name} must list nodes`);
    concat.forEach((c, k) => {
      if (!Number.isInteger(c) || c < 0 || c > 1 + DARTS_STEPS) bad(`${name}: node ${JSON.stringify(c)} is not a node of the cell (0..${1 + DARTS_STEPS})`);
      if (k > 0 && c <= concat[k - 1]!) bad(`${name} must list nodes in increasing order, got ${JSON.stringify(concat)}`);
    });
  }
}

function formatConcat(c: readonly number[]): string {
  const contiguous = c.every((v, k) => v === c[0]! + k);
  return contiguous && c.length > 1 ? `range(${c[0]}, ${c[c.length - 1]! + 1})` : `[${c.join(', ')}]`;
}

/** The genotype as DARTS prints it (`str(Genotype(...))`; a contiguous concat as `range(a, b)`). */
export function formatDartsGenotype(g: DartsGenotype): string {
  checkDartsGenotype(g);
  const genes = (xs: readonly DartsGene[]) => `[${xs.map(([op, i]) => `('${op}', ${i})`).join(', ')}]`;
  return `Genotype(normal=${genes(g.normal)}, normal_concat=${formatConcat(g.normalConcat)}, reduce=${genes(g.reduce)}, reduce_concat=${formatConcat(g.reduceConcat)})`;
}

/**
 * Parse a genotype in DARTS's format: `Genotype(normal=[('op', i), …], normal_concat=range(2, 6),
 * reduce=[…], reduce_concat=[2, 3, 4, 5])` — keyword or positional fields, single or double
 * quotes, `range(a, b)` or a list (or tuple) for the concats, any whitespace (genotypes.py's
 * multi-line layout included). E_PARSE for text that is not one, E_STRUCTURE for an invalid cell.
 */
export function parseDartsGenotype(text: string): DartsGenotype {
  const shown = typeof text === 'string' && text.length > 200 ? text.slice(0, 200) + '…' : text;
  const bad = (msg: string): never => { throw new ZennasError('E_PARSE', `DARTS genotype ${JSON.stringify(shown)}: ${msg}`); };
  if (typeof text !== 'string') bad('not a string');
  let at = 0;
  const ws = () => { while (at < text.length && /\s/.test(text[at]!)) at++; };
  const peek = (s: string) => { ws(); return text.startsWith(s, at); };
  const eat = (s: string) => { if (!peek(s)) bad(`expected '${s}' at offset ${at}${at < text.length ? ` (found '${text.slice(at, at + 12)}')` : ' (end of text)'}`); at += s.length; };
  const ident = (): string => { ws(); const m = /^[A-Za-z_][A-Za-z_0-9]*/.exec(text.slice(at)); if (!m) bad(`expected a name at offset ${at}`); at += m![0].length; return m![0]; };
  const int = (): number => { ws(); const m = /^-?\d+/.exec(text.slice(at)); if (!m) bad(`expected an integer at offset ${at}`); at += m![0].length; return Number(m![0]); };
  const str = (): string => {
    ws();
    const q = text[at];
    if (q !== "'" && q !== '"') bad(`expected a quoted op name at offset ${at}`);
    const end = text.indexOf(q!, at + 1);
    if (end < 0) bad(`unterminated string at offset ${at}`);
    const s = text.slice(at + 1, end);
    at = end + 1;
    return s;
  };
  /** `[x, …]` or `(x, …)` with an optional trailing comma. */
  const seq = <T>(item: () => T): T[] => {
    ws();
    const open = text[at];
    if (open !== '[' && open !== '(') bad(`expected '[' at offset ${at}`);
    const close = open === '[' ? ']' : ')';
    at++;
    const out: T[] = [];
    while (!peek(close)) {
      out.push(item());
      if (peek(',')) eat(',');
      else break;
    }
    eat(close);
    return out;
  };
  const gene = (): DartsGene => {
    eat('(');
    const op = str();
    eat(',');
    const i = int();
    if (peek(',')) eat(',');
    eat(')');
    if (!isDartsOp(op)) bad(`unknown op '${op}' (the primitives: ${DARTS_OPS.join(', ')})`);
    return [op as DartsOp, i];
  };
  const concat = (): number[] => {
    if (peek('range')) {
      eat('range');
      eat('(');
      const a = int();
      eat(',');
      const b = int();
      eat(')');
      if (b <= a) bad(`range(${a}, ${b}) is empty`);
      return Array.from({ length: b - a }, (_, k) => a + k);
    }
    return seq(int);
  };
  const FIELDS = ['normal', 'normal_concat', 'reduce', 'reduce_concat'] as const;
  const got: Partial<Record<(typeof FIELDS)[number], DartsGene[] | number[]>> = {};
  eat('Genotype');
  eat('(');
  for (let k = 0; k < FIELDS.length; k++) {
    let field: (typeof FIELDS)[number] = FIELDS[k]!;
    const save = at;
    if (/^\s*[A-Za-z_]\w*\s*=/.test(text.slice(at))) {
      const name = ident();
      if (!(FIELDS as readonly string[]).includes(name)) bad(`unknown field '${name}' (Genotype has ${FIELDS.join(', ')})`);
      field = name as typeof field;
      eat('=');
    } else {
      at = save;
    }
    if (got[field] !== undefined) bad(`field '${field}' given twice`);
    got[field] = field.endsWith('_concat') ? concat() : seq(gene);
    if (k < FIELDS.length - 1) eat(',');
  }
  if (peek(',')) eat(',');
  eat(')');
  ws();
  if (at !== text.length) bad(`unexpected text after the genotype at offset ${at}`);
  const g: DartsGenotype = {
    normal: got.normal as DartsGene[], normalConcat: got.normal_concat as number[], reduce: got.reduce as DartsGene[], reduceConcat: got.reduce_concat as number[],
  };
  checkDartsGenotype(g);
  return g;
}
