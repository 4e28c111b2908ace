/**
 * The hardcore (HardCoRe-NAS) and proxyless (ProxylessNAS mobile) search spaces: tables, the
 * genotype ↔ structure codec, counts against the official nets (HardCoRe-NAS A–F as timm counts
 * them), fixed-seed property tests of mutation and random draws, and `zennas search --space
 * hardcore|proxyless` end to end.
 */
import test from 'ava';
import fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  HARDCORE_CONFIGS, HardcoreGenotype, HardcoreVariant, PROXYLESS_CHOICES, PROXYLESS_STAGES, PROXYLESS_ZERO, ProxylessGenotype,
  checkHardcoreGenotype, getPreset, hardcoreConfigIndex, getSpace, hardcoreBlockContext, hardcoreBlockStructure, hardcoreFixedParts, hardcoreGenotype, hardcoreHeaviest,
  hardcoreKey, hardcoreLightest, hardcoreSpace, hardcoreStages, hardcoreStructure, proxylessGenotype, proxylessHeaviest, proxylessLightest,
  proxylessSpace, proxylessStructure,
} from '../src/spaces';
import { parseStructure } from '../src/grammar/parse';
import { formatStructure } from '../src/grammar/format';
import { countModel } from '../src/model/count';
import { inferShapes, lowerAsTrained } from '../src/model/lower';
import { MBInvResBlock } from '../src/grammar/ast';
import { Sfc32 } from '../src/rng/sfc32';
import { ZennasError } from '../src/errors';
import { zennas } from './helpers/cli';

const OPTS = { resolution: 224, numClasses: 1000, se: false };
const VARIANTS: HardcoreVariant[] = ['paper', 'official'];

test('Table 4: 12 configurations er ∈ {3,4,6} × k ∈ {3,5} × SE off/on in the official index order', (t) => {
  t.is(HARDCORE_CONFIGS.length, 12);
  t.deepEqual(HARDCORE_CONFIGS.map((c) => `${c.expansion}${c.kernel}${c.se ? '+' : '-'}`), ['33-', '33+', '35-', '35+', '43-', '43+', '45-', '45+', '63-', '63+', '65-', '65+']);
  HARDCORE_CONFIGS.forEach((c, i) => { t.is(c.index, i); t.is(hardcoreConfigIndex(c), i); });
  t.throws(() => hardcoreConfigIndex({ expansion: 2, kernel: 3, se: false }), { instanceOf: ZennasError, message: /config: no Table 4 configuration has expansion 2, kernel 3, SE off/ });
});

test('Table 3: stages, activations, depth ranges and input resolutions of both variants', (t) => {
  const paper = hardcoreStages('paper');
  t.deepEqual(paper.map((s) => [s.in, s.out, s.stride, s.act, s.minDepth, s.maxDepth, s.inputResolution224]), [
    [16, 24, 2, 'relu', 2, 4, 112], [24, 40, 2, 'swish', 2, 4, 56], [40, 80, 2, 'swish', 2, 4, 28],
    [80, 112, 1, 'swish', 2, 4, 14], [112, 192, 2, 'swish', 2, 4, 14], [192, 960, 1, 'swish', 1, 1, 7],
  ]);
  t.deepEqual(hardcoreStages('official').map((s) => s.act), ['relu', 'relu', 'hswish', 'hswish', 'hswish']);
  t.throws(() => hardcoreStages('tf' as HardcoreVariant), { instanceOf: ZennasError, message: /variant: 'tf' is not a hardcore variant; known: paper, official/ });
  // Every block's context resolution = what shape inference of the whole heaviest net says.
  for (const v of VARIANTS) {
    const g = hardcoreHeaviest(v);
    const s = hardcoreStructure(g);
    const list = lowerAsTrained(s, {});
    const shapes = inferShapes(list, 224);
    const head = hardcoreFixedParts(v).head.blocks.length;
    let k = head;
    g.stages.forEach((cfgs, si) => cfgs.forEach((c, b) => {
      const ctx = hardcoreBlockContext(v, si, b, c);
      const first = list.nodes.findIndex((n) => n.block === k);
      t.is(shapes[first]!.hin, ctx.inputResolution, `${v} stage ${si} block ${b}`);
      t.deepEqual(ctx.block, s.blocks[k], `${v} stage ${si} block ${b}`);
      t.is(formatStructure(hardcoreBlockStructure(v, si, b, c)), formatStructure({ blocks: [s.blocks[k]!] }));
      k++;
    }));
    t.is(hardcoreBlockContext(v, 0, 0, 0, 320).inputResolution, 160);
  }
});

