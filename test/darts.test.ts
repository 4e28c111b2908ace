/**
 * The DARTS space: its primitives, edge order and genotype codec (DARTS's own Genotype repr,
 * checked against CPython printing the same namedtuple).
 */
import test from 'ava';
import { spawnSync } from 'child_process';
import { DARTS_EDGES, DARTS_EDGE_LIST, DARTS_OPS, DARTS_V2, formatDartsGenotype, parseDartsGenotype } from '../src/cells/darts';
import { findPython } from './helpers/python';

const python = findPython(['json']);

// genotypes.py's DARTS_V2, as the file writes it (multi-line, list concats).
const DARTS_V2_SOURCE = `Genotype(
  normal = [
    ('sep_conv_3x3', 0),
    ('sep_conv_3x3', 1),
    ('sep_conv_3x3', 0),
    ('sep_conv_3x3', 1),
    ('sep_conv_3x3', 1),
    ('skip_connect', 0),
    ('skip_connect', 0),
    ('dil_conv_3x3', 2),
  ],
  normal_concat = [2, 3, 4, 5],
  reduce = [
    ('max_pool_3x3', 0),
    ('max_pool_3x3', 1),
    ('skip_connect', 2),
    ('max_pool_3x3', 1),
    ('max_pool_3x3', 0),
    ('skip_connect', 2),
    ('skip_connect', 2),
    ('max_pool_3x3', 1),
  ],
  reduce_concat = [2, 3, 4, 5],
)`;

test('primitives and the 14 supernet edges in DARTS order', (t) => {
  t.deepEqual([...DARTS_OPS], ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']);
  t.is(DARTS_EDGE_LIST.length, DARTS_EDGES);
  t.deepEqual(DARTS_EDGE_LIST.slice(0, 5), [[2, 0], [2, 1], [3, 0], [3, 1], [3, 2]]);
  t.deepEqual(DARTS_EDGE_LIST[13], [5, 4]);
});

test('genotype: genotypes.py source parses; str() form round-trips; errors name what is wrong', (t) => {
  t.deepEqual(parseDartsGenotype(DARTS_V2_SOURCE), DARTS_V2);
  const s = formatDartsGenotype(DARTS_V2);
  t.is(s, "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=range(2, 6))");
  t.deepEqual(parseDartsGenotype(s), DARTS_V2);
  // Positional fields and double quotes (a namedtuple takes both).
  t.deepEqual(parseDartsGenotype(s.replace(/normal=|normal_concat=|reduce=|reduce_concat=/g, '').replace(/'/g, '"')), DARTS_V2);
  const bad: [string, string, RegExp][] = [
    [s.replace("'sep_conv_3x3', 0", "'conv_3x3', 0"), 'E_PARSE', /unknown op 'conv_3x3'/],
    [s.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), 'E_STRUCTURE', /normal\[7\]: node 5 cannot read node 5/],
    [s.replace("('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0)", "('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0)"), 'E_STRUCTURE', /normal\[0\]: node 2 cannot read node 2/],
    [s.replace("('skip_connect', 0), ('skip_connect', 0)", "('none', 0), ('skip_connect', 0)"), 'E_STRUCTURE', /'none' is never chosen/],
    [s.replace(", ('dil_conv_3x3', 2)]", ']'), 'E_STRUCTURE', /normal needs 8 \(op, input\) pairs/],
    [s.replace('normal_concat=range(2, 6)', 'normal_concat=range(6, 2)'), 'E_PARSE', /range\(6, 2\) is empty/],
    [s.replace('reduce_concat=range(2, 6)', 'reduce_concat=[2, 7]'), 'E_STRUCTURE', /reduce_concat: node 7 is not a node/],
    [s.replace('reduce=', 'normal='), 'E_PARSE', /field 'normal' given twice/],
    [s + ' x', 'E_PARSE', /unexpected text after the genotype/],
    ['Genotype(normal=[', 'E_PARSE', /expected/],
  ];
  for (const [text, code, message] of bad) t.throws(() => parseDartsGenotype(text), { code, message }, text.slice(0, 80));
});

(python ? test : test.skip)('formatDartsGenotype = CPython str() of the Genotype namedtuple', (t) => {
  const py = `from collections import namedtuple
Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')
DARTS_V2 = ${DARTS_V2_SOURCE}
print(str(DARTS_V2._replace(normal_concat=range(2, 6), reduce_concat=range(2, 6))))
print(str(DARTS_V2._replace(reduce_concat=[2, 4, 5])))`;
  const r = spawnSync(python!, ['-c', py], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const [a, b] = r.stdout.trim().split('\n');
  t.is(formatDartsGenotype(DARTS_V2), a);
  t.is(formatDartsGenotype({ ...DARTS_V2, normalConcat: [2, 3, 4, 5], reduceConcat: [2, 4, 5] }).replace('normal_concat=range(2, 6)', 'normal_concat=[2, 3, 4, 5]'), b);
});
