/**
 * NumPy `.npy` files (format versions 1.0, 2.0, 3.0), read strictly and bounded: the data and
 * labels of `--data` / `--labels`, and the benchmark's converted splits. Every malformed file is
 * a ZennasError('E_PARSE') naming the file and the fault; a file-system problem (missing, a FIFO,
 * over the bound) is E_IO from readRegularFile. The header is parsed as the Python literal NumPy
 * writes — a dict of exactly 'descr', 'fortran_order' and 'shape' — by a small tokenizer, never
 * evaluated. Only C-order little-endian arrays are read; multi-byte integers are converted to
 * int32 (a value outside int32 is refused, not wrapped).
 */
import { ZennasError } from '../errors';
import { readRegularFile } from './files';

/** Largest header accepted (bytes); NumPy itself refuses headers over 10,000 bytes by default. */
export const NPY_MAX_HEADER = 65536;
/** Default bound of a .npy file read by the CLI (1 GiB). */
export const NPY_MAX_BYTES = 1 << 30;

/** The element types read: float32, and integers (converted to int32). */
const DTYPES: Readonly<Record<string, { bytes: number; kind: 'f' | 'i' | 'u' }>> = {
  '<f4': { bytes: 4, kind: 'f' },
  '|i1': { bytes: 1, kind: 'i' }, '<i1': { bytes: 1, kind: 'i' }, '<i2': { bytes: 2, kind: 'i' }, '<i4': { bytes: 4, kind: 'i' }, '<i8': { bytes: 8, kind: 'i' },
  '|u1': { bytes: 1, kind: 'u' }, '<u1': { bytes: 1, kind: 'u' }, '<u2': { bytes: 2, kind: 'u' }, '<u4': { bytes: 4, kind: 'u' }, '<u8': { bytes: 8, kind: 'u' },
};

/** The integer dtypes (labels). */
export const INT_DTYPES: readonly string[] = Object.keys(DTYPES).filter((d) => DTYPES[d]!.kind !== 'f');

/** A parsed .npy header. */
export interface NpyHeader {
  version: 1 | 2 | 3;
  /** NumPy's dtype string, e.g. '<f4', '<i8', '|u1'. */
  descr: string;
  shape: number[];
  /** Byte offset of the data. */
  dataOffset: number;
}

/** A decoded .npy: its values (float32, or any integer dtype as int32) and shape. */
export interface Npy {
  descr: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

type Tok = { t: '{' | '}' | '(' | ')' | '[' | ']' | ':' | ',' } | { t: 'str'; v: string } | { t: 'int'; v: string } | { t: 'name'; v: string };

/** Tokens of a Python literal (dict, tuple, list brackets, str, non-negative int, True/False); E_PARSE on anything else. */
function tokenize(s: string, bad: (m: string) => never): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if ('{}()[]:,'.includes(c)) { out.push({ t: c as '{' }); i++; continue; }
    if (c === "'" || c === '"') {
      const end = s.indexOf(c, i + 1);
      if (end < 0) bad('header: unterminated string');
      const v = s.slice(i + 1, end);
      if (v.includes('\\')) bad('header: escapes in strings are not read');
      out.push({ t: 'str', v });
      i = end + 1;
      continue;
    }
    const m = /^(\d+|[A-Za-z_]+)/.exec(s.slice(i, i + 32));
    if (!m) bad(`header: unexpected character ${JSON.stringify(c)} at ${i}`);
    out.push(/^\d/.test(m[1]!) ? { t: 'int', v: m[1]! } : { t: 'name', v: m[1]! });
    i += m[1]!.length;
  }
  return out;
}

