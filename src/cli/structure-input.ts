import { Structure } from '../grammar/ast';
import { parseStructure } from '../grammar/parse';
import { ZennasError } from '../errors';
import { ENGINE_OPTIONS } from '../engine/options';
import { LIMITS } from '../grammar/limits';
import { readRegularText } from '../util/files';

/** The text of a structure file, checked before reading: a regular file no longer than any structure may be. */
function readStructureFile(file: string): string {
  try {
    // 4 bytes per character at most in UTF-8; /dev/zero and FIFOs are refused before any read.
    return readRegularText(file, { maxBytes: 4 * LIMITS.maxTextLength, what: 'structure file' });
  } catch (e) {
    if ((e as { missing?: boolean }).missing) {
      throw new ZennasError('E_IO', `'${file}' is neither a structure string (e.g. SuperConvK3BNRELU(3,8,1,1)…) nor an existing file`);
    }
    throw e;
  }
}

/** A structure argument: either a structure string or a path to a file holding one. */
export function loadStructureArg(arg: string): { structure: Structure; text: string; source: string } {
  const looksLikeStructure = /^\s*[A-Za-z0-9_]+\s*\(/.test(arg);
  let text = arg;
  let source = 'argument';
  if (!looksLikeStructure) {
    text = readStructureFile(arg);
    source = arg;
  }
  try {
    return { structure: parseStructure(text), text: text.trim(), source };
  } catch (e) {
    if (e instanceof ZennasError && source !== 'argument') throw new ZennasError(e.code, `${source}: ${e.message}`, e.position);
    throw e;
  }
}

/** Parse an integer CLI option in [min, max] with a message naming the flag. */
/** A flag parsed as an engine option: its range is the option table's (src/engine/options.ts), not a copy. */
export function engineIntOption(flag: string, key: 'batchSize' | 'resolution' | 'repeats' | 'seed' | 'warmup' | 'iterations' | 'firstRepeat'): (v: string) => number {
  const spec = ENGINE_OPTIONS[key];
  return intOption(flag, spec.min, spec.max);
}

export function intOption(flag: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    if (!/^\d+$/.test(v.trim())) throw new ZennasError('E_OPTION', `${flag} must be an integer, got '${v}'`);
    const n = Number(v);
    if (n < min || n > max) throw new ZennasError('E_OPTION', `${flag} must be in ${min}..${max}, got ${n}`);
    return n;
  };
}
