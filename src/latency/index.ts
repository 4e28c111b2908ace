/**
 * Latency measurement: chooses the runner. The Engine times its own eval-mode forward (BN folded:
 * `engine.latency`, the CPU or cuDNN backend); TensorRT (./tensorrt.ts: ONNX export timed by
 * trtexec) and onnxruntime (./onnxruntime.ts: the same export on onnxruntime-node's CPU provider,
 * the CPU deployment runtime) are separate runners the Engine knows nothing of.
 *
 *   const r = await measureLatency(engine, descriptor, { batchSize: 64, resolution: 224, engine: 'tensorrt' });
 */
import { backends, type BackendsInfo, type Engine, type LatencyOptions, type LatencyResult } from '../engine/engine';
import { checkKnownKeys, describe, optionError } from '../util/validate';
import { findTrtexec, tensorRtLatency, TensorRtLatencyOptions, TensorRtLatencyResult } from './tensorrt';
import { onnxRuntimeLatency, OnnxRuntimeLatencyResult, onnxRuntimeStatus } from './onnxruntime';

export { findTrtexec, tensorRtLatency, trtexecCandidates, parseExportTimes, parseTensorRtVersion, parseDevice, TENSORRT_ROOTS } from './tensorrt';
export type { TensorRtLatencyOptions, TensorRtLatencyResult } from './tensorrt';
export { latencyStats, quantile } from './stats';
export { onnxRuntimeLatency, openOnnxRuntimeSession, onnxRuntimeStatus, onnxRuntimeOptions, cpuDescription } from './onnxruntime';
export type { OnnxRuntimeLatencyOptions, OnnxRuntimeLatencyResult, OnnxRuntimeSession } from './onnxruntime';
export type { LatencySummary } from './stats';

/**
 * Which runner times the network: 'native' (the Engine's own eval-mode forward on its backend; 'cudnn'
 * is its older name, kept), 'tensorrt' (trtexec on the GPU) or 'onnxruntime' (onnxruntime-node on the CPU).
 */
export type LatencyEngineName = 'native' | 'cudnn' | 'tensorrt' | 'onnxruntime';
export const LATENCY_ENGINES: readonly LatencyEngineName[] = ['native', 'cudnn', 'tensorrt', 'onnxruntime'];

/**
 * The runtime a latency was measured on, as latency tables record it: 'cpu' / 'cuda' (the zennas
 * Engine's own forward on that backend), 'tensorrt', 'onnxruntime' (CPU execution provider).
 */
export type LatencyRuntime = 'cpu' | 'cuda' | 'tensorrt' | 'onnxruntime';
/** Every runtime a latency can be measured on, onnxruntime first (the CPU deployment runtime). */
export const LATENCY_RUNTIMES: readonly LatencyRuntime[] = ['onnxruntime', 'cpu', 'cuda', 'tensorrt'];

/** Options of `measureLatency`: the Engine's latency options, the runner, and the runners' own. */
export interface MeasureLatencyOptions extends Partial<Omit<LatencyOptions, 'engine'>>,
  Pick<TensorRtLatencyOptions, 'trtexec' | 'onLog' | 'timeoutSeconds' | 'bnEps' | 'bnSource'> {
  /**
   * 'native' (default; 'cudnn' is the same): `engine.latency`, this addon's own eval-mode forward
   * on the engine's backend (CPU or CUDA); 'tensorrt': the network exported as ONNX and timed by
   * TensorRT's trtexec (on the GPU; E_BACKEND when trtexec is not found); 'onnxruntime': the
   * exported ONNX timed by onnxruntime-node's CPU provider (E_BACKEND when it is not installed).
   */
  engine?: LatencyEngineName;
  /** onnxruntime: intra-op threads (default 1). */
  threads?: number;
  /** onnxruntime: 'wall' (default) or 'cpu' (the run's CPU time; threads 1). */
  clock?: 'wall' | 'cpu';
}

/**
 * What `measureLatency` returns: `engine` names the runner that measured it ('zennas-cpu' or
 * 'cudnn' for the Engine's own forward on the CPU or the GPU), `runtime` the latency-table name.
 */
export type MeasuredLatency = ((LatencyResult & { engine: 'zennas-cpu' | 'cudnn' }) | TensorRtLatencyResult | OnnxRuntimeLatencyResult) & { runtime: LatencyRuntime };

const TRT_ONLY = ['trtexec', 'onLog', 'timeoutSeconds'] as const;
const EXPORT_ONLY = ['bnEps', 'bnSource'] as const;
const ORT_ONLY = ['threads', 'clock'] as const;
const KEYS: readonly string[] = ['batchSize', 'resolution', 'warmup', 'iterations', 'precision', 'engine', ...TRT_ONLY, ...EXPORT_ONLY, ...ORT_ONLY];

