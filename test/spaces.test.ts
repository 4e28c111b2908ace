import test from 'ava';
import fc from 'fast-check';
import { Block, Structure, SuperResBlock } from '../src/grammar/ast';
import { parseStructure } from '../src/grammar/parse';
import { formatStructure } from '../src/grammar/format';
import { countModel } from '../src/model/count';
import { getSpace, getPreset, listSpaces, spaceI, spaceII, SearchSpace } from '../src/spaces';
import { SPACE_I_TYPES } from '../src/spaces/space-i';
import { SPACE_II_TYPES } from '../src/spaces/space-ii';
import { Sfc32 } from '../src/rng/sfc32';

const isRes = (b: Block): b is SuperResBlock => b.kind === 'SuperResKXKX' || b.kind === 'SuperResK1KXK1' || b.kind === 'SuperResIDWEXKX';

/** Strides with split-off stride-1 blocks removed: a split block's second half is (out,out,1). */
function downsampling(s: Structure): number[] {
  return s.blocks.map((b) => ('stride' in b ? b.stride : 1)).filter((x) => x !== 1);
}

function checkChild(t: { true: (v: boolean, m?: string) => void; is: (a: unknown, b: unknown, m?: string) => void; deepEqual: (a: unknown, b: unknown, m?: string) => void }, space: SearchSpace<Structure>, parent: Structure, child: Structure, resolution: number) {
  const text = formatStructure(child);
  t.deepEqual(parseStructure(text), child, 'parse(format(child)) round-trips');
  const types = space.id === 'I' ? SPACE_I_TYPES : SPACE_II_TYPES;
  t.deepEqual(downsampling(child), downsampling(parent), 'strides of the parent are kept');
  t.deepEqual(child.blocks[0]!.kind, 'SuperConvKXBNRELU');
  t.is((child.blocks[0] as { in: number }).in, 3);
  t.is((child.blocks[0] as { kernel: number }).kernel, (parent.blocks[0] as { kernel: number }).kernel);
  const last = child.blocks[child.blocks.length - 1]!;
  t.is(last.kind, 'SuperConvKXBNRELU', 'head conv stays last');
  if (space.id === 'II') t.is((last as { out: number }).out, (parent.blocks[parent.blocks.length - 1] as { out: number }).out, 'Space II keeps the final 1×1 width');
  for (const b of child.blocks) {
    if (b.kind === 'SuperConvKXBNRELU') {
      t.is(b.subLayers, 1);
      continue;
    }
    t.true(isRes(b), `only super blocks: ${b.kind}`);
    const r = b as SuperResBlock;
    t.true(types.some((c) => c.kind === r.kind && c.kernel === r.kernel && (r.kind !== 'SuperResIDWEXKX' || c.expansion === r.expansion)), `type in space: ${formatStructure({ blocks: [r] })}`);
    for (const w of [r.out, r.bottleneck]) t.true(w % 8 === 0 && w >= 8 && w <= 2048, `width ${w} is a multiple of 8 in 8..2048`);
    t.true(r.subLayers >= 1 && r.subLayers < 6, `sub_layers ${r.subLayers} in 1..5 (≥ 6 is split)`);
  }
  t.true(countModel(child, { resolution }).params > 0);
}

