import test from 'ava';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { findTrtexec, measureLatency } from '../src/latency';
import * as engineModule from '../src/engine/engine';
import type { Engine } from '../src/engine/engine';
import { parseStructure } from '../src/grammar/parse';
import { lowerAsTrained, lowerForScoring } from '../src/model/lower';
import { encodeDescriptor } from '../src/ops/descriptor';
import type { Graph } from '../src/ops/graph';
import { buildGraph, type NodeSpec } from '../src/reference/build';
import { zennas } from './helpers/cli';
import { relErr } from './helpers/grad';
import { PADDED_POOL_HEAD, V2_CELL_HEAD } from './helpers/v2-cells';

// The CUDA backend (native/cuda/). Without a GPU (CI, this repository's dev machines) only the
// "unavailable" contract is checked: clear E_BACKEND errors, never a crash (the host-side plans
// are checked by .ci/cuda-check.sh). The GPU tests run only where backends().cuda is true (a
// build with nvcc + cuDNN, on a machine with a GPU): CPU/GPU agreement of Zen-scores (every op)
// and of the 'gradients' proxy (loss, gradNorm, every parameter gradient and the input gradient,
// both loss heads, both inits), CUDA graphs changing nothing, many plans through one pool.

type Backends = { cpu?: boolean; cuda: boolean; cudaReason?: string };
type RunOut = {
  scores: number[];
  series: Record<string, number[]>;
  gradients?: Array<{ op: number; data: Float32Array }>;
  inputGradient?: Float32Array;
};
type AnyEngine = {
  zenScore(d: Int32Array, o: Record<string, unknown>): Promise<{ scores: number[]; logDelta?: number[]; logSigmaSum?: number[] }>;
  run?(proxy: string, d: Int32Array, o: Record<string, unknown>): Promise<RunOut>;
  latency?(d: Int32Array, o: Record<string, unknown>): Promise<{ meanMs: number; medianMs: number; p90Ms: number; imagesPerSecond: number }>;
  close?(): void;
};
const mod = engineModule as unknown as { Engine: new (o: Record<string, unknown>) => AnyEngine; backends: () => Backends };

const CIFAR_INIT =
  'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperResK3K3(16,32,2,16,1)SuperResK3K3(32,64,2,32,1)SuperResK3K3(64,64,2,32,1)SuperConvK1BNRELU(64,128,1,1)';
const SMALL_IDW = 'SuperConvK3BNRELU(3,16,2,1)SuperResIDWE4K5(16,24,2,16,1)SuperResK1K3K1(24,32,1,16,1)';
const RESNET50 =
  'SuperConvK7BNRELU(3,64,2,1)MaxPool(64,64,3,2)SuperResK1K3K1(64,256,1,64,3)SuperResK1K3K1(256,512,2,128,4)SuperResK1K3K1(512,1024,2,256,6)SuperResK1K3K1(1024,2048,2,512,3)';

const info = mod.backends();
const hasGpu = info.cuda === true;
// A skipped test says why in its title (npm test lists skipped titles): no GPU here, or a GPU there.
const skipWhy = (why: string) => ((title: string, fn: (t: never) => unknown) => test.skip(`${title} [skipped: ${why}]`, fn as never)) as unknown as typeof test.serial;
const gpuTest = hasGpu ? test.serial : skipWhy(`no usable GPU — ${(info.cudaReason ?? 'the CUDA backend was not built').split(':')[0]}`);
const noGpuTest = hasGpu ? skipWhy('a GPU is usable (this checks the no-GPU path)') : test;

const scored = (s: string, se = false) => encodeDescriptor(lowerForScoring(parseStructure(s), { se }));
const trained = (s: string) => encodeDescriptor(lowerAsTrained(parseStructure(s), { numClasses: 1000 }));

async function withEngine<T>(backend: 'cpu' | 'cuda', fn: (e: AnyEngine) => Promise<T>): Promise<T> {
  const e = new mod.Engine({ backend });
  try {
    return await fn(e);
  } finally {
    e.close?.();
  }
}

function latencyOf(e: AnyEngine, d: Int32Array, o: Record<string, unknown>) {
  if (typeof e.latency !== 'function') throw Object.assign(new Error('engine has no latency()'), { name: 'ZennasError', code: 'E_BACKEND' });
  return e.latency(d, { resolution: 224, precision: 'fp16', warmup: 5, iterations: 30, engine: 'cudnn', ...o });
}

