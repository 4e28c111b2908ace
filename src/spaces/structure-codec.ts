import { Structure } from '../grammar/ast';
import { parseStructure } from '../grammar/parse';
import { formatStructure } from '../grammar/format';
import { countModel } from '../model/count';
import { lowerForScoring } from '../model/lower';
import { encodeDescriptor } from '../ops/descriptor';
import { SearchSpace, SpaceCost, SpaceOptions } from './types';

/**
 * The genotype half of a SearchSpace<Structure>: PlainNet structures keyed by their canonical
 * string, counted with the classifier (countModel) and lowered for Zen-scoring. Space I and II
 * (and any space of PlainNet structures) spread this and add their own check/mutate.
 */
export const structureCodec: Pick<SearchSpace<Structure>, 'encode' | 'decode' | 'count' | 'lower' | 'structure'> = Object.freeze({
  encode: (s: Structure): string => formatStructure(s),
  decode: (key: string): Structure => parseStructure(key),
  count: (s: Structure, o: SpaceOptions): SpaceCost => countModel(s, o),
  lower: (s: Structure, o: SpaceOptions): Int32Array => encodeDescriptor(lowerForScoring(s, { se: o.se })),
  structure: (s: Structure): Structure => s,
});
