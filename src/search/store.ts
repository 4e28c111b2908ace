import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ZennasError } from '../errors';
import { keyedError, opt } from '../util/keyed-error';
import { CandidateRecord, Member, SearchConfig, SearchState } from './types';
import { writeFileAtomic } from '../util/write-atomic';
import { fsyncOrFail, io, ioError, kindOf, lstatOrNull, openRegular, readRegularFile, readRegularText, writeAll } from '../util/files';
import { array, literal, object, parse, str } from '../util/schema';
import { REPORT_FILES } from '../report/types';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointFile, checkpointDigest, digestMismatch, encodeMember, parseCheckpoint } from './checkpoint';
import { RunLock } from './lock';

export { LOCK_FILE } from './lock';
export type { CheckpointFile } from './checkpoint';

/** File names inside a search's output directory (`outDir`); the report's names are the report's. */
export const RUN_FILES = {
  candidates: 'candidates.jsonl',
  checkpoint: 'checkpoint.json',
  best: 'best.txt',
  summary: 'summary.json',
  reportHtml: REPORT_FILES.reportHtml,
  reportMd: REPORT_FILES.reportMd,
  log: 'search.log',
  plotBestVsIteration: REPORT_FILES.plotBestVsIteration,
  plotScoreVsParams: REPORT_FILES.plotScoreVsParams,
  plotScoreVsFlops: REPORT_FILES.plotScoreVsFlops,
  plotScoreVsLatency: REPORT_FILES.plotScoreVsLatency,
  diagramBestNet: REPORT_FILES.diagramBestNet,
} as const;

/**
 * The manifest of a run directory: written before any other file of the run, it lists the files
 * the run owns. zennas writes and deletes only files a manifest names, never a file it did not
 * create (a user's own report.md in --out is refused, not replaced).
 */
export const MANIFEST_FILE = 'zennas-run.json';
const MANIFEST_FORMAT = 'zennas-search-files';

/** Largest checkpoint.json read back (below V8's longest string; ≈ 1.5M population members). */
export const MAX_CHECKPOINT_BYTES = 500 * 2 ** 20;
/** Largest candidates.jsonl read back for the report (≈ 5M candidates). */
export const MAX_CANDIDATES_BYTES = 2 ** 30;

const KNOWN_NAMES: readonly string[] = Object.values(RUN_FILES);
const O = fs.constants;

/** Canonical JSON of a config (drops undefined fields) for comparison. */
function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

/** The first config field that differs, as a sentence; null when equal. */
export function configDifference(savedIn: SearchConfig, nowIn: SearchConfig): string | null {
  // A saved Zen-score record without conv, where the config now names one, was written before the
  // option (the CLI and searchConfig always name it): it was scored by the direct convolutions.
  const zen = (c: SearchConfig) => !!c.scoring && (c.scoring.proxy === 'zen' || c.scoring.proxy === undefined);
  let saved = zen(savedIn) && zen(nowIn) && savedIn.scoring.conv === undefined && nowIn.scoring.conv !== undefined
    ? { ...savedIn, scoring: { ...savedIn.scoring, conv: 'direct' } } : savedIn;
  // Likewise a grasp record without hvpPrecision was written before the option: it ran the float32 product.
  const grasp = (c: SearchConfig) => !!c.scoring && c.scoring.proxy === 'grasp';
  if (grasp(saved) && grasp(nowIn) && saved.scoring.hvpPrecision === undefined && nowIn.scoring.hvpPrecision !== undefined) {
    saved = { ...saved, scoring: { ...saved.scoring, hvpPrecision: 'float32' } };
  }
  const now = nowIn;
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])].sort();
  for (const k of keys) {
    const a = canonical((saved as unknown as Record<string, unknown>)[k]);
    const b = canonical((now as unknown as Record<string, unknown>)[k]);
    if (a === b) continue;
    // A different proxy is named as such (not as the first scorer setting it changes).
    if (k === 'scoring') {
      const pa = canonical(saved.scoring?.proxy);
      const pb = canonical(now.scoring?.proxy);
      if (pa !== pb) return `'scoring.proxy' was ${pa ?? 'unset'} in the checkpoint but is ${pb ?? 'unset'} now`;
    }
    return `'${k}' was ${a ?? 'unset'} in the checkpoint but is ${b ?? 'unset'} now`;
  }
  return null;
}

