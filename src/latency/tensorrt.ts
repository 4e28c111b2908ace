/**
 * TensorRT latency through NVIDIA's `trtexec` (DESIGN §4, issue "CUDA backend" item 3): the network
 * is exported as ONNX (src/export/: the engine's Philox weights, BN calibrated on a CPU Engine
 * and folded), trtexec builds an engine from it and times
 * `warmup + iterations` inferences; the first `warmup` are dropped and the rest are summarised as
 * the cuDNN path does (per mini-batch GPU compute time, quantiles interpolated as numpy's).
 *
 * Why trtexec and not the TensorRT library: it ships with every TensorRT install, needs no
 * headers at build time, and keeps TensorRT an optional runtime tool — never a build or install
 * requirement. Precision lives in the ONNX types (FP16 weights and input for 'fp16') and the
 * build is strongly typed (`--stronglyTyped`, TensorRT ≥ 10; the default in 11). Older trtexec
 * without that flag is retried once with the weakly-typed `--fp16`.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ZennasError } from '../errors';
import { Engine } from '../engine/engine';
import { BnStatisticsSource, exportInferenceOnnx } from '../export/inference';
import { latencyStats, LatencySummary } from './stats';
import { checkInt, checkPositive, describe, optionError } from '../util/validate';

/** Options of `tensorRtLatency`. */
export interface TensorRtLatencyOptions {
  batchSize: number;
  resolution: number;
  precision: 'fp16' | 'fp32';
  /** Untimed inferences before the timed ones. */
  warmup: number;
  /** Timed inferences. */
  iterations: number;
  /** BN ε folded into the exported convolutions (default 1e-5; timing does not depend on it). */
  bnEps?: number;
  /** Path of trtexec; default: $ZENNAS_TRTEXEC, then PATH, then the usual install folders. */
  trtexec?: string;
  /** Called with each line trtexec prints (progress for long engine builds). */
  onLog?: (line: string) => void;
  /** Give up (E_BACKEND) and kill trtexec after this many seconds (default 3600: big FP16 builds take minutes). */
  timeoutSeconds?: number;
  /**
   * Computes the BN calibration statistics of the export (an Engine with backend 'cpu'); default:
   * a CPU Engine opened for the call and closed after it.
   */
  bnSource?: BnStatisticsSource;
}

/** Result of `tensorRtLatency`: the cuDNN path's fields plus what TensorRT reported. */
export interface TensorRtLatencyResult extends LatencySummary {
  engine: 'tensorrt';
  device?: string;
  /** e.g. "10.3.0", from trtexec's banner. */
  tensorrtVersion?: string;
  /** The trtexec binary used. */
  trtexec: string;
  /** Wall time of the whole trtexec run (engine build included), seconds. */
  seconds: number;
}

/** The usual TensorRT install folders (NGC containers, tarball and Debian installs). */
export const TENSORRT_ROOTS: readonly string[] = ['/usr/src/tensorrt', '/opt/tensorrt', '/usr/local/tensorrt'];

/** Where trtexec is looked for, in order: PATH, then $TENSORRT_ROOT/bin and `roots`' bin folders. */
export function trtexecCandidates(env: NodeJS.ProcessEnv = process.env, roots: readonly string[] = TENSORRT_ROOTS): string[] {
  const fromPath = (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'trtexec'));
  const all = [env.TENSORRT_ROOT, ...roots].filter((r): r is string => !!r);
  return [...fromPath, ...all.map((r) => path.join(r, 'bin', 'trtexec'))];
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The trtexec to use, or why there is none. */
export function findTrtexec(explicit?: string, env: NodeJS.ProcessEnv = process.env, roots: readonly string[] = TENSORRT_ROOTS): { path?: string; reason?: string } {
  const chosen = explicit ?? env.ZENNAS_TRTEXEC;
  if (chosen) {
    return isExecutable(chosen) ? { path: chosen } : { reason: `TensorRT's trtexec '${chosen}' (${explicit ? 'option trtexec' : 'ZENNAS_TRTEXEC'}) is not an executable file` };
  }
  const found = trtexecCandidates(env, roots).find(isExecutable);
  if (found) return { path: found };
  return {
    reason: 'TensorRT not found: no trtexec on PATH or in /usr/src/tensorrt/bin, /opt/tensorrt/bin ($TENSORRT_ROOT/bin). ' +
      "Install TensorRT or set ZENNAS_TRTEXEC to its trtexec; engines 'native' and 'onnxruntime' need no TensorRT",
  };
}

interface RunOutput { code: number | null; signal: NodeJS.Signals | null; lines: string[] }

/**
 * Runs trtexec without blocking the event loop; keeps the last lines of its log for errors. The
 * child is killed on timeout and when this process is interrupted (`cleanup` then removes the
 * temporary model, which can be as large as 2 GiB, before the signal takes its course).
 */
function runTrtexec(bin: string, args: string[], timeoutSeconds: number, cleanup: () => void, onLog?: (line: string) => void): Promise<RunOutput & { timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    const log = (l: string) => {
      try { onLog?.(l); } catch { /* a failing progress callback must not orphan trtexec */ }
    };
    const take = (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        if (lines.length > 400) lines.splice(0, lines.length - 400);
        log(l);
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutSeconds * 1000);
    const onSignal = (sig: NodeJS.Signals) => {
      child.kill('SIGKILL');
      cleanup();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.kill(process.pid, sig);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const done = () => {
      clearTimeout(timer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) => { done(); reject(new ZennasError('E_BACKEND', `cannot run trtexec '${bin}': ${e.message}`)); });
    child.on('close', (code, signal) => {
      done();
      if (partial) { lines.push(partial); log(partial); }
      resolve({ code, signal, lines, timedOut });
    });
  });
}