for (const space of [spaceI, spaceII]) {
  test(`Space ${space.id}: thousands of random mutation walks give valid children`, (t) => {
    let checked = 0;
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(...Object.keys(space.presets)), fc.integer({ min: 1, max: 25 }), fc.double({ min: 0, max: 1, noNaN: true }), (seed, presetName, steps, rho) => {
        const preset = getPreset(space, presetName);
        const rng = new Sfc32(seed);
        let s = parseStructure(preset.initial);
        for (let k = 0; k < steps; k++) {
          const child = space.mutate(s, { rng, changes: 1 + (k % 2), rho });
          checkChild(t, space, s, child, preset.resolution);
          checked++;
          s = child;
        }
      }),
      { numRuns: 300 },
    );
    t.true(checked > 2000, `${checked} mutations checked`);
  });

  test(`Space ${space.id}: mutate leaves the parent untouched and reaches every block type`, (t) => {
    const preset = getPreset(space);
    const parent = parseStructure(preset.initial);
    const before = JSON.stringify(parent);
    const rng = new Sfc32(7);
    const seen = new Set<string>();
    let s = parent;
    for (let i = 0; i < 3000; i++) {
      const c = space.mutate(i % 10 === 0 ? parent : s, { rng, changes: 2, rho: 1 });
      for (const b of c.blocks) if (isRes(b)) seen.add(`${b.kind}/${b.kernel}/${b.expansion}`);
      s = c.blocks.length > 12 ? parent : c;
    }
    t.is(JSON.stringify(parent), before);
    const types = space.id === 'I' ? SPACE_I_TYPES : SPACE_II_TYPES;
    t.is(seen.size, types.length);
  });

  test(`Space ${space.id}: presets parse, pass check and fit their own budgets`, (t) => {
    for (const p of Object.values(space.presets)) {
      const s = parseStructure(p.initial);
      t.notThrows(() => space.check(s));
      const c = countModel(s, { resolution: p.resolution, numClasses: p.numClasses });
      t.true(c.layers <= p.maxLayers);
      if (p.budgetParams) t.true(c.params <= p.budgetParams);
      if (p.budgetFlops) t.true(c.flops <= p.budgetFlops);
      const expectedDown = p.resolution === 224 ? 32 : 8;
      t.is(p.resolution / c.outputResolution, expectedDown);
    }
  });
}

test('mutation is deterministic for a seed', (t) => {
  const parent = parseStructure(getPreset(spaceI).initial);
  const run = () => {
    const rng = new Sfc32(42);
    return Array.from({ length: 50 }, () => formatStructure(spaceI.mutate(parent, { rng, changes: 2, rho: 0.5 })));
  };
  t.deepEqual(run(), run());
});

test('deep blocks are split as the official split(6)', (t) => {
  const rng = new Sfc32(1);
  const s = parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,5)SuperConvK1BNRELU(16,32,1,1)');
  let split = false;
  for (let i = 0; i < 200 && !split; i++) {
    const c = spaceI.mutate(s, { rng, changes: 1, rho: 0 });
    if (c.blocks.length === 4) {
      split = true;
      const [a, b] = [c.blocks[1] as SuperResBlock, c.blocks[2] as SuperResBlock];
      t.is(a.subLayers, 3);
      t.is(b.subLayers, 3);
      t.is(a.stride, 2);
      t.is(b.stride, 1);
      t.is(b.in, b.out);
    }
  }
  t.true(split);
});

test('registry: ids, aliases and clear errors', (t) => {
  t.is(getSpace('i'), spaceI);
  t.is(getSpace('2'), spaceII);
  t.deepEqual(listSpaces().map((s) => s.id).slice(0, 2), ['I', 'II']);
  const e = t.throws(() => getSpace('III'));
  t.is((e as { code?: string }).code, 'E_OPTION');
  t.regex(e!.message, /^space: unknown search space 'III'; known: I, II/);
  t.regex(t.throws(() => getPreset(spaceI, 'mnist'))!.message, /^preset: 'mnist' is not a preset/);
});

test('check: initial structures outside the space are refused', (t) => {
  const idw = parseStructure(getPreset(spaceII).initial);
  t.regex(t.throws(() => spaceI.check(idw))!.message, /Search Space I: block 1 \(SuperResIDWE6K3\) is not in the space/);
  const noStem = parseStructure('SuperResK3K3(3,16,1,8,1)');
  t.regex(t.throws(() => spaceI.check(noStem))!.message, /must start with a SuperConvK\{k\}BNRELU stem/);
});