test('paper variant: ReLU stem, EfficientNet SE, the 960 block searched; official: hard-swish, HSE, fixed 1×1 960 and MobileNetV3 head', (t) => {
  const p = hardcoreKey({ variant: 'paper', stages: [[1, 0], [1, 0], [0, 0], [0, 0], [0, 0], [11]] });
  t.true(p.startsWith('ConvKX(3,32,3,2)BN(32)RELU(32)MBInvResE1K3RELU(32,16,1)MBInvResE3K3RELUSE(16,24,2)MBInvResE3K3RELU(24,24,1)MBInvResE3K3SWISHSE(24,40,2)'), p);
  t.true(p.endsWith('MBInvResE6K5SWISHSE(192,960,1)ConvKX(960,1280,1,1)BN(1280)SWISH(1280)'), p);
  const o = hardcoreKey({ variant: 'official', stages: [[1, 0], [0, 0], [1, 0], [0, 0], [0, 0]] });
  t.true(o.startsWith('ConvKX(3,32,3,2)BN(32)HSWISH(32)MBInvResE1K3RELU(32,16,1)MBInvResE3K3RELUHSE(16,24,2)'), o);
  t.true(o.includes('MBInvResE3K3HSWISHHSE(40,80,2)'), o);
  t.true(o.endsWith('MBInvResE3K3HSWISH(192,192,1)ConvKX(192,960,1,1)BN(960)HSWISH(960)AdaptiveAvgPool(960,1)Linear(960,1280)HSWISH(1280)'), o);
});

