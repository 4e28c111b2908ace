/**
 * CPU deployment latency on onnxruntime-node (issue #15 item 3) and `zennas latency` choosing its
 * device and naming its runner (issue #13 item 8). Skips, saying why, when onnxruntime-node is not
 * installed (it is an optional dependency); the "not installed" message itself is tested in a child.
 */
import test from 'ava';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { Engine, backends } from '../src/engine/engine';
import { latencyBackends, measureLatency, onnxRuntimeLatency, onnxRuntimeOptions, onnxRuntimeStatus } from '../src/latency';
import { exportInferenceOnnx } from '../src/export/inference';
import { encodeDescriptor } from '../src/ops/descriptor';
import { lowerAsTrained } from '../src/model/lower';
import { parseStructure } from '../src/grammar/parse';
import { zennas, zennasWithEnv } from './helpers/cli';

const NET = 'SuperConvK3BNRELU(3,16,2,1)SuperResK3K3(16,32,2,16,1)SuperConvK1BNRELU(32,64,1,1)';
const descriptor = encodeDescriptor(lowerAsTrained(parseStructure(NET), { numClasses: 10 }));
const ort = onnxRuntimeStatus();
const needsOrt = (t: { log: (m: string) => void; pass: () => void }) => {
  if (ort.available) return false;
  t.log(`skipped: ${ort.reason}`);
  t.pass();
  return true;
};

