/**
 * Channel rules of the MBInvRes block family (ast.ts `MBInvResBlock`), shared by the parser
 * (limits), the lowering and the spaces built on these blocks.
 */
import { MBInvResBlock } from './ast';

/**
 * timm's make_divisible (efficientnet_blocks.py, as HardCoRe-NAS's fork and MobileNetV3 use it):
 * the multiple of `divisor` nearest to v (halves up), at least `divisor`, and not more than 10 %
 * below v.
 */
export function makeDivisible(v: number, divisor = 8): number {
  let r = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (r < 0.9 * v) r += divisor;
  return r;
}

/** Expanded width: make_divisible(in·e, 8) (timm InvertedResidual); e = 1 has no expansion conv. */
export function mbMidChannels(b: Pick<MBInvResBlock, 'expansion' | 'in'>): number {
  return b.expansion === 1 ? b.in : makeDivisible(b.in * b.expansion, 8);
}

/**
 * Hidden width of the block's SE: EfficientNet's `SE` make_divisible(in·¼, 1) (timm
 * SqueezeExcite, reduce_mid = False, divisor 1); MobileNetV3's / HardCoRe's `HSE`
 * make_divisible(mid·¼, 8) (reduce_mid = True, divisor 8). 0 without SE.
 */
export function mbSeChannels(b: Pick<MBInvResBlock, 'expansion' | 'in' | 'se'>): number {
  if (b.se === 'se') return makeDivisible(b.in * 0.25, 1);
  if (b.se === 'hse') return makeDivisible(mbMidChannels(b) * 0.25, 8);
  return 0;
}

/** Whether the block (as trained) adds its input: stride 1 and in = out (timm has_residual). */
export function mbHasResidual(b: Pick<MBInvResBlock, 'in' | 'out' | 'stride'>): boolean {
  return b.stride === 1 && b.in === b.out;
}
