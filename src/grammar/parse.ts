import { Block, MBActivation, MBSqueeze, Structure, SuperResBlock } from './ast';
import { mbMidChannels } from './mbinvres';
import { LIMITS } from './limits';
import { ZennasError } from '../errors';
import { blockName, MB_ACT_NAMES, MB_SE_NAMES } from './format';

/**
 * Parser for PlainNet structure strings (DESIGN §2), e.g.
 * `SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)`.
 *
 * Hand-written single pass over the text: O(n), no backtracking, no recursion, so garbage can
 * neither hang nor blow the stack. Every failure is a ZennasError with the 0-based position.
 */

interface BlockSpec {
  /** Argument names, in order (used in error messages). */
  args: readonly string[];
  /** Builds the block from validated integer arguments and the numbers embedded in the name. */
  build(a: number[], name: NameParams): Block;
}

interface NameParams { kernel: number; expansion: number; act?: MBActivation; se?: MBSqueeze }

const invert = <K extends string>(t: Readonly<Record<K, string>>): Record<string, K> =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [v, k as K])) as Record<string, K>;
const MB_ACT_BY_NAME = invert(MB_ACT_NAMES);
const MB_SE_BY_NAME = invert(MB_SE_NAMES);

const RES_ARGS = ['in', 'out', 'stride', 'bottleneck', 'sub_layers'] as const;

const res = (kind: SuperResBlock['kind']) => (a: number[], n: NameParams): Block => ({
  kind, kernel: n.kernel, expansion: n.expansion, in: a[0]!, out: a[1]!, stride: a[2]!, bottleneck: a[3]!, subLayers: a[4]!,
});

/** Name patterns, tried in order. Kernel/expansion digits are captured from the name. */
const NAME_PATTERNS: Array<{ re: RegExp; spec: BlockSpec; parts: (m: RegExpExecArray) => NameParams & { check?: string } }> = [
  {
    re: /^SuperConvK(\d+)BNRELU$/,
    parts: (m) => ({ kernel: +m[1]!, expansion: 1 }),
    spec: {
      args: ['in', 'out', 'stride', 'sub_layers'],
      build: (a, n) => ({ kind: 'SuperConvKXBNRELU', kernel: n.kernel, in: a[0]!, out: a[1]!, stride: a[2]!, subLayers: a[3]! }),
    },
  },
  {
    re: /^SuperResK1K(\d+)K1$/,
    parts: (m) => ({ kernel: +m[1]!, expansion: 1 }),
    spec: { args: RES_ARGS, build: res('SuperResK1KXK1') },
  },
  {
    re: /^SuperResK(\d+)K(\d+)$/,
    parts: (m) => ({ kernel: +m[1]!, expansion: 1, check: m[1] === m[2] ? undefined : `the two kernels of ${m[0]} must be equal (K${m[1]}K${m[1]})` }),
    spec: { args: RES_ARGS, build: res('SuperResKXKX') },
  },
  {
    re: /^SuperResIDWE(\d+)K(\d+)$/,
    parts: (m) => ({ kernel: +m[2]!, expansion: +m[1]! }),
    spec: { args: RES_ARGS, build: res('SuperResIDWEXKX') },
  },
  {
    re: /^MBInvResE(\d+)K(\d+)(RELU|SWISH|HSWISH)(SE|HSE)?$/,
    parts: (m) => ({ kernel: +m[2]!, expansion: +m[1]!, act: MB_ACT_BY_NAME[m[3]!]!, se: MB_SE_BY_NAME[m[4] ?? '']! }),
    spec: {
      args: ['in', 'out', 'stride'],
      build: (a, n) => ({ kind: 'MBInvRes', expansion: n.expansion, kernel: n.kernel, act: n.act!, se: n.se!, in: a[0]!, out: a[1]!, stride: a[2]! }),
    },
  },
];

const BASIC: Record<string, BlockSpec> = {
  ConvKX: { args: ['in', 'out', 'kernel', 'stride'], build: (a) => ({ kind: 'ConvKX', in: a[0]!, out: a[1]!, kernel: a[2]!, stride: a[3]! }) },
  ConvDW: { args: ['channels', 'kernel', 'stride'], build: (a) => ({ kind: 'ConvDW', channels: a[0]!, kernel: a[1]!, stride: a[2]! }) },
  BN: { args: ['channels'], build: (a) => ({ kind: 'BN', channels: a[0]! }) },
  RELU: { args: ['channels'], build: (a) => ({ kind: 'RELU', channels: a[0]! }) },
  MaxPool: { args: ['in', 'out', 'kernel', 'stride'], build: (a) => ({ kind: 'MaxPool', in: a[0]!, out: a[1]!, kernel: a[2]!, stride: a[3]! }) },
  AdaptiveAvgPool: { args: ['channels', 'output_size'], build: (a) => ({ kind: 'AdaptiveAvgPool', channels: a[0]!, outputSize: a[1]! }) },
  Linear: { args: ['in', 'out'], build: (a) => ({ kind: 'Linear', in: a[0]!, out: a[1]! }) },
  SE: { args: ['channels'], build: (a) => ({ kind: 'SE', channels: a[0]! }) },
  SWISH: { args: ['channels'], build: (a) => ({ kind: 'SWISH', channels: a[0]! }) },
  HSWISH: { args: ['channels'], build: (a) => ({ kind: 'HSWISH', channels: a[0]! }) },
};

