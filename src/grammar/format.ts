import { Block, MBActivation, MBSqueeze, Structure } from './ast';

/** Name parts of an MBInvRes block's activation and SE (the parser reads the same tables). */
export const MB_ACT_NAMES: Readonly<Record<MBActivation, string>> = { relu: 'RELU', swish: 'SWISH', hswish: 'HSWISH' };
export const MB_SE_NAMES: Readonly<Record<MBSqueeze, string>> = { none: '', se: 'SE', hse: 'HSE' };

/** The PlainNet name of a block, e.g. `SuperResK1K5K1`, `SuperResIDWE4K7`. */
export function blockName(b: Block): string {
  switch (b.kind) {
    case 'SuperConvKXBNRELU': return `SuperConvK${b.kernel}BNRELU`;
    case 'SuperResKXKX': return `SuperResK${b.kernel}K${b.kernel}`;
    case 'SuperResK1KXK1': return `SuperResK1K${b.kernel}K1`;
    case 'SuperResIDWEXKX': return `SuperResIDWE${b.expansion}K${b.kernel}`;
    case 'MBInvRes': return `MBInvResE${b.expansion}K${b.kernel}${MB_ACT_NAMES[b.act]}${MB_SE_NAMES[b.se]}`;
    default: return b.kind;
  }
}

/** Print one block in the grammar (exact inverse of the parser). */
export function formatBlock(b: Block): string {
  const args = (...xs: number[]) => `${blockName(b)}(${xs.join(',')})`;
  switch (b.kind) {
    case 'SuperConvKXBNRELU': return args(b.in, b.out, b.stride, b.subLayers);
    case 'SuperResKXKX': case 'SuperResK1KXK1': case 'SuperResIDWEXKX':
      return args(b.in, b.out, b.stride, b.bottleneck, b.subLayers);
    case 'ConvKX': return args(b.in, b.out, b.kernel, b.stride);
    case 'ConvDW': return args(b.channels, b.kernel, b.stride);
    case 'BN': case 'RELU': case 'SE': case 'SWISH': case 'HSWISH': return args(b.channels);
    case 'MBInvRes': return args(b.in, b.out, b.stride);
    case 'MaxPool': return args(b.in, b.out, b.kernel, b.stride);
    case 'AdaptiveAvgPool': return args(b.channels, b.outputSize);
    case 'Linear': return args(b.in, b.out);
  }
}

/** Print a structure in the grammar; `parseStructure(formatStructure(s))` equals `s`. */
export function formatStructure(s: Structure): string {
  return s.blocks.map(formatBlock).join('');
}
