/**
 * The typed Zen-score engine (DESIGN §1, native/DESCRIPTOR.md): a thin layer over the native
 * addon that validates every option in JS (messages name the parameter), fills defaults and maps
 * native failures to ZennasError with the same `.code`.
 *
 *   const engine = new Engine({ threads: 2 });
 *   const r = await engine.zenScore(descriptor, { batchSize: 64, resolution: 32, repeats: 4 });
 *   engine.close();
 */
import { checkTrainedView } from '../ops/descriptor';
import { ZennasError, ZennasErrorCode } from '../errors';
import { loadCudaAddon, loadNative, NativeAddon, NativeEngine, NativeLatencyResult, NativeRunResult, NativeZenScoreResult } from './native';
import { ALPHA_MAX, ALPHA_MIN, checkOption, ENGINE_OPTIONS, resolveOptions, Resolved } from './options';
import { summarizeScores } from '../util/stats';
import { checkInt, checkKnownKeys, describe, optionError } from '../util/validate';
import { PROXY_TABLE, ProxyName, proxyImages, proxySpec } from '../proxies/table';
import { bnToIdentity } from '../proxies/lowering';

/** Which backend runs the work. */
export type BackendName = 'cpu' | 'cuda';

/** Options of `new Engine()`. */
export interface EngineOptions {
  /** 'cpu' (default) or 'cuda' (only in builds with the CUDA backend, on a machine with a GPU). */
  backend?: BackendName;
  /** CPU worker threads shared by all calls of this engine (default: all logical cores). */
  threads?: number;
}

/** Options of `zenScore` (DESIGN §1). */
export interface ZenScoreOptions {
  /** Images per forward, 1..4096 (default 64). */
  batchSize: number;
  /** Input height = width, 1..4096 (default 32). */
  resolution: number;
  /** Independent repeats (fresh weights and inputs), 1..100000 (default 1). */
  repeats: number;
  /**
   * Index of the first repeat (Philox counter); chunked calls reproduce one big call. Default 0.
   * In 'official' mode running_var carries over between repeats, so repeats [0, firstRepeat) are
   * replayed (and cost their time) before the requested ones.
   */
  firstRepeat: number;
  /** Philox seed, integer in [0, 2^53) (default 0). */
  seed: number;
  /** 'paper' (batch statistics, default) or 'official' (BN running_var as the official code). */
  mode: 'paper' | 'official';
  /** Perturbation scale α > 0 (default 0.01). */
  alpha: number;
  /** BN ε > 0 (default 1e-5; the ZenNet masternet uses 1e-3). */
  bnEps: number;
  /**
   * CPU conv algorithm: 'auto' (default: direct / indirect GEMM / Winograd per layer, by a cost model
   * of the kernels in use — AVX-512 and AVX2 machines may choose differently, so their 'auto' scores
   * can differ by float32 rounding) or 'direct' (no Winograd: the same bits on AVX-512 and AVX2).
   */
  conv: 'auto' | 'direct';
}

/** Result of `zenScore`. */
export interface ZenScoreResult {
  /** Mean Zen-score over the repeats. */
  mean: number;
  /** Population standard deviation (np.std). */
  std: number;
  /** Half-width of the 95% interval of the mean: 1.96·std/√repeats. */
  ci95: number;
  /** Per-repeat scores = logDelta + logSigmaSum. */
  scores: number[];
  /** Per-repeat ln Δ. */
  logDelta: number[];
  /** Per-repeat Σ ln σ̄ over the BN layers. */
  logSigmaSum: number[];
  /** Wall time of the call in the engine (plan compile on a cache miss included). */
  seconds: number;
  /**
   * Present when the score is not trustworthy, with the reasons: a BN that normalises ≤ 4 values
   * per channel, or Δ below float32 resolution of the feature map (ln Δ is then rounding noise).
   */
  degenerate?: string[];
}