const KNOWN_NAMES = 'SuperConvK{k}BNRELU, SuperResK{k}K{k}, SuperResK1K{k}K1, SuperResIDWE{e}K{k}, MBInvResE{e}K{k}{RELU|SWISH|HSWISH}[SE|HSE], ' + Object.keys(BASIC).join(', ');

function fail(code: 'E_PARSE' | 'E_STRUCTURE', pos: number, msg: string): never {
  throw new ZennasError(code, `${msg} (at position ${pos})`, pos);
}

function resolveName(name: string, pos: number): { spec: BlockSpec; params: NameParams } {
  const basic = Object.prototype.hasOwnProperty.call(BASIC, name) ? BASIC[name] : undefined;
  if (basic) return { spec: basic, params: { kernel: 0, expansion: 1 } };
  for (const p of NAME_PATTERNS) {
    const m = p.re.exec(name);
    if (!m) continue;
    const parts = p.parts(m);
    if (parts.check) fail('E_PARSE', pos, parts.check);
    return { spec: p.spec, params: { kernel: parts.kernel, expansion: parts.expansion, act: parts.act, se: parts.se } };
  }
  if (name === '') fail('E_PARSE', pos, 'expected a block name');
  return fail('E_PARSE', pos, `unknown block '${name.length > 40 ? name.slice(0, 40) + '…' : name}'; known blocks: ${KNOWN_NAMES}`);
}

/** Parse a structure string into the IR; validates arguments and channel chaining. */
export function parseStructure(text: string): Structure {
  if (typeof text !== 'string') throw new ZennasError('E_PARSE', `structure must be a string, got ${typeof text}`);
  if (text.length > LIMITS.maxTextLength) {
    throw new ZennasError('E_PARSE', `structure string is ${text.length} characters long; the limit is ${LIMITS.maxTextLength}`);
  }
  const blocks: Block[] = [];
  const starts: number[] = [];
  let i = 0;
  const n = text.length;
  const skipWs = () => { while (i < n && /\s/.test(text[i]!)) i++; };
  skipWs();
  if (i >= n) fail('E_PARSE', 0, 'structure string is empty');
  while (i < n) {
    const start = i;
    while (i < n && /[A-Za-z0-9_]/.test(text[i]!)) i++;
    const name = text.slice(start, i);
    if (name === '') {
      const c = text[i]!;
      fail('E_PARSE', i, c === ')' ? "unbalanced ')' with no open block" : c === '(' ? "'(' without a block name" : `unexpected character '${c}'; expected a block name`);
    }
    const { spec, params } = resolveName(name, start);
    skipWs();
    if (text[i] !== '(') fail('E_PARSE', i, `expected '(' after '${name}'`);
    const open = i;
    i++;
    const args: number[] = [];
    for (;;) {
      skipWs();
      const argPos = i;
      while (i < n && /[0-9]/.test(text[i]!)) i++;
      const digits = text.slice(argPos, i);
      if (digits === '') {
        if (i >= n) fail('E_PARSE', open, `unbalanced parentheses: '(' of '${name}' is never closed`);
        const c = text[i]!;
        const what = c === '-' ? 'negative numbers are not allowed' : c === ')' || c === ',' ? 'missing argument' : c === '(' ? 'nested parentheses are not allowed' : `unexpected character '${c}'`;
        fail('E_PARSE', i, `${what} in '${name}' (argument ${args.length + 1}, '${spec.args[args.length] ?? 'extra'}'); arguments are non-negative integers`);
      }
      if (i < n && /[.eE]/.test(text[i]!)) fail('E_PARSE', i, `argument '${spec.args[args.length] ?? 'extra'}' of '${name}' must be an integer`);
      if (digits.length > 9) fail('E_STRUCTURE', argPos, `argument '${spec.args[args.length] ?? 'extra'}' of '${name}' is absurdly large (${digits.slice(0, 12)}${digits.length > 12 ? '…' : ''})`);
      args.push(parseInt(digits, 10));
      skipWs();
      if (i >= n) fail('E_PARSE', open, `unbalanced parentheses: '(' of '${name}' is never closed`);
      if (text[i] === ',') { i++; continue; }
      if (text[i] === ')') { i++; break; }
      fail('E_PARSE', i, text[i] === '(' ? `nested parentheses are not allowed in '${name}'` : `unexpected character '${text[i]}' in the arguments of '${name}'`);
    }
    if (args.length !== spec.args.length) {
      fail('E_PARSE', start, `'${name}' takes ${spec.args.length} argument${spec.args.length === 1 ? '' : 's'} (${spec.args.join(',')}), got ${args.length}`);
    }
    const block = spec.build(args, params);
    validateBlock(block, name, start);
    blocks.push(block);
    starts.push(start);
    if (blocks.length > LIMITS.maxBlocks) fail('E_STRUCTURE', start, `too many blocks (limit ${LIMITS.maxBlocks})`);
    skipWs();
  }
  checkChaining(blocks, starts);
  return { blocks };
}

