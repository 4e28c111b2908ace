import { ZennasError } from '../errors';
import { spaceI } from './space-i';
import { spaceII } from './space-ii';
import { SearchSpace, SpacePreset } from './types';

export * from './types';
export { spaceI } from './space-i';
export { spaceII } from './space-ii';

const registry = new Map<string, SearchSpace>();

/** Add a space to the registry (the search loop and CLI find it by id; no loop change needed). */
export function registerSpace(space: SearchSpace): void {
  registry.set(space.id.toUpperCase(), space);
}

registerSpace(spaceI);
registerSpace(spaceII);

/** All registered spaces, in registration order. */
export function listSpaces(): SearchSpace[] {
  return [...registry.values()];
}

/** The space with this id (case-insensitive; `1`/`2` accepted for I/II). */
export function getSpace(id: string): SearchSpace {
  const key = String(id).trim().toUpperCase();
  const alias: Record<string, string> = { '1': 'I', '2': 'II' };
  const space = registry.get(alias[key] ?? key);
  if (!space) throw new ZennasError('E_OPTION', `--space: unknown search space '${id}'; known: ${listSpaces().map((s) => s.id).join(', ')}`);
  return space;
}

/** A preset of a space by name (`cifar`, `imagenet`). */
export function getPreset(space: SearchSpace, name?: string): SpacePreset {
  const key = (name ?? space.defaultPreset).trim().toLowerCase();
  const p = space.presets[key];
  if (!p) throw new ZennasError('E_OPTION', `--preset: '${name}' is not a preset of ${space.title}; known: ${Object.keys(space.presets).join(', ')}`);
  return p;
}
