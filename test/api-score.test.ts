/** Issue #13 item 6: `score(structureText, options)`, the API's one-call path, and its option checks. */
import test from 'ava';
import { score, Engine, parseStructure, lowerForScoring, encodeDescriptor, DEFAULTS } from '../src/index';

const S = 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)';

test('score() = parse → lowerForScoring → engine.zenScore with the shared defaults', async (t) => {
  const r = await score(S, { repeats: 2, batchSize: 4 });
  const e = new Engine({ threads: 1 });
  try {
    const direct = await e.zenScore(encodeDescriptor(lowerForScoring(parseStructure(S))), { repeats: 2, batchSize: 4, resolution: DEFAULTS.resolution });
    t.deepEqual(r.scores, direct.scores);
    t.is(r.mean, direct.mean);
    t.is(r.proxy, 'zen');
    t.is(r.structure, S);
    t.is(r.options.resolution, DEFAULTS.resolution);
    // A given engine is used and left open.
    const again = await score(parseStructure(S), { repeats: 2, batchSize: 4, engine: e });
    t.deepEqual(again.scores, direct.scores);
    t.true((await e.zenScore(encodeDescriptor(lowerForScoring(parseStructure(S))), { batchSize: 2, resolution: 8 })).scores.length === 1);
  } finally {
    e.close();
  }
});

test('score() runs a proxy of the table with its own defaults', async (t) => {
  const r = await score(S, { proxy: 'grad_norm', batchSize: 4 });
  t.is(r.proxy, 'grad_norm');
  t.true(Number.isFinite(r.mean) && r.mean > 0);
});

test('score(): a misspelt key, an unknown proxy or bad values are E_OPTION with a hint', async (t) => {
  await t.throwsAsync(score(S, { batchsize: 8 } as never), { code: 'E_OPTION', message: /^unknown score option 'batchsize' \(did you mean 'batchSize'\?\); valid: / });
  await t.throwsAsync(score(S, { repets: 8 } as never), { code: 'E_OPTION', message: /did you mean 'repeats'\?/ });
  await t.throwsAsync(score(S, { proxy: 'gradnorm' } as never), { code: 'E_OPTION', message: /^proxy must be one of zen, / });
  await t.throwsAsync(score(S, { batchSize: 0 }), { code: 'E_OPTION' });
  await t.throwsAsync(score('NotABlock(1)'), { code: 'E_PARSE' });
  await t.throwsAsync(score(S, null as never), { code: 'E_OPTION', message: /score options must be an object/ });
});
