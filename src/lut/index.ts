/** Latency lookup tables: types, reading/writing and compatibility, estimates, build, repair, search hooks. */
export * from './types';
export { checkLut, readLut, writeLut, toMilliseconds, lutContext, incompatibilities, assertCompatible, mergeLuts, entryKey, LUT_MAX_BYTES } from './table';
export { indexLut, checkChoices, estimateLatency, expectedLatency } from './estimate';
export type { LutIndex, LatencyEstimate, ArchitectureDistribution } from './estimate';
export { repairChoices, flopsValue } from './repair';
export type { BlockValue, RepairOptions, RepairStep, RepairResult } from './repair';
export { buildLut, buildMeta, buildPieces, overheadNet } from './build';
export type { BuildPiece, LutBuildOptions, LutBuildProgress } from './build';
export { openLutRuntime } from './runtime';
export type { LutRuntime, LutRuntimeOptions, PieceLatency } from './runtime';
export { checkLutForSearch, lutEstimator, lutLatencySource, lutRepair, measureTopCandidates } from './search';
export type { LutSearchSetting, LutEstimator, MeasuredCandidate, LatencyCheck, RankedMember } from './search';
export { hardcoreLutSpace, hardcoreConfigName } from './hardcore';
export { fitLutCorrection, correctedEstimate, assertCorrectionFor, lutFingerprint, correctionId, readLutCorrection, writeLutCorrection, checkLutCorrection, measuredNetsOf } from './correction-file';
export type { LutCorrectionFile, CorrectionTarget, MeasuredNet } from './correction-file';
export { getLutSpace, lutSpaceEntry, LUT_SPACE_IDS } from './spaces';
export type { LutSpaceEntry } from './spaces';
