/**
 * Loads the native addon (build/Release/zennas.node via node-gyp-build, or prebuilds/) and
 * types its surface. A missing or broken addon becomes ZennasError('E_NATIVE') with advice.
 */
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../util/package';
import { ZennasError } from '../errors';

/** Options passed to the native run (already validated and defaulted by src/engine/options.ts). */
export interface NativeRunOptions {
  batchSize: number;
  resolution: number;
  repeats: number;
  firstRepeat?: number;
  seed: number;
  bnEps: number;
  /** CPU conv algorithm: 'auto' (Winograd where the planner chooses it) | 'direct'. */
  conv?: 'auto' | 'direct';
  mode?: 'paper' | 'official';
  alpha?: number;
  /** Also return the clean forward's per-BN batch statistics (Zen-score). */
  bnStatistics?: boolean;
  loss?: 'sum' | 'cross-entropy';
  labels?: Int32Array;
  returnGradients?: boolean;
  inputGradient?: boolean;
  /** Cancellation: the call stops (E_CANCELLED) at its next repeat once element 0 is non-zero. */
  cancelToken?: Int32Array;
}

/** Per-BN batch statistics of a clean forward, channels of all BN ops concatenated in op order. */
export interface NativeBnStatistics {
  ops: Int32Array;
  channels: Int32Array;
  mean: Float64Array;
  variance: Float64Array;
}

/** What the native run resolves to. */
export interface NativeRunResult {
  /** One value per repeat (the proxy's score; for 'gradients' the loss). */
  scores: number[];
  /** Named per-repeat values (Zen-score: logDelta, logSigmaSum; gradients: gradNorm, and on the CPU passSeconds). */
  series: Record<string, number[]>;
  seconds: number;
  bnStatistics?: NativeBnStatistics;
  /** returnGradients: per op with parameters, its gradient (see Executor::weightGrad). */
  gradients?: { op: number; data: Float32Array }[];
  inputGradient?: Float32Array;
  /** Why the result is degenerate (e.g. Δ below float32 resolution); absent when sound. */
  warnings?: string[];
}

/** A Zen-score run's result, from `run('zen', …)` on either backend (see zenResult in engine.ts). */
export interface NativeZenScoreResult {
  warnings?: string[];
  scores: number[];
  logDelta: number[];
  logSigmaSum: number[];
  seconds: number;
}

/** What the native latency resolves to. */
export interface NativeLatencyResult {
  meanMs: number;
  medianMs: number;
  p90Ms: number;
  minMs?: number;
  imagesPerSecond: number;
  samplesMs?: number[];
  device?: string;
}

/** The native Engine object (one backend, one thread pool, one plan cache). */
export interface NativeEngine {
  readonly threads: number;
  run(proxy: string, descriptor: Int32Array, options: NativeRunOptions): Promise<NativeRunResult>;
  latency(descriptor: Int32Array, options: Record<string, unknown>): Promise<NativeLatencyResult>;
  close(): void;
}

/** Status of the CUDA backend (only in builds with native/cuda/ compiled in). */
export interface NativeCudaStatus {
  compiled: boolean;
  available: boolean;
  reason?: string;
  device?: string;
  computeCapability?: string;
  cudnnVersion?: number;
}

/**
 * Exports of the CUDA addon, zennas_cuda.node (native/cuda/cuda_addon.cc): the same Engine class
 * as zennas.node's (native/engine/engine_napi.cc) over the CUDA backend — `run('zen', …)`,
 * `latency`, `close()` (frees the backend's GPU memory) — and the device probe.
 */
export interface NativeCudaAddon {
  Engine: new (options: { backend: string; threads?: number }) => NativeEngine;
  /** Hands the addon the error class it throws (as zennas.node's). */
  setErrorClass(cls: typeof ZennasError): void;
  cudaStatus(): NativeCudaStatus;
  /** Test hook: validate + plan a descriptor as the CUDA backend would (no GPU needed). */
  _cudaPlan?(descriptor: Int32Array, resolution: number): { ops: number; slots: number; output: number[] };
}

