/**
 * The search workload on the CPU: 40 real Space-I CIFAR candidates (candidates.json, from a
 * quick-start `zennas search`) scored one after another — each a new structure, so plan compile,
 * weight draw and scoring all count — by the zennas engine (conv 'auto' and 'direct') and by
 * PyTorch (torch_worker.py: torch_zen.py's definition), alternating candidate by candidate in one
 * run. See README.md here.
 *
 *   npx tsx benchmarks/search-workload/run.ts [--rounds 2] [--threads 2] [--no-torch] [--json out.json]
 *
 * Env: ZENNAS_PYTHON (a Python with torch + numpy; default .venv-bench/bin/python).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { spawn, spawnSync, execFileSync, ChildProcessWithoutNullStreams } from 'child_process';
import { parseStructure } from '../../src/grammar/parse';
import { lowerForScoring, inferShapes } from '../../src/model/lower';
import { layerFlops } from '../../src/model/layers';
import { encodeDescriptor, decodeDescriptor } from '../../src/ops/descriptor';
import { Engine } from '../../src/engine/engine';

const ROOT = path.resolve(__dirname, '../..');
const HERE = __dirname;
const CONVS = ['auto', 'direct'] as const;
type Conv = (typeof CONVS)[number];

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}
const fmt = (v: number | undefined, d = 3) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN; };

interface Candidate { iteration: number; structure: string; params: number; flops: number }
const list = JSON.parse(fs.readFileSync(arg('candidates', path.join(HERE, 'candidates.json')), 'utf8')) as { settings: Record<string, unknown>; candidates: Candidate[] };
const BATCH = 64, RES = 32, SEED = 0;

const prepared = list.candidates.map((c) => {
  const g = lowerForScoring(parseStructure(c.structure));
  const shapes = inferShapes(g, RES);
  const macs = g.nodes.reduce((a, l, i) => a + layerFlops(l, shapes[i]!), 0);  // multiply-adds per image (scored net)
  const descriptor = encodeDescriptor(g);
  return { ...c, descriptor, decoded: decodeDescriptor(descriptor), macs, flopPerCandidate: 2 * 2 * macs * BATCH };  // 2 forwards × 2 FLOP per MAC
});

/** Per candidate: plan compile, weight + input draw, Winograd weight transform, forward (ms), from ZENNAS_PROFILE=1 in a child process. */
function profilePass(threads: number): Array<Record<Conv, { compileMs: number; drawMs: number; winoWeightsMs: number; opsMs: number; totalMs: number }>> {
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, '--profile-pass', '--threads', String(threads)],
    { env: { ...process.env, ZENNAS_PROFILE: '1' }, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`profile pass failed:\n${r.stderr}`);
  const out: Array<Record<Conv, { compileMs: number; drawMs: number; winoWeightsMs: number; opsMs: number; totalMs: number }>> = prepared.map(() => ({} as never));
  let cur: { i: number; conv: Conv; compileMs: number; drawMs: number; winoWeightsMs: number; opsMs: number } | undefined;
  for (const line of r.stderr.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^candidate (\d+) (\w+) begin/.exec(line))) cur = { i: Number(m[1]), conv: m[2] as Conv, compileMs: 0, drawMs: 0, winoWeightsMs: 0, opsMs: 0 };
    else if (cur && (m = /^zennas-profile plan compile ([\d.]+) ms/.exec(line))) cur.compileMs += Number(m[1]);
    else if (cur && (m = /^zennas-profile draw .*: ([\d.]+) ms/.exec(line))) cur.drawMs += Number(m[1]);
    else if (cur && (m = /^zennas-profile winograd weights ([\d.]+) ms/.exec(line))) cur.winoWeightsMs += Number(m[1]);
    else if (cur && (m = /^zennas-profile \S+\s.* ([\d.]+) ms\s+[\d.]+ GFLOP\/s/.exec(line))) cur.opsMs += Number(m[1]);
    else if (cur && (m = /^candidate (\d+) (\w+) end ([\d.]+)/.exec(line))) {
      const { i, conv, ...rest } = cur;
      out[i]![conv] = { ...rest, opsMs: rest.opsMs - rest.winoWeightsMs, totalMs: Number(m[3]) * 1e3 };
      cur = undefined;
    }
  }
  return out;
}

