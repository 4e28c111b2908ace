import * as childProcess from 'child_process';
import * as fs from 'fs';
import { packageRoot, packageVersion } from '../util/package';
import * as os from 'os';
import * as path from 'path';
import { describeBudgets } from './budget';
import { COUNTED_PROXIES, scoreName, scoringDirection } from './proxy-scorer';
import { spaceOptions } from './loop';
import { getSpace } from '../spaces';
import type { ReportRunInfo } from '../report/types';
import { Member, SearchAlgorithm, SearchConfig, SearchResult } from './types';
import type { FinalLatencyCheck } from './types';

/** Where and how a run was made: summary.json's `run` (the report shows it). */
export type RunInfo = ReportRunInfo;

/** Latencies measured in one session of a run (rejected candidates included). */
export interface LatencySeen {
  count: number;
  minMs: number;
  maxMs: number;
}

/** What a summary records beyond the result: how the run was made, and what was measured on the way. */
export interface SummaryExtras {
  /** Fields of `run` the caller knows (the CLI: command line, threads); the rest are found here. */
  run?: Partial<RunInfo>;
  latencySeen?: LatencySeen;
  /** The initial structure's measured latency, when it was measured. */
  initialLatencyMs?: number;
}

/** Quote one argument for a POSIX shell when it needs it. */
function shellWord(a: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** This process's command line, shell-quoted; the zennas binary is named `zennas`. */
export function processCommandLine(argv: readonly string[] = process.argv): string {
  const script = argv[1] ? path.basename(argv[1]) : '';
  const words = /^zennas(-bin)?(\.[jt]s)?$/.test(script) ? ['zennas', ...argv.slice(2)] : [path.basename(argv[0] ?? 'node'), ...argv.slice(1)];
  return words.map(shellWord).join(' ');
}

let packageFacts: { version: string; commit: string | null } | undefined;

/** zennas's version and, in a git checkout, its commit (read once per process). */
export function zennasBuild(): { version: string; commit: string | null } {
  if (packageFacts) return packageFacts;
  const version = packageVersion();
  let root: string | undefined;
  try { root = packageRoot(); } catch { /* not installed as a package: no commit */ }
  let commit: string | null = null;
  if (root && fs.existsSync(path.join(root, '.git'))) {
    try {
      const out = childProcess.execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (/^[0-9a-f]{40,64}$/.test(out)) commit = out;
    } catch { /* no git, or not a repository: null */ }
  }
  packageFacts = { version, commit };
  return packageFacts;
}

/** The scoring backend of a config: its `backend`, 'none' for a counted proxy, 'custom' for a caller's scorer. */
function backendOf(c: SearchConfig): string {
  if (typeof c.scoring.backend === 'string') return c.scoring.backend;
  const proxy = c.scoring.proxy;
  if ((COUNTED_PROXIES as readonly unknown[]).includes(proxy)) return 'none';
  return proxy === undefined ? 'custom' : 'cpu';
}

/** `run` of a summary: what the caller gave, the rest from this process and machine. */
export function runInfo(c: SearchConfig, given: Partial<RunInfo> = {}): RunInfo {
  const build = zennasBuild();
  const cpus = os.cpus();
  return {
    commandLine: given.commandLine ?? processCommandLine(),
    version: given.version ?? build.version,
    commit: given.commit !== undefined ? given.commit : build.commit,
    date: given.date ?? new Date().toISOString(),
    machine: given.machine ?? { os: `${os.type()} ${os.release()} ${os.arch()}`, cpu: cpus[0]?.model.trim() || 'unknown', cores: cpus.length },
    backend: given.backend ?? backendOf(c),
    threads: given.threads !== undefined ? given.threads : null,
  };
}

/** The initial structure's size as the budgets see it; undefined when the space cannot count it. */
function initialCost(c: SearchConfig): { params: number; flops: number; layers: number } | undefined {
  try {
    const space = getSpace(c.space);
    const k = space.count(space.decode(c.initial), spaceOptions(c));
    return { params: k.params, flops: k.flops, layers: k.layers };
  } catch {
    return undefined;
  }
}

/** summary.json of a search (also what `zennas search --json` prints). */
export interface SearchSummary {
  space: string;
  preset: string;
  complete: boolean;
  iterations: number;
  iterationsDone: number;
  seed: number;
  population: number;
  inFlight: number;
  resolution: number;
  numClasses: number;
  se: boolean;
  budgets: SearchResult['config']['budgets'];
  budgetText: string;
  scoring: SearchResult['config']['scoring'];
  /** The loop: 'zen-nas' (Zen-NAS Algorithm 2) or 'xi-gsnr-evolution'. */
  algorithm: SearchAlgorithm;
  /** What scored the candidates: scoring.proxy, or 'custom' when the config names none (a scorer of the caller's). */
  proxy: string;
  /** 'max': the score is the proxy's value; 'min': the score is its negation (lower values are better). */
  direction: 'max' | 'min';
  /** What `score` is: 'Zen-score', '<proxy> proxy' or '−<proxy>'. */
  scoreName: string;
  initial: string;
  /** The best member; `value` is the proxy's own value (= −score) for a 'min' proxy. */
  best: (Member & { value?: number }) | null;
  counts: SearchResult['state']['counts'];
  populationSize: number;
  populationScore: { min: number | null; max: number | null; mean: number | null };
  timing: SearchResult['state']['timing'] & {
    /** Scored candidates/s over the whole run (all sessions). */
    candidatesPerSecond: number;
    /** Loop (TS) milliseconds per scored candidate. */
    tsMsPerCandidate: number;
    /** Scorer-reported (engine) milliseconds per scored candidate. */
    engineMsPerCandidate: number;
    /** Share of wall time spent in the loop's own TS work. */
    tsShare: number;
  };
  files?: Record<string, string>;
  /** Command line, zennas version, commit, date, machine, backend, threads. */
  run: RunInfo;
  /** The initial structure's params/FLOPs/layers (and latency when measured), beside the budgets. */
  initialCost?: { params: number; flops: number; layers: number; latencyMs?: number };
  /** Latencies measured in the last session (when the run has a latency budget). */
  latencySeen?: LatencySeen;
  /**
   * A hard-constrained (LUT) search's final measurement: the top candidates' estimates and
   * measured latencies side by side; `best` is then its choice (the best measured within budget).
   */
  latencyCheck?: FinalLatencyCheck;
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

/** Build the summary object of a finished (or stopped) search. */
export function buildSummary(r: SearchResult, files?: Record<string, string>, extras: SummaryExtras = {}): SearchSummary {
  const c = r.config;
  const s = r.state;
  const scores = s.population.map((m) => m.score).filter(Number.isFinite);
  const n = Math.max(1, s.counts.scored);
  const out: SearchSummary = {
    space: c.space, preset: c.preset, complete: r.complete, iterations: c.iterations, iterationsDone: s.iteration,
    seed: c.seed, population: c.population, inFlight: c.inFlight, resolution: c.resolution, numClasses: c.numClasses, se: c.se,
    budgets: c.budgets, budgetText: describeBudgets(c.budgets), scoring: c.scoring,
    algorithm: c.algorithm ?? 'zen-nas', proxy: typeof c.scoring.proxy === 'string' ? c.scoring.proxy : 'custom',
    direction: scoringDirection(c.scoring), scoreName: scoreName(c.scoring), initial: c.initial,
    run: runInfo(c, extras.run),
    best: s.best ? { ...s.best, ...(scoringDirection(c.scoring) === 'min' ? { value: -s.best.score } : {}) } : null,
    counts: s.counts,
    populationSize: s.population.length,
    populationScore: {
      min: scores.length ? finite(Math.min(...scores)) : null,
      max: scores.length ? finite(Math.max(...scores)) : null,
      mean: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null,
    },
    timing: {
      ...s.timing,
      candidatesPerSecond: s.timing.wallSeconds > 0 ? s.counts.scored / s.timing.wallSeconds : 0,
      tsMsPerCandidate: (1000 * s.timing.tsSeconds) / n,
      engineMsPerCandidate: (1000 * s.timing.engineSeconds) / n,
      tsShare: s.timing.wallSeconds > 0 ? s.timing.tsSeconds / s.timing.wallSeconds : 0,
    },
  };
  if (files) out.files = files;
  const ic = initialCost(c);
  if (ic) out.initialCost = extras.initialLatencyMs !== undefined ? { ...ic, latencyMs: extras.initialLatencyMs } : ic;
  if (extras.latencySeen && extras.latencySeen.count > 0) out.latencySeen = extras.latencySeen;
  if (r.latencyCheck) {
    out.latencyCheck = r.latencyCheck;
    out.best = r.best ? { ...r.best, ...(scoringDirection(c.scoring) === 'min' ? { value: -r.best.score } : {}) } : null;
  }
  return out;
}
