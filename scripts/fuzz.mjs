#!/usr/bin/env node
/**
 * npm run fuzz [-- --seed N] [-- --runs R] [-- FILE…]: the long mode of the standing fuzz suites.
 * Runs every test/fuzz-*.test.ts that takes its seed and size from test/fuzz/config.ts (or the
 * files given) with a random seed (or --seed / ZENNAS_FUZZ_SEED) and R % of the CI run counts
 * (--runs / ZENNAS_FUZZ_RUNS, default 2000 = 20× CI: minutes). Prints the seed first and, on a
 * failure, the command that reruns exactly that run.
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..');
const args = process.argv.slice(2);
let seed = process.env.ZENNAS_FUZZ_SEED, runs = process.env.ZENNAS_FUZZ_RUNS;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--seed') seed = args[++i];
  else if (args[i] === '--runs') runs = args[++i];
  else if (args[i] === '--help' || args[i] === '-h') {
    console.log('usage: npm run fuzz [-- --seed N] [-- --runs PERCENT_OF_CI] [-- test/fuzz-….test.ts …]');
    process.exit(0);
  } else files.push(args[i]);
}
if (seed === undefined || seed === '') seed = String(randomInt(0, 2 ** 31));
if (!/^-?\d+$/.test(seed)) { console.error(`zennas fuzz: --seed must be an integer, got '${seed}'`); process.exit(2); }
if (runs === undefined || runs === '') runs = '2000';
if (!(Number(runs) > 0)) { console.error(`zennas fuzz: --runs must be a positive number (percent of the CI run counts), got '${runs}'`); process.exit(2); }
if (files.length === 0) {
  for (const f of fs.readdirSync(path.join(root, 'test')).sort()) {
    if (/^fuzz-.*\.test\.ts$/.test(f) && fs.readFileSync(path.join(root, 'test', f), 'utf8').includes("from './fuzz/config'")) files.push(path.join('test', f));
  }
}
const rerun = `ZENNAS_FUZZ_SEED=${seed} ZENNAS_FUZZ_RUNS=${runs} npm run fuzz${args.some((a) => !a.startsWith('--') && files.includes(a)) ? ` -- ${files.join(' ')}` : ''}`;
console.log(`zennas fuzz: seed ${seed}, ${runs} % of the CI runs, ${files.join(' ')}\n  (rerun: ${rerun})`);
const t0 = Date.now();
const r = spawnSync('npx', ['ava', '--timeout=120m', '--concurrency=1', ...files], {
  cwd: root, stdio: 'inherit', env: { ...process.env, ZENNAS_FUZZ_SEED: seed, ZENNAS_FUZZ_RUNS: runs },
});
const took = ((Date.now() - t0) / 1000).toFixed(0);
if (r.status === 0) {
  console.log(`zennas fuzz: passed with seed ${seed} (${took} s)`);
} else {
  console.error(`zennas fuzz: FAILED with seed ${seed} after ${took} s — rerun exactly this run with:\n  ${rerun}`);
  process.exit(r.status ?? 1);
}
