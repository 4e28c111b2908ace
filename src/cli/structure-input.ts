import * as fs from 'fs';
import { Structure } from '../grammar/ast';
import { parseStructure } from '../grammar/parse';
import { ZennasError } from '../errors';

/** A structure argument: either a structure string or a path to a file holding one. */
export function loadStructureArg(arg: string): { structure: Structure; text: string; source: string } {
  const looksLikeStructure = /^\s*[A-Za-z0-9_]+\s*\(/.test(arg);
  let text = arg;
  let source = 'argument';
  if (!looksLikeStructure) {
    if (!fs.existsSync(arg)) {
      throw new ZennasError('E_IO', `'${arg}' is neither a structure string (e.g. SuperConvK3BNRELU(3,8,1,1)…) nor an existing file`);
    }
    text = fs.readFileSync(arg, 'utf8');
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
export function intOption(flag: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    if (!/^\d+$/.test(v.trim())) throw new ZennasError('E_OPTION', `${flag} must be an integer, got '${v}'`);
    const n = Number(v);
    if (n < min || n > max) throw new ZennasError('E_OPTION', `${flag} must be in ${min}..${max}, got ${n}`);
    return n;
  };
}
