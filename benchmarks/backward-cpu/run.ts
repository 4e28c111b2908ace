/**
 * Backward pass on the CPU: one training-mode forward + backward (loss = Σ outputs) through the
 * zennas engine (engine.run('gradients')) vs PyTorch CPU autograd (bench_torch.py), in one run,
 * same networks (as trained: residual links, classifier head), same Philox weights and input,
 * same thread count. Reports seconds per forward+backward and the ratio, and checks that both
 * compute the same gradients (per-op gradient norms, repeat 0). See README.md here.
 *
 *   npx tsx benchmarks/backward-cpu/run.ts [--iterations 5] [--threads 2] [--cases resnet18,zennet1M,spaceI] [--json out.json]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { parseStructure } from '../../src/grammar/parse';
import { lowerAsTrained } from '../../src/model/lower';
import { decodeDescriptor, encodeDescriptor } from '../../src/ops/descriptor';
import { Engine } from '../../src/engine/engine';
import { spaceI } from '../../src/spaces/space-i';
import { RESNET18 } from '../zen-score-cpu/run';

const ROOT = path.resolve(__dirname, '../..');
const arg = (k: string, d: string) => { const i = process.argv.indexOf(`--${k}`); return i >= 0 ? process.argv[i + 1]! : d; };

interface Case { key: string; name: string; structure: string; batch: number; resolution: number; classes: number }
const zoo = (f: string) => fs.readFileSync(path.join(ROOT, 'test/fixtures/zennets', f), 'utf8').trim();
const ALL: Case[] = [
  { key: 'resnet18', name: 'ResNet-18', structure: RESNET18, batch: 16, resolution: 224, classes: 1000 },
  { key: 'zennet1M', name: 'ZenNet CIFAR 1M', structure: zoo('zennet_cifar_model_size1M_res32.txt'), batch: 64, resolution: 32, classes: 100 },
  { key: 'spaceI', name: 'Space-I CIFAR initial net', structure: spaceI.presets.cifar!.initial, batch: 64, resolution: 32, classes: 100 },
];

function python(): string {
  const p = process.env.ZENNAS_PYTHON ?? path.join(ROOT, '.venv-bench/bin/python');
  if (!fs.existsSync(p) && p.includes('/')) throw new Error(`no Python with torch at ${p}: set ZENNAS_PYTHON or run bash .ci/run once`);
  return p;
}

async function main() {
  const iterations = Number(arg('iterations', '5')), threads = Number(arg('threads', '2')), warmup = 1;
  const keys = arg('cases', ALL.map((c) => c.key).join(',')).split(',');
  const cases = ALL.filter((c) => keys.includes(c.key));
  const prepared = cases.map((c) => {
    const graph = lowerAsTrained(parseStructure(c.structure), { numClasses: c.classes });
    return { c, graph, d: encodeDescriptor(graph) };
  });
  // zennas: repeats = iterations (each redraws weights and input: included in its time)
  const engine = new Engine({ threads });
  const ours: { seconds: number[]; loss: number; norms: Map<number, number> }[] = [];
  for (const p of prepared) {
    const o = { batchSize: p.c.batch, resolution: p.c.resolution, seed: 1 };
    const first = await engine.run('gradients', p.d, { ...o, returnGradients: true });
    const norms = new Map(first.gradients!.map((g) => [g.op, Math.sqrt(g.data.reduce((a, v) => a + v * v, 0))]));
    const seconds: number[] = [];
    for (let i = 0; i < warmup + iterations; i++) {
      const r = await engine.run('gradients', p.d, { ...o, firstRepeat: i });
      if (i >= warmup) seconds.push(r.seconds);
    }
    ours.push({ seconds, loss: first.scores[0]!, norms });
  }
  engine.close();
  const spec = { threads, iterations, warmup, nets: prepared.map((p) => ({ name: p.c.name, net: decodeDescriptor(p.d), batch: p.c.batch, resolution: p.c.resolution, seed: 1 })) };
  const tr = spawnSync(python(), [path.join(__dirname, 'bench_torch.py')], { input: JSON.stringify(spec), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (tr.status !== 0) throw new Error(`bench_torch.py failed:\n${tr.stderr}`);
  const torch = JSON.parse(tr.stdout) as { torch: string; threads: number; nets: { name: string; loss: number; norms: Record<string, number>; seconds: number[] }[] };
  const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };
  const rows = prepared.map((p, i) => {
    const t = torch.nets[i]!, z = ours[i]!;
    let worst = 0;
    for (const [op, n] of Object.entries(t.norms)) worst = Math.max(worst, Math.abs(z.norms.get(Number(op))! - n) / Math.max(n, 1e-30));
    return {
      case: p.c.name, batch: p.c.batch, resolution: p.c.resolution,
      zennasSeconds: median(z.seconds), torchSeconds: median(t.seconds), ratio: median(t.seconds) / median(z.seconds),
      lossRelDiff: Math.abs(z.loss - t.loss) / Math.max(Math.abs(t.loss), 1e-30), worstGradNormRelDiff: worst,
    };
  });
  let commit = 'unknown';
  try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { /* not a clone */ }
  const result = { commit, date: new Date().toISOString(), machine: `${os.cpus()[0]?.model ?? '?'} (${os.cpus().length} logical CPUs)`, threads, iterations, torch: torch.torch, rows };
  console.log(`backward-cpu @ ${commit}, ${result.machine}, ${threads} threads, torch ${torch.torch}, median of ${iterations}`);
  console.log('case                         batch res  zennas s  torch s  torch/zennas  loss Δrel  worst ‖g‖ Δrel');
  for (const r of rows)
    console.log(`${r.case.padEnd(28)} ${String(r.batch).padStart(5)} ${String(r.resolution).padStart(4)} ${r.zennasSeconds.toFixed(3).padStart(9)} ${r.torchSeconds.toFixed(3).padStart(8)} ${r.ratio.toFixed(2).padStart(12)}× ${r.lossRelDiff.toExponential(1).padStart(9)} ${r.worstGradNormRelDiff.toExponential(1).padStart(14)}`);
  const out = arg('json', '');
  if (out) fs.writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
