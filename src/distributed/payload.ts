/**
 * The wire format of a scoring job and of its result. A job carries exactly what the local
 * engine call takes — the proxy name, the lowered descriptor, the engine options (seed, repeat
 * range, batch size, …) — so a worker makes the same call the search would make in-process and
 * returns the same number. Everything a worker reads from Redis is untrusted: `readPayload`
 * checks it (size, shape, proxy, descriptor words) before any engine sees it.
 */
import * as crypto from 'crypto';
import { ZennasError, ZennasErrorCode } from '../errors';
import { decodeDescriptor, HEADER_WORDS } from '../ops/descriptor';
import { checkOption, ENGINE_OPTIONS, EngineOptionKey } from '../engine/options';
import { PROXY_NAMES, proxySpec } from '../proxies/table';

/** Version of the job format; a worker refuses any other (an old worker never misreads a new job). */
export const PAYLOAD_VERSION = 1;
/** Largest job a worker accepts (its JSON, bytes): a descriptor of the largest structure is far below. */
export const MAX_PAYLOAD_BYTES = 1 << 20;
/** Options per job at most (the engine has fewer keys than this). */
const MAX_OPTIONS = 32;

/** Proxies a worker scores: 'zen' (engine.zenScore) and every other proxy of the table (engine.run). */
export const WORKER_PROXIES: readonly string[] = PROXY_NAMES;

/** One scoring job as stored in Redis (JSON). */
export interface JobPayload {
  v: number;
  /** 'zen' or a proxy of src/proxies/table.ts. */
  proxy: string;
  /** The descriptor's int32 words, little-endian, base64. */
  descriptor: string;
  /** Engine options of the call (validated by the engine's option table on the worker). */
  options: Record<string, number | string | boolean>;
}

/** Most calls in one job (jobSize). */
export const MAX_CHUNK_CALLS = 1024;

/** A job of several engine calls (consecutive candidates); its result is { v, results: [one per call] }. */
export interface ChunkPayload {
  v: number;
  calls: JobPayload[];
}

/** A payload a worker may run: decoded and checked. */
export interface CheckedPayload {
  proxy: string;
  descriptor: Int32Array;
  options: Record<string, number | string | boolean>;
}

/** What a worker returns (JSON): the call's mean (a string for NaN, ±Infinity and −0) and its engine seconds. */
export interface JobResult {
  v: number;
  mean: number | string;
  seconds: number;
  /** The call's per-repeat scores (encodeNumber each). */
  scores?: (number | string)[];
  /** The worker that scored it (its registry id). */
  worker: string;
}

/** A job the worker refuses to run: the job fails once with this message (BullMQ UnrecoverableError). */
export class PayloadError extends ZennasError {
  constructor(code: ZennasErrorCode, message: string) {
    super(code, `job payload: ${message}`);
  }
}

/** The job of one engine call. Options are copied as plain values (the engine takes no typed arrays from a search). */
export function encodePayload(proxy: string, descriptor: Int32Array, options: Record<string, unknown>): JobPayload {
  const o: Record<string, number | string | boolean> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') {
      throw new ZennasError('E_OPTION', `engine option '${k}' cannot be sent to a worker (a ${typeof v}; only numbers, strings and booleans travel)`);
    }
    o[k] = v;
  }
  const bytes = Buffer.from(descriptor.buffer, descriptor.byteOffset, descriptor.byteLength);
  // Int32Array is host-endian; every platform zennas builds on is little-endian, the wire says so.
  return { v: PAYLOAD_VERSION, proxy, descriptor: bytes.toString('base64'), options: o };
}

/** The payload's JSON size in bytes (what Redis stores and a worker reads). */
export function payloadBytes(p: unknown): number {
  return Buffer.byteLength(JSON.stringify(p) ?? '', 'utf8');
}