/** "[TensorRT v100300]" → "10.3.0"; "[TensorRT v8601]" → "8.6.1". */
export function parseTensorRtVersion(log: string[]): string | undefined {
  for (const l of log) {
    const m = /\[TensorRT v(\d+)\]/.exec(l);
    if (!m) continue;
    const v = m[1]!;
    if (v.length >= 6) return `${Number(v.slice(0, v.length - 4))}.${Number(v.slice(-4, -2))}.${Number(v.slice(-2))}`;
    return `${Number(v.slice(0, v.length - 3))}.${Number(v.slice(-3, -2))}.${Number(v.slice(-2))}`;
  }
  return undefined;
}

/** "Selected Device: NVIDIA H100 80GB HBM3" → the device name. */
export function parseDevice(log: string[]): string | undefined {
  for (const l of log) {
    const m = /Selected Device:\s*(.+?)\s*$/.exec(l);
    if (m) return m[1];
  }
  return undefined;
}

/** The per-inference GPU compute times of an --exportTimes file (entries without computeMs are skipped). */
export function parseExportTimes(text: string): number[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ZennasError('E_BACKEND', `trtexec's timing file (--exportTimes) is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new ZennasError('E_BACKEND', "trtexec's timing file (--exportTimes) is not a JSON array");
  return parsed
    .map((e) => (e as { computeMs?: unknown })?.computeMs)
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0);
}

// trtexec echoes its whole command line in banners, so match the error itself: "Unknown option: --stronglyTyped".
const unknownFlag = (lines: string[], flag: string) => lines.some((l) => new RegExp(`(unknown|unrecogni[sz]ed) (option|argument)\\W*${flag.replace(/^-+/, '')}`, 'i').test(l));

function check(o: TensorRtLatencyOptions): void {
  checkInt('batchSize', o.batchSize, 1, 4096);
  checkInt('resolution', o.resolution, 1, 4096);
  checkInt('warmup', o.warmup, 0, 100000);
  checkInt('iterations', o.iterations, 1, 100000);
  if (o.timeoutSeconds !== undefined) checkPositive('timeoutSeconds', o.timeoutSeconds);
  if (o.bnEps !== undefined) checkPositive('bnEps', o.bnEps);
  if (o.precision !== 'fp16' && o.precision !== 'fp32') optionError(`precision must be 'fp16' or 'fp32', got ${describe(o.precision)}`);
}

/**
 * Latency of a descriptor's inference network under TensorRT (eval mode, BN folded), per
 * mini-batch. Fails with E_BACKEND when trtexec is missing or fails (with the end of its log).
 */
export async function tensorRtLatency(descriptor: Int32Array, options: TensorRtLatencyOptions): Promise<TensorRtLatencyResult> {
  check(options);
  const { path: bin, reason } = findTrtexec(options.trtexec);
  if (!bin) throw new ZennasError('E_BACKEND', reason!);
  const exportOptions = { resolution: options.resolution, batchSize: options.batchSize, precision: options.precision, bnEps: options.bnEps };
  let onnx: Uint8Array;
  if (options.bnSource) {
    onnx = await exportInferenceOnnx(options.bnSource, descriptor, exportOptions);
  } else {
    const cpu = new Engine({ backend: 'cpu' });
    try {
      onnx = await exportInferenceOnnx(cpu, descriptor, exportOptions);
    } finally {
      cpu.close();
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-trt-'));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  const timeout = options.timeoutSeconds ?? 3600;
  const t0 = process.hrtime.bigint();
  try {
    const model = path.join(dir, 'model.onnx');
    const times = path.join(dir, 'times.json');
    fs.writeFileSync(model, onnx);
    const common = [
      `--onnx=${model}`, `--iterations=${options.warmup + options.iterations}`, '--warmUp=0', '--duration=0',
      '--noDataTransfers', '--useSpinWait', `--exportTimes=${times}`,
    ];
    let run = await runTrtexec(bin, [...common, '--stronglyTyped'], timeout, cleanup, options.onLog);
    if (run.code !== 0 && !run.timedOut && unknownFlag(run.lines, '--stronglyTyped')) {
      // TensorRT < 10 has no strong typing: the precision comes from the builder flag instead.
      run = await runTrtexec(bin, options.precision === 'fp16' ? [...common, '--fp16'] : common, timeout, cleanup, options.onLog);
    }
    if (run.code !== 0) {
      const why = run.timedOut ? `did not finish within ${timeout} s and was killed` : run.signal ? `was killed by ${run.signal}` : `exited with status ${run.code}`;
      throw new ZennasError('E_BACKEND', `trtexec ${why}; the end of its log:\n${run.lines.filter((l) => l.trim()).slice(-15).join('\n')}`);
    }
    if (!fs.existsSync(times)) throw new ZennasError('E_BACKEND', 'trtexec succeeded but wrote no timing file (--exportTimes)');
    const all = parseExportTimes(fs.readFileSync(times, 'utf8'));
    // trtexec runs at least the iterations asked for; keep exactly the timed ones.
    const timed = all.slice(options.warmup, options.warmup + options.iterations);
    if (timed.length === 0) {
      throw new ZennasError('E_BACKEND', `trtexec timed ${all.length} inferences, none after the ${options.warmup} warm-up ones`);
    }
    return {
      engine: 'tensorrt',
      ...latencyStats(timed, options.batchSize),
      device: parseDevice(run.lines),
      tensorrtVersion: parseTensorRtVersion(run.lines),
      trtexec: bin,
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    };
  } finally {
    cleanup();
  }
}
