/**
 * GPU latency (DESIGN §4) of the zennas CUDA backend vs PyTorch CUDA on the same GPU, in one run,
 * and against the paper's budgets (ZenNet-ImageNet latency models: 0.1–1.2 ms/image on a V100,
 * FP16, batch 64). Run on a GPU machine (see README.md here): `npx tsx benchmarks/latency-gpu/bench.ts`.
 * Env: PYTHON (default python3), ITERATIONS (30), WARMUP (10), BATCH (64), PRECISION (fp16).
 * When TensorRT's trtexec is found (PATH or ZENNAS_TRTEXEC), a TensorRT column is added.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { Engine, LatencyResult } from '../../src/engine/engine';
import { findTrtexec, tensorRtLatency } from '../../src/latency/tensorrt';
import { parseStructure } from '../../src/grammar/parse';
import { lowerAsTrained } from '../../src/model/lower';
import { encodeDescriptor, decodeDescriptor } from '../../src/ops/descriptor';

type Latency = Pick<LatencyResult, 'meanMs' | 'medianMs' | 'p90Ms' | 'imagesPerSecond'>;

const ZOO = process.env.ZENNAS_ZOO ?? path.resolve(__dirname, '../../test/fixtures/zennets');
const RESNET18 = 'SuperConvK7BNRELU(3,64,2,1)MaxPool(64,64,3,2)SuperResK3K3(64,64,1,64,2)SuperResK3K3(64,128,2,128,2)SuperResK3K3(128,256,2,256,2)SuperResK3K3(256,512,2,512,2)';
const RESNET50 = 'SuperConvK7BNRELU(3,64,2,1)MaxPool(64,64,3,2)SuperResK1K3K1(64,256,1,64,3)SuperResK1K3K1(256,512,2,128,4)SuperResK1K3K1(512,1024,2,256,6)SuperResK1K3K1(1024,2048,2,512,3)';
const ITERATIONS = Number(process.env.ITERATIONS ?? 30);
const WARMUP = Number(process.env.WARMUP ?? 10);
const BATCH = Number(process.env.BATCH ?? 64);
const PRECISION = (process.env.PRECISION ?? 'fp16') as 'fp16' | 'fp32';

/** Paper budget in ms per image (V100, FP16, batch 64) from the zoo file name: latency01ms → 0.1. */
function budgetOf(file: string): number | undefined {
  const m = /latency(\d)(\d)ms/.exec(file);
  return m ? Number(`${m[1]}.${m[2]}`) : undefined;
}

async function main(): Promise<void> {
  const zoo = fs.readdirSync(ZOO).filter((f) => /^zennet_imagenet1k_latency\d+ms_res224\.txt$/.test(f)).sort();
  const cases = [
    { name: 'ResNet-18', structure: RESNET18, budget: undefined as number | undefined },
    { name: 'ResNet-50', structure: RESNET50, budget: undefined as number | undefined },
    ...zoo.map((f) => ({ name: f.replace(/_res224\.txt$/, ''), structure: fs.readFileSync(path.join(ZOO, f), 'utf8').trim(), budget: budgetOf(f) })),
  ];
  const descriptors = cases.map((c) => encodeDescriptor(lowerAsTrained(parseStructure(c.structure), { numClasses: 1000 })));
  const opts = { batchSize: BATCH, resolution: 224, precision: PRECISION, warmup: WARMUP, iterations: ITERATIONS, engine: 'cudnn' } as const;

  const engine = new Engine({ backend: 'cuda' });
  const ours: Latency[] = [];
  try {
    for (const d of descriptors) ours.push(await engine.latency(d, opts));
  } finally {
    engine.close();
  }
  const trt = findTrtexec();
  const tensorrt: (Latency | undefined)[] = [];
  let trtVersion = '';
  if (trt.path) {
    for (const d of descriptors) {
      const r = await tensorRtLatency(d, { ...opts, trtexec: trt.path });
      trtVersion = r.tensorrtVersion ?? '';
      tensorrt.push(r);
    }
  } else {
    process.stderr.write(`TensorRT column left out: ${trt.reason}\n`);
  }

  const specs = cases.map((c, i) => ({ name: c.name, spec: decodeDescriptor(descriptors[i]!), batch: BATCH, resolution: 224, precision: PRECISION, warmup: WARMUP, iterations: ITERATIONS }));
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-bench-')), 'specs.json');
  fs.writeFileSync(tmp, JSON.stringify(specs));
  const py = spawnSync(process.env.PYTHON ?? 'python3', [path.join(__dirname, 'bench_torch.py'), tmp], { encoding: 'utf8', maxBuffer: 1 << 26 });
  let torch: { device?: string; torch?: string; results: Array<Latency & { name: string; channelsLastMeanMs?: number }> } = { results: [] };
  if (py.status === 0) torch = JSON.parse(py.stdout.trim().split('\n').pop()!);
  else process.stderr.write(`PyTorch baseline not run (${py.error?.message ?? py.stderr.trim().split('\n').pop()})\n`);

  process.stdout.write(`Latency, ${PRECISION}, batch ${BATCH}, 224×224, ${ITERATIONS} timed after ${WARMUP} warm-up: zennas cuDNN vs PyTorch ${torch.torch ?? '-'} on ${torch.device ?? 'this GPU'}\n`);
  if (trt.path) process.stdout.write(`TensorRT ${trtVersion} via ${trt.path} (ONNX export, strongly typed)\n`);
  process.stdout.write('model                          zennas ms  ms/img   p90 ms   torch ms  torch NHWC  speed-up  TensorRT ms  paper V100 ms/img\n');
  cases.forEach((c, i) => {
    const o = ours[i]!;
    const b = torch.results.find((x) => x.name === c.name);
    const cols = [
      c.name.padEnd(30),
      o.meanMs.toFixed(2).padStart(9),
      (o.meanMs / BATCH).toFixed(4).padStart(7),
      o.p90Ms.toFixed(2).padStart(8),
      (b ? b.meanMs.toFixed(2) : '-').padStart(10),
      (b?.channelsLastMeanMs ? b.channelsLastMeanMs.toFixed(2) : '-').padStart(11),
      (b ? (b.meanMs / o.meanMs).toFixed(2) + '×' : '-').padStart(9),
      (tensorrt[i] ? tensorrt[i]!.meanMs.toFixed(2) : '-').padStart(12),
      (c.budget !== undefined ? c.budget.toFixed(1) : '-').padStart(18),
    ];
    process.stdout.write(cols.join(' ') + '\n');
  });
}

main().catch((e) => { process.stderr.write(`${e?.code ? `[${e.code}] ` : ''}${e?.message ?? e}\n`); process.exitCode = 1; });
