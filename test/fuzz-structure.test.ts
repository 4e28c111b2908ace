/**
 * Standing fuzz suite, structures (fixed seeds): legal structures that lower to more ops than
 * the engine accepts are refused before lowering, with E_STRUCTURE, by every command and with
 * --se; the bound is exact (loweredOps equals both lowerings on random structures).
 */
import test from 'ava';
import fc from 'fast-check';
import { Block, Structure } from '../src/grammar/ast';
import { parseStructure } from '../src/grammar/parse';
import { formatStructure } from '../src/grammar/format';
import { LIMITS } from '../src/grammar/limits';
import { countModel } from '../src/model/count';
import { checkLoweredSize, loweredOps, lowerAsTrained, lowerForScoring } from '../src/model/lower';
import { arbStructureWithin } from './helpers/arbitraries';
import { zennas } from './helpers/cli';

const SEED = 20240611;

/** The attack: legal by the grammar's limits, ≈ 21M ops as trained. */
const ATTACK = 'SuperResIDWE6K7(8,8,1,8,256)'.repeat(4096);

/** Random structures of every block kind, sometimes ending in GAP (+ Linear), sometimes unchained. */
const arbAnyStructure = fc
  .tuple(
    arbStructureWithin({ maxChannels: 48, maxBlocks: 7, maxSubLayers: 4 }),
    fc.constantFrom('none', 'gap', 'gap+linear'),
    fc.boolean(),
    fc.integer({ min: 1, max: 64 }),
  )
  .map(([s, tail, unchain, c]): Structure => {
    const blocks: Block[] = s.blocks.map((b) => ({ ...b }));
    const last = blocks[blocks.length - 1]!;
    const ch = 'channels' in last ? last.channels : last.out;
    if (tail !== 'none') blocks.push({ kind: 'AdaptiveAvgPool', channels: ch, outputSize: 1 });
    if (tail === 'gap+linear') blocks.push({ kind: 'Linear', in: ch, out: 10 });
    // Lowering does not require chaining: the count must follow the channels the builder sees.
    if (unchain && blocks.length > 1) {
      const b = blocks[1]!;
      if ('in' in b) (b as { in: number }).in = c;
    }
    return { blocks };
  });

test('loweredOps equals the node count of both lowerings (SE, shortcuts, heads; 400 random structures)', (t) => {
  fc.assert(
    fc.property(arbAnyStructure, fc.boolean(), fc.constantFrom<'official' | 'minimal'>('official', 'minimal'), fc.constantFrom(0, 10), (s, se, shortcuts, numClasses) => {
      const last = s.blocks[s.blocks.length - 1]!;
      if (!(numClasses > 0 && last.kind === 'Linear')) {
        t.is(loweredOps(s, { trained: true, se, shortcuts, numClasses }), lowerAsTrained(s, { se, shortcuts, numClasses }).nodes.length);
      }
      let scoring: number | null = null;
      try {
        scoring = lowerForScoring(s, { se }).nodes.length;
      } catch { /* Linear without GAP, or nothing to score: lowering refuses, the count is moot */ }
      if (scoring !== null) t.is(loweredOps(s, { trained: false, se }), scoring);
    }),
    { seed: SEED, numRuns: 400 },
  );
});