/**
 * Read and validate `dir`/checkpoint.json (bounded, regular file only, full schema; see
 * ./checkpoint): E_CHECKPOINT naming the field, or naming `resume` when there is none.
 */
export function readCheckpoint(dir: string): CheckpointFile {
  const cpPath = path.join(dir, RUN_FILES.checkpoint);
  let text: string;
  try {
    text = readRegularText(cpPath, { maxBytes: MAX_CHECKPOINT_BYTES, what: 'checkpoint', code: 'E_CHECKPOINT' });
  } catch (e) {
    if ((e as { missing?: boolean }).missing) throw keyedError('E_CHECKPOINT')`${opt('resume')}: no ${RUN_FILES.checkpoint} in '${dir}'; nothing to resume (run without ${opt('resume')} to start)`;
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ZennasError('E_CHECKPOINT', `${cpPath} is corrupt (not valid JSON: ${(e as Error).message}); files left untouched`);
  }
  return parseCheckpoint(raw, cpPath);
}

interface Manifest { format: string; files: string[]; createdAt: string }

const manifestSchema = object({
  format: literal(MANIFEST_FORMAT),
  files: array(str(64), 64),
  createdAt: str(64),
});

/** The manifest of `dir`, or null when it has none. E_IO when it is unreadable or not ours. */
function readManifest(dir: string): Manifest | null {
  const file = path.join(dir, MANIFEST_FILE);
  if (!lstatOrNull(file)) return null;
  const text = readRegularText(file, { maxBytes: 64 * 1024, what: 'run manifest', followLinks: false });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ZennasError('E_IO', `${file} is corrupt (not valid JSON); it should list the files of the search in '${dir}'`);
  }
  const m = parse(manifestSchema, raw, 'E_IO', { prefix: `${file}: ` });
  for (const f of m.files) if (!KNOWN_NAMES.includes(f)) throw new ZennasError('E_IO', `${file} lists '${f}', which is not a file of a search; refusing to trust it`);
  return m;
}

function writeManifest(dir: string): void {
  const m: Manifest = { format: MANIFEST_FORMAT, files: [...KNOWN_NAMES], createdAt: new Date().toISOString() };
  writeFileAtomic(path.join(dir, MANIFEST_FILE), JSON.stringify(m, null, 2) + '\n');
}

/** Make `dir` (and its parents); E_IO naming `outDir` when it cannot be, or is not a directory. */
function ensureDir(dir: string): void {
  // An existing non-directory is named as such (mkdir would only say EEXIST).
  const pre = lstatOrNull(dir);
  if (pre && !pre.isDirectory() && !(pre.isSymbolicLink() && fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory())) {
    throw keyedError('E_IO')`${opt('outDir')}: '${dir}' is a ${kindOf(pre)}, not a folder: choose a folder (it is created when missing)`;
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw keyedError('E_IO')`${opt('outDir')}: cannot create '${dir}': ${ioError(e, 'mkdir').message.replace(/^mkdir: /, '')}`;
  }
  const st = io(`cannot inspect '${dir}'`, () => fs.statSync(dir));
  if (!st.isDirectory()) throw keyedError('E_IO')`${opt('outDir')}: '${dir}' is a ${kindOf(st)}, not a directory`;
}

/** Options of RunStore.resume. */
export interface ResumeOptions {
  /**
   * Checks one stored population member (or the best) against the search space: throws when its
   * structure is not one the run could have produced (undecodable, counts that differ, over budget).
   */
  checkMember?: (m: Member) => void;
}

