import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ZennasError } from '../errors';
import { ioError, writeAll } from './files';

/**
 * Write a file atomically: a temporary file beside it, fsync, then rename, so a reader (or a crash)
 * never sees half of it. The temporary file is created exclusively (O_EXCL: never an existing file
 * or link of someone else's) and removed when writing fails. Every failure is a ZennasError('E_IO')
 * naming `file` (ENOSPC, EROFS, EACCES, … in words). The rename replaces the directory entry: a
 * symbolic link at `file` is replaced, not written through; callers check what they may replace.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  let created = false;
  try {
    const fd = fs.openSync(tmp, 'wx', 0o666);
    created = true;
    try {
      // One write(2) moves at most ~2 GiB and may move less: loop until every byte is out.
      writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, file);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    syncDir(path.dirname(file));
  } catch (e) {
    if (created) fs.rmSync(tmp, { force: true });
    if (e instanceof ZennasError) throw e;
    throw ioError(e, `cannot write '${file}'`);
  }
}

/** fsync a directory so a rename in it survives a crash; best effort (not every file system allows it). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    fs.fsyncSync(fd);
  } catch {
    /* the data itself is synced; the entry will be on most file systems */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
