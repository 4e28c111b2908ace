/**
 * The training stage: each pending net exported with `exportPytorch` (the net as trained, 10-class
 * head, grayscale input) and trained by train.py under `nice -n 19`, one thread per process,
 * `workers` processes at a time (default 1); each row appended to the CSV as soon as its net
 * finishes (a killed run loses the nets in flight only). Rows are in finishing order.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { ZennasError } from '../../src/errors';
import { exportPytorch } from '../../src/export/pytorch';
import { parseStructure } from '../../src/grammar/parse';
import { lowerAsTrained } from '../../src/model/lower';
import { encodeDescriptor } from '../../src/ops/descriptor';
import { NUM_CLASSES, type BenchNet } from './nets';
import { appendResult, pendingNets, readResults } from './results-csv';

const ROOT = path.resolve(__dirname, '../..');

/** What train.py prints. */
interface TrainOutput {
  accuracy: number;
  trainSeconds: number;
  params: number;
  trainLoss: number;
  epochs: number;
}

/** The Python that trains (ZENNAS_PYTHON, else .venv-bench). */
export function benchPython(): string {
  return process.env.ZENNAS_PYTHON ?? path.join(ROOT, '.venv-bench/bin/python');
}

/** The commit the run is on (short hash; '+dirty' when benchmarks/proxy-bench or src differ from it). */
export function currentCommit(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() || 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src', 'benchmarks/proxy-bench/train.py', 'benchmarks/proxy-bench/nets.ts'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  return dirty ? `${head}+dirty` : head;
}

function runPython(args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nice', ['-n', '19', benchPython(), ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let out = '', err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new ZennasError(signal?.aborted ? 'E_CANCELLED' : 'E_IO', `train.py: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new ZennasError('E_IO', `train.py exited with ${code}: ${err.trim().slice(-800)}`))));
  });
}

/** Options of the training stage. */
export interface TrainStageOptions {
  csv: string;
  /** Folder of the converted split and of the exported models. */
  cache: string;
  dataTag: string;
  recipe: string;
  seed: number;
  testImages: number;
  trainImages: number;
  /** Training processes at once (each one thread). */
  workers: number;
  log: (m: string) => void;
  signal?: AbortSignal;
}

/** Train every net of `nets` the CSV lacks for this recipe; returns how many were trained now. */
export async function trainNets(nets: readonly BenchNet[], o: TrainStageOptions): Promise<number> {
  const todo = pendingNets(nets, readResults(o.csv), o.recipe);
  o.log(`train: ${nets.length - todo.length} of ${nets.length} nets already in ${path.relative(process.cwd(), o.csv)}, ${todo.length} to train (recipe ${o.recipe})`);
  const models = path.join(o.cache, 'models');
  fs.mkdirSync(models, { recursive: true });
  const commit = currentCommit();
  let k = 0, next = 0;
  const worker = async () => {
    while (next < todo.length) await one(todo[next++]!);
  };
  const one = async (n: BenchNet) => {
    const py = path.join(models, `${n.id}.py`);
    fs.writeFileSync(py, exportPytorch(encodeDescriptor(lowerAsTrained(parseStructure(n.structure), { numClasses: NUM_CLASSES })), { docString: n.structure }));
    const out = await runPython([path.join(__dirname, 'train.py'), '--model', py, '--data', o.cache, '--tag', o.dataTag, '--recipe', o.recipe, '--seed', String(o.seed), '--threads', '1'], o.signal);
    const r = JSON.parse(out.trim().split('\n').pop()!) as TrainOutput;
    if (r.params !== n.params) throw new ZennasError('E_INTERNAL', `${n.id}: the exported module has ${r.params} parameters, zennas counts ${n.params}`);
    appendResult(o.csv, {
      id: n.id, space: n.space, structure: n.structure, params: String(n.params), flops: String(n.flops), layers: String(n.layers),
      accuracy: r.accuracy.toFixed(4), train_loss: Number.isFinite(r.trainLoss) ? r.trainLoss.toFixed(4) : 'nan', train_seconds: r.trainSeconds.toFixed(1),
      recipe: o.recipe, epochs: String(r.epochs), train_images: String(o.trainImages), test_images: String(o.testImages), seed: String(o.seed), commit,
    });
    k++;
    o.log(`train: ${n.id} (${k}/${todo.length}) params ${n.params} FLOPs ${(n.flops / 1e6).toFixed(1)}M → accuracy ${(100 * r.accuracy).toFixed(2)} % in ${r.trainSeconds.toFixed(0)} s`);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.workers, todo.length)) }, worker));
  return k;
}
