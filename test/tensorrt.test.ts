/**
 * The TensorRT latency path (src/latency/tensorrt.ts) against a stand-in trtexec
 * (test/fixtures/fake-trtexec.js): arguments, warm-up handling, statistics, the TensorRT 8
 * fallback, and clear errors when trtexec is missing or fails; the runner choice
 * (src/latency `measureLatency`) and `latencyBackends()`. No TensorRT is needed.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findTrtexec, parseExportTimes, parseTensorRtVersion, tensorRtLatency, TensorRtLatencyOptions } from '../src/latency/tensorrt';
import { latencyStats, quantile } from '../src/latency/stats';
import { decodeOnnx } from '../src/export/onnx';
import { ONNX_FLOAT, ONNX_FLOAT16 } from '../src/export/onnx-schema';
import { Engine, backends } from '../src/engine/engine';
import { latencyBackends, measureLatency } from '../src/latency';
import { BnStatisticsSource } from '../src/export/inference';
import { encodeDescriptor } from '../src/ops/descriptor';
import { lowerAsTrained } from '../src/model/lower';
import { parseStructure } from '../src/grammar/parse';
import { BIN, zennasWithEnv } from './helpers/cli';
import { spawn, spawnSync } from 'child_process';

const FAKE = path.join(__dirname, 'fixtures/fake-trtexec.js');
const NET = 'SuperConvK3BNRELU(3,16,2,1)SuperResK3K3(16,32,2,16,1)SuperConvK1BNRELU(32,64,1,1)';
const descriptor = encodeDescriptor(lowerAsTrained(parseStructure(NET), { numClasses: 1000 }));
const OPTS: TensorRtLatencyOptions = { batchSize: 16, resolution: 64, precision: 'fp16', warmup: 2, iterations: 5, trtexec: FAKE };

/** Runs `fn` with FAKE_TRTEXEC_* set (tests in this file run serially: env is process-wide). */
async function withFake<T>(mode: string, fn: (files: { record: string; keep: string }) => Promise<T>): Promise<{ result: T; calls: Array<{ args: string[]; onnxBytes: number }>; keep: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-fake-trt-'));
  const record = path.join(dir, 'calls.jsonl'), keep = path.join(dir, 'model.onnx');
  Object.assign(process.env, { FAKE_TRTEXEC_MODE: mode, FAKE_TRTEXEC_RECORD: record, FAKE_TRTEXEC_KEEP: keep });
  try {
    const result = await fn({ record, keep });
    const calls = fs.existsSync(record) ? fs.readFileSync(record, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];
    return { result, calls, keep: fs.existsSync(keep) ? fs.readFileSync(keep, 'latin1') : '' };
  } finally {
    delete process.env.FAKE_TRTEXEC_MODE; delete process.env.FAKE_TRTEXEC_RECORD; delete process.env.FAKE_TRTEXEC_KEEP;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('quantiles interpolate between closest ranks, as numpy (and the native backends)', (t) => {
  t.is(quantile([4, 1, 3, 2], 0.5), 2.5);
  t.true(Math.abs(quantile([1, 2, 3, 4], 0.9) - 3.7) < 1e-12);
  t.is(quantile([7], 0.9), 7);
  const s = latencyStats([2, 4, 6, 8], 32);
  t.is(s.meanMs, 5);
  t.is(s.minMs, 2);
  t.is(s.imagesPerSecond, 6400);
  t.throws(() => quantile([], 0.5), { instanceOf: RangeError });
});

test.serial('trtexec times warm-up + iterations; the warm-up ones are dropped from the statistics', async (t) => {
  const { result: r, calls } = await withFake('ok', () => tensorRtLatency(descriptor, OPTS));
  t.is(calls.length, 1);
  const args = calls[0]!.args;
  for (const a of ['--iterations=7', '--warmUp=0', '--duration=0', '--noDataTransfers', '--stronglyTyped']) t.true(args.includes(a), `${a} in ${args.join(' ')}`);
  t.true(calls[0]!.onnxBytes > 1000, 'trtexec was handed the exported model');
  // computeMs = 1..7; the first two are warm-up → samples 3..7.
  t.deepEqual(r.samplesMs, [3, 4, 5, 6, 7]);
  t.is(r.meanMs, 5);
  t.is(r.medianMs, 5);
  t.true(Math.abs(r.p90Ms - 6.6) < 1e-12);
  t.is(r.imagesPerSecond, 3200);
  t.is(r.engine, 'tensorrt');
  t.is(r.tensorrtVersion, '10.3.0');
  t.is(r.device, 'Fake GPU 80GB');
  t.is(r.trtexec, FAKE);
  const onnxArg = args.find((a) => a.startsWith('--onnx='))!.slice(7);
  t.false(fs.existsSync(path.dirname(onnxArg)), 'the temporary folder is removed');
});

test.serial('the model handed to trtexec has the batch, resolution and precision asked for', async (t) => {
  for (const precision of ['fp16', 'fp32'] as const) {
    const { keep } = await withFake('ok', () => tensorRtLatency(descriptor, { ...OPTS, precision }));
    const m = decodeOnnx(Buffer.from(keep, 'latin1'));
    const input = m.graph.input[0]!.type.tensorType;
    t.deepEqual(input.shape.dim, [{ dimValue: 16 }, { dimValue: 3 }, { dimValue: 64 }, { dimValue: 64 }]);
    t.is(input.elemType, precision === 'fp16' ? ONNX_FLOAT16 : ONNX_FLOAT);
    t.false(m.graph.node.some((n) => n.opType === 'BatchNormalization'), 'BN folded');
  }
});

test.serial('TensorRT 8 (no --stronglyTyped) is retried with --fp16', async (t) => {
  const { result: r, calls } = await withFake('old', () => tensorRtLatency(descriptor, OPTS));
  t.is(calls.length, 2);
  t.true(calls[0]!.args.includes('--stronglyTyped'));
  t.false(calls[1]!.args.includes('--stronglyTyped'));
  t.true(calls[1]!.args.includes('--fp16'));
  t.is(r.meanMs, 5);
  const fp32 = await withFake('old', () => tensorRtLatency(descriptor, { ...OPTS, precision: 'fp32' }));
  t.false(fp32.calls[1]!.args.includes('--fp16'), 'fp32 asks for no reduced precision');
});

test.serial('a failing trtexec is E_BACKEND with the end of its log (and no TensorRT 8 retry)', async (t) => {
  // The model path trtexec echoes contains "invalid": only a real "Unknown option" triggers the retry.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'invalid-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    const { result: err, calls } = await withFake('fail', () => t.throwsAsync(tensorRtLatency(descriptor, OPTS)));
    t.is((err as { code?: string }).code, 'E_BACKEND');
    t.regex(err!.message, /trtexec exited with status 1/);
    t.regex(err!.message, /fake build failure/);
    t.is(calls.length, 1);
    t.true(calls[0]!.args.some((a) => a.includes('invalid-')), 'the banner did contain the word');
    t.deepEqual(fs.readdirSync(tmp), [], 'the temporary model is removed after a failure');
  } finally {
    if (before === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = before;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const { result: none } = await withFake('notimes', () => t.throwsAsync(tensorRtLatency(descriptor, OPTS)));
  t.regex(none!.message, /wrote no timing file/);
});

test.serial('trtexec that hangs is killed at the timeout; extra timed inferences are not kept', async (t) => {
  const t0 = Date.now();
  const { result: err } = await withFake('hang', () => t.throwsAsync(tensorRtLatency(descriptor, { ...OPTS, timeoutSeconds: 1 })));
  t.regex(err!.message, /trtexec did not finish within 1 s and was killed/);
  t.true(Date.now() - t0 < 20_000);
  const { result: r } = await withFake('extra', () => tensorRtLatency(descriptor, OPTS));
  t.deepEqual(r.samplesMs, [3, 4, 5, 6, 7], 'exactly the 5 timed inferences after the 2 warm-up ones');
  // A progress callback that throws does not break the run.
  const { result: r2 } = await withFake('ok', () => tensorRtLatency(descriptor, { ...OPTS, onLog: () => { throw new Error('boom'); } }));
  t.is(r2.meanMs, 5);
});

test('Ctrl-C during a trtexec run kills trtexec and removes the temporary model', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-sigint-'));
  try {
    const child = spawn(process.execPath, [BIN, 'latency', NET, '--engine', 'tensorrt', '-r', '32', '-b', '8'], {
      env: { ...process.env, ZENNAS_TRTEXEC: FAKE, FAKE_TRTEXEC_MODE: 'hang', TMPDIR: tmp }, stdio: 'ignore',
    });
    // Wait until the model is on disk and trtexec runs, then interrupt.
    for (let i = 0; i < 100 && !fs.readdirSync(tmp).some((d) => fs.existsSync(path.join(tmp, d, 'model.onnx'))); i++) await new Promise((r) => setTimeout(r, 100));
    t.true(fs.readdirSync(tmp).length > 0, 'the run started');
    child.kill('SIGINT');
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
    t.true(signal === 'SIGINT' || code !== 0, `exit ${code} ${signal}`);
    t.deepEqual(fs.readdirSync(tmp), [], 'no temporary model left behind');
    const left = spawnSync('pgrep', ['-f', `${FAKE}.*${tmp}`], { encoding: 'utf8' });
    t.is((left.stdout ?? '').trim(), '', 'trtexec is not left running');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('missing or unusable trtexec is a clear E_BACKEND / message', async (t) => {
  // No install folders either: the test must not find a real TensorRT on a GPU machine.
  const none = findTrtexec(undefined, { PATH: '/nonexistent' }, []);
  t.is(none.path, undefined);
  t.regex(none.reason!, /TensorRT not found: no trtexec on PATH/);
  t.regex(none.reason!, /ZENNAS_TRTEXEC/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-trt-'));
  try {
    const plain = path.join(dir, 'trtexec');
    fs.writeFileSync(plain, 'not a program', { mode: 0o644 });
    t.regex(findTrtexec(undefined, { ZENNAS_TRTEXEC: plain }).reason!, /\(ZENNAS_TRTEXEC\) is not an executable file/);
    t.regex(findTrtexec(undefined, { ZENNAS_TRTEXEC: dir }).reason!, /is not an executable file/, 'a folder is not trtexec');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  t.is(findTrtexec(undefined, { ZENNAS_TRTEXEC: FAKE }).path, FAKE);
  t.is(findTrtexec(undefined, { PATH: path.dirname(FAKE) }, []).path, undefined, 'only a file named trtexec counts');
  const err = await t.throwsAsync(tensorRtLatency(descriptor, { ...OPTS, trtexec: '/nonexistent/trtexec' }));
  t.is((err as { code?: string }).code, 'E_BACKEND');
  t.regex(err!.message, /not an executable file/);
});

test('bad options are E_OPTION before anything runs', async (t) => {
  for (const [k, v, re] of [['batchSize', 0, /batchSize/], ['iterations', 0, /iterations/], ['precision', 'int8', /precision/], ['warmup', -1, /warmup/]] as const) {
    const err = await t.throwsAsync(tensorRtLatency(descriptor, { ...OPTS, [k]: v } as TensorRtLatencyOptions));
    t.is((err as { code?: string }).code, 'E_OPTION');
    t.regex(err!.message, re);
  }
});

test('trtexec output parsing: versions, timing files', (t) => {
  t.is(parseTensorRtVersion(['&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec']), '10.3.0');
  t.is(parseTensorRtVersion(['&&&& RUNNING TensorRT.trtexec [TensorRT v8601] # trtexec']), '8.6.1');
  t.is(parseTensorRtVersion(['no banner']), undefined);
  t.deepEqual(parseExportTimes('[ { "count" : 3 }, { "computeMs" : 1.5 }, { "computeMs" : 2 } ]'), [1.5, 2]);
  t.regex(t.throws(() => parseExportTimes('[ {'))!.message, /timing file \(--exportTimes\) is not JSON/);
  t.regex(t.throws(() => parseExportTimes('{}'))!.message, /not a JSON array/);
});

test("the Engine knows nothing of TensorRT: engine.latency refuses 'tensorrt' and points at measureLatency", async (t) => {
  const e = new Engine({ backend: 'cpu', threads: 1 });
  try {
    const err = await t.throwsAsync(e.latency(descriptor, { batchSize: 2, resolution: 32, engine: 'tensorrt' as never }));
    t.is((err as { code?: string }).code, 'E_OPTION');
    t.regex(err!.message, /measureLatency\(engine, descriptor, \{ engine: 'tensorrt' \}\)/);
    // measureLatency with a CPU Engine and engine 'tensorrt': E_OPTION (it measures on the GPU).
    const cpu = await t.throwsAsync(measureLatency(e, descriptor, { batchSize: 2, resolution: 32, engine: 'tensorrt', trtexec: FAKE }));
    t.is((cpu as { code?: string }).code, 'E_OPTION');
    t.regex(cpu!.message, /backend 'cuda'/);
  } finally {
    e.close();
  }
  t.false('trtexec' in backends() || 'tensorrtReason' in backends(), 'backends() reports only the Engine backends');
});

test.serial('measureLatency: the Engine for cudnn, trtexec for tensorrt; options checked against the runner', async (t) => {
  const e = new Engine({ backend: 'cpu', threads: 1 });
  try {
    const cpu = await measureLatency(e, descriptor, { batchSize: 2, resolution: 32, warmup: 0, iterations: 2 });
    t.is(cpu.engine, 'zennas-cpu'); // the CPU Engine's own forward (issue #13 item 8: not 'cudnn')
    t.is(cpu.runtime, 'cpu');
    t.true(cpu.meanMs > 0 && cpu.p90Ms >= cpu.medianMs, JSON.stringify(cpu));
    const trt = await withFake('ok', () => measureLatency(null, descriptor, { ...OPTS, engine: 'tensorrt' }));
    t.is(trt.result.engine, 'tensorrt');
    t.deepEqual(trt.result.samplesMs, [3, 4, 5, 6, 7]);
    t.true(trt.calls[0]!.args.includes('--iterations=7'));
    // Defaults: the paper's protocol (batch 64, 224², 10 + 30), fp16.
    const defaults = await withFake('ok', () => measureLatency(undefined, descriptor, { engine: 'tensorrt', trtexec: FAKE }));
    t.true(defaults.calls[0]!.args.includes('--iterations=40'));
    const m = decodeOnnx(Buffer.from(defaults.keep, 'latin1'));
    t.deepEqual(m.graph.input[0]!.type.tensorType.shape.dim, [{ dimValue: 64 }, { dimValue: 3 }, { dimValue: 224 }, { dimValue: 224 }]);
    t.is(m.graph.input[0]!.type.tensorType.elemType, ONNX_FLOAT16);
    const opt = async (p: Promise<unknown>, re: RegExp) => {
      const err = await t.throwsAsync(p);
      t.is((err as { code?: string }).code, 'E_OPTION', err!.message);
      t.regex(err!.message, re);
    };
    await opt(measureLatency(e, descriptor, { batchSize: 2, trtexec: FAKE }), /trtexec is an option of engine 'tensorrt' only/);
    await opt(measureLatency(null, descriptor, { batchSize: 2 }), /engine 'native' is timed by an Engine/);
    await opt(measureLatency(e, descriptor, { batchsize: 2 } as never), /unknown latency option 'batchsize' \(did you mean 'batchSize'\?\)/);
    await opt(measureLatency(e, descriptor, { engine: 'onnx' as never }), /engine must be 'native', 'cudnn', 'tensorrt', 'onnxruntime'/);
    await opt(measureLatency(e, descriptor, { batchSize: 0 }), /batchSize/);
  } finally {
    e.close();
  }
});

test.serial('the TensorRT export is calibrated by the given BN source (engine.bnStatistics), else by a CPU Engine of its own', async (t) => {
  const e = new Engine({ backend: 'cpu', threads: 1 });
  try {
    const seen: Array<{ batchSize: number; resolution: number }> = [];
    const source: BnStatisticsSource = { bnStatistics: (d, o) => { seen.push(o); return e.bnStatistics(d, o); } };
    const own = await withFake('ok', () => tensorRtLatency(descriptor, { ...OPTS, precision: 'fp32' }));
    const given = await withFake('ok', () => tensorRtLatency(descriptor, { ...OPTS, precision: 'fp32', bnSource: source }));
    t.is(seen.length, 1);
    t.like(seen[0], { batchSize: 4, resolution: 64 });
    t.is(given.keep, own.keep, 'the same file either way');
    const meta = Object.fromEntries(decodeOnnx(Buffer.from(own.keep, 'latin1')).metadataProps!.map((p) => [p.key, p.value]));
    t.regex(meta['zennas.bn']!, /running statistics of 4 N\(0,1\) images/);
  } finally {
    e.close();
  }
});

test.serial('latencyBackends(): the Engine backends plus trtexec or why there is none', (t) => {
  const before = process.env.ZENNAS_TRTEXEC;
  try {
    process.env.ZENNAS_TRTEXEC = FAKE;
    const b = latencyBackends();
    t.is(b.trtexec, FAKE);
    t.is(b.cpu, true);
    t.is(typeof b.cuda, 'boolean');
    process.env.ZENNAS_TRTEXEC = '/nonexistent/trtexec';
    const none = latencyBackends();
    t.is(none.trtexec, undefined);
    t.regex(none.tensorrtReason!, /not an executable file/);
  } finally {
    if (before === undefined) delete process.env.ZENNAS_TRTEXEC; else process.env.ZENNAS_TRTEXEC = before;
  }
});

test('zennas latency --engine tensorrt: JSON from trtexec, clear errors without it', (t) => {
  const ok = zennasWithEnv({ ZENNAS_TRTEXEC: FAKE }, 'latency', NET, '--engine', 'tensorrt', '-b', '8', '-r', '32', '--warmup', '3', '-i', '4', '--json');
  t.is(ok.code, 0, ok.stderr);
  const r = JSON.parse(ok.stdout) as { engine: string; meanMs: number; msPerImage: number; precision: string; tensorrtVersion: string; batchSize: number };
  t.is(r.engine, 'tensorrt');
  t.is(r.precision, 'fp16');
  t.is(r.meanMs, 5.5); // computeMs 4..7 after 3 warm-up
  t.is(r.msPerImage, 5.5 / 8);
  t.is(r.tensorrtVersion, '10.3.0');
  const text = zennasWithEnv({ ZENNAS_TRTEXEC: FAKE }, 'latency', NET, '--engine', 'tensorrt', '-b', '8', '-r', '32', '-i', '4');
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /TensorRT 10\.3\.0 \(trtexec\) on Fake GPU 80GB/);
  t.regex(text.stderr, /building a TensorRT engine/);
  const missing = zennasWithEnv({ ZENNAS_TRTEXEC: '/nonexistent/trtexec' }, 'latency', NET, '--engine', 'tensorrt');
  t.is(missing.code, 2);
  t.regex(missing.stderr, /error \[E_BACKEND\]: TensorRT's trtexec '\/nonexistent\/trtexec' \(ZENNAS_TRTEXEC\) is not an executable file/);
  const cpu = zennasWithEnv({ ZENNAS_TRTEXEC: FAKE }, 'latency', NET, '--engine', 'tensorrt', '--backend', 'cpu');
  t.is(cpu.code, 2);
  t.regex(cpu.stderr, /cannot be combined with --backend cpu/);
});

test('import structure: the Engine knows nothing of TensorRT or ONNX; the exporter opens no Engine and uses no test oracle', (t) => {
  const src = path.join(__dirname, '..', 'src');
  const importsOf = (dir: string) => fs.readdirSync(path.join(src, dir)).filter((f) => f.endsWith('.ts')).map((f) => {
    const text = fs.readFileSync(path.join(src, dir, f), 'utf8');
    return { file: `${dir}/${f}`, specs: [...text.matchAll(/from\s+'([^']+)'|require\('([^']+)'\)|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2] ?? m[3]!) };
  });
  for (const { file, specs } of importsOf('engine')) {
    for (const s of specs) t.false(/\/(latency|export)(\/|$)/.test(s), `${file} imports ${s}`);
  }
  for (const { file, specs } of importsOf('export')) {
    for (const s of specs) t.false(/\/reference(\/|$)|\/engine\/engine$|\/latency(\/|$)/.test(s), `${file} imports ${s}`);
    t.false(specs.some((s) => /^\.\.?\//.test(s) && fs.readFileSync(path.join(src, file), 'utf8').includes(`require('${s}')`)), `${file} has a lazy require`);
  }
});
