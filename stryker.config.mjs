// npm run mutate: StrykerJS mutation testing of a focused TypeScript subset with the fast tests
// that cover it. On demand, not in CI (≈ 10–15 min on 2 cores); reports in build/mutation/.
// Each mutant runs the command below in a sandbox copy of the tree; scripts/mutation-tests.ts runs
// the ava files in one process through the device kit's ava stand-in (one Node start per mutant).
// The native addon must be built (build/Release/zennas.node is copied into the sandbox).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'command',
  commandRunner: {
    command: 'node --import=tsx scripts/mutation-tests.ts test/fuzz/mutants.test.ts test/units.test.ts test/grammar.test.ts test/op-schema.test.ts',
  },
  mutate: ['src/grammar/**/*.ts', 'src/ops/**/*.ts', 'src/engine/options.ts', 'src/util/stats.ts', 'src/util/units.ts'],
  coverageAnalysis: 'off',
  concurrency: 2,
  timeoutMS: 5000, // on top of 1.5 × the ≈ 2 s run: a mutant that loops is cut off early
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'build/mutation/mutation.html' },
  jsonReporter: { fileName: 'build/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false },
  tempDirName: 'build/.stryker-tmp',
  ignorePatterns: ['dist', 'device-kit', 'device-out', 'prebuilds', 'runs', 'out', '.venv*', 'build/CMakeFiles', 'build/mutation', '*.log'],
  disableTypeChecks: '{src,test,scripts,benchmarks}/**/*.ts',
  // TypeScript 7 (tsgo) has no JS API for Stryker's tsconfig rewriting; tsconfig.json has no
  // extends/references to rewrite, so point Stryker at no tsconfig (tsx runs the tests).
  tsconfigFile: 'stryker-has-no-tsconfig.json',
};
