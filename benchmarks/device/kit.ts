/**
 * Entry of the device kit's one-file bundle (benchmarks/device/pack → device-kit/kit.js), run by
 * benchmarks/device/run with the kit's own Node binary, one stage per process:
 *
 *   node kit.js info                    the bundle loads, the kit's files are there, which addons load, backends(),
 *                                       and whether the kit is stale (packed from other sources than $KIT_REPO)
 *   node kit.js stubs KIT               writes KIT/src/…js stubs and an empty KIT/node_modules/tsx (REPO_MODULES)
 *   node kit.js hash REPO               sha256 of the sources the kit is made of (pack records it in MANIFEST.json)
 *   node kit.js test                    test/cuda.test.ts under the bundled ava stand-in (mini-ava.ts)
 *   node kit.js bench zen-score-gpu     benchmarks/zen-score-gpu/bench.ts (zennas CUDA vs PyTorch CUDA)
 *   node kit.js bench latency-gpu       benchmarks/latency-gpu/bench.ts   (PRECISION=fp16|fp32)
 *   node kit.js candidates              candidates/s of a Space I CIFAR search, several in flight (candidates.ts)
 *   node kit.js report WORK OUT         merges the stages into OUT/device-kit.json; prints the summary table
 *   dist/src/cli/zennas-bin.js …        the zennas CLI (a stub that calls runCli(); the tests spawn it)
 *
 * A stage writes its outcome to $KIT_STAGE_JSON ({status: ok|fail|skip, message, …}); run adds
 * the time, the limit and the exit code. KIT_DRY_RUN=1: no GPU is expected, so what needs one
 * is reported as skipped (with the reason) instead of failed.
 *
 * The bundle keeps the repository's layout under the kit folder (package.json named "zennas",
 * build/Release/*.node, benchmarks/…/*.py, test/fixtures/zennets), so src/engine/native.ts and
 * the benchmarks find their files as they do in a checkout; `__dirname` of every bundled file is
 * rewritten to its folder inside the kit (bundle.mjs). Unbundled (tsx) the kit root is the repo.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { writeReport } from './report';
import { runRegistered } from './mini-ava';
import { runCandidates } from './candidates';
import * as engineModule from '../../src/engine/engine';
import * as parseModule from '../../src/grammar/parse';
import * as lowerModule from '../../src/model/lower';
import * as descriptorModule from '../../src/ops/descriptor';

/**
 * Repository modules that child processes of the tests load by path (test/cuda.test.ts runs
 * `node --import=tsx -e "require('<repo>/src/engine/engine')…"`). `node kit.js stubs KIT` writes
 * KIT/<name>.js for each, re-exporting the bundle's copy, and an empty KIT/node_modules/tsx (the
 * kit's code is bundled JavaScript: nothing to transpile), so that such a child runs in the kit
 * too (run starts the stages in the kit folder, where `--import=tsx` resolves).
 */
// 'src/index' is the part of the public API a GPU child process uses (parse, lower, encode, Engine):
// the whole index would pull the Redis client (src/distributed) and its optional requires into the bundle.
const libraryModule = { ...parseModule, ...lowerModule, ...descriptorModule, ...engineModule };
export const REPO_MODULES: Record<string, unknown> = { 'src/engine/engine': engineModule, 'src/index': libraryModule };

function writeStubs(kit: string): void {
  for (const name of Object.keys(REPO_MODULES)) {
    const file = path.join(kit, `${name}.js`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const up = path.relative(path.dirname(file), path.join(kit, 'kit.js')).split(path.sep).join('/');
    fs.writeFileSync(file, `// ${name} inside the device kit: the bundle's copy (benchmarks/device/kit.ts REPO_MODULES).\n` +
      `globalThis.__ZENNAS_KIT_STUB = true;\nmodule.exports = require('./${up}').REPO_MODULES[${JSON.stringify(name)}];\n`);
  }
  const tsx = path.join(kit, 'node_modules/tsx');
  fs.mkdirSync(tsx, { recursive: true });
  fs.writeFileSync(path.join(tsx, 'package.json'), JSON.stringify({ name: 'tsx', version: '0.0.0-device-kit', type: 'module', exports: { '.': './index.mjs' } }, null, 1) + '\n');
  fs.writeFileSync(path.join(tsx, 'index.mjs'), '// `--import=tsx` inside the device kit: its code is bundled JavaScript, so there is nothing to register.\n');
}

/** A child process as the tests start one (`node --import=tsx -e`, a repository module by path), run in the kit. */
function childCheck(): string | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const script = `const { backends } = require(${JSON.stringify(path.join(KIT_ROOT, 'src/engine/engine'))}); console.log(JSON.stringify(backends()));`;
  const r = spawnSync(process.execPath, ['--import=tsx', '-e', script], { encoding: 'utf8', timeout: 60_000, cwd: KIT_ROOT });
  if (r.status === 0 && /"cpu":true/.test(r.stdout)) return undefined;
  return `a child process (node --import=tsx -e "require('<kit>/src/engine/engine')") failed: ${(r.error?.message ?? r.stderr.trim().split('\n').slice(-3).join(' ')) || `exit ${r.status}`}`;
}