/** First 12 hex digits of SHA-256 of the payload's JSON: part of the job id, so a changed payload is a new job. */
export function payloadHash(p: JobPayload | ChunkPayload | string): string {
  return crypto.createHash('sha256').update(typeof p === 'string' ? p : JSON.stringify(p)).digest('hex').slice(0, 12);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Check a job's data as a worker receives it: a JSON object of at most MAX_PAYLOAD_BYTES, the
 * current version, a known proxy, a descriptor that decodes (magic, version, op codes, word
 * counts: decodeDescriptor), options that are a flat record of the engine option keys that proxy
 * takes (its table entry), each in range (the one option table: E_OPTION as the engine says it).
 * Throws a PayloadError naming the field; the graph's shapes are checked again by the engine
 * call itself (E_DESCRIPTOR), before it runs anything.
 */
export function readPayload(data: unknown, opts: { sized?: boolean } = {}): CheckedPayload {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new PayloadError('E_OPTION', `must be a JSON object, got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
  // `sized`: part of a multi-call job whose whole size readChunk checked already.
  const size = opts.sized ? 0 : payloadBytes(data);
  if (size > MAX_PAYLOAD_BYTES) throw new PayloadError('E_OPTION', `${size} bytes, over the limit of ${MAX_PAYLOAD_BYTES} bytes`);
  const p = data as Partial<JobPayload> & Record<string, unknown>;
  for (const k of Object.keys(p)) if (!['v', 'proxy', 'descriptor', 'options'].includes(k)) throw new PayloadError('E_OPTION', `unknown field '${k}'`);
  if (p.v !== PAYLOAD_VERSION) throw new PayloadError('E_OPTION', `version ${JSON.stringify(p.v)}, this worker reads version ${PAYLOAD_VERSION} (run the same zennas on coordinator and workers)`);
  if (typeof p.proxy !== 'string' || !WORKER_PROXIES.includes(p.proxy)) {
    throw new PayloadError('E_OPTION', `unknown proxy ${JSON.stringify(p.proxy)}; workers score: ${WORKER_PROXIES.join(', ')}`);
  }
  if (typeof p.descriptor !== 'string' || !BASE64.test(p.descriptor)) throw new PayloadError('E_DESCRIPTOR', 'descriptor must be a base64 string');
  const bytes = Buffer.from(p.descriptor, 'base64');
  if (bytes.length % 4 !== 0 || bytes.length < 4 * HEADER_WORDS) throw new PayloadError('E_DESCRIPTOR', `descriptor has ${bytes.length} bytes, not a whole number of ≥ ${HEADER_WORDS} int32 words`);
  const words = new Int32Array(bytes.length / 4);
  for (let i = 0; i < words.length; i++) words[i] = bytes.readInt32LE(4 * i);
  try {
    decodeDescriptor(words);
  } catch (e) {
    throw new PayloadError('E_DESCRIPTOR', (e as Error).message);
  }
  const o = p.options;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new PayloadError('E_OPTION', 'options must be an object');
  const keys = Object.keys(o);
  if (keys.length > MAX_OPTIONS) throw new PayloadError('E_OPTION', `options has ${keys.length} keys, at most ${MAX_OPTIONS}`);
  // Against the proxy's table entry: only the keys it takes, each in its range (the one option table).
  // The Zen-score also takes conv (engine.zenScore's keys: the table's and the CPU conv algorithm).
  const takes: readonly string[] = [...(proxySpec(p.proxy)!.keys as readonly string[]), ...(p.proxy === 'zen' ? ['conv'] : [])];
  for (const k of keys) {
    if (!Object.prototype.hasOwnProperty.call(ENGINE_OPTIONS, k)) throw new PayloadError('E_OPTION', `options.${k} is not an engine option`);
    const v = (o as Record<string, unknown>)[k];
    if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') throw new PayloadError('E_OPTION', `options.${k} must be a number, string or boolean`);
    if (!takes.includes(k)) throw new PayloadError('E_OPTION', `options.${k} is not an option of proxy '${p.proxy}' (it takes: ${takes.join(', ')})`);
    checkOption(k as EngineOptionKey, v); // E_OPTION as the engine's own call would say it (the candidate's error)
  }
  return { proxy: p.proxy, descriptor: words, options: { ...(o as Record<string, number | string | boolean>) } };
}

/**
 * Check a multi-call job: an object { v, calls: [...] } of at most MAX_PAYLOAD_BYTES and
 * MAX_CHUNK_CALLS calls. Each call is checked on its own (readPayload) by the worker, so one bad
 * call fails alone; a malformed envelope fails the job (PayloadError).
 */
export function readChunk(data: unknown): unknown[] {
  const size = payloadBytes(data);
  if (size > MAX_PAYLOAD_BYTES) throw new PayloadError('E_OPTION', `${size} bytes, over the limit of ${MAX_PAYLOAD_BYTES} bytes`);
  const p = data as Partial<ChunkPayload> & Record<string, unknown>;
  for (const k of Object.keys(p)) if (!['v', 'calls'].includes(k)) throw new PayloadError('E_OPTION', `unknown field '${k}'`);
  if (p.v !== PAYLOAD_VERSION) throw new PayloadError('E_OPTION', `version ${JSON.stringify(p.v)}, this worker reads version ${PAYLOAD_VERSION} (run the same zennas on coordinator and workers)`);
  if (!Array.isArray(p.calls) || p.calls.length < 1 || p.calls.length > MAX_CHUNK_CALLS) throw new PayloadError('E_OPTION', `calls must be an array of 1..${MAX_CHUNK_CALLS} calls`);
  return p.calls;
}

/** True when a job's data is a multi-call job (has `calls`). */
export function isChunk(data: unknown): boolean {
  return data !== null && typeof data === 'object' && !Array.isArray(data) && 'calls' in (data as object);
}

/** A number as JSON keeps it bit for bit (JSON has no NaN, ±Infinity or −0: those travel as strings). */
export function encodeNumber(x: number): number | string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (Object.is(x, -0)) return '-0';
  return x;
}

/** The inverse of encodeNumber; anything else is NaN. */
export function decodeNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === '-0') return -0;
  return NaN;
}

/** Read a worker's result (untrusted): { mean, seconds }; a malformed one is an Error naming what is wrong. */
export function readResult(r: unknown): { mean: number; seconds: number; scores?: number[]; worker?: string } {
  if (r === null || typeof r !== 'object') throw new Error(`a worker returned ${JSON.stringify(r)}, not a result object`);
  const o = r as Partial<JobResult>;
  if (o.v !== PAYLOAD_VERSION) throw new Error(`a worker returned a result of version ${JSON.stringify(o.v)}, not ${PAYLOAD_VERSION}`);
  if (typeof o.mean !== 'number' && typeof o.mean !== 'string') throw new Error('a worker returned a result without a mean');
  const seconds = typeof o.seconds === 'number' && Number.isFinite(o.seconds) && o.seconds >= 0 ? o.seconds : 0;
  const scores = Array.isArray(o.scores) ? o.scores.map(decodeNumber) : undefined;
  return { mean: decodeNumber(o.mean), seconds, ...(scores ? { scores } : {}), ...(typeof o.worker === 'string' ? { worker: o.worker } : {}) };
}

/**
 * The failure text of a job: `[E_CODE] message`, so that the coordinator rebuilds the same
 * ZennasError the engine threw on the worker (and the search records the same message as a
 * local run would).
 */
export function failureText(code: string, message: string): string {
  return `[${code}] ${message}`;
}

/** Engine errors that say the worker (not the candidate) is broken: the job is retried elsewhere. */
export const WORKER_FAULTS: ReadonlySet<string> = new Set(['E_NATIVE', 'E_BACKEND', 'E_INTERNAL', 'E_CANCELLED']);

/** Parse a job's failedReason back into (code, message); a reason without a code has code undefined. */
export function parseFailure(reason: string): { code?: ZennasErrorCode; message: string } {
  const m = /^\[(E_[A-Z_]+)\] ([\s\S]*)$/.exec(reason);
  return m ? { code: m[1] as ZennasErrorCode, message: m[2]! } : { message: reason };
}

/**
 * The stand-in worker's score (a documented test mode, `zennas worker --stand-in`): the first 53
 * bits of SHA-256 of the job's JSON as a number in [0, 1). Deterministic, so a job retried on
 * another stand-in worker returns the same score, and free, so a benchmark measures the
 * coordinator and Redis alone.
 */
export function standInScore(p: JobPayload | unknown): number {
  const h = crypto.createHash('sha256').update(JSON.stringify(p)).digest();
  return (h.readUInt32BE(0) * 2 ** 21 + (h.readUInt32BE(4) >>> 11)) / 2 ** 53;
}
