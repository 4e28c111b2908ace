/**
 * Loads the native addon (build/Release/zennas.node via node-gyp-build, or prebuilds/) and
 * types its surface. A missing or broken addon becomes ZennasError('E_NATIVE') with advice.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ZennasError } from '../errors';

/** Options passed to the native zenScore (already validated and defaulted by engine.ts). */
export interface NativeZenScoreOptions {
  batchSize: number;
  resolution: number;
  repeats: number;
  firstRepeat?: number;
  seed: number;
  mode: 'paper' | 'official';
  alpha: number;
  bnEps: number;
}

/** What the native zenScore resolves to. */
export interface NativeZenScoreResult {
  mean?: number;
  std?: number;
  ci95?: number;
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
  zenScore(descriptor: Int32Array, options: NativeZenScoreOptions): Promise<NativeZenScoreResult>;
  latency(descriptor: Int32Array, options: Record<string, unknown>): Promise<NativeLatencyResult>;
  close(): void;
}

/** Status of the CUDA backend (only in builds with native/cuda/ compiled in). */
export interface NativeCudaStatus {
  compiled: boolean;
  available: boolean;
  reason?: string;
  device?: string;
}

/** The addon's exports. */
export interface NativeAddon {
  Engine: new (options: { backend: string; threads?: number }) => NativeEngine;
  version(): string;
  cpuFeatures(): { avx2: boolean; fma: boolean; threads: number; simd: 'avx2' | 'scalar' };
  backends(): { cpu: boolean; cuda: boolean; cudaReason?: string };
  _philox(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): Uint32Array;
  _gaussian(seed: number, stream: number, repeat: number, begin: number, end: number, simd?: 'scalar'): Float32Array;
  cudaStatus?(): NativeCudaStatus;
  cudaZenScore?(descriptor: Int32Array, options: Record<string, unknown>): Promise<NativeZenScoreResult>;
  cudaLatency?(descriptor: Int32Array, options: Record<string, unknown>): Promise<NativeLatencyResult>;
}

/** The package root: the nearest ancestor of this file holding package.json named "zennas". */
export function packageRoot(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if ((JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'zennas') return dir;
      } catch { /* keep looking */ }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new ZennasError('E_NATIVE', `cannot find the zennas package root above ${start}`);
    dir = up;
  }
}

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
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new ZennasError(
      'E_NATIVE',
      `the zennas native addon could not be loaded from ${root} (${msg}); run \`npm install\` or \`npm run build:native\` (needs cmake and a C++17 compiler)`,
    );
  }
  return cached;
}