// On a GPU machine, ZENNAS_REQUIRE_GPU=1 turns "no usable GPU" into a failure instead of skips.
if (process.env.ZENNAS_REQUIRE_GPU === '1') {
  test('ZENNAS_REQUIRE_GPU=1: the CUDA backend is usable', (t) => {
    t.true(hasGpu, `CUDA backend unavailable: ${info.cudaReason}`);
  });
}

test('backends() reports cuda as a boolean, with a reason when it is unavailable', (t) => {
  t.is(typeof info.cuda, 'boolean');
  if (!info.cuda) {
    t.is(typeof info.cudaReason, 'string');
    // Says what is missing: not compiled in (nvcc / cuDNN at build time) or no GPU/driver at run time.
    t.regex(info.cudaReason!, /nvcc|cuDNN|CUDA|GPU|driver/i);
  }
});

noGpuTest('zenScore on the cuda backend without a usable GPU rejects with E_BACKEND and says what is missing', async (t) => {
  const err = await t.throwsAsync(
    withEngine('cuda', (e) => e.zenScore(scored(CIFAR_INIT), { batchSize: 4, resolution: 32, repeats: 1, seed: 0 })),
    { code: 'E_BACKEND' } as never,
  );
  t.regex(err!.message, /nvcc|cuDNN|CUDA|GPU|driver/i);
});

noGpuTest('latency without a usable GPU rejects with E_BACKEND', async (t) => {
  const err = await t.throwsAsync(
    withEngine('cuda', (e) => latencyOf(e, trained(CIFAR_INIT), { batchSize: 8, resolution: 32 })),
    { code: 'E_BACKEND' } as never,
  );
  t.regex(err!.message, /nvcc|cuDNN|CUDA|GPU|driver|latency/i);
});

test('a corrupted descriptor sent to the cuda backend is rejected cleanly (E_DESCRIPTOR, or E_BACKEND without a GPU)', async (t) => {
  const d = scored(CIFAR_INIT).slice();
  d[8 + 3] = 99; // op 0 reads a value that does not exist (header, then [opcode, nInputs, nAttrs, input 0, …])
  const err = await t.throwsAsync(withEngine('cuda', (e) => e.zenScore(d, { batchSize: 2, resolution: 32, repeats: 1 })));
  const code = (err as { code?: string }).code;
  if (hasGpu) t.is(code, 'E_DESCRIPTOR');
  else t.true(code === 'E_DESCRIPTOR' || code === 'E_BACKEND', `code ${code}`);
});

test('zennas latency: a bad --precision is an E_OPTION one-liner', (t) => {
  const r = zennas('latency', CIFAR_INIT, '--precision', 'fp8');
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /^zennas: error \[E_OPTION\]: --precision must be 'fp16' or 'fp32'/);
});

noGpuTest('zennas latency --backend cuda without a GPU exits with one clear E_BACKEND line; without --backend it measures on the CPU', (t) => {
  const cpu = zennas('latency', CIFAR_INIT, '-r', '32', '-b', '2', '--warmup', '0', '--json');
  t.is(cpu.code, 0, cpu.stderr);
  t.true(JSON.parse(cpu.stdout).medianMs > 0);
  const r = zennas('latency', CIFAR_INIT, '-r', '32', '-b', '8', '--backend', 'cuda');
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /^zennas: error \[E_BACKEND\]: .*(CUDA|GPU|cuDNN|nvcc|driver)/i);
  t.regex(r.stderr, /To measure on the CPU instead: --backend cpu/);
  t.is(r.stderr.trim().split('\n').length, 1);
});

// ---- GPU only ------------------------------------------------------------------------------

for (const [name, s, se] of [['CIFAR init', CIFAR_INIT, false], ['IDW + SE', SMALL_IDW, true]] as const) {
  for (const mode of ['paper', 'official'] as const) {
    gpuTest(`CPU and GPU Zen-scores agree within 1e-3 (${name}, ${mode})`, async (t) => {
      const d = scored(s, se);
      const opts = { batchSize: 8, resolution: 32, repeats: 3, seed: 1234, mode };
      const cpu = await withEngine('cpu', (e) => e.zenScore(d, opts));
      const gpu = await withEngine('cuda', (e) => e.zenScore(d, opts));
      for (let i = 0; i < 3; i++) t.true(Math.abs(cpu.scores[i]! - gpu.scores[i]!) <= 1e-3, `repeat ${i}: cpu ${cpu.scores[i]} gpu ${gpu.scores[i]}`);
    });
  }
}

