/** Ranking statistics (Kendall τ-b, Spearman ρ, bootstrap) and proxy-vs-accuracy tables. */
export { kendallTau, spearmanRho, pearson, averageRanks, bootstrapCorrelation } from './rank-correlation';
export type { BootstrapEstimate, BootstrapOptions } from './rank-correlation';
export { parseCsv, parseAccuracyTable } from './accuracy-table';
export type { AccuracyRow, AccuracyTable } from './accuracy-table';
export { correlateTable } from './correlate';
export type { CorrelateOptions, CorrelateResult, ProxyCorrelation } from './correlate';
