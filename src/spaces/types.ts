import type { Sfc32 } from '../rng/sfc32';
import type { Structure } from '../grammar/ast';

/** What the search loop hands a space's mutate hook for one child. */
export interface MutationContext {
  /** The search's PRNG; a mutate hook draws all its randomness from it (reproducibility). */
  rng: Sfc32;
  /** Number of block mutations to apply (Algorithm 2: 1 while |P| < 10, else 2). */
  changes: number;
  /** Probability ρ of changing the block type of a selected super block (Algorithm 3). */
  rho: number;
}

/** Settings of a search that counting and lowering a genotype depend on. */
export interface SpaceOptions {
  resolution: number;
  numClasses: number;
  /** SE modules in residual blocks (only meaningful where `supportsSe`). */
  se: boolean;
}

/** Size of a genotype's network, as the budgets see it (params/FLOPs include the classifier). */
export interface SpaceCost {
  params: number;
  flops: number;
  layers: number;
}

/** Defaults of a space for one dataset setting (resolution, initial structure, budgets). */
export interface SpacePreset {
  /** Preset name, e.g. `cifar`, `imagenet`. */
  name: string;
  /** One-line description for --help. */
  description: string;
  /** Initial genotype F0, as its key (for the Zen-NAS spaces: a PlainNet string) — must satisfy the preset's budgets. */
  initial: string;
  resolution: number;
  batchSize: number;
  numClasses: number;
  maxLayers: number;
  /** Default params budget (absent: none). */
  budgetParams?: number;
  /** Default FLOPs budget (absent: none). */
  budgetFlops?: number;
  /** Demo default for the number of iterations. */
  iterations: number;
}

/**
 * A search space over genotypes `G`: data (presets) plus everything the evolution loop needs
 * to handle a genotype without knowing what it is — a string codec, validity and size, the
 * lowering to what the scorer consumes, and mutation. The loop (src/search/loop.ts) imports
 * no grammar or model code; the Zen-NAS spaces (Space I, II) implement this with PlainNet
 * structures (src/spaces/structure-codec.ts + the blockwise mutation of ./mutation).
 *
 * Methods are pure: none changes its argument; all randomness comes from `ctx.rng`.
 */
export interface SearchSpace<G = unknown> {
  /** Registry key, e.g. `I`, `II`. */
  id: string;
  title: string;
  description: string;
  /** Whether the optional SE flag (SE modules in residual blocks) is meaningful here. */
  supportsSe: boolean;
  presets: Record<string, SpacePreset>;
  defaultPreset: string;

  /** The canonical string key of a genotype (what checkpoints and candidates.jsonl store). */
  encode(g: G): string;
  /** The genotype of a key; throws (a ZennasError) when the key is not a valid genotype. */
  decode(key: string): G;
  /** Throw ZennasError('E_OPTION') when `g` cannot serve as an initial genotype of this space. */
  check(g: G): void;
  /** Size of the network (budgets are checked against it); may throw on absurd sizes. */
  count(g: G, o: SpaceOptions): SpaceCost;
  /** What the scorer consumes: the engine's model descriptor of the network to score. */
  lower(g: G, o: SpaceOptions): Int32Array;
  /**
   * The network of a genotype as a PlainNet structure, for spaces that have one (Space I/II: the
   * genotype itself; hardcore, proxyless: their MBInvRes nets). The zero-shot proxies lower it as
   * their table entry says; a space without it is scored by the Zen-score and counted proxies only.
   */
  structure?(g: G): Structure;
  /** A valid child of `parent` (never mutates `parent`). */
  mutate(parent: G, ctx: MutationContext): G;
  /**
   * A random genotype that fits `ctx.limits`, for loops that start from samples instead of an
   * initial genotype (ξ-GSNR's evolution, supplementary Algorithm 2: a random initial population
   * meeting the constraints). All randomness from `rng`. Optional: Zen-NAS (Algorithm 2) starts
   * from F0 and never calls it.
   */
  random?(rng: Sfc32, ctx: RandomContext<G>): G;
}

/** What a space's `random` hook is given. */
export interface RandomContext<G> {
  options: SpaceOptions;
  /**
   * A valid genotype that fits the limits (the search's initial one): its skeleton (for the
   * Zen-NAS spaces: the stem, the number of residual blocks and their strides, the final 1×1
   * conv) is kept, and it is the fallback when no random draw can be made to fit.
   */
  template: G;
  /** Upper bounds the draw must meet (absent: none): params and FLOPs as counted, layers. */
  limits: Partial<SpaceCost>;
}
