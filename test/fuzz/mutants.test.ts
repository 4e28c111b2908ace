/**
 * Assertions that mutation testing (npm run mutate, stryker.config.mjs) showed missing: each test
 * pins a value or a boundary that a surviving mutant changed without any test noticing. Pure
 * TypeScript, fast (run by `npm run mutate` for every mutant).
 */
import test from 'ava';
import { checkOption, ENGINE_OPTIONS, resolveOptions } from '../../src/engine/options';
import { quantile, quantileSorted, summarizeScores } from '../../src/util/stats';
import { ZennasError, ZennasErrorCode } from '../../src/errors';

// ---------------------------------------------------------------- src/util/stats.ts

test('summarizeScores: mean, np.std (divide by n), ci95 = 1.96·std/√n — exact values', (t) => {
  const s = summarizeScores([1, 2, 3, 4]);
  t.is(s.mean, 2.5);
  t.is(s.std, Math.sqrt(1.25));
  t.is(s.ci95, (1.96 * Math.sqrt(1.25)) / 2);
  const one = summarizeScores([7]);
  t.deepEqual(one, { mean: 7, std: 0, ci95: 0 });
  t.is(summarizeScores([-1, 1]).std, 1);
});

test('quantile: linear interpolation between closest ranks (numpy), unsorted input sorted first; no values is a RangeError', (t) => {
  t.is(quantileSorted([10, 20, 30, 40], 0), 10);
  t.is(quantileSorted([10, 20, 30, 40], 1), 40);
  t.is(quantileSorted([10, 20, 30, 40], 0.5), 25);
  t.is(quantileSorted([10, 20, 30, 40], 0.9), 37);
  t.is(quantileSorted([5], 0.5), 5);
  t.is(quantile([40, 10, 30, 20], 0.25), 17.5);
  t.is(quantile([3, 1, 2], 1), 3);
  const v = [3, 1, 2];
  quantile(v, 0.5);
  t.deepEqual(v, [3, 1, 2], 'the input is not sorted in place');
  t.throws(() => quantileSorted([], 0.5), { instanceOf: RangeError, message: 'quantile of no values' });
  t.throws(() => quantile([], 0.5), { instanceOf: RangeError, message: 'quantile of no values' });
});

// ---------------------------------------------------------------- src/engine/options.ts

const optionMessage = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof ZennasError && e.code === 'E_OPTION') return e.message;
    throw e;
  }
  throw new Error('did not throw');
};

test('checkOption: int bounds inclusive, integers only, with the range in the message', (t) => {
  t.notThrows(() => checkOption('batchSize', 1));
  t.notThrows(() => checkOption('batchSize', 4096));
  t.is(optionMessage(() => checkOption('batchSize', 0)), 'batchSize must be an integer in [1, 4096], got 0');
  t.is(optionMessage(() => checkOption('batchSize', 4097)), 'batchSize must be an integer in [1, 4096], got 4097');
  t.is(optionMessage(() => checkOption('batchSize', 2.5)), 'batchSize must be an integer in [1, 4096], got 2.5');
  t.is(optionMessage(() => checkOption('batchSize', '8')), "batchSize must be an integer in [1, 4096], got '8'");
  t.notThrows(() => checkOption('seed', Number.MAX_SAFE_INTEGER));
  t.notThrows(() => checkOption('firstRepeat', 0));
});

test('checkOption: number bounds (open below when minExclusive), finite only', (t) => {
  t.notThrows(() => checkOption('alpha', 1e-6));
  t.notThrows(() => checkOption('alpha', 1e6));
  t.is(optionMessage(() => checkOption('alpha', 1e-7)), 'alpha must be a number in [0.000001, 1000000], got 1e-7');
  t.is(optionMessage(() => checkOption('alpha', 1e6 + 1)), 'alpha must be a number in [0.000001, 1000000], got 1000001');
  t.is(optionMessage(() => checkOption('bnEps', 0)), 'bnEps must be a number in (0, 1000000], got 0');
  t.notThrows(() => checkOption('bnEps', Number.MIN_VALUE));
  t.notThrows(() => checkOption('bnEps', 1e6));
  t.regex(optionMessage(() => checkOption('bnEps', 1e6 * 2)), /got 2000000$/);
  t.regex(optionMessage(() => checkOption('alpha', Infinity)), /got Infinity$/);
  t.regex(optionMessage(() => checkOption('alpha', NaN)), /got NaN$/);
  t.regex(optionMessage(() => checkOption('xi', '1')), /^xi must be a number in \(0, 1000000\], got '1'$/);
});

test('checkOption: choices and flags', (t) => {
  t.notThrows(() => checkOption('mode', 'official'));
  t.is(optionMessage(() => checkOption('mode', 'Paper')), "mode must be 'paper' or 'official', got 'Paper'");
  t.is(optionMessage(() => checkOption('gsnrMode', 1)), "gsnrMode must be 'batch' or 'official' or 'sample', got 1");
  t.notThrows(() => checkOption('bnStatistics', false));
  t.is(optionMessage(() => checkOption('returnGradients', 1)), 'returnGradients must be true or false, got 1');
  t.is(optionMessage(() => checkOption('inputGradient', null)), 'inputGradient must be true or false, got null');
});

test('resolveOptions: defaults from the table or the caller, unknown keys named (with a near miss), extra keys allowed, non-objects refused', (t) => {
  t.deepEqual(resolveOptions('zenScore', ['batchSize', 'mode'] as const, undefined), { batchSize: 64, mode: 'paper' });
  t.deepEqual(resolveOptions('zenScore', ['batchSize', 'mode'] as const, {}, { batchSize: 8 }), { batchSize: 8, mode: 'paper' });
  t.deepEqual(resolveOptions('zenScore', ['batchSize'] as const, { batchSize: 4 }, { batchSize: 8 }), { batchSize: 4 });
  t.deepEqual(resolveOptions('zenScore', ['batchSize'] as const, { batchSize: undefined }, {}), { batchSize: 64 });
  t.deepEqual(resolveOptions('gsnr', ['xi'] as const, { xi: 0.5, labels: 1 }, {}, ['labels']), { xi: 0.5 }, 'extra keys are the caller’s');
  t.is(optionMessage(() => resolveOptions('zenScore', ['batchSize', 'repeats'] as const, { batchsize: 4 })),
    "unknown zenScore option 'batchsize' (did you mean 'batchSize'?); valid: batchSize, repeats");
  t.is(optionMessage(() => resolveOptions('zenScore', ['batchSize'] as const, { foo: 1 }, {}, ['labels'])), "unknown zenScore option 'foo'; valid: batchSize, labels");
  t.is(optionMessage(() => resolveOptions('x', ['batchSize'] as const, { LABELS: 1 }, {}, ['labels'])), "unknown x option 'LABELS' (did you mean 'labels'?); valid: batchSize, labels");
  for (const bad of [null, [], 3, 'a']) t.is(optionMessage(() => resolveOptions('zenScore', ['batchSize'] as const, bad)), 'zenScore options must be an object');
  t.is(optionMessage(() => resolveOptions('zenScore', ['batchSize'] as const, { batchSize: 0 })), 'batchSize must be an integer in [1, 4096], got 0');
  t.is(optionMessage(() => resolveOptions('zenScore', ['batchSize'] as const, {}, { batchSize: 0 })), 'batchSize must be an integer in [1, 4096], got 0', 'defaults are checked too');
});

