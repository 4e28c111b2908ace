/**
 * Zen-score on the CPU: the zennas native engine vs PyTorch (torch_zen.py), in one run, same
 * networks, same seed (same Philox draws, so the per-repeat scores must agree to float32
 * rounding), same thread count. See README.md here.
 *
 *   npx tsx benchmarks/zen-score-cpu/run.ts [--repeats 8] [--threads 2] [--seed 1] [--mode paper]
 *        [--cases resnet18,resnet50,cifar05M,cifar1M,cifar2M] [--conv auto,direct] [--json out.json] [--torch-only]
 *
 * --conv: the engine's conv algorithms to time, each a separate zennas row (first = `zennas`):
 * 'auto' (the planner may choose Winograd) and/or 'direct'.
 *
 * Env: ZENNAS_PYTHON (a Python with torch+numpy; default: .venv-bench/, created from the local
 * wheelhouse with `python3 -m venv` + `pip install torch numpy` if missing), ZENNAS_ZOO (the
 * ZenNet zoo directory; default test/fixtures/zennets).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync, execFileSync } from 'child_process';
import { parseStructure } from '../../src/grammar/parse';
import { lowerForScoring, inferShapes } from '../../src/model/lower';
import { layerFlops } from '../../src/model/layers';
import { encodeDescriptor, decodeDescriptor } from '../../src/ops/descriptor';
import { countModel } from '../../src/model/count';
import { Engine } from '../../src/engine/engine';

const ROOT = path.resolve(__dirname, '../..');
const HERE = __dirname;

/** ResNet-18, grammar form (torchvision layout; the scoring lowering drops the residuals). */
export const RESNET18 = 'SuperConvK7BNRELU(3,64,2,1)MaxPool(64,64,3,2)SuperResK3K3(64,64,1,64,2)SuperResK3K3(64,128,2,128,2)SuperResK3K3(128,256,2,256,2)SuperResK3K3(256,512,2,512,2)';

/**
 * ResNet-50 as basic blocks (3, 4, 6, 3 bottlenecks; SuperResK1KXK1 holds two bottlenecks per
 * sub-layer and cannot express odd counts). Residuals and projections are dropped by scoring
 * anyway. `strideOn` '3x3' = torchvision (v1.5), '1x1' = the original He et al. layout (v1).
 */
export function resnet50Basic(strideOn: '3x3' | '1x1' = '3x3', maxPool = true): string {
  let s = 'ConvKX(3,64,7,2)BN(64)RELU(64)' + (maxPool ? 'MaxPool(64,64,3,2)' : '');
  let cin = 64;
  [3, 4, 6, 3].forEach((n, stage) => {
    const w = 64 << stage;
    for (let b = 0; b < n; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const s1 = strideOn === '1x1' ? stride : 1, s3 = strideOn === '3x3' ? stride : 1;
      s += `ConvKX(${cin},${w},1,${s1})BN(${w})RELU(${w})ConvKX(${w},${w},3,${s3})BN(${w})RELU(${w})ConvKX(${w},${4 * w},1,1)BN(${4 * w})RELU(${4 * w})`;
      cin = 4 * w;
    }
  });
  return s;
}

interface Case { key: string; name: string; structure: string; batch: number; resolution: number; bnEps: number }

function zooDir(): string {
  return process.env.ZENNAS_ZOO ?? path.resolve(ROOT, 'test/fixtures/zennets');
}

