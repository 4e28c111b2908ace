/**
 * Issue #13 item 4: exporting or timing the Zen-score's view of a structure (lowerForScoring: no
 * residual links, no classifier) is refused unless asked for; the network as trained goes through.
 */
import test from 'ava';
import { parseStructure } from '../src/grammar/parse';
import { lowerAsTrained, lowerForScoring } from '../src/model/lower';
import { encodeDescriptor, decodeDescriptor, isScoringView, FLAG_SCORING_VIEW } from '../src/ops/descriptor';
import { exportOnnx, decodeOnnx } from '../src/export/onnx';
import { exportInferenceOnnx } from '../src/export/inference';
import { drawWeights } from '../src/export/weights';
import { Engine } from '../src/engine/engine';

const S = parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)');
const scoring = encodeDescriptor(lowerForScoring(S));
const trained = encodeDescriptor(lowerAsTrained(S, { numClasses: 10 }));

test('the scoring view is marked in the descriptor header (word 6, bit 0), and only there', (t) => {
  t.true(isScoringView(scoring));
  t.false(isScoringView(trained));
  t.is(scoring[6], FLAG_SCORING_VIEW);
  t.is(trained[6], 0);
  t.is(decodeDescriptor(scoring).view, 'scoring');
  t.is(decodeDescriptor(trained).view, undefined);
  // Round trip keeps it; other bits of word 6 and word 7 are refused (TS decoder).
  t.deepEqual(encodeDescriptor(decodeDescriptor(scoring) as never), scoring);
  for (const [w, v] of [[6, 2], [6, 3], [7, 1]] as const) {
    const bad = scoring.slice();
    bad[w] = v;
    t.throws(() => decodeDescriptor(bad), { code: 'E_DESCRIPTOR', message: /header word 6 \(flags\) may only have bit 0 set and word 7 \(reserved\) must be 0/ });
  }
});

test('exportOnnx / exportInferenceOnnx refuse the scoring view unless scoringView: true', async (t) => {
  const weights = drawWeights(decodeDescriptor(scoring), 0);
  t.throws(() => exportOnnx(scoring, { resolution: 16, weights, bnStatistics: 'fresh' }), { code: 'E_OPTION', message: /^export: the descriptor is the Zen-score's scoring view .*use encodeDescriptor\(lowerAsTrained\(structure, \{ numClasses \}\)\)/ });
  await t.throwsAsync(exportInferenceOnnx(null, scoring, { resolution: 16, bn: 'fresh' }), { code: 'E_OPTION' });
  const on = decodeOnnx(exportOnnx(scoring, { resolution: 16, weights, bnStatistics: 'fresh', scoringView: true }));
  t.false(on.graph.node.some((n: { opType: string }) => n.opType === 'Gemm' || n.opType === 'Add'), 'the scoring view really has no head and no residual Add');
  const tr = decodeOnnx(exportOnnx(trained, { resolution: 16, weights: drawWeights(decodeDescriptor(trained), 0), bnStatistics: 'fresh' }));
  t.true(tr.graph.node.some((n: { opType: string }) => n.opType === 'Gemm'));
  t.true(tr.graph.node.some((n: { opType: string }) => n.opType === 'Add'));
});

test('engine.latency refuses the scoring view unless scoringView: true; the engine scores both views', async (t) => {
  const e = new Engine({ threads: 1 });
  try {
    await t.throwsAsync(e.latency(scoring, { batchSize: 1, resolution: 16, warmup: 0, iterations: 1 }), { code: 'E_OPTION', message: /^latency: the descriptor is the Zen-score's scoring view/ });
    const a = await e.latency(scoring, { batchSize: 1, resolution: 16, warmup: 0, iterations: 1, scoringView: true });
    t.true(a.medianMs > 0);
    const b = await e.latency(trained, { batchSize: 1, resolution: 16, warmup: 0, iterations: 1 });
    t.true(b.medianMs > 0);
    await t.throwsAsync(e.latency(trained, { batchSize: 1, resolution: 16, scoringView: 'yes' as never }), { code: 'E_OPTION', message: /scoringView must be a boolean/ });
    // The Zen-score of the flagged descriptor equals that of the same graph without the flag (the engine ignores the view).
    const unflagged = scoring.slice();
    unflagged[6] = 0;
    const [x, y] = await Promise.all([e.zenScore(scoring, { batchSize: 4, resolution: 16 }), e.zenScore(unflagged, { batchSize: 4, resolution: 16 })]);
    t.is(x.mean, y.mean);
  } finally {
    e.close();
  }
});

test('the native validator accepts the flag and refuses other bits of word 6 and any word 7', async (t) => {
  const e = new Engine({ threads: 1 });
  try {
    for (const [w, v] of [[6, 2], [6, -1], [7, 1]] as const) {
      const bad = scoring.slice();
      bad[w] = v;
      await t.throwsAsync(e.zenScore(bad, { batchSize: 2, resolution: 8 }), { code: 'E_DESCRIPTOR', message: /header word 6 \(flags\) may only have bit 0 set and word 7 \(reserved\) must be 0/ });
    }
  } finally {
    e.close();
  }
});
