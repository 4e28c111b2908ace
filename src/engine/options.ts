/**
 * The one table of engine options: every key, its type, range and default, shared by every
 * backend and every caller (API, CLI, search). Options are validated here, once, in TypeScript;
 * the native side only checks types (and bounds that protect memory safety).
 */
import { ZennasError } from '../errors';
import { checkKnownKeys, describe, optionError } from '../util/validate';

export type OptionSpec =
  | { kind: 'int'; min: number; max: number; default: number; doc: string }
  | { kind: 'number'; min: number; max: number; default: number; minExclusive?: boolean; doc: string }
  | { kind: 'choice'; values: readonly string[]; default: string; doc: string }
  | { kind: 'flag'; default: boolean; doc: string };

/** Range of the perturbation scale α accepted by every backend (the paper uses 0.01). */
export const ALPHA_MIN = 1e-6;
export const ALPHA_MAX = 1e6;

export const ENGINE_OPTIONS = {
  batchSize: { kind: 'int', min: 1, max: 4096, default: 64, doc: 'images per forward (CIFAR setting: 64)' },
  resolution: { kind: 'int', min: 1, max: 4096, default: 32, doc: 'input height = width' },
  repeats: { kind: 'int', min: 1, max: 100000, default: 1, doc: 'independent repeats (fresh weights and inputs)' },
  firstRepeat: { kind: 'int', min: 0, max: 0xffffffff - 1, default: 0, doc: 'index of the first repeat (Philox counter)' },
  seed: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, default: 0, doc: 'Philox seed' },
  mode: { kind: 'choice', values: ['paper', 'official'], default: 'paper', doc: "Zen-score σ̄: 'paper' batch statistics, 'official' BN running_var" },
  // Below ~1e-6, x + α·ε rounds back to x in float32 (24-bit mantissa) and Δ = 0 (score −∞).
  alpha: { kind: 'number', min: ALPHA_MIN, max: ALPHA_MAX, default: 0.01, doc: 'Zen-score perturbation scale α (smaller perturbations vanish in float32)' },
  bnEps: { kind: 'number', min: 0, max: 1e6, minExclusive: true, default: 1e-5, doc: 'BN ε (the ZenNet masternet uses 1e-3)' },
  conv: { kind: 'choice', values: ['auto', 'direct'], default: 'auto', doc: "CPU convolution algorithm: 'auto' the planner picks direct / indirect GEMM / Winograd F(4,3) per layer from its shape, 'direct' no Winograd (the bits of zennas before it); ZENNAS_CONV=direct overrides" },
  bnStatistics: { kind: 'flag', default: false, doc: 'also return the clean forward’s per-BN batch statistics' },
  loss: { kind: 'choice', values: ['sum', 'cross-entropy'], default: 'sum', doc: "loss head of gradient proxies: 'sum' of outputs or softmax 'cross-entropy'" },
  returnGradients: { kind: 'flag', default: false, doc: 'return every weight gradient (last repeat)' },
  inputGradient: { kind: 'flag', default: false, doc: 'also compute (and with returnGradients return) ∂loss/∂input' },
  init: { kind: 'choice', values: ['normal', 'torch'], default: 'normal', doc: "weight init: 'normal' N(0,1) weights, biases 0 (Zen-NAS) or 'torch' PyTorch's default U(±1/√fan_in) weights and biases (DESCRIPTOR.md); BN γ=1, β=0" },
  numBatches: { kind: 'int', min: 2, max: 4096, default: 8, doc: 'gsnr: gradient samples, one batch of batchSize images each (paper: 8 × 64)' },
  xi: { kind: 'number', min: 0, max: 1e6, minExclusive: true, default: 1e-8, doc: 'gsnr: ξ in mean² / (variance + ξ) (paper: 1e-8)' },
  gsnrMode: { kind: 'choice', values: ['batch', 'official', 'sample'], default: 'batch', doc: "gsnr gradient samples: 'batch' one per batch, 'official' running sums of the batch gradients (the official code never zeroes them), 'sample' per-image gradients of one batch" },
  sampleBatches: { kind: 'int', min: 1, max: 4096, default: 1, doc: 'tenas_lr, tenas: batches of batchSize images whose ReLU activation patterns are counted (TE-NAS sample_batch; Zen-NAS: 1)' },
  hvpPrecision: { kind: 'choice', values: ['float32', 'float64'], default: 'float32', doc: "grasp: Hessian-vector product in 'float32' (the plan's kernels, float64 sums; as the official double backward) or 'float64' (own buffers, 28 B × batch × activations, several times slower; deep nets at small batch lose the score in float32)" },
  warmup: { kind: 'int', min: 0, max: 100000, default: 10, doc: 'latency: untimed mini-batches first' },
  iterations: { kind: 'int', min: 1, max: 100000, default: 30, doc: 'latency: timed mini-batches' },
  precision: { kind: 'choice', values: ['fp16', 'fp32'], default: 'fp16', doc: "latency precision (CPU: 'fp32' only)" },
  engine: { kind: 'choice', values: ['cudnn', 'tensorrt'], default: 'cudnn', doc: 'CUDA latency engine' },
} as const satisfies Record<string, OptionSpec>;

export type EngineOptionKey = keyof typeof ENGINE_OPTIONS;

type ValueOf<S> = S extends { kind: 'choice'; values: readonly (infer V)[] } ? V : S extends { kind: 'flag' } ? boolean : number;
/** The resolved value types of a set of keys. */
export type Resolved<K extends EngineOptionKey> = { -readonly [P in K]: ValueOf<(typeof ENGINE_OPTIONS)[P]> };

/** Check one value against its table entry (E_OPTION naming the key). */
export function checkOption(key: EngineOptionKey, v: unknown): void {
  const s: OptionSpec = ENGINE_OPTIONS[key];
  switch (s.kind) {
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < s.min || v > s.max) optionError(`${key} must be an integer in [${s.min}, ${s.max}], got ${describe(v)}`);
      break;
    case 'number': {
      const ok = typeof v === 'number' && Number.isFinite(v) && (s.minExclusive ? v > s.min : v >= s.min) && v <= s.max;
      if (!ok) optionError(`${key} must be a number in ${s.minExclusive ? '(' : '['}${s.min}, ${s.max}], got ${describe(v)}`);
      break;
    }
    case 'choice':
      if (typeof v !== 'string' || !s.values.includes(v)) optionError(`${key} must be ${s.values.map((x) => `'${x}'`).join(' or ')}, got ${describe(v)}`);
      break;
    case 'flag':
      if (typeof v !== 'boolean') optionError(`${key} must be true or false, got ${describe(v)}`);
      break;
  }
}

/**
 * Resolve the options of one call: unknown keys are an error (a misspelt `batchsize` is not
 * silently ignored), undefined values take the table's default (or `defaults`), every value is
 * range-checked. `extra` names keys the caller handles itself (checked by it).
 */
export function resolveOptions<K extends EngineOptionKey>(
  what: string, keys: readonly K[], given: unknown, defaults: Partial<Resolved<K>> = {}, extra: readonly string[] = [],
): Resolved<K> {
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) optionError(`${what} options must be an object`);
  const g = (given ?? {}) as Record<string, unknown>;
  checkKnownKeys(what, g, [...keys, ...extra]);
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = g[k] !== undefined ? g[k] : (defaults as Record<string, unknown>)[k] !== undefined ? (defaults as Record<string, unknown>)[k] : ENGINE_OPTIONS[k].default;
    checkOption(k, v);
    out[k] = v;
  }
  return out as Resolved<K>;
}
