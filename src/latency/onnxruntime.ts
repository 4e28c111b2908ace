/**
 * CPU deployment latency through onnxruntime-node (issue #15 item 3): the network's inference ONNX
 * (src/export: the engine's Philox weights, BN calibrated and folded) run by onnxruntime's CPU
 * execution provider — the runtime people deploy CNNs on. HardCoRe-NAS's protocol: batch 1 by
 * default, untimed warm-up runs, then timed runs, each one `session.run` timed by the wall clock
 * of this thread (a CPU run is synchronous work; no device queue to drain), summarised as the
 * other runners are (median = p50, p90, …).
 *
 * onnxruntime-node is an optional dependency: its CPU binaries ship inside the npm package, and its
 * postinstall download of the CUDA provider is skipped (ONNXRUNTIME_NODE_INSTALL=skip, .npmrc). When
 * it is missing, every call is E_BACKEND saying how to install it; nothing else in zennas needs it.
 */
import * as os from 'os';
import { ZennasError } from '../errors';
import { Engine } from '../engine/engine';
import { BnStatisticsSource, exportInferenceOnnx } from '../export/inference';
import { ONNX_INPUT } from '../export/onnx';
import { decodeDescriptor } from '../ops/descriptor';
import { latencyStats, LatencySummary } from './stats';
import { checkInt, checkKnownKeys, describe, optionError } from '../util/validate';

/** The part of onnxruntime-node's API this runner uses. */
interface OrtTensor { readonly dims: readonly number[] }
interface OrtSession {
  readonly inputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  env: { versions?: { node?: string; common?: string } };
}

let cached: { mod?: OrtModule; version?: string; reason?: string } | undefined;

/** onnxruntime-node, loaded once on first use; `reason` says why it cannot be. */
export function onnxRuntimeStatus(): { available: boolean; version?: string; reason?: string } {
  if (!cached) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require('onnxruntime-node') as OrtModule;
      let version = mod.env?.versions?.node;
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        version = (require('onnxruntime-node/package.json') as { version: string }).version;
      } catch { /* the version from env.versions will do */ }
      cached = { mod, version };
    } catch (e) {
      cached = {
        reason: `onnxruntime-node is not installed or cannot load (${(e as Error).message.split('\n')[0]}); it is an optional dependency of zennas: ` +
          "install it with 'ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node' (its CPU runtime ships in the package; the switch skips a GPU download)",
      };
    }
  }
  return cached.mod ? { available: true, version: cached.version } : { available: false, reason: cached.reason };
}

function ort(): OrtModule {
  const s = onnxRuntimeStatus();
  if (!s.available) throw new ZennasError('E_BACKEND', s.reason!);
  return cached!.mod!;
}

/** Options of `onnxRuntimeLatency`. */
export interface OnnxRuntimeLatencyOptions {
  /** Images per run (default 1: HardCoRe-NAS's and mobile deployment's batch). */
  batchSize?: number;
  /** Input height = width (default 224). */
  resolution?: number;
  /** Untimed runs first (default 10). */
  warmup?: number;
  /** Timed runs (default 30). */
  iterations?: number;
  /**
   * onnxruntime intra-op threads (default 1: one core, the measurement least disturbed by other
   * work on the machine; HardCoRe-NAS does not state its thread count). inter-op threads are 1.
   */
  threads?: number;
  /**
   * How each run is timed: 'wall' (default: elapsed time) or 'cpu' (this process's CPU time during
   * the run, user + system; threads 1 only). On a machine shared with other work, wall time
   * includes the time other processes hold the core; CPU time is what the inference itself costs.
   */
  clock?: 'wall' | 'cpu';
  /** BN statistics of the export: 'calibrated' (default; see src/export/inference.ts) or 'fresh'. */
  bn?: 'calibrated' | 'fresh';
  /** BN ε folded into the exported convolutions (default 1e-5; timing does not depend on it). */
  bnEps?: number;
  /**
   * Computes the BN calibration statistics (an Engine with backend 'cpu'); default: a CPU Engine
   * opened for the call and closed after it. null: none (then only nets without BN, or bn 'fresh').
   */
  bnSource?: BnStatisticsSource | null;
  /** Input channels when the network is given as an ONNX model instead of a descriptor (default 3). */
  inputChannels?: number;
}