test('the option table: the documented defaults and ranges', (t) => {
  const pick = (k: keyof typeof ENGINE_OPTIONS) => { const s = ENGINE_OPTIONS[k] as Record<string, unknown>; return [s.kind, s.min, s.max, s.default, s.minExclusive ?? false]; };
  t.deepEqual(pick('batchSize'), ['int', 1, 4096, 64, false]);
  t.deepEqual(pick('resolution'), ['int', 1, 4096, 32, false]);
  t.deepEqual(pick('repeats'), ['int', 1, 100000, 1, false]);
  t.deepEqual(pick('firstRepeat'), ['int', 0, 0xfffffffe, 0, false]);
  t.deepEqual(pick('seed'), ['int', 0, Number.MAX_SAFE_INTEGER, 0, false]);
  t.deepEqual(pick('alpha'), ['number', 1e-6, 1e6, 0.01, false]);
  t.deepEqual(pick('bnEps'), ['number', 0, 1e6, 1e-5, true]);
  t.deepEqual(pick('numBatches'), ['int', 2, 4096, 8, false]);
  t.deepEqual(pick('xi'), ['number', 0, 1e6, 1e-8, true]);
  t.deepEqual(pick('warmup'), ['int', 0, 100000, 10, false]);
  t.deepEqual(pick('iterations'), ['int', 1, 100000, 30, false]);
  t.deepEqual([ENGINE_OPTIONS.mode.values, ENGINE_OPTIONS.mode.default], [['paper', 'official'], 'paper']);
  t.deepEqual([ENGINE_OPTIONS.loss.values, ENGINE_OPTIONS.loss.default], [['sum', 'cross-entropy'], 'sum']);
  t.deepEqual([ENGINE_OPTIONS.init.values, ENGINE_OPTIONS.init.default], [['normal', 'torch'], 'normal']);
  t.deepEqual([ENGINE_OPTIONS.gsnrMode.values, ENGINE_OPTIONS.gsnrMode.default], [['batch', 'official', 'sample'], 'batch']);
  t.deepEqual([ENGINE_OPTIONS.precision.values, ENGINE_OPTIONS.precision.default], [['fp16', 'fp32'], 'fp16']);
  t.deepEqual([ENGINE_OPTIONS.engine.values, ENGINE_OPTIONS.engine.default], [['cudnn', 'tensorrt'], 'cudnn']);
  for (const k of ['bnStatistics', 'returnGradients', 'inputGradient'] as const) t.is(ENGINE_OPTIONS[k].default, false);
});

// ---------------------------------------------------------------- src/grammar (parse, format)

import { parseStructure } from '../../src/grammar/parse';
import { formatStructure } from '../../src/grammar/format';

const KNOWN = 'known blocks: SuperConvK{k}BNRELU, SuperResK{k}K{k}, SuperResK1K{k}K1, SuperResIDWE{e}K{k}, MBInvResE{e}K{k}{RELU|SWISH|HSWISH}[SE|HSE], ConvKX, ConvDW, BN, RELU, MaxPool, AdaptiveAvgPool, Linear, SE, SWISH, HSWISH';

