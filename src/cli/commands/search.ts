import * as path from 'path';
import { Command } from 'commander';
import { ZennasError } from '../../errors';
import { renameOptions } from '../../util/keyed-error';
import { Structure } from '../../grammar/ast';
import { formatStructure } from '../../grammar/format';
import { getPreset, getSpace, listSpaces, SearchSpace, SpacePreset } from '../../spaces';
import { runSearch, SearchConfig, SearchProgress, SearchHooks, Scorer } from '../../search/evolution';
import { scorerEvaluator } from '../../search/evaluator';
import { COUNTED_PROXIES, configScorer, ProxyOptions, proxyScoring, SEARCH_PROXIES } from '../../search/proxy-scorer';
import { PROXY_NAMES, PROXY_TABLE } from '../../proxies/table';
import { ENGINE_OPTIONS } from '../../engine/options';
import { Budgets, describeBudgets } from '../../search/budget';
import { buildSummary } from '../../search/summary';
import { readCheckpoint } from '../../search/store';
import { backends } from '../../engine/engine';
import { engineLatencySource, openEngine, SearchEngine } from '../../search/engine-scorer';
import { parseCount, parseDuration, formatCount, formatDuration } from '../../util/units';
import { loadStructureArg, engineChoiceFlag, engineChoiceHelp, engineIntOption } from '../structure-input';
import { formatLatencyCheck, lutSearchSetup } from '../../lut/search-setup';
import type { LatencyCheck } from '../../lut/search';
import { Progress, startProgress } from '../progress';
import { applyConfigFile, givenByUser } from '../config-file';
import { countText } from '../format';
import { openCommandQueue } from '../../distributed/search-queue';

interface SearchFlags {
  space: string; preset?: string; variant?: string; init?: string; resolution?: number; numClasses?: number;
  budgetParams?: number | NoBudget; budgetFlops?: number | NoBudget; maxLayers?: number | NoBudget; budgetLatency?: number | NoBudget;
  population: number; iterations?: number; batchSize?: number; repeats: number; mode: string; bnEps: string; conv: string;
  seed: number; threads?: number; inFlight: number; rho: string; se?: boolean; backend: string;
  latencyBackend?: string; latencyPrecision?: string; latencyBatchSize: number; latencyIterations: number; out?: string; resume?: boolean; overwrite?: boolean; json?: boolean; progress: boolean; quiet?: boolean; config?: string;
  queue?: string; queueName?: string; queueJobSize?: number;
  checkpointEvery: number; proxy: string; weightInit?: string; numBatches?: number; xi?: string; gsnrMode?: string; hvpPrecision?: string; algorithm: string;
}

/** The flags of a hard-constrained search with a latency lookup table (src/lut). */
interface SearchFlags { lut?: string; lutCorrection?: string; verifyTop: number; repair: boolean }

function int(flag: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const s = String(v).trim();
    if (!/^\d+$/.test(s)) throw new ZennasError('E_OPTION', `${flag} must be a whole number, got '${v}'`);
    const n = Number(s);
    if (n < min || n > max) throw new ZennasError('E_OPTION', `${flag} must be in ${min}..${max}, got ${n}`);
    return n;
  };
}
/** `--budget-… none` lifts a preset's budget. A string, not null: commander would store null as ''. */
type NoBudget = 'none';
const isNone = (v: string) => /^none$/i.test(v.trim());
/** A count with units, or `none`. */
const countOrNone = (flag: string) => (v: string): number | NoBudget => (isNone(v) ? 'none' : parseCount(v, flag, { min: 1 }));
const intOrNone = (flag: string, min: number, max: number) => (v: string): number | NoBudget => (isNone(v) ? 'none' : int(flag, min, max)(v));
const durationOrNone = (flag: string) => (v: string): number | NoBudget => (isNone(v) ? 'none' : parseDuration(v, flag));

function positiveFloat(flag: string, v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new ZennasError('E_OPTION', `${flag} must be a positive number, got '${v}'`);
  return x;
}

/**
 * The flag of each option key the library's errors name (KeyedError): library messages say
 * `population`, `budgets.params`, `outDir`; this command says `--population`, `--budget-params`, `--out`.
 */
const OPTION_FLAGS: Readonly<Record<string, string>> = {
  space: '--space', preset: '--preset', initial: '--init', resolution: '--resolution', numClasses: '--num-classes', se: '--se',
  'budgets.params': '--budget-params', 'budgets.flops': '--budget-flops', 'budgets.layers': '--max-layers', 'budgets.latencyMs': '--budget-latency',
  latency: '--latency-backend', population: '--population', iterations: '--iterations', seed: '--seed', inFlight: '--in-flight', rho: '--rho',
  outDir: '--out', resume: '--resume', overwrite: '--overwrite', scorer: '--proxy', evaluator: '--proxy', engine: '--proxy',
  proxy: '--proxy', 'scoring.proxy': '--proxy', algorithm: '--algorithm',
  'proxyOptions.batchSize': '--batch-size', 'proxyOptions.repeats': '--repeats', 'proxyOptions.init': '--weight-init', 'proxyOptions.bnEps': '--bn-eps',
  'proxyOptions.numBatches': '--num-batches', 'proxyOptions.xi': '--xi', 'proxyOptions.gsnrMode': '--gsnr-mode', 'proxyOptions.hvpPrecision': '--hvp-precision', 'proxyOptions.mode': '--mode',
  'proxyOptions.backend': '--backend',
};
const flagOf = (key: string): string => OPTION_FLAGS[key] ?? key;

