import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { builtinModules } from 'module';
import { spawnSync } from 'child_process';
import miniAva, { runRegistered } from '../benchmarks/device/mini-ava';

// The device kit (benchmarks/device/): `pack` builds it, `run --dry-run` runs it here with the
// kit's own Node binary and bundle, outside the repository (no node_modules to fall back on), so
// the kit cannot rot unseen between the rare runs on a GPU machine. The kit folder is a fixed
// temp path so that a second run rebuilds the addons incrementally.

const ROOT = path.resolve(__dirname, '..');
const BASE = path.join(os.tmpdir(), `zennas-device-kit-test-${process.getuid?.() ?? 0}`);
const KIT = path.join(BASE, 'kit');

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync('bash', [path.join(ROOT, cmd), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000, env: { ...process.env, OUT: '', ...env } });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

type Stage = { name: string; status: string; message: string; seconds: number | null; limit: number | null; result?: Record<string, unknown> };
type Report = { schema: string; mode: string; ok: boolean; gpuMeasured: boolean; kit: { bytes: number; files: string[]; node: { version: string } }; stages: Stage[] };

const STAGES = ['node', 'probe', 'build', 'load', 'test', 'zen-score-gpu', 'latency-gpu', 'candidates', 'latency-gpu-fp32'];

test.serial('pack builds a self-contained kit of at most 60 MiB whose bundle needs no node_modules', (t) => {
  fs.mkdirSync(BASE, { recursive: true });
  const r = sh('benchmarks/device/pack', ['--kit', KIT]);
  t.is(r.code, 0, r.stdout + r.stderr);
  const m = JSON.parse(fs.readFileSync(path.join(KIT, 'MANIFEST.json'), 'utf8')) as Report['kit'];
  t.true(m.bytes <= 60 * 1048576, `kit is ${(m.bytes / 1048576).toFixed(1)} MiB`);
  t.is(m.node.version, process.version);
  // The CPU addon npm ci built (absent only while a rebuild is under way: the kit's build stage then builds it).
  if (fs.existsSync(path.join(ROOT, 'build/Release/zennas.node'))) t.true(m.files.includes('build/Release/zennas.node'));
  for (const f of ['kit.js', 'package.json', 'node/node.xz', 'node/node.sha256', 'node/include/node/node_api.h',
    'dist/src/cli/zennas-bin.js', 'native-src/CMakeLists.txt', 'native-src/native/cuda/cuda.cmake', 'native-src/node_modules/node-addon-api/napi.h',
    'benchmarks/zen-score-gpu/bench_torch.py', 'benchmarks/zen-score-gpu/torch_net.py', 'benchmarks/latency-gpu/bench_torch.py',
    'test/fixtures/zennets/zennet_cifar_model_size1M_res32.txt']) {
    t.true(m.files.includes(f), `kit file ${f}`);
  }
  // Every module the bundle requires by name is one of Node's own.
  const bundle = fs.readFileSync(path.join(KIT, 'kit.js'), 'utf8');
  const bare = [...bundle.matchAll(/\brequire\("([^"./][^"]*)"\)/g)].map((x) => x[1]!.replace(/^node:/, ''));
  const foreign = [...new Set(bare)].filter((n) => !builtinModules.includes(n));
  t.deepEqual(foreign, [], `bundle requires ${foreign.join(', ')}`);
  t.regex(r.stdout, /pack: kit .*: [\d.]+ MiB in \d+ files/);
});

