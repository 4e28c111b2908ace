/**
 * The test command of `npm run mutate` (stryker.config.json, Stryker's command runner): runs the
 * given ava test files in this one process through the ava stand-in of the device kit
 * (benchmarks/device/mini-ava.ts), so that each mutant costs one Node start instead of ava's
 * worker machinery (≈ 4× faster). Exit status 1 at the first failing test (the mutant is killed).
 *
 *   node --import=tsx scripts/mutation-tests.ts test/grammar.test.ts …
 */
import Module from 'module';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const stand = path.join(root, 'benchmarks', 'device', 'mini-ava.ts');
type Resolve = (request: string, ...rest: unknown[]) => string;
const M = Module as unknown as { _resolveFilename: Resolve };
const resolve = M._resolveFilename;
M._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
  return resolve.call(this, request === 'ava' ? stand : request, ...rest);
};

async function main(): Promise<number> {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error('usage: node --import=tsx scripts/mutation-tests.ts TEST_FILE…');
  for (const f of files) require(path.resolve(root, f));
  const { runRegistered } = require(stand) as typeof import('../benchmarks/device/mini-ava');
  const quiet = process.env.ZENNAS_MUTATION_VERBOSE !== '1';
  // The first failure settles it: the mutant is killed, the remaining tests need not run.
  const out = await runRegistered({
    timeoutMs: 60_000,
    write: (l) => {
      if (!quiet || /✘|passed, /.test(l)) process.stdout.write(l + '\n');
      if (l.startsWith('  ✘')) process.exit(1);
    },
  });
  return out.some((o) => o.status === 'failed') ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => { process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`); process.exit(2); });