/** Options of `latency` (eval-mode forward, BN folded). */
export interface LatencyOptions {
  /** Images per mini-batch, 1..4096 (default 64, the paper's). */
  batchSize: number;
  /** Input height = width, 1..4096 (default 224). */
  resolution: number;
  /** Untimed mini-batches first (default 10). */
  warmup: number;
  /** Timed mini-batches (default 30, the paper's). */
  iterations: number;
  /** CUDA: 'fp16' (default) or 'fp32'; the CPU backend: 'fp32' only. */
  precision?: 'fp16' | 'fp32';
  /**
   * 'cudnn' only (the default: this addon's own forward). TensorRT is not the Engine's: time with
   * `measureLatency(engine, descriptor, { engine: 'tensorrt' })` from src/latency.
   */
  engine?: 'cudnn';
}

/** Result of `latency`: per mini-batch milliseconds over the timed iterations. */
export type LatencyResult = NativeLatencyResult;

/** Options of `bnStatistics`. */
export interface BnStatisticsOptions {
  batchSize: number;
  resolution: number;
  /** Philox seed: the images are the Zen-score input x of repeat 0 of this seed. */
  seed?: number;
  bnEps?: number;
  /** CPU conv algorithm (see ZenScoreOptions.conv). */
  conv?: 'auto' | 'direct';
}

/** Batch statistics of one BN op (training mode, clean forward): per channel. */
export interface BnStatistics {
  /** Index of the BN op in the descriptor. */
  op: number;
  mean: Float64Array;
  /** Biased (population) variance, as BN normalises with. */
  variance: Float64Array;
}

/** CPU features the engine detected. */
export interface CpuFeatures {
  avx2: boolean;
  fma: boolean;
  /** AVX-512F in the CPU and enabled by the OS. */
  avx512f: boolean;
  threads: number;
  /** The kernels in use: 'avx512' (AVX2 kernels with a 512-bit GEMM block, same bits as 'avx2'), 'avx2' or 'scalar'; ZENNAS_SIMD=avx2|scalar caps it. */
  simd: 'avx512' | 'avx2' | 'scalar';
}

/** Backends of this build / machine. */
export interface BackendsInfo {
  cpu: boolean;
  cuda: boolean;
  /** Why CUDA is unavailable (not compiled in, no GPU/driver). */
  cudaReason?: string;
}

const ZEN_KEYS = ['batchSize', 'resolution', 'repeats', 'firstRepeat', 'seed', 'mode', 'alpha', 'bnEps', 'conv'] as const;

/** Defaults of zenScore (DESIGN §3 CIFAR setting), from the option table. */
export const ZEN_SCORE_DEFAULTS: Readonly<ZenScoreOptions> = Object.freeze(resolveOptions('zenScore', ZEN_KEYS, {}));

const CODES: ReadonlySet<string> = new Set(['E_PARSE', 'E_STRUCTURE', 'E_OPTION', 'E_DESCRIPTOR', 'E_OUT_OF_MEMORY', 'E_BACKEND', 'E_NATIVE', 'E_CHECKPOINT', 'E_IO', 'E_CANCELLED', 'E_INTERNAL']);

/** Native errors ({name:'ZennasError', code}) → ZennasError; anything else → E_INTERNAL. */
export function toZennasError(e: unknown): ZennasError {
  if (e instanceof ZennasError) return e;
  const code = (e as { code?: unknown })?.code;
  const message = e instanceof Error ? e.message : String(e);
  return new ZennasError(typeof code === 'string' && CODES.has(code) ? (code as ZennasErrorCode) : 'E_INTERNAL', message);
}

/** Options every engine call takes besides its table keys. */
export interface CallOptions {
  /** Cancels the call: it rejects with E_CANCELLED at its next repeat (engine.close() does the same). */
  signal?: AbortSignal;
}

/**
 * Splits `signal` off a call's options and turns it into the native cancellation token (an
 * Int32Array the native side polls between repeats; set to 1 when the signal fires).
 */
function takeSignal<T extends object>(options: T | undefined): { rest: T | undefined; native: { cancelToken?: Int32Array }; done: () => void } {
  if (!options || typeof options !== 'object' || !('signal' in options)) return { rest: options, native: {}, done: () => {} };
  const { signal, ...rest } = options as T & CallOptions;
  if (signal === undefined) return { rest: rest as T, native: {}, done: () => {} };
  if (!(signal instanceof AbortSignal)) optionError(`signal must be an AbortSignal, got ${describe(signal)}`);
  if (signal.aborted) throw new ZennasError('E_CANCELLED', 'the call was cancelled before it started (the AbortSignal had fired)');
  const token = new Int32Array(1);
  const onAbort = () => { Atomics.store(token, 0, 1); };
  signal.addEventListener('abort', onAbort, { once: true });
  return { rest: rest as T, native: { cancelToken: token }, done: () => signal.removeEventListener('abort', onAbort) };
}