gpuTest('GPU Zen-score of a repeat does not depend on how repeats are chunked', async (t) => {
  const d = scored(CIFAR_INIT);
  const all = await withEngine('cuda', (e) => e.zenScore(d, { batchSize: 8, resolution: 32, repeats: 4, seed: 7 }));
  const last = await withEngine('cuda', (e) => e.zenScore(d, { batchSize: 8, resolution: 32, repeats: 1, seed: 7, firstRepeat: 3 }));
  t.true(Math.abs(all.scores[3]! - last.scores[0]!) <= 1e-9);
  // Official mode replays the earlier repeats for running_var, so chunking is invisible there too.
  const o = { batchSize: 8, resolution: 32, seed: 7, mode: 'official' };
  const allOfficial = await withEngine('cuda', (e) => e.zenScore(d, { ...o, repeats: 4 }));
  const lastOfficial = await withEngine('cuda', (e) => e.zenScore(d, { ...o, repeats: 1, firstRepeat: 3 }));
  t.true(Math.abs(allOfficial.scores[3]! - lastOfficial.scores[0]!) <= 1e-9);
});

gpuTest('GPU latency grows with the batch size', async (t) => {
  const d = trained(RESNET50);
  const ms: number[] = [];
  for (const b of [8, 32, 128]) ms.push((await withEngine('cuda', (e) => latencyOf(e, d, { batchSize: b }))).meanMs);
  t.true(ms[0]! < ms[1]! && ms[1]! < ms[2]!, `ms ${ms.join(', ')}`);
});

gpuTest('FP16 is faster than FP32 on ResNet-50 at batch 64', async (t) => {
  const d = trained(RESNET50);
  const fp16 = await withEngine('cuda', (e) => latencyOf(e, d, { batchSize: 64, precision: 'fp16' }));
  const fp32 = await withEngine('cuda', (e) => latencyOf(e, d, { batchSize: 64, precision: 'fp32' }));
  t.true(fp16.meanMs < fp32.meanMs, `fp16 ${fp16.meanMs} ms, fp32 ${fp32.meanMs} ms`);
  t.true(fp16.imagesPerSecond > 0 && fp16.p90Ms >= fp16.medianMs);
});

gpuTest("engine 'tensorrt' (measureLatency): measured by trtexec when TensorRT is installed, else a clear E_BACKEND", async (t) => {
  // The Engine itself refuses TensorRT; measureLatency picks trtexec (the cuda Engine is accepted, not needed).
  const refused = await t.throwsAsync(withEngine('cuda', (e) => latencyOf(e, trained(CIFAR_INIT), { batchSize: 8, resolution: 32, engine: 'tensorrt' })));
  t.is((refused as { code?: string }).code, 'E_OPTION');
  const opts = { batchSize: 8, resolution: 32, warmup: 5, iterations: 30, precision: 'fp16', engine: 'tensorrt' } as const;
  const run = withEngine('cuda', (e) => measureLatency(e as unknown as Engine, trained(CIFAR_INIT), opts));
  if (findTrtexec().path) {
    const r = await run;
    t.true(r.meanMs > 0 && r.p90Ms >= r.medianMs, JSON.stringify(r));
  } else {
    const err = await t.throwsAsync(run);
    t.is((err as { code?: string }).code, 'E_BACKEND');
    t.regex(err!.message, /TensorRT not found/);
  }
});

// ---- GPU: the v2 ops and the 'gradients' proxy ------------------------------------------------

/** A cell of every v2 op (n-ary ADD, AVGPOOL in both count modes, SWISH, IDENTITY, ZERO, DWCONV); `logits` adds GAP + LINEAR with bias. */
const cellSpecs = (logits: boolean): NodeSpec[] => [
  ...V2_CELL_HEAD,                                                              // v1–v11
  { op: 'avgpool', inputs: [11], kernel: 3, stride: 2, countIncludePad: 0 },    // v12 (strided, overlapping windows)
  { op: 'conv', inputs: [12], cout: 12, kernel: 1, stride: 1 },                 // v13
  { op: 'bn', inputs: [13] },                                                   // v14
  { op: 'swish', inputs: [14] },                                                // v15
  ...(logits ? [{ op: 'gap', inputs: [15] }, { op: 'linear', inputs: [16], cout: 5, bias: 1 }] as NodeSpec[] : []),
];

