/**
 * `zennas prune --space nb201|darts`: ξ-GSNR's pruning search (supplementary Algorithm 1) or
 * TE-NAS's rank-combined variant on the NAS-Bench-201 supernet or TE-NAS's DARTS supernet (then
 * the top-2 incoming edges of every node; src/cells/prune.ts). Prints the genotype (NAS-Bench-201
 * string and index, or DARTS's Genotype(...)), params/FLOPs, per-round scores and the time; --runs
 * repeats over seeds and reports how often each genotype came out. Progress on stderr.
 */
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { Engine } from '../../engine/engine';
import { ZennasError } from '../../errors';
import { ENGINE_OPTIONS } from '../../engine/options';
import { PROXY_NAMES, ProxyName } from '../../proxies/table';
import { DartsPruneResult, PRUNE_ALGORITHMS, PruneAlgorithm, PruneResult, edgeName, genotypeFrequencies, pruneDarts, pruneNb201 } from '../../cells/prune';
import { DARTS_EDGE_LIST } from '../../cells/darts';
import { cellProxySpec } from '../../cells/lowering';
import { NB201_REDUCTION_POOLS } from '../../cells/nb201-net';
import { human } from '../format';
import { engineIntOption, intOption } from '../structure-input';

interface PruneFlags {
  space: string; proxy?: string; algorithm: string; seed: number; runs: number; repeats?: number; channels?: number; cells?: number;
  batchSize?: number; numBatches?: number; xi?: string; resolution?: number; numClasses?: number; none: string;
  reductionPool: string; residuals: string; threads?: number; json?: boolean; progress: boolean; pruneNumber?: number; depth?: number;
}

/** A DARTS edge (0–13 normal, 14–27 reduction) as 'normal 0→2'. */
function dartsEdgeName(e: number): string {
  const [to, from] = DARTS_EDGE_LIST[e % 14]!;
  return `${e < 14 ? 'normal' : 'reduction'} ${from}→${to}`;
}

function positive(flag: string, v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new ZennasError('E_OPTION', `${flag} must be a positive number, got '${v}'`);
  return x;
}

function choice<T extends string>(flag: string, v: string, values: readonly T[]): T {
  if (!values.includes(v as T)) throw new ZennasError('E_OPTION', `${flag} must be ${values.map((x) => `'${x}'`).join(' or ')}, got '${v}'`);
  return v as T;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? x.toExponential(4) : x.toFixed(4);
}

function roundsText(r: PruneResult | DartsPruneResult, edges: number, name: (e: number) => string): string[] {
  const lines: string[] = [];
  for (const rd of r.rounds) {
    const base = Array.isArray(rd.base) ? `cond(N_t) ${fmt(rd.base[0])}, R(N_t) ${fmt(rd.base[1])}` : `P(N_t) ${fmt(rd.base)}`;
    lines.push(`round ${rd.round}${rd.kind === 'edges' ? ` (edges into ${rd.group}: keep 2)` : ''} (${rd.seconds.toFixed(1)} s): ${base}`);
    for (let e = 0; e < edges; e++) {
      const cs = rd.candidates.filter((c) => c.edge === e);
      if (cs.length === 0) continue;
      const removed = new Set(rd.removed.filter((x) => x.edge === e).map((x) => x.op));
      const cells = cs.map((c) => {
        const v = r.algorithm === 'tenas' ? `Δcond ${fmt(c.score)} ΔR ${fmt(c.value)} ranks ${c.ranks!.join('+')}` : `s ${fmt(c.score)}`;
        return `${removed.has(c.op) ? '-' : ' '}${c.op} ${v}`;
      });
      lines.push(`  edge ${name(e)}: ${cells.join(' |')}`);
    }
  }
  return lines;
}

