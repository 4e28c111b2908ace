/** zennas public API. */
/** The common case in one call: score a structure with the Zen-score or a proxy. */
export { score } from './score';
export type { ScoreOptions, ScoreResult } from './score';
export { DEFAULTS } from './defaults';
export { ZOO, findZooEntry, getZooEntry, zooFile } from './zoo';
export type { ZooEntry } from './zoo';
export * from './errors';
export * from './grammar/ast';
export { parseStructure, blockChannels } from './grammar/parse';
export { formatStructure, formatBlock, blockName } from './grammar/format';
export { LIMITS } from './grammar/limits';
export * from './model/layers';
export { lowerForScoring, lowerAsTrained, inferShapes, round8, seChannels, roundHalfEven } from './model/lower';
export type { LowerOptions, TrainedLowerOptions } from './model/lower';
export { encodeDescriptor, decodeDescriptor, DESCRIPTOR_MAGIC, DESCRIPTOR_VERSION } from './ops/descriptor';
export { countModel } from './model/count';
export type { CountOptions, ModelCount, BlockCount } from './model/count';
/** The native Zen-score engine (CPU, and CUDA where built and usable). */
export { Engine, backends, cpuFeatures, version, summarizeScores, resolveZenScoreOptions, ZEN_SCORE_DEFAULTS, ALPHA_MIN, ALPHA_MAX } from './engine/engine';
export type { EngineOptions, ZenScoreOptions, ZenScoreResult, LatencyOptions, LatencyResult, BackendsInfo, BackendName, BnStatistics, BnStatisticsOptions } from './engine/engine';
/** The float64 reference (slow; the oracle of the tests). */
export { zenScoreReference } from './reference/zen-reference';
/** Search spaces (registry, Space I and II) and the Zen-NAS evolutionary search. */
export * from './spaces';
export * from './search';
/** ONNX export of the inference network; latency runners (the Engine's, TensorRT through trtexec). */
export { exportOnnx, decodeOnnx, buildOnnxModel, ONNX_OPSET, ONNX_INPUT, ONNX_OUTPUT } from './export/onnx';
export type { OnnxExportOptions, ExportNet, ExportNodeWeights, BnRunningStats } from './export/onnx';
export { exportInferenceOnnx, calibrateBn, CALIBRATION_BATCH } from './export/inference';
export type { InferenceExportOptions, BnStatisticsSource } from './export/inference';
export { drawWeights } from './export/weights';
export { measureLatency, latencyBackends, tensorRtLatency, findTrtexec } from './latency';
export type { MeasureLatencyOptions, MeasuredLatency, LatencyBackendsInfo, TensorRtLatencyOptions, TensorRtLatencyResult } from './latency';
/** CPU deployment latency on onnxruntime-node; latency lookup tables (build, estimate, expectation, repair, LUT search hooks). */
export { onnxRuntimeLatency, onnxRuntimeStatus, LATENCY_RUNTIMES } from './latency';
export type { OnnxRuntimeLatencyOptions, OnnxRuntimeLatencyResult, LatencyRuntime, LatencyEngineName } from './latency';
export * from './lut';
/** Zero-shot proxies (grad_norm, snip, synflow, naswot, gsnr, …): the table, lowerings, scoring a structure. */
export * from './proxies';
/** Cell spaces (NAS-Bench-201), ξ-GSNR / TE-NAS pruning; rank correlations and accuracy tables. */
export * from './cells';
export * from './stats';
/** Distributed scoring on Redis + BullMQ: zennas worker, the queue Evaluator, the worker registry. */
export * from './distributed';
