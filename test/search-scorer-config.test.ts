/** Issue #13 item 5: a search never records settings it did not score with. */
import test from 'ava';
import { runSearch, searchConfig } from '../src/search';
import { engineScorer, SearchEngine } from '../src/search/engine-scorer';

// A stand-in engine: these tests check the settings, not the scores.
const fake: SearchEngine = { zenScore: async () => ({ mean: 1, seconds: 0 }), close() {} };
const base = () => searchConfig({ space: 'I', iterations: 3, population: 4, seed: 2 });

test('a Zen-score scorer whose options differ from the config is E_OPTION naming both', async (t) => {
  const c = base();
  const ok = { batchSize: c.scoring.batchSize as number, resolution: c.resolution, repeats: 1, seed: c.seed, mode: 'paper' as const, alpha: 0.01, bnEps: 1e-5 };
  for (const [k, v, where] of [['batchSize', 8, 'scoring.batchSize'], ['resolution', 224, 'resolution'], ['mode', 'official', 'scoring.mode'], ['seed', 5, 'seed'], ['repeats', 4, 'scoring.repeats']] as const) {
    const e = await t.throwsAsync(runSearch(c, { scorer: engineScorer(fake, { ...ok, [k]: v }) }));
    t.is((e as { code?: string }).code, 'E_OPTION');
    t.true(e!.message.startsWith(`scorer scores with ${k} ${JSON.stringify(v)} but the config says ${where} `), e!.message);
  }
  // Matching options run; so does a plain function (nothing recorded, nothing to check).
  const r = await runSearch(c, { scorer: engineScorer(fake, ok) });
  t.is(r.state.counts.scored + r.state.counts.rejected.params + r.state.counts.rejected.flops + r.state.counts.rejected.layers + r.state.counts.invalid > 0, true);
  await t.notThrowsAsync(runSearch(c, { scorer: async () => 1 }));
  const proxy = await t.throwsAsync(runSearch(searchConfig({ space: 'I', iterations: 3, population: 4, proxy: 'grad_norm' } as never), { scorer: engineScorer(fake, ok) }));
  t.regex(proxy!.message, /scorer is a Zen-score scorer but scoring\.proxy is 'grad_norm'/);
});

test('an initial structure over the latency budget is refused before any file is written (issue #13 item 9)', async (t) => {
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-lat0-')), 'run');
  const c = searchConfig({ space: 'I', iterations: 5, population: 4, proxy: 'flops', budgets: { latencyMs: 5 } } as never);
  let calls = 0;
  const e = await t.throwsAsync(runSearch(c, { latency: async () => { calls++; return 19.7; }, outDir: out }));
  t.is((e as { code?: string }).code, 'E_OPTION');
  t.regex(e!.message, /^the initial structure breaks the latency budget: it takes 19\.7 ms against budgets\.latencyMs 5 ms \(/);
  t.is(calls, 1, 'measured once, before the loop');
  t.false(fs.existsSync(out), 'nothing written');
  // Exactly at the budget fits; the initial latency reaches summary.json.
  const ok = await runSearch(c, { latency: async () => 5, outDir: out });
  t.true(ok.complete);
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
  t.is(summary.initialCost.latencyMs, 5);
});