declare const __ZENNAS_KIT_ROOT: string | undefined;

/** The kit folder (bundled), or the repository root (run from source with tsx). */
export const KIT_ROOT: string = typeof __ZENNAS_KIT_ROOT === 'string' ? __ZENNAS_KIT_ROOT : path.resolve(__dirname, '../..');

const dryRun = process.env.KIT_DRY_RUN === '1';

/** Files each stage reads from the kit (relative to KIT_ROOT). */
export const STAGE_FILES: Record<string, string[]> = {
  'zen-score-gpu': [
    'benchmarks/zen-score-gpu/bench_torch.py', 'benchmarks/zen-score-gpu/torch_net.py',
    ...['05M', '1M', '2M'].map((m) => `test/fixtures/zennets/zennet_cifar_model_size${m}_res32.txt`),
  ],
  'latency-gpu': [
    'benchmarks/latency-gpu/bench_torch.py', 'benchmarks/zen-score-gpu/torch_net.py',
    ...['01', '02', '03', '05', '08', '12'].map((m) => `test/fixtures/zennets/zennet_imagenet1k_latency${m}ms_res224.txt`),
  ],
  test: ['dist/src/cli/zennas-bin.js'],
  info: ['package.json', 'kit.js'],
};

/** What the kit is built from, for the staleness check: pack hashes the repository, `info` the working tree it runs in. */
const HASHED_DIRS = ['native', 'src', 'test/helpers', 'benchmarks/zen-score-gpu', 'benchmarks/latency-gpu', 'benchmarks/device'];
const HASHED_FILES = ['CMakeLists.txt', 'test/cuda.test.ts'];
const HASHED_EXT = /\.(ts|mjs|cc|h|cu|cuh|inl|txt|cmake|py)$/;

