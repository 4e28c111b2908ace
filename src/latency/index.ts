/**
 * Latency measurement: chooses the runner. The Engine times its own eval-mode forward (BN folded:
 * `engine.latency`, the CPU or cuDNN backend); TensorRT is a separate runner (./tensorrt.ts: ONNX
 * export timed by trtexec) that the Engine knows nothing of.
 *
 *   const r = await measureLatency(engine, descriptor, { batchSize: 64, resolution: 224, engine: 'tensorrt' });
 */
import { ZennasError } from '../errors';
import { backends, type BackendsInfo, type Engine, type LatencyOptions, type LatencyResult } from '../engine/engine';
import { checkOption } from '../engine/options';
import { describe, optionError } from '../util/validate';
import { findTrtexec, tensorRtLatency, TensorRtLatencyOptions, TensorRtLatencyResult } from './tensorrt';

export { findTrtexec, tensorRtLatency, trtexecCandidates, parseExportTimes, parseTensorRtVersion, parseDevice, TENSORRT_ROOTS } from './tensorrt';
export type { TensorRtLatencyOptions, TensorRtLatencyResult } from './tensorrt';
export { latencyStats, quantile } from './stats';
export type { LatencySummary } from './stats';

/** Which runner times the network. */
export type LatencyEngineName = 'cudnn' | 'tensorrt';

/** Options of `measureLatency`: the Engine's latency options, the runner, and the TensorRT runner's own. */
export interface MeasureLatencyOptions extends Partial<Omit<LatencyOptions, 'engine'>>,
  Pick<TensorRtLatencyOptions, 'trtexec' | 'onLog' | 'timeoutSeconds' | 'bnEps' | 'bnSource'> {
  /**
   * 'cudnn' (default): `engine.latency`, this addon's own eval-mode forward on the engine's backend
   * (CPU or CUDA); 'tensorrt': the network exported as ONNX and timed by TensorRT's trtexec (on the
   * GPU; E_BACKEND when trtexec is not found).
   */
  engine?: LatencyEngineName;
}

/** What `measureLatency` returns: `engine` names the runner that measured it. */
export type MeasuredLatency = (LatencyResult & { engine: 'cudnn' }) | TensorRtLatencyResult;

const TRT_ONLY = ['trtexec', 'onLog', 'timeoutSeconds', 'bnEps', 'bnSource'] as const;
const KEYS: readonly string[] = ['batchSize', 'resolution', 'warmup', 'iterations', 'precision', 'engine', ...TRT_ONLY];

/**
 * Latency of a descriptor's inference network per mini-batch (defaults: the paper's protocol,
 * batch 64 at 224², 10 warm-up and 30 timed mini-batches). 'cudnn' needs `engine`; 'tensorrt'
 * needs none (trtexec builds its own engine) and refuses a CPU one (it measures on the GPU).
 */
export async function measureLatency(engine: Engine | null | undefined, descriptor: Int32Array, options: MeasureLatencyOptions = {}): Promise<MeasuredLatency> {
  if (options === null || typeof options !== 'object') optionError('latency options must be an object');
  for (const k of Object.keys(options)) {
    if (KEYS.includes(k)) continue;
    const near = KEYS.find((x) => x.toLowerCase() === k.toLowerCase());
    throw new ZennasError('E_OPTION', `unknown latency option '${k}'${near ? ` (did you mean '${near}'?)` : ''}; valid: ${KEYS.join(', ')}`);
  }
  const { engine: runner = 'cudnn', ...rest } = options;
  checkOption('engine', runner);
  if (runner === 'tensorrt') {
    if (engine && engine.backend !== 'cuda') optionError("engine 'tensorrt' measures on the GPU: pass an Engine with backend 'cuda', or none (trtexec builds its own engine)");
    const o = { batchSize: 64, resolution: 224, warmup: 10, iterations: 30, precision: 'fp16' as const, ...stripUndefined(rest) };
    return tensorRtLatency(descriptor, o);
  }
  if (!engine) optionError("engine 'cudnn' is timed by an Engine: pass one (backend 'cpu' or 'cuda'), or use engine 'tensorrt'");
  if (typeof (engine as { latency?: unknown }).latency !== 'function') optionError(`expected an Engine, got ${describe(engine)}`);
  const given = TRT_ONLY.filter((k) => rest[k] !== undefined);
  if (given.length) optionError(`${given.join(', ')} ${given.length > 1 ? 'are options' : 'is an option'} of engine 'tensorrt' only`);
  const { batchSize, resolution, warmup, iterations, precision } = rest;
  const r = await engine.latency(descriptor, stripUndefined({ batchSize, resolution, warmup, iterations, precision }));
  return { ...r, engine: 'cudnn' };
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
}

/** `backends()` plus where TensorRT's trtexec is (or why there is none). */
export function latencyBackends(): LatencyBackendsInfo {
  const trt = findTrtexec();
  return { ...backends(), ...(trt.path ? { trtexec: trt.path } : { tensorrtReason: trt.reason }) };
}