/** The header's dict: { descr, fortran_order, shape } exactly (any order, a trailing comma allowed). */
function parseDict(text: string, bad: (m: string) => never): { descr: string; fortranOrder: boolean; shape: number[] } {
  const toks = tokenize(text, bad);
  let k = 0;
  const next = (): Tok => toks[k++] ?? bad('header: ends early');
  const expect = (t: Tok['t']) => { const x = next(); if (x.t !== t) bad(`header: expected '${t}', found ${'v' in x ? JSON.stringify(x.v) : `'${x.t}'`}`); return x; };
  expect('{');
  const got: Record<string, unknown> = {};
  for (;;) {
    const key = next();
    if (key.t === '}') break;
    if (key.t !== 'str') bad('header: a dict key must be a string');
    if (!['descr', 'fortran_order', 'shape'].includes(key.v)) bad(`header: unknown key '${key.v}'`);
    if (key.v in got) bad(`header: key '${key.v}' given twice`);
    expect(':');
    const v = next();
    if (key.v === 'descr') {
      if (v.t !== 'str') bad("header: 'descr' must be a dtype string (structured dtypes are not read)");
      got.descr = v.v;
    } else if (key.v === 'fortran_order') {
      if (v.t !== 'name' || (v.v !== 'True' && v.v !== 'False')) bad("header: 'fortran_order' must be True or False");
      got.fortran_order = v.v === 'True';
    } else {
      if (v.t !== '(') bad("header: 'shape' must be a tuple");
      const dims: number[] = [];
      for (;;) {
        const d = next();
        if (d.t === ')') break;
        if (d.t !== 'int') bad("header: 'shape' must hold non-negative integers");
        if (d.v.length > 15 || !Number.isSafeInteger(Number(d.v))) bad(`header: shape dimension ${d.v} is too large`);
        dims.push(Number(d.v));
        const sep = next();
        if (sep.t === ')') break;
        if (sep.t !== ',') bad("header: 'shape' must be a tuple of integers");
      }
      got.shape = dims;
    }
    const sep = next();
    if (sep.t === '}') break;
    if (sep.t !== ',') bad("header: expected ',' or '}' in the dict");
  }
  if (k !== toks.length) bad('header: text after the dict');
  for (const key of ['descr', 'fortran_order', 'shape']) if (!(key in got)) bad(`header: no '${key}'`);
  return { descr: got.descr as string, fortranOrder: got.fortran_order as boolean, shape: got.shape as number[] };
}

/** Parse the magic, version and header of `buf` (E_PARSE naming `what`). */
export function parseNpyHeader(buf: Uint8Array, what: string): NpyHeader {
  const bad = (m: string): never => { throw new ZennasError('E_PARSE', `${what}: ${m}`); };
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || b.toString('latin1', 0, 6) !== '\x93NUMPY') bad('not a .npy file (magic \\x93NUMPY missing)');
  const major = b[6]!, minor = b[7]!;
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) bad(`.npy format version ${major}.${minor} is not 1.0, 2.0 or 3.0`);
  if (major !== 1 && b.length < 12) bad('header runs past the end');
  const hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  if (hlen > NPY_MAX_HEADER) bad(`header of ${hlen} bytes, more than the ${NPY_MAX_HEADER} read`);
  if (start + hlen > b.length) bad('header runs past the end');
  const raw = b.subarray(start, start + hlen);
  // Versions 1 and 2 are latin1, version 3 UTF-8 (only ASCII is meaningful in either).
  for (const c of raw) if (c > 0x7e || (c < 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d)) bad('header holds a non-ASCII or control byte');
  const d = parseDict(raw.toString('latin1'), bad);
  if (d.fortranOrder) bad('fortran_order: True arrays are not read (save a C-order array: np.ascontiguousarray)');
  return { version: major as 1 | 2 | 3, descr: d.descr, shape: d.shape, dataOffset: start + hlen };
}

/**
 * Decode a .npy of '<f4' or a little-endian integer dtype (as int32), C order. `dtypes` limits
 * the dtypes accepted (default: all of them). E_PARSE naming `what` on any fault.
 */
export function decodeNpy(buf: Uint8Array, what: string, dtypes?: readonly string[], hint = ''): Npy {
  const bad = (m: string): never => { throw new ZennasError('E_PARSE', `${what}: ${m}`); };
  const h = parseNpyHeader(buf, what);
  const dt = DTYPES[h.descr];
  if (!dt || (dtypes && !dtypes.includes(h.descr))) {
    const big = /^>/.test(h.descr) ? ' (big-endian: save it little-endian, e.g. x.astype(x.dtype.newbyteorder("<")))' : '';
    bad(`dtype ${h.descr} is not ${(dtypes ?? Object.keys(DTYPES)).join(', ')}${big || hint}`);
  }
  let n = 1;
  for (const s of h.shape) { n *= s; if (n > Number.MAX_SAFE_INTEGER) bad(`shape (${h.shape.join(', ')}) is too large`); }
  const have = buf.byteLength - h.dataOffset;
  if (have !== n * dt!.bytes) bad(`holds ${have} data bytes, shape (${h.shape.join(', ')}) needs ${n * dt!.bytes}`);
  // Copied: the typed array is aligned and owns its memory whatever the file buffer is.
  const bytes = Buffer.from(buf.buffer, buf.byteOffset + h.dataOffset, have);
  if (dt!.kind === 'f') {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(4 * i);
    return { descr: h.descr, shape: h.shape, data: out };
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number | bigint;
    switch (dt!.bytes) {
      case 1: v = dt!.kind === 'i' ? bytes.readInt8(i) : bytes.readUInt8(i); break;
      case 2: v = dt!.kind === 'i' ? bytes.readInt16LE(2 * i) : bytes.readUInt16LE(2 * i); break;
      case 4: v = dt!.kind === 'i' ? bytes.readInt32LE(4 * i) : bytes.readUInt32LE(4 * i); break;
      default: v = dt!.kind === 'i' ? bytes.readBigInt64LE(8 * i) : bytes.readBigUInt64LE(8 * i);
    }
    if (v < -2147483648 || v > 2147483647) bad(`value ${v} at index ${i} does not fit in int32`);
    out[i] = Number(v);
  }
  return { descr: h.descr, shape: h.shape, data: out };
}