/**
 * Every schema op, with max-pool ties and an SE gate, a value read by several ops, and two ops no
 * output depends on (16, 19: exact zeros); outputs[0] = logits.
 */
const allOpsSpecs: NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 8, kernel: 3, stride: 1 },                  // v1
  { op: 'bn', inputs: [1] },                                                    // v2
  { op: 'relu', inputs: [2] },                                                  // v3 (zeros: max-pool ties)
  { op: 'dwconv', inputs: [3], kernel: 3, stride: 2 },                          // v4
  { op: 'maxpool', inputs: [3], kernel: 3, stride: 2 },                         // v5
  { op: 'avgpool', inputs: [3], kernel: 3, stride: 2, countIncludePad: 1 },     // v6
  { op: 'avgpool', inputs: [3], kernel: 3, stride: 2, countIncludePad: 0 },     // v7
  { op: 'add', inputs: [4, 5, 6, 7] },                                          // v8
  { op: 'swish', inputs: [8] },                                                 // v9
  { op: 'gap', inputs: [9] },                                                   // v10
  { op: 'linear', inputs: [10], cout: 8, bias: 1 },                             // v11
  { op: 'sigmoid', inputs: [11] },                                              // v12
  { op: 'mul', inputs: [9, 12] },                                               // v13
  { op: 'identity', inputs: [13] },                                             // v14
  { op: 'zero', inputs: [13] },                                                 // v15
  { op: 'add', inputs: [14, 15, 9] },                                           // v16
  { op: 'conv', inputs: [16], cout: 4, kernel: 1, stride: 1 },                  // v17: feeds nothing
  { op: 'gap', inputs: [16] },                                                  // v18
  { op: 'linear', inputs: [18], cout: 10, bias: 0 },                            // v19: logits
  { op: 'conv', inputs: [3], cout: 4, kernel: 3, stride: 1 },                   // v20: feeds nothing
];

const allOps = (): Graph => buildGraph(3, allOpsSpecs, [19]);

/** AVGPOOL with its pad attribute: 2×2/2 pad 0 (NAS-Bench-201), 2×2/1 pad 1, 3×3/2 pad 0, 4×4/4 pad 2; both count modes. */
const paddedPoolSpecs: NodeSpec[] = [
  ...PADDED_POOL_HEAD,                                                                   // v1–v11
  { op: 'gap', inputs: [11] },                                                           // v12
  { op: 'linear', inputs: [12], cout: 5, bias: 1 },                                      // v13
];

const scoredGraph = (s: string, o: { se?: boolean; numClasses?: number } = {}): Graph =>
  o.numClasses === undefined ? lowerForScoring(parseStructure(s), { se: o.se }) : lowerAsTrained(parseStructure(s), { numClasses: o.numClasses, se: o.se });

const GRAD_CASES: Array<{ name: string; graph: () => Graph; batch: number; res: number; loss: 'sum' | 'cross-entropy'; extra?: Record<string, unknown> }> = [
  { name: 'every op (max-pool, SE, n-ary ADD, unreachable ops), CE, drawn labels', graph: () => allOps(), batch: 4, res: 12, loss: 'cross-entropy' },
  { name: 'every op, sum', graph: () => allOps(), batch: 3, res: 9, loss: 'sum' },
  { name: 'every op, CE with given labels, init torch', graph: () => allOps(), batch: 4, res: 12, loss: 'cross-entropy',
    extra: { labels: Int32Array.from([9, 0, 3, 3]), init: 'torch' } },
  { name: 'v2 cell, feature map, sum', graph: () => buildGraph(3, cellSpecs(false)), batch: 4, res: 11, loss: 'sum' },
  { name: 'v2 cell with a LINEAR-with-bias classifier, CE', graph: () => buildGraph(3, cellSpecs(true)), batch: 4, res: 11, loss: 'cross-entropy' },
  { name: 'AVGPOOL with a pad attribute (even kernels, NAS-Bench-201 shortcut), CE', graph: () => buildGraph(3, paddedPoolSpecs), batch: 4, res: 10, loss: 'cross-entropy' },
  { name: 'K7 stride-2 stem, max-pool, bottlenecks, sum', graph: () => scoredGraph('SuperConvK7BNRELU(3,16,2,1)MaxPool(16,16,3,2)SuperResK1K5K1(16,32,2,8,1)'), batch: 4, res: 32, loss: 'sum' },
  { name: 'residual net with SE, depthwise and a classifier, CE', graph: () => scoredGraph('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResIDWE2K3(16,16,1,8,1)', { se: true, numClasses: 10 }), batch: 6, res: 16, loss: 'cross-entropy' },
];

