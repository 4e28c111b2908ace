/** zennas public API. */
export * from './errors';
export * from './grammar/ast';
export { parseStructure, blockChannels } from './grammar/parse';
export { formatStructure, formatBlock, blockName } from './grammar/format';
export { LIMITS } from './grammar/limits';
export * from './model/layers';
export { lowerForScoring, lowerAsTrained, inferShapes, round8, seChannels, roundHalfEven } from './model/lower';
export type { LowerOptions, TrainedLowerOptions } from './model/lower';
export { encodeDescriptor, decodeDescriptor, DESCRIPTOR_MAGIC, DESCRIPTOR_VERSION } from './model/descriptor';
export { countModel } from './model/count';
export type { CountOptions, ModelCount, BlockCount } from './model/count';