/**
 * The files of one search run: candidates.jsonl is appended per batch, checkpoint.json is
 * replaced atomically and records how many bytes of the JSONL (and their SHA-256) it covers,
 * so a resume can cut the JSONL back to exactly the checkpointed candidates. The directory is
 * locked (zennas.lock) from opening to close(), and only the files of the manifest
 * (zennas-run.json) are ever written or deleted.
 */
export class RunStore {
  readonly dir: string;
  private fd: number;
  private hash: crypto.Hash;
  private bytes: number;
  private lines: number;
  private readonly lock: RunLock;
  /** Set when an append failed: nothing after it may be checkpointed. */
  private broken: ZennasError | null = null;

  private constructor(dir: string, fd: number, hash: crypto.Hash, bytes: number, lines: number, lock: RunLock) {
    this.dir = dir;
    this.fd = fd;
    this.hash = hash;
    this.bytes = bytes;
    this.lines = lines;
    this.lock = lock;
  }

  /** Path of a run file. */
  file(name: keyof typeof RUN_FILES): string {
    return path.join(this.dir, RUN_FILES[name]);
  }

  /**
   * Start a fresh run in `dir`. A directory that already holds a search is refused, unless
   * `overwrite`: then the files its manifest names (nothing else) are deleted first. A file of a
   * run's name that no manifest claims (the user's own report.md) is never replaced: refused.
   * Errors name the options `outDir`, `resume` and `overwrite`.
   */
  static create(dir: string, opts: { overwrite?: boolean } = {}): RunStore {
    ensureDir(dir);
    const lock = RunLock.acquire(dir);
    try {
      const present = (f: string) => lstatOrNull(path.join(dir, f)) !== null;
      const manifest = readManifest(dir);
      if (opts.overwrite && manifest) {
        for (const f of manifest.files) {
          const p = path.join(dir, f);
          const st = lstatOrNull(p);
          if (!st) continue;
          if (st.isDirectory()) throw keyedError('E_IO')`${opt('overwrite')}: '${p}' is a directory; not deleting it`;
          io(`cannot delete '${p}'`, () => fs.unlinkSync(p));
        }
        io(`cannot delete '${path.join(dir, MANIFEST_FILE)}'`, () => fs.unlinkSync(path.join(dir, MANIFEST_FILE)));
      }
      const search = [RUN_FILES.checkpoint, RUN_FILES.candidates, MANIFEST_FILE].filter(present);
      if (search.length && !opts.overwrite) {
        throw keyedError('E_OPTION')`${opt('outDir')}: '${dir}' already holds a search (${search[0]}); pass ${opt('resume')} to continue it, ${opt('overwrite')} to start it afresh, or choose another directory`;
      }
      const foreign = KNOWN_NAMES.filter(present);
      if (foreign.length) {
        throw opts.overwrite
          ? keyedError('E_OPTION')`${opt('overwrite')}: '${dir}' has ${foreign.join(', ')} but no ${MANIFEST_FILE} saying they belong to a zennas search; zennas deletes only files a search of its own created: remove them yourself or choose another ${opt('outDir')}`
          : keyedError('E_OPTION')`${opt('outDir')}: '${dir}' already has ${foreign.join(', ')}, which a search would write, and no ${MANIFEST_FILE} says they belong to a search; zennas never replaces files it did not create: move them or choose another ${opt('outDir')}`;
      }
      writeManifest(dir);
      const fd = openRegular(path.join(dir, RUN_FILES.candidates), O.O_WRONLY | O.O_CREAT | O.O_EXCL, 'candidates file');
      return new RunStore(dir, fd, crypto.createHash('sha256'), 0, 0, lock);
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /**
   * Open `dir` for resuming with `config`. Every check runs before any file is touched: a
   * missing, corrupt or mismatched checkpoint (any field, see ./checkpoint), a population member
   * `checkMember` rejects, or a candidates.jsonl that is not the one the checkpoint covers is an
   * E_CHECKPOINT error and leaves the files as they were.
   */
  static resume(dir: string, config: SearchConfig, opts: ResumeOptions = {}): { store: RunStore; state: SearchState } {
    const cpPath = path.join(dir, RUN_FILES.checkpoint);
    const jsonlPath = path.join(dir, RUN_FILES.candidates);
    const dst = lstatOrNull(dir);
    if (!dst || !lstatOrNull(cpPath)) throw keyedError('E_CHECKPOINT')`${opt('resume')}: no ${RUN_FILES.checkpoint} in '${dir}'; nothing to resume (run without ${opt('resume')} to start)`;
    const lock = RunLock.acquire(dir);
    let fd: number | undefined;
    try {
      const cp = readCheckpoint(dir);
      // More (or fewer, but not fewer than done) iterations continue the same run: the loop picks up
      // at the saved iteration. With rho 'paper' the remaining iterations follow the new T's schedule.
      if (config.iterations !== cp.config.iterations && config.iterations < cp.state.iteration) {
        throw keyedError('E_CHECKPOINT')`${cpPath}: the run has done ${cp.state.iteration} iterations; ${opt('iterations')} ${config.iterations} would undo some: give at least ${cp.state.iteration}, or leave it out`;
      }
      const diff = configDifference({ ...cp.config, iterations: config.iterations }, config);
      if (diff) throw keyedError('E_CHECKPOINT')`${cpPath} belongs to a different search: ${diff}; resume with the same settings or use another ${opt('outDir')}`;
      if (!readManifest(dir)) {
        throw new ZennasError('E_CHECKPOINT', `'${dir}' has a checkpoint but no ${MANIFEST_FILE} listing the run's files (was the directory copied in part?); files left untouched`);
      }
      const s = cp.state;
      if (opts.checkMember) {
        const check = (m: Member, where: string) => {
          try {
            opts.checkMember!(m);
          } catch (e) {
            throw new ZennasError('E_CHECKPOINT', `${cpPath}: ${where} (iteration ${m.iteration}) is not a member this search could hold: ${(e as Error).message}; files left untouched`);
          }
        };
        s.population.forEach((m, i) => check(m, `state.population[${i}]`));
        if (s.best) check(s.best, 'state.best');
      }
      const c = cp.candidates;
      if (!lstatOrNull(jsonlPath)) throw new ZennasError('E_CHECKPOINT', `${jsonlPath} is missing but the checkpoint covers ${c.lines} candidates`);
      fd = openRegular(jsonlPath, O.O_RDWR, 'candidates file');
      const size = io(`cannot inspect '${jsonlPath}'`, () => fs.fstatSync(fd!).size);
      if (size < c.bytes) throw new ZennasError('E_CHECKPOINT', `${jsonlPath} has ${size} bytes but the checkpoint covers ${c.bytes}: the file was truncated or replaced`);
      const hash = crypto.createHash('sha256');
      const buf = Buffer.alloc(1 << 20);
      let newlines = 0;
      let lastByte = -1;
      for (let pos = 0; pos < c.bytes;) {
        const n = io(`cannot read '${jsonlPath}'`, () => fs.readSync(fd!, buf, 0, Math.min(buf.length, c.bytes - pos), pos));
        if (n <= 0) throw new ZennasError('E_CHECKPOINT', `${jsonlPath} ended at byte ${pos} while reading the ${c.bytes} the checkpoint covers`);
        const chunk = buf.subarray(0, n);
        hash.update(chunk);
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
        lastByte = chunk[n - 1]!;
        pos += n;
      }
      if (hash.copy().digest('hex') !== c.sha256) {
        throw new ZennasError('E_CHECKPOINT', `${jsonlPath} does not match the checkpoint (its first ${c.bytes} bytes changed); files left untouched`);
      }
      if (newlines !== c.lines || (c.bytes > 0 && lastByte !== 10)) {
        throw new ZennasError('E_CHECKPOINT', `${cpPath}: candidates.lines is ${c.lines} but the ${c.bytes} bytes it covers hold ${newlines} complete lines; files left untouched`);
      }
      if (!cp.digestMatches) throw digestMismatch(cpPath);
      // All checks passed: drop candidates written after the checkpoint (they are recomputed).
      if (size > c.bytes) io(`cannot truncate '${jsonlPath}'`, () => fs.ftruncateSync(fd!, c.bytes));
      const store = new RunStore(dir, fd, hash, c.bytes, c.lines, lock);
      // search.log is a log, not data: it keeps what happened after the checkpoint and says so here.
      try {
        store.log(`resumed from the checkpoint at iteration ${s.iteration} (${c.lines} candidates kept, ${size - c.bytes} bytes of later candidates dropped and recomputed); log lines above this one that are newer than the checkpoint describe work that is redone`);
      } catch { /* the log is best effort; the run's data is intact */ }
      return { store, state: s };
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      lock.release();
      throw e;
    }
  }

  /**
   * Append candidate records (one JSON line each) after the bytes written so far, looping over
   * short writes. A failed write is E_IO naming the file; the store then refuses to checkpoint
   * (the last checkpoint stays the one a resume continues from).
   */
  appendCandidates(records: CandidateRecord[]): void {
    if (this.broken) throw this.broken;
    if (records.length === 0) return;
    const buf = Buffer.from(records.map((r) => JSON.stringify(r)).join('\n') + '\n', 'utf8');
    try {
      writeAll(this.fd, buf, this.file('candidates'), this.bytes);
    } catch (e) {
      this.broken = ioError(e, `cannot write '${this.file('candidates')}'`);
      throw this.broken;
    }
    this.hash.update(buf);
    this.bytes += buf.length;
    this.lines += records.length;
  }

  /** Replace checkpoint.json atomically with `state`, after the candidates it covers reached the device. */
  writeCheckpoint(config: SearchConfig, state: SearchState): void {
    if (this.broken) throw this.broken;
    const stored = { ...state, population: state.population.map(encodeMember), best: state.best ? encodeMember(state.best) : null };
    const candidates = { bytes: this.bytes, lines: this.lines, sha256: this.hash.copy().digest('hex') };
    const cp = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      config,
      state: stored,
      candidates,
      digest: checkpointDigest(config, stored, candidates),
      writtenAt: new Date().toISOString(),
    };
    fsyncOrFail(this.fd, this.file('candidates'));
    writeFileAtomic(this.file('checkpoint'), JSON.stringify(cp) + '\n');
  }

  /** Append a line to search.log (failed scorings and other notes). */
  log(line: string): void {
    const file = this.file('log');
    const fd = openRegular(file, O.O_WRONLY | O.O_APPEND | O.O_CREAT, 'log');
    try {
      writeAll(fd, Buffer.from(`${new Date().toISOString()} ${line}\n`, 'utf8'), file);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** All candidate records written so far. */
  readCandidates(): CandidateRecord[] {
    return readCandidatesFile(this.file('candidates'));
  }

  /** Close the JSONL file and release the directory's lock. */
  close(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    this.lock.release();
  }
}

/** Read a candidates.jsonl file (bounded; a trailing partial line and unparsable lines are ignored). */
export function readCandidatesFile(file: string): CandidateRecord[] {
  const buf = readRegularFile(file, { maxBytes: MAX_CANDIDATES_BYTES, what: 'candidates file' });
  const out: CandidateRecord[] = [];
  // Line by line from the bytes: no single string of the whole file (V8 caps strings at 512 MiB).
  for (let start = 0; start < buf.length;) {
    let end = buf.indexOf(10, start);
    if (end === -1) end = buf.length;
    const line = buf.toString('utf8', start, end);
    start = end + 1;
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as CandidateRecord;
      if (r && typeof r === 'object' && typeof r.iteration === 'number') out.push(r);
    } catch {
      /* partial last line of a killed run */
    }
  }
  return out;
}