/**
 * Scores a search maximises: the Zen-score, the official code's 'Flops' / 'Params' / 'Random'
 * baselines (no engine needed) and the zero-shot proxies of the table (src/proxies/table.ts).
 */
const PROXIES = SEARCH_PROXIES;

/** Preset chosen by --preset, else by --resolution (≥ 128: imagenet), else the space's default. */
function choosePreset(space: SearchSpace, f: SearchFlags): SpacePreset {
  if (f.preset) return getPreset(space, f.preset);
  if (f.resolution !== undefined && f.resolution >= 128 && space.presets.imagenet) return space.presets.imagenet;
  return getPreset(space);
}

/** A budget flag's value: `none` lifts it, absent keeps the preset's. */
function pick(v: number | NoBudget | undefined, fallback: number | undefined): number | undefined {
  if (v === 'none') return undefined;
  return v === undefined ? fallback : v;
}

/**
 * The scoring record of the flags: 'zen' as it always was; 'flops' / 'params' / 'random' bare; a
 * table proxy with the table's defaults for every flag not given (`given`: on the command line).
 */
function scoringFromFlags(f: SearchFlags, preset: SpacePreset, given: (k: string) => boolean): SearchConfig['scoring'] {
  const tableOnly = ([['weightInit', '--weight-init', 'init'], ['numBatches', '--num-batches', 'numBatches'], ['xi', '--xi', 'xi'], ['gsnrMode', '--gsnr-mode', 'gsnrMode'], ['hvpPrecision', '--hvp-precision', 'hvpPrecision']] as const).find(([k]) => f[k] !== undefined);
  if (tableOnly && (f.proxy === 'zen' || (COUNTED_PROXIES as readonly string[]).includes(f.proxy))) {
    const takers = PROXY_NAMES.filter((n) => n !== 'zen' && (PROXY_TABLE[n].keys as readonly string[]).includes(tableOnly[2]));
    const which = takers.length < PROXY_NAMES.length - 1 ? ` that take it (${takers.join(', ')})` : '';
    throw new ZennasError('E_OPTION', `${tableOnly[1]} applies to the proxies of the table ('zennas proxies')${which}, not to --proxy ${f.proxy}`);
  }
  if (f.conv !== 'auto' && f.conv !== 'direct') throw new ZennasError('E_OPTION', `--conv must be 'auto' or 'direct', got ${JSON.stringify(f.conv)}`);
  if (f.proxy === 'zen') {
    return { proxy: 'zen', batchSize: f.batchSize ?? preset.batchSize, repeats: f.repeats, mode: f.mode, bnEps: positiveFloat('--bn-eps', f.bnEps), alpha: 0.01, backend: f.backend, conv: f.conv };
  }
  if (given('conv')) throw new ZennasError('E_OPTION', `--conv applies to the Zen-score (--proxy zen), not to --proxy ${f.proxy}`);
  if (f.proxy === 'flops' || f.proxy === 'params' || f.proxy === 'random') return { proxy: f.proxy };
  const o: ProxyOptions = {
    ...(f.batchSize !== undefined ? { batchSize: f.batchSize } : {}),
    repeats: f.repeats,
    ...(f.weightInit !== undefined ? { init: f.weightInit as 'normal' | 'torch' } : {}),
    bnEps: positiveFloat('--bn-eps', f.bnEps),
    ...(f.numBatches !== undefined ? { numBatches: f.numBatches } : {}),
    ...(f.xi !== undefined ? { xi: positiveFloat('--xi', f.xi) } : {}),
    ...(f.gsnrMode !== undefined ? { gsnrMode: engineChoiceFlag('--gsnr-mode', 'gsnrMode', f.gsnrMode)! } : {}),
    ...(f.hvpPrecision !== undefined ? { hvpPrecision: engineChoiceFlag('--hvp-precision', 'hvpPrecision', f.hvpPrecision)! } : {}),
    ...(given('mode') ? { mode: f.mode as 'paper' | 'official' } : {}),
    ...(given('backend') || f.backend !== 'cpu' ? { backend: f.backend as 'cpu' | 'cuda' } : {}),
  };
  return proxyScoring(f.proxy, o, { batchSize: preset.batchSize });
}

