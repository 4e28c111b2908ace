import { keyedError, opt } from '../util/keyed-error';
import { spaceI } from './space-i';
import { spaceII } from './space-ii';
import { hardcoreSpace } from './hardcore';
import { proxylessSpace } from './proxyless';
import { SearchSpace, SpacePreset } from './types';

export * from './types';
export type { ResidualChoice } from './mutation';
export { structureCodec } from './structure-codec';
export { spaceI } from './space-i';
export { spaceII } from './space-ii';
export * from './hardcore';
export * from './proxyless';

/**
 * Registered spaces. Genotype types differ between spaces, so the registry holds
 * `SearchSpace<any>`; the search loop is generic over the genotype and never looks inside one.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnySpace = SearchSpace<any>;

const registry = new Map<string, AnySpace>();

/** Add a space to the registry (the search loop and CLI find it by id; no loop change needed). */
export function registerSpace<G>(space: SearchSpace<G>): void {
  registry.set(space.id.toUpperCase(), space);
}

registerSpace(spaceI);
registerSpace(spaceII);
registerSpace(hardcoreSpace);
registerSpace(proxylessSpace);

/** All registered spaces, in registration order. */
export function listSpaces(): AnySpace[] {
  return [...registry.values()];
}

/** The space with this id (case-insensitive; `1`/`2` accepted for I/II); errors name the option `space`. */
export function getSpace(id: string): AnySpace {
  const key = String(id).trim().toUpperCase();
  const alias: Record<string, string> = { '1': 'I', '2': 'II' };
  const space = registry.get(alias[key] ?? key);
  if (!space) throw keyedError('E_OPTION')`${opt('space')}: unknown search space '${id}'; known: ${listSpaces().map((s) => s.id).join(', ')}`;
  return space;
}

/** A preset of a space by name (`cifar`, `imagenet`); errors name the option `preset`. */
export function getPreset(space: Pick<SearchSpace<unknown>, 'presets' | 'defaultPreset' | 'title'>, name?: string): SpacePreset {
  const key = (name ?? space.defaultPreset).trim().toLowerCase();
  const p = space.presets[key];
  if (!p) throw keyedError('E_OPTION')`${opt('preset')}: '${name}' is not a preset of ${space.title}; known: ${Object.keys(space.presets).join(', ')}`;
  return p;
}
