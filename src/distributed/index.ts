/** Distributed scoring on Redis + BullMQ: workers, the queue Evaluator, the registry, the job format. */
export { parseRedisUrl, maskUrl } from './connection';
export type { RedisConnection, RedisTarget } from './connection';
export { DEFAULT_QUEUE, checkQueueName } from './names';
export {
  PAYLOAD_VERSION, MAX_PAYLOAD_BYTES, MAX_CHUNK_CALLS, WORKER_PROXIES, PayloadError, encodePayload, readPayload, readChunk, isChunk, readResult, payloadBytes, payloadHash,
  encodeNumber, decodeNumber, failureText, parseFailure, standInScore, WORKER_FAULTS,
} from './payload';
export type { JobPayload, ChunkPayload, CheckedPayload, JobResult } from './payload';
export { startWorker } from './worker';
export type { WorkerOptions, WorkerHandle, WorkerEngine } from './worker';
export { queueEvaluator, openQueueClient, configRunId, jobId } from './coordinator';
export type { QueueEvaluator, QueueEvaluatorOptions, QueueStats, QueueClient, QueueCallResult } from './coordinator';
export { listWorkers, openRedis } from './registry';
export type { WorkerInfo } from './registry';
export { openCommandQueue, checkpointWatcher, formatQueueStats } from './search-queue';
export type { CommandQueueOptions } from './search-queue';
export { scoreLinesOnQueue } from './score-file';
export type { FileScoreOptions, LineScore } from './score-file';
