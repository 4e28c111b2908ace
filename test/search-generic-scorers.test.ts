/**
 * The config's scorers know no genotype type: counted baselines count through the space, 'random'
 * keys by the space's encode, table proxies lower the space's PlainNet structure — so every space
 * (hardcore and proxyless genotypes are not Structures) can be searched with every score.
 */
import test from 'ava';
import { getSpace } from '../src/spaces';
import { configScorer } from '../src/search/proxy-scorer';
import { searchConfig, runSearch } from '../src/search';
import { countModel } from '../src/model/count';

for (const id of ['hardcore', 'proxyless']) {
  test(`${id}: flops / params / random scorers read the space, not a Structure`, async (t) => {
    const space = getSpace(id);
    const config = searchConfig({ space: id, iterations: 4, population: 4, proxy: 'flops' } as never);
    const g = space.decode(space.presets[space.defaultPreset]!.initial);
    const o = { resolution: config.resolution, numClasses: config.numClasses, se: config.se };
    const flops = await configScorer({ ...config, scoring: { proxy: 'flops' } }, undefined, space)(g, new Int32Array());
    const params = await configScorer({ ...config, scoring: { proxy: 'params' } }, undefined, space)(g, new Int32Array());
    const cost = space.count(g, o);
    t.is((flops as { score: number }).score, Math.log10(cost.flops));
    t.is((params as { score: number }).score, Math.log10(cost.params));
    // The space's count is the count of its structure (the same net either way).
    const c = countModel(space.structure!(g), o);
    t.is(c.params, cost.params);
    const r1 = await configScorer({ ...config, scoring: { proxy: 'random' } }, undefined, space)(g, new Int32Array());
    const r2 = await configScorer({ ...config, scoring: { proxy: 'random' } }, undefined, space)(space.decode(space.encode(g)), new Int32Array());
    t.is((r1 as { score: number }).score, (r2 as { score: number }).score, 'random keys by the genotype key');
    const res = await runSearch(config, {});
    t.true(res.state.counts.scored > 0);
    t.is(res.state.counts.failed, 0, 'no candidate fails to score');
  });
}

test('a table proxy on a space without a PlainNet structure is refused up front, naming the space', (t) => {
  const space = { ...getSpace('hardcore'), id: 'cells', structure: undefined };
  const config = searchConfig({ space: 'hardcore', iterations: 2, population: 2, proxy: 'grad_norm' } as never);
  const engine = { zenScore: async () => ({ mean: 0, seconds: 0 }), run: async () => ({ mean: 0, seconds: 0 }), close() {} };
  t.throws(() => configScorer(config, engine, space as never), { code: 'E_OPTION', message: /space 'cells' has none: score it with 'zen' or a counted proxy/ });
});
