/**
 * Zen-score throughput of the zennas CUDA backend vs PyTorch CUDA on the same GPU, in one run.
 * Run on a GPU machine (see README.md here): `npx tsx benchmarks/zen-score-gpu/bench.ts`.
 * Env: PYTHON (default python3) for the PyTorch baseline; REPEATS (default 8).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import * as engineModule from '../../src/engine/engine';
import { parseStructure } from '../../src/grammar/parse';
import { lowerForScoring } from '../../src/model/lower';
import { encodeDescriptor, decodeDescriptor } from '../../src/ops/descriptor';

type ZenEngine = {
  zenScore(d: Int32Array, o: Record<string, unknown>): Promise<{ scores: number[]; seconds: number }>;
  close?(): void;
};
const { Engine } = engineModule as unknown as { Engine: new (o: Record<string, unknown>) => ZenEngine };

const ZOO = process.env.ZENNAS_ZOO ?? path.resolve(__dirname, '../../test/fixtures/zennets');
const RESNET18 = 'SuperConvK7BNRELU(3,64,2,1)MaxPool(64,64,3,2)SuperResK3K3(64,64,1,64,2)SuperResK3K3(64,128,2,128,2)SuperResK3K3(128,256,2,256,2)SuperResK3K3(256,512,2,512,2)';
const RESNET50 = 'SuperConvK7BNRELU(3,64,2,1)MaxPool(64,64,3,2)SuperResK1K3K1(64,256,1,64,3)SuperResK1K3K1(256,512,2,128,4)SuperResK1K3K1(512,1024,2,256,6)SuperResK1K3K1(1024,2048,2,512,3)';
const REPEATS = Number(process.env.REPEATS ?? 8);

interface Case { name: string; structure: string; batch: number; resolution: number; bnEps?: number }

function zooCase(file: string): Case {
  return { name: file.replace(/\.txt$/, ''), structure: fs.readFileSync(path.join(ZOO, file), 'utf8').trim(), batch: 64, resolution: 32, bnEps: 1e-3 };
}

/** Search Space I candidates around the CIFAR default initial structure (distinct plans: compile cost included). */
function spaceICandidates(n: number, seed = 1): string[] {
  let s = seed >>> 0;
  const rnd = () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const w = (base: number) => Math.max(8, Math.round((base * (0.5 + 1.5 * rnd())) / 8) * 8);
  const k = () => [3, 5, 7][Math.floor(rnd() * 3)]!;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = [w(8), w(16), w(32), w(64), w(64)];
    const b = [w(8), w(16), w(32), w(32)];
    const ks = [k(), k(), k(), k()];
    out.push(`SuperConvK3BNRELU(3,${c[0]},1,1)` +
      `SuperResK${ks[0]}K${ks[0]}(${c[0]},${c[1]},1,${b[0]},1)SuperResK${ks[1]}K${ks[1]}(${c[1]},${c[2]},2,${b[1]},1)` +
      `SuperResK${ks[2]}K${ks[2]}(${c[2]},${c[3]},2,${b[2]},1)SuperResK${ks[3]}K${ks[3]}(${c[3]},${c[4]},2,${b[3]},1)` +
      `SuperConvK1BNRELU(${c[4]},128,1,1)`);
  }
  return out;
}

const descriptorOf = (s: string) => encodeDescriptor(lowerForScoring(parseStructure(s)));