test('options: batch 1 by default (HardCoRe-NAS), 1 thread, 10 + 30 runs; unknown or out-of-range options name themselves', (t) => {
  const o = onnxRuntimeOptions({});
  t.like(o, { batchSize: 1, resolution: 224, warmup: 10, iterations: 30, threads: 1, bn: 'calibrated' });
  t.regex(t.throws(() => onnxRuntimeOptions({ thread: 2 } as never))!.message, /unknown onnxruntime latency option 'thread' \(did you mean 'threads'\?\); valid: batchSize/);
  t.regex(t.throws(() => onnxRuntimeOptions({ Threads: 2 } as never))!.message, /did you mean 'threads'/);
  t.regex(t.throws(() => onnxRuntimeOptions({ threads: 0 }))!.message, /threads must be an integer in \[1, 1024\], got 0/);
  t.regex(t.throws(() => onnxRuntimeOptions({ bn: 'trained' as never }))!.message, /bn must be 'calibrated' or 'fresh'/);
  t.is(o.clock, 'wall');
  t.regex(t.throws(() => onnxRuntimeOptions({ clock: 'cpu', threads: 2 }))!.message, /clock 'cpu' times one thread's work: it needs threads 1, got 2/);
  t.regex(t.throws(() => onnxRuntimeOptions({ clock: 'user' as never }))!.message, /clock must be 'wall' or 'cpu'/);
});

test.serial('onnxruntime times the exported network: one sample per timed run, p50 ≤ p90, its version, threads and CPU recorded', async (t) => {
  if (needsOrt(t)) return;
  const e = new Engine({ backend: 'cpu', threads: 1 });
  try {
    const r = await onnxRuntimeLatency(descriptor, { resolution: 32, warmup: 2, iterations: 7, threads: 2, bnSource: e });
    t.is(r.engine, 'onnxruntime');
    t.is(r.samplesMs.length, 7);
    t.true(r.minMs <= r.medianMs && r.medianMs <= r.p90Ms, JSON.stringify(r));
    t.true(r.samplesMs.every((x) => x > 0 && Number.isFinite(x)));
    t.like(r, { batchSize: 1, resolution: 32, threads: 2, onnxruntimeVersion: ort.version });
    t.regex(r.device, /\(\d+ cores?\)$/);
    t.true(Math.abs(r.imagesPerSecond - 1000 / r.meanMs) < 1e-9, 'batch 1: images/s = 1000 / ms');
    // CPU time of each run (1 thread): what the inference costs, whatever else the machine runs.
    const c = await onnxRuntimeLatency(descriptor, { resolution: 32, warmup: 1, iterations: 5, clock: 'cpu', bnSource: e });
    t.is(c.clock, 'cpu');
    t.is(c.samplesMs.length, 5);
    t.true(c.samplesMs.every((x) => x >= 0 && Number.isFinite(x)) && c.medianMs > 0, JSON.stringify(c.samplesMs));
    // Given ONNX bytes instead of a descriptor: the same runner, the batch of the file.
    const onnx = await exportInferenceOnnx(e, descriptor, { resolution: 32, batchSize: 3 });
    const b3 = await onnxRuntimeLatency(onnx, { resolution: 32, batchSize: 3, warmup: 0, iterations: 2 });
    t.is(b3.samplesMs.length, 2);
    t.true(Math.abs(b3.imagesPerSecond - 3000 / b3.meanMs) < 1e-9);
    // A file whose input does not match the options: onnxruntime's own error, as E_BACKEND.
    const bad = await t.throwsAsync(onnxRuntimeLatency(onnx, { resolution: 32, batchSize: 2, warmup: 0, iterations: 1 }));
    t.is((bad as { code?: string }).code, 'E_BACKEND');
    t.regex(bad!.message, /onnxruntime failed to run the model/);
  } finally {
    e.close();
  }
});

test.serial("measureLatency: engine 'onnxruntime' (batch 1 default, runtime 'onnxruntime'); the native runner reports 'zennas-cpu' on the CPU", async (t) => {
  const e = new Engine({ backend: 'cpu', threads: 1 });
  try {
    const native = await measureLatency(e, descriptor, { batchSize: 2, resolution: 32, warmup: 0, iterations: 2 });
    t.like(native, { engine: 'zennas-cpu', runtime: 'cpu' });
    const cudnnName = await measureLatency(e, descriptor, { batchSize: 2, resolution: 32, warmup: 0, iterations: 1, engine: 'cudnn' });
    t.is(cudnnName.engine, 'zennas-cpu', "'cudnn' is the old name of the native runner: on the CPU it is the CPU engine");
    const opt = async (p: Promise<unknown>, re: RegExp) => {
      const err = await t.throwsAsync(p);
      t.is((err as { code?: string }).code, 'E_OPTION', err!.message);
      t.regex(err!.message, re);
    };
    await opt(measureLatency(e, descriptor, { engine: 'onnxruntime', precision: 'fp16' }), /engine 'onnxruntime' times fp32 on the CPU/);
    await opt(measureLatency(e, descriptor, { engine: 'onnxruntime', trtexec: '/x' }), /trtexec is an option of engine 'tensorrt' only/);
    await opt(measureLatency(e, descriptor, { threads: 2 }), /threads is an option of engine 'onnxruntime' only/);
    if (needsOrt(t)) return;
    const r = await measureLatency(e, descriptor, { engine: 'onnxruntime', resolution: 32, warmup: 1, iterations: 3 });
    t.like(r, { engine: 'onnxruntime', runtime: 'onnxruntime', batchSize: 1 });
    t.is(r.samplesMs?.length, 3);
    t.is(latencyBackends().onnxruntime, ort.version);
  } finally {
    e.close();
  }
});

test('without onnxruntime-node: E_BACKEND saying how to install it (its CPU runtime ships in the package)', (t) => {
  // A child in which resolving 'onnxruntime-node' fails, as on a machine where the optional install was dropped.
  const script = `
    const Module = require('module');
    const orig = Module._resolveFilename;
    Module._resolveFilename = function (r, ...a) { if (String(r).startsWith('onnxruntime-node')) throw new Error("Cannot find module '" + r + "'"); return orig.call(this, r, ...a); };
    const { onnxRuntimeLatency, latencyBackends } = require(${JSON.stringify(path.join(__dirname, '../src/latency'))});
    onnxRuntimeLatency(new Int32Array(8), {}).then(() => process.exit(3), (e) => {
      console.log(JSON.stringify({ code: e.code, message: e.message, reason: latencyBackends().onnxruntimeReason }));
    });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { code: string; message: string; reason: string };
  t.is(out.code, 'E_BACKEND');
  t.regex(out.message, /onnxruntime-node is not installed or cannot load \(Cannot find module 'onnxruntime-node'\).*ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node/);
  t.is(out.reason, out.message);
});

test('zennas latency (issue #13 item 8): the device as search chooses it, the runner named in text and JSON, only the error without TensorRT', (t) => {
  const cpuMachine = !backends().cuda;
  const j = zennas('latency', NET, '-b', '2', '-r', '32', '--warmup', '0', '-i', '2', '--json');
  t.is(j.code, 0, j.stderr);
  const r = JSON.parse(j.stdout) as { engine: string; backend: string; runtime: string; precision: string };
  if (cpuMachine) {
    t.like(r, { engine: 'zennas-cpu', backend: 'cpu', runtime: 'cpu', precision: 'fp32' });
    const text = zennas('latency', NET, '-b', '2', '-r', '32', '--warmup', '0', '-i', '2');
    t.is(text.code, 0, text.stderr);
    t.regex(text.stdout, /fp32, 32×32, 2 timed after 0 warm-up, zennas CPU engine \(its own eval forward\)\n$/);
    t.notRegex(text.stdout, /CPU on cpu/);
  } else {
    t.like(r, { engine: 'cudnn', backend: 'cuda', runtime: 'cuda' });
  }
  const trt = zennasWithEnv({ ZENNAS_TRTEXEC: '/nonexistent/trtexec' }, 'latency', NET, '--engine', 'tensorrt');
  t.is(trt.code, 2);
  t.is(trt.stderr.trim().split('\n').length, 1, trt.stderr);
  t.notRegex(trt.stderr, /building a TensorRT engine/);
  t.regex(zennas('latency', NET, '--engine', 'onnxruntime', '--backend', 'cuda').stderr, /--engine onnxruntime measures on the CPU/);
  t.regex(zennas('latency', NET, '--threads', '2').stderr, /--threads is an option of --engine onnxruntime only/);
  if (!ort.available) return;
  const o = zennas('latency', NET, '--engine', 'onnxruntime', '-r', '32', '--warmup', '1', '-i', '3', '--threads', '2', '--json');
  t.is(o.code, 0, o.stderr);
  t.like(JSON.parse(o.stdout), { engine: 'onnxruntime', runtime: 'onnxruntime', backend: 'cpu', batchSize: 1, threads: 2, onnxruntimeVersion: ort.version });
  const ot = zennas('latency', NET, '--engine', 'onnxruntime', '-r', '32', '--warmup', '1', '-i', '3');
  t.regex(ot.stdout, /per mini-batch of 1 .*\nfp32, 32×32, 3 timed after 1 warm-up, onnxruntime \S+ \(CPU execution provider, 1 thread\) on .+\(\d+ cores?\)\n$/);
});
