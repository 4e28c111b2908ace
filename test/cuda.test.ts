import test from 'ava';
import { findTrtexec, measureLatency } from '../src/latency';
import * as engineModule from '../src/engine/engine';
import type { Engine } from '../src/engine/engine';
import { parseStructure } from '../src/grammar/parse';
import { lowerAsTrained, lowerForScoring } from '../src/model/lower';
import { encodeDescriptor } from '../src/ops/descriptor';
import { zennas } from './helpers/cli';

// The CUDA backend (native/cuda/). Without a GPU (CI, this repository's dev machines) only the
// "unavailable" contract is checked: clear E_BACKEND errors, never a crash. The GPU tests run
// only where backends().cuda is true (a build with nvcc + cuDNN, on a machine with a GPU).

type Backends = { cpu?: boolean; cuda: boolean; cudaReason?: string };
type AnyEngine = {
  zenScore(d: Int32Array, o: Record<string, unknown>): Promise<{ scores: number[]; logDelta?: number[]; logSigmaSum?: number[] }>;
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
const gpuTest = hasGpu ? test.serial : test.skip;
const noGpuTest = hasGpu ? test.skip : test;

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

noGpuTest('zennas latency without a GPU exits with one clear E_BACKEND line', (t) => {
  const r = zennas('latency', CIFAR_INIT, '-r', '32', '-b', '8');
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