/** [structure, code, message without the position suffix, position]: every parser and block check, at its boundary. */
const PARSE_ERRORS: [string, ZennasErrorCode, string, number][] = [
  ['XSuperConvK3BNRELU(3,8,1,1)', 'E_PARSE', `unknown block 'XSuperConvK3BNRELU'; ${KNOWN}`, 0],
  ['SuperConvK3BNRELUX(3,8,1,1)', 'E_PARSE', `unknown block 'SuperConvK3BNRELUX'; ${KNOWN}`, 0],
  ['XSuperResK1K3K1(8,8,1,8,1)', 'E_PARSE', `unknown block 'XSuperResK1K3K1'; ${KNOWN}`, 0],
  ['SuperResK1K3K1X(8,8,1,8,1)', 'E_PARSE', `unknown block 'SuperResK1K3K1X'; ${KNOWN}`, 0],
  ['XSuperResK3K3(8,8,1,8,1)', 'E_PARSE', `unknown block 'XSuperResK3K3'; ${KNOWN}`, 0],
  ['SuperResK3K3X(8,8,1,8,1)', 'E_PARSE', `unknown block 'SuperResK3K3X'; ${KNOWN}`, 0],
  ['XSuperResIDWE2K3(8,8,1,8,1)', 'E_PARSE', `unknown block 'XSuperResIDWE2K3'; ${KNOWN}`, 0],
  ['SuperResIDWE2K3X(8,8,1,8,1)', 'E_PARSE', `unknown block 'SuperResIDWE2K3X'; ${KNOWN}`, 0],
  ['SuperResK3K5(8,8,1,8,1)', 'E_PARSE', 'the two kernels of SuperResK3K5 must be equal (K3K3)', 0],
  ['SuperResIDWE17K3(8,8,1,8,1)', 'E_STRUCTURE', "'SuperResIDWE17K3': expansion = 17 is absurd (limit 16)", 0],
  ['SuperResIDWE0K3(8,8,1,8,1)', 'E_STRUCTURE', "'SuperResIDWE0K3': expansion must be ≥ 1, got 0", 0],
  ['(3,8,1,1)', 'E_PARSE', "'(' without a block name", 0],
  ['', 'E_PARSE', 'structure string is empty', 0],
  ['   ', 'E_PARSE', 'structure string is empty', 0],
  ['A'.repeat(41) + '(1)', 'E_PARSE', `unknown block '${'A'.repeat(40)}…'; ${KNOWN}`, 0],
  ['A'.repeat(40) + '(1)', 'E_PARSE', `unknown block '${'A'.repeat(40)}'; ${KNOWN}`, 0],
  ['BN(8) )', 'E_PARSE', "unbalanced ')' with no open block", 6],
  ['BN(8', 'E_PARSE', "unbalanced parentheses: '(' of 'BN' is never closed", 2],
  ['BN(8,', 'E_PARSE', "unbalanced parentheses: '(' of 'BN' is never closed", 2],
  ['BN(-1)', 'E_PARSE', "negative numbers are not allowed in 'BN' (argument 1, 'channels'); arguments are non-negative integers", 3],
  ['BN(+1)', 'E_PARSE', "unexpected character '+' in 'BN' (argument 1, 'channels'); arguments are non-negative integers", 3],
  ['BN(1,-2)', 'E_PARSE', "negative numbers are not allowed in 'BN' (argument 2, 'extra'); arguments are non-negative integers", 5],
  ['BN(1.5)', 'E_PARSE', "argument 'channels' of 'BN' must be an integer", 4],
  ['BN(8,1e3)', 'E_PARSE', "argument 'extra' of 'BN' must be an integer", 6],
  ['BN(1234567890)', 'E_STRUCTURE', "argument 'channels' of 'BN' is absurdly large (1234567890)", 3],
  ['BN(8,1234567890)', 'E_STRUCTURE', "argument 'extra' of 'BN' is absurdly large (1234567890)", 5],
  ['BN(123456789)', 'E_STRUCTURE', "'BN': channels = 123456789 is absurd (limit 65536)", 0],
  ['BN((1))', 'E_PARSE', "nested parentheses are not allowed in 'BN' (argument 1, 'channels'); arguments are non-negative integers", 3],
  ['BN(1(', 'E_PARSE', "nested parentheses are not allowed in 'BN'", 4],
  ['BN(1,2)', 'E_PARSE', "'BN' takes 1 argument (channels), got 2", 0],
  ['ConvKX(3,8,3)', 'E_PARSE', "'ConvKX' takes 4 arguments (in,out,kernel,stride), got 3", 0],
  ['BN()', 'E_PARSE', "missing argument in 'BN' (argument 1, 'channels'); arguments are non-negative integers", 3],
  ['BN(1;2)', 'E_PARSE', "unexpected character ';' in the arguments of 'BN'", 4],
  ['BN 8', 'E_PARSE', "expected '(' after 'BN'", 3],
  ['BN(8)BN', 'E_PARSE', "expected '(' after 'BN'", 7],
  ['ConvKX(0,8,3,1)', 'E_STRUCTURE', "'ConvKX': in must be ≥ 1, got 0", 0],
  ['ConvKX(3,65537,3,1)', 'E_STRUCTURE', "'ConvKX': out = 65537 is absurd (limit 65536)", 0],
  ['ConvKX(3,8,4,1)', 'E_STRUCTURE', "'ConvKX': kernel must be odd and in 1..15, got 4", 0],
  ['ConvKX(3,8,17,1)', 'E_STRUCTURE', "'ConvKX': kernel must be odd and in 1..15, got 17", 0],
  ['ConvKX(3,8,0,1)', 'E_STRUCTURE', "'ConvKX': kernel must be odd and in 1..15, got 0", 0],
  ['ConvKX(3,8,3,9)', 'E_STRUCTURE', "'ConvKX': stride = 9 is absurd (limit 8)", 0],
  ['ConvKX(3,8,3,0)', 'E_STRUCTURE', "'ConvKX': stride must be ≥ 1, got 0", 0],
  ['ConvDW(0,3,1)', 'E_STRUCTURE', "'ConvDW': channels must be ≥ 1, got 0", 0],
  ['ConvDW(8,2,1)', 'E_STRUCTURE', "'ConvDW': kernel must be odd and in 1..15, got 2", 0],
  ['ConvDW(8,3,9)', 'E_STRUCTURE', "'ConvDW': stride = 9 is absurd (limit 8)", 0],
  ['BN(0)', 'E_STRUCTURE', "'BN': channels must be ≥ 1, got 0", 0],
  ['SE(0)', 'E_STRUCTURE', "'SE': channels must be ≥ 1, got 0", 0],
  ['RELU(65537)', 'E_STRUCTURE', "'RELU': channels = 65537 is absurd (limit 65536)", 0],
  ['MaxPool(8,16,3,2)', 'E_STRUCTURE', "'MaxPool': in (8) and out (16) must be equal", 0],
  ['MaxPool(0,0,3,2)', 'E_STRUCTURE', "'MaxPool': in must be ≥ 1, got 0", 0],
  ['MaxPool(8,0,3,2)', 'E_STRUCTURE', "'MaxPool': out must be ≥ 1, got 0", 0],
  ['MaxPool(8,8,4,2)', 'E_STRUCTURE', "'MaxPool': kernel must be odd and in 1..15, got 4", 0],
  ['MaxPool(8,8,3,0)', 'E_STRUCTURE', "'MaxPool': stride must be ≥ 1, got 0", 0],
  ['AdaptiveAvgPool(8,2)', 'E_STRUCTURE', "'AdaptiveAvgPool': only output size 1 is supported, got 2", 0],
  ['AdaptiveAvgPool(0,1)', 'E_STRUCTURE', "'AdaptiveAvgPool': channels must be ≥ 1, got 0", 0],
  ['Linear(0,10)', 'E_STRUCTURE', "'Linear': in must be ≥ 1, got 0", 0],
  ['Linear(8,65537)', 'E_STRUCTURE', "'Linear': out = 65537 is absurd (limit 65536)", 0],
  ['SuperConvK3BNRELU(3,8,1,257)', 'E_STRUCTURE', "'SuperConvK3BNRELU': sub_layers = 257 is absurd (limit 256)", 0],
  ['SuperConvK3BNRELU(3,8,9,1)', 'E_STRUCTURE', "'SuperConvK3BNRELU': stride = 9 is absurd (limit 8)", 0],
  ['SuperConvK3BNRELU(0,8,1,1)', 'E_STRUCTURE', "'SuperConvK3BNRELU': in must be ≥ 1, got 0", 0],
  ['SuperConvK3BNRELU(3,0,1,1)', 'E_STRUCTURE', "'SuperConvK3BNRELU': out must be ≥ 1, got 0", 0],
  ['SuperConvK4BNRELU(3,8,1,1)', 'E_STRUCTURE', "'SuperConvK4BNRELU': kernel must be odd and in 1..15, got 4", 0],
  ['SuperConvK17BNRELU(3,8,1,1)', 'E_STRUCTURE', "'SuperConvK17BNRELU': kernel must be odd and in 1..15, got 17", 0],
  ['SuperResK3K3(8,8,1,0,1)', 'E_STRUCTURE', "'SuperResK3K3': bottleneck must be ≥ 1, got 0", 0],
  ['SuperResK3K3(8,8,1,8,257)', 'E_STRUCTURE', "'SuperResK3K3': sub_layers = 257 is absurd (limit 256)", 0],
  ['SuperResK3K3(0,8,1,8,1)', 'E_STRUCTURE', "'SuperResK3K3': in must be ≥ 1, got 0", 0],
  ['SuperResK3K3(8,0,1,8,1)', 'E_STRUCTURE', "'SuperResK3K3': out must be ≥ 1, got 0", 0],
  ['SuperResK3K3(8,8,0,8,1)', 'E_STRUCTURE', "'SuperResK3K3': stride must be ≥ 1, got 0", 0],
  ['SuperResK1K3K1(8,8,1,8,0)', 'E_STRUCTURE', "'SuperResK1K3K1': sub_layers must be ≥ 1, got 0", 0],
  ['SuperResK17K17(8,8,1,8,1)', 'E_STRUCTURE', "'SuperResK17K17': kernel must be odd and in 1..15, got 17", 0],
  ['BN(8)BN(9)', 'E_STRUCTURE', 'channel mismatch: block 2 (BN) takes 9 input channels but block 1 produces 8', 5],
  ['BN(8)!', 'E_PARSE', "unexpected character '!'; expected a block name", 5],
  ['BN(12345678901234567890)', 'E_STRUCTURE', "argument 'channels' of 'BN' is absurdly large (123456789012…)", 3],
  ['BN(123456789012)', 'E_STRUCTURE', "argument 'channels' of 'BN' is absurdly large (123456789012)", 3],
];

