import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ZennasError } from '../errors';
import { ioError, readRegularText } from '../util/files';

/** The lock file of a run directory: created exclusively, removed when the run ends. */
export const LOCK_FILE = 'zennas.lock';

interface LockInfo {
  pid: number;
  host: string;
  /** The holder's start time as /proc/<pid>/stat gives it (Linux), to tell a reused pid apart. */
  procStart: string | null;
  startedAt: string;
  token: string;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); null where there is no /proc. */
function procStart(pid: number): string | null {
  try {
    const stat = readRegularText(`/proc/${pid}/stat`, { maxBytes: 4096, what: 'process status' });
    // The command name (field 2) is in parentheses and may contain spaces: count after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

/** Is the holder of a lock still running? Unknown (another host, no permission to ask): yes. */
function holderAlive(info: Partial<LockInfo>): boolean {
  if (typeof info.pid !== 'number' || !Number.isInteger(info.pid) || info.pid <= 0) return false;
  if (info.host !== os.hostname()) return true;
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    return true; // EPERM: alive, someone else's
  }
  if (typeof info.procStart === 'string') {
    const now = procStart(info.pid);
    if (now !== null && now !== info.procStart) return false; // the pid was reused by another process
  }
  return true;
}

/**
 * An exclusive lock on a run directory: `zennas.lock` created with O_EXCL, holding the pid, host
 * and start time of its holder. A lock whose holder is gone (same host, pid not running, or the pid
 * reused by a later process) is stale and taken over; any other is refused with E_IO naming the
 * holder. Two searches (processes, or two runs in one process) never write one directory at once.
 */
export class RunLock {
  private released = false;

  private constructor(readonly file: string, private readonly token: string, private readonly ino: number) {}

  /** Take the lock of `dir` (which must exist). */
  static acquire(dir: string): RunLock {
    const file = path.join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < 3; attempt++) {
      const token = crypto.randomBytes(8).toString('hex');
      const info: LockInfo = { pid: process.pid, host: os.hostname(), procStart: procStart(process.pid), startedAt: new Date().toISOString(), token };
      let fd: number;
      try {
        fd = fs.openSync(file, 'wx', 0o644);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(e, `cannot create the lock file '${file}'`);
        RunLock.removeIfStale(file);
        continue;
      }
      try {
        fs.writeFileSync(fd, JSON.stringify(info) + '\n');
        const ino = fs.fstatSync(fd).ino;
        fs.closeSync(fd);
        return new RunLock(file, token, ino);
      } catch (e) {
        try { fs.closeSync(fd); } catch { /* closed */ }
        fs.rmSync(file, { force: true });
        throw ioError(e, `cannot write the lock file '${file}'`);
      }
    }
    throw new ZennasError('E_IO', `cannot take the lock '${file}': it keeps reappearing (another zennas search is starting in '${dir}')`);
  }

  /** Remove a stale lock; throw E_IO naming the holder when it is alive. */
  private static removeIfStale(file: string): void {
    let st: fs.Stats;
    let info: Partial<LockInfo> = {};
    try {
      st = fs.lstatSync(file);
    } catch {
      return; // gone meanwhile: try again
    }
    if (!st.isFile()) throw new ZennasError('E_IO', `'${file}' is not a lock file of zennas (it is not a regular file); remove it to use this directory`);
    try {
      info = JSON.parse(readRegularText(file, { maxBytes: 4096, what: 'lock file', followLinks: false })) as Partial<LockInfo>;
    } catch {
      info = {};
    }
    if (!info || typeof info !== 'object' || typeof info.pid !== 'number' || typeof info.host !== 'string' || typeof info.token !== 'string') {
      // Being written by a search that is starting right now, or not a lock of ours: never deleted.
      throw new ZennasError('E_IO', Date.now() - st.mtimeMs < 10_000
        ? `'${path.dirname(file)}' is in use by a search that is just starting (its lock '${file}' is being written); wait for it, or delete the lock if no search is running there`
        : `'${file}' is not a lock file zennas can read; if no search is running in '${path.dirname(file)}', delete it`);
    }
    if (info && typeof info === 'object' && holderAlive(info)) {
      const who = info.pid === process.pid && info.host === os.hostname() ? 'another search in this process' : `process ${info.pid} on ${info.host}`;
      throw new ZennasError('E_IO',
        `'${path.dirname(file)}' is in use by ${who}${info.startedAt ? ` (since ${info.startedAt})` : ''}: two searches cannot write one directory at once. ` +
        `Wait for it to finish; if no search is running there, delete '${file}'`);
    }
    // Stale: remove it, unless it was replaced meanwhile by a live holder's new lock.
    try {
      if (fs.lstatSync(file).ino === st.ino) fs.unlinkSync(file);
    } catch { /* gone meanwhile */ }
  }

  /** Release the lock (idempotent); only ever removes this lock's own file. */
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      const st = fs.lstatSync(this.file);
      if (st.ino !== this.ino) return;
      const info = JSON.parse(readRegularText(this.file, { maxBytes: 4096, what: 'lock file', followLinks: false })) as Partial<LockInfo>;
      if (info.token === this.token) fs.unlinkSync(this.file);
    } catch { /* already gone */ }
  }
}
