/**
 * One search per proxy, everything else equal: Search Space I, CIFAR preset (32×32, 100 classes),
 * params ≤ 1M, layers ≤ 18, the same seed, population and iterations (Zen-NAS Algorithm 2), each
 * candidate scored by that proxy (zennas search --proxy NAME). Prints the params / FLOPs of each
 * search's best net beside the Zen-NAS paper's table (supplementary G: "FLOPs/Params/Latency of
 * ZenNets in Table 1").
 *
 *   npx tsx benchmarks/proxy-search/run.ts [--iterations 1000] [--population 64] [--seed 0]
 *       [--threads N] [--proxies zen,flops,grad_norm,synflow,tenas,naswot,random] [--out DIR] [--json FILE]
 *
 * 'flops' is log10 FLOPs and 'random' a uniform number per structure, both counted without the
 * engine (src/search/proxy-scorer.ts); the others run through engine.run with the table's
 * defaults (src/proxies/table.ts; synflow is minimised, as in the official code). A proxy that
 * the table does not have (TE-NAS's 'tenas' before it lands) is skipped with a note.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runSearch } from '../../src/search/evolution';
import { searchConfig } from '../../src/search/config';
import { openEngine, SearchEngine } from '../../src/search/engine-scorer';
import { COUNTED_PROXIES, SEARCH_PROXIES } from '../../src/search/proxy-scorer';
import { formatCount } from '../../src/util/units';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const ITERATIONS = Number(arg('--iterations') ?? 1000);
const POPULATION = Number(arg('--population') ?? 64);
const SEED = Number(arg('--seed') ?? 0);
const THREADS = arg('--threads') !== undefined ? Number(arg('--threads')) : undefined;
const PROXIES = (arg('--proxies') ?? 'zen,flops,grad_norm,synflow,tenas,naswot,random').split(',').map((s) => s.trim()).filter(Boolean);
const OUT = arg('--out');
const JSON_OUT = arg('--json');

/** Zen-NAS supplementary G (the proxies of Table 1, CIFAR-100, 1M params): best net's params / FLOPs. */
const PAPER: Record<string, { params: string; flops: string; label: string }> = {
  zen: { label: 'Zen-Score', params: '1.0M', flops: '170M' },
  flops: { label: 'FLOPs', params: '1.0M', flops: '285M' },
  grad_norm: { label: 'grad', params: '0.2M', flops: '41M' },
  synflow: { label: 'synflow', params: '1.0M', flops: '104M' },
  tenas: { label: 'TE-Score', params: '1.0M', flops: '118M' },
  naswot: { label: 'NASWOT', params: '1.0M', flops: '304M' },
  random: { label: 'Random', params: '1.0M', flops: '110M' },
};

interface Row {
  proxy: string;
  status: 'ran' | 'skipped';
  note?: string;
  bestParams?: number;
  bestFlops?: number;
  bestLayers?: number;
  bestScore?: number;
  bestValue?: number;
  bestStructure?: string;
  scored?: number;
  failed?: number;
  rejected?: number;
  wallSeconds?: number;
  engineMsPerCandidate?: number;
  scoring?: Record<string, unknown>;
}

async function main() {
  const cpus = os.cpus();
  console.log(`zennas proxy-search benchmark: Space I, CIFAR preset, params ≤ 1M, layers ≤ 18; ` +
    `population ${POPULATION}, ${ITERATIONS} iterations, seed ${SEED}, 2 in flight`);
  console.log(`node ${process.version}, ${cpus.length} cores (${cpus[0]?.model ?? '?'}), engine threads ${THREADS ?? 'all'}\n`);
  let engine: SearchEngine | undefined;
  const rows: Row[] = [];
  const t0 = performance.now();
  try {
    for (const proxy of PROXIES) {
      if (!SEARCH_PROXIES.includes(proxy)) {
        const note = `skipped: '${proxy}' is not in the proxy table of this build (src/proxies/table.ts)`;
        console.log(`${proxy}: ${note}`);
        rows.push({ proxy, status: 'skipped', note });
        continue;
      }
      const counted = (COUNTED_PROXIES as readonly string[]).includes(proxy);
      if (!counted && !engine) engine = openEngine('cpu', THREADS);
      const config = searchConfig({ space: 'I', preset: 'cifar', proxy, population: POPULATION, iterations: ITERATIONS, seed: SEED, inFlight: 2 });
      const outDir = OUT ? path.join(OUT, proxy) : undefined;
      let last = performance.now();
      const r = await runSearch(config, {
        engine: counted ? undefined : engine, outDir, overwrite: true,
        onProgress: (p) => {
          const now = performance.now();
          if (now - last > 30_000) {
            last = now;
            process.stderr.write(`  ${proxy}: iteration ${p.iteration}/${p.iterations}, ${p.candidatesPerSecond.toFixed(2)} cand/s\n`);
          }
        },
      });
      const s = r.state;
      const b = r.best;
      const row: Row = {
        proxy, status: 'ran', scoring: config.scoring,
        bestParams: b?.params, bestFlops: b?.flops, bestLayers: b?.layers, bestScore: b?.score,
        ...(b && config.scoring.direction === 'min' ? { bestValue: -b.score } : {}),
        bestStructure: b?.structure, scored: s.counts.scored, failed: s.counts.failed,
        rejected: s.counts.rejected.params + s.counts.rejected.flops + s.counts.rejected.layers,
        wallSeconds: s.timing.wallSeconds, engineMsPerCandidate: (1000 * s.timing.engineSeconds) / Math.max(1, s.counts.scored),
      };
      rows.push(row);
      console.log(`${proxy}: best params ${formatCount(row.bestParams ?? 0)}, FLOPs ${formatCount(row.bestFlops ?? 0)}, ` +
        `${row.scored} scored (${row.failed} failed), ${row.rejected} over budget, ${row.wallSeconds!.toFixed(1)} s\n  ${row.bestStructure ?? '(none)'}`);
    }
  } finally {
    engine?.close();
  }
  const total = (performance.now() - t0) / 1000;

  const table = [
    ['proxy', 'best params', 'best FLOPs', 'layers', 'paper params', 'paper FLOPs', 'scored', 'ms/cand', 'wall s'],
    ...rows.map((r) => r.status === 'skipped'
      ? [r.proxy, '—', '—', '—', PAPER[r.proxy]?.params ?? '', PAPER[r.proxy]?.flops ?? '', 'skipped', '', '']
      : [r.proxy, formatCount(r.bestParams ?? 0), formatCount(r.bestFlops ?? 0), String(r.bestLayers ?? ''), PAPER[r.proxy]?.params ?? '', PAPER[r.proxy]?.flops ?? '',
        String(r.scored), r.engineMsPerCandidate!.toFixed(1), r.wallSeconds!.toFixed(1)]),
  ];
  const width = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  console.log('\n' + table.map((r) => r.map((v, c) => (c === 0 ? v.padEnd(width[c]!) : v.padStart(width[c]!))).join('  ')).join('\n'));
  console.log(`\ntotal ${total.toFixed(1)} s`);
  for (const r of rows) if (r.note) console.log(`note: ${r.proxy} ${r.note}`);
  if (JSON_OUT) {
    fs.writeFileSync(JSON_OUT, JSON.stringify({
      node: process.version, cores: cpus.length, cpu: cpus[0]?.model, threads: THREADS ?? null,
      population: POPULATION, iterations: ITERATIONS, seed: SEED, totalSeconds: total, paper: PAPER, rows,
    }, null, 2) + '\n');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
