/**
 * zennas public API: every name here is documented in docs/api.md (generated from these
 * comments; test/api-doc.test.ts keeps it fresh). The search loop's pieces, PRNGs and option
 * machinery live in `zennas/internals`.
 */

/** The common case in one call: score a structure with the Zen-score or a proxy. */
export { score } from './score';
export type { ScoreOptions, StructureScore } from './score';
export { readImagesNpy, readLabelsNpy, encodeNpy } from './util/npy';
export type { NpyImages } from './util/npy';
export { DEFAULTS } from './defaults';
export { ZOO, findZooEntry, getZooEntry, zooFile } from './zoo';
export type { ZooEntry } from './zoo';

/** The one error class, with a code, on both sides of the native boundary. */
export { ZennasError, isZennasError } from './errors';
export type { ZennasErrorCode } from './errors';

/** Structures: the PlainNet grammar, lowering to graphs, counting. */
export type { Structure, Block } from './grammar/ast';
export { parseStructure } from './grammar/parse';
export { formatStructure } from './grammar/format';
export { LIMITS } from './grammar/limits';
export { lowerForScoring, lowerAsTrained } from './model/lower';
export type { LowerOptions, TrainedLowerOptions } from './model/lower';
export { countModel } from './model/count';
export type { CountOptions, ModelCount, BlockCount } from './model/count';

/** Graphs of schema ops and their descriptor (what the engine consumes). */
export type { Graph, GraphNode } from './ops/graph';
export { OP_SCHEMA } from './ops/schema';
export type { OpName, OpSpec } from './ops/schema';
export { encodeDescriptor, decodeDescriptor, isScoringView, DESCRIPTOR_MAGIC, DESCRIPTOR_VERSION } from './ops/descriptor';

/** The native engine (CPU, and CUDA where built and usable). */
export { Engine, backends, cpuFeatures, version } from './engine/engine';
export type { EngineOptions, ZenScoreOptions, ZenScoreResult, LatencyOptions, LatencyResult, BackendsInfo, BackendName, BnStatistics, BnStatisticsOptions, CallOptions, RunResult } from './engine/engine';

/** The float64 reference (slow; the oracle of the tests). */
export { zenScoreReference } from './reference/zen-reference';
export { proxyReference } from './reference/proxies';

/** Zero-shot proxies: the table and scoring a structure with several. */
export { PROXY_TABLE, PROXY_NAMES, proxySpec, scoreProxies } from './proxies';
export type { ProxyName, ProxySpec, ProxyScore, ProxyScoreOptions } from './proxies';

/** Search spaces and the evolutionary search. */
export { getSpace, listSpaces, registerSpace, getPreset, spaceI, spaceII, hardcoreSpace, proxylessSpace } from './spaces';
export type { SearchSpace, SpacePreset, SpaceOptions, SpaceCost, MutationContext, RandomContext } from './spaces';
export { runSearch, searchConfig, SEARCH_DEFAULTS, engineScorer, engineEvaluator, engineLatencySource, openEngine, scorerEvaluator, readCandidatesFile, readCheckpoint, buildSummary } from './search';
export type { SearchConfig, SearchConfigInput, SearchResult, SearchHooks, SearchProgress, Scorer, Evaluator, Candidate, Evaluation, Budgets, SearchSummary, EngineScoreOptions, SearchEngine } from './search';

/** Export: ONNX (inference graph) and PyTorch (the net as trained, as a .py module). */
export { exportOnnx, ONNX_OPSET, ONNX_INPUT, ONNX_OUTPUT } from './export/onnx';
export type { OnnxExportOptions, ExportNet, ExportNodeWeights, BnRunningStats } from './export/onnx';
export { exportInferenceOnnx } from './export/inference';
export type { InferenceExportOptions, BnStatisticsSource } from './export/inference';
export { exportPytorch } from './export/pytorch';
export type { PytorchExportOptions } from './export/pytorch';
export { drawWeights } from './export/weights';

/** Latency: the engine's own forward, TensorRT, onnxruntime; lookup tables. */
export { measureLatency, latencyBackends, tensorRtLatency, findTrtexec, onnxRuntimeLatency, onnxRuntimeStatus, LATENCY_RUNTIMES } from './latency';
export type { MeasureLatencyOptions, MeasuredLatency, LatencyBackendsInfo, TensorRtLatencyOptions, TensorRtLatencyResult, OnnxRuntimeLatencyOptions, OnnxRuntimeLatencyResult, LatencyRuntime, LatencyEngineName } from './latency';
export { readLut, writeLut, buildLut, estimateLatency, expectedLatency, repairChoices, getLutSpace, fitLutCorrection, readLutCorrection, writeLutCorrection } from './lut';
export type { LutCorrectionFile } from './lut';

/** Cell spaces (NAS-Bench-201, DARTS) and ξ-GSNR / TE-NAS pruning; rank correlations. */
export { parseNb201, formatNb201, nb201Index, fromNb201Index, nb201Graph, nb201SupernetGraph, pruneNb201, NB201_OPS } from './cells';
export type { Nb201Genotype, Nb201Op, PruneOptions, PruneResult } from './cells';
export { parseDartsGenotype, formatDartsGenotype, dartsSupernetGraph, dartsGenotypeGraph, pruneDarts, DARTS_OPS } from './cells';
export type { DartsGenotype, DartsOp, DartsNetOptions, DartsPruneOptions, DartsPruneResult } from './cells';
export { kendallTau, spearmanRho, bootstrapCorrelation, correlateTable } from './stats';

/** Distributed scoring on Redis + BullMQ. */
export { startWorker, queueEvaluator, listWorkers } from './distributed';
export type { WorkerOptions, WorkerHandle, QueueEvaluator, QueueEvaluatorOptions, WorkerInfo } from './distributed';