function validateBlock(b: Block, name: string, pos: number): void {
  const positive = (v: number, what: string, max: number) => {
    if (v < 1) fail('E_STRUCTURE', pos, `'${name}': ${what} must be ≥ 1, got ${v}`);
    if (v > max) fail('E_STRUCTURE', pos, `'${name}': ${what} = ${v} is absurd (limit ${max})`);
  };
  const kernel = (k: number) => {
    if (k < 1 || k > LIMITS.maxKernel || k % 2 === 0) fail('E_STRUCTURE', pos, `'${name}': kernel must be odd and in 1..${LIMITS.maxKernel}, got ${k}`);
  };
  const C = LIMITS.maxChannels;
  switch (b.kind) {
    case 'SuperConvKXBNRELU':
      kernel(b.kernel); positive(b.in, 'in', C); positive(b.out, 'out', C); positive(b.stride, 'stride', LIMITS.maxStride); positive(b.subLayers, 'sub_layers', LIMITS.maxSubLayers);
      break;
    case 'SuperResKXKX': case 'SuperResK1KXK1': case 'SuperResIDWEXKX':
      kernel(b.kernel); positive(b.in, 'in', C); positive(b.out, 'out', C); positive(b.stride, 'stride', LIMITS.maxStride);
      positive(b.bottleneck, 'bottleneck', C); positive(b.subLayers, 'sub_layers', LIMITS.maxSubLayers);
      if (b.kind === 'SuperResIDWEXKX') positive(b.expansion, 'expansion', LIMITS.maxExpansion);
      break;
    case 'ConvKX':
      positive(b.in, 'in', C); positive(b.out, 'out', C); kernel(b.kernel); positive(b.stride, 'stride', LIMITS.maxStride);
      break;
    case 'ConvDW':
      positive(b.channels, 'channels', C); kernel(b.kernel); positive(b.stride, 'stride', LIMITS.maxStride);
      break;
    case 'BN': case 'RELU': case 'SE': case 'SWISH': case 'HSWISH':
      positive(b.channels, 'channels', C);
      break;
    case 'MBInvRes':
      kernel(b.kernel); positive(b.expansion, 'expansion', LIMITS.maxExpansion);
      positive(b.in, 'in', C); positive(b.out, 'out', C); positive(b.stride, 'stride', LIMITS.maxStride);
      positive(mbMidChannels(b), 'expanded width make_divisible(in·e, 8)', C);
      break;
    case 'MaxPool':
      positive(b.in, 'in', C); positive(b.out, 'out', C); kernel(b.kernel); positive(b.stride, 'stride', LIMITS.maxStride);
      if (b.in !== b.out) fail('E_STRUCTURE', pos, `'MaxPool': in (${b.in}) and out (${b.out}) must be equal`);
      break;
    case 'AdaptiveAvgPool':
      positive(b.channels, 'channels', C);
      if (b.outputSize !== 1) fail('E_STRUCTURE', pos, `'AdaptiveAvgPool': only output size 1 is supported, got ${b.outputSize}`);
      break;
    case 'Linear':
      positive(b.in, 'in', C); positive(b.out, 'out', C);
      break;
  }
}

/** Channels a block consumes and produces. */
export function blockChannels(b: Block): { in: number; out: number } {
  switch (b.kind) {
    case 'ConvDW': case 'BN': case 'RELU': case 'SE': case 'SWISH': case 'HSWISH': case 'AdaptiveAvgPool':
      return { in: b.channels, out: b.channels };
    default:
      return { in: b.in, out: b.out };
  }
}

function checkChaining(blocks: Block[], starts: number[]): void {
  for (let k = 1; k < blocks.length; k++) {
    const prev = blockChannels(blocks[k - 1]!).out;
    const cur = blockChannels(blocks[k]!).in;
    if (prev !== cur) {
      fail('E_STRUCTURE', starts[k]!, `channel mismatch: block ${k + 1} (${blockName(blocks[k]!)}) takes ${cur} input channels but block ${k} produces ${prev}`);
    }
  }
}