/** Registers `zennas prune`. */
export function registerPruneCommand(program: Command): void {
  program
    .command('prune')
    .description("pruning search on a cell supernet (ξ-GSNR Algorithm 1, or TE-NAS's rank-combined variant): a single-path genotype, its params/FLOPs, per-round scores, time")
    .requiredOption('--space <name>', "the cell space: 'nb201' (NAS-Bench-201) or 'darts' (TE-NAS's DARTS supernet; then the top-2 incoming edges of every node)")
    .option('-p, --proxy <name>', `xi-gsnr: the proxy P of s(o) = P(N_t) − P(N_t \\ o) (default gsnr; any of ${PROXY_NAMES.join(', ')})`)
    .option('-a, --algorithm <name>', "'xi-gsnr' (Algorithm 1) or 'tenas' (TE-NAS prune_func_rank: NTK condition number + linear regions, ranks summed)", 'xi-gsnr')
    .option('-s, --seed <n>', 'Philox seed of weights, images and labels', engineIntOption('--seed', 'seed'), 0)
    .option('--runs <n>', 'repeat the search with seeds seed, seed+1, … and report how often each genotype appears', intOption('--runs', 1, 1000), 1)
    .option('--repeats <n>', 'repeats averaged per score (default: xi-gsnr 1, tenas 3)', intOption('--repeats', 1, 1000))
    .option('-C, --channels <n>', 'xi-gsnr: supernet channels C (default nb201 16, darts 1; TE-NAS uses 3 / 1 for its NTK nets)', intOption('--channels', 1, 4096))
    .option('-N, --cells <n>', 'xi-gsnr: cells per stage N (default nb201 5, darts 1)', intOption('--cells', 1, 64))
    .option('--depth <n>', 'xi-gsnr, darts: the first n cells of the supernet (default 2, TE-NAS; 0 = all 3N)', intOption('--depth', 0, 192))
    .option('-b, --batch-size <n>', 'xi-gsnr: images per batch (default nb201 64, darts 4); tenas: the NTK batch (default nb201 72, darts 14)', engineIntOption('--batch-size', 'batchSize'))
    .option('--num-batches <n>', 'gsnr: gradient samples (default nb201 8, darts 2, §C.2)', intOption('--num-batches', ENGINE_OPTIONS.numBatches.min, ENGINE_OPTIONS.numBatches.max))
    .option('--prune-number <n>', 'ops removed per edge per round (default 1; darts with tenas: 3, TE-NAS prune_number on CIFAR-10)', intOption('--prune-number', 1, 8))
    .option('--xi <x>', 'gsnr: ξ (default 1e-8)')
    .option('-r, --resolution <n>', 'xi-gsnr: input resolution (default 32)', engineIntOption('--resolution', 'resolution'))
    .option('-c, --num-classes <n>', 'classes of the classifier (default 10)', intOption('--num-classes', 1, 65536))
    .option('--none <mode>', "'prune-first' (TE-NAS: none leaves every edge before round 1) or 'search' (a candidate like any op)", 'prune-first')
    .option('--reduction-pool <name>', "the basic block's shortcut pool: 'avg2' (NAS-Bench-201's AvgPool2d(2, 2)) or the older stand-ins 'avg3' (3×3/2, padding excluded) and 'subsample' (1×1/2)", 'avg2')
    .option('--residuals <mode>', "'keep' (the net as defined) or 'remove' (skip edges → none, no basic-block shortcut)", 'keep')
    .option('-t, --threads <n>', 'CPU threads (default: all cores)', intOption('--threads', 1, 1024))
    .option('--no-progress', 'no progress on stderr')
    .option('--json', 'print one JSON object (every round, every score)')
    .addHelpText('after', `
Examples:
  $ zennas prune --space nb201 -C 4 -N 1 --batch-size 8 --num-batches 2 --runs 2     # a quick look, 2 seeds
  $ zennas prune --space nb201 --proxy gsnr --seed 0   # needs: ≈ 35 min on 2 idle cores (ξ-GSNR's setting: C 16, N 5, 8 × 64)
  $ zennas prune --space nb201 --algorithm tenas --seed 0 --json   # needs: ≈ 30 min on 2 idle cores
  $ zennas prune --space darts -b 2 --num-batches 2 -r 8 --prune-number 3   # a quick look at DARTS (TE-NAS's C 1, N 1, depth 2 supernet)
  $ zennas prune --space darts --proxy gsnr --seed 0   # needs: ≈ 2.5 min on 2 busy cores (ξ-GSNR's DARTS setting: 4 × 2 images, 792 evaluations)`)
    .action(async (f: PruneFlags) => {
      const space = choice('--space', f.space, ['nb201', 'darts'] as const);
      if (space === 'darts' && (f.reductionPool !== 'avg2' || f.residuals !== 'keep')) throw new ZennasError('E_OPTION', '--reduction-pool and --residuals apply to --space nb201 only');
      if (space === 'nb201' && f.depth !== undefined) throw new ZennasError('E_OPTION', '--depth applies to --space darts only');
      const algorithm = choice<PruneAlgorithm>('--algorithm', f.algorithm, PRUNE_ALGORITHMS);
      const none = choice('--none', f.none, ['prune-first', 'search'] as const);
      const reductionPool = choice('--reduction-pool', f.reductionPool, NB201_REDUCTION_POOLS);
      const residuals = choice('--residuals', f.residuals, ['keep', 'remove'] as const);
      if (algorithm === 'tenas') {
        for (const [flag, v] of [['--proxy', f.proxy], ['--num-batches', f.numBatches], ['--xi', f.xi], ['--resolution', f.resolution], ['--channels', f.channels], ['--cells', f.cells], ['--depth', f.depth]] as const)
          if (v !== undefined) throw new ZennasError('E_OPTION', `${flag} does not apply to --algorithm tenas (its nets and inputs are TE-NAS's: see 'zennas prune --help')`);
      }
      const proxy = (f.proxy ?? 'gsnr') as ProxyName;
      const spec = algorithm === 'xi-gsnr' ? cellProxySpec(proxy) : undefined;
      if (spec && f.numBatches !== undefined && !(spec.keys as readonly string[]).includes('numBatches')) throw new ZennasError('E_OPTION', `--num-batches applies to gsnr only, not to '${proxy}'`);
      if (spec && f.xi !== undefined && !(spec.keys as readonly string[]).includes('xi')) throw new ZennasError('E_OPTION', `--xi applies to gsnr only, not to '${proxy}'`);
      const net = { residuals, reductionPool, ...(f.channels !== undefined ? { channels: f.channels } : {}), ...(f.cells !== undefined ? { cells: f.cells } : {}), ...(f.numClasses !== undefined ? { numClasses: f.numClasses } : {}) };
      const engineOptions = {
        ...(f.batchSize !== undefined ? { batchSize: f.batchSize } : {}), ...(f.numBatches !== undefined ? { numBatches: f.numBatches } : {}),
        ...(f.xi !== undefined ? { xi: positive('--xi', f.xi) } : {}), ...(f.resolution !== undefined ? { resolution: f.resolution } : {}),
      };
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.on('SIGINT', onSigint);
      const engine = new Engine({ threads: f.threads });
      const tty = f.progress && !!process.stderr.isTTY;
      const bar = new SingleBar({ format: 'seed {seed} round {round} [{bar}] {value}/{total} evaluations | {eta_formatted} left', stream: process.stderr, hideCursor: true }, Presets.shades_classic);
      const results: (PruneResult | DartsPruneResult)[] = [];
      const edgeNames = space === 'darts' ? dartsEdgeName : edgeName;
      const common = { algorithm, seed: 0, none, ...(f.repeats !== undefined ? { repeats: f.repeats } : {}), ...(f.pruneNumber !== undefined ? { pruneNumber: f.pruneNumber } : {}), signal: abort.signal };
      const dartsNet = { ...(f.channels !== undefined ? { channels: f.channels } : {}), ...(f.cells !== undefined ? { cells: f.cells } : {}), ...(f.depth !== undefined ? { depth: f.depth } : {}), ...(f.numClasses !== undefined ? { numClasses: f.numClasses } : {}) };
      try {
        for (let k = 0; k < f.runs; k++) {
          const seed = f.seed + k;
          let shownRound = 0;
          const onProgress = (p: { round: number; done: number; total: number; edge?: number; op?: string }) => {
            if (!f.progress) return;
            if (tty) {
              if (p.round !== shownRound) { if (shownRound) bar.stop(); bar.start(p.total, p.done, { seed, round: p.round }); shownRound = p.round; } else bar.update(p.done, { seed, round: p.round });
            } else {
              process.stderr.write(`prune: seed ${seed} round ${p.round}: ${p.done}/${p.total} evaluations${p.op ? ` (edge ${edgeNames(p.edge!)} without ${p.op})` : ' (N_t)'}\n`);
            }
          };
          const r = space === 'darts'
            ? await pruneDarts(engine, {
              ...common, seed, onProgress,
              ...(algorithm === 'xi-gsnr' ? { proxy, net: dartsNet, engineOptions } : { tenas: { ...(f.batchSize !== undefined ? { ntkBatchSize: f.batchSize } : {}) } }),
            })
            : await pruneNb201(engine, {
              ...common, seed, onProgress,
              ...(algorithm === 'xi-gsnr' ? { proxy, net, engineOptions } : { tenas: { ...(f.batchSize !== undefined ? { ntkBatchSize: f.batchSize } : {}), ntkNet: { channels: 3, cells: 1, reductionPool, residuals }, lrNet: { channels: 1, cells: 1, depth: 1, stem: false, inputChannels: 1, reductionPool, residuals } } }),
            });
          if (tty && shownRound) bar.stop();
          results.push(r);
        }
      } catch (e) {
        if (tty) bar.stop();
        if (abort.signal.aborted) {
          process.stderr.write('zennas: interrupted\n');
          process.exitCode = 130;
          return;
        }
        throw e;
      } finally {
        process.off('SIGINT', onSigint);
        engine.close();
      }
      const freq = genotypeFrequencies(results);
      if (f.json) {
        process.stdout.write(JSON.stringify(f.runs === 1 ? results[0] : { runs: results, frequencies: freq }) + '\n');
        return;
      }
      const lines: string[] = [];
      for (const r of results) {
        lines.push(`${r.algorithm === 'tenas' ? 'TE-NAS (ranks of Δcond and ΔR)' : `ξ-GSNR Algorithm 1, P = ${r.proxy}`} on ${space === 'darts' ? "TE-NAS's DARTS supernet" : 'NAS-Bench-201'}, seed ${r.seed}, ${r.repeats} repeat(s)`);
        if (f.runs === 1) lines.push(...roundsText(r, space === 'darts' ? 28 : 6, edgeNames));
        lines.push(`genotype ${r.genotypeString}`);
        if ('index' in r) lines.push(`  NAS-Bench-201 index ${r.index}; params ${human(r.params)} (${r.params}), FLOPs ${human(r.flops)} (${r.flops}) at C 16, N 5, 10 classes, 32×32`);
        else lines.push(`  params ${human(r.params)} (${r.params}), FLOPs ${human(r.flops)} (${r.flops}): its search network at the pruning net's C, N, depth, 10 classes, 32×32`);
        lines.push(`  ${r.rounds.length} rounds, ${r.evaluations} evaluations, ${r.seconds.toFixed(1)} s`);
      }
      if (f.runs > 1) {
        lines.push('', `genotypes of ${f.runs} runs (seeds ${f.seed}..${f.seed + f.runs - 1}):`);
        for (const x of freq) lines.push(`  ${x.count}/${f.runs}  ${x.genotype}  (${x.index !== undefined ? `index ${x.index}; ` : ''}seeds ${x.seeds.join(',')})`);
      }
      process.stdout.write(lines.join('\n') + '\n');
    });
}