test.serial('run --dry-run: the kit runs with its own node, skips the GPU parts with reasons, writes its JSON and log, prints the summary last', (t) => {
  const out = path.join(BASE, 'out');
  fs.rmSync(out, { recursive: true, force: true });
  const r = sh('benchmarks/device/run', ['--dry-run', '--kit', KIT, '--out', out], { KIT_CANDIDATES: '8', KIT_CPU_IN_FLIGHT: '2', KIT_CUDA_ARCHS: '90' });
  t.is(r.code, 0, r.stdout.slice(-6000) + r.stderr);
  t.deepEqual(fs.readdirSync(out).sort(), ['device-kit.json', 'device-kit.log']);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'device-kit.json'), 'utf8')) as Report;
  t.is(rep.schema, 'zennas-device-kit/1');
  t.is(rep.mode, 'dry-run');
  t.true(rep.ok);
  t.false(rep.gpuMeasured);
  t.deepEqual(rep.stages.map((s) => s.name), STAGES);
  const st = Object.fromEntries(rep.stages.map((s) => [s.name, s]));
  for (const s of ['node', 'probe', 'load', 'test']) t.is(st[s]!.status, 'ok', `${s}: ${st[s]!.message}`);
  t.regex(st.node!.message, new RegExp(`^${process.version.replace(/\./g, '\\.')} \\(the kit's`));
  // The build stage rebuilds the addon(s) from the kit's sources where cmake + ninja exist.
  t.true(['ok', 'skip'].includes(st.build!.status), st.build!.message);
  // The bundled test file ran: the no-GPU contract passed, the GPU tests were skipped.
  t.true((st.test!.result!.passed as number) >= 3, st.test!.message);
  t.is(st.test!.result!.failed, 0, st.test!.message);
  t.true((st.test!.result!.skipped as number) >= 1, st.test!.message);
  for (const s of ['zen-score-gpu', 'latency-gpu', 'latency-gpu-fp32']) {
    t.is(st[s]!.status, 'skip', `${s}: ${st[s]!.message}`);
    t.regex(st[s]!.message, /no usable GPU .*found its \d+ files/);
  }
  t.is(st.candidates!.status, 'skip', st.candidates!.message);
  const runs = st.candidates!.result!.runs as { backend: string; scored: number; candidatesPerSecond: number }[];
  t.true(runs.length >= 1 && runs.every((x) => x.backend === 'cpu' && x.scored > 0 && x.candidatesPerSecond > 0), JSON.stringify(runs));
  for (const s of rep.stages) t.true(s.seconds !== null && s.limit !== null && s.seconds <= s.limit + 1, `${s.name}: ${s.seconds} s of ${s.limit}`);
  // The summary table is printed last (and is the end of the log too).
  const lines = r.stdout.trimEnd().split('\n');
  t.regex(lines[lines.length - 1]!, /^no GPU figure was measured \(dry run\); all stages that can run here are ok$/);
  t.regex(lines[lines.length - 2 - STAGES.length]!, /^stage +status +time\/limit +result$/);
  t.regex(fs.readFileSync(path.join(out, 'device-kit.log'), 'utf8'), /== device kit summary \(dry-run[^\n]*\n[^]*no GPU figure was measured/);
});

test.serial('run without --dry-run and without a GPU fails clearly (ZENNAS_REQUIRE_GPU=1) and still reports', (t) => {
  const out = path.join(BASE, 'out-gpu');
  fs.rmSync(out, { recursive: true, force: true });
  const r = sh('benchmarks/device/run', ['--kit', KIT, '--out', out, '--only', 'test']);
  t.is(r.code, 1, r.stdout.slice(-4000) + r.stderr);
  const rep = JSON.parse(fs.readFileSync(path.join(out, 'device-kit.json'), 'utf8')) as Report;
  t.is(rep.mode, 'gpu');
  t.false(rep.ok);
  t.false(rep.gpuMeasured);
  const st = Object.fromEntries(rep.stages.map((s) => [s.name, s]));
  t.is(st.test!.status, 'fail');
  t.regex(st.test!.message, /1 failed.*ZENNAS_REQUIRE_GPU=1/);
  t.is(st.load!.status, 'fail');
  t.regex(st.load!.message, /no usable CUDA backend/);
  for (const s of ['zen-score-gpu', 'latency-gpu', 'candidates', 'latency-gpu-fp32']) t.is(st[s]!.status, 'off');
  t.regex(r.stdout, /no GPU figure was measured \(no usable CUDA backend\)[^\n]*\n?$/);
});

test('the kit\'s ava stand-in: serial first, skips, assertion failures and error expectations as ava has them', async (t) => {
  const mt = miniAva;
  const order: string[] = [];
  const err = Object.assign(new Error('backend unavailable: no GPU'), { code: 'E_BACKEND' });
  mt('concurrent one', (x) => { order.push('c'); x.is(1 + 1, 2); x.regex('abc', /b/); x.deepEqual({ a: [1] }, { a: [1] }); });
  mt.serial('serial one', (x) => { order.push('s'); x.true(true); });
  mt('throwsAsync returns the error', async (x) => {
    const e = await x.throwsAsync(Promise.reject(err), { code: 'E_BACKEND' });
    x.regex(e!.message, /no GPU/);
  });
  mt('a wrong code fails', async (x) => { await x.throwsAsync(Promise.reject(err), { code: 'E_OPTION' }); });
  mt('t.is failing stops the test', (x) => { x.is(1, 2, 'one is not two'); order.push('not reached'); });
  mt('no assertions fails', () => undefined);
  mt.skip('skipped', (x) => { x.fail(); });
  const lines: string[] = [];
  const out = await runRegistered({ write: (l) => lines.push(l) });
  const by = Object.fromEntries(out.map((o) => [o.title, o]));
  t.deepEqual(order, ['s', 'c']);
  t.is(by['concurrent one']!.status, 'passed');
  t.is(by['throwsAsync returns the error']!.status, 'passed');
  t.is(by['a wrong code fails']!.status, 'failed');
  t.regex(by['a wrong code fails']!.error!, /error code 'E_BACKEND', expected 'E_OPTION'/);
  t.regex(by['t.is failing stops the test']!.error!, /one is not two \(expected 2, got 1\)/);
  t.regex(by['no assertions fails']!.error!, /without running any assertions/);
  t.is(by['skipped']!.status, 'skipped');
  t.is(lines[lines.length - 1], '3 passed, 3 failed, 1 skipped');
});
