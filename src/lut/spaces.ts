/**
 * The spaces a LUT can be built for, by search-space id: how to make the LUT-able space of a
 * variant, and which variant a genotype belongs to. A space not listed here has no LUT.
 */
import { ZennasError } from '../errors';
import { HARDCORE_VARIANTS, HardcoreGenotype, HardcoreVariant } from '../spaces/hardcore';
import { hardcoreLutSpace } from './hardcore';
import type { LutSpace } from './types';

/** A LUT-able search space. */
export interface LutSpaceEntry<G = unknown> {
  variants: readonly string[];
  defaultVariant: string;
  make(variant: string): LutSpace<G>;
  variantOf(g: G): string;
}

const LUT_SPACES: Record<string, LutSpaceEntry> = {
  hardcore: {
    variants: HARDCORE_VARIANTS, defaultVariant: 'paper',
    make: (v) => hardcoreLutSpace(v as HardcoreVariant) as LutSpace<unknown>,
    variantOf: (g) => (g as HardcoreGenotype).variant,
  },
};

/** Ids of the spaces with LUT support. */
export const LUT_SPACE_IDS: readonly string[] = Object.keys(LUT_SPACES);

/** The LUT-able space `id` (case-insensitive); E_OPTION naming `option` when it has none. */
export function lutSpaceEntry(id: string, option = 'space'): LutSpaceEntry {
  const e = LUT_SPACES[String(id).trim().toLowerCase()];
  if (!e) throw new ZennasError('E_OPTION', `${option}: space '${id}' has no latency tables; LUTs exist for ${LUT_SPACE_IDS.join(', ')}`);
  return e;
}

/** The LUT-able space of `id` and `variant` (default: the space's). */
export function getLutSpace(id: string, variant?: string): LutSpace<unknown> {
  const e = lutSpaceEntry(id);
  const v = variant ?? e.defaultVariant;
  if (!e.variants.includes(v)) throw new ZennasError('E_OPTION', `variant: '${v}' is not a variant of ${id}; known: ${e.variants.join(', ')}`);
  return e.make(v);
}
