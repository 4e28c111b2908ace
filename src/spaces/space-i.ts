import { Structure } from '../grammar/ast';
import { BlockwiseRules, ResidualChoice, blockwiseHooks } from './mutation';
import { structureCodec } from './structure-codec';
import { SearchSpace } from './types';

/** Kernel sizes of both Zen-NAS search spaces. */
export const SPACE_KERNELS = [3, 5, 7] as const;

/** Search Space I residual types: SuperResK{k}K{k} and SuperResK1K{k}K1, k ∈ {3,5,7}. */
export const SPACE_I_TYPES: readonly ResidualChoice[] = SPACE_KERNELS.flatMap((kernel) => [
  { kind: 'SuperResKXKX' as const, kernel, expansion: 1 },
  { kind: 'SuperResK1KXK1' as const, kernel, expansion: 1 },
]);

/** Mutation rules of Space I (official SearchSpace/search_space_XXBL.py: every conv width may move). */
export const SPACE_I_RULES: BlockwiseRules = {
  residualTypes: SPACE_I_TYPES,
  widthRange: [0.5, 2],
  minChannels: 8,
  maxChannels: 2048,
  subLayerStep: 1,
  convWidthMutable: () => true,
  splitSubLayers: 6,
};

/** Search Space I: ResNet basic and bottleneck blocks (Zen-NAS §5, CIFAR and ImageNet). */
export const spaceI: SearchSpace<Structure> = {
  id: 'I',
  title: 'Search Space I',
  description: 'ResNet residual (SuperResK{k}K{k}) and bottleneck (SuperResK1K{k}K1) blocks, k ∈ {3,5,7}; widths, bottlenecks and depths searched',
  supportsSe: false,
  defaultPreset: 'cifar',
  presets: {
    cifar: {
      name: 'cifar',
      description: 'CIFAR, 32×32, 4 stages (the official Zen_NAS_cifar_params1M.sh setting)',
      initial:
        'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperResK3K3(16,32,2,16,1)SuperResK3K3(32,64,2,32,1)' +
        'SuperResK3K3(64,64,2,32,1)SuperConvK1BNRELU(64,128,1,1)',
      resolution: 32,
      batchSize: 64,
      numClasses: 100,
      maxLayers: 18,
      budgetParams: 1e6,
      iterations: 2000,
    },
    imagenet: {
      name: 'imagenet',
      description: 'ImageNet, 224×224, 5 down-sampling stages (stem stride 2 + 4 stride-2 stages)',
      initial:
        'SuperConvK3BNRELU(3,16,2,1)SuperResK3K3(16,32,2,16,1)SuperResK3K3(32,64,2,32,1)SuperResK3K3(64,128,2,64,1)' +
        'SuperResK3K3(128,256,2,128,1)SuperConvK1BNRELU(256,1024,1,1)',
      resolution: 224,
      batchSize: 64,
      numClasses: 1000,
      maxLayers: 14,
      budgetFlops: 400e6,
      iterations: 2000,
    },
  },
  ...structureCodec,
  ...blockwiseHooks(SPACE_I_RULES, 'Search Space I'),
};
