/**
 * The one table of zero-shot proxies: what each computes, after which official code (the variant),
 * how a structure is lowered for it, its defaults and its search direction. The engine
 * (`engine.run(name, …)` and its option keys), the CLI (`zennas proxies`, `zennas score --proxy`)
 * and the search read it. Definitions in full: native/DESCRIPTOR.md "Zero-shot proxies".
 */
import type { EngineOptionKey } from '../engine/options';

/**
 * How a structure is lowered for a proxy: 'no-residual' = lowerForScoring (residual links and
 * projections removed; the Zen-NAS search scores every proxy so), plus a GAP + Linear(C, classes)
 * head when the proxy needs logits; 'as-trained' = lowerAsTrained (residuals, GAP + Linear head).
 */
export type ProxyLowering = 'no-residual' | 'as-trained';

/** One proxy of the table: its variant and source, lowering, init, batch, options it takes and direction. */
export interface ProxySpec {
  /** The name `engine.run` and `--proxy` take. */
  name: string;
  /** Whose definition, e.g. "Zen-NAS" or "zero-cost-nas". */
  variant: string;
  /** The official code it follows. */
  source: string;
  /** One line: what the score is. */
  definition: string;
  /** Which scores are better: 'max' (higher) or 'min'. */
  direction: 'max' | 'min';
  /** Weight init by default ('normal' N(0,1), 'torch' PyTorch's default). */
  init: 'normal' | 'torch';
  lowering: ProxyLowering;
  /** Appends GAP + Linear(C, classes) (bias) for logits (as-trained always has it). */
  head: boolean;
  /** 'train': training-mode BN; 'identity': every BN replaced by identity (engine.run rewrites the descriptor). */
  bn: 'train' | 'identity';
  /** Images per forward by default; null: fixed (synflow's single all-ones image). */
  batchSize: number | null;
  /** Cross-entropy on labels (drawn from Philox stream 0x40000002 unless given). */
  labels: boolean;
  /** Engine option keys (src/engine/options.ts) it takes. */
  keys: readonly EngineOptionKey[];
  /** Typed-array options checked by the engine layer: 'labels' (Int32Array), 'input' (Float32Array NCHW). */
  extra: readonly ('labels' | 'input')[];
  /** Named per-repeat values in the result's `series`. */
  series: readonly string[];
}

const COMMON = ['resolution', 'repeats', 'firstRepeat', 'seed', 'bnEps'] as const satisfies readonly EngineOptionKey[];
const ZENNAS = 'https://github.com/idstcv/ZenNAS';
const ZC = 'https://github.com/SamsungLabs/zero-cost-nas';
const TENAS = 'https://github.com/VITA-Group/TENAS';