// HardCoRe-NAS A–F: the official README's mobilenet_string of each released net, and timm's
// parameter counts of hardcorenas_a..f (5.26M, 5.18M, 5.52M, 7.50M, 8.07M, 8.20M).
const HARDCORE_NETS: Array<[string, number, string]> = [
  ['A', 5.26e6, "['ir_r1_k5_s2_e3_c24_nre', 'ir_r1_k5_s1_e3_c24_nre_se0.25'], ['ir_r1_k5_s2_e3_c40_nre', 'ir_r1_k5_s1_e6_c40_nre_se0.25'], ['ir_r1_k5_s2_e6_c80_se0.25', 'ir_r1_k5_s1_e6_c80_se0.25'], ['ir_r1_k5_s1_e6_c112_se0.25', 'ir_r1_k5_s1_e6_c112_se0.25'], ['ir_r1_k5_s2_e6_c192_se0.25', 'ir_r1_k5_s1_e6_c192_se0.25']"],
  ['B', 5.18e6, "['ir_r1_k5_s2_e3_c24_nre', 'ir_r1_k5_s1_e3_c24_nre_se0.25', 'ir_r1_k3_s1_e3_c24_nre'], ['ir_r1_k5_s2_e3_c40_nre', 'ir_r1_k5_s1_e3_c40_nre', 'ir_r1_k5_s1_e3_c40_nre'], ['ir_r1_k5_s2_e3_c80', 'ir_r1_k5_s1_e3_c80', 'ir_r1_k3_s1_e3_c80', 'ir_r1_k3_s1_e3_c80'], ['ir_r1_k5_s1_e3_c112', 'ir_r1_k3_s1_e3_c112', 'ir_r1_k3_s1_e3_c112', 'ir_r1_k3_s1_e3_c112'], ['ir_r1_k5_s2_e6_c192_se0.25', 'ir_r1_k5_s1_e6_c192_se0.25', 'ir_r1_k3_s1_e3_c192_se0.25']"],
  ['C', 5.52e6, "['ir_r1_k5_s2_e3_c24_nre', 'ir_r1_k5_s1_e3_c24_nre_se0.25'], ['ir_r1_k5_s2_e3_c40_nre', 'ir_r1_k5_s1_e3_c40_nre', 'ir_r1_k5_s1_e3_c40_nre', 'ir_r1_k5_s1_e3_c40_nre'], ['ir_r1_k5_s2_e4_c80', 'ir_r1_k5_s1_e6_c80_se0.25', 'ir_r1_k3_s1_e3_c80', 'ir_r1_k3_s1_e3_c80'], ['ir_r1_k5_s1_e6_c112_se0.25', 'ir_r1_k3_s1_e3_c112', 'ir_r1_k3_s1_e3_c112', 'ir_r1_k3_s1_e3_c112'], ['ir_r1_k5_s2_e6_c192_se0.25', 'ir_r1_k5_s1_e6_c192_se0.25', 'ir_r1_k3_s1_e3_c192_se0.25']"],
  ['D', 7.50e6, "['ir_r1_k5_s2_e3_c24_nre_se0.25', 'ir_r1_k5_s1_e3_c24_nre_se0.25'], ['ir_r1_k5_s2_e3_c40_nre_se0.25', 'ir_r1_k5_s1_e4_c40_nre_se0.25', 'ir_r1_k3_s1_e3_c40_nre_se0.25'], ['ir_r1_k5_s2_e4_c80_se0.25', 'ir_r1_k3_s1_e3_c80_se0.25', 'ir_r1_k3_s1_e3_c80_se0.25', 'ir_r1_k3_s1_e3_c80_se0.25'], ['ir_r1_k3_s1_e4_c112_se0.25', 'ir_r1_k5_s1_e4_c112_se0.25', 'ir_r1_k3_s1_e3_c112_se0.25', 'ir_r1_k5_s1_e3_c112_se0.25'], ['ir_r1_k5_s2_e6_c192_se0.25', 'ir_r1_k5_s1_e6_c192_se0.25', 'ir_r1_k5_s1_e6_c192_se0.25', 'ir_r1_k3_s1_e6_c192_se0.25']"],
  ['E', 8.07e6, "['ir_r1_k5_s2_e3_c24_nre_se0.25', 'ir_r1_k5_s1_e3_c24_nre_se0.25'], ['ir_r1_k5_s2_e6_c40_nre_se0.25', 'ir_r1_k5_s1_e4_c40_nre_se0.25', 'ir_r1_k5_s1_e4_c40_nre_se0.25', 'ir_r1_k3_s1_e3_c40_nre_se0.25'], ['ir_r1_k5_s2_e4_c80_se0.25', 'ir_r1_k3_s1_e6_c80_se0.25'], ['ir_r1_k5_s1_e6_c112_se0.25', 'ir_r1_k5_s1_e6_c112_se0.25', 'ir_r1_k5_s1_e6_c112_se0.25', 'ir_r1_k5_s1_e3_c112_se0.25'], ['ir_r1_k5_s2_e6_c192_se0.25', 'ir_r1_k5_s1_e6_c192_se0.25', 'ir_r1_k5_s1_e6_c192_se0.25', 'ir_r1_k3_s1_e6_c192_se0.25']"],
  ['F', 8.20e6, "['ir_r1_k5_s2_e3_c24_nre_se0.25', 'ir_r1_k5_s1_e3_c24_nre_se0.25'], ['ir_r1_k5_s2_e6_c40_nre_se0.25', 'ir_r1_k5_s1_e6_c40_nre_se0.25'], ['ir_r1_k5_s2_e6_c80_se0.25', 'ir_r1_k5_s1_e6_c80_se0.25', 'ir_r1_k3_s1_e3_c80_se0.25', 'ir_r1_k3_s1_e3_c80_se0.25'], ['ir_r1_k3_s1_e6_c112_se0.25', 'ir_r1_k5_s1_e6_c112_se0.25', 'ir_r1_k5_s1_e6_c112_se0.25', 'ir_r1_k3_s1_e3_c112_se0.25'], ['ir_r1_k5_s2_e6_c192_se0.25', 'ir_r1_k5_s1_e6_c192_se0.25', 'ir_r1_k3_s1_e6_c192_se0.25', 'ir_r1_k3_s1_e6_c192_se0.25']"],
];

/** The genotype of an official arch_def (timm block strings): configuration = (e, k, se). */
function fromArchDef(text: string): HardcoreGenotype {
  const stages = text.split('], [').map((st) => st.replace(/[[\]']/g, '').split(', ').map((b) => {
    const m = /_k(\d)_s\d_e(\d)_c\d+/.exec(b)!;
    return HARDCORE_CONFIGS.find((c) => c.kernel === +m[1]! && c.expansion === +m[2]! && c.se === b.includes('_se0.25'))!.index;
  }));
  return { variant: 'official', stages };
}

