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
  budgets: { params?: number; flops?: number };
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
  counts: {
    scored: number;
    failed: number;
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
} as const;
