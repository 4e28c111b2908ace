/** Zen-NAS evolutionary search: loop, evaluators, budgets, run files, summary, engine-backed scorers. */
export { runSearch, validateConfig } from './evolution';
export type { SearchHooks } from './evolution';
export { evolve, rhoAt, lowestIndex, checkSearchConfig, checkMember, initialGenotype, freshState, spaceOptions, SMALL_POPULATION } from './loop';
export type { SearchProgress, RunRecorder, LoopOptions } from './loop';
export { scorerEvaluator } from './evaluator';
export type { Candidate, Evaluation, Evaluator } from './evaluator';
export * from './types';
export { staticBudgetViolation, fitsBudgets, describeBudgets } from './budget';
export type { CandidateCost } from './budget';
export { Sfc32 } from '../rng/sfc32';
export { RunStore, RUN_FILES, MANIFEST_FILE, LOCK_FILE, readCandidatesFile, readCheckpoint, configDifference } from './store';
export type { ResumeOptions, CheckpointFile } from './store';
export { parseCheckpoint, searchConfigSchema } from './checkpoint';
export { openRun, writeRunOutputs } from './run-output';
export type { RunOutputOptions } from './run-output';
export { buildSummary } from './summary';
export type { SearchSummary } from './summary';
export { engineScorer, engineEvaluator, engineLatencySource, openEngine } from './engine-scorer';
export type { EngineScoreOptions, SearchEngine } from './engine-scorer';
export { searchConfig, SEARCH_DEFAULTS } from './config';
export {
  SEARCH_PROXIES, COUNTED_PROXIES, proxyScoring, checkScoring, configScorer, proxyScorer, countScorer, randomScorer,
  scoringDirection, scoreName, engineProxySpec,
} from './proxy-scorer';
export type { ProxyOptions, CountedProxy } from './proxy-scorer';
export type { SearchConfigInput } from './config';
export { KeyedError, renameOptions } from '../util/keyed-error';