/** Build the search config from flags (preset defaults fill the gaps); `given`: whether a flag was on the command line. */
export function configFromFlags(f: SearchFlags, given: (k: string) => boolean = () => false): { config: SearchConfig; preset: SpacePreset; space: SearchSpace } {
  const space = getSpace(f.space);
  const preset = choosePreset(space, f);
  if (!PROXIES.includes(f.proxy)) throw new ZennasError('E_OPTION', `--proxy must be one of ${PROXIES.join(', ')}, got '${f.proxy}'`);
  if (f.mode !== 'paper' && f.mode !== 'official') throw new ZennasError('E_OPTION', `--mode must be 'paper' or 'official', got '${f.mode}'`);
  if (f.algorithm !== 'zen-nas' && f.algorithm !== 'xi-gsnr-evolution') throw new ZennasError('E_OPTION', `--algorithm must be 'zen-nas' or 'xi-gsnr-evolution', got '${f.algorithm}'`);
  if (f.weightInit !== undefined && f.weightInit !== 'normal' && f.weightInit !== 'torch') throw new ZennasError('E_OPTION', `--weight-init must be 'normal' or 'torch', got '${f.weightInit}'`);
  engineChoiceFlag('--gsnr-mode', 'gsnrMode', f.gsnrMode);
  engineChoiceFlag('--hvp-precision', 'hvpPrecision', f.hvpPrecision);
  const rho: SearchConfig['rho'] = f.rho === 'paper' ? 'paper' : Number(f.rho);
  if (rho !== 'paper' && !(Number.isFinite(rho) && rho >= 0 && rho <= 1)) throw new ZennasError('E_OPTION', `--rho must be 'paper' or a number in [0,1], got '${f.rho}'`);
  const initial = f.init ? formatStructure(loadStructureArg(f.init).structure) : preset.initial;
  const budgets: Budgets = {};
  const bp = pick(f.budgetParams, preset.budgetParams);
  const bf = pick(f.budgetFlops, preset.budgetFlops);
  const bl = pick(f.maxLayers, preset.maxLayers);
  const bt = pick(f.budgetLatency, undefined);
  if (bp !== undefined) budgets.params = bp;
  if (bf !== undefined) budgets.flops = bf;
  if (bl !== undefined) budgets.layers = bl;
  if (bt !== undefined) budgets.latencyMs = bt;
  const resolution = f.resolution ?? preset.resolution;
  const config: SearchConfig = {
    space: space.id, preset: preset.name, initial, resolution, numClasses: f.numClasses ?? preset.numClasses, se: !!f.se,
    budgets, population: f.population, iterations: f.iterations ?? preset.iterations, seed: f.seed, inFlight: f.inFlight, rho,
    scoring: scoringFromFlags(f, preset, given),
    ...(f.algorithm === 'xi-gsnr-evolution' ? { algorithm: 'xi-gsnr-evolution' as const } : {}),
  };
  if (budgets.latencyMs !== undefined) {
    config.scoring.latencyBackend = f.latencyBackend ?? 'none';
    config.scoring.latencyPrecision = f.latencyPrecision ?? 'fp16';
    config.scoring.latencyBatchSize = f.latencyBatchSize;
  }
  return { config, preset, space };
}

/** What went wrong with candidates in this process: the first failure of each error code. */
interface Failures { count: number; byCode: Map<string, string> }

/** `scorer`, noting each failure's code and its first message (the search still counts it as −∞). */
function noteFailures(scorer: Scorer<Structure>, failures: Failures): Scorer<Structure> {
  return async (s, d) => {
    try {
      return await scorer(s, d);
    } catch (e) {
      failures.count++;
      const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : 'error';
      if (!failures.byCode.has(code)) failures.byCode.set(code, (e as Error)?.message ?? String(e));
      throw e;
    }
  };
}

/** Why a finished search has no best candidate, in one sentence with a next step. */
function whyNoResult(summary: ReturnType<typeof buildSummary>, failures: Failures): string {
  const c = summary.counts;
  if (c.scored > 0 && c.failed === c.scored) {
    const seen = [...failures.byCode].map(([code, msg]) => `${code}: ${msg}`).join('; ');
    const oom = failures.byCode.has('E_OUT_OF_MEMORY') ? ' (out of memory: lower --batch-size, --resolution or the budgets)' : '';
    return `all ${c.scored} candidates that fitted the budgets failed to score${oom}${seen ? ` — ${seen}` : ''}${summary.files?.log ? `; see ${summary.files.log}` : ''}`;
  }
  const r = c.rejected;
  return `no candidate fitted the budgets (${summary.budgetText}) in ${summary.iterationsDone} iterations: ` +
    `${r.params + r.flops + r.layers + r.latency} over budget (params ${r.params}, FLOPs ${r.flops}, layers ${r.layers}, latency ${r.latency}), ${c.invalid} invalid; ` +
    'try a smaller --init or looser budgets';
}

