/**
 * Standing fuzz suite, checkpoints (fixed seeds): a damaged or edited checkpoint.json (or
 * candidates.jsonl) is refused with E_CHECKPOINT naming the field, before any file is touched;
 * a resume either is refused that way or continues into exactly the uninterrupted run.
 */
import test from 'ava';
import fc from 'fast-check';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { runSearch } from '../src/search/evolution';
import { checkpointDigest } from '../src/search/checkpoint';
import { countModel } from '../src/model/count';
import { parseStructure } from '../src/grammar/parse';
import { killedRun, smallConfig, snapshot, tmp, toyZen } from './helpers/runs';
import { zennas } from './helpers/cli';

const SEED = 7_2024;
const cfg = smallConfig();
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

let base = '';
let refJsonl = '';
test.before(async () => {
  const ref = tmp('cp-ref');
  await runSearch(cfg, { scorer: toyZen, outDir: ref, checkpointEveryIterations: 10 });
  refJsonl = fs.readFileSync(path.join(ref, 'candidates.jsonl'), 'utf8');
  base = path.join(tmp('cp-base'), 'run');
  await killedRun(base, cfg, 30);
  // The killed run has candidates after its checkpoint: a resume would cut them.
  const cp = JSON.parse(fs.readFileSync(path.join(base, 'checkpoint.json'), 'utf8'));
  if (fs.statSync(path.join(base, 'candidates.jsonl')).size <= cp.candidates.bytes) throw new Error('setup: nothing after the checkpoint');
});

/** A copy of the killed run whose checkpoint `edit` changed (re-signed when `resign`: only the field checks can catch it). */
function variant(edit: (cp: Json) => void, resign = false): string {
  const dir = path.join(tmp('cp-case'), 'run');
  fs.cpSync(base, dir, { recursive: true });
  const file = path.join(dir, 'checkpoint.json');
  const cp = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(cp);
  if (resign && cp && typeof cp === 'object') cp.digest = checkpointDigest(cp.config, cp.state, cp.candidates);
  fs.writeFileSync(file, JSON.stringify(cp));
  return dir;
}

const member = (cp: Json) => cp.state.population[0];
const ATTACK = 'SuperConvK3BNRELU(3,8,1,1)' + 'SuperResK3K3(8,8,1,8,256)'.repeat(4000);
const BIG = 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperResK3K3(16,32,2,16,1)SuperResK3K3(32,64,2,32,1)SuperResK3K3(64,512,2,512,1)SuperConvK1BNRELU(512,128,1,1)';