/** Result of `onnxRuntimeLatency`: per-run milliseconds over the timed runs. */
export interface OnnxRuntimeLatencyResult extends LatencySummary {
  engine: 'onnxruntime';
  /** onnxruntime-node's version, e.g. "1.30.0". */
  onnxruntimeVersion: string;
  threads: number;
  batchSize: number;
  resolution: number;
  clock: 'wall' | 'cpu';
  /** The CPU, e.g. "AMD EPYC 7B13 (2 cores)". */
  device: string;
  /** Seconds of export + session creation (not timed in the samples). */
  setupSeconds: number;
}

const KEYS = ['batchSize', 'resolution', 'warmup', 'iterations', 'threads', 'clock', 'bn', 'bnEps', 'bnSource', 'inputChannels'] as const;

/** This machine's CPU as latency tables record it: model name and logical core count. */
export function cpuDescription(): string {
  const cpus = os.cpus();
  const model = (cpus[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
  return `${model} (${cpus.length} ${cpus.length === 1 ? 'core' : 'cores'})`;
}

/** The checked options with their defaults. */
export function onnxRuntimeOptions(options: OnnxRuntimeLatencyOptions = {}): Required<Omit<OnnxRuntimeLatencyOptions, 'bnSource' | 'bnEps'>> & Pick<OnnxRuntimeLatencyOptions, 'bnSource' | 'bnEps'> {
  if (options === null || typeof options !== 'object') optionError('onnxruntime latency options must be an object');
  checkKnownKeys('onnxruntime latency', options, KEYS);
  const o = options;
  const bn = o.bn ?? 'calibrated';
  if (bn !== 'calibrated' && bn !== 'fresh') optionError(`bn must be 'calibrated' or 'fresh', got ${describe(bn)}`);
  const clock = o.clock ?? 'wall';
  if (clock !== 'wall' && clock !== 'cpu') optionError(`clock must be 'wall' or 'cpu', got ${describe(clock)}`);
  if (clock === 'cpu' && (o.threads ?? 1) !== 1) optionError(`clock 'cpu' times one thread's work: it needs threads 1, got ${describe(o.threads)} (CPU time of several threads is not a latency)`);
  return {
    clock,
    batchSize: checkInt('batchSize', o.batchSize ?? 1, 1, 4096),
    resolution: checkInt('resolution', o.resolution ?? 224, 1, 4096),
    warmup: checkInt('warmup', o.warmup ?? 10, 0, 100000),
    iterations: checkInt('iterations', o.iterations ?? 30, 1, 100000),
    threads: checkInt('threads', o.threads ?? 1, 1, 1024),
    inputChannels: checkInt('inputChannels', o.inputChannels ?? 3, 1, 1 << 20),
    bn, bnEps: o.bnEps, bnSource: o.bnSource,
  };
}

/** An onnxruntime session ready to time: `run` times one run (ms, the options' clock). */
export interface OnnxRuntimeSession {
  options: ReturnType<typeof onnxRuntimeOptions>;
  /** Seconds of export + session creation. */
  setupSeconds: number;
  run(): Promise<number>;
  release(): Promise<void>;
}

/**
 * Export `network` (as onnxRuntimeLatency does) and create its session, untimed and not warmed up:
 * the interleaved protocol (src/lut/interleave.ts) holds many at once and times them in turn.
 */
export async function openOnnxRuntimeSession(network: Int32Array | Uint8Array, options: OnnxRuntimeLatencyOptions = {}): Promise<OnnxRuntimeSession> {
  const o = onnxRuntimeOptions(options);
  const rt = ort();
  const t0 = performance.now();
  let model: Uint8Array;
  let inputChannels = o.inputChannels;
  if (network instanceof Int32Array) {
    const exportOptions = { resolution: o.resolution, batchSize: o.batchSize, precision: 'fp32' as const, bn: o.bn, ...(o.bnEps !== undefined ? { bnEps: o.bnEps } : {}) };
    if (o.bnSource !== undefined || o.bn === 'fresh') {
      model = await exportInferenceOnnx(o.bnSource ?? null, network, exportOptions);
    } else {
      // As the TensorRT runner: a CPU Engine for the call computes the BN calibration statistics.
      const cpu = new Engine({ backend: 'cpu' });
      try {
        model = await exportInferenceOnnx(cpu, network, exportOptions);
      } finally {
        cpu.close();
      }
    }
    inputChannels = decodeDescriptor(network).inputChannels;
  } else if (network instanceof Uint8Array) {
    model = network;
  } else {
    throw new ZennasError('E_DESCRIPTOR', `expected a descriptor (Int32Array) or ONNX bytes (Uint8Array), got ${describe(network)}`);
  }
  // The input first: once the session exists, nothing but its runs can fail before it is handed out.
  const dims = [o.batchSize, inputChannels, o.resolution, o.resolution];
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  // Fixed pseudo-random values (no denormals, no NaN): timing must not depend on the data.
  let s = 0x9e3779b9;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    data[i] = (s / 2 ** 32) * 2 - 1;
  }
  let session: OrtSession;
  try {
    session = await rt.InferenceSession.create(model, {
      executionProviders: ['cpu'], intraOpNumThreads: o.threads, interOpNumThreads: 1,
      executionMode: 'sequential', graphOptimizationLevel: 'all',
    });
  } catch (e) {
    throw new ZennasError('E_BACKEND', `onnxruntime could not load the model: ${(e as Error).message}`);
  }
  const feeds = { [session.inputNames[0] ?? ONNX_INPUT]: new rt.Tensor('float32', data, dims) };
  const setupSeconds = (performance.now() - t0) / 1000;
  const run = async (): Promise<number> => {
    try {
      if (o.clock === 'cpu') {
        const c = process.cpuUsage();
        await session.run(feeds);
        const d = process.cpuUsage(c);
        return (d.user + d.system) / 1000;
      }
      const a = performance.now();
      await session.run(feeds);
      return performance.now() - a;
    } catch (e) {
      throw new ZennasError('E_BACKEND', `onnxruntime failed to run the model: ${(e as Error).message}`);
    }
  };
  return { options: o, setupSeconds, run, release: () => session.release().catch(() => undefined) };
}

/**
 * Latency of a network on onnxruntime's CPU provider: `network` is an engine descriptor (exported
 * here at the batch size and resolution of the options) or ONNX bytes already exported (static in
 * H, W; batch fixed or symbolic). One session per call, default graph optimisations (what
 * deployments get), input N(0,1)-like values fixed once.
 */
export async function onnxRuntimeLatency(network: Int32Array | Uint8Array, options: OnnxRuntimeLatencyOptions = {}): Promise<OnnxRuntimeLatencyResult> {
  const r = await openOnnxRuntimeSession(network, options);
  const o = r.options;
  try {
    for (let i = 0; i < o.warmup; i++) await r.run();
    const samples: number[] = [];
    for (let i = 0; i < o.iterations; i++) samples.push(await r.run());
    return {
      ...latencyStats(samples, o.batchSize), engine: 'onnxruntime', onnxruntimeVersion: onnxRuntimeStatus().version ?? 'unknown',
      threads: o.threads, batchSize: o.batchSize, resolution: o.resolution, clock: o.clock, device: cpuDescription(), setupSeconds: r.setupSeconds,
    };
  } finally {
    await r.release();
  }
}