/** The CPU addon's exports (zennas.node). */
export interface NativeAddon {
  Engine: new (options: { backend: string; threads?: number }) => NativeEngine;
  /** Hands the addon the error class it throws (src/errors.ts ZennasError). */
  setErrorClass(cls: typeof ZennasError): void;
  version(): string;
  cpuFeatures(): { avx2: boolean; fma: boolean; avx512f: boolean; threads: number; simd: 'avx512' | 'avx2' | 'scalar' };
  /** cudaBuilt: the build produced zennas_cuda.node; cudaReason: why not. */
  backends(): { cpu: boolean; cuda: boolean; cudaBuilt?: boolean; cudaReason?: string };
  _philox(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): Uint32Array;
  _gaussian(seed: number, stream: number, repeat: number, begin: number, end: number, simd?: 'scalar'): Float32Array;
}

export { packageRoot } from '../util/package';

let cached: NativeAddon | undefined;

/** The native addon, loaded once. Throws ZennasError('E_NATIVE') when it cannot be loaded. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  let root: string;
  try {
    root = packageRoot();
  } catch (e) {
    throw e instanceof ZennasError ? e : new ZennasError('E_NATIVE', String(e));
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    cached = nodeGypBuild(root) as NativeAddon;
    // Native errors are thrown as this very class (instanceof ZennasError holds across the boundary).
    cached.setErrorClass(ZennasError);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new ZennasError(
      'E_NATIVE',
      `the zennas native addon could not be loaded from ${root} (${msg}); run \`npm install\` or \`npm run build:native\` (needs cmake and a C++17 compiler)`,
    );
  }
  return cached;
}

let cudaCached: { addon?: NativeCudaAddon; reason?: string } | undefined;

/** Where cuDNN 9 from NVIDIA's Python wheel would be, for the advice in a load error. */
const CUDNN_HINT =
  'cuDNN 9 (libcudnn.so.9) must be on the loader path: e.g. LD_LIBRARY_PATH="$(python3 -c \'import nvidia.cudnn as m; print(m.__path__[0])\')/lib"';

/**
 * The CUDA addon (build/Release/zennas_cuda.node), loaded once on first use, or why it is not
 * there: not built (nvcc/cuDNN missing at build time), or built but not loadable (cuDNN not on
 * the loader path). Never throws: the CPU engine does not depend on it.
 */
export function loadCudaAddon(): { addon?: NativeCudaAddon; reason?: string } {
  if (cudaCached) return cudaCached;
  let file: string | undefined;
  try {
    const root = packageRoot();
    const override = process.env.ZENNAS_CUDA_ADDON;
    file = override ?? ['Release', 'Debug'].map((d) => path.join(root, 'build', d, 'zennas_cuda.node')).find((p) => fs.existsSync(p));
  } catch (e) {
    return (cudaCached = { reason: (e as Error).message });
  }
  if (!file) {
    let reason = 'zennas was built without the CUDA backend';
    try {
      const b = loadNative().backends();
      reason = b.cudaBuilt ? 'zennas_cuda.node was built but is missing from build/Release: run `npm run build:native`' : b.cudaReason ?? reason;
    } catch { /* the CPU addon's own error surfaces elsewhere */ }
    return (cudaCached = { reason });
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const addon = require(file) as NativeCudaAddon;
    if (typeof addon.Engine !== 'function' || typeof addon.cudaStatus !== 'function') {
      return (cudaCached = { reason: `the CUDA backend (${file}) is from an older build (it exports no Engine class): rebuild it with \`npm run build:native\`` });
    }
    // Native errors are thrown as this very class, as by the CPU addon (loadNative).
    if (typeof addon.setErrorClass === 'function') addon.setErrorClass(ZennasError);
    return (cudaCached = { addon });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    return (cudaCached = { reason: `the CUDA backend (${file}) is built but cannot be loaded: ${msg}. ${CUDNN_HINT}` });
  }
}