/** [name, edit, re-sign, what the message must say] — the attacks first. */
const CASES: Array<[string, (cp: Json) => void, boolean, RegExp]> = [
  ['prng strings', (cp) => { cp.state.prng = cp.state.prng.map(String); }, false, /state\.prng\[0\] must be an integer in 0\.\.4294967295, got '\d+'/],
  ['prng nulls', (cp) => { cp.state.prng = [null, null, null, null]; }, false, /state\.prng\[0\] must be an integer .*, got null/],
  ['prng words edited (valid uint32)', (cp) => { cp.state.prng[0] = (cp.state.prng[0] + 1) >>> 0; }, false, /does not match its digest: the file was edited/],
  ['iteration −5', (cp) => { cp.state.iteration = -5; }, false, /state\.iteration must be an integer in 0\.\.60, got -5/],
  ['iteration 10.5', (cp) => { cp.state.iteration = 10.5; }, false, /state\.iteration must be an integer in 0\.\.60, got 10\.5/],
  ['iteration 1e9', (cp) => { cp.state.iteration = 1e9; }, false, /state\.iteration must be an integer in 0\.\.60, got 1000000000/],
  ['iteration moved, counts not', (cp) => { cp.state.iteration -= 3; }, true, /state\.counts\.proposed is \d+ but state\.iteration is \d+/],
  ['population above its limit', (cp) => { const m = member(cp); cp.state.population = Array.from({ length: 25 }, (_, i) => ({ ...m, iteration: i + 1 })); }, true, /state\.population must be an array of at most 24 items, got an array of 25/],
  ['200,000 members', (cp) => { const m = member(cp); cp.state.population = Array.from({ length: 200_000 }, () => m); }, true, /state\.population must be an array of at most 24 items, got an array of 200000/],
  ['a member replaced by an absurd structure', (cp) => { member(cp).structure = ATTACK; }, true, /state\.population\[0\] \(iteration \d+\) is not a member this search could hold: structure too large/],
  ['a member that breaks the budgets', (cp) => {
    const c = countModel(parseStructure(BIG), { resolution: 32, numClasses: 100 });
    Object.assign(member(cp), { structure: BIG, params: c.params, flops: c.flops, layers: c.layers });
  }, true, /state\.population\[0\] .* breaks the params budget/],
  ['a member whose counts were edited', (cp) => { member(cp).params += 1; }, true, /state\.population\[0\] .* records params \d+, but its structure has \d+/],
  ['a member with an unparsable structure', (cp) => { member(cp).structure = 'SuperResK3K3(8,'; }, true, /state\.population\[0\] .* not a member this search could hold: .*never closed/],
  ['candidates.lines unchecked', (cp) => { cp.candidates.lines += 1; }, true, /candidates\.lines is \d+ but state\.counts\.scored is \d+/],
  ['candidates.lines forged consistently', (cp) => {
    const k = cp.state.counts;
    const r = (['params', 'flops', 'layers'] as const).find((x) => k.rejected[x] > 0)!;
    k.rejected[r]--; k.scored++; cp.candidates.lines++;
  }, true, /the \d+ bytes it covers hold \d+ complete lines/],
  ['{bytes: 0, sha256: <empty>}', (cp) => { cp.candidates.bytes = 0; cp.candidates.sha256 = crypto.createHash('sha256').digest('hex'); }, true, /candidates\.bytes \(0\) and candidates\.lines \(\d+\) disagree/],
  ['{bytes: 0, lines: 0, sha256: <empty>}', (cp) => { Object.assign(cp.candidates, { bytes: 0, lines: 0, sha256: crypto.createHash('sha256').digest('hex') }); }, true, /candidates\.lines is 0 but state\.counts\.scored is \d+/],
  ['sha256 not hex', (cp) => { cp.candidates.sha256 = 'zz'; }, false, /candidates\.sha256 must be a SHA-256 digest \(64 hex digits\), got 'zz'/],
  ['config.budgets null', (cp) => { cp.config.budgets = null; }, false, /config\.budgets must be an object, got null/],
  ['state.counts {}', (cp) => { cp.state.counts = {}; }, false, /state\.counts\.proposed must be an integer/],
  ['an unknown field', (cp) => { cp.state.extra = 1; }, false, /state\.extra must be absent \(not a known field\)/],
  ['best below a member', (cp) => { cp.state.best.score = -1e9; }, true, /state\.best\.score -1000000000 is below a population member's score/],
  ['best null with scored members', (cp) => { cp.state.best = null; }, true, /state\.best is null but the population has scored members/],
  ['population out of order', (cp) => { cp.state.population.reverse(); }, true, /is not after the member before it .*iteration order/],
  ['negative wall time', (cp) => { cp.state.timing.wallSeconds = -1; }, false, /state\.timing\.wallSeconds must be a finite number ≥ 0, got -1/],
  ['a latency without a latency budget', (cp) => { member(cp).latencyMs = 3; }, true, /has a latency but the search has no latency budget/],
  ['version 2', (cp) => { cp.version = 2; }, false, /version 2; this zennas reads version 1/],
  ['writtenAt missing', (cp) => { delete cp.writtenAt; }, false, /writtenAt must be a string of at most 64 characters, got nothing/],
  ['digest missing', (cp) => { delete cp.digest; }, false, /digest must be a SHA-256 digest/],
  ['not an object', (cp) => { cp.format = 'x'; }, false, /is not a zennas search checkpoint/],
];

for (const [name, edit, resign, re] of CASES) {
  test(`checkpoint attack refused, nothing touched: ${name}`, async (t) => {
    const dir = variant(edit, resign);
    const before = snapshot(dir);
    const e = await t.throwsAsync(runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true }));
    t.is((e as { code?: string }).code, 'E_CHECKPOINT', e!.message);
    t.regex(e!.message, re);
    t.deepEqual(snapshot(dir), before, 'no file was modified, no lock left behind');
  });
}

