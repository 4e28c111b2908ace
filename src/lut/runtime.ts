/**
 * The runtimes a LUT is measured on, behind one interface: each measures a network piece (a
 * descriptor with its own input channels and feature-map size) and states the context its
 * numbers belong to (batch, precision, runtime + version, hardware, threads).
 */
import { packageVersion } from '../util/package';
import { ZennasError } from '../errors';
import { Engine } from '../engine/engine';
import { cpuDescription, LatencyRuntime, onnxRuntimeLatency, onnxRuntimeStatus, openOnnxRuntimeSession, tensorRtLatency } from '../latency';
import type { LatencyContext, LutNet } from './types';
import { InterleaveOptions, interleaveOptions, measureInterleaved, protocolName } from './interleave';

/** Median and p90 of one piece's timed runs (ms per run of `batchSize` images). */
export interface PieceLatency {
  medianMs: number;
  p90Ms: number;
  minMs: number;
}

/** A runtime ready to time network pieces. */
export interface LutRuntime {
  /** The context of every number it returns (unit ms). */
  readonly context: LatencyContext;
  measure(net: LutNet): Promise<PieceLatency>;
  /**
   * Several nets under the runtime's protocol (interleaved: all passes over them; in `nets` order).
   * `firstGroup`: the index of their first group of `interleave.groupSize` in a longer list timed
   * call by call (it chooses the visiting orders: src/lut/interleave.ts `measureInterleaved`).
   */
  measureMany?(nets: readonly LutNet[], firstGroup?: number): Promise<PieceLatency[]>;
  /** The interleaved protocol's options where the runtime times under it (absent: sequential). */
  readonly interleave?: Required<InterleaveOptions>;
  close(): void;
}

/** How a LUT runtime times each piece. */
export interface LutRuntimeOptions {
  runtime: LatencyRuntime;
  /** Images per run (default 1: HardCoRe-NAS's CPU protocol). */
  batchSize?: number;
  /** onnxruntime intra-op threads / the CPU Engine's pool (default 1). */
  threads?: number;
  warmup?: number;
  iterations?: number;
  /** 'fp32' (CPU runtimes) or 'fp16' (GPU runtimes' default). */
  precision?: 'fp32' | 'fp16';
  /** onnxruntime: 'wall' (default) or 'cpu' (CPU time of the run, 1 thread; see src/latency/onnxruntime.ts). */
  clock?: 'wall' | 'cpu';
  /**
   * The interleaved multi-pass protocol (onnxruntime only; src/lut/interleave.ts): `warmup` runs
   * once per session, then passes × runsPerPass timed runs replace `iterations`. Absent: sequential.
   */
  interleave?: InterleaveOptions;
}

/**
 * `nets` measured on `rt` in order: under its protocol where it has one (measureMany, `firstGroup`
 * passed on), else one by one.
 */
export async function measureNets(rt: LutRuntime, nets: readonly LutNet[], firstGroup = 0): Promise<PieceLatency[]> {
  if (rt.measureMany) return rt.measureMany(nets, firstGroup);
  const out: PieceLatency[] = [];
  for (const n of nets) out.push(await rt.measure(n));
  return out;
}

/** The zennas build that measured (runtime 'cpu' / 'cuda' tables record it as their runtime version). */
function zennasVersion(): string {
  const v = packageVersion();
  return v === 'unknown' ? 'zennas' : `zennas ${v}`;
}

/**
 * Open a runtime for a LUT build or a final measurement. 'onnxruntime' and 'cpu' time on this
 * machine's CPU, 'cuda' on the GPU through the Engine, 'tensorrt' through trtexec. A CPU Engine
 * computes the export's BN calibration for the ONNX runtimes.
 */