for (const c of GRAD_CASES) {
  gpuTest(`CPU and GPU gradients agree (relative ≤ 1e-3 per op): ${c.name}`, async (t) => {
    const d = encodeDescriptor(c.graph());
    const opts = { batchSize: c.batch, resolution: c.res, seed: 31, repeats: 3, firstRepeat: 1, loss: c.loss, returnGradients: true, inputGradient: true, ...c.extra };
    const cpu = await withEngine('cpu', (e) => e.run!('gradients', d, opts));
    const gpu = await withEngine('cuda', (e) => e.run!('gradients', d, opts));
    for (let r = 0; r < 3; r++) {
      const lc = cpu.scores[r]!, lg = gpu.scores[r]!;
      t.true(Math.abs(lc - lg) <= 1e-3 * Math.max(1, Math.abs(lc)), `loss r${r}: cpu ${lc} gpu ${lg}`);
      const nc = cpu.series.gradNorm![r]!, ng = gpu.series.gradNorm![r]!;
      t.true(Math.abs(nc - ng) <= 1e-3 * Math.max(1e-30, Math.abs(nc)), `gradNorm r${r}: cpu ${nc} gpu ${ng}`);
    }
    t.deepEqual((gpu.gradients ?? []).map((g) => [g.op, g.data.length]), (cpu.gradients ?? []).map((g) => [g.op, g.data.length]), 'gradient layout');
    const byOp = new Map((gpu.gradients ?? []).map((g) => [g.op, g.data]));
    let worst = 0;
    for (const g of cpu.gradients ?? []) {
      const have = byOp.get(g.op)!;
      if (g.data.every((v) => v === 0)) {
        t.true(have.every((v) => v === 0), `op ${g.op}: exact zeros on the CPU, not on the GPU`);
        continue;
      }
      const e = relErr(have, g.data);
      worst = Math.max(worst, e);
      t.true(e <= 1e-3, `op ${g.op}: relative error ${e.toExponential(2)}`);
    }
    const ei = relErr(gpu.inputGradient ?? [], cpu.inputGradient ?? []);
    t.is(gpu.inputGradient?.length, cpu.inputGradient?.length);
    t.true(ei <= 1e-3, `input gradient: relative error ${ei.toExponential(2)}`);
    t.log(`largest relative error: weights ${worst.toExponential(2)}, input ${ei.toExponential(2)}`);
  });
}

gpuTest('GPU gradients: option errors as on the CPU (logits shape, label range), repeat r independent of chunking', async (t) => {
  const feature = encodeDescriptor(buildGraph(3, cellSpecs(false)));
  const logits = encodeDescriptor(allOps());
  await withEngine('cuda', async (e) => {
    const shape = await t.throwsAsync(e.run!('gradients', feature, { batchSize: 2, resolution: 8, loss: 'cross-entropy' }));
    t.is((shape as { code?: string }).code, 'E_OPTION');
    t.regex(shape!.message, /\[classes\]\[1\]\[1\]/);
    const label = await t.throwsAsync(e.run!('gradients', logits, { batchSize: 2, resolution: 8, loss: 'cross-entropy', labels: Int32Array.from([0, 10]) }));
    t.is((label as { code?: string }).code, 'E_OPTION');
    const all = await e.run!('gradients', logits, { batchSize: 2, resolution: 8, seed: 5, repeats: 3, loss: 'cross-entropy' });
    const last = await e.run!('gradients', logits, { batchSize: 2, resolution: 8, seed: 5, repeats: 1, firstRepeat: 2, loss: 'cross-entropy' });
    t.is(all.scores[2], last.scores[0]);
    t.is(all.series.gradNorm![2], last.series.gradNorm![0]);
  });
});