/** Every block's argument names, as the arity error lists them. */
const ARITY: [string, string][] = [
  ['SuperConvK3BNRELU(1)', "'SuperConvK3BNRELU' takes 4 arguments (in,out,stride,sub_layers), got 1"],
  ['SuperResK3K3(1)', "'SuperResK3K3' takes 5 arguments (in,out,stride,bottleneck,sub_layers), got 1"],
  ['SuperResK1K3K1(1)', "'SuperResK1K3K1' takes 5 arguments (in,out,stride,bottleneck,sub_layers), got 1"],
  ['SuperResIDWE2K3(1)', "'SuperResIDWE2K3' takes 5 arguments (in,out,stride,bottleneck,sub_layers), got 1"],
  ['ConvKX(1)', "'ConvKX' takes 4 arguments (in,out,kernel,stride), got 1"],
  ['ConvDW(1)', "'ConvDW' takes 3 arguments (channels,kernel,stride), got 1"],
  ['BN(1,1)', "'BN' takes 1 argument (channels), got 2"],
  ['RELU(1,1)', "'RELU' takes 1 argument (channels), got 2"],
  ['SE(1,1)', "'SE' takes 1 argument (channels), got 2"],
  ['MaxPool(1)', "'MaxPool' takes 4 arguments (in,out,kernel,stride), got 1"],
  ['AdaptiveAvgPool(1)', "'AdaptiveAvgPool' takes 2 arguments (channels,output_size), got 1"],
  ['Linear(1)', "'Linear' takes 2 arguments (in,out), got 1"],
];

/** The name of the argument a bad value sits in, for every position of every block. */
const ARG_NAMES: [string, string[]][] = [
  ['SuperConvK3BNRELU', ['in', 'out', 'stride', 'sub_layers']], ['SuperResK3K3', ['in', 'out', 'stride', 'bottleneck', 'sub_layers']],
  ['ConvKX', ['in', 'out', 'kernel', 'stride']], ['ConvDW', ['channels', 'kernel', 'stride']], ['RELU', ['channels']], ['SE', ['channels']],
  ['MaxPool', ['in', 'out', 'kernel', 'stride']], ['AdaptiveAvgPool', ['channels', 'output_size']], ['Linear', ['in', 'out']],
];

test('parser: arity errors list each block’s arguments; a bad value names its argument', (t) => {
  for (const [s, message] of ARITY) t.is((t.throws(() => parseStructure(s)) as ZennasError).message, `${message} (at position 0)`, s);
  for (const [block, names] of ARG_NAMES) {
    names.forEach((name, k) => {
      const s = `${block}(${[...Array(k).fill('1'), '1.5'].join(',')})`;
      t.is((t.throws(() => parseStructure(s)) as ZennasError).message, `argument '${name}' of '${block}' must be an integer (at position ${s.indexOf('.')})`, s);
    });
  }
});

test('parser: every error names the block, the argument and the rule, with its code and position', (t) => {
  for (const [s, code, message, position] of PARSE_ERRORS) {
    const e = t.throws(() => parseStructure(s), undefined, s) as ZennasError & { position?: number };
    t.is(e.code, code, s);
    t.is(e.message, `${message} (at position ${position})`, s);
    t.is(e.position, position, s);
  }
  for (const [v, what] of [[42, 'number'], [null, 'object'], [undefined, 'undefined']] as const) {
    const e = t.throws(() => parseStructure(v as never)) as ZennasError;
    t.is(e.code, 'E_PARSE');
    t.is(e.message, `structure must be a string, got ${what}`);
  }
  const many = t.throws(() => parseStructure('BN(8)'.repeat(4097))) as ZennasError;
  t.is(many.code, 'E_STRUCTURE');
  t.is(many.message, 'too many blocks (limit 4096) (at position 20480)');
  t.is(parseStructure('BN(8)'.repeat(4096)).blocks.length, 4096);
  const long = t.throws(() => parseStructure(' '.repeat(1_000_001))) as ZennasError;
  t.is(long.code, 'E_PARSE');
  t.is(long.message, 'structure string is 1000001 characters long; the limit is 1000000');
  t.deepEqual(parseStructure(' '.repeat(999_995) + 'BN(8)'), { blocks: [{ kind: 'BN', channels: 8 }] });
});