/** sha256 over the names and contents of the sources the kit is made of (as found under `repo`). */
export function sourcesHash(repo: string): { sha256: string; files: number } {
  const walk = (d: string): string[] => (fs.existsSync(path.join(repo, d))
    ? fs.readdirSync(path.join(repo, d), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${d}/${e.name}`) : HASHED_EXT.test(e.name) ? [`${d}/${e.name}`] : []))
    : []);
  const files = [...HASHED_DIRS.flatMap(walk), ...HASHED_FILES.filter((f) => fs.existsSync(path.join(repo, f)))].sort();
  const h = crypto.createHash('sha256');
  for (const f of files) h.update(f + '\0').update(fs.readFileSync(path.join(repo, f))).update('\0');
  return { sha256: h.digest('hex'), files: files.length };
}

interface StageOutcome { status: 'ok' | 'fail' | 'skip'; message: string; [k: string]: unknown }

let written = false;
function writeStage(o: StageOutcome): void {
  written = true;
  const file = process.env.KIT_STAGE_JSON;
  if (file) fs.writeFileSync(file, JSON.stringify(o, null, 1));
}

const errText = (e: unknown) => `${(e as { code?: string })?.code ? `[${(e as { code?: string }).code}] ` : ''}${(e as Error)?.message ?? String(e)}`;

function missingFiles(stage: string): string[] {
  return (STAGE_FILES[stage] ?? []).filter((f) => !fs.existsSync(path.join(KIT_ROOT, f)));
}

/** backends() plus the CUDA addon's own status (device, compute capability, cuDNN), never throwing. */
function engineInfo(): { cpu?: boolean; cuda: boolean; cudaReason?: string; device?: string; computeCapability?: string; cudnnVersion?: number; cudaAddon?: string; error?: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { backends } = require('../../src/engine/engine') as typeof import('../../src/engine/engine');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { loadCudaAddon } = require('../../src/engine/native') as typeof import('../../src/engine/native');
    const b = backends();
    const { addon } = loadCudaAddon();
    const st = addon ? addon.cudaStatus() : undefined;
    return { ...b, ...(st?.device ? { device: st.device } : {}), ...(st?.computeCapability ? { computeCapability: st.computeCapability } : {}), ...(st?.cudnnVersion ? { cudnnVersion: st.cudnnVersion } : {}) };
  } catch (e) {
    return { cuda: false, error: errText(e) };
  }
}

function info(): void {
  const missing = missingFiles('info');
  const manifestFile = path.join(KIT_ROOT, 'MANIFEST.json');
  const manifest = fs.existsSync(manifestFile) ? (JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { files?: string[]; commit?: string; packedAt?: string; sources?: { sha256: string } }) : undefined;
  // The working tree this runs in (benchmarks/device/run passes it) should be what the kit was packed from.
  const repo = process.env.KIT_REPO;
  let stale = false;
  try {
    stale = !!(repo && manifest?.sources && fs.existsSync(path.join(repo, 'native')) && sourcesHash(repo).sha256 !== manifest.sources.sha256);
  } catch (e) {
    process.stdout.write(`(could not compare the kit's sources with ${repo}: ${errText(e)})\n`);
  }
  const staleNote = stale ? `; WARNING: the kit was packed from other sources than the working tree ${repo}: re-run benchmarks/device/pack` : '';
  if (stale) process.stdout.write(`WARNING: the kit is stale: its sources differ from ${repo}'s (native/, src/, the GPU test and benchmarks); re-run benchmarks/device/pack\n`);
  const absent = (manifest?.files ?? []).filter((f) => !fs.existsSync(path.join(KIT_ROOT, f)));
  const e = engineInfo();
  const cpuAddon = process.env.ZENNAS_PREBUILD ? path.join(process.env.ZENNAS_PREBUILD, 'build/Release/zennas.node') : path.join(KIT_ROOT, 'build/Release/zennas.node');
  process.stdout.write(`kit ${KIT_ROOT}${manifest ? ` (commit ${manifest.commit}, packed ${manifest.packedAt})` : ' (no MANIFEST.json: running from a checkout)'}\n`);
  process.stdout.write(`node ${process.version} at ${process.execPath}\n`);
  process.stdout.write(`CPU addon ${cpuAddon}; CUDA addon ${process.env.ZENNAS_CUDA_ADDON ?? '(kit build/Release)'}\n`);
  process.stdout.write(`backends() = ${JSON.stringify(e)}\n`);
  const child = typeof __ZENNAS_KIT_ROOT === 'string' ? childCheck() : undefined;
  const problems = [...missing.map((f) => `missing ${f}`), ...(child ? [child] : []), ...(fs.existsSync(cpuAddon) ? [] : [`no CPU addon at ${cpuAddon} (the kit was packed without one and the build stage built none)`]), ...absent.map((f) => `manifest file missing: ${f}`), ...(e.error ? [`engine: ${e.error}`] : [])];
  if (problems.length) {
    writeStage({ status: 'fail', message: problems.join('; ') + staleNote, engine: e, stale });
  } else if (!e.cuda) {
    const msg = `bundle and CPU engine load; ${manifest?.files?.length ?? 0} kit files present; no usable CUDA backend: ${e.cudaReason}${staleNote}`;
    writeStage({ status: dryRun ? 'ok' : 'fail', message: msg, engine: e, stale });
  } else {
    writeStage({ status: 'ok', message: `CUDA backend usable on ${e.device ?? 'a GPU'} (compute ${e.computeCapability ?? '?'}, cuDNN ${e.cudnnVersion ?? '?'})${staleNote}`, engine: e, stale });
  }
}

async function runTests(): Promise<void> {
  const missing = missingFiles('test');
  const files = ['test/cuda.test.ts'];
  let loadError: string | undefined;
  try {
    // One require per bundled test file (esbuild bundles each; it runs here, registering its tests).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../../test/cuda.test');
  } catch (e) {
    loadError = `test/cuda.test.ts failed to load: ${errText(e)}`;
  }
  const outcomes = loadError ? [] : await runRegistered({ timeoutMs: Number(process.env.KIT_TEST_TIMEOUT_MS ?? 240_000) });
  const n = (s: string) => outcomes.filter((o) => o.status === s).length;
  const problems = [...missing.map((f) => `missing ${f}`), ...(loadError ? [loadError] : []), ...(outcomes.length === 0 && !loadError ? ['no tests registered'] : [])];
  const summary = `${n('passed')} passed, ${n('failed')} failed, ${n('skipped') + n('todo')} skipped`;
  const gpu = process.env.ZENNAS_REQUIRE_GPU === '1' ? 'ZENNAS_REQUIRE_GPU=1' : 'GPU not required (dry run: the GPU tests skip)';
  writeStage({
    status: problems.length || n('failed') ? 'fail' : 'ok',
    message: [...problems, `${summary} (${files.join(', ')}; ${gpu})`].join('; '),
    passed: n('passed'), failed: n('failed'), skipped: n('skipped') + n('todo'), tests: outcomes,
  });
  if (problems.length) process.stderr.write(problems.join('\n') + '\n');
  process.exitCode = problems.length || n('failed') ? 1 : 0;
}

function bench(name: string): void {
  if (!(name in STAGE_FILES) || !name.endsWith('-gpu')) {
    writeStage({ status: 'fail', message: `unknown benchmark '${name}' (known: zen-score-gpu, latency-gpu)` });
    process.exitCode = 2;
    return;
  }
  const missing = missingFiles(name);
  if (missing.length) {
    writeStage({ status: 'fail', message: `kit files missing: ${missing.join(', ')}` });
    process.stderr.write(`kit files missing: ${missing.join(', ')}\n`);
    process.exitCode = 1;
    return;
  }
  const e = engineInfo();
  const t0 = Date.now();
  const finish = () => {
    if (written) return;
    const code = Number(process.exitCode ?? 0);
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (code === 0) writeStage({ status: 'ok', message: `ran in ${secs} s`, engine: e });
    else if (!e.cuda && dryRun) {
      writeStage({ status: 'skip', message: `no usable GPU (${e.cudaReason ?? e.error}); the benchmark loaded, found its ${STAGE_FILES[name]!.length} files and stopped at the CUDA engine, as expected without a GPU`, engine: e });
      process.exitCode = 0;
    } else writeStage({ status: 'fail', message: e.cuda ? `exit code ${code} (see its output)` : `no usable GPU: ${e.cudaReason ?? e.error}`, engine: e });
  };
  process.on('beforeExit', finish);
  process.on('exit', finish);
  // The benchmark runs its main() when loaded (each is bundled; nothing runs before this require).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (name === 'zen-score-gpu') require('../zen-score-gpu/bench');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  else require('../latency-gpu/bench');
}

async function candidates(): Promise<void> {
  const r = await runCandidates({ dryRun, log: (l) => process.stdout.write(l + '\n') });
  writeStage({ ...r });
  process.stdout.write(`${r.status}: ${r.message}\n`);
  process.exitCode = r.status === 'fail' ? 1 : 0;
}

/** The zennas CLI, as dist/src/cli/zennas-bin.js would run it (process.argv as given to the stub). */
export function runCli(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../../src/cli/zennas-bin');
}

export async function main(argv: string[]): Promise<void> {
  const [mode, ...rest] = argv;
  switch (mode) {
    case 'info': return info();
    case 'test': return runTests();
    case 'bench': return bench(rest[0] ?? '');
    case 'candidates': return candidates();
    case 'stubs':
      writeStubs(path.resolve(rest[0] ?? KIT_ROOT));
      return;
    case 'hash':
      process.stdout.write(JSON.stringify(sourcesHash(path.resolve(rest[0] ?? '.'))) + '\n');
      return;
    case 'report': {
      const code = writeReport(rest[0]!, rest[1]!, KIT_ROOT);
      process.exitCode = code;
      return;
    }
    default:
      process.stderr.write(`usage: node kit.js info | hash REPO | stubs KIT | test | bench zen-score-gpu|latency-gpu | candidates | report WORK OUT\n`);
      process.exitCode = 2;
  }
}

if (!(globalThis as { __ZENNAS_KIT_STUB?: boolean }).__ZENNAS_KIT_STUB) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`kit: ${errText(e)}\n${(e as Error)?.stack ?? ''}\n`);
    if (!written) writeStage({ status: 'fail', message: `kit: ${errText(e)}` });
    process.exitCode = 1;
  });
}