export async function openLutRuntime(o: LutRuntimeOptions): Promise<LutRuntime> {
  const batchSize = o.batchSize ?? 1;
  const warmup = o.warmup ?? 10;
  const iterations = o.iterations ?? 50;
  const threads = o.threads ?? 1;
  const gpu = o.runtime === 'cuda' || o.runtime === 'tensorrt';
  const precision = o.precision ?? (gpu ? 'fp16' : 'fp32');
  if (!gpu && precision !== 'fp32') throw new ZennasError('E_OPTION', `precision: runtime '${o.runtime}' times fp32 on the CPU, got '${precision}'`);
  const clock = o.clock ?? 'wall';
  if (clock === 'cpu' && o.runtime !== 'onnxruntime') throw new ZennasError('E_OPTION', `clock 'cpu' is a clock of runtime 'onnxruntime' only, got runtime '${o.runtime}'`);
  if (clock === 'cpu' && threads !== 1) throw new ZennasError('E_OPTION', `clock 'cpu' needs threads 1 (CPU time of several threads is not a latency), got ${threads}`);
  const il = o.interleave !== undefined ? interleaveOptions(o.interleave) : null;
  if (il && o.runtime !== 'onnxruntime') throw new ZennasError('E_OPTION', `interleave: the interleaved protocol holds many sessions at once, a feature of runtime 'onnxruntime' only, got runtime '${o.runtime}'`);
  if (o.runtime === 'onnxruntime') {
    const st = onnxRuntimeStatus();
    if (!st.available) throw new ZennasError('E_BACKEND', st.reason!);
    const cpu = new Engine({ backend: 'cpu', threads: 1 });
    const context: LatencyContext = { unit: 'ms', batchSize, precision, runtime: 'onnxruntime', runtimeVersion: `onnxruntime-node ${st.version}`, hardware: cpuDescription(), threads, clock };
    if (il) {
      context.protocol = protocolName(il);
      const prepare = async (net: LutNet) => {
        const s = await openOnnxRuntimeSession(net.descriptor, { batchSize, resolution: net.inputResolution, warmup, iterations: 1, threads, clock, bnSource: cpu });
        try {
          for (let i = 0; i < warmup; i++) await s.run();
        } catch (e) {
          await s.release();
          throw e;
        }
        return s;
      };
      const many = (nets: readonly LutNet[], firstGroup = 0) => measureInterleaved(nets, prepare, il, firstGroup);
      return { context, interleave: il, measure: async (net) => (await many([net]))[0]!, measureMany: many, close: () => cpu.close() };
    }
    const measure = async (net: LutNet): Promise<PieceLatency> => {
      const r = await onnxRuntimeLatency(net.descriptor, { batchSize, resolution: net.inputResolution, warmup, iterations, threads, clock, bnSource: cpu });
      return { medianMs: r.medianMs, p90Ms: r.p90Ms, minMs: r.minMs };
    };
    return { context, measure, close: () => cpu.close() };
  }
  if (o.runtime === 'cpu' || o.runtime === 'cuda') {
    const engine = new Engine({ backend: o.runtime, ...(o.runtime === 'cpu' ? { threads } : {}) });
    const ctx: LatencyContext = {
      unit: 'ms', batchSize, precision, runtime: o.runtime, runtimeVersion: zennasVersion(),
      hardware: o.runtime === 'cpu' ? cpuDescription() : 'GPU', threads: o.runtime === 'cpu' ? engine.threads : 0, clock: 'wall',
    };
    return {
      context: ctx,
      async measure(net) {
        const r = await engine.latency(net.descriptor, { batchSize, resolution: net.inputResolution, warmup, iterations, precision });
        if (o.runtime === 'cuda' && r.device) ctx.hardware = r.device; // the GPU's name comes with a result
        return { medianMs: r.medianMs, p90Ms: r.p90Ms, minMs: r.minMs ?? Math.min(...(r.samplesMs ?? [r.medianMs])) };
      },
      close: () => engine.close(),
    };
  }
  if (o.runtime === 'tensorrt') {
    const cpu = new Engine({ backend: 'cpu', threads: 1 });
    let version = 'TensorRT';
    let device = 'GPU';
    let first = true;
    const ctx: LatencyContext = { unit: 'ms', batchSize, precision, runtime: 'tensorrt', runtimeVersion: version, hardware: device, threads: 0, clock: 'wall' };
    return {
      context: ctx,
      async measure(net) {
        const r = await tensorRtLatency(net.descriptor, { batchSize, resolution: net.inputResolution, warmup, iterations, precision, bnSource: cpu });
        if (first) {
          // trtexec tells its version and device only once it has run.
          version = r.tensorrtVersion ? `TensorRT ${r.tensorrtVersion}` : version;
          device = r.device ?? device;
          ctx.runtimeVersion = version;
          ctx.hardware = device;
          first = false;
        }
        return { medianMs: r.medianMs, p90Ms: r.p90Ms, minMs: r.minMs };
      },
      close: () => cpu.close(),
    };
  }
  throw new ZennasError('E_OPTION', `runtime must be 'onnxruntime', 'cpu', 'cuda' or 'tensorrt', got '${String(o.runtime)}'`);
}
