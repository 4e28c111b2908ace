/**
 * `zennas/internals`: everything the public API (`zennas`, src/index.ts) leaves out — the search
 * loop's pieces (evolve, rhoAt, SMALL_POPULATION, RunStore, checkpoint schema), PRNGs, the option
 * machinery, lowering helpers. For tools, benchmarks and tests; may change without notice.
 */
export * from './index';
export * from './grammar/ast';
export { parseStructure, blockChannels } from './grammar/parse';
export { formatStructure, formatBlock, blockName } from './grammar/format';
export * from './model/layers';
export { lowerForScoring, lowerAsTrained, inferShapes, round8, seChannels, roundHalfEven } from './model/lower';
export type { LowerOptions, TrainedLowerOptions } from './model/lower';
export { summarizeScores, resolveZenScoreOptions, ZEN_SCORE_DEFAULTS, ALPHA_MIN, ALPHA_MAX } from './engine/engine';
export * from './spaces';
export * from './search';
export { calibrateBn, CALIBRATION_BATCH } from './export/inference';
export { buildOnnxModel, decodeOnnx } from './export/onnx';
export * from './lut';
export * from './proxies';
export * from './cells';
export * from './stats';
export * from './distributed';
export { Sfc32 } from './rng/sfc32';
export { gaussianTensor, weightStream } from './rng/philox';
