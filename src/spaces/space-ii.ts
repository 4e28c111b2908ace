import { Structure } from '../grammar/ast';
import { BlockwiseRules, ResidualChoice, blockwiseHooks } from './mutation';
import { structureCodec } from './structure-codec';
import { SPACE_KERNELS } from './space-i';
import { SearchSpace } from './types';

/** Depth-wise expansion ratios of Search Space II. */
export const SPACE_II_EXPANSIONS = [1, 2, 4, 6] as const;

/** Search Space II residual types: SuperResIDWE{e}K{k}, e ∈ {1,2,4,6}, k ∈ {3,5,7}. */
export const SPACE_II_TYPES: readonly ResidualChoice[] = SPACE_KERNELS.flatMap((kernel) =>
  SPACE_II_EXPANSIONS.map((expansion) => ({ kind: 'SuperResIDWEXKX' as const, kernel, expansion })),
);

/**
 * Mutation rules of Space II (official SearchSpace/search_space_IDW_fixfc.py): the final 1×1
 * SuperConv ("fc") keeps its width, the stem's width may move.
 */
export const SPACE_II_RULES: BlockwiseRules = {
  residualTypes: SPACE_II_TYPES,
  widthRange: [0.5, 2],
  minChannels: 8,
  maxChannels: 2048,
  subLayerStep: 1,
  convWidthMutable: (b) => b.kernel !== 1,
  splitSubLayers: 6,
};

/** Search Space II: MobileNet inverted-residual blocks with optional SE (Zen-NAS §5, ImageNet). */
export const spaceII: SearchSpace<Structure> = {
  id: 'II',
  title: 'Search Space II',
  description: 'MobileNet inverted-residual blocks SuperResIDWE{e}K{k}, e ∈ {1,2,4,6}, k ∈ {3,5,7}, optional SE (--se)',
  supportsSe: true,
  defaultPreset: 'cifar',
  presets: {
    cifar: {
      name: 'cifar',
      description: 'CIFAR, 32×32, 4 stages, IDW blocks',
      initial:
        'SuperConvK3BNRELU(3,8,1,1)SuperResIDWE6K3(8,16,1,8,1)SuperResIDWE6K3(16,32,2,16,1)SuperResIDWE6K3(32,64,2,32,1)' +
        'SuperResIDWE6K3(64,64,2,32,1)SuperConvK1BNRELU(64,128,1,1)',
      resolution: 32,
      batchSize: 64,
      numClasses: 100,
      maxLayers: 18,
      budgetParams: 1e6,
      iterations: 2000,
    },
    imagenet: {
      name: 'imagenet',
      description: 'ImageNet, 224×224, 5 down-sampling stages (the official Zen_NAS_ImageNet_flops400M.sh setting)',
      initial:
        'SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,1)SuperResIDWE6K3(32,48,2,32,1)SuperResIDWE6K3(48,96,2,48,1)' +
        'SuperResIDWE6K3(96,128,2,96,1)SuperConvK1BNRELU(128,2048,1,1)',
      resolution: 224,
      batchSize: 64,
      numClasses: 1000,
      maxLayers: 14,
      budgetFlops: 400e6,
      iterations: 2000,
    },
  },
  ...structureCodec,
  ...blockwiseHooks(SPACE_II_RULES, 'Search Space II'),
};