function onlyFor(rest: Record<string, unknown>, keys: readonly string[], runner: string): void {
  const given = keys.filter((k) => rest[k] !== undefined);
  if (given.length) optionError(`${given.join(', ')} ${given.length > 1 ? 'are options' : 'is an option'} of engine ${runner} only`);
}

/**
 * Latency of a descriptor's inference network per mini-batch. Defaults: the Zen-NAS protocol
 * (batch 64 at 224², 10 warm-up and 30 timed mini-batches) for 'native' and 'tensorrt'; batch 1
 * (HardCoRe-NAS's CPU protocol) for 'onnxruntime'. 'native' needs `engine`; 'tensorrt' needs none
 * (trtexec builds its own engine) and refuses a CPU one; 'onnxruntime' uses a CPU `engine`, when
 * given, for the export's BN calibration.
 */
export async function measureLatency(engine: Engine | null | undefined, descriptor: Int32Array, options: MeasureLatencyOptions = {}): Promise<MeasuredLatency> {
  if (options === null || typeof options !== 'object') optionError('latency options must be an object');
  checkKnownKeys('latency', options, KEYS);
  const { engine: runner = 'native', ...rest } = options;
  if (!LATENCY_ENGINES.includes(runner)) optionError(`engine must be ${LATENCY_ENGINES.map((e) => `'${e}'`).join(', ')}, got ${describe(runner)}`);
  if (runner === 'tensorrt') {
    if (engine && engine.backend !== 'cuda') optionError("engine 'tensorrt' measures on the GPU: pass an Engine with backend 'cuda', or none (trtexec builds its own engine)");
    onlyFor(rest, ORT_ONLY, "'onnxruntime'");
    const o = { batchSize: 64, resolution: 224, warmup: 10, iterations: 30, precision: 'fp16' as const, ...stripUndefined(rest) };
    return { ...await tensorRtLatency(descriptor, o as TensorRtLatencyOptions), runtime: 'tensorrt' };
  }
  if (runner === 'onnxruntime') {
    onlyFor(rest, TRT_ONLY, "'tensorrt'");
    if (rest.precision !== undefined && rest.precision !== 'fp32') optionError(`engine 'onnxruntime' times fp32 on the CPU, got precision ${describe(rest.precision)}`);
    if (engine && engine.backend !== 'cpu' && rest.bnSource === undefined) optionError("engine 'onnxruntime' calibrates the export's BN on a CPU Engine: pass one with backend 'cpu', or none");
    const { precision: _p, bnSource, ...ortRest } = rest;
    const r = await onnxRuntimeLatency(descriptor, stripUndefined({ ...ortRest, bnSource: bnSource ?? engine ?? undefined }));
    return { ...r, runtime: 'onnxruntime' };
  }
  if (!engine) optionError(`engine '${runner}' is timed by an Engine: pass one (backend 'cpu' or 'cuda'), or use engine 'tensorrt' or 'onnxruntime'`);
  if (typeof (engine as { latency?: unknown }).latency !== 'function') optionError(`expected an Engine, got ${describe(engine)}`);
  onlyFor(rest, [...TRT_ONLY, ...EXPORT_ONLY], "'tensorrt'");
  onlyFor(rest, ORT_ONLY, "'onnxruntime'");
  const { batchSize, resolution, warmup, iterations, precision } = rest;
  const r = await engine.latency(descriptor, stripUndefined({ batchSize, resolution, warmup, iterations, precision }));
  return engine.backend === 'cuda' ? { ...r, engine: 'cudnn', runtime: 'cuda' } : { ...r, engine: 'zennas-cpu', runtime: 'cpu' };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The Engine's backends plus the latency runners this machine offers. */
export interface LatencyBackendsInfo extends BackendsInfo {
  /** TensorRT's trtexec, when found (latency engine 'tensorrt'). */
  trtexec?: string;
  /** Why engine 'tensorrt' is unavailable. */
  tensorrtReason?: string;
  /** onnxruntime-node's version, when it loads (latency engine 'onnxruntime'). */
  onnxruntime?: string;
  /** Why engine 'onnxruntime' is unavailable. */
  onnxruntimeReason?: string;
}

/** `backends()` plus where TensorRT's trtexec is and whether onnxruntime-node loads (or why not). */
export function latencyBackends(): LatencyBackendsInfo {
  const trt = findTrtexec();
  const ort = onnxRuntimeStatus();
  return {
    ...backends(), ...(trt.path ? { trtexec: trt.path } : { tensorrtReason: trt.reason }),
    ...(ort.available ? { onnxruntime: ort.version } : { onnxruntimeReason: ort.reason }),
  };
}
