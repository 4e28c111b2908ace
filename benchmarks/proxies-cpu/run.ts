/**
 * Every zero-shot proxy of the table through the zennas engine vs a PyTorch CPU implementation of
 * the same definition (test/torch/proxies.py, driven by bench_torch.py), in one run: same nets
 * (lowered as each proxy's table entry says, 100-class head), same Philox weights, input and
 * labels, same thread count, the table's defaults (resolution 32, batch 64; naswot 8; synflow one
 * image; gsnr 8 × 64). Median seconds of --iterations calls after one warm-up, the ratio
 * torch / zennas, and the relative difference of the repeat-0 scores; case by case, the JSON
 * rewritten after each. See README.md here.
 *
 *   npx tsx benchmarks/proxies-cpu/run.ts [--iterations 2] [--threads 2] [--nets spaceI,zennet1M,zennet2M] [--proxies a,b] [--json out.json [--append]]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync, spawnSync } from 'child_process';
import { parseStructure } from '../../src/grammar/parse';
import { decodeDescriptor, encodeDescriptor } from '../../src/ops/descriptor';
import { Engine } from '../../src/engine/engine';
import { PROXY_NAMES, PROXY_TABLE, ProxyName, proxyImages } from '../../src/proxies/table';
import { lowerForProxy } from '../../src/proxies/lowering';
import { philoxLabels } from '../../src/rng/philox';
import { spaceI } from '../../src/spaces/space-i';

const ROOT = path.resolve(__dirname, '../..');
const arg = (k: string, d: string) => { const i = process.argv.indexOf(`--${k}`); return i >= 0 ? process.argv[i + 1]! : d; };
const zoo = (f: string) => fs.readFileSync(path.join(ROOT, 'zoo', f), 'utf8').trim();
const NETS: Record<string, { name: string; structure: string }> = {
  spaceI: { name: 'Space-I CIFAR initial net', structure: spaceI.presets.cifar!.initial },
  zennet1M: { name: 'ZenNet CIFAR 1M', structure: zoo('zennet_cifar_model_size1M_res32.txt') },
  zennet2M: { name: 'ZenNet CIFAR 2M', structure: zoo('zennet_cifar_model_size2M_res32.txt') },
};
const CLASSES = 100, RES = 32, SEED = 0;

function python(): string {
  const p = process.env.ZENNAS_PYTHON ?? path.join(ROOT, '.venv-bench/bin/python');
  if (!fs.existsSync(p) && p.includes('/')) throw new Error(`no Python with torch at ${p}: set ZENNAS_PYTHON or run bash .ci/run once`);
  return p;
}
const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };

async function main() {
  const iterations = Number(arg('iterations', '2')), threads = Number(arg('threads', '2')), warmup = 1;
  const nets = arg('nets', Object.keys(NETS).join(',')).split(',').map((k) => ({ key: k, ...NETS[k]! }));
  const proxies = arg('proxies', PROXY_NAMES.filter((p) => p !== 'zen').join(',')).split(',') as ProxyName[];
  const load0 = os.loadavg();
  console.log(`proxies-cpu, ${threads} threads, median of ${iterations} after ${1} warm-up, load ${load0.map((v) => v.toFixed(1)).join(' ')}`);
  console.log('net                         proxy         zennas s  torch s  torch/zennas  score Δrel');
  const cases = nets.flatMap((n) => proxies.map((p) => {
    const spec = PROXY_TABLE[p];
    const d = encodeDescriptor(lowerForProxy(parseStructure(n.structure), spec, { numClasses: CLASSES }));
    const batch = spec.batchSize ?? 1;
    return { net: n, proxy: p, d, batch, images: proxyImages(spec, { batchSize: batch }) };
  }));
  const engine = new Engine({ threads });
  // --append: keep the rows of an earlier run in the --json file (a row of the same net and proxy is replaced).
  let rows: Record<string, unknown>[] = [];
  const previous = process.argv.includes('--append') && fs.existsSync(arg('json', '')) ? (JSON.parse(fs.readFileSync(arg('json', ''), 'utf8')) as { rows: Record<string, unknown>[] }).rows : [];
  let commit = 'unknown';
  try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { /* not a clone */ }
  const out = arg('json', '');
  let torchVersion = '?';
  // Case by case, zennas then torch (one bench_torch.py process per case; its start-up is not timed),
  // so that a change of the shared machine's load hits both sides of a ratio alike.
  for (const c of cases) {
    const o = { resolution: RES, seed: SEED, ...(PROXY_TABLE[c.proxy].batchSize ? { batchSize: c.batch } : {}) };
    const seconds: number[] = [];
    let score = NaN, error: string | undefined;
    try {
      for (let i = 0; i < warmup + iterations; i++) {
        const r = await engine.run(c.proxy as never, c.d, { ...o, firstRepeat: i } as never);
        if (i === 0) score = r.scores[0]!;
        if (i >= warmup) seconds.push(r.seconds);
      }
    } catch (e) {
      error = (e as Error).message;
    }
    const spec = {
      threads, iterations, warmup,
      cases: [{ name: c.net.name, net: decodeDescriptor(c.d), proxy: c.proxy, batch: c.batch, resolution: RES, seed: SEED, labels: Array.from(philoxLabels(SEED, 0, c.images, CLASSES)) }],
    };
    // OMP_WAIT_POLICY=PASSIVE: on an oversubscribed machine spinning OpenMP workers slow torch down
    // 5× (measured: grad_norm on the Space-I net 1.8 s → 0.32 s); the engine's pool sleeps anyway.
    const tr = spawnSync(python(), [path.join(__dirname, 'bench_torch.py')], { input: JSON.stringify(spec), encoding: 'utf8', maxBuffer: 1 << 28, env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env } });
    if (tr.status !== 0) throw new Error(`bench_torch.py failed:\n${tr.stderr}`);
    const torch = JSON.parse(tr.stdout) as { torch: string; threads: number; cases: { seconds: number[]; score: number }[] };
    torchVersion = torch.torch;
    const t = torch.cases[0]!;
    const zs = seconds.length ? median(seconds) : NaN, ts = median(t.seconds);
    const row = {
      net: c.net.name, proxy: c.proxy, batch: c.batch, images: c.images, zennasSeconds: zs, torchSeconds: ts, ratio: ts / zs,
      zennasScore: score, torchScore: t.score, scoreRelDiff: Math.abs(score - t.score) / Math.max(Math.abs(t.score), 1e-300), load: os.loadavg()[0], ...(error ? { zennasError: error } : {}),
    };
    rows = [...previous, ...rows].filter((x) => !(x.net === row.net && x.proxy === row.proxy));
    previous.length = 0;
    rows.push(row);
    console.log(`${row.net.padEnd(27)} ${row.proxy.padEnd(12)} ${zs.toFixed(3).padStart(9)} ${ts.toFixed(3).padStart(8)} ${(ts / zs).toFixed(2).padStart(8)}× ${row.scoreRelDiff.toExponential(1).padStart(10)}  load ${row.load.toFixed(1)}${error ? `  zennas: ${error}` : ''}`);
    const result = {
      commit, date: new Date().toISOString(), machine: `${os.cpus()[0]?.model ?? '?'} (${os.cpus().length} logical CPUs)`, loadAverage: { before: load0, after: os.loadavg() },
      threads, iterations, warmup, torch: torchVersion,
      method: 'per case: zennas engine.run(proxy) (native time, weights and input drawn per call, firstRepeat = call index), then bench_torch.py (test/torch/proxies.py functions, float32; synflow/synflow_zc float64 as official; weights loaded outside the timer; OMP_WAIT_POLICY=PASSIVE); median of iterations after warm-up; scores of repeat 0 compared',
      rows,
    };
    if (out) fs.writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
  }
  engine.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
