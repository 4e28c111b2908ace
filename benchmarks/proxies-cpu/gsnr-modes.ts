/**
 * ξ-GSNR's three gradient-sample modes side by side (the README's "gsnr modes" figures): 'batch'
 * (the paper: one gradient per batch, zeroed between batches; the default), 'official' (run_gsnr.py
 * never zeroes: sample j is the running sum of the first j batch gradients) and 'sample'
 * (per-image gradients of one batch), on the same nets, weights and images (repeat r = seed r).
 *
 *   npx tsx benchmarks/proxies-cpu/gsnr-modes.ts [--repeats 3] [--threads 2] [--json out.json]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { parseStructure } from '../../src/grammar/parse';
import { encodeDescriptor } from '../../src/ops/descriptor';
import { Engine } from '../../src/engine/engine';
import { PROXY_TABLE } from '../../src/proxies/table';
import { lowerForProxy } from '../../src/proxies/lowering';
import { spaceI } from '../../src/spaces/space-i';

const ROOT = path.resolve(__dirname, '../..');
const arg = (k: string, d: string) => { const i = process.argv.indexOf(`--${k}`); return i >= 0 ? process.argv[i + 1]! : d; };
const zoo = (f: string) => fs.readFileSync(path.join(ROOT, 'zoo', f), 'utf8').trim();
const NETS = [
  { name: 'Space-I CIFAR initial net', structure: spaceI.presets.cifar!.initial },
  { name: 'ZenNet CIFAR 0.5M', structure: zoo('zennet_cifar_model_size05M_res32.txt') },
  { name: 'ZenNet CIFAR 1M', structure: zoo('zennet_cifar_model_size1M_res32.txt') },
];
const MODES = ['batch', 'official', 'sample'] as const;

async function main() {
  const repeats = Number(arg('repeats', '3')), threads = Number(arg('threads', '2'));
  const engine = new Engine({ threads });
  const rows: { net: string; mode: string; scores: number[]; seconds: number }[] = [];
  for (const n of NETS) {
    const d = encodeDescriptor(lowerForProxy(parseStructure(n.structure), PROXY_TABLE.gsnr, { numClasses: 100 }));
    for (const mode of MODES) {
      const r = await engine.run('gsnr', d, { resolution: 32, batchSize: 64, numBatches: 8, xi: 1e-8, gsnrMode: mode, repeats, seed: 0 });
      rows.push({ net: n.name, mode, scores: r.scores, seconds: r.seconds });
      console.log(`${n.name.padEnd(28)} ${mode.padEnd(8)} ${r.scores.map((v) => v.toPrecision(5)).join('  ')}  (${r.seconds.toFixed(1)} s)`);
    }
  }
  engine.close();
  console.log('\nratio to batch per repeat (official / batch, sample / batch):');
  for (const n of NETS) {
    const b = rows.find((r) => r.net === n.name && r.mode === 'batch')!.scores;
    for (const m of ['official', 'sample']) {
      const s = rows.find((r) => r.net === n.name && r.mode === m)!.scores;
      console.log(`${n.name.padEnd(28)} ${m.padEnd(8)} ${s.map((v, i) => (v / b[i]!).toFixed(3)).join('  ')}`);
    }
  }
  const out = arg('json', '');
  if (out) {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    fs.writeFileSync(out, JSON.stringify({
      method: 'engine.run(gsnr) per mode, Gaussian input, Philox labels, 100 classes, 8 batches × 64 (sample: 64 per-image gradients of batch 0), ξ = 1e-8, res 32, PyTorch-default init; repeat r draws weights, images and labels of (seed 0, r)',
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, load: os.loadavg() }, commit, threads, repeats, rows,
    }, null, 2) + '\n');
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