test('official variant: HardCoRe-NAS A–F have timm’s parameter counts (within 0.5 %)', (t) => {
  for (const [name, params, arch] of HARDCORE_NETS) {
    const g = fromArchDef(arch);
    const c = hardcoreSpace.count(g, OPTS);
    t.true(Math.abs(c.params - params) / params < 0.005, `HardCoRe-NAS ${name}: ${c.params} params, timm ${params}`);
    t.deepEqual(hardcoreSpace.decode(hardcoreSpace.encode(g)), g);
  }
});

test('lightest < every net < heaviest in params and FLOPs; presets start from the lightest net', (t) => {
  for (const v of VARIANTS) {
    const lo = hardcoreSpace.count(hardcoreLightest(v), OPTS), hi = hardcoreSpace.count(hardcoreHeaviest(v), OPTS);
    const rng = new Sfc32(5);
    for (let i = 0; i < 50; i++) {
      const g = hardcoreSpace.random!(rng, { options: OPTS, template: hardcoreLightest(v), limits: {} });
      const c = hardcoreSpace.count(g, OPTS);
      t.true(lo.params <= c.params && c.params <= hi.params && lo.flops <= c.flops && c.flops <= hi.flops);
    }
    const p = getPreset(hardcoreSpace, v);
    t.is(p.initial, hardcoreKey(hardcoreLightest(v)));
    t.true(hardcoreSpace.count(hardcoreSpace.decode(p.initial), OPTS).layers <= p.maxLayers);
  }
  t.is(getSpace('HARDCORE'), getSpace('hardcore'));
  t.is(getSpace('proxyless').id, 'proxyless');
});

const arbGenotype = (v: HardcoreVariant) => fc.tuple(...hardcoreStages(v).map((st) => fc.array(fc.integer({ min: 0, max: 11 }), { minLength: st.minDepth, maxLength: st.maxDepth })))
  .map((stages): HardcoreGenotype => ({ variant: v, stages }));

test('property (fixed seed): decode(encode(g)) = g; keys parse and count; non-nets are refused with the block named', (t) => {
  fc.assert(fc.property(fc.constantFrom(...VARIANTS).chain(arbGenotype), (g) => {
    const key = hardcoreSpace.encode(g);
    t.deepEqual(hardcoreSpace.decode(key), g);
    t.is(formatStructure(parseStructure(key)), key);
    t.deepEqual(hardcoreGenotype(hardcoreStructure(g)), g);
  }), { numRuns: 150, seed: 42 });
  const key = hardcoreKey(hardcoreLightest('paper'));
  const bad: Array<[string, RegExp]> = [
    [key.replace('MBInvResE3K3SWISH(80,80,1)', 'MBInvResE3K7SWISH(80,80,1)'), /block \d+ \(MBInvResE3K7SWISH\(80,80,1\)\) is not a configuration of hardcore\/paper at stage 2, position 1/],
    [key.replace('MBInvResE3K3SWISH(80,80,1)', 'MBInvResE3K3SWISH(80,80,1)MBInvResE3K3SWISH(80,80,1)MBInvResE3K3SWISH(80,80,1)MBInvResE3K3SWISH(80,80,1)'), /does not fit the stages|not a configuration/],
    [key.replace('MBInvResE3K3SWISH(24,40,2)MBInvResE3K3SWISH(40,40,1)', 'MBInvResE3K3SWISH(24,40,2)'), /depth must be in 2\.\.4, got 1/],
    ['SuperConvK3BNRELU(3,8,1,1)', /not a net of the hardcore space/],
  ];
  for (const [k, re] of bad) t.throws(() => hardcoreSpace.decode(k), { instanceOf: ZennasError, message: re }, k.slice(0, 60));
  t.throws(() => checkHardcoreGenotype({ variant: 'paper', stages: [[0], [0, 0], [0, 0], [0, 0], [0, 0], [0]] }), { message: /genotype.stages\[0\]: depth must be in 2..4, got 1/ });
  t.throws(() => checkHardcoreGenotype({ variant: 'official', stages: [[0, 12], [0, 0], [0, 0], [0, 0], [0, 0]] }), { message: /genotype.stages\[0\]\[1\]: configuration must be an integer in 0..11, got 12/ });
});

