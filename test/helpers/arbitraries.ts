import * as path from 'path';
import fc from 'fast-check';
import { Block } from '../../src/grammar/ast';

/** The 12 published ZenNet structures (idstcv/ZenNAS, Apache-2.0), vendored so a bare clone tests them. */
export const ZOO = path.resolve(__dirname, '../fixtures/zennets');

/** Size limits of `arbStructureWithin`. */
export interface StructureLimits {
  maxChannels: number;
  maxBlocks: number;
  maxSubLayers: number;
}

/** A random valid structure of every block kind: a chain of blocks whose channels match. */
export function arbStructureWithin(lim: StructureLimits) {
  const ch = fc.integer({ min: 1, max: lim.maxChannels });
  const kernel = fc.constantFrom(1, 3, 5, 7);
  const stride = fc.constantFrom(1, 2);
  return fc
    .array(
      fc.tuple(fc.integer({ min: 0, max: 10 }), ch, kernel, stride, ch, fc.integer({ min: 1, max: lim.maxSubLayers }), fc.constantFrom(1, 2, 4, 6)),
      { minLength: 1, maxLength: lim.maxBlocks },
    )
    .map((specs) => {
      let c = 3;
      const blocks: Block[] = specs.map(([kind, out, k, s, btn, sub, e]): Block => {
        const cin = c;
        const make = (): Block => {
          switch (kind) {
            case 0: return { kind: 'SuperConvKXBNRELU', kernel: k, in: cin, out, stride: s, subLayers: sub };
            case 1: return { kind: 'SuperResKXKX', kernel: k, expansion: 1, in: cin, out, stride: s, bottleneck: btn, subLayers: sub };
            case 2: return { kind: 'SuperResK1KXK1', kernel: k, expansion: 1, in: cin, out, stride: s, bottleneck: btn, subLayers: sub };
            case 3: return { kind: 'SuperResIDWEXKX', kernel: k, expansion: e, in: cin, out, stride: s, bottleneck: btn, subLayers: sub };
            case 4: return { kind: 'ConvKX', in: cin, out, kernel: k, stride: s };
            case 5: return { kind: 'ConvDW', channels: cin, kernel: k, stride: s };
            case 6: return { kind: 'BN', channels: cin };
            case 7: return { kind: 'RELU', channels: cin };
            case 8: return { kind: 'SE', channels: cin };
            case 9: return { kind: 'MaxPool', in: cin, out: cin, kernel: k, stride: s };
            default: return { kind: 'SuperConvKXBNRELU', kernel: 1, in: cin, out, stride: 1, subLayers: 1 };
          }
        };
        const b = make();
        c = 'channels' in b ? b.channels : b.out;
        return b;
      });
      return { blocks };
    });
}

/** Random valid structures up to 512 channels, 8 blocks (grammar and counting properties). */
export const arbStructure = arbStructureWithin({ maxChannels: 512, maxBlocks: 8, maxSubLayers: 4 });