for (const mode of ['paper', 'official'] as const) {
  gpuTest(`CPU and GPU Zen-scores agree within 1e-3 with AVGPOOL (both count modes) and SWISH (${mode})`, async (t) => {
    const d = encodeDescriptor(buildGraph(3, cellSpecs(false)));
    const opts = { batchSize: 8, resolution: 16, repeats: 3, seed: 99, mode };
    const cpu = await withEngine('cpu', (e) => e.zenScore(d, opts));
    const gpu = await withEngine('cuda', (e) => e.zenScore(d, opts));
    for (let i = 0; i < 3; i++) t.true(Math.abs(cpu.scores[i]! - gpu.scores[i]!) <= 1e-3, `repeat ${i}: cpu ${cpu.scores[i]} gpu ${gpu.scores[i]}`);
  });
}

gpuTest('GPU latency runs AVGPOOL and SWISH in FP16 and FP32', async (t) => {
  const d = encodeDescriptor(buildGraph(3, cellSpecs(true)));
  for (const precision of ['fp16', 'fp32']) {
    const r = await withEngine('cuda', (e) => latencyOf(e, d, { batchSize: 8, resolution: 32, precision, iterations: 5 }));
    t.true(r.meanMs > 0, `${precision}: ${JSON.stringify(r)}`);
  }
});

gpuTest('CUDA graphs change no score or gradient (ZENNAS_CUDA_GRAPHS=0 in a child process = graphs on here)', async (t) => {
  const zenD = encodeDescriptor(buildGraph(3, cellSpecs(false)));
  const gradD = encodeDescriptor(allOps());
  const zenOpts = { batchSize: 4, resolution: 12, repeats: 4, seed: 3, mode: 'official' };
  const gradOpts = { batchSize: 4, resolution: 12, repeats: 3, seed: 3, loss: 'cross-entropy', returnGradients: true };
  // In this process graphs are on (auto: ≥ 2 repeats) unless the environment says otherwise.
  const here = await withEngine('cuda', async (e) => ({
    zen: (await e.zenScore(zenD, zenOpts)).scores,
    grad: await e.run!('gradients', gradD, gradOpts),
  }));
  const script = `
    const { Engine } = require(${JSON.stringify(path.resolve(__dirname, '../src/engine/engine'))});
    (async () => {
      const e = new Engine({ backend: 'cuda' });
      const zen = (await e.zenScore(Int32Array.from(${JSON.stringify([...zenD])}), ${JSON.stringify(zenOpts)})).scores;
      const g = await e.run('gradients', Int32Array.from(${JSON.stringify([...gradD])}), ${JSON.stringify(gradOpts)});
      e.close();
      console.log(JSON.stringify({ zen, loss: g.scores, norm: g.series.gradNorm, grads: g.gradients.map((x) => Array.from(x.data)) }));
    })().catch((err) => { console.error(err); process.exit(1); });`;
  const child = spawnSync(process.execPath, ['--import=tsx', '-e', script], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ZENNAS_CUDA_GRAPHS: '0' } });
  t.is(child.status, 0, child.stderr);
  const there = JSON.parse(child.stdout.trim().split('\n').pop()!) as { zen: number[]; loss: number[]; norm: number[]; grads: number[][] };
  t.deepEqual(there.zen, here.zen);
  t.deepEqual(there.loss, here.grad.scores);
  t.deepEqual(there.norm, here.grad.series.gradNorm);
  t.deepEqual(there.grads, (here.grad.gradients ?? []).map((g) => Array.from(g.data)));
});

gpuTest('many distinct candidates through one CUDA engine: plans evicted, pool reused, scores unchanged', async (t) => {
  const d = scored(CIFAR_INIT);
  const opts = { batchSize: 4, resolution: 32, repeats: 2, seed: 17 };
  await withEngine('cuda', async (e) => {
    const first = (await e.zenScore(d, opts)).scores;
    // More distinct plans than the cache holds (8 per proxy): every eviction returns its buffers to the pool.
    for (let w = 8; w < 8 + 12; w++) {
      const s = `SuperConvK3BNRELU(3,${w},1,1)SuperResK3K3(${w},16,2,8,1)`;
      const r = await e.zenScore(scored(s), opts);
      t.true(Number.isFinite(r.scores[0]!), s);
      await e.run!('gradients', scored(s), { batchSize: 4, resolution: 16, seed: 1 });
    }
    t.deepEqual((await e.zenScore(d, opts)).scores, first);
  });
});