/** Read and decode a .npy file, bounded by `maxBytes` (default NPY_MAX_BYTES). */
export function readNpyFile(file: string, o: { maxBytes?: number; what?: string; dtypes?: readonly string[]; hint?: string } = {}): Npy {
  const buf = readRegularFile(file, { maxBytes: o.maxBytes ?? NPY_MAX_BYTES, what: o.what ?? '.npy file' });
  return decodeNpy(buf, file, o.dtypes, o.hint);
}

/** Data images for the proxies: float32 NCHW values and their shape [N, C, H, W] (readImagesNpy's result). */
export interface NpyImages {
  /** [N, C, H, W]. */
  shape: [number, number, number, number];
  data: Float32Array;
}

/** The images of a .npy (float32, 4-D NCHW, every value finite). */
export function imagesFromNpy(npy: Npy, what: string): NpyImages {
  const bad = (m: string): never => { throw new ZennasError('E_PARSE', `${what}: ${m}`); };
  if (npy.descr !== '<f4') bad(`dtype ${npy.descr}: images must be float32 ('<f4'; x.astype(np.float32))`);
  if (npy.shape.length !== 4) bad(`shape (${npy.shape.join(', ')}) is not 4-D NCHW [images, channels, height, width]`);
  if (npy.shape.some((d) => d === 0)) bad(`shape (${npy.shape.join(', ')}) holds no images`);
  const x = npy.data as Float32Array;
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) bad(`value ${x[i]} at index ${i} (image ${Math.floor(i / (x.length / npy.shape[0]!))}) is not finite`);
  return { shape: npy.shape as [number, number, number, number], data: x };
}

/** The labels of a .npy (an integer dtype, 1-D, every value ≥ 0). */
export function labelsFromNpy(npy: Npy, what: string): Int32Array {
  const bad = (m: string): never => { throw new ZennasError('E_PARSE', `${what}: ${m}`); };
  if (!(npy.data instanceof Int32Array)) bad(`dtype ${npy.descr}: labels must be integers (e.g. '<i8', '<i4', '|u1')`);
  if (npy.shape.length !== 1) bad(`shape (${npy.shape.join(', ')}) is not 1-D [images]`);
  const y = npy.data as Int32Array;
  for (let i = 0; i < y.length; i++) if (y[i]! < 0) bad(`label ${y[i]} at index ${i} is negative`);
  return y;
}

/** Read the images of `--data FILE.npy` (float32 [N, C, H, W], C order, finite; bounded), as `score({ data })` takes them. E_PARSE / E_IO naming the file. */
export function readImagesNpy(file: string, maxBytes = NPY_MAX_BYTES): NpyImages {
  return imagesFromNpy(readNpyFile(file, { maxBytes, what: 'data file', dtypes: ['<f4'], hint: ' (images must be float32: x.astype(np.float32))' }), file);
}

/** Read the labels of `--labels FILE.npy` (any integer dtype, 1-D, ≥ 0) as an Int32Array, as `score({ labels })` takes them. E_PARSE / E_IO naming the file. */
export function readLabelsNpy(file: string, maxBytes = NPY_MAX_BYTES): Int32Array {
  return labelsFromNpy(readNpyFile(file, { maxBytes, what: 'labels file', dtypes: INT_DTYPES, hint: ' (labels must be integers: y.astype(np.int64))' }), file);
}

/** A .npy (format 1.0, header padded to 64 bytes) of a float32 or int32 array, C order, little-endian. */
export function encodeNpy(a: Float32Array | Int32Array, shape: readonly number[]): Buffer {
  if (shape.reduce((x, y) => x * y, 1) !== a.length) throw new ZennasError('E_INTERNAL', `npy shape ${shape} does not hold ${a.length} values`);
  const descr = a instanceof Float32Array ? '<f4' : '<i4';
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const header = dict + ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(a.byteLength);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float32Array) body.writeFloatLE(a[i]!, 4 * i); else body.writeInt32LE(a[i]!, 4 * i);
  }
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}
