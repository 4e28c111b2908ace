/**
 * Writes candidates.json: 40 candidates of a quick-start search, evenly spaced over its scored
 * candidates (so early small nets and late grown ones are both in), from its candidates.jsonl.
 *
 *   ZENNAS_CONV=direct zennas search --preset cifar -s 0 -o /tmp/sw-run     # default settings
 *   npx tsx benchmarks/search-workload/make-candidates.ts /tmp/sw-run/candidates.jsonl [40]
 */
import * as fs from 'fs';
import * as path from 'path';

const [file, countArg] = process.argv.slice(2);
if (!file) throw new Error('usage: make-candidates.ts CANDIDATES.jsonl [count]');
const count = Number(countArg ?? 40);
const rows = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { iteration: number; structure: string; params: number; flops: number; score?: number });
const scored = rows.filter((r) => typeof r.score === 'number');
if (scored.length < count) throw new Error(`${file} holds ${scored.length} scored candidates, fewer than ${count}`);
const step = scored.length / count;
const picked = Array.from({ length: count }, (_, i) => scored[Math.floor(i * step + step / 2)]!);
const out = {
  settings: {
    command: 'ZENNAS_CONV=direct zennas search --preset cifar -s 0 (defaults: Space I, population 512, 2000 iterations, batch 64, 32², repeats 1, 1M params, 18 layers)',
    picked: `${count} of ${scored.length} scored candidates, evenly spaced (the middle one of each of ${count} equal runs)`,
  },
  candidates: picked.map((r) => ({ iteration: r.iteration, structure: r.structure, params: r.params, flops: r.flops })),
};
fs.writeFileSync(path.join(__dirname, 'candidates.json'), JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${count} candidates (iterations ${picked[0]!.iteration} … ${picked[picked.length - 1]!.iteration})`);
