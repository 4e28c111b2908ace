/**
 * The hardcore space (src/spaces/hardcore.ts) as a LUT-able space: its searched stages are the
 * LUT's stages, Table 4's 12 configurations its configurations, the head (stem + first block) and
 * the tail (last blocks + the classifier) its fixed pieces. Each block is timed alone, as the
 * MBInvRes block it is at that place, on an input of its slot's channels and feature-map size.
 */
import { countModel } from '../model/count';
import { lowerAsTrained } from '../model/lower';
import { encodeDescriptor } from '../ops/descriptor';
import type { Structure } from '../grammar/ast';
import {
  HARDCORE_CONFIGS, HardcoreGenotype, HardcoreVariant, hardcoreBlockContext, hardcoreBlockStructure, hardcoreFixedParts,
  hardcoreStages, hardcoreStructure,
} from '../spaces/hardcore';
import { LutNet, LutSlot, LutSpace, LutSpaceOptions } from './types';

/** A configuration's name in tables: e.g. 'e3k5se' (expansion 3, kernel 5, SE on). */
export const hardcoreConfigName = (i: number): string => {
  const c = HARDCORE_CONFIGS[i]!;
  return `e${c.expansion}k${c.kernel}${c.se ? 'se' : ''}`;
};

const lowered = (s: Structure, numClasses: number) => encodeDescriptor(lowerAsTrained(s, { numClasses }));

/** The hardcore space of `variant` for LUT builds, estimates and repairs. */
export function hardcoreLutSpace(variant: HardcoreVariant = 'paper'): LutSpace<HardcoreGenotype> {
  const stages = hardcoreStages(variant);
  const slotsAt = (o: LutSpaceOptions) => stages.map((st, s) => ({
    minDepth: st.minDepth, maxDepth: st.maxDepth,
    slots: Array.from({ length: st.maxDepth }, (_, j): LutSlot => {
      const ctx = hardcoreBlockContext(variant, s, j, 0, o.resolution);
      return { stage: s, position: j, inputChannels: ctx.inputChannels, outputChannels: ctx.block.out, stride: ctx.block.stride, inputResolution: ctx.inputResolution };
    }),
  }));
  return {
    id: 'hardcore',
    variant,
    configs: HARDCORE_CONFIGS.map((_, i) => hardcoreConfigName(i)),
    stages: slotsAt,
    toChoices: (g) => ({ depths: g.stages.map((b) => b.length), configs: g.stages.map((b) => [...b]) }),
    fromChoices: (c) => ({ variant, stages: c.configs.map((b) => [...b]) }),
    blockNet(slot, config): LutNet {
      return { descriptor: lowered(hardcoreBlockStructure(variant, slot.stage, slot.position, config), 0), inputChannels: slot.inputChannels, inputResolution: slot.inputResolution };
    },
    blockCost(slot, config) {
      const c = countModel(hardcoreBlockStructure(variant, slot.stage, slot.position, config), { resolution: slot.inputResolution, numClasses: 0 });
      return { params: c.params, flops: c.flops };
    },
    fixedNets(o) {
      const f = hardcoreFixedParts(variant);
      const last = stages.length - 1;
      const tailRes = hardcoreBlockContext(variant, last, 0, 0, o.resolution).outputResolution;
      const tailIn = stages[last]!.out;
      return [
        { name: 'head', descriptor: lowered(f.head, 0), inputChannels: 3, inputResolution: o.resolution },
        { name: 'tail', descriptor: lowered(f.tail, o.numClasses), inputChannels: tailIn, inputResolution: tailRes },
      ];
    },
    net: (g, o) => ({ descriptor: lowered(hardcoreStructure(g), o.numClasses), inputChannels: 3, inputResolution: o.resolution }),
  };
}
