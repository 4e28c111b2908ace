import { Structure, SuperResBlock } from '../grammar/ast';
import { Sfc32 } from '../search/prng';

/** What the search loop hands a space's mutate hook for one child. */
export interface MutationContext {
  /** The search's PRNG; a mutate hook draws all its randomness from it (reproducibility). */
  rng: Sfc32;
  /** Number of block mutations to apply (Algorithm 2: 1 while |P| < 10, else 2). */
  changes: number;
  /** Probability ρ of changing the block type of a selected super block (Algorithm 3). */
  rho: number;
}

/** Defaults of a space for one dataset setting (resolution, initial structure, budgets). */
export interface SpacePreset {
  /** Preset name, e.g. `cifar`, `imagenet`. */
  name: string;
  /** One-line description for --help. */
  description: string;
  /** Initial structure F0 (PlainNet string) — must satisfy the preset's budgets. */
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
 * A search space: data (presets, block choices) plus a mutate hook. The evolution loop only
 * calls `check` and `mutate`; it knows nothing about block types (STYLE: timm/NNI).
 */
export interface SearchSpace {
  /** Registry key, e.g. `I`, `II`. */
  id: string;
  title: string;
  description: string;
  /** Whether the optional SE flag (SE modules in residual blocks) is meaningful here. */
  supportsSe: boolean;
  presets: Record<string, SpacePreset>;
  defaultPreset: string;
  /** Throw ZennasError('E_OPTION') when `s` cannot serve as an initial structure of this space. */
  check(s: Structure): void;
  /** A valid child of `parent` (never mutates `parent`); strides of `parent` are kept. */
  mutate(parent: Structure, ctx: MutationContext): Structure;
}

/** A residual block type a space allows: family, kernel and (IDW) expansion. */
export interface ResidualChoice {
  kind: SuperResBlock['kind'];
  kernel: number;
  expansion: number;
}
