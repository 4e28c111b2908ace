/**
 * What a search report is drawn from: a small result type of its own, so the report depends on
 * nothing of the search (src/search's SearchSummary and CandidateRecord are structurally these,
 * and src/search/run-output.ts hands them over).
 */

/** One scored (or failed: score null) candidate. */
export interface ReportCandidate {
  iteration: number;
  score: number | null;
  params: number;
  flops: number;
  /** The network's key (a PlainNet structure in Space I/II); the fronts and top-k list it. */
  structure?: string;
  layers?: number;
  /** Measured latency per mini-batch (runs with a latency budget). */
  latencyMs?: number;
  /** Why scoring failed (score null). */
  error?: string;
}

/** One block of the best network, as src/model/count's countModel counts it (the classifier included). */
export interface ReportBlock {
  index: number;
  /** Block type, e.g. `SuperResK1K5K1`, `Classifier`. */
  type: string;
  /** The block as written in the structure. */
  text: string;
  in: number;
  out: number;
  stride: number;
  inputResolution: number;
  outputResolution: number;
  params: number;
  flops: number;
  layers: number;
}

/** Where and how a run was made (summary.json's `run`). */
export interface ReportRunInfo {
  /** The command line that ran the search (the process's, shell-quoted). */
  commandLine: string;
  /** zennas version (package.json). */
  version: string;
  /** Git commit of the zennas checkout that ran it; null outside a git checkout. */
  commit: string | null;
  /** When the summary was written (ISO 8601, UTC). */
  date: string;
  machine: { os: string; cpu: string; cores: number };
  /** Scoring backend: 'cpu', 'cuda', or 'none' (a counted proxy, no engine). */
  backend: string;
  /** Engine worker threads; null when not known (no engine, or a caller's scorer). */
  threads: number | null;
}

/** The best candidate of a run. */
export interface ReportBest {
  iteration: number;
  structure: string;
  score: number;
  params: number;
  flops: number;
  layers: number;
  latencyMs?: number;
  /** The proxy's own value where the score is its negation (a 'min' proxy). */
  value?: number;
}

/** The run facts a report shows (a subset of summary.json). */
export interface ReportSummary {
  space: string;
  preset: string;
  se: boolean;
  complete: boolean;
  iterations: number;
  iterationsDone: number;
  seed: number;
  population: number;
  populationSize: number;
  inFlight: number;
  resolution: number;
  numClasses: number;
  initial: string;
  /** Budgets drawn as markers on the scatter plots. */
  budgets: { params?: number; flops?: number; layers?: number; latencyMs?: number };
  budgetText: string;
  /** Scorer settings; `proxy` names the score axis (absent or 'zen': Zen-score). */
  scoring: Record<string, string | number | boolean>;
  /** The search loop ('zen-nas' when absent). */
  algorithm?: string;
  /** What the score axis is (summary.json's scoreName); absent: derived from `scoring`. */
  scoreName?: string;
  /** 'min': the score is the negated proxy value (lower proxy values are better). */
  direction?: 'max' | 'min';
  best: ReportBest | null;
  /** Where and how the run was made (absent in summaries written before it existed). */
  run?: ReportRunInfo;
  /** Size of the initial structure as the budgets see it (latency when it was measured). */
  initialCost?: { params: number; flops: number; layers: number; latencyMs?: number };
  /** Latencies measured in the last session of the run (rejected candidates included). */
  latencySeen?: { count: number; minMs: number; maxMs: number };
  counts: {
    scored: number;
    failed: number;
    invalid?: number;
    rejected: { params: number; flops: number; layers: number; latency: number };
  };
  timing: {
    wallSeconds: number;
    candidatesPerSecond: number;
    tsMsPerCandidate: number;
    engineMsPerCandidate: number;
    tsShare: number;
  };
}

/** File names of a report inside a run directory (report.md links the plots by these names). */
export const REPORT_FILES = {
  reportHtml: 'report.html',
  reportMd: 'report.md',
  plotBestVsIteration: 'best-vs-iteration.svg',
  plotScoreVsParams: 'score-vs-params.svg',
  plotScoreVsFlops: 'score-vs-flops.svg',
  /** Only when latency was measured. */
  plotScoreVsLatency: 'score-vs-latency.svg',
  /** Only when the best network is a PlainNet structure. */
  diagramBestNet: 'best-net.svg',
} as const;
