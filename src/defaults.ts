/**
 * The one table of defaults that the CLI and the API share for a structure given without settings:
 * the CIFAR setting of Zen-NAS's searches (Space I/II `cifar` presets: 32×32, batch 64, 100
 * classes). A ZenNet zoo net brings its own resolution, classes and SE (src/zoo), which come first.
 * Engine option defaults live in the option table (src/engine/options.ts); these read from it.
 */
import { ENGINE_OPTIONS } from './engine/options';
import type { ZooEntry } from './zoo';

/** The shared defaults for a structure given without settings (CIFAR: 32×32, batch 64, 100 classes). */
export const DEFAULTS = {
  /** Input resolution (the option table's default). */
  resolution: ENGINE_OPTIONS.resolution.default as number,
  /** Images per Zen-score forward (the option table's default). */
  batchSize: ENGINE_OPTIONS.batchSize.default as number,
  /** Classes of the GAP + Linear head when counting or exporting (CIFAR-100, as the search presets). */
  numClasses: 100,
} as const;

/** Settings of a structure: what was given, else the zoo net's own, else DEFAULTS. */
export function structureSettings(given: { resolution?: number; numClasses?: number; se?: boolean }, zoo?: ZooEntry): { resolution: number; numClasses: number; se: boolean } {
  return {
    resolution: given.resolution ?? zoo?.resolution ?? DEFAULTS.resolution,
    numClasses: given.numClasses ?? zoo?.numClasses ?? DEFAULTS.numClasses,
    se: given.se ?? zoo?.se ?? false,
  };
}