/** The zero-shot proxies by name: each entry says how to lower, initialise and score (`zennas proxies` prints it). */
export const PROXY_TABLE = {
  zen: {
    name: 'zen', variant: 'Zen-NAS', source: `${ZENNAS} ZeroShotProxy/compute_zen_score.py (paper Algorithm 1)`,
    definition: 'ln E‖f(x) − f(x + αε)‖₁ + Σ_BN ln σ̄ on the pre-GAP feature map, N(0,1) weights and input',
    direction: 'max', init: 'normal', lowering: 'no-residual', head: false, bn: 'train', batchSize: 64, labels: false,
    keys: [...COMMON, 'batchSize', 'mode', 'alpha'], extra: [], series: ['logDelta', 'logSigmaSum'],
  },
  grad_norm: {
    name: 'grad_norm', variant: 'Zen-NAS', source: `${ZENNAS} ZeroShotProxy/compute_gradnorm_score.py`,
    definition: '√(Σ over every parameter, BN γ/β and biases included, of ‖∂L/∂p‖²); CE on random labels, N(0,1) init, Gaussian input',
    direction: 'max', init: 'normal', lowering: 'no-residual', head: true, bn: 'train', batchSize: 64, labels: true,
    keys: [...COMMON, 'batchSize', 'init'], extra: ['labels', 'input'], series: ['loss'],
  },
  grad_norm_zc: {
    name: 'grad_norm_zc', variant: 'zero-cost-nas', source: `${ZC} foresight/pruners/measures/grad_norm.py`,
    definition: 'Σ over conv/linear layers of ‖∂L/∂W‖₂ (weights only); CE, PyTorch-default init, network as trained',
    direction: 'max', init: 'torch', lowering: 'as-trained', head: true, bn: 'train', batchSize: 64, labels: true,
    keys: [...COMMON, 'batchSize', 'init'], extra: ['labels', 'input'], series: ['loss'],
  },
  snip: {
    name: 'snip', variant: 'zero-cost-nas', source: `${ZC} foresight/pruners/measures/snip.py`,
    definition: 'Σ over conv/linear weights of |W ⊙ ∂L/∂W|; CE, PyTorch-default init, network as trained',
    direction: 'max', init: 'torch', lowering: 'as-trained', head: true, bn: 'train', batchSize: 64, labels: true,
    keys: [...COMMON, 'batchSize', 'init'], extra: ['labels', 'input'], series: ['loss'],
  },
  synflow: {
    name: 'synflow', variant: 'Zen-NAS', source: `${ZENNAS} ZeroShotProxy/compute_syncflow_score.py`,
    definition: 'Σ over conv/linear layers of mean_out Σ_{in,kh,kw} |W ⊙ ∂R/∂W|, R = Σ logits of one all-ones image, |W| of N(0,1) weights, train-mode BN; the official code returns −score and its search minimises synflow',
    direction: 'min', init: 'normal', lowering: 'no-residual', head: true, bn: 'train', batchSize: null, labels: false,
    keys: [...COMMON, 'init'], extra: [], series: ['logScore', 'logR', 'official'],
  },
  synflow_zc: {
    name: 'synflow_zc', variant: 'zero-cost-nas', source: `${ZC} foresight/pruners/measures/synflow.py (bn=False)`,
    definition: 'Σ over conv/linear weights of |W ⊙ ∂R/∂W|, R = Σ logits of one all-ones image, |·| of PyTorch-default parameters, BN replaced by identity, network as trained',
    direction: 'max', init: 'torch', lowering: 'as-trained', head: true, bn: 'identity', batchSize: null, labels: false,
    keys: [...COMMON, 'init'], extra: [], series: ['logScore', 'logR'],
  },
  grasp: {
    name: 'grasp', variant: 'zero-cost-nas', source: `${ZC} foresight/pruners/measures/grasp.py (T = 1, one iteration)`,
    definition: 'Σ over conv/linear weights of −W ⊙ (H g), g = ∂L/∂W, H the Hessian of L over those weights; Hg exactly, by the R-operator (forward-over-reverse in float32 with float64 sums, as −gᵀ(HW) by symmetry: the number the official double backward computes); CE, PyTorch-default init, network as trained',
    direction: 'max', init: 'torch', lowering: 'as-trained', head: true, bn: 'train', batchSize: 64, labels: true,
    keys: [...COMMON, 'batchSize', 'init', 'hvpPrecision'], extra: ['labels', 'input'], series: ['loss'],
  },
  naswot: {
    name: 'naswot', variant: 'Zen-NAS', source: `${ZENNAS} ZeroShotProxy/compute_NASWOT_score.py (BayesWatch nas-without-training)`,
    definition: 'ln|det K|, K = Σ over body ReLUs (not SE\'s) of c cᵀ + (1−c)(1−c)ᵀ, c = (ReLU input > 0) per image; N(0,1) init, Gaussian input',
    direction: 'max', init: 'normal', lowering: 'no-residual', head: false, bn: 'train', batchSize: 8, labels: false,
    keys: [...COMMON, 'batchSize', 'init'], extra: ['input'], series: ['units'],
  },
  gsnr: {
    name: 'gsnr', variant: 'ξ-GSNR', source: 'https://github.com/Sunzh1996/Xi-GSNR Xi_GSNR_Consistency/run_gsnr.py',
    definition: 'Σ over conv/linear weights of mean² / (population variance + ξ) over N gradient samples (default 8 batches × 64; layers with zero variance skipped); CE, PyTorch-default init, network as trained',
    direction: 'max', init: 'torch', lowering: 'as-trained', head: true, bn: 'train', batchSize: 64, labels: true,
    keys: [...COMMON, 'batchSize', 'init', 'numBatches', 'xi', 'gsnrMode'], extra: ['labels', 'input'], series: ['layers'],
  },
  fisher: {
    name: 'fisher', variant: 'zero-cost-nas', source: `${ZC} foresight/pruners/measures/fisher.py (mode 'channel', summed as find_measures does)`,
    definition: 'Σ over conv/linear layers of ∏W.shape[1:] · Σ_k ½·mean_n(Σ_hw act·∂L/∂act)², k the output channels, act the layer\'s output (the channel value broadcast over its weights, then summed); CE, PyTorch-default init, network as trained',
    direction: 'max', init: 'torch', lowering: 'as-trained', head: true, bn: 'train', batchSize: 64, labels: true,
    keys: [...COMMON, 'batchSize', 'init'], extra: ['labels', 'input'], series: ['loss', 'channelSum'],
  },
  jacob_cov: {
    name: 'jacob_cov', variant: 'zero-cost-nas', source: `${ZC} foresight/pruners/measures/jacob_cov.py`,
    definition: '−Σ (ln(v + k) + 1/(v + k)), k = 1e-5, v the eigenvalues of corrcoef(J), J row i = ∂(Σ of every output of the batch)/∂x_i (one backward, train-mode BN couples the images); PyTorch-default init, network as trained',
    direction: 'max', init: 'torch', lowering: 'as-trained', head: true, bn: 'train', batchSize: 64, labels: false,
    keys: [...COMMON, 'batchSize', 'init'], extra: ['input'], series: ['lambdaMin', 'lambdaMax'],
  },
  tenas_ntk: {
    name: 'tenas_ntk', variant: 'TE-NAS (Zen-NAS)', source: `${TENAS} lib/procedures/ntk.py, as ${ZENNAS} ZeroShotProxy/compute_te_nas_score.py runs it (train mode, Gaussian input, one batch)`,
    definition: 'condition number λmax/λmin (float64) of the NTK G Gᵀ, g_i = ∂(Σ_c f_i,c)/∂θ through the batch graph over conv/linear weights and BN γ; NaN → 1e5 (TE-NAS); PyTorch-default init, no residual + head; Zen-NAS searches −cond',
    direction: 'min', init: 'torch', lowering: 'no-residual', head: true, bn: 'train', batchSize: 64, labels: false,
    keys: [...COMMON, 'batchSize', 'init'], extra: ['input'], series: ['lambdaMin', 'lambdaMax'],
  },
  tenas_lr: {
    name: 'tenas_lr', variant: 'TE-NAS (Zen-NAS)', source: `${TENAS} lib/procedures/linear_region_counter.py, as ${ZENNAS} ZeroShotProxy/compute_te_nas_score.py runs it (Gaussian input, batchSize images, sampleBatches 1)`,
    definition: 'number of distinct activation patterns (ReLU input > 0 of every ReLU, concatenated) among sampleBatches × batchSize Gaussian images, counted exactly; PyTorch-default init, no residual + head, train-mode BN per batch',
    direction: 'max', init: 'torch', lowering: 'no-residual', head: true, bn: 'train', batchSize: 64, labels: false,
    keys: [...COMMON, 'batchSize', 'init', 'sampleBatches'], extra: ['input'], series: ['units'],
  },
  tenas: {
    name: 'tenas', variant: 'Zen-NAS', source: `${ZENNAS} ZeroShotProxy/compute_te_nas_score.py (__main__: RN + compute_NTK_score = R_N − cond; TE-NAS itself sums the two rankings)`,
    definition: 'tenas_lr − tenas_ntk on the same weights (linear regions of sampleBatches × batchSize images minus the NTK condition number of the first batchSize)',
    direction: 'max', init: 'torch', lowering: 'no-residual', head: true, bn: 'train', batchSize: 64, labels: false,
    keys: [...COMMON, 'batchSize', 'init', 'sampleBatches'], extra: ['input'], series: ['linearRegions', 'ntkCond'],
  },
} as const satisfies Record<string, ProxySpec>;

