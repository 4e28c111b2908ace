/**
 * CPU inference latency (eval mode, BN folded, as trained) of the zennas engine vs onnxruntime on
 * the same network — the file `zennas export` writes — in one run, same thread count. Reports
 * ms per mini-batch and the ratio onnxruntime / zennas (> 1: zennas is faster).
 *
 *   npx tsx benchmarks/latency-cpu/bench.ts [--threads 2] [--iterations 20] [--warmup 3] [--json out.json]
 *
 * Env: ZENNAS_PYTHON (a Python with onnxruntime + numpy; default .venv-bench/, which .ci/run
 * creates from the local wheelhouse).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { parseStructure } from '../../src/grammar/parse';
import { lowerAsTrained } from '../../src/model/lower';
import { encodeDescriptor } from '../../src/ops/descriptor';
import { Engine } from '../../src/engine/engine';
import { exportInferenceOnnx } from '../../src/export/inference';
import { latencyStats } from '../../src/latency/stats';
import { RESNET18 } from '../zen-score-cpu/run';

const ROOT = path.resolve(__dirname, '../..');
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const THREADS = Number(arg('threads', String(os.cpus().length)));
const ITERATIONS = Number(arg('iterations', '20'));
const WARMUP = Number(arg('warmup', '3'));
const zoo = (size: string) => fs.readFileSync(path.join(ROOT, `test/fixtures/zennets/zennet_cifar_model_size${size}_res32.txt`), 'utf8').trim();

const CASES = [
  { name: 'ResNet-18 b16/224', structure: RESNET18, batch: 16, resolution: 224, classes: 1000 },
  { name: 'ZenNet CIFAR 0.5M b64/32', structure: zoo('05M'), batch: 64, resolution: 32, classes: 100 },
  { name: 'ZenNet CIFAR 1M b64/32', structure: zoo('1M'), batch: 64, resolution: 32, classes: 100 },
  { name: 'ZenNet CIFAR 2M b64/32', structure: zoo('2M'), batch: 64, resolution: 32, classes: 100 },
];

function python(): string {
  for (const p of [process.env.ZENNAS_PYTHON, path.join(ROOT, '.venv-bench/bin/python')]) {
    if (p && spawnSync(p, ['-c', 'import onnxruntime, numpy']).status === 0) return p;
  }
  throw new Error('no Python with onnxruntime + numpy: run `bash .ci/run` once (it creates .venv-bench) or set ZENNAS_PYTHON');
}

async function main(): Promise<void> {
  const py = python();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-latency-cpu-'));
  const engine = new Engine({ backend: 'cpu', threads: THREADS });
  const rows: Array<{ name: string; zennasMs: number; ortMs?: number }> = [];
  const models: Array<{ name: string; path: string; shape: number[] }> = [];
  try {
    for (const c of CASES) {
      const d = encodeDescriptor(lowerAsTrained(parseStructure(c.structure), { numClasses: c.classes }));
      const file = path.join(dir, `${models.length}.onnx`);
      fs.writeFileSync(file, await exportInferenceOnnx(engine, d, { resolution: c.resolution, batchSize: c.batch }));
      models.push({ name: c.name, path: file, shape: [c.batch, 3, c.resolution, c.resolution] });
      const r = await engine.latency(d, { batchSize: c.batch, resolution: c.resolution, warmup: WARMUP, iterations: ITERATIONS });
      rows.push({ name: c.name, zennasMs: r.medianMs });
    }
    const ort = spawnSync(py, [path.join(__dirname, 'ort_latency.py')], {
      input: JSON.stringify({ threads: THREADS, warmup: WARMUP, iterations: ITERATIONS, models }), encoding: 'utf8', maxBuffer: 1 << 26,
    });
    if (ort.status !== 0) throw new Error(`ort_latency.py failed:\n${ort.stderr}`);
    const o = JSON.parse(ort.stdout.trim().split('\n').pop()!) as { onnxruntime: string; results: Array<{ name: string; samplesMs: number[] }> };
    for (const r of o.results) rows.find((x) => x.name === r.name)!.ortMs = latencyStats(r.samplesMs, 1).medianMs;
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const machine = `${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} logical cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
    process.stdout.write(`CPU latency, fp32, median of ${ITERATIONS} after ${WARMUP} warm-up, ${THREADS} threads; commit ${commit}; ${machine}; onnxruntime ${o.onnxruntime}\n`);
    process.stdout.write('network                      zennas ms   onnxruntime ms   ort / zennas\n');
    for (const r of rows) {
      process.stdout.write(`${r.name.padEnd(28)} ${r.zennasMs.toFixed(1).padStart(9)} ${(r.ortMs ?? NaN).toFixed(1).padStart(16)} ${((r.ortMs ?? NaN) / r.zennasMs).toFixed(2).padStart(14)}\n`);
    }
    const json = arg('json', '');
    if (json) {
      fs.writeFileSync(json, JSON.stringify({ commit, machine, threads: THREADS, iterations: ITERATIONS, warmup: WARMUP, onnxruntime: o.onnxruntime,
        method: 'median ms per mini-batch; zennas engine.latency (eval, BN folded) vs onnxruntime CPUExecutionProvider on the zennas export of the same network', rows }, null, 2) + '\n');
    }
  } finally {
    engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { process.stderr.write(`${e?.code ? `[${e.code}] ` : ''}${e?.message ?? e}\n`); process.exitCode = 1; });