test('property (fixed seed): mutation keeps every depth in its range and every configuration in Table 4, changes the net, never touches the parent; walks reach every configuration and depth', (t) => {
  for (const v of VARIANTS) {
    const stages = hardcoreStages(v);
    const seen = new Set<string>();
    fc.assert(fc.property(arbGenotype(v), fc.nat(), fc.integer({ min: 1, max: 3 }), (parent, seed, changes) => {
      const before = JSON.stringify(parent);
      const rng = new Sfc32(seed);
      let g = parent;
      for (let step = 0; step < 10; step++) {
        const child = hardcoreSpace.mutate(g, { rng, changes: step % 2 ? changes : 1, rho: 0.5 });
        checkHardcoreGenotype(child);
        t.is(child.variant, v);
        child.stages.forEach((cfgs, s) => {
          t.true(cfgs.length >= stages[s]!.minDepth && cfgs.length <= stages[s]!.maxDepth);
          seen.add(`d${s}:${cfgs.length}`);
          cfgs.forEach((c) => seen.add(`c${c}`));
        });
        if (step % 2 === 0) t.not(hardcoreKey(child), hardcoreKey(g), 'one change always changes the net');
        g = child;
      }
      t.is(JSON.stringify(parent), before);
    }), { numRuns: 100, seed: 7 });
    for (let c = 0; c < 12; c++) t.true(seen.has(`c${c}`), `configuration ${c}`);
    stages.forEach((st, s) => { for (let d = st.minDepth; d <= st.maxDepth; d++) t.true(seen.has(`d${s}:${d}`), `stage ${s} depth ${d}`); });
  }
});

test('random draws fit the limits or fall back to the template', (t) => {
  const rng = new Sfc32(11);
  const mid = (hardcoreSpace.count(hardcoreLightest(), OPTS).flops + hardcoreSpace.count(hardcoreHeaviest(), OPTS).flops) / 2;
  for (let i = 0; i < 40; i++) {
    const g = hardcoreSpace.random!(rng, { options: OPTS, template: hardcoreLightest(), limits: { flops: mid } });
    t.true(hardcoreSpace.count(g, OPTS).flops <= mid);
  }
  t.deepEqual(hardcoreSpace.random!(rng, { options: OPTS, template: hardcoreLightest(), limits: { flops: 1 } }), hardcoreLightest());
});

// ---- proxyless ----------------------------------------------------------------------------------

test('proxyless: stages and candidates as mit-han-lab/proxylessnas defines them; 21 searched blocks', (t) => {
  t.deepEqual(PROXYLESS_STAGES.map((s) => [s.out, s.blocks, s.stride]), [[24, 4, 2], [40, 4, 2], [80, 4, 2], [96, 4, 1], [192, 4, 2], [320, 1, 1]]);
  t.is(PROXYLESS_STAGES.reduce((a, s) => a + s.blocks, 0), 21);
  t.deepEqual(PROXYLESS_CHOICES.map((c) => c.name), ['3x3_MBConv3', '3x3_MBConv6', '5x5_MBConv3', '5x5_MBConv6', '7x7_MBConv3', '7x7_MBConv6', 'Zero']);
  const heavy = proxylessStructure(proxylessHeaviest());
  t.is(heavy.blocks.filter((b) => b.kind === 'MBInvRes').length, 22);
  t.true(heavy.blocks.every((b) => b.kind !== 'MBInvRes' || (b.se === 'none' && b.act === 'relu' && (b.expansion === 1 || b.kernel === 7))));
  // Hand count of the lightest net (first block of every stage 3x3_MBConv3, the rest skipped).
  const light = proxylessStructure(proxylessLightest());
  t.is(formatStructure(light), 'ConvKX(3,32,3,2)BN(32)RELU(32)MBInvResE1K3RELU(32,16,1)MBInvResE3K3RELU(16,24,2)MBInvResE3K3RELU(24,40,2)MBInvResE3K3RELU(40,80,2)MBInvResE3K3RELU(80,96,1)MBInvResE3K3RELU(96,192,2)MBInvResE3K3RELU(192,320,1)ConvKX(320,1280,1,1)BN(1280)RELU(1280)');
  const mb = (i: number, o: number, k: number, e: number) => i * i * e + 2 * i * e + i * e * k * k + 2 * i * e + i * e * o + 2 * o;
  const expect = 3 * 32 * 9 + 64 + (32 * 9 + 64 + 32 * 16 + 32) + mb(16, 24, 3, 3) + mb(24, 40, 3, 3) + mb(40, 80, 3, 3) + mb(80, 96, 3, 3) + mb(96, 192, 3, 3) + mb(192, 320, 3, 3) + 320 * 1280 + 2560 + 1280 * 1000 + 1000;
  t.is(countModel(light, { resolution: 224, numClasses: 1000 }).params, expect);
});