/** The name of a proxy of the table. */
export type ProxyName = keyof typeof PROXY_TABLE;
/** Every proxy name of the table, in table order. */
export const PROXY_NAMES = Object.keys(PROXY_TABLE) as ProxyName[];

/** The table entry of a proxy, or undefined. */
export function proxySpec(name: string): ProxySpec | undefined {
  return Object.prototype.hasOwnProperty.call(PROXY_TABLE, name) ? (PROXY_TABLE as Record<string, ProxySpec>)[name] : undefined;
}

/**
 * Images one repeat reads (what `labels` and `input` must hold): batchSize, or for gsnr in modes
 * 'batch' / 'official' numBatches × batchSize, for tenas_lr and tenas sampleBatches × batchSize.
 */
export function proxyImages(spec: ProxySpec, o: { batchSize?: unknown; numBatches?: unknown; gsnrMode?: unknown; sampleBatches?: unknown }): number {
  const b = typeof o.batchSize === 'number' ? o.batchSize : spec.batchSize ?? 1;
  if (spec.name === 'gsnr' && o.gsnrMode !== 'sample') return b * (typeof o.numBatches === 'number' ? o.numBatches : 8);
  if (spec.name === 'tenas_lr' || spec.name === 'tenas') return b * (typeof o.sampleBatches === 'number' ? o.sampleBatches : 1);
  return b;
}