function allCases(): Case[] {
  const zoo = (key: string, size: string): Case => ({
    key, name: `ZenNet CIFAR ${size}`, batch: 64, resolution: 32,
    // the official ZenNet masternet builds its BNs with ε = 1e-3 (DESIGN §1)
    bnEps: 1e-3, structure: fs.readFileSync(path.join(zooDir(), `zennet_cifar_model_size${size}_res32.txt`), 'utf8').trim(),
  });
  return [
    { key: 'resnet18', name: 'ResNet-18', structure: RESNET18, batch: 16, resolution: 224, bnEps: 1e-5 },
    { key: 'resnet50', name: 'ResNet-50', structure: resnet50Basic('3x3'), batch: 16, resolution: 224, bnEps: 1e-5 },
    zoo('cifar05M', '05M'), zoo('cifar1M', '1M'), zoo('cifar2M', '2M'),
  ];
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

/** A Python with torch + numpy: ZENNAS_PYTHON, else .venv-bench/ (created from the wheelhouse when missing). */
function ensurePython(): string {
  if (process.env.ZENNAS_PYTHON) return process.env.ZENNAS_PYTHON;
  const venv = path.join(ROOT, '.venv-bench');
  const py = path.join(venv, 'bin', 'python');
  const ok = () => fs.existsSync(py) && spawnSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
  if (!ok()) {
    process.stderr.write(`creating ${venv} (torch, numpy) …\n`);
    execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    // no retries: offline machines resolve from the configured local wheelhouse/indexes, and an
    // unreachable default index then costs seconds instead of minutes
    execFileSync(py, ['-m', 'pip', 'install', '--quiet', '--retries', '0', '--timeout', '10', 'torch', 'numpy'], { stdio: 'inherit' });
    if (!ok()) throw new Error(`${py} cannot import torch and numpy`);
  }
  return py;
}

function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch { /* not Linux */ }
  const git = (...a: string[]) => { try { return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { return 'unknown'; } };
  return {
    cpu, logicalCores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}`,
    node: process.version, commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '', date: new Date().toISOString(),
  };
}

type ZenResult = { mean: number; std: number; scores: number[]; seconds: number };

/** The native CPU engine, or the reason it is unavailable (the torch side still runs). */
function loadEngine(threads: number): Engine | string {
  try {
    return new Engine({ backend: 'cpu', threads });
  } catch (e) {
    return `engine unavailable: ${(e as Error).message.split('\n')[0]}`;
  }
}

interface TorchResult {
  name: string; macsPerImage: number; scores: number[]; mean: number; std: number;
  meanRepeatSeconds: number; meanForwardSeconds: number; meanRepeatSecondsPhilox: number; meanInitPhiloxSeconds: number;
  repeatSeconds: number[]; forwardSeconds: number[];
}

const fmt = (v: number | undefined, d = 3) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

async function main(): Promise<void> {
  const repeats = Number(arg('repeats', '8')), threads = Number(arg('threads', '2')), seed = Number(arg('seed', '1'));
  const mode = arg('mode', 'paper') as 'paper' | 'official';
  const keys = arg('cases', 'resnet18,resnet50,cifar05M,cifar1M,cifar2M').split(',');
  const torchOnly = process.argv.includes('--torch-only');
  const cases = allCases().filter((c) => keys.includes(c.key));

  const prepared = cases.map((c) => {
    const structure = parseStructure(c.structure);
    const list = lowerForScoring(structure);
    const shapes = inferShapes(list, c.resolution);
    // FLOPs of the scored network (residual projections removed): multiply-adds per image
    const macs = list.nodes.reduce((a, l, i) => a + layerFlops(l, shapes[i]!), 0);
    const asTrained = countModel(structure, { resolution: c.resolution, numClasses: 0 });
    const descriptor = encodeDescriptor(list);
    return { c, descriptor, decoded: decodeDescriptor(descriptor), macs, asTrainedFlops: asTrained.flops, params: asTrained.params };
  });

  // 1-minute load average around each side (this run's own threads included): well above `threads`
  // means other work shared the CPU and the timings are contended
  const load: Record<string, number> = { zennasStart: os.loadavg()[0]! };
  // ---- zennas native engine
  type Ours = { result?: ZenResult; secondsPerRepeat?: number; firstCallSeconds?: number; error?: string };
  const convs = arg('conv', 'auto').split(',') as Array<'auto' | 'direct'>;
  const byConv: Record<string, Record<string, Ours>> = {};
  const engine = torchOnly ? 'skipped (--torch-only)' : loadEngine(threads);
  for (const conv of convs) {
  const ours: Record<string, Ours> = (byConv[conv] = {});
  for (const p of prepared) {
    if (typeof engine === 'string') { ours[p.c.key] = { error: engine }; continue; }
    const opts = { batchSize: p.c.batch, resolution: p.c.resolution, seed, mode, bnEps: p.c.bnEps, alpha: 0.01, conv };
    try {
      const t0 = process.hrtime.bigint();
      await engine.zenScore(p.descriptor, { ...opts, repeats: 1, seed: seed + 1000 }); // plan compile + warm-up
      const first = Number(process.hrtime.bigint() - t0) / 1e9;
      const t1 = process.hrtime.bigint();
      const r = await engine.zenScore(p.descriptor, { ...opts, repeats });
      const wall = Number(process.hrtime.bigint() - t1) / 1e9;
      ours[p.c.key] = { result: r, secondsPerRepeat: (r.seconds > 0 ? r.seconds : wall) / repeats, firstCallSeconds: first };
    } catch (e) {
      ours[p.c.key] = { error: (e as Error).message };
    }
  }
  }
  const ours = byConv[convs[0]!]!;
  if (typeof engine !== 'string') engine.close();

  load.zennasEnd = os.loadavg()[0]!;
  // ---- PyTorch, one process for all nets
  load.torchStart = os.loadavg()[0]!;
  const python = ensurePython();
  const spec = {
    threads, warmup: true,
    nets: prepared.map((p) => ({ name: p.c.key, ...p.decoded, batch: p.c.batch, resolution: p.c.resolution, repeats, seed, mode, alpha: 0.01, bnEps: p.c.bnEps })),
  };
  const tr = spawnSync(python, [path.join(HERE, 'torch_zen.py'), '-'], { input: JSON.stringify(spec), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (tr.status !== 0) throw new Error(`torch_zen.py failed:\n${tr.stderr}`);
  load.torchEnd = os.loadavg()[0]!;
  const torchOut = JSON.parse(tr.stdout) as { torch: string; numpy: string; results: TorchResult[] };

  // ---- table + JSON
  const rows = prepared.map((p, i) => {
    const t = torchOut.results[i]!;
    const o = ours[p.c.key]!;
    const flopPerRepeat = 2 * 2 * p.macs * p.c.batch; // 2 forwards × multiply-adds × 2 FLOP
    const absDiff = o.result ? o.result.scores.map((s, k) => Math.abs(s - t.scores[k]!)) : undefined;
    return {
      case: p.c.name, key: p.c.key, batch: p.c.batch, resolution: p.c.resolution, bnEps: p.c.bnEps, structure: p.c.structure,
      scoredMacsPerImage: p.macs, asTrainedFlopsPerImage: p.asTrainedFlops, params: p.params,
      zennas: o.result ? {
        mean: o.result.mean, std: o.result.std, scores: o.result.scores, secondsPerRepeat: o.secondsPerRepeat,
        firstCallSeconds: o.firstCallSeconds, gflops: flopPerRepeat / o.secondsPerRepeat! / 1e9,
      } : { error: o.error },
      torch: {
        mean: t.mean, std: t.std, scores: t.scores, secondsPerRepeat: t.meanRepeatSeconds, forwardSecondsPerRepeat: t.meanForwardSeconds,
        secondsPerRepeatPhiloxInit: t.meanRepeatSecondsPhilox, philoxInitSeconds: t.meanInitPhiloxSeconds,
        gflops: flopPerRepeat / t.meanRepeatSeconds / 1e9, gflopsForwardOnly: flopPerRepeat / t.meanForwardSeconds / 1e9,
      },
      conv: convs[0],
      byConv: Object.fromEntries(convs.map((cv) => {
        const x = byConv[cv]![p.c.key]!;
        return [cv, x.result ? {
          scores: x.result.scores, secondsPerRepeat: x.secondsPerRepeat, gflops: flopPerRepeat / x.secondsPerRepeat! / 1e9,
          speedRatioTorchOverZennas: t.meanRepeatSeconds / x.secondsPerRepeat!,
          maxAbsScoreDiffVsFirstConv: o.result ? Math.max(...x.result.scores.map((v, k) => Math.abs(v - o.result!.scores[k]!))) : undefined,
        } : { error: x.error }];
      })),
      speedRatioTorchOverZennas: o.secondsPerRepeat ? t.meanRepeatSeconds / o.secondsPerRepeat : undefined,
      maxAbsScoreDiff: absDiff ? Math.max(...absDiff) : undefined,
      absScoreDiffPerRepeat: absDiff,
    };
  });

  const header = ['case', 'B', 'res', 'GMAC/img', 'zennas s/rep', 'torch s/rep', 'torch fwd s/rep', 'zennas GFLOP/s', 'torch GFLOP/s', 'torch/zennas', 'score zennas', 'score torch', 'max |Δscore|'];
  const lines = rows.map((r) => [
    r.case, String(r.batch), String(r.resolution), fmt(r.scoredMacsPerImage / 1e9, 3),
    fmt('secondsPerRepeat' in r.zennas ? r.zennas.secondsPerRepeat : undefined), fmt(r.torch.secondsPerRepeat), fmt(r.torch.forwardSecondsPerRepeat),
    fmt('gflops' in r.zennas ? r.zennas.gflops : undefined, 1), fmt(r.torch.gflops, 1), fmt(r.speedRatioTorchOverZennas, 2),
    fmt('mean' in r.zennas ? r.zennas.mean : undefined, 3), fmt(r.torch.mean, 3), r.maxAbsScoreDiff === undefined ? '—' : r.maxAbsScoreDiff.toExponential(1),
  ]);
  const widths = header.map((h, j) => Math.max(h.length, ...lines.map((l) => l[j]!.length)));
  const show = (l: string[]) => '| ' + l.map((v, j) => v.padEnd(widths[j]!)).join(' | ') + ' |';
  const m = machine();
  const report = {
    benchmark: 'zen-score-cpu', machine: { ...m, torch: torchOut.torch, numpy: torchOut.numpy },
    settings: { repeats, threads, seed, mode, alpha: 0.01, conv: convs },
    loadAverage1m: load,
    method: 'Same descriptor (lowerForScoring) for both; same Philox seed/streams (DESCRIPTOR.md), so scores agree per repeat up to float32 rounding. '
      + 'zennas: one untimed warm-up call (plan compile), then one zenScore call with `repeats`; seconds/repeat = engine-reported seconds / repeats. '
      + 'torch: torch_zen.py, torch.set_num_threads(threads), one untimed warm-up repeat on a throw-away model; a repeat = '
      + 'weight init with torch.nn.init.normal_ + torch.randn inputs (as the official code) + two separate train-mode forwards + score; '
      + 'the Philox weights used for the scores are filled outside that timing (numpy Philox is reported separately as philoxInitSeconds). '
      + 'GFLOP/s = 2 forwards × multiply-adds of the scored network × batch × 2 / seconds per repeat.',
    engine: typeof engine === 'string' ? engine : 'cpu',
    results: rows,
  };
  console.log(`zen-score-cpu: ${m.cpu}, ${m.logicalCores} logical cores, node ${m.node}, torch ${torchOut.torch}, threads ${threads}, repeats ${repeats}, seed ${seed}, mode ${mode}, commit ${m.commit.slice(0, 10)}${m.dirty ? '+dirty' : ''}, ${m.date}`);
  if (typeof engine === 'string') console.log(`zennas: ${engine}`);
  const busy = Object.values(load).some((v) => v > threads + 0.5);
  console.log(`load average (1 min) zennas ${fmt(load.zennasStart, 2)}→${fmt(load.zennasEnd, 2)}, torch ${fmt(load.torchStart, 2)}→${fmt(load.torchEnd, 2)}${busy ? '  WARNING: other work shared the CPU, timings are contended' : ''}`);
  console.log(show(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const l of lines) console.log(show(l));
  if (convs.length > 1) {
    console.log(`per conv algorithm (${convs.join(' vs ')}): seconds/repeat, GFLOP/s, torch/zennas, max |Δscore| vs '${convs[0]}'`);
    for (const r of rows)
      console.log(`  ${r.case}: ` + convs.map((cv) => {
        const x = r.byConv[cv] as { secondsPerRepeat?: number; gflops?: number; speedRatioTorchOverZennas?: number; maxAbsScoreDiffVsFirstConv?: number };
        return `${cv} ${fmt(x.secondsPerRepeat)} s, ${fmt(x.gflops, 1)} GFLOP/s, ${fmt(x.speedRatioTorchOverZennas, 2)}×, Δ ${x.maxAbsScoreDiffVsFirstConv?.toExponential(1) ?? '—'}`;
      }).join(' | '));
  }
  const jsonOut = arg('json', '');
  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(report, null, 2) + '\n');
  console.log(JSON.stringify(report));
}

if (require.main === module) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