const arbProxyless = fc.tuple(...PROXYLESS_STAGES.map((st) => fc.tuple(fc.integer({ min: 0, max: 5 }), fc.array(fc.integer({ min: 0, max: 6 }), { minLength: st.blocks - 1, maxLength: st.blocks - 1 }))))
  .map((ss): ProxylessGenotype => ({ stages: ss.map(([first, rest]) => [first, ...rest]) }));

test('proxyless property (fixed seed): keys round-trip to the canonical genotype (skips last); mutation stays in the space and changes the net', (t) => {
  fc.assert(fc.property(arbProxyless, fc.nat(), (g, seed) => {
    const key = proxylessSpace.encode(g);
    const back = proxylessSpace.decode(key);
    t.is(proxylessSpace.encode(back), key);
    back.stages.forEach((cs) => { const z = cs.indexOf(PROXYLESS_ZERO); t.true(z === -1 || cs.slice(z).every((c) => c === PROXYLESS_ZERO)); });
    const child = proxylessSpace.mutate(g, { rng: new Sfc32(seed), changes: 1, rho: 0 });
    t.not(proxylessSpace.encode(child), key);
    t.deepEqual(proxylessGenotype(proxylessStructure(child)), child);
    child.stages.forEach((cs, s) => { t.is(cs.length, PROXYLESS_STAGES[s]!.blocks); t.not(cs[0], PROXYLESS_ZERO); });
  }), { numRuns: 200, seed: 21 });
  t.throws(() => proxylessSpace.check({ stages: [[6, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0]] }), { message: /first block of a stage has no shortcut and cannot be Zero/ });
  t.throws(() => proxylessSpace.decode(hardcoreKey(hardcoreLightest())), { instanceOf: ZennasError, message: /not a net of the proxyless space/ });
  const p = getPreset(proxylessSpace);
  t.true(proxylessSpace.count(proxylessSpace.decode(p.initial), OPTS).flops <= p.budgetFlops!);
});

// ---- end to end ---------------------------------------------------------------------------------

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `zennas-hardcore-${name}-`));

test('zennas search --space hardcore (both presets) and --space proxyless run end to end; best.txt is a net of the space that `zennas info` reads', (t) => {
  for (const [space, preset] of [['hardcore', 'paper'], ['hardcore', 'official'], ['proxyless', 'imagenet']] as const) {
    const out = path.join(tmp(preset), 'run');
    const r = zennas('search', '--space', space, '--preset', preset, '--iterations', '6', '--population', '4', '--batch-size', '2', '--resolution', '32', '--seed', '3', '--out', out, '--json');
    t.is(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    t.is(j.space, space);
    t.is(j.preset, preset);
    t.is(j.iterationsDone, 6);
    t.is(j.counts.failed, 0);
    const best = fs.readFileSync(path.join(out, 'best.txt'), 'utf8').trim();
    const sp = getSpace(space);
    t.notThrows(() => sp.check(sp.decode(best)));
    const cands = fs.readFileSync(path.join(out, 'candidates.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { structure?: string });
    for (const c of cands) if (c.structure) t.notThrows(() => sp.decode(c.structure!));
    const info = zennas('info', path.join(out, 'best.txt'), '--resolution', '224', '--num-classes', '1000', '--json');
    t.is(info.code, 0, info.stderr);
    t.is(JSON.parse(info.stdout).params, countModel(parseStructure(best), { resolution: 224, numClasses: 1000 }).params);
  }
  const bad = zennas('search', '--space', 'hardcore', '--preset', 'tf', '--iterations', '1');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /'tf' is not a preset of HardCoRe-NAS space; known: paper, official/);
});

test('a block structure in context lowers alone (what a LUT entry measures)', (t) => {
  for (const v of VARIANTS) {
    const s = hardcoreBlockStructure(v, 2, 1, 11);
    const b = s.blocks[0] as MBInvResBlock;
    t.deepEqual([b.in, b.out, b.stride, b.se], [80, 80, 1, v === 'paper' ? 'se' : 'hse']);
    t.true(countModel(s, { resolution: 14, numClasses: 0 }).params > 0);
    t.throws(() => hardcoreBlockStructure(v, 0, 4, 0), { message: /position: 4 is outside stage 0 \(0..3\)/ });
  }
});