/** A persistent torch_worker.py: one candidate per request, so torch and zennas alternate. */
class TorchWorker {
  private proc: ChildProcessWithoutNullStreams;
  private lines: AsyncIterableIterator<string>;
  constructor(python: string) {
    this.proc = spawn(python, [path.join(HERE, 'torch_worker.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (d) => process.stderr.write(d));
    this.lines = readline.createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  async ask<T>(msg: unknown): Promise<T> {
    this.proc.stdin.write(JSON.stringify(msg) + '\n');
    const r = await this.lines.next();
    if (r.done) throw new Error('torch_worker.py exited');
    return JSON.parse(r.value) as T;
  }
  close() { this.proc.stdin.end(); }
}

function python(): string {
  if (process.env.ZENNAS_PYTHON) return process.env.ZENNAS_PYTHON;
  const py = path.join(ROOT, '.venv-bench', 'bin', 'python');
  if (!fs.existsSync(py)) throw new Error(`no ${py}: create it as benchmarks/zen-score-cpu/README.md says, or set ZENNAS_PYTHON`);
  return py;
}

function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown', flags = '';
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    cpu = /model name\s*:\s*(.*)/.exec(info)?.[1]?.trim() ?? cpu;
    flags = /flags\s*:\s*(.*)/.exec(info)?.[1] ?? '';
  } catch { /* not Linux */ }
  const git = (...a: string[]) => { try { return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { return 'unknown'; } };
  const mhz = os.cpus()[0]?.speed ?? 0;
  return {
    cpu, logicalCores: os.cpus().length, mhz, avx512: /\bavx512f\b/.test(flags), node: process.version,
    commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '', date: new Date().toISOString(),
  };
}

async function profileChild(threads: number): Promise<void> {
  const engine = new Engine({ backend: 'cpu', threads });
  try {
    for (const [i, p] of prepared.entries())
      for (const conv of CONVS) {
        process.stderr.write(`candidate ${i} ${conv} begin\n`);
        const r = await engine.zenScore(p.descriptor, { batchSize: BATCH, resolution: RES, repeats: 1, seed: SEED, conv });
        process.stderr.write(`candidate ${i} ${conv} end ${r.seconds}\n`);
      }
  } finally {
    engine.close();
  }
}

async function main(): Promise<void> {
  const threads = Number(arg('threads', '2')), rounds = Number(arg('rounds', '2'));
  if (process.argv.includes('--profile-pass')) return profileChild(threads);
  const withTorch = !process.argv.includes('--no-torch');
  const load: number[] = [os.loadavg()[0]!];
  const engine = new Engine({ backend: 'cpu', threads });
  const torch = withTorch ? new TorchWorker(python()) : undefined;
  const torchInfo = torch ? await torch.ask<{ torch: string; threads: number }>({ hello: true }) : undefined;
  const net = (p: (typeof prepared)[number]) => ({ name: String(p.iteration), ...p.decoded, batch: BATCH, resolution: RES, seed: SEED, mode: 'paper', alpha: 0.01, bnEps: 1e-5 });
  // warm-up (not timed): first-call costs of both sides (thread pools, torch's kernels)
  for (const p of prepared.slice(0, 2)) {
    for (const conv of CONVS) await engine.zenScore(p.descriptor, { batchSize: BATCH, resolution: RES, repeats: 1, seed: SEED + 1, conv });
    if (torch) await torch.ask({ net: net(p), threads, philox: false });
  }
  type Row = { wall: Record<Conv | 'torch' | 'torchWarm', number[]>; engineSeconds: Record<Conv, number[]>; score: Partial<Record<Conv, number>>; torchScore?: number; torchPhiloxScore?: number; torchParts?: Record<string, number[]> };
  const rows: Row[] = prepared.map(() => ({ wall: { auto: [], direct: [], torch: [], torchWarm: [] }, engineSeconds: { auto: [], direct: [] }, score: {}, torchParts: { build: [], init: [], forward: [] } }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, p] of prepared.entries()) {
      // alternate the order within a candidate from round to round (auto, direct, torch / torch, direct, auto)
      const order: Array<Conv | 'torch'> = round % 2 === 0 ? ['auto', 'direct', 'torch'] : ['torch', 'direct', 'auto'];
      for (const who of order) {
        const row = rows[i]!;
        if (who === 'torch') {
          if (!torch) continue;
          const r = await torch.ask<{ seconds: number; buildSeconds: number; initSeconds: number; forwardSeconds: number; warmForwardSeconds?: number; score: number; philoxScore?: number }>({ net: net(p), threads, philox: round === 0, warm: true });
          row.wall.torch.push(r.seconds);  // the worker's own timing: build + init + two forwards + score (no IPC)
          row.wall.torchWarm.push(r.buildSeconds + r.initSeconds + r.warmForwardSeconds!);
          row.torchParts!.build!.push(r.buildSeconds); row.torchParts!.init!.push(r.initSeconds); row.torchParts!.forward!.push(r.forwardSeconds);
          if (r.philoxScore !== undefined) row.torchPhiloxScore = r.philoxScore;
          continue;
        }
        const t0 = process.hrtime.bigint();
        const r = await engine.zenScore(p.descriptor, { batchSize: BATCH, resolution: RES, repeats: 1, seed: SEED, conv: who });
        row.wall[who].push(Number(process.hrtime.bigint() - t0) / 1e9);
        row.engineSeconds[who].push(r.seconds);
        row.score[who] = r.scores[0]!;
      }
    }
    load.push(os.loadavg()[0]!);
  }
  engine.close();
  torch?.close();
  const prof = profilePass(threads);
  load.push(os.loadavg()[0]!);

  // ---- figures
  const m = machine();
  const ghz = (m.mhz || 2600) / 1000;
  const peakAvx2 = m.logicalCores * 2 * 8 * 2 * ghz;  // cores × 2 FMA ports × 8 fp32 lanes × 2 FLOP × GHz
  const flopAll = sum(prepared.map((p) => p.flopPerCandidate));
  const per = (who: Conv | 'torch' | 'torchWarm') => {
    const seconds = rows.map((r) => median(r.wall[who]));
    const total = sum(seconds);
    return { secondsPerCandidateMedian: seconds, totalSeconds: total, candidatesPerSecond: prepared.length / total, gflops: flopAll / total / 1e9, percentOfAvx2Peak: (100 * flopAll) / total / 1e9 / peakAvx2 };
  };
  const auto = per('auto'), direct = per('direct'), torchFig = torch ? per('torch') : undefined, torchWarm = torch ? per('torchWarm') : undefined;
  const candidates = prepared.map((p, i) => {
    const r = rows[i]!, pr = prof[i]!;
    const ov = (c: Conv) => pr[c] ? (pr[c].compileMs + pr[c].drawMs + pr[c].winoWeightsMs) / pr[c].totalMs : undefined;
    return {
      iteration: p.iteration, structure: p.structure, params: p.params, macsPerImage: p.macs,
      seconds: { auto: median(r.wall.auto), direct: median(r.wall.direct), torch: torch ? median(r.wall.torch) : undefined, torchWarm: torch ? median(r.wall.torchWarm) : undefined },
      torchParts: torch ? Object.fromEntries(Object.entries(r.torchParts!).map(([k, v]) => [k, median(v)])) : undefined,
      score: { auto: r.score.auto, direct: r.score.direct, torchPhilox: r.torchPhiloxScore },
      absScoreDiffAutoVsDirect: Math.abs(r.score.auto! - r.score.direct!),
      absScoreDiffDirectVsTorch: r.torchPhiloxScore === undefined ? undefined : Math.abs(r.score.direct! - r.torchPhiloxScore),
      profileMs: pr, overheadShare: { auto: ov('auto'), direct: ov('direct') },
    };
  });
  const overhead = (c: Conv) => {
    const parts = { compileMs: 0, drawMs: 0, winoWeightsMs: 0, opsMs: 0, totalMs: 0 };
    for (const p of prof) for (const k of Object.keys(parts) as Array<keyof typeof parts>) parts[k] += p[c]?.[k] ?? 0;
    return { ...parts, share: (parts.compileMs + parts.drawMs + parts.winoWeightsMs) / parts.totalMs, compileShare: parts.compileMs / parts.totalMs, drawShare: parts.drawMs / parts.totalMs, winoWeightsShare: parts.winoWeightsMs / parts.totalMs };
  };
  const report = {
    benchmark: 'search-workload', machine: { ...m, torch: torchInfo?.torch },
    settings: { candidates: prepared.length, batch: BATCH, resolution: RES, seed: SEED, repeats: 1, rounds, threads, source: list.settings },
    loadAverage1m: load,
    peak: { avx2GFlops: peakAvx2, basis: `${m.logicalCores} cores × 2 FMA ports × 8 fp32 lanes (AVX2) × 2 FLOP × ${ghz} GHz (cpuinfo); the zennas kernels are AVX2+FMA${m.avx512 ? '; this CPU also has AVX-512 (torch/oneDNN may use it: twice this peak)' : ''}` },
    method: 'Each candidate: lowerForScoring + encodeDescriptor once (outside the timing); zennas: engine.zenScore(batch 64, 32², repeats 1, seed 0) wall time through the API '
      + '(plan compile + weight/input draw + two BN groups in one forward + score; 40 structures cycle through the 8-plan cache, so every call compiles); '
      + 'torch: torch_worker.py (torch_zen.py definitions) build nn.Module + nn.init.normal_/torch.randn + two train-mode forwards + score, its own timing '
      + '(what a PyTorch search pays for a new structure, per-shape oneDNN set-up included); "torch, warm forwards": the same with the two forwards timed a second time on the same model (a lower bound). '
      + 'Per candidate the three run back to back, order alternating by round; figures are medians over rounds. '
      + 'GFLOP/s = Σ 2 forwards × multiply-adds of the scored net × 64 × 2 / Σ seconds (direct-convolution equivalent, also for Winograd). '
      + 'Overhead: a separate pass with ZENNAS_PROFILE=1 (plan compile incl. buffers, weight + input draw, Winograd weight transform) / the call\'s engine seconds.',
    figures: {
      auto, direct, torch: torchFig, torchWarm,
      ratioTorchOverAuto: torchFig ? torchFig.totalSeconds / auto.totalSeconds : undefined,
      ratioTorchWarmOverAuto: torchWarm ? torchWarm.totalSeconds / auto.totalSeconds : undefined,
      ratioTorchOverDirect: torchFig ? torchFig.totalSeconds / direct.totalSeconds : undefined,
      ratioDirectOverAuto: direct.totalSeconds / auto.totalSeconds,
      maxAbsScoreDiffAutoVsDirect: Math.max(...candidates.map((c) => c.absScoreDiffAutoVsDirect)),
      maxAbsScoreDiffDirectVsTorch: torch ? Math.max(...candidates.map((c) => c.absScoreDiffDirectVsTorch ?? 0)) : undefined,
      overhead: { auto: overhead('auto'), direct: overhead('direct') },
    },
    candidates,
  };
  const f = report.figures;
  console.log(`search-workload: ${m.cpu}, ${m.logicalCores} cores @ ${ghz} GHz, node ${m.node}, torch ${torchInfo?.torch ?? '—'}, threads ${threads}, ${prepared.length} candidates × ${rounds} rounds, commit ${m.commit.slice(0, 10)}${m.dirty ? '+dirty' : ''}, ${m.date}`);
  console.log(`load average (1 min) over the run: ${load.map((l) => l.toFixed(2)).join(' → ')}${load.some((l) => l > threads + 0.5) ? '  WARNING: other work shared the CPU' : ''}`);
  console.log('| side | candidates/s | s total | GFLOP/s (direct-equiv.) | % AVX2 peak |');
  console.log('|---|---|---|---|---|');
  for (const [name, v] of [['zennas auto', auto], ['zennas direct', direct], ['torch', torchFig], ['torch, warm forwards', torchWarm]] as const)
    if (v) console.log(`| ${name} | ${fmt(v.candidatesPerSecond, 2)} | ${fmt(v.totalSeconds, 2)} | ${fmt(v.gflops, 1)} | ${fmt(v.percentOfAvx2Peak, 1)} |`);
  console.log(`torch/auto ${fmt(f.ratioTorchOverAuto, 2)}× (warm forwards ${fmt(f.ratioTorchWarmOverAuto, 2)}×), torch/direct ${fmt(f.ratioTorchOverDirect, 2)}×, direct/auto ${fmt(f.ratioDirectOverAuto, 2)}×; max |score auto − direct| ${f.maxAbsScoreDiffAutoVsDirect.toExponential(1)}`
    + (f.maxAbsScoreDiffDirectVsTorch !== undefined ? `, max |score direct − torch (Philox)| ${f.maxAbsScoreDiffDirectVsTorch.toExponential(1)}` : ''));
  for (const c of CONVS) {
    const o = f.overhead[c];
    console.log(`overhead (${c}): ${(100 * o.share).toFixed(1)}% of engine time — plan compile ${(100 * o.compileShare).toFixed(1)}%, draw ${(100 * o.drawShare).toFixed(1)}%, Winograd weights ${(100 * o.winoWeightsShare).toFixed(1)}%`);
  }
  const jsonOut = arg('json', '');
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(report, null, 2) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