function printHuman(summary: ReturnType<typeof buildSummary>, interrupted: boolean, out: string | undefined, quiet = false): void {
  const b = summary.best;
  const w = (s: string) => process.stdout.write(s + '\n');
  if (interrupted) w(`interrupted at iteration ${summary.iterationsDone}/${summary.iterations}${out ? `; continue with the same command plus --resume` : ''}`);
  if (b) { // (no best: the action says why on stderr)
    // The official baselines score log10 of a count: say so, with the count itself.
    const counted = summary.proxy === 'flops' || summary.proxy === 'params';
    const what = b.value !== undefined
      ? `${summary.proxy} ${b.value.toFixed(4)} (lowest: the search maximises −${summary.proxy}; `
      : counted
        ? `log10(${summary.proxy === 'flops' ? 'FLOPs' : 'params'}) = ${b.score.toFixed(4)}, i.e. ${formatCount(10 ** b.score)} ${summary.proxy === 'flops' ? 'FLOPs' : 'params'} (the '${summary.proxy}' baseline; `
        : `${summary.scoreName} ${b.score.toFixed(4)} (`;
    w(`best ${what}iteration ${b.iteration} of ${summary.iterations}, space ${summary.space}, ${summary.resolution}×${summary.resolution}` +
      `${summary.algorithm !== 'zen-nas' ? `, ${summary.algorithm}` : ''})`);
    w(b.structure);
    w(`params ${countText(b.params)}, FLOPs ${countText(b.flops)}, layers ${b.layers}` +
      `${b.latencyMs !== undefined ? `, latency ${formatDuration(b.latencyMs)}` : ''}  [budgets: ${summary.budgetText}]`);
  }
  const c = summary.counts;
  const t = summary.timing;
  w(`${c.scored} scored, ${c.rejected.params + c.rejected.flops + c.rejected.layers + c.rejected.latency} over budget ` +
    `(params ${c.rejected.params}, FLOPs ${c.rejected.flops}, layers ${c.rejected.layers}, latency ${c.rejected.latency}), ${c.failed} failed; ` +
    `${t.candidatesPerSecond.toFixed(2)} candidates/s; per candidate ${t.engineMsPerCandidate.toFixed(1)} ms in the engine, ` +
    `${t.tsMsPerCandidate.toFixed(2)} ms TS loop (${(100 * t.tsShare).toFixed(1)}% of wall time)`);
  if (!out && !quiet) w('nothing was saved: add --out DIR to keep the candidates, a report and a checkpoint to resume from');
  if (summary.files) {
    const f = summary.files;
    const plots = [f.plotBestVsIteration, f.plotScoreVsParams, f.plotScoreVsFlops, f.plotScoreVsLatency, f.diagramBestNet].filter(Boolean).map((p) => path.basename(p!));
    w(`files: ${[f.best, f.candidates, f.summary, f.reportHtml, f.reportMd, f.checkpoint].filter(Boolean).join('\n       ')}` +
      (plots.length ? `\n       plots: ${plots.join(', ')}` : ''));
  }
}

/**
 * With --resume, flags not given on the command line come from the checkpoint's config. The
 * checkpoint is read as RunStore.resume reads it (bounded, regular file only, whole schema
 * checked), so a damaged one is refused here, naming the field, before anything else happens.
 */
function resumeDefaults(out: string): SearchConfig {
  return readCheckpoint(out).config;
}

function applySaved(f: SearchFlags, saved: SearchConfig, explicit: (k: string) => boolean): SearchFlags {
  const g = { ...f };
  const set = <K extends keyof SearchFlags>(k: K, v: SearchFlags[K]) => { if (!explicit(k as string)) g[k] = v; };
  set('space', saved.space);
  set('preset', saved.preset);
  set('init', saved.initial);
  set('resolution', saved.resolution);
  set('numClasses', saved.numClasses);
  set('se', saved.se);
  set('budgetParams', saved.budgets.params ?? 'none');
  set('budgetFlops', saved.budgets.flops ?? 'none');
  set('maxLayers', saved.budgets.layers ?? 'none');
  set('budgetLatency', saved.budgets.latencyMs ?? 'none');
  set('population', saved.population);
  set('iterations', saved.iterations);
  set('seed', saved.seed);
  set('inFlight', saved.inFlight);
  set('rho', String(saved.rho));
  set('algorithm', saved.algorithm ?? 'zen-nas');
  const sc = saved.scoring;
  if (typeof sc.proxy === 'string') set('proxy', sc.proxy);
  if (typeof sc.init === 'string') set('weightInit', sc.init);
  if (typeof sc.numBatches === 'number') set('numBatches', sc.numBatches);
  if (typeof sc.xi === 'number') set('xi', String(sc.xi));
  if (typeof sc.gsnrMode === 'string') set('gsnrMode', sc.gsnrMode);
  if (typeof sc.hvpPrecision === 'string') set('hvpPrecision', sc.hvpPrecision);
  if (typeof sc.batchSize === 'number') set('batchSize', sc.batchSize);
  if (typeof sc.repeats === 'number') set('repeats', sc.repeats);
  if (typeof sc.mode === 'string') set('mode', sc.mode);
  if (typeof sc.bnEps === 'number') set('bnEps', String(sc.bnEps));
  if (typeof sc.backend === 'string') set('backend', sc.backend);
  // A Zen-score run from before the conv option was scored by the direct convolutions: it goes on with them.
  if (typeof sc.conv === 'string') set('conv', sc.conv);
  else if (sc.proxy === 'zen' || sc.proxy === undefined) set('conv', 'direct');
  if (typeof sc.latencyBackend === 'string' && sc.latencyBackend !== 'none' && !sc.latencyBackend.startsWith('lut:')) set('latencyBackend', sc.latencyBackend);
  if (typeof sc.latencyPrecision === 'string') set('latencyPrecision', sc.latencyPrecision);
  if (typeof sc.latencyBatchSize === 'number') set('latencyBatchSize', sc.latencyBatchSize);
  return g;
}