test('parser: valid blocks at their limits, with every field, whitespace between blocks; format round-trips', (t) => {
  const s = parseStructure(' ConvKX(3,8,3,1)\tConvDW(8,15,8)\nBN(8) RELU(8)SE(8)MaxPool(8,8,1,2)AdaptiveAvgPool(8,1)Linear(8,65536) ');
  t.deepEqual(s.blocks, [
    { kind: 'ConvKX', in: 3, out: 8, kernel: 3, stride: 1 },
    { kind: 'ConvDW', channels: 8, kernel: 15, stride: 8 },
    { kind: 'BN', channels: 8 },
    { kind: 'RELU', channels: 8 },
    { kind: 'SE', channels: 8 },
    { kind: 'MaxPool', in: 8, out: 8, kernel: 1, stride: 2 },
    { kind: 'AdaptiveAvgPool', channels: 8, outputSize: 1 },
    { kind: 'Linear', in: 8, out: 65536 },
  ]);
  t.is(formatStructure(s), 'ConvKX(3,8,3,1)ConvDW(8,15,8)BN(8)RELU(8)SE(8)MaxPool(8,8,1,2)AdaptiveAvgPool(8,1)Linear(8,65536)');
  const sup = parseStructure('SuperConvK15BNRELU(3,65536,8,256)SuperResK13K13(65536,8,1,8,1)SuperResK1K11K1(8,8,1,65536,256)SuperResIDWE16K1(8,8,2,4,3)SuperResIDWE1K5(8,8,1,1,1)');
  t.deepEqual(sup.blocks, [
    { kind: 'SuperConvKXBNRELU', kernel: 15, in: 3, out: 65536, stride: 8, subLayers: 256 },
    { kind: 'SuperResKXKX', kernel: 13, expansion: 1, in: 65536, out: 8, stride: 1, bottleneck: 8, subLayers: 1 },
    { kind: 'SuperResK1KXK1', kernel: 11, expansion: 1, in: 8, out: 8, stride: 1, bottleneck: 65536, subLayers: 256 },
    { kind: 'SuperResIDWEXKX', kernel: 1, expansion: 16, in: 8, out: 8, stride: 2, bottleneck: 4, subLayers: 3 },
    { kind: 'SuperResIDWEXKX', kernel: 5, expansion: 1, in: 8, out: 8, stride: 1, bottleneck: 1, subLayers: 1 },
  ]);
  t.is(formatStructure(sup), 'SuperConvK15BNRELU(3,65536,8,256)SuperResK13K13(65536,8,1,8,1)SuperResK1K11K1(8,8,1,65536,256)SuperResIDWE16K1(8,8,2,4,3)SuperResIDWE1K5(8,8,1,1,1)');
  t.deepEqual(parseStructure('BN(000000008)').blocks, [{ kind: 'BN', channels: 8 }], 'leading zeros: 9 digits are fine');
  t.deepEqual(parseStructure('SuperResIDWE12K11(8,8,1,8,1)').blocks[0], { kind: 'SuperResIDWEXKX', kernel: 11, expansion: 12, in: 8, out: 8, stride: 1, bottleneck: 8, subLayers: 1 });
});

// ---------------------------------------------------------------- src/ops (graph validator, descriptor codec, schema)

import { inferGraph, Graph, GraphNode } from '../../src/ops/graph';
import { decodeDescriptor, encodeDescriptor } from '../../src/ops/descriptor';
import { convOutSize, OP_NAMES, OP_SCHEMA } from '../../src/ops/schema';

const node = (op: string, inputs: number[], cin: number, cout: number, o: Partial<GraphNode> = {}): GraphNode =>
  ({ op: op as GraphNode['op'], inputs, cin, cout, kernel: 0, stride: 0, block: 0, role: 'main', ...o });
const conv = (i: number, cin: number, cout: number, k = 3, s = 1) => node('conv', [i], cin, cout, { kernel: k, stride: s });
const graph = (nodes: GraphNode[], outputs = [nodes.length], inputChannels = 3): Graph => ({ inputChannels, nodes, outputs });

