/** Zen-NAS evolutionary search: loop, budgets, PRNG, run files, summary, engine-backed scorers. */
export { runSearch, rhoAt, lowestIndex, validateConfig, SMALL_POPULATION } from './evolution';
export type { SearchHooks, SearchProgress } from './evolution';
export * from './types';
export { staticBudgetViolation, fitsBudgets, describeBudgets } from './budget';
export type { CandidateCost } from './budget';
export { Sfc32 } from './prng';
export { RunStore, RUN_FILES, readCandidatesFile, configDifference } from './store';
export { buildSummary } from './summary';
export type { SearchSummary } from './summary';
export { engineScorer, engineLatencySource, openEngine } from './engine-scorer';
export type { EngineScoreOptions, SearchEngine } from './engine-scorer';
export { searchConfig, SEARCH_DEFAULTS } from './config';
export type { SearchConfigInput } from './config';