/** `zennas search`: Zen-NAS evolutionary search (Algorithm 2) under params/FLOPs/layers/latency budgets. */
export function registerSearchCommand(program: Command): void {
  const spaces = listSpaces().map((s) => `  ${s.id.padEnd(4)} ${s.description}\n${Object.values(s.presets).map((p) => `         preset ${p.name}: ${p.description}; res ${p.resolution}, ${describeBudgets({ params: p.budgetParams, flops: p.budgetFlops, layers: p.maxLayers })}, ${p.iterations} iterations`).join('\n')}`).join('\n');
  program
    .command('search')
    .description('Zen-NAS evolutionary search (Algorithm 2): mutate, reject over-budget children, score with the Zen-score (or --proxy), keep the best')
    .option('--space <id>', 'search space: I (ResNet blocks) or II (MobileNet IDW blocks)', 'I')
    .option('--preset <name>', "defaults for 'cifar' (res 32) or 'imagenet' (res 224); default from --resolution")
    .option('--variant <name>', "the space's variant, for spaces whose presets are variants: hardcore 'paper' (default, the appendix) or 'official' (the official code's hard-swish / hard-sigmoid SE net); the same as --preset")
    .option('--init <structure|file>', 'initial structure F0 (default: the preset\'s)')
    .option('-r, --resolution <n>', 'input resolution (default: the preset\'s)', int('--resolution', 8, 4096))
    .option('-c, --num-classes <n>', 'classes of the classifier counted in params/FLOPs (cifar 100, imagenet 1000)', int('--num-classes', 0, 1_000_000))
    .option('--budget-params <count>', "max params incl. classifier, e.g. 1M, 500k, or 'none' (cifar default 1M)", countOrNone('--budget-params'))
    .option('--budget-flops <count>', "max FLOPs (multiply-adds), e.g. 400M, or 'none' (imagenet default 400M)", countOrNone('--budget-flops'))
    .option('--max-layers <n>', "max Σ sub_layers, or 'none' (cifar 18, imagenet 14)", intOrNone('--max-layers', 1, 10000))
    .option('--budget-latency <time>', 'max latency per mini-batch (--latency-batch-size images), e.g. 32ms', durationOrNone('--budget-latency'))
    .option('--latency-backend <name>', "latency source for --budget-latency: 'cuda' (the paper's convention; default when a GPU is usable) or 'cpu' (fp32)")
    .option('--latency-precision <p>', "'fp16' (paper; cuda default) or 'fp32' (cpu)")
    .option('--latency-batch-size <n>', 'mini-batch of the latency measurement (paper: 64)', engineIntOption('--latency-batch-size', 'batchSize'), 64)
    .option('--latency-iterations <n>', 'timed mini-batches per candidate (paper: 30)', int('--latency-iterations', 1, 100000), 30)
    .option('--lut <file>', "hard latency constraint from a lookup table (zennas lut build): children over --budget-latency by its estimate are repaired or rejected before scoring; at the end the top candidates are measured on the table's runtime and the best one within the budget by measurement is returned")
    .option('--lut-correction <file>', 'with --lut: a correction fitted on that table (zennas lut fit): the budget check and the repair use the corrected estimate; the final measurement is unchanged')
    .option('--verify-top <n>', 'with --lut: candidates measured at the end (more when none of them fits)', int('--verify-top', 1, 100000), 5)
    .option('--no-repair', 'with --lut: reject over-budget children instead of repairing them (greedy MCKP downgrade, HardCoRe-NAS §F)')
    .option('--population <n>', 'population size N', int('--population', 1, 1_000_000), 512)
    .option('-i, --iterations <n>', 'iterations T, rejected proposals included (default: 2000; the paper uses 48k–96k)', int('--iterations', 1, 1_000_000_000))
    .option('-b, --batch-size <n>', "batch size of the score (default: the preset's 64 for zen, the proxy table's for the others; synflow has none)", engineIntOption('--batch-size', 'batchSize'))
    .option('-n, --repeats <n>', 'repeats per candidate, averaged (official: 1)', int('--repeats', 1, 1000), 1)
    .option('-p, --proxy <name>', `what scores the candidates: 'zen' (Zen-score), a zero-shot proxy of 'zennas proxies' (${PROXY_NAMES.filter((n) => n !== 'zen').join(', ')}; through the engine, lowered as the table says, its defaults and direction: synflow is minimised), or the official baselines 'flops' / 'params' (log10 of the count) / 'random' (no engine)`, 'zen')
    .option('--weight-init <name>', "weight init of a table proxy: 'normal' or 'torch' (default: the proxy's)")
    .option('--num-batches <n>', 'gsnr: gradient samples (default 8)', int('--num-batches', ENGINE_OPTIONS.numBatches.min, ENGINE_OPTIONS.numBatches.max))
    .option('--xi <x>', 'gsnr: ξ (default 1e-8)')
    .option('--gsnr-mode <mode>', engineChoiceHelp('gsnrMode'))
    .option('--hvp-precision <p>', engineChoiceHelp('hvpPrecision'))
    .option('--algorithm <name>', "'zen-nas' (Zen-NAS Algorithm 2, default) or 'xi-gsnr-evolution' (ξ-GSNR's: a random initial population of --population budget-fitting nets, then a child replaces the lowest member only if it scores higher)", 'zen-nas')
    .option('-m, --mode <mode>', "Zen-score mode 'paper' or 'official'", 'paper')
    .option('--bn-eps <x>', 'BN ε for scoring', '1e-5')
    .option('--conv <mode>', "Zen-score convolutions: 'auto' (the planner picks direct GEMM or Winograd per layer, by a cost model of this CPU's kernels: AVX-512 and AVX2 machines may round differently) or 'direct' (no Winograd; the same bits on every x86-64 with AVX2, and those of runs before the option); part of the run: a resume keeps it", 'auto')
    .option('-s, --seed <n>', 'seed of the search (mutations) and of the Zen-score weights/inputs', int('--seed', 0, Number.MAX_SAFE_INTEGER), 0)
    .option('-t, --threads <n>', 'engine threads, shared by the candidates in flight (default: all cores)', int('--threads', 1, 1024))
    .option('--in-flight <n>', 'candidates scored concurrently (part of the result: keep it when resuming)', int('--in-flight', 1, 256), 2)
    .option('--rho <x>', "probability of a block-type change: 'paper' (1 → 0.1 over T/2) or a constant", 'paper')
    .option('--se', 'SE modules in residual blocks (Space II)')
    .option('--backend <name>', "scoring backend 'cpu' or 'cuda'", 'cpu')
    .option('--queue <url>', 'score on the workers of a Redis queue (redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://; `zennas worker`): same result as scoring here')
    .option('--queue-name <name>', "queue of --queue (the workers' --queue)", 'zennas')
    .option('--queue-job-size <n>', 'candidates per job of --queue (fewer, larger jobs when candidates score in milliseconds; keep --in-flight / n ≥ 2 × the workers\' slots)', int('--queue-job-size', 1, 1024), 1)
    .option('-o, --out <dir>', 'write candidates.jsonl, checkpoint.json, best.txt, summary.json, report.html/md (+ plot SVGs) here, listed in zennas-run.json; zennas.lock while it runs')
    .option('--resume', 'continue the run in --out from its checkpoint (flags not given are taken from it)')
    .option('--overwrite', 'start afresh in an --out that holds a search (deletes the files its zennas-run.json lists, nothing else)')
    .option('--checkpoint-every <s>', 'seconds between checkpoints', int('--checkpoint-every', 1, 86400), 10)
    .option('--no-progress', 'no progress bar')
    .option('-q, --quiet', 'print only the result (and errors): no progress, no notes')
    .option('--config <file>', "take flags from a JSON or YAML file keyed by the flags' names (budget-params: 1M); flags given here win")
    .option('--json', 'print one JSON summary to stdout (no progress bar)')
    .addHelpText('after', `
Search spaces:
${spaces}

Budgets count the model with its classifier (GAP + Linear), as the official code does. The initial
structure must fit them. Units: counts 1M, 400M, 1.5e6, 250k; durations 0.5ms, 500us.
--proxy NAME scores with that proxy of the table (lowered, initialised and batched as 'zennas proxies'
lists; --batch-size, --weight-init, --repeats, --num-batches/--xi/--gsnr-mode (gsnr) and --hvp-precision
(grasp) override); a proxy whose lower values are better (synflow) is maximised as its negation:
candidates.jsonl keeps both (score, value).
--algorithm xi-gsnr-evolution first draws --population random nets on the initial structure's
skeleton (same blocks and strides; block types uniform, widths log-uniform 8..2048, sub-layers 1..5,
then scaled to fit the budgets), then mutates uniformly drawn members; a child joins only by beating
the lowest. Every proposal, random draws included, counts towards --iterations.
A run is reproducible from its flags and --seed (and resumable to the identical result), except
that measured latencies vary from run to run. zennas writes only files of its own in --out (never
a report.md or best.txt it did not create), and one search at a time: a second one is refused.
Exit status: 0 with a result, 1 when no candidate could be scored (the reason is printed),
2 for an error, 130 when interrupted.

Examples:
  $ zennas search --space I --budget-params 1M --max-layers 18 --iterations 100 --out runs/cifar-1m
  $ zennas search --out runs/cifar-1m --resume --iterations 150   # continue (or extend) a run: same result as uninterrupted
  $ zennas info runs/cifar-1m/best.txt --resolution 32 --num-classes 100
  $ zennas search --space I --proxy grad_norm --budget-params 1M --iterations 40 --batch-size 16 --out runs/cifar-gradnorm
  $ zennas search --space I --proxy synflow --iterations 40 --out runs/cifar-synflow    # synflow is minimised (the table's direction)
  $ zennas search --space II --proxy gsnr --algorithm xi-gsnr-evolution --population 4 --iterations 10 --batch-size 8 --num-batches 2
  $ zennas search --space I --iterations 60 --population 16 --json > summary.json
  $ printf 'space: I\\nbudget-params: 500k\\niterations: 40\\n' > search.yaml && zennas search --config search.yaml --quiet
  $ zennas search --space II --preset imagenet --budget-flops 400M --max-layers 14 --population 256 --out runs/in-400m   # needs: a GPU (--backend cuda) or hours on a CPU
  $ zennas search --space I --preset imagenet --budget-latency 32ms --backend cuda --out runs/in-05ms   # needs: a GPU
      # ZenNet-0.5ms: the paper's 0.5 ms/image at batch 64 (V100, FP16) is 32 ms per mini-batch
The paper's searches run 48k–96k iterations with a population of 512 (ξ-GSNR: P 128, T 2500).`)
    .action(async (raw: SearchFlags, cmd: Command) => {
      try {
        await search(raw, cmd);
      } catch (e) {
        throw renameOptions(e, flagOf); // library errors name option keys; say them as flags here
      }
    });
}