test('CLI --resume: a damaged config or counts are E_CHECKPOINT naming the field (no TypeError), nothing touched', (t) => {
  for (const [edit, re] of [
    [(cp: Json) => { cp.config.budgets = null; }, /E_CHECKPOINT.*config\.budgets must be an object, got null/],
    [(cp: Json) => { cp.state.counts = {}; }, /E_CHECKPOINT.*state\.counts\.proposed must be an integer/],
    [(cp: Json) => { cp.config.scoring = []; }, /E_CHECKPOINT.*config\.scoring must be an object/],
  ] as const) {
    const dir = variant(edit);
    const before = snapshot(dir);
    const r = zennas('search', '--out', dir, '--resume');
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, re);
    t.notRegex(r.stderr, /TypeError|at Object\./);
    t.deepEqual(snapshot(dir), before);
  }
});

/** Every node of a JSON value with its path (for random edits). */
function nodes(v: Json, p: Array<string | number> = []): Array<Array<string | number>> {
  const out = [p];
  if (v && typeof v === 'object') for (const k of Object.keys(v)) out.push(...nodes(v[k], [...p, Array.isArray(v) ? Number(k) : k]));
  return out;
}
const REPLACEMENTS: Json[] = [null, -1, 0, 0.5, 1, 1e9, 2 ** 53, -0, '', '0', 'x', [], {}, true, false, [0, 0, 0, 0]];

test('random edits of checkpoint.json: refused untouched, or the resumed run is the uninterrupted one', async (t) => {
  const cp0 = JSON.parse(fs.readFileSync(path.join(base, 'checkpoint.json'), 'utf8'));
  const all = nodes(cp0).filter((p) => p.length > 0);
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(all.length - 1), fc.oneof(fc.constantFrom(...REPLACEMENTS), fc.integer(), fc.double(), fc.string()), fc.constantFrom('set', 'delete')), { minLength: 1, maxLength: 3 }),
      fc.boolean(),
      async (edits, resign) => {
        const dir = variant((cp) => {
          for (const [i, value, op] of edits) {
            const p = all[i]!;
            let o = cp;
            for (const k of p.slice(0, -1)) { if (o === null || typeof o !== 'object') return; o = o[k]; }
            if (o === null || typeof o !== 'object') continue;
            if (op === 'delete') delete o[p[p.length - 1]!]; else o[p[p.length - 1]!] = value;
          }
        }, resign);
        const before = snapshot(dir);
        try {
          await runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true });
        } catch (e) {
          t.is((e as { code?: string }).code, 'E_CHECKPOINT', (e as Error).message);
          t.deepEqual(snapshot(dir), before);
          refused++;
          return;
        }
        t.is(fs.readFileSync(path.join(dir, 'candidates.jsonl'), 'utf8'), refJsonl, `edits ${JSON.stringify(edits.map(([i, v, op]) => [all[i], v, op]))} were accepted but changed the run`);
      },
    ),
    { seed: SEED, numRuns: 120 },
  );
  t.true(refused > 100, `${refused} refused`);
});

test('random byte flips in candidates.jsonl: inside the checkpointed part refused untouched, after it recomputed', async (t) => {
  const cp = JSON.parse(fs.readFileSync(path.join(base, 'checkpoint.json'), 'utf8'));
  const size = fs.statSync(path.join(base, 'candidates.jsonl')).size;
  await fc.assert(
    fc.asyncProperty(fc.nat(size - 1), fc.integer({ min: 1, max: 255 }), async (pos, x) => {
      const dir = path.join(tmp('jl-case'), 'run');
      fs.cpSync(base, dir, { recursive: true });
      const jl = path.join(dir, 'candidates.jsonl');
      const buf = fs.readFileSync(jl);
      buf[pos] ^= x;
      fs.writeFileSync(jl, buf);
      const before = snapshot(dir);
      if (pos < cp.candidates.bytes) {
        const e = await t.throwsAsync(runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true }));
        t.is((e as { code?: string }).code, 'E_CHECKPOINT');
        t.regex(e!.message, /does not match the checkpoint/);
        t.deepEqual(snapshot(dir), before);
      } else {
        await runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true });
        t.is(fs.readFileSync(jl, 'utf8'), refJsonl);
      }
    }),
    { seed: SEED, numRuns: 40 },
  );
});
