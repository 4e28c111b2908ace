import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { parseStructure } from '../src/grammar/parse';
import { formatStructure } from '../src/grammar/format';
import { arbStructure, ZOO } from './helpers/arbitraries';
import { ZennasError, ZennasErrorCode } from '../src/errors';


test('all 12 ZenNet zoo files round-trip exactly', (t) => {
  const files = fs.readdirSync(ZOO).filter((f) => f.endsWith('.txt'));
  t.is(files.length, 12);
  for (const f of files) {
    const text = fs.readFileSync(path.join(ZOO, f), 'utf8');
    t.is(formatStructure(parseStructure(text)), text.trim(), f);
  }
});

test('every block type parses into the IR', (t) => {
  const s = parseStructure(
    'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResK1K5K1(16,24,1,8,2)SuperResIDWE4K7(24,32,2,16,1)' +
      'ConvKX(32,32,3,1)ConvDW(32,5,2)BN(32)RELU(32)SE(32)MaxPool(32,32,3,2)AdaptiveAvgPool(32,1)Linear(32,10)',
  );
  t.deepEqual(s.blocks.map((b) => b.kind), [
    'SuperConvKXBNRELU', 'SuperResKXKX', 'SuperResK1KXK1', 'SuperResIDWEXKX',
    'ConvKX', 'ConvDW', 'BN', 'RELU', 'SE', 'MaxPool', 'AdaptiveAvgPool', 'Linear',
  ]);
  t.deepEqual(s.blocks[3], { kind: 'SuperResIDWEXKX', kernel: 7, expansion: 4, in: 24, out: 32, stride: 2, bottleneck: 16, subLayers: 1 });
  t.deepEqual(s.blocks[2], { kind: 'SuperResK1KXK1', kernel: 5, expansion: 1, in: 16, out: 24, stride: 1, bottleneck: 8, subLayers: 2 });
});

test('whitespace around blocks and a trailing newline are accepted', (t) => {
  const s = parseStructure('  SuperConvK3BNRELU(3, 8, 1, 1)\n BN(8)\n');
  t.is(formatStructure(s), 'SuperConvK3BNRELU(3,8,1,1)BN(8)');
});

/** Each case: input, expected code, a fragment of the message, expected position. */
const BAD: Array<[string, ZennasErrorCode, string, number | undefined]> = [
  ['', 'E_PARSE', 'empty', 0],
  ['Foo(1,2)', 'E_PARSE', "unknown block 'Foo'", 0],
  ['BN(8)Foo(1)', 'E_PARSE', "unknown block 'Foo'", 5],
  ['SuperResK3K5(8,8,1,8,1)', 'E_PARSE', 'must be equal', 0],
  ['SuperConvK3BNRELU(3,8,1)', 'E_PARSE', 'takes 4 arguments', 0],
  ['SuperResK3K3(3,8,1,8,1,1)', 'E_PARSE', 'takes 5 arguments', 0],
  ['SuperConvK3BNRELU(3,8.5,1,1)', 'E_PARSE', 'must be an integer', 21],
  ['SuperConvK3BNRELU(3,-8,1,1)', 'E_PARSE', 'negative', 20],
  ['SuperConvK3BNRELU(3,0,1,1)', 'E_STRUCTURE', 'out must be ≥ 1', 0],
  ['SuperConvK3BNRELU(3,8,0,1)', 'E_STRUCTURE', 'stride must be ≥ 1', 0],
  ['SuperConvK3BNRELU(3,8,1,0)', 'E_STRUCTURE', 'sub_layers must be ≥ 1', 0],
  ['SuperConvK4BNRELU(3,8,1,1)', 'E_STRUCTURE', 'kernel must be odd', 0],
  ['SuperConvK3BNRELU(3,8,1,1', 'E_PARSE', 'never closed', 17],
  ['SuperConvK3BNRELU(3,8,1,1))', 'E_PARSE', "unbalanced ')'", 26],
  ['SuperConvK3BNRELU((3,8,1,1))', 'E_PARSE', 'nested parentheses', 18],
  ['SuperConvK3BNRELU 3,8,1,1', 'E_PARSE', "expected '('", 18],
  ['SuperConvK3BNRELU(3,,1,1)', 'E_PARSE', 'missing argument', 20],
  ['SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(9,16,1,8,1)', 'E_STRUCTURE', 'channel mismatch: block 2 (SuperResK3K3) takes 9 input channels but block 1 produces 8', 26],
  ['SuperConvK3BNRELU(3,99999999999,1,1)', 'E_STRUCTURE', 'absurdly large', 20],
  ['SuperConvK3BNRELU(3,100000,1,1)', 'E_STRUCTURE', 'absurd (limit 65536)', 0],
  ['SuperResK3K3(8,8,9,8,1)', 'E_STRUCTURE', 'stride = 9 is absurd', 0],
  ['MaxPool(8,16,3,2)', 'E_STRUCTURE', 'must be equal', 0],
  ['AdaptiveAvgPool(8,2)', 'E_STRUCTURE', 'only output size 1', 0],
  ['BN(8)#', 'E_PARSE', "unexpected character '#'", 5],
];

for (const [input, code, fragment, pos] of BAD) {
  test(`rejects ${JSON.stringify(input).slice(0, 50)} with ${code}`, (t) => {
    const e = t.throws(() => parseStructure(input), { instanceOf: ZennasError });
    t.is(e!.code, code);
    t.true(e!.message.includes(fragment), e!.message);
    t.is(e!.position, pos);
    if (pos !== undefined) t.true(e!.message.includes(`at position ${pos}`));
  });
}

test('an enormous string is refused quickly, not parsed', (t) => {
  const e = t.throws(() => parseStructure('BN(8)'.repeat(300_000)), { instanceOf: ZennasError });
  t.regex(e!.message, /characters long/);
});

test('deeply nested parentheses cannot blow the stack', (t) => {
  const e = t.throws(() => parseStructure('BN' + '('.repeat(100_000)), { instanceOf: ZennasError });
  t.is(e!.code, 'E_PARSE');
});

// ---- property tests ----------------------------------------------------------------------

test('property: random valid structures round-trip through format/parse', (t) => {
  fc.assert(fc.property(arbStructure, (s) => {
    t.deepEqual(parseStructure(formatStructure(s)), s);
  }), { numRuns: 500 });
  t.pass();
});

const GRAMMAR_CHARS = 'SuperConvKResIDWEBNRLUMaxPolAdptivgLinr0123456789(),K \n#-.';
test('property: random garbage only ever throws ZennasError', (t) => {
  const garbage = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.array(fc.constantFrom(...GRAMMAR_CHARS.split('')), { maxLength: 200 }).map((a) => a.join('')),
    // valid strings with random edits
    fc.tuple(arbStructure, fc.nat(), fc.string({ maxLength: 3 })).map(([s, at, ins]) => {
      const txt = formatStructure(s);
      const i = at % (txt.length + 1);
      return txt.slice(0, i) + ins + txt.slice(i + (at % 3));
    }),
  );
  fc.assert(fc.property(garbage, (g) => {
    try {
      parseStructure(g);
    } catch (e) {
      if (!(e instanceof ZennasError)) throw e;
      if (!['E_PARSE', 'E_STRUCTURE'].includes(e.code)) throw e;
    }
  }), { numRuns: 3000 });
  t.pass();
});
