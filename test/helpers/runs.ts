/** Shared pieces of the search-run tests: a small config, a deterministic scorer, killed runs, directory snapshots. */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Structure } from '../../src/grammar/ast';
import { formatStructure } from '../../src/grammar/format';
import { countModel } from '../../src/model/count';
import { getPreset, spaceI } from '../../src/spaces';
import { runSearch, SearchConfig, Scorer } from '../../src/search/evolution';

export const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `zennas-${name}-`));

/** Space I, CIFAR preset, small budgets: 60 iterations run in well under a second. */
export function smallConfig(over: Partial<SearchConfig> = {}): SearchConfig {
  const p = getPreset(spaceI);
  return {
    space: 'I', preset: 'cifar', initial: p.initial, resolution: 32, numClasses: 100, se: false,
    budgets: { params: 300e3, layers: 12 }, population: 24, iterations: 60, seed: 3, inFlight: 3, rho: 'paper', scoring: { toy: 1 },
    ...over,
  };
}

const hashScore = (text: string) => {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
};
/** Deterministic stand-in for the Zen-score. */
export const toyZen: Scorer<Structure> = async (s) => ({ score: Math.log(countModel(s, { resolution: 32 }).flops) + 0.3 * hashScore(formatStructure(s)), seconds: 0 });

export class Kill extends Error {}

/** A run of `cfg` in `dir` killed after the batch that reaches iteration `at` (checkpoints every 10 iterations). */
export async function killedRun(dir: string, cfg: SearchConfig, at: number): Promise<void> {
  try {
    await runSearch(cfg, { scorer: toyZen, outDir: dir, checkpointEveryIterations: 10, afterBatchWritten: (it) => { if (it >= at) throw new Kill(); } });
  } catch (e) {
    if (!(e instanceof Kill)) throw e;
    return;
  }
  throw new Error('the run was not killed');
}

/** Every entry of `dir`: kind and, for regular files, content (to prove nothing was touched). */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, f);
    const st = fs.lstatSync(p);
    out[f] = st.isFile() ? `${st.size} bytes, sha256 ${st.size > 2 ** 26 ? 'not read' : crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`
      : st.isSymbolicLink() ? `link → ${fs.readlinkSync(p)}` : `kind ${st.mode & 0o170000}`;
  }
  return out;
}
