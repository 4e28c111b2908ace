import { Structure } from '../grammar/ast';
import { parseStructure } from '../grammar/parse';
import { ZennasError } from '../errors';
import { ENGINE_OPTIONS, EngineOptionKey, Resolved } from '../engine/options';
import { LIMITS } from '../grammar/limits';
import * as fs from 'fs';
import * as path from 'path';
import { ioError, readRegularText } from '../util/files';
import { ZooEntry, findZooEntry, zooFile } from '../zoo';

/** The text of a structure file, checked before reading: a regular file no longer than any structure may be. */
function readStructureFile(file: string): string {
  try {
    // 4 bytes per character at most in UTF-8; /dev/zero and FIFOs are refused before any read.
    return readRegularText(file, { maxBytes: 4 * LIMITS.maxTextLength, what: 'structure file' });
  } catch (e) {
    if ((e as { missing?: boolean }).missing) {
      throw new ZennasError('E_IO', `'${file}' is neither a structure string (e.g. SuperConvK3BNRELU(3,8,1,1)…), a ZenNet zoo name (zennas zoo lists them) nor an existing file`);
    }
    throw e;
  }
}

/**
 * The structure text of a file or of stdin without its comments: `#` to the end of a line is a
 * comment, and blank lines and line breaks are whitespace (a structure may span lines).
 */
export function stripComments(text: string): string {
  return text.split(/\r?\n/).map((line) => line.replace(/#.*$/, '')).join('\n');
}

/** A structure string without whitespace (the grammar has no meaningful whitespace). */
const compact = (text: string) => stripComments(text).replace(/\s+/g, '');

/** Standard input as text, bounded like a structure file; a terminal on stdin is refused (nothing would come). */
function readStdinText(): string {
  if (process.stdin.isTTY) throw new ZennasError('E_OPTION', "'-' reads the structure from standard input, which is a terminal: pipe one in (echo 'SuperConvK3BNRELU(3,8,1,1)…' | zennas info -)");
  const max = 4 * LIMITS.maxTextLength;
  const chunks: Buffer[] = [];
  let total = 0;
  const buf = Buffer.allocUnsafe(65536);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); continue; }
      if (code === 'EOF') break;
      throw ioError(e, 'cannot read the structure from standard input');
    }
    if (n === 0) break;
    total += n;
    if (total > max) throw new ZennasError('E_IO', `the structure on standard input is longer than the ${max} bytes a structure may have`);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

/** The help text of a command's structure argument. */
export const STRUCTURE_ARG_HELP = "a structure string, a ZenNet zoo name (zennet-1M, zennet-400M-SE, zennet-0.1ms, …; 'zennas zoo' lists them), a file holding one (# comments allowed) or - for standard input";

/** A structure argument as the commands receive it. */
export interface StructureArg {
  structure: Structure;
  /** The structure string (comments removed, trimmed). */
  text: string;
  /** Where it came from: `argument`, `stdin`, a file path, or `zoo:<name>`. */
  source: string;
  /** The zoo net it names, whose classes, SE and resolution are the commands' defaults. */
  zoo?: ZooEntry;
}

/**
 * A structure argument: a structure string, `-` (standard input), a ZenNet zoo name
 * (`zennet-1M`, an official name such as `zennet_imagenet1k_flops400M_SE_res224`, or a zoo file's
 * own name), or a path to a file holding one. A file named like a zoo net is read as the file.
 */
export function loadStructureArg(arg: string): StructureArg {
  const looksLikeStructure = /^\s*[A-Za-z0-9_]+\s*\(/.test(arg);
  let text = arg;
  let source = 'argument';
  let zoo: ZooEntry | undefined;
  if (arg === '-') {
    text = stripComments(readStdinText());
    source = 'stdin';
  } else if (!looksLikeStructure) {
    const named = findZooEntry(path.basename(arg));
    if (named && path.basename(arg) === arg && !fs.existsSync(arg)) {
      zoo = named;
      text = stripComments(readStructureFile(zooFile(named)));
      source = `zoo:${named.name}`;
    } else {
      text = stripComments(readStructureFile(arg));
      source = arg;
      // A copy of a zoo file (same name, same structure) is that zoo net: it keeps its classes, SE, resolution.
      if (named && compact(text) === compact(readStructureFile(zooFile(named)))) zoo = named;
    }
  }
  try {
    return { structure: parseStructure(text), text: compact(text), source, ...(zoo ? { zoo } : {}) };
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

/** The keys of ENGINE_OPTIONS whose kind is 'choice'. */
export type EngineChoiceKey = { [K in EngineOptionKey]: (typeof ENGINE_OPTIONS)[K] extends { kind: 'choice' } ? K : never }[EngineOptionKey];

/** `'a', 'b' or 'c'`: the allowed values of a choice option, as a message lists them. */
function listChoices(values: readonly string[]): string {
  const q = values.map((v) => `'${v}'`);
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

/**
 * The value of a flag that sets choice option `key` of the engine's table (--gsnr-mode, --hvp-precision):
 * undefined when the flag was not given, else the value if the table allows it, else E_OPTION naming
 * the flag, the table's values and what was given. The allowed values live only in ENGINE_OPTIONS.
 */
export function engineChoiceFlag<K extends EngineChoiceKey>(flag: string, key: K, v: string | undefined): Resolved<K>[K] | undefined {
  if (v === undefined) return undefined;
  const values: readonly string[] = ENGINE_OPTIONS[key].values;
  if (!values.includes(v)) throw new ZennasError('E_OPTION', `${flag} must be ${listChoices(values)}, got '${v}'`);
  return v as Resolved<K>[K];
}

/** Help text of a choice flag: the table's doc of `key` and its default. */
export function engineChoiceHelp(key: EngineChoiceKey): string {
  const s = ENGINE_OPTIONS[key];
  return `${s.doc} (default '${s.default}')`;
}

export function intOption(flag: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    if (!/^\d+$/.test(v.trim())) throw new ZennasError('E_OPTION', `${flag} must be an integer, got '${v}'`);
    const n = Number(v);
    if (n < min || n > max) throw new ZennasError('E_OPTION', `${flag} must be in ${min}..${max}, got ${n}`);
    return n;
  };
}
