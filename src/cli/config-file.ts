/**
 * `--config FILE`: a command's flags from a JSON or YAML file, keyed by the flags' own names
 * (`budget-params: 1M`, `iterations: 2000`, `se: true`). Flags on the command line win; every
 * value goes through the flag's own parser, so a file is checked exactly as the command line is.
 *
 *   # search.yaml
 *   space: I
 *   budget-params: 1M
 *   max-layers: 18
 *   iterations: 2000
 */
import type { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { ZennasError } from '../errors';
import { readRegularText } from '../util/files';
import { nearestKey } from '../util/validate';

/** A config file larger than this is refused before it is read. */
const MAX_CONFIG_BYTES = 1 << 20;
/** Flags a config file may not set (they name the file itself or only make sense typed). */
const NOT_IN_FILE = new Set(['config', 'help']);

/** The file's mapping of flag names to values (JSON when it parses as JSON, else YAML). */
export function readConfigFile(file: string): Record<string, unknown> {
  const text = readRegularText(file, { maxBytes: MAX_CONFIG_BYTES, what: 'config file', code: 'E_OPTION' });
  let data: unknown;
  try {
    data = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new ZennasError('E_OPTION', `--config ${file}: not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ZennasError('E_OPTION', `--config ${file}: must be a mapping of flag names to values (e.g. 'iterations: 2000'), got ${Array.isArray(data) ? 'a list' : typeof data}`);
  return data as Record<string, unknown>;
}

/**
 * Apply `file`'s values to `cmd`'s options where the command line gave none. Returns the merged
 * option values; their source is 'config', which callers treat like a flag given on the line.
 */
export function applyConfigFile<T extends object>(cmd: Command, file: string): T {
  const data = readConfigFile(file);
  const options = cmd.options as readonly Option[];
  // Keys: each flag's long name; a --no-x switch also answers to x (`progress: false`) unless --x exists.
  const byName = new Map<string, { opt: Option; invert: boolean }>();
  for (const o of options) if (o.long && !o.negate) byName.set(o.long.slice(2), { opt: o, invert: false });
  for (const o of options) {
    if (!o.long || !o.negate) continue;
    byName.set(o.long.slice(2), { opt: o, invert: true });
    if (!byName.has(o.attributeName())) byName.set(o.attributeName(), { opt: o, invert: false });
  }
  const names = [...byName.keys()].filter((n) => !NOT_IN_FILE.has(n));
  for (const [key, value] of Object.entries(data)) {
    const name = key.replace(/^--/, '');
    const hit = byName.get(name);
    if (!hit || NOT_IN_FILE.has(name)) {
      const near = nearestKey(name, names);
      throw new ZennasError('E_OPTION', `--config ${file}: unknown flag '${key}'${near ? ` (did you mean '${near}'?)` : ''}; the file takes the flags of 'zennas ${cmd.name()}' without '--'`);
    }
    const { opt, invert } = hit;
    const attr = opt.attributeName();
    if (cmd.getOptionValueSource(attr) === 'cli') continue; // the command line wins
    let v: unknown;
    if (opt.required || opt.optional) { // takes a value: through the flag's own parser
      if (value === null || typeof value === 'object') throw new ZennasError('E_OPTION', `--config ${file}: '${key}' must be a single value, got ${value === null ? 'null' : 'a list or mapping'}`);
      const raw = String(value);
      const parse = (opt as unknown as { parseArg?: (v: string, prev: unknown) => unknown }).parseArg;
      try {
        v = parse ? parse(raw, undefined) : raw;
      } catch (e) {
        if (e instanceof ZennasError) throw new ZennasError(e.code, `--config ${file}: ${e.message}`);
        throw e;
      }
    } else { // a switch: true / false
      if (typeof value !== 'boolean') throw new ZennasError('E_OPTION', `--config ${file}: '${key}' is a switch: true or false, got ${JSON.stringify(value)}`);
      v = invert ? !value : value;
    }
    cmd.setOptionValueWithSource(attr, v, 'config');
  }
  return cmd.opts() as T;
}

/** True when option `key` of `cmd` was set by the user (on the command line or in --config). */
export function givenByUser(cmd: Command, key: string): boolean {
  const s = cmd.getOptionValueSource(key);
  return s === 'cli' || s === 'config';
}
