/**
 * File access that can neither hang, nor read without bound, nor fail with a raw Node error:
 * every file the tool reads goes through `readRegularFile` (opened without blocking, checked to
 * be a regular file on the open descriptor, read up to a bound), every write loops until all
 * bytes are out, and every failure is a ZennasError('E_IO') naming the path.
 */
import * as fs from 'fs';
import { isZennasError, ZennasError, ZennasErrorCode } from '../errors';

const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;

/** What a file-system entry is, in words ('regular file', 'FIFO', 'directory', …). */
export function kindOf(st: fs.Stats): string {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symbolic link';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'special file';
}

const REASONS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for this file system or process limit',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EIO: 'input/output error of the device',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links (or a symbolic link where none is allowed)',
  ENXIO: 'no such device (a FIFO with no reader?)',
  EAGAIN: 'the file would block',
};

/** A Node error's reason in words, with its code: "no space left on the device (ENOSPC)". */
export function ioReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string') return `${REASONS[code] ?? String((e as Error).message).replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')} (${code})`;
  return e instanceof Error ? e.message : String(e);
}

/** True for an error thrown by a Node file-system call (it has an errno code and a syscall). */
export function isNodeIoError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** `e` as a ZennasError: kept when it is one, else E_IO "`what`: reason". */
export function ioError(e: unknown, what: string, code: ZennasErrorCode = 'E_IO'): ZennasError {
  if (isZennasError(e)) return e;
  const out = new ZennasError(code, `${what}: ${ioReason(e)}`);
  (out as { cause?: unknown }).cause = e;
  return out;
}

/** Run `fn`; a Node error becomes E_IO "`what`: reason". */
export function io<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw ioError(e, what);
  }
}

/** lstat, or null when nothing is there (a dangling symbolic link is something). */
export function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError(e, `cannot inspect '${p}'`);
  }
}

/** Options of readRegularFile. */
export interface ReadOptions {
  /** Largest size accepted, in bytes. */
  maxBytes: number;
  /** What the file is, for messages ("checkpoint", "structure file"). */
  what: string;
  /** Error code of every failure (default E_IO). */
  code?: ZennasErrorCode;
  /** Follow a final symbolic link (default true; the target must be a regular file). */
  followLinks?: boolean;
}

/**
 * The bytes of a regular file of at most `maxBytes`. Opened with O_NONBLOCK (a FIFO opens at
 * once instead of waiting for a writer) and checked on the open descriptor (no race between a
 * stat and the open), so a link to /dev/zero, a FIFO, a directory or a file larger than the bound
 * is refused before anything is read. A missing file is an error with `.missing = true`.
 */
export function readRegularFile(file: string, o: ReadOptions): Buffer {
  const code = o.code ?? 'E_IO';
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NONBLOCK | (o.followLinks === false ? O_NOFOLLOW : 0));
  } catch (e) {
    const err = ioError(e, `cannot open the ${o.what} '${file}'`, code);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') (err as { missing?: boolean }).missing = true;
    throw err;
  }
  try {
    const st = io(`cannot inspect the ${o.what} '${file}'`, () => fs.fstatSync(fd));
    if (!st.isFile()) throw new ZennasError(code, `the ${o.what} '${file}' is not a regular file (it is a ${kindOf(st)}); refusing to read it`);
    if (st.size > o.maxBytes) throw new ZennasError(code, `the ${o.what} '${file}' is ${st.size} bytes, more than the ${o.maxBytes} a ${o.what} may have`);
    // The size may change while reading (and /proc files report 0): read in chunks until the end,
    // never more than the bound (+1 byte to notice a file beyond it).
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(o.maxBytes + 1 - total, Math.max(st.size - total + 1, 65536)));
      const r = io(`cannot read the ${o.what} '${file}'`, () => fs.readSync(fd, buf, 0, buf.length, total));
      if (r === 0) break;
      chunks.push(buf.subarray(0, r));
      total += r;
      if (total > o.maxBytes) throw new ZennasError(code, `the ${o.what} '${file}' grew beyond the ${o.maxBytes} bytes a ${o.what} may have while it was read`);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}

/** readRegularFile as UTF-8 text. */
export function readRegularText(file: string, o: ReadOptions): string {
  return readRegularFile(file, o).toString('utf8');
}

/**
 * Open `file` with `flags` (numeric, e.g. O_WRONLY | O_APPEND | O_CREAT), never following a final
 * symbolic link and never blocking on a FIFO, and check that it is a regular file. E_IO otherwise.
 */
export function openRegular(file: string, flags: number, what: string, mode = 0o666): number {
  const fd = io(`cannot open the ${what} '${file}'`, () => fs.openSync(file, flags | O_NONBLOCK | O_NOFOLLOW, mode));
  try {
    const st = io(`cannot inspect the ${what} '${file}'`, () => fs.fstatSync(fd));
    if (!st.isFile()) throw new ZennasError('E_IO', `the ${what} '${file}' is not a regular file (it is a ${kindOf(st)})`);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  return fd;
}

/**
 * Write all of `data` at the descriptor's position (or at `position`), looping over short writes;
 * a write that moves nothing, or fails, is E_IO naming `file`.
 */
export function writeAll(fd: number, data: Uint8Array, file: string, position?: number): void {
  for (let at = 0; at < data.length;) {
    const n = io(`cannot write '${file}'`, () => fs.writeSync(fd, data, at, data.length - at, position === undefined ? null : position + at));
    if (!(n > 0)) throw new ZennasError('E_IO', `cannot write '${file}': the write moved no bytes (${data.length - at} of ${data.length} left; is the device full?)`);
    at += n;
  }
}

/** fsync as E_IO naming the file. */
export function fsyncOrFail(fd: number, file: string): void {
  io(`cannot flush '${file}' to the device`, () => fs.fsyncSync(fd));
}