test('the attack is refused before lowering: E_STRUCTURE in well under a second, no heap growth', (t) => {
  const s = parseStructure(ATTACK);
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = Date.now();
  for (const se of [false, true]) {
    for (const f of [
      () => countModel(s, { resolution: 32, se }),
      () => lowerAsTrained(s, { se, numClasses: 1000 }),
      () => lowerForScoring(s, { se }),
    ]) {
      const e = t.throws(f);
      t.is((e as { code?: string }).code, 'E_STRUCTURE');
      t.regex(e!.message, /structure too large: it lowers to \d+ ops \(Σ sub_layers = 1048576\), above the engine's limit of 1048576/);
    }
  }
  t.true(Date.now() - t0 < 30_000, `${Date.now() - t0} ms`); // it took 34 s and 4.9 GB to crash; refused before lowering, it takes < 1 s (generous bound: CI machines are shared)
  t.true(process.memoryUsage().heapUsed - heap0 < 200e6, 'nothing the size of the lowered graph was built');
});

test('the bound is exact: 2^20 ops lower, 2^20 + 1 are refused (and SE counts)', (t) => {
  // Stem (3 ops) + 1365 × SuperConvK1BNRELU(8,8,1,256) (3·256 each) + (…,84) (252) + BN(8) = 1048576 ops.
  const at = parseStructure(`SuperConvK1BNRELU(3,8,1,1)${'SuperConvK1BNRELU(8,8,1,256)'.repeat(1365)}SuperConvK1BNRELU(8,8,1,84)BN(8)`);
  t.is(loweredOps(at, { trained: false }), LIMITS.maxOps);
  t.is(lowerForScoring(at).nodes.length, LIMITS.maxOps);
  const over = parseStructure(formatStructure(at) + 'BN(8)');
  t.is(loweredOps(over, { trained: false }), LIMITS.maxOps + 1);
  t.throws(() => lowerForScoring(over), { message: /lowers to 1048577 ops/ });
  // Under the bound without SE, over it with SE: --se cannot get past it.
  const res = parseStructure('SuperConvK3BNRELU(3,8,1,1)' + 'SuperResK3K3(8,8,1,8,256)'.repeat(330));
  t.true(loweredOps(res, { trained: true, numClasses: 10 }) < LIMITS.maxOps);
  t.notThrows(() => checkLoweredSize(res, { trained: true, numClasses: 10 }));
  t.throws(() => checkLoweredSize(res, { trained: true, numClasses: 10, se: true }), { message: /structure too large/ });
  t.throws(() => lowerForScoring(res, { se: true }), { message: /structure too large/ });
});

test('CLI: info and score refuse the attack (with and without --se) with one E_STRUCTURE line', (t) => {
  for (const args of [['info', ATTACK, '-r', '32'], ['score', ATTACK, '-r', '32'], ['info', ATTACK, '-r', '32', '--se'], ['score', ATTACK, '-r', '32', '--se'],
    ['search', '--proxy', 'flops', '--init', 'SuperConvK3BNRELU(3,8,1,1)' + 'SuperResK3K3(8,8,1,8,256)'.repeat(4000), '--budget-params', 'none', '--max-layers', 'none', '--iterations', '2']]) {
    const t0 = Date.now();
    const r = zennas(...args);
    t.is(r.code, 2, `${args[0]} ${args.slice(2).join(' ')}: ${r.stderr.slice(0, 300)}`);
    t.regex(r.stderr, /^zennas: error \[E_STRUCTURE\]: structure too large: it lowers to \d+ ops/);
    t.notRegex(r.stderr, /heap|Aborted|at Object\./);
    t.true(Date.now() - t0 < 20_000);
  }
});

test('counting and lowering read their options once: a throwing getter, null or an array is E_OPTION naming it', (t) => {
  const s = parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)');
  const boom = { get resolution(): number { throw new Error('boom'); } };
  for (const [f, re] of [
    [() => countModel(s, boom), /^countModel: options\.resolution must be readable, got reading it threw \(boom\)/],
    [() => countModel(s, null as never), /^countModel: options must be an object, got null/],
    [() => countModel(s, [] as never), /^countModel: options must be an object, got an array/],
    [() => countModel(s, { resolution: 32, numClasses: NaN }), /options\.numClasses must be a finite number, got NaN/],
    [() => lowerAsTrained(s, { get se(): boolean { throw new Error('se?'); } }), /^lowering: options\.se must be readable/],
    [() => lowerForScoring(s, { se: 'yes' as never }), /^lowering: options\.se must be true or false, got 'yes'/],
    [() => parseStructure(42 as never), /structure must be a string, got number/],
  ] as const) {
    const e = t.throws(f);
    t.true(['E_OPTION', 'E_PARSE'].includes((e as { code?: string }).code!), e!.message);
    t.regex(e!.message, re);
  }
});
