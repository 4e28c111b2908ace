/**
 * Backward pass on the CPU: one training-mode forward + backward (loss = Σ outputs) through the
 * zennas engine (engine.run('gradients')) vs PyTorch CPU autograd (bench_torch.py), in one run,
 * iterations alternating between the two (zennas, torch, zennas, …) so that both see the same
 * machine load; same networks (as trained: residual links, classifier head), same Philox weights
 * and input, same thread count. Reports seconds per forward+backward and the ratio — of the same
 * work as torch's timed step (forward, loss, backward: the engine's `passSeconds` series), and of
 * the whole call (which also draws the weights and input and sums the gradient norm) — and checks
 * that both compute the same gradients: loss Σ logits (float32 torch, what is timed) and softmax
 * cross-entropy with fixed labels against float64 torch. See README.md here.
 *
 *   npx tsx benchmarks/backward-cpu/run.ts [--iterations 5] [--threads 2] [--cases resnet18,zennet1M,spaceI] [--json out.json]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { execFileSync, spawn } from 'child_process';
import { parseStructure } from '../../src/grammar/parse';
import { lowerAsTrained } from '../../src/model/lower';
import { decodeDescriptor, encodeDescriptor } from '../../src/ops/descriptor';
import { Engine } from '../../src/engine/engine';
import { CASES } from './cases';

const ROOT = path.resolve(__dirname, '../..');
const arg = (k: string, d: string) => { const i = process.argv.indexOf(`--${k}`); return i >= 0 ? process.argv[i + 1]! : d; };

function python(): string {
  const p = process.env.ZENNAS_PYTHON ?? path.join(ROOT, '.venv-bench/bin/python');
  if (!fs.existsSync(p) && p.includes('/')) throw new Error(`no Python with torch at ${p}: set ZENNAS_PYTHON or run bash .ci/run once`);
  return p;
}

/** bench_torch.py as a line-protocol server: one JSON command in, one JSON answer out. */
function torchServer() {
  const child = spawn(python(), [path.join(__dirname, 'bench_torch.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b) => { stderr += String(b); });
  const lines = readline.createInterface({ input: child.stdout });
  const waiting: ((l: string) => void)[] = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  const failed = new Promise<never>((_, reject) => child.on('exit', (code) => { if (code) reject(new Error(`bench_torch.py failed:\n${stderr}`)); }));
  return {
    ask: <T>(cmd: object): Promise<T> => {
      child.stdin.write(JSON.stringify(cmd) + '\n');
      return Promise.race([new Promise<T>((resolve) => waiting.push((l) => resolve(JSON.parse(l) as T))), failed]);
    },
    close: () => { child.stdin.end(JSON.stringify({ cmd: 'quit' }) + '\n'); },
  };
}

interface Loaded { torch: string; loss: number; norms: Record<string, number>; ce: { loss: number; norms: Record<string, number>; grads: Record<string, number[]>; torch32WorstNormRelDiff: number; torch32RelL2Diff: number } }

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };
const norm = (a: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!; return Math.sqrt(s); };

/** Worst per-op relative difference of gradient norms. */
function worstNormDiff(ours: Map<number, number>, theirs: Record<string, number>) {
  let worst = 0;
  for (const [op, n] of Object.entries(theirs)) worst = Math.max(worst, Math.abs(ours.get(Number(op))! - n) / Math.max(n, 1e-30));
  return worst;
}

async function main() {
  const iterations = Number(arg('iterations', '5')), threads = Number(arg('threads', '2')), warmup = 1;
  const keys = arg('cases', CASES.map((c) => c.key).join(',')).split(',');
  const cases = CASES.filter((c) => keys.includes(c.key));
  const loadBefore = os.loadavg();
  const engine = new Engine({ threads });
  const torch = torchServer();
  let torchVersion = '?';
  const rows = [];
  for (const c of cases) {
    const d = encodeDescriptor(lowerAsTrained(parseStructure(c.structure), { numClasses: c.classes }));
    const labels = Int32Array.from({ length: c.batch }, (_, n) => (7 * n + 3) % c.classes);
    const o = { batchSize: c.batch, resolution: c.resolution, seed: 1 };
    // Checks (repeat 0): Σ logits vs float32 torch; cross-entropy vs float64 torch.
    const t = await torch.ask<Loaded>({ cmd: 'load', net: decodeDescriptor(d), batch: c.batch, resolution: c.resolution, seed: 1, threads, labels: Array.from(labels) });
    torchVersion = t.torch;
    const sum = await engine.run('gradients', d, { ...o, returnGradients: true });
    const ce = await engine.run('gradients', d, { ...o, loss: 'cross-entropy', labels, returnGradients: true });
    const sumNorms = new Map(sum.gradients!.map((g) => [g.op, norm(g.data)]));
    const ceNorms = new Map(ce.gradients!.map((g) => [g.op, norm(g.data)]));
    let diff2 = 0, ref2 = 0;  // ‖g − g64‖ / ‖g64‖ over all parameters
    for (const g of ce.gradients!) {
      const r = t.ce.grads[String(g.op)]!;
      for (let i = 0; i < r.length; i++) { diff2 += (g.data[i]! - r[i]!) ** 2; ref2 += r[i]! ** 2; }
    }
    // Timing: zennas and torch alternate, warm-up first.
    const zs: number[] = [], zp: number[] = [], ts: number[] = [];
    for (let i = 0; i < warmup + iterations; i++) {
      const z = await engine.run('gradients', d, { ...o, firstRepeat: i });
      const s = await torch.ask<{ seconds: number }>({ cmd: 'step' });
      if (i >= warmup) { zs.push(z.seconds); zp.push(z.series.passSeconds![0]!); ts.push(s.seconds); }
    }
    rows.push({
      case: c.name, batch: c.batch, resolution: c.resolution,
      zennasPassSeconds: median(zp), zennasCallSeconds: median(zs), torchSeconds: median(ts),
      ratio: median(ts) / median(zp), callRatio: median(ts) / median(zs), zennasPassAll: zp, zennasCallAll: zs, torchAll: ts,
      lossRelDiff: Math.abs(sum.scores[0]! - t.loss) / Math.max(Math.abs(t.loss), 1e-30), worstGradNormRelDiff: worstNormDiff(sumNorms, t.norms),
      ceLossRelDiff64: Math.abs(ce.scores[0]! - t.ce.loss) / Math.max(Math.abs(t.ce.loss), 1e-30),
      ceWorstGradNormRelDiff64: worstNormDiff(ceNorms, t.ce.norms), ceGradRelL2Diff64: Math.sqrt(diff2 / Math.max(ref2, 1e-300)),
      torch32CeWorstGradNormRelDiff64: t.ce.torch32WorstNormRelDiff, torch32CeGradRelL2Diff64: t.ce.torch32RelL2Diff,
    });
  }
  torch.close();
  engine.close();
  let commit = 'unknown';
  try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { /* not a clone */ }
  const result = {
    commit, date: new Date().toISOString(), machine: `${os.cpus()[0]?.model ?? '?'} (${os.cpus().length} logical CPUs)`, threads, iterations,
    loadAverage: { before: loadBefore, after: os.loadavg() }, method: 'median of alternating zennas/torch iterations after one warm-up each; ratio = torch step (zero grads, forward, Σ logits, backward) / zennas passSeconds (forward, loss seed, backward); callRatio = torch step / the whole engine call (also the Philox weight and input draw, the Winograd weight transforms, the gradient norm)', torch: torchVersion, rows,
  };
  const la = (v: number[]) => v.map((x) => x.toFixed(2)).join(' ');
  console.log(`backward-cpu @ ${commit}, ${result.machine}, ${threads} threads, torch ${torchVersion}, median of ${iterations} alternating, load ${la(loadBefore)} → ${la(os.loadavg())}`);
  console.log('case                         batch res  zennas s (call)  torch s  torch/zennas (call) | Σ: loss Δrel  worst ‖g‖ Δrel | CE vs f64: loss Δrel  worst ‖g‖ Δrel  ‖Δg‖/‖g‖ (torch f32: worst ‖g‖, ‖Δg‖/‖g‖)');
  for (const r of rows)
    console.log(`${r.case.padEnd(28)} ${String(r.batch).padStart(5)} ${String(r.resolution).padStart(4)} ${r.zennasPassSeconds.toFixed(3).padStart(9)} (${r.zennasCallSeconds.toFixed(3)}) ${r.torchSeconds.toFixed(3).padStart(8)} ${r.ratio.toFixed(2).padStart(12)}× (${r.callRatio.toFixed(2)}×) | ${r.lossRelDiff.toExponential(1).padStart(12)} ${r.worstGradNormRelDiff.toExponential(1).padStart(14)} | ${r.ceLossRelDiff64.toExponential(1).padStart(20)} ${r.ceWorstGradNormRelDiff64.toExponential(1).padStart(14)} ${r.ceGradRelL2Diff64.toExponential(1).padStart(10)} (${r.torch32CeWorstGradNormRelDiff64.toExponential(1)}, ${r.torch32CeGradRelL2Diff64.toExponential(1)})`);
  const out = arg('json', '');
  if (out) fs.writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