/** [name, graph, resolution, code, message]: every rule of the TypeScript validator. */
const GRAPH_ERRORS: [string, Graph, number, ZennasErrorCode, string][] = [
  ['input channels 0', graph([conv(0, 0, 8)], [1], 0), 8, 'E_DESCRIPTOR', 'input channels 0 out of range 1..65536'],
  ['input channels 65537', graph([conv(0, 65537, 8)], [1], 65537), 8, 'E_DESCRIPTOR', 'input channels 65537 out of range 1..65536'],
  ['input channels 1.5', graph([conv(0, 3, 8)], [1], 1.5), 8, 'E_DESCRIPTOR', 'input channels 1.5 out of range 1..65536'],
  ['no ops', graph([], [1]), 8, 'E_DESCRIPTOR', 'the graph has no ops'],
  ['unknown op', graph([node('bogus', [0], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 0 (bogus): unknown op'],
  ['add of 1', graph([node('add', [0], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 0 (add): 1 inputs, expected 2..64'],
  ['add of 65', graph([node('add', Array(65).fill(0), 3, 3)]), 8, 'E_DESCRIPTOR', 'op 0 (add): 65 inputs, expected 2..64'],
  ['relu of 2', graph([node('relu', [0, 0], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 0 (relu): 2 inputs, expected 1'],
  ['relu of 0', graph([node('relu', [], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 0 (relu): 0 inputs, expected 1'],
  ['input from later', graph([node('relu', [1], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 0 (relu): input value 1 is not produced before it'],
  ['input −1', graph([node('relu', [-1], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 0 (relu): input value -1 is not produced before it'],
  ['input 0.5', graph([node('relu', [0.5], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 0 (relu): input value 0.5 is not produced before it'],
  ['second input from later', graph([node('relu', [0], 3, 3), node('add', [1, 2], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 1 (add): input value 2 is not produced before it'],
  ['kernel 0', graph([conv(0, 3, 8, 0)]), 8, 'E_DESCRIPTOR', 'op 0 (conv): kernel 0 out of range 1..15 (odd)'],
  ['kernel 2', graph([conv(0, 3, 8, 2)]), 8, 'E_DESCRIPTOR', 'op 0 (conv): kernel 2 out of range 1..15 (odd)'],
  ['kernel 17', graph([conv(0, 3, 8, 17)]), 8, 'E_DESCRIPTOR', 'op 0 (conv): kernel 17 out of range 1..15 (odd)'],
  ['kernel 1.5', graph([conv(0, 3, 8, 1.5)]), 8, 'E_DESCRIPTOR', 'op 0 (conv): kernel 1.5 out of range 1..15 (odd)'],
  ['stride 9', graph([conv(0, 3, 8, 3, 9)]), 8, 'E_DESCRIPTOR', 'op 0 (conv): stride 9 out of range 1..8'],
  ['stride 0', graph([conv(0, 3, 8, 3, 0)]), 8, 'E_DESCRIPTOR', 'op 0 (conv): stride 0 out of range 1..8'],
  ['cout 65537', graph([conv(0, 3, 65537, 1)]), 8, 'E_DESCRIPTOR', 'op 0 (conv): cout 65537 out of range 1..65536'],
  ['bias 2', graph([node('gap', [0], 3, 3), node('linear', [1], 3, 4, { bias: 2 })]), 8, 'E_DESCRIPTOR', 'op 1 (linear): bias 2 out of range 0..1'],
  ['countIncludePad 2', graph([node('avgpool', [0], 3, 3, { kernel: 3, stride: 1, countIncludePad: 2 })]), 8, 'E_DESCRIPTOR', 'op 0 (avgpool): countIncludePad 2 out of range 0..1'],
  ['cin ≠ input channels', graph([conv(0, 4, 8)]), 8, 'E_DESCRIPTOR', 'op 0 (conv): cin 4 but its input has 3 channels'],
  ['linear on a map', graph([node('linear', [0], 3, 4)]), 8, 'E_STRUCTURE', 'op 0 (linear) needs a 1×1 input but gets 8×8: add AdaptiveAvgPool before Linear'],
  ['gate channels', graph([conv(0, 3, 4, 1), node('gap', [1], 4, 4), node('mul', [0, 2], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 2 (mul): the gate must be [3][1][1], got [4][1][1]'],
  ['gate is a map', graph([node('mul', [0, 0], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 0 (mul): the gate must be [3][1][1], got [3][8][8]'],
  ['gate 2×2', graph([conv(0, 3, 3, 1, 4), node('mul', [0, 1], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 1 (mul): the gate must be [3][1][1], got [3][2][2]'],
  ['add channels', graph([conv(0, 3, 4, 1), node('add', [0, 1], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 1 (add): inputs differ in shape ([3][8][8] vs [4][8][8])'],
  ['add spatial', graph([conv(0, 3, 3, 1, 2), node('add', [0, 1], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 1 (add): inputs differ in shape ([3][8][8] vs [3][4][4])'],
  ['add third input', graph([conv(0, 3, 3, 1, 2), node('add', [0, 0, 1], 3, 3)]), 8, 'E_DESCRIPTOR', 'op 1 (add): inputs differ in shape ([3][8][8] vs [3][4][4])'],
  ['relu cout', graph([node('relu', [0], 3, 4)]), 8, 'E_DESCRIPTOR', 'op 0 (relu): cout 4 but the op produces 3 channels'],
  ['gap cout', graph([node('gap', [0], 3, 4)]), 8, 'E_DESCRIPTOR', 'op 0 (gap): cout 4 but the op produces 3 channels'],
  ['dwconv cout', graph([node('dwconv', [0], 3, 4, { kernel: 3, stride: 1 })]), 8, 'E_DESCRIPTOR', 'op 0 (dwconv): cout 4 but the op produces 3 channels'],
  ['mul cout', graph([node('gap', [0], 3, 3), node('mul', [0, 1], 3, 5)]), 8, 'E_DESCRIPTOR', 'op 1 (mul): cout 5 but the op produces 3 channels'],
  ['add cout', graph([node('add', [0, 0], 3, 6)]), 8, 'E_DESCRIPTOR', 'op 0 (add): cout 6 but the op produces 3 channels'],
  ['linear cout', graph([node('gap', [0], 3, 3), node('linear', [1], 3, 4, { cout: 4 }), node('relu', [2], 4, 5)]), 8, 'E_DESCRIPTOR', 'op 2 (relu): cout 5 but the op produces 4 channels'],
  ['no outputs', graph([node('relu', [0], 3, 3)], []), 8, 'E_DESCRIPTOR', 'the graph has no outputs'],
  ['output 0 (the input)', graph([node('relu', [0], 3, 3)], [0]), 8, 'E_DESCRIPTOR', 'output value 0 is not produced by an op'],
  ['output beyond the ops', graph([node('relu', [0], 3, 3)], [2]), 8, 'E_DESCRIPTOR', 'output value 2 is not produced by an op'],
  ['output 1.5', graph([node('relu', [0], 3, 3)], [1, 1.5]), 8, 'E_DESCRIPTOR', 'output value 1.5 is not produced by an op'],
];

test('inferGraph: every rule, its code and message (E_DESCRIPTOR messages say "invalid descriptor")', (t) => {
  for (const [name, g, r, code, message] of GRAPH_ERRORS) {
    const e = t.throws(() => inferGraph(g, r), undefined, name) as ZennasError;
    t.is(e.code, code, name);
    t.is(e.message, code === 'E_DESCRIPTOR' ? `invalid descriptor: ${message}` : message, name);
  }
});

test('inferGraph: shapes of every shape rule, the limits accepted', (t) => {
  const r = inferGraph(graph([conv(0, 3, 8, 5, 2), node('maxpool', [1], 8, 8, { kernel: 3, stride: 3 }), node('avgpool', [2], 8, 8, { kernel: 1, stride: 1 }), node('dwconv', [3], 8, 8, { kernel: 7, stride: 2 }),
    node('gap', [4], 8, 8), node('sigmoid', [5], 8, 8), node('mul', [4, 6], 8, 8), node('add', [7, 4, 7], 8, 8), node('linear', [5], 8, 10, { bias: 1 })], [8, 9]), 16);
  t.deepEqual(r.values, [{ c: 3, h: 16, w: 16 }, { c: 8, h: 8, w: 8 }, { c: 8, h: 3, w: 3 }, { c: 8, h: 3, w: 3 }, { c: 8, h: 2, w: 2 }, { c: 8, h: 1, w: 1 }, { c: 8, h: 1, w: 1 }, { c: 8, h: 2, w: 2 }, { c: 8, h: 2, w: 2 }, { c: 10, h: 1, w: 1 }]);
  t.deepEqual(r.nodes[0], { cin: 3, hin: 16, win: 16, cout: 8, hout: 8, wout: 8 });
  t.deepEqual(r.nodes[8], { cin: 8, hin: 1, win: 1, cout: 10, hout: 1, wout: 1 });
  t.is(r.nodes.length, 9);
  // Limits: 1 and 65536 input channels, kernel 1 and 15, stride 8, 64-input ADD, LINEAR straight on a 1×1 input.
  t.notThrows(() => inferGraph(graph([conv(0, 65536, 1, 1)], [1], 65536), 1));
  t.notThrows(() => inferGraph(graph([conv(0, 1, 65536, 15, 8)], [1], 1), 8));
  t.notThrows(() => inferGraph(graph([node('add', Array(64).fill(0), 3, 3)]), 8));
  t.deepEqual(inferGraph(graph([node('linear', [0], 3, 4)]), 1).values[1], { c: 4, h: 1, w: 1 });
  t.deepEqual(inferGraph(graph([node('relu', [0], 3, 3), node('relu', [1], 3, 3)]), 8).values.length, 3);
  t.deepEqual(inferGraph(graph([node('zero', [0], 3, 3), node('identity', [1], 3, 3), node('swish', [2], 3, 3), node('bn', [3], 3, 3)]), 5).values[4], { c: 3, h: 5, w: 5 });
});

test('convOutSize: PyTorch’s floor((H + 2·pad − k)/s) + 1 with pad (k−1)/2', (t) => {
  t.deepEqual([convOutSize(8, 3, 1), convOutSize(8, 3, 2), convOutSize(7, 3, 2), convOutSize(1, 7, 1), convOutSize(8, 1, 3), convOutSize(224, 7, 2), convOutSize(5, 5, 4), convOutSize(9, 1, 2)], [8, 4, 4, 1, 3, 112, 2, 5]);
  t.deepEqual(OP_NAMES, OP_SCHEMA.map((o) => o.name));
  t.deepEqual(OP_NAMES.slice(0, 3), ['conv', 'dwconv', 'bn']);
});

const SAMPLE = graph([conv(0, 3, 8, 3, 2), node('relu', [1], 8, 8), node('gap', [2], 8, 8), node('linear', [3], 8, 10, { bias: 1 }), node('add', [3, 3], 8, 8)], [4, 5]);

test('descriptor codec: the exact words, decode(encode(g)) = g’s wire fields (cin from the input, cout of shape-preserving ops)', (t) => {
  const d = encodeDescriptor(SAMPLE);
  t.deepEqual(Array.from(d), [0x5a4e4e32, 2, 5, 3, 2, 36, 0, 0, 1, 1, 3, 0, 8, 3, 2, 4, 1, 0, 1, 6, 1, 0, 2, 7, 1, 2, 3, 10, 1, 10, 2, 0, 3, 3, 4, 5]);
  t.deepEqual(decodeDescriptor(d), {
    inputChannels: 3,
    nodes: [
      { op: 'conv', inputs: [0], cin: 3, cout: 8, kernel: 3, stride: 2 },
      { op: 'relu', inputs: [1], cin: 8, cout: 8, kernel: 0, stride: 0 },
      { op: 'gap', inputs: [2], cin: 8, cout: 8, kernel: 0, stride: 0 },
      { op: 'linear', inputs: [3], cin: 8, cout: 10, kernel: 0, stride: 0, bias: 1 },
      { op: 'add', inputs: [3, 3], cin: 8, cout: 8, kernel: 0, stride: 0 },
    ],
    outputs: [4, 5],
  });
  // An input id outside the values decodes with cin 0 (inferGraph then names the rule); the last value is in range.
  const w = Array.from(d);
  w[11] = 1; // op 0 reads value 1: not produced yet (only the input exists)
  t.is(decodeDescriptor(Int32Array.from(w)).nodes[0]!.cin, 0);
  w[11] = -1;
  t.is(decodeDescriptor(Int32Array.from(w)).nodes[0]!.cin, 0);
  // Ops without a cout attribute but with others (dwconv, maxpool, avgpool) keep their input's channels;
  // attributes a node leaves unset are the schema's defaults (avgpool countIncludePad 1, linear bias 0).
  const pools = encodeDescriptor(graph([node('dwconv', [0], 3, 3, { kernel: 3, stride: 1 }), node('maxpool', [1], 3, 3, { kernel: 3, stride: 2 }),
    node('avgpool', [2], 3, 3, { kernel: 3, stride: 1 }), node('gap', [3], 3, 3), node('linear', [4], 3, 5)]));
  t.deepEqual(Array.from(pools.slice(8)), [2, 1, 2, 0, 3, 1, 5, 1, 2, 1, 3, 2, 11, 1, 3, 2, 3, 1, 1, 6, 1, 0, 3, 7, 1, 2, 4, 5, 0, 5]);
  t.deepEqual(decodeDescriptor(pools).nodes.map((n) => [n.op, n.cin, n.cout]), [['dwconv', 3, 3], ['maxpool', 3, 3], ['avgpool', 3, 3], ['gap', 3, 3], ['linear', 3, 5]]);
  t.is(decodeDescriptor(pools).nodes[2]!.countIncludePad, 1);
  const add64 = encodeDescriptor(graph([node('add', Array(64).fill(0), 3, 3)]));
  t.is(decodeDescriptor(add64).nodes[0]!.inputs.length, 64);
  t.is(decodeDescriptor(add64).nodes[0]!.cout, 3);
});

test('descriptor decode: every malformed header, record and tail is E_DESCRIPTOR saying what', (t) => {
  const d = encodeDescriptor(SAMPLE);
  const edit = (f: (w: number[]) => void) => { const w = Array.from(d); f(w); return Int32Array.from(w); };
  const cases: [unknown, string][] = [
    [new Uint32Array(d), 'expected an Int32Array'],
    [d.slice(0, 7), 'too short (7 words)'],
    [Int32Array.from([0x5a4e4e32, 2, 1, 3, 1, 8, 0, 0]), 'truncated'],
    [edit((w) => { w[0] = 0x5a4e4e31; }), 'descriptor v1 (ZNN1) is no longer accepted: re-encode with encodeDescriptor'],
    [edit((w) => { w[0] = 1; }), 'bad magic'],
    [edit((w) => { w[1] = 3; }), 'unsupported version 3'],
    [edit((w) => { w[2] = 0; }), 'op count 0 out of range 1..1048576'],
    [edit((w) => { w[2] = (1 << 20) + 1; }), 'op count 1048577 out of range 1..1048576'],
    [edit((w) => { w[2] = 1 << 20; }), 'truncated'],
    [edit((w) => { w[5] = 99; }), 'header says 99 words, the array has 36'],
    [edit((w) => { w[8] = 99; }), 'op 0: unknown opcode 99'],
    [edit((w) => { w[9] = 0; }), 'op 0: 0 inputs'],
    [edit((w) => { w[9] = 65; }), 'op 0: 65 inputs'],
    [edit((w) => { w[10] = 2; }), 'op 0 (conv): 2 attributes, the schema has 3'],
    [edit((w) => { w[4] = 0; }), '0 outputs do not fill the remaining 2 words'],
    [edit((w) => { w[4] = 1; }), '1 outputs do not fill the remaining 2 words'],
    [edit((w) => { w[4] = 3; }), '3 outputs do not fill the remaining 2 words'],
    [edit((w) => { w[2] = 4; }), '2 outputs do not fill the remaining 7 words'],
    [Int32Array.from([0x5a4e4e32, 2, 1, 3, 0, 12, 0, 0, 4, 1, 0, 0]), '0 outputs do not fill the remaining 0 words'],
  ];
  for (const [x, message] of cases) {
    const e = t.throws(() => decodeDescriptor(x as Int32Array), undefined, message) as ZennasError;
    t.is(e.code, 'E_DESCRIPTOR');
    t.is(e.message, `invalid descriptor: ${message}`);
  }
});

// ---------------------------------------------------------------- src/util/units.ts

import { formatCount, formatDuration, parseCount, parseDuration } from '../../src/util/units';

const unitMessage = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof ZennasError && e.code === 'E_OPTION') return e.message;
    throw e;
  }
  throw new Error('did not throw');
};

test('parseCount: the number syntax (fractions, exponents, anchors), limits inclusive, each message exact', (t) => {
  t.is(parseCount('.25k'), 250);
  t.is(parseCount('1e+3'), 1000);
  t.is(parseCount('1E-3k'), 1);
  t.is(parseCount('0'), 0);
  t.is(parseCount('1,000'), 1000);
  t.is(parseCount('5', '--f', { min: 5 }), 5);
  t.is(parseCount('1e15'), 1e15);
  t.is(parseCount('10', '--f', { max: 10 }), 10);
  t.is(unitMessage(() => parseCount('abc5', '--f')), "--f: expected a count such as 1M, 400M, 1.5e6 or 250k, got 'abc5'");
  t.is(unitMessage(() => parseCount('5k!', '--f')), "--f: expected a count such as 1M, 400M, 1.5e6 or 250k, got '5k!'");
  t.is(unitMessage(() => parseCount('lots')), "expected a count such as 1M, 400M, 1.5e6 or 250k, got 'lots'");
  t.is(unitMessage(() => parseCount('1X', '--f')), "--f: unknown unit 'X' in '1X' (known suffixes: k, M, G/B, T)");
  t.is(unitMessage(() => parseCount('1m', '--f')), "--f: unknown unit 'm' in '1m' ('m' is ambiguous: use M for millions)");
  t.is(unitMessage(() => parseCount('1e400', '--f')), "--f: '1e400' is not a finite number");
  t.is(unitMessage(() => parseCount('-0.5', '--f')), "--f: must not be negative, got '-0.5'");
  t.is(unitMessage(() => parseCount('4', '--f', { min: 5 })), "--f: must be at least 5, got '4'");
  t.is(unitMessage(() => parseCount('1000000000000001', '--f')), "--f: '1000000000000001' is absurdly large (limit 1000T)");
  t.is(unitMessage(() => parseCount('11', '--f', { max: 10 })), "--f: '11' is absurdly large (limit 10)");
  t.is(unitMessage(() => parseCount('2.5', '--f')), "--f: must be a whole count, got '2.5' (= 2.5)");
  t.is(parseCount('8.03k'), 8030, 'float noise of a suffix product (8029.999999999999) is tolerated, relative to the value');
  t.is(parseCount('4.07k'), 4070);
  t.is(parseCount('3.3G'), 3_300_000_000);
  t.is(parseCount('7.7T'), 7_700_000_000_000);
});

test('parseDuration: trimmed, units, limits inclusive, each message exact', (t) => {
  t.is(parseDuration(' 2s '), 2000);
  t.is(parseDuration('1sec'), 1000);
  t.is(parseDuration('.5s'), 500);
  t.is(parseDuration('2'), 2);
  t.is(parseDuration('1e+2us'), 0.1);
  t.is(parseDuration('86400000'), 86_400_000);
  t.is(parseDuration('10ms', '--d', { maxMs: 10 }), 10);
  t.is(unitMessage(() => parseDuration('ms', '--d')), "--d: expected a duration such as 0.5ms, 500us or 2s, got 'ms'");
  t.is(unitMessage(() => parseDuration('1e400ms', '--d')), "--d: '1e400ms' is not a finite number");
  t.is(unitMessage(() => parseDuration('86400001', '--d')), "--d: '86400001' is absurdly long (limit 1440min)");
  t.is(unitMessage(() => parseDuration('11ms', '--d', { maxMs: 10 })), "--d: '11ms' is absurdly long (limit 10ms)");
  t.is(unitMessage(() => parseDuration('3d', '--d')), "--d: unknown unit 'd' in '3d' (known units: ns, us, µs, ms, s, min)");
  t.is(unitMessage(() => parseDuration('0', '--d')), "--d: must be positive, got '0'");
});

test('formatCount / formatDuration: each unit from its boundary, negatives, non-finite', (t) => {
  t.deepEqual([1e12, 999e9, 1e9, 1e6, 999, 1000, -1500, NaN, Infinity, 0, 1234.5, 1.5e13, 5e5].map(formatCount),
    ['1T', '999G', '1G', '1M', '999', '1k', '-1.5k', 'NaN', 'Infinity', '0', '1.23k', '15T', '500k']);
  t.deepEqual([60e3, 1e3, 999, 1, 0.999, 0.5, Infinity, 90e3, 123456, 2500].map(formatDuration),
    ['1min', '1s', '999ms', '1ms', '999us', '500us', 'Infinity', '1.5min', '2.06min', '2.5s']);
});