/** The action of `zennas search`. */
async function search(raw: SearchFlags, cmd: Command): Promise<void> {
  let f = raw.config !== undefined ? applyConfigFile<SearchFlags>(cmd, raw.config) : raw;
  if (f.variant !== undefined) {
    if (f.preset !== undefined && f.preset.toLowerCase() !== f.variant.toLowerCase()) throw new ZennasError('E_OPTION', `--variant ${f.variant} and --preset ${f.preset} name two different presets: give one`);
    f = { ...f, preset: f.variant };
  }
  if (f.out !== undefined && f.out.trim() === '') throw new ZennasError('E_OPTION', `--out must be a directory path, got '${f.out}' (leave --out out for a run that writes no files)`);
  if (f.resume && f.overwrite) throw new ZennasError('E_OPTION', '--resume and --overwrite contradict each other: continue the run, or start it afresh');
  if (f.resume) {
    if (!f.out) throw new ZennasError('E_OPTION', '--resume needs --out DIR (the directory of the run to continue)');
    const saved = resumeDefaults(f.out);
    const cli = (k: string) => givenByUser(cmd, k);
    // A different score or loop is a different search: say so before its flags are checked against the saved ones.
    const identity: [flag: string, key: keyof SearchFlags, saved: string | undefined, same: (a: string, b: string) => boolean][] = [
      ['--space', 'space', saved.space, (a, b) => getSpace(a).id === getSpace(b).id],
      ['--preset', 'preset', saved.preset, (a, b) => a.toLowerCase() === b.toLowerCase()],
      ['--proxy', 'proxy', typeof saved.scoring.proxy === 'string' ? saved.scoring.proxy : undefined, (a, b) => a === b],
      ['--algorithm', 'algorithm', saved.algorithm ?? 'zen-nas', (a, b) => a === b],
    ];
    for (const [flag, key, was, same] of identity) {
      const now = String(f[key]);
      if (cli(key) && was !== undefined && !same(was, now)) {
        throw new ZennasError('E_CHECKPOINT', `the run in ${f.out} belongs to ${flag} ${was}, not ${now} (its checkpoint says so): drop ${flag} to continue it, or use another --out for a new search`);
      }
    }
    f = applySaved(f, saved, cli);
  }
  if (f.backend !== 'cpu' && f.backend !== 'cuda') throw new ZennasError('E_OPTION', `--backend must be 'cpu' or 'cuda', got '${f.backend}'`);
  if (f.latencyBackend !== undefined && f.latencyBackend !== 'cuda' && f.latencyBackend !== 'cpu') throw new ZennasError('E_OPTION', `--latency-backend must be 'cuda' or 'cpu', got '${f.latencyBackend}'`);
  if (f.resume && f.lut === undefined && String(savedLatencyBackend(f) ?? '').startsWith('lut:')) {
    throw new ZennasError('E_OPTION', `the run in ${f.out} estimated latency with a lookup table: pass --lut FILE (the same table) to continue it`);
  }
  if (f.lutCorrection !== undefined && f.lut === undefined) throw new ZennasError('E_OPTION', '--lut-correction corrects the estimate of a --lut table: give --lut FILE too');
  if (f.resume && f.lutCorrection === undefined && savedScoring(f, 'lutCorrection') !== undefined) {
    throw new ZennasError('E_OPTION', `the run in ${f.out} estimated latency with a corrected table: pass --lut-correction FILE (the same correction) to continue it`);
  }
  if (f.lut !== undefined && f.latencyBackend !== undefined) throw new ZennasError('E_OPTION', '--lut and --latency-backend are two latency sources: give one (--lut measures on its own runtime at the end)');
  if (f.lut !== undefined && typeof f.budgetLatency !== 'number') throw new ZennasError('E_OPTION', '--lut needs --budget-latency (the hard constraint it enforces)');
  if (typeof f.budgetLatency === 'number' && !f.latencyBackend && f.lut === undefined) {
    // The paper's convention: latency measured on the GPU, whenever this machine has one.
    const b = backends();
    if (!b.cuda) throw new ZennasError('E_OPTION', `--budget-latency needs a latency source and no usable GPU was found (${b.cudaReason}): add --latency-backend cpu, or drop the latency budget`);
    f = { ...f, latencyBackend: 'cuda' };
  }
  f = { ...f, latencyPrecision: f.latencyPrecision ?? (f.latencyBackend === 'cpu' ? 'fp32' : 'fp16') };
  if (f.latencyPrecision !== 'fp16' && f.latencyPrecision !== 'fp32') throw new ZennasError('E_OPTION', `--latency-precision must be 'fp16' or 'fp32', got '${f.latencyPrecision}'`);
  if (f.latencyBackend === 'cpu' && f.latencyPrecision === 'fp16') throw new ZennasError('E_OPTION', "--latency-precision fp16 needs --latency-backend cuda (the CPU engine times fp32)");
  const { config } = configFromFlags(f, (k) => givenByUser(cmd, k));
  // --lut: the table's estimate, repair and final measurement (src/lut); its conditions go into the config.
  const lutSetup = f.lut !== undefined
    ? await lutSearchSetup<Structure>(config, {
      file: f.lut, batchSize: cmd.getOptionValueSource('latencyBatchSize') === 'cli' ? f.latencyBatchSize : undefined, verifyTop: f.verifyTop, repair: f.repair,
      ...(f.lutCorrection !== undefined ? { correction: f.lutCorrection } : {}),
      onMeasured: f.json ? undefined : (c, i) => process.stderr.write(`zennas: final measurement ${i + 1}: estimate ${c.estimateMs.toFixed(3)} ms, measured ${c.measuredMs.toFixed(3)} ms${c.fits ? '' : ' (over budget)'}\n`),
    })
    : undefined;
  if (lutSetup && f.lutCorrection !== undefined && !f.json && !f.quiet) process.stderr.write(`zennas: latency from ${lutSetup.describe}\n`);
  if (lutSetup) {
    delete config.scoring.latencyPrecision;
    Object.assign(config.scoring, lutSetup.scoring);
  }
  // Engine threads are shared by all calls in flight; 2 in flight on all cores measured best (benchmarks/search-overhead).
  const threads = f.threads;

  const counted = (COUNTED_PROXIES as readonly string[]).includes(f.proxy);
  const engine: SearchEngine | undefined = counted || f.queue ? undefined : openEngine(f.proxy === 'zen' ? f.backend as 'cpu' | 'cuda' : 'cpu', threads);
  let latencyEngine: SearchEngine | undefined;
  // For summary.json and the report: the engine's worker threads (none for a counted proxy or on CUDA).
  const engineThreads = (engine as { threads?: unknown } | undefined)?.threads;
  const runInfo = { threads: typeof engineThreads === 'number' && engineThreads > 0 ? engineThreads : null };
  // --queue: the workers score (src/distributed); its progress line replaces the bar.
  const queued = f.queue ? await openCommandQueue<Structure>(config, { url: f.queue, queueName: f.queueName, jobSize: f.queueJobSize, outDir: f.out, progress: f.progress && !f.json && !f.quiet }) : undefined;
  // A bar on a terminal, a plain line every few seconds in a log (src/cli/progress.ts).
  const showBar = f.progress && !f.json && !f.quiet && !queued;
  let bar: Progress | undefined;
  const abort = new AbortController();
  const failures: Failures = { count: 0, byCode: new Map() };
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
    process.stderr.write('\nzennas: stopping after the current batch (Ctrl-C again to quit now)\n');
  };
  process.on('SIGINT', onSigint);
  try {
    const hooks: SearchHooks<Structure> = {
      evaluator: queued ? queued.evaluator : scorerEvaluator(noteFailures(configScorer(config, engine), failures)),
      outDir: f.out,
      resume: !!f.resume,
      overwrite: !!f.overwrite,
      checkpointEverySeconds: f.checkpointEvery,
      signal: abort.signal,
      runInfo,
      onLog: f.out || f.json || f.quiet ? undefined : (l) => process.stderr.write(`zennas: ${l}\n`),
      onProgress: showBar
        ? (p: SearchProgress) => {
          bar ??= startProgress({ label: 'search', total: p.iterations, unit: 'it' });
          bar.update(p.iteration, `best ${p.bestScore === null ? '-' : p.bestScore.toFixed(3)} | ${p.candidatesPerSecond.toFixed(2)} cand/s | pop ${p.populationSize}`);
        }
        : undefined,
    };
    if (lutSetup) {
      hooks.latency = lutSetup.latency;
      if (lutSetup.repair) hooks.repair = lutSetup.repair;
      hooks.verify = lutSetup.verify;
    } else if (config.budgets.latencyMs !== undefined) {
      latencyEngine = engine && f.latencyBackend === f.backend ? engine : openEngine(f.latencyBackend as 'cpu' | 'cuda');
      hooks.latency = engineLatencySource(latencyEngine, {
        batchSize: f.latencyBatchSize, iterations: f.latencyIterations, resolution: config.resolution, numClasses: config.numClasses, se: config.se,
        precision: f.latencyPrecision as 'fp16' | 'fp32', backend: f.latencyBackend!,
      });
    }
    const result = await runSearch(config, hooks);
    bar?.stop();
    const summary = buildSummary(result, result.files, { run: runInfo });
    if (f.json) process.stdout.write(JSON.stringify({ ...summary, interrupted: !result.complete }) + '\n');
    else printHuman(summary, !result.complete, f.out, f.quiet);
    if (summary.latencyCheck && !f.json) {
      // Only a LUT search sets latencyCheck (its verify hook): the context is the table's.
      const lines = formatLatencyCheck(summary.latencyCheck as LatencyCheck);
      if (lutSetup?.repair) lines.push(`repaired ${lutSetup.repair.repaired} over-budget children (greedy MCKP), ${lutSetup.repair.failed} could not be`);
      process.stdout.write(lines.join('\n') + '\n');
    }
    if (!result.complete) process.exitCode = 130;
    else if (!summary.best && summary.latencyCheck) {
      process.stderr.write('zennas: no result: no candidate meets the latency budget by measurement (see the latency check above)\n');
      process.exitCode = 1;
    } else if (!summary.best) {
      // A search that ends without a single scored candidate has no result: say why, and fail.
      process.stderr.write(`zennas: no result: ${whyNoResult(summary, failures)}\n`);
      process.exitCode = 1;
    }
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
    engine?.close();
    await queued?.stop();
    if (latencyEngine && latencyEngine !== engine) latencyEngine.close();
    lutSetup?.close();
  }
}

/** The latency source the checkpointed run in --out recorded (for --resume without --lut), if any. */
function savedLatencyBackend(f: SearchFlags): unknown {
  return savedScoring(f, 'latencyBackend');
}

/** A scoring field of the checkpointed run in --out, if any. */
function savedScoring(f: SearchFlags, key: string): unknown {
  try {
    return f.out ? readCheckpoint(f.out).config.scoring[key] : undefined;
  } catch {
    return undefined;
  }
}