function checkDescriptor(d: unknown): Int32Array {
  if (!(d instanceof Int32Array)) throw new ZennasError('E_DESCRIPTOR', `invalid descriptor: expected an Int32Array, got ${d === null ? 'null' : typeof d}`);
  return d;
}

export { ALPHA_MIN, ALPHA_MAX };

/** Validate and default zenScore options (exported for the CLI and tests). */
export function resolveZenScoreOptions(o: Partial<ZenScoreOptions> | undefined): ZenScoreOptions {
  const r = resolveOptions('zenScore', ZEN_KEYS, o === undefined ? undefined : stripUndefined(o as object));
  checkInt('firstRepeat', r.firstRepeat, 0, 0xffffffff - r.repeats);
  // Official mode replays repeats [0, firstRepeat) for their running_var: bound the work as repeats is.
  if (r.mode === 'official' && r.firstRepeat + r.repeats > ENGINE_OPTIONS.repeats.max)
    optionError(`in mode 'official' firstRepeat + repeats must be ≤ ${ENGINE_OPTIONS.repeats.max} (earlier repeats are replayed), got ${r.firstRepeat + r.repeats}`);
  return r;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  // An array is left as it is, for resolveOptions to refuse ([] is not "no options").
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return o;
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A call's options read once into a plain object: each own key's getter runs exactly once (one
 * that throws is E_OPTION naming it), so later checks see fixed values. undefined stays undefined;
 * null, an array, a function or a primitive is E_OPTION.
 */
function readOptions<T>(what: string, o: T): T {
  if (o === undefined) return o;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) optionError(`${what} options must be an object, got ${Array.isArray(o) ? 'an array' : describe(o)}`);
  let keys: string[];
  try {
    keys = Object.keys(o as object);
  } catch (e) {
    optionError(`${what} options must be an object whose keys can be listed, got listing them threw (${e instanceof Error ? e.message : String(e)})`);
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    try {
      out[k] = (o as Record<string, unknown>)[k];
    } catch (e) {
      optionError(`${what}: options.${k} must be readable, got reading it threw (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  return out as T;
}

export { summarizeScores };

/** Options of `engine.run('gradients', …)`. */
export interface GradientsOptions {
  batchSize: number;
  resolution: number;
  repeats: number;
  firstRepeat: number;
  seed: number;
  bnEps: number;
  /** 'sum' (∂Σ outputs[0], default) or 'cross-entropy' (softmax CE over logits, mean over the batch). */
  loss: 'sum' | 'cross-entropy';
  /** CE labels, one per image (default: drawn from Philox stream 0x40000002, DESCRIPTOR.md). */
  labels?: Int32Array;
  /** Return every weight gradient of the last repeat. */
  returnGradients: boolean;
  /** Also compute ∂loss/∂input (returned with returnGradients). */
  inputGradient: boolean;
  /** 'normal' (N(0,1) weights, biases 0; default) or 'torch' (PyTorch's default init, DESCRIPTOR.md). */
  init: 'normal' | 'torch';
  /** CPU conv algorithm (see ZenScoreOptions.conv). */
  conv: 'auto' | 'direct';
}

/** Result of a proxy run. */
export interface RunResult {
  proxy: string;
  /** One value per repeat. */
  scores: number[];
  mean: number;
  std: number;
  ci95: number;
  /** Named per-repeat values (Zen-score: logDelta, logSigmaSum; gradients: gradNorm, and on the CPU passSeconds — forward + loss + backward, without the draws). */
  series: Record<string, number[]>;
  /** returnGradients: per op with parameters (op index, gradient: conv OIHW, dwconv [C][k][k], linear [cout][cin] then bias, BN dγ then dβ). */
  gradients?: { op: number; data: Float32Array }[];
  /** inputGradient + returnGradients: ∂loss/∂x, NCHW. */
  inputGradient?: Float32Array;
  /** Why the result is degenerate, when it is (see ZenScoreResult.degenerate). */
  degenerate?: string[];
  seconds: number;
}

const GRAD_KEYS = ['batchSize', 'resolution', 'repeats', 'firstRepeat', 'seed', 'bnEps', 'loss', 'returnGradients', 'inputGradient', 'init', 'conv'] as const;

/** The zero-shot proxies of src/proxies/table.ts besides the Zen-score. */
export type ZeroShotProxyName = Exclude<ProxyName, 'zen'>;

/**
 * Options of `engine.run(<zero-shot proxy>, …)`: each proxy takes the keys its table entry lists
 * (src/proxies/table.ts; another key is an error); defaults from the option table, except init
 * and batchSize, which are the proxy's.
 */
export interface ZeroShotOptions {
  batchSize: number;
  resolution: number;
  repeats: number;
  firstRepeat: number;
  seed: number;
  bnEps: number;
  /** 'normal' (N(0,1), biases 0) or 'torch' (PyTorch's default); default: the proxy's. */
  init: 'normal' | 'torch';
  /** gsnr: gradient samples (batches), default 8. */
  numBatches: number;
  /** gsnr: ξ, default 1e-8. */
  xi: number;
  /** gsnr: 'batch' (default), 'official' (running sums), 'sample' (per-image gradients). */
  gsnrMode: 'batch' | 'official' | 'sample';
  /** tenas_lr, tenas: batches of batchSize images whose ReLU activation patterns are counted (default 1). */
  sampleBatches: number;
  /** grasp: 'float32' (default; the plan's kernels, float64 sums) or 'float64' (exact to float64 rounding, own buffers, slower). */
  hvpPrecision: 'float32' | 'float64';
  /** Labels of the cross-entropy proxies, one per image (default: Philox stream 0x40000002). */
  labels?: Int32Array;
  /** Data images NCHW (Float32Array) instead of the Gaussian input; the same for every repeat. */
  input?: Float32Array;
}

/** The proxies `engine.run` knows, with the option keys each takes. */
export const ENGINE_PROXIES: Readonly<Record<'zen' | 'gradients' | ZeroShotProxyName, { keys: readonly string[]; doc: string }>> = {
  zen: { keys: ZEN_KEYS, doc: 'Zen-score (Zen-NAS Algorithm 1); scores as engine.zenScore' },
  gradients: { keys: GRAD_KEYS, doc: 'one forward + backward per repeat through a loss head; score = the loss' },
  ...(Object.fromEntries(Object.values(PROXY_TABLE).filter((p) => p.name !== 'zen').map((p) => [p.name, { keys: [...p.keys, ...p.extra], doc: p.definition }])) as unknown as
    Record<ZeroShotProxyName, { keys: readonly string[]; doc: string }>),
};
export type EngineProxyName = keyof typeof ENGINE_PROXIES;

function summarize(r: NativeZenScoreResult): ZenScoreResult {
  return {
    ...summarizeScores(r.scores), scores: r.scores, logDelta: r.logDelta, logSigmaSum: r.logSigmaSum, seconds: r.seconds,
    ...(r.warnings?.length ? { degenerate: r.warnings } : {}),
  };
}

function zenResult(r: NativeRunResult): NativeZenScoreResult {
  return { scores: r.scores, logDelta: r.series.logDelta ?? [], logSigmaSum: r.series.logSigmaSum ?? [], seconds: r.seconds, ...(r.warnings ? { warnings: r.warnings } : {}) };
}

/** A Zen-score engine: one backend, its worker threads and its plan cache. */
export class Engine {
  /** The backend this engine runs on. */
  readonly backend: BackendName;
  private readonly addon: NativeAddon;
  private native: NativeEngine | undefined;
  private closed = false;

  constructor(options: EngineOptions = {}) {
    options = readOptions('Engine', options) ?? {};
    checkKnownKeys('Engine', options, ['backend', 'threads']);
    const backend = options.backend ?? 'cpu';
    if (backend !== 'cpu' && backend !== 'cuda') optionError(`backend must be 'cpu' or 'cuda', got ${describe(backend)}`);
    if (options.threads !== undefined) checkInt('threads', options.threads, 1, 1024);
    this.backend = backend;
    this.addon = loadNative();
    // One code path for both backends: the CUDA addon (zennas_cuda.node) exports the same Engine
    // class as zennas.node, over its CUDA backend; close() frees that backend's GPU memory.
    let EngineClass: NativeAddon['Engine'] = this.addon.Engine;
    if (backend === 'cuda') {
      // Fail here, not at the first call: the caller asked for a GPU this process cannot use.
      const info = cudaStatus();
      if (!info.cuda) throw new ZennasError('E_BACKEND', `backend 'cuda' is unavailable: ${info.cudaReason ?? 'no usable CUDA device'}`);
      const { addon } = loadCudaAddon();
      if (!addon) throw new ZennasError('E_INTERNAL', 'the CUDA addon vanished after it was found');
      EngineClass = addon.Engine;
    }
    try {
      this.native = new EngineClass({ backend, threads: options.threads ?? 0 });
    } catch (e) {
      throw toZennasError(e);
    }
  }

  /** Worker threads of the CPU backend (0 on CUDA). */
  get threads(): number {
    return this.native?.threads ?? 0;
  }

  /** Zen-score of a descriptor (Zen-NAS Algorithm 1): one entry per repeat plus mean/std/ci95. */
  async zenScore(descriptor: Int32Array, options?: Partial<ZenScoreOptions> & CallOptions): Promise<ZenScoreResult> {
    const d = checkDescriptor(descriptor);
    const sig = takeSignal(readOptions('zenScore', options));
    const o = resolveZenScoreOptions(sig.rest);
    this.checkOpen();
    try {
      // Both backends: the native Engine's run('zen', …) (the CUDA addon exports the same class).
      return summarize(zenResult(await this.native!.run('zen', d, { ...o, ...sig.native })));
    } catch (e) {
      throw toZennasError(e);
    } finally {
      sig.done();
    }
  }

  /**
   * Run a proxy on a descriptor: 'zen' (the Zen-score), 'gradients' (forward + backward through
   * a loss head) or a zero-shot proxy of src/proxies/table.ts (`zennas proxies` lists them; lower
   * the structure with lowerForProxy as the table says;
   * synflow_zc's BN records are turned into IDENTITY here). Options are checked against the proxy's keys from the one option table; a
   * misspelt key is an error. The CUDA backend runs 'zen' and 'gradients' (the other proxies run on the CPU).
   */
  async run(proxy: 'zen', descriptor: Int32Array, options?: Partial<ZenScoreOptions> & CallOptions): Promise<RunResult>;
  async run(proxy: 'gradients', descriptor: Int32Array, options?: Partial<GradientsOptions> & CallOptions): Promise<RunResult>;
  async run(proxy: ZeroShotProxyName, descriptor: Int32Array, options?: Partial<ZeroShotOptions> & CallOptions): Promise<RunResult>;
  async run(proxy: EngineProxyName, descriptor: Int32Array, options?: (Partial<ZenScoreOptions> | Partial<GradientsOptions> | Partial<ZeroShotOptions>) & CallOptions): Promise<RunResult> {
    let d = checkDescriptor(descriptor);
    const spec = (ENGINE_PROXIES as Record<string, { keys: readonly string[] }>)[proxy as string];
    if (!spec) optionError(`unknown proxy ${describe(proxy)}; the engine has: ${Object.keys(ENGINE_PROXIES).join(', ')}`);
    const sig = takeSignal(readOptions(proxy, options));
    const given = sig.rest === undefined ? undefined : stripUndefined(sig.rest as object);
    let o: Record<string, unknown>;
    const zeroShot = proxy !== 'zen' && proxy !== 'gradients' ? proxySpec(proxy) : undefined;
    if (proxy === 'zen') {
      o = { ...resolveZenScoreOptions(given as Partial<ZenScoreOptions>) };
    } else if (zeroShot) {
      const r = resolveOptions(proxy, zeroShot.keys, given, { init: zeroShot.init, ...(zeroShot.batchSize ? { batchSize: zeroShot.batchSize } : {}) }, zeroShot.extra) as Record<string, unknown>;
      checkInt('firstRepeat', r.firstRepeat as number, 0, 0xffffffff - (r.repeats as number));
      const g = (given ?? {}) as { labels?: unknown; input?: unknown };
      const images = proxyImages(zeroShot, r);
      if (g.labels !== undefined) {
        if (!(g.labels instanceof Int32Array)) optionError(`labels must be an Int32Array, got ${describe(g.labels)}`);
        if (g.labels.length !== images) optionError(`labels must hold ${images} labels (one per image), got ${g.labels.length}`);
      }
      if (g.input !== undefined) {
        if (!(g.input instanceof Float32Array)) optionError(`input must be a Float32Array (NCHW images), got ${describe(g.input)}`);
        const per = (d[3] ?? 0) * (r.resolution as number) ** 2;
        if (g.input.length !== images * per) optionError(`input must hold ${images} images × ${per} floats ([${images}][${d[3]}][${r.resolution}][${r.resolution}]), got ${g.input.length}`);
      }
      o = { ...r, ...(g.labels !== undefined ? { labels: g.labels } : {}), ...(g.input !== undefined ? { input: g.input } : {}) };
      if (zeroShot.bn === 'identity') d = bnToIdentity(d);
    } else {
      const r = resolveOptions(proxy, GRAD_KEYS, given, {}, ['labels']) as Resolved<(typeof GRAD_KEYS)[number]>;
      checkInt('firstRepeat', r.firstRepeat, 0, 0xffffffff - r.repeats);
      const labels = (given as { labels?: unknown } | undefined)?.labels;
      if (labels !== undefined && !(labels instanceof Int32Array)) optionError(`labels must be an Int32Array, got ${describe(labels)}`);
      if (labels !== undefined && labels.length !== r.batchSize) optionError(`labels must hold batchSize = ${r.batchSize} labels, got ${labels.length}`);
      o = { ...r, ...(labels ? { labels } : {}) };
    }
    this.checkOpen();
    if (this.backend !== 'cpu' && proxy !== 'zen' && proxy !== 'gradients') optionError(`proxy '${proxy}' runs on the CPU backend (backend '${this.backend}' runs 'zen', 'gradients' and latency)`);
    try {
      const r = await this.native!.run(proxy, d, { ...o, ...sig.native } as never);
      return {
        proxy, scores: r.scores, ...summarizeScores(r.scores), series: r.series, seconds: r.seconds,
        ...(r.gradients ? { gradients: r.gradients } : {}), ...(r.inputGradient ? { inputGradient: r.inputGradient } : {}),
        ...(r.warnings?.length ? { degenerate: r.warnings } : {}),
      };
    } catch (e) {
      throw toZennasError(e);
    } finally {
      sig.done();
    }
  }

  /**
   * Latency of this backend's eval-mode forward (BN folded) per mini-batch. TensorRT is a separate
   * runner: `measureLatency` (src/latency) chooses between this and trtexec.
   */
  async latency(descriptor: Int32Array, options?: Partial<LatencyOptions> & CallOptions & { scoringView?: boolean }): Promise<LatencyResult> {
    const d = checkDescriptor(descriptor);
    // Defaults: the paper's protocol (batch 64, 224², 10 warm-up, 30 timed mini-batches), as the CLI.
    const sig = takeSignal(readOptions('latency', options));
    // Timing the Zen-score's view (no residuals, no head) is refused unless asked for (scoringView: true).
    const { scoringView, ...read } = (sig.rest ?? {}) as Record<string, unknown>;
    if (scoringView !== undefined && typeof scoringView !== 'boolean') optionError(`scoringView must be a boolean, got ${describe(scoringView)}`);
    checkTrainedView(d, 'latency', scoringView as boolean | undefined);
    const given = read === undefined ? undefined : stripUndefined(read as object);
    const r = resolveOptions('latency', ['batchSize', 'resolution', 'warmup', 'iterations'] as const, given, { resolution: 224 }, ['precision', 'engine']);
    const g = (given ?? {}) as { precision?: unknown; engine?: unknown };
    if (g.precision !== undefined) checkOption('precision', g.precision);
    if (g.engine !== undefined) checkOption('engine', g.engine);
    if (g.engine === 'tensorrt') {
      optionError("engine.latency times this addon's own forward ('cudnn'); for TensorRT use measureLatency(engine, descriptor, { engine: 'tensorrt' }) from src/latency (zennas: measureLatency)");
    }
    const o: LatencyOptions = { ...r, ...(g.precision ? { precision: g.precision as 'fp16' | 'fp32' } : {}) };
    this.checkOpen();
    try {
      if (this.backend === 'cpu' && o.precision === 'fp16') optionError("precision 'fp16' is not available on the CPU backend (use 'fp32')");
      // One path for both backends (precision defaults: fp16 on CUDA, fp32 on the CPU).
      return await this.native!.latency(d, { ...o, ...sig.native });
    } catch (e) {
      throw toZennasError(e);
    } finally {
      sig.done();
    }
  }

  /**
   * Per-channel batch mean and variance of every BN in a training-mode forward of N(0,1) images
   * (the Zen-score's clean input x of repeat 0): a network's BN statistics at initialisation,
   * used to calibrate the eval-mode BN of ONNX exports and to inspect where σ̄ comes from.
   * CPU backend only.
   */
  async bnStatistics(descriptor: Int32Array, options: BnStatisticsOptions): Promise<BnStatistics[]> {
    const d = checkDescriptor(descriptor);
    // The option table's keys (unknown ones are errors); batchSize and resolution are required.
    const given = readOptions('bnStatistics', options);
    if (given === undefined) optionError('bnStatistics options are required: { batchSize, resolution, seed?, bnEps? }');
    const g = stripUndefined(given as object) as Partial<BnStatisticsOptions>;
    const r = resolveOptions('bnStatistics', ['batchSize', 'resolution', 'seed', 'bnEps', 'conv'] as const, g);
    for (const k of ['batchSize', 'resolution'] as const) {
      if (g[k] === undefined) optionError(`bnStatistics option ${k} is required (${ENGINE_OPTIONS[k].doc}, an integer in [${ENGINE_OPTIONS[k].min}, ${ENGINE_OPTIONS[k].max}])`);
    }
    const o = resolveZenScoreOptions({ ...r, repeats: 1 });
    this.checkOpen();
    if (this.backend !== 'cpu') optionError("bnStatistics runs on the CPU backend: use an Engine with backend 'cpu'");
    try {
      const r = await this.native!.run('zen', d, { ...o, bnStatistics: true });
      const s = r.bnStatistics;
      if (!s) return [];
      const out: BnStatistics[] = [];
      let at = 0;
      s.ops.forEach((op, i) => {
        const c = s.channels[i]!;
        out.push({ op, mean: s.mean.slice(at, at + c), variance: s.variance.slice(at, at + c) });
        at += c;
      });
      return out;
    } catch (e) {
      throw toZennasError(e);
    }
  }

  /**
   * Release the worker threads, cached plans and (CUDA) GPU memory. Calls in flight stop at their
   * next repeat and reject with E_CANCELLED; later calls reject with E_BACKEND. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native?.close();
    this.native = undefined;
  }

  private checkOpen(): void {
    if (this.closed) throw new ZennasError('E_BACKEND', 'the engine is closed');
    // An object made from Engine.prototype without the constructor has no native engine.
    if (!this.native) throw new ZennasError('E_BACKEND', 'not an engine made by new Engine(options)');
  }
}

/** Version of the native addon. */
export function version(): string {
  return loadNative().version();
}

/** CPU features detected by the native engine and the SIMD path it uses. */
export function cpuFeatures(): CpuFeatures {
  return loadNative().cpuFeatures();
}

/**
 * Which backends this build and machine offer; for CUDA, why not when it is unavailable.
 * (TensorRT is not an Engine backend: `latencyBackends()` in src/latency adds trtexec.)
 */
export function backends(): BackendsInfo {
  return cudaStatus();
}

/** CPU and CUDA availability. */
function cudaStatus(): BackendsInfo {
  const cpu = loadNative().backends();
  const { addon, reason } = loadCudaAddon();
  if (!addon) return { cpu: cpu.cpu, cuda: false, cudaReason: reason ?? cpu.cudaReason ?? 'the CUDA backend is not available' };
  const st = addon.cudaStatus();
  return st.available ? { cpu: cpu.cpu, cuda: true } : { cpu: cpu.cpu, cuda: false, cudaReason: st.reason || 'no usable CUDA device' };
}

export type { NativeZenScoreResult, NativeLatencyResult };
