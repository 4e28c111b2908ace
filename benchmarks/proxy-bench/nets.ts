/**
 * The benchmark's architectures: Search Space I and II nets on 28×28 grayscale skeletons, drawn
 * with the spaces' `random` hook (src/spaces/mutation.ts randomBlockwise) under a params target
 * drawn log-uniform over [PARAMS_LO, PARAMS_HI] (the draw ends near it unless the FLOPs or layer
 * limit binds first), alternating I, II, I, …, all from one sfc32(seed) stream. The list is
 * committed (nets.json); the same seed gives the same list.
 */
import { formatStructure } from '../../src/grammar/format';
import { parseStructure } from '../../src/grammar/parse';
import { countModel } from '../../src/model/count';
import { Sfc32 } from '../../src/rng/sfc32';
import { spaceI } from '../../src/spaces/space-i';
import { spaceII } from '../../src/spaces/space-ii';
import type { SearchSpace } from '../../src/spaces/types';
import type { Structure } from '../../src/grammar/ast';

export const RESOLUTION = 28;
export const NUM_CLASSES = 10;
export const PARAMS_LO = 5e4;
export const PARAMS_HI = 1e6;
/** FLOPs (multiply-adds per image) cap: keeps one net's CPU training within the time budget. */
export const FLOPS_CAP = 30e6;
/** Σ sub_layers cap. */
export const LAYERS_CAP = 9;

/**
 * 28×28 versions of the spaces' CIFAR skeletons (stem, 4 residual blocks, final 1×1 conv): a
 * grayscale stem of stride 2 and one residual block fewer, so the maps go 28 → 14 → 7 → 4 as the
 * CIFAR preset's 32 → 16 → 8 → 4 — but the full-resolution stage is gone, which keeps CPU
 * training of a 1M-param net within a minute.
 */
export const TEMPLATES: Record<'I' | 'II', string> = {
  I: 'SuperConvK3BNRELU(1,8,2,1)SuperResK3K3(8,16,1,8,1)SuperResK3K3(16,32,2,16,1)SuperResK3K3(32,64,2,32,1)SuperConvK1BNRELU(64,128,1,1)',
  II: 'SuperConvK3BNRELU(1,8,2,1)SuperResIDWE6K3(8,16,1,8,1)SuperResIDWE6K3(16,32,2,16,1)SuperResIDWE6K3(32,64,2,32,1)SuperConvK1BNRELU(64,128,1,1)',
};

/** One architecture of the list. */
export interface BenchNet {
  /** 'n000', 'n001', … (stable across runs: the CSV's key with the structure). */
  id: string;
  space: 'I' | 'II';
  structure: string;
  /** With the 10-class head, at 28×28 (countModel). */
  params: number;
  flops: number;
  layers: number;
  /** The params target of the draw. */
  target: number;
}

/** The first `n` nets of the seeded list (a prefix of a longer list with the same seed). */
export function sampleNets(n: number, seed = 0): BenchNet[] {
  const rng = new Sfc32(seed);
  const opts = { resolution: RESOLUTION, numClasses: NUM_CLASSES, se: false };
  const out: BenchNet[] = [];
  const seen = new Set<string>();
  for (let i = 0; out.length < n; i++) {
    if (i > 20 * n + 100) throw new Error(`cannot draw ${n} distinct nets`);
    const space: 'I' | 'II' = out.length % 2 === 0 ? 'I' : 'II';
    const sp = (space === 'I' ? spaceI : spaceII) as SearchSpace<Structure>;
    const target = Math.exp(rng.uniform(Math.log(PARAMS_LO), Math.log(PARAMS_HI)));
    const s = sp.random!(rng, { options: opts, template: parseStructure(TEMPLATES[space]), limits: { params: target, flops: FLOPS_CAP, layers: LAYERS_CAP } });
    const text = formatStructure(s);
    if (seen.has(text)) continue;
    seen.add(text);
    const c = countModel(s, opts);
    out.push({ id: `n${String(out.length).padStart(3, '0')}`, space, structure: text, params: c.params, flops: c.flops, layers: c.layers, target: Math.round(target) });
  }
  return out;
}
