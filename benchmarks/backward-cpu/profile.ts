/**
 * Per-op profile of one forward + backward (engine.run('gradients'), loss = Σ logits) on the
 * benchmark's nets: runs itself under ZENNAS_PROFILE=1 (native per-op timing to stderr), one
 * warm-up then `--iterations` timed runs, and sums the op lines of the timed runs by kind:
 * forward per op, backward per op, conv backward split into weight gradient (bwdW) and input
 * gradient (bwdX) by kernel shape class. Development aid; the README's profile table comes from it.
 *
 * Wall and process-CPU milliseconds per op (CPU time is the steadier figure on a shared machine).
 *
 * `--proxy zen` profiles a Zen-score repeat instead (engine.zenScore on the scoring lowering: two
 * forwards of the clean and perturbed images; batch as the case's).
 *
 *   npx tsx benchmarks/backward-cpu/profile.ts [--cases resnet18,zennet1M,spaceI] [--proxy gradients|zen] [--iterations 3] [--threads 2] [--top 12] [--raw]
 */

import { spawnSync } from 'child_process';
import { parseStructure } from '../../src/grammar/parse';
import { lowerAsTrained, lowerForScoring } from '../../src/model/lower';
import { encodeDescriptor } from '../../src/ops/descriptor';
import { Engine } from '../../src/engine/engine';
import { CASES } from './cases';

const arg = (k: string, d: string) => { const i = process.argv.indexOf(`--${k}`); return i >= 0 ? process.argv[i + 1]! : d; };
const MARK = 'zennas-profile-mark';

async function child(key: string, iterations: number, threads: number, proxy: string) {
  const c = CASES.find((x) => x.key === key)!;
  const zen = proxy === 'zen';
  const d = encodeDescriptor(zen ? lowerForScoring(parseStructure(c.structure)) : lowerAsTrained(parseStructure(c.structure), { numClasses: c.classes }));
  const engine = new Engine({ threads });
  const o = { batchSize: c.batch, resolution: c.resolution, seed: 1 };
  const call = (i: number) => (zen ? engine.zenScore(d, { ...o, repeats: 1, firstRepeat: i }) : engine.run('gradients', d, { ...o, firstRepeat: i }));
  await call(0);  // warm-up (plan compile)
  let total = 0;
  for (let i = 0; i < iterations; i++) {
    process.stderr.write(`${MARK}\n`);
    total += (await call(i)).seconds;
  }
  process.stderr.write(`${MARK} total ${total / iterations}\n`);
  engine.close();
}

interface Row { ms: number; cpu: number; gflop: number; n: number }

function parent() {
  const keys = arg('cases', CASES.map((c) => c.key).join(',')).split(',');
  const iterations = Number(arg('iterations', '3')), threads = Number(arg('threads', '2')), top = Number(arg('top', '12'));
  const raw = process.argv.includes('--raw'), proxy = arg('proxy', 'gradients');
  for (const key of keys) {
    const r = spawnSync(process.execPath, [...process.execArgv, __filename, '--child', key, '--iterations', String(iterations), '--threads', String(threads), '--proxy', proxy], {
      env: { ...process.env, ZENNAS_PROFILE: '1' }, encoding: 'utf8', maxBuffer: 1 << 28,
    });
    if (r.status !== 0) throw new Error(r.stderr);
    const lines = r.stderr.split('\n');
    const first = lines.indexOf(MARK);
    let perRun = 0;
    const byKind = new Map<string, Row>(), byPass = new Map<string, number>();
    for (const l of lines.slice(first)) {
      if (l.startsWith(`${MARK} total`)) perRun = Number(l.split(' ')[2]) * 1e3;
      const m = /^zennas-profile (bwdW|bwdX|bwd )?(\S+)\s+cin\s+(\d+) cout\s+(\d+) k (\d+) s (\d+)\s+(\d+)x(\d+)\s+([\d.]+) ms\s+([\d.a-z]+) GFLOP\/s cpu\s+([\d.]+) ms/.exec(l);
      if (!m) continue;
      const pass = (m[1] ?? 'fwd').trim(), op = m[2]!, ms = Number(m[9]), gf = Number(m[10]), cpu = Number(m[11]);
      if (raw) console.log(l);
      const isConv = op === 'conv' || op === 'linear';
      if (pass === 'bwd' && isConv) continue;  // split into bwdW + bwdX
      const shape = isConv ? ` k${m[5]} s${m[6]}${Number(m[3]) <= 16 || Number(m[4]) <= 16 ? ' C≤16' : ''}` : '';
      const kind = `${pass.padEnd(4)} ${op}${shape}`;
      const row = byKind.get(kind) ?? { ms: 0, cpu: 0, gflop: 0, n: 0 };
      row.ms += ms / iterations; row.cpu += cpu / iterations; row.gflop += Number.isFinite(gf) ? (gf * ms) / 1e3 / iterations : 0; row.n += 1 / iterations;
      byKind.set(kind, row);
      byPass.set(pass.startsWith('bwd') ? 'bwd' : 'fwd', (byPass.get(pass.startsWith('bwd') ? 'bwd' : 'fwd') ?? 0) + ms / iterations);
    }
    const sum = [...byKind.values()].reduce((a, v) => a + v.ms, 0);
    console.log(`\n${key}: ${perRun.toFixed(1)} ms per run (ops ${sum.toFixed(1)} ms: fwd ${(byPass.get('fwd') ?? 0).toFixed(1)}, bwd ${(byPass.get('bwd') ?? 0).toFixed(1)}; other = weight/input draw, loss, norms, Winograd weight transforms ${(perRun - sum).toFixed(1)})`);
    console.log('| pass op (shape) | ops | ms | % | CPU ms | GFLOP/s | GFLOP/CPU-s |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [k, v] of [...byKind.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top))
      console.log(`| ${k} | ${Math.round(v.n)} | ${v.ms.toFixed(1)} | ${((100 * v.ms) / perRun).toFixed(1)} | ${v.cpu.toFixed(1)} | ${v.gflop > 0 ? (v.gflop / (v.ms / 1e3)).toFixed(0) : ''} | ${v.gflop > 0 ? (v.gflop / (v.cpu / 1e3)).toFixed(0) : ''} |`);
  }
}

if (process.argv.includes('--child')) child(arg('child', ''), Number(arg('iterations', '3')), Number(arg('threads', '2')), arg('proxy', 'gradients')).catch((e) => { console.error(e); process.exit(1); });
else parent();