async function main(): Promise<void> {
  const cases: Case[] = [
    { name: 'ResNet-18 224 b16', structure: RESNET18, batch: 16, resolution: 224 },
    { name: 'ResNet-50 224 b16', structure: RESNET50, batch: 16, resolution: 224 },
    ...['zennet_cifar_model_size05M_res32.txt', 'zennet_cifar_model_size1M_res32.txt', 'zennet_cifar_model_size2M_res32.txt'].map(zooCase),
  ];
  const candidates = spaceICandidates(Number(process.env.CANDIDATES ?? 64));
  const engine = new Engine({ backend: 'cuda' });
  let inFlight = 1;
  const ours: Record<string, { secondsPerRepeat?: number; candidatesPerSecond?: number; meanScore?: number }> = {};
  try {
    for (const c of cases) {
      const d = descriptorOf(c.structure);
      const opts = { batchSize: c.batch, resolution: c.resolution, repeats: 1, seed: 0, bnEps: c.bnEps ?? 1e-5 };
      await engine.zenScore(d, opts); // plan compile + warm-up
      const t0 = process.hrtime.bigint();
      const r = await engine.zenScore(d, { ...opts, repeats: REPEATS, seed: 1 });
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      ours[c.name] = { secondsPerRepeat: dt / REPEATS, meanScore: r.scores.reduce((a, b) => a + b, 0) / r.scores.length };
    }
    // As a search scores them: IN_FLIGHT candidates at once (the backend has four streams).
    inFlight = Number(process.env.IN_FLIGHT ?? 4);
    const t0 = process.hrtime.bigint();
    let next = 0;
    const worker = async () => {
      while (next < candidates.length) await engine.zenScore(descriptorOf(candidates[next++]!), { batchSize: 64, resolution: 32, repeats: 1, seed: 0 });
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    ours['Space I candidates 32 b64'] = { candidatesPerSecond: candidates.length / (Number(process.hrtime.bigint() - t0) / 1e9) };
  } finally {
    engine.close?.();
  }

  // PyTorch baseline on the same networks (decoded descriptors → torch_net.OpNet).
  const specs = [
    ...cases.map((c) => ({ name: c.name, spec: decodeDescriptor(descriptorOf(c.structure)), batch: c.batch, resolution: c.resolution, repeats: REPEATS, bnEps: c.bnEps ?? 1e-5 })),
    { name: 'Space I candidates 32 b64', kind: 'candidates', batch: 64, resolution: 32, candidates: candidates.map((s) => decodeDescriptor(descriptorOf(s))) },
  ];
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-bench-')), 'specs.json');
  fs.writeFileSync(tmp, JSON.stringify(specs));
  const py = spawnSync(process.env.PYTHON ?? 'python3', [path.join(__dirname, 'bench_torch.py'), tmp], { encoding: 'utf8', cwd: __dirname, maxBuffer: 1 << 26 });
  let torch: { device?: string; torch?: string; results: Array<{ name: string; secondsPerRepeat?: number; candidatesPerSecond?: number; meanScore?: number }> } = { results: [] };
  if (py.status === 0) torch = JSON.parse(py.stdout.trim().split('\n').pop()!);
  else process.stderr.write(`PyTorch baseline not run (${py.error?.message ?? py.stderr.trim().split('\n').pop()})\n`);

  process.stdout.write(`Zen-score, zennas CUDA vs PyTorch ${torch.torch ?? '-'} on ${torch.device ?? 'this GPU'} (${REPEATS} repeats; zennas scores candidates ${inFlight} in flight)\n`);
  process.stdout.write('case                                   zennas s/rep   torch s/rep   speed-up   zennas score   torch score\n');
  for (const [name, o] of Object.entries(ours)) {
    const b = torch.results.find((x) => x.name === name);
    if (o.candidatesPerSecond !== undefined) {
      const ratio = b?.candidatesPerSecond ? (o.candidatesPerSecond / b.candidatesPerSecond).toFixed(2) + '×' : '-';
      process.stdout.write(`${name.padEnd(38)} ${o.candidatesPerSecond.toFixed(1).padStart(8)} cand/s ${(b?.candidatesPerSecond?.toFixed(1) ?? '-').padStart(8)} cand/s ${ratio.padStart(8)}\n`);
    } else {
      const ratio = b?.secondsPerRepeat ? (b.secondsPerRepeat / o.secondsPerRepeat!).toFixed(2) + '×' : '-';
      process.stdout.write(`${name.padEnd(38)} ${o.secondsPerRepeat!.toFixed(4).padStart(12)} ${(b?.secondsPerRepeat?.toFixed(4) ?? '-').padStart(13)} ${ratio.padStart(10)} ${o.meanScore!.toFixed(2).padStart(14)} ${(b?.meanScore?.toFixed(2) ?? '-').padStart(13)}\n`);
    }
  }
}

main().catch((e) => { process.stderr.write(`${e?.code ? `[${e.code}] ` : ''}${e?.message ?? e}\n`); process.exitCode = 1; });
