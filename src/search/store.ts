import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ZennasError } from '../errors';
import { keyedError, opt } from '../util/keyed-error';
import { CandidateRecord, Member, SearchConfig, SearchState } from './types';
import { writeFileAtomic } from '../util/write-atomic';
import { REPORT_FILES } from '../report/types';

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
} as const;

const FORMAT = 'zennas-search-checkpoint';
const VERSION = 1;

interface CheckpointFile {
  format: string;
  version: number;
  config: SearchConfig;
  state: SearchState;
  candidates: { bytes: number; lines: number; sha256: string };
  writtenAt: string;
}

// −∞ (failed scoring) is not JSON: it is stored as null and restored on load.
function encodeMember(m: Member): unknown {
  return { ...m, score: Number.isFinite(m.score) ? m.score : null };
}
function decodeMember(x: unknown, where: string): Member {
  const m = x as Record<string, unknown>;
  const num = (k: string) => {
    if (typeof m?.[k] !== 'number' || !Number.isFinite(m[k])) throw new ZennasError('E_CHECKPOINT', `${where}: field '${k}' is missing or not a number`);
    return m[k] as number;
  };
  if (typeof m?.structure !== 'string') throw new ZennasError('E_CHECKPOINT', `${where}: field 'structure' is missing`);
  const score = m.score === null ? -Infinity : num('score');
  const out: Member = { iteration: num('iteration'), structure: m.structure, score, params: num('params'), flops: num('flops'), layers: num('layers') };
  if (m.latencyMs !== undefined) out.latencyMs = num('latencyMs');
  return out;
}

/** Canonical JSON of a config (drops undefined fields) for comparison. */
function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

/** The first config field that differs, as a sentence; null when equal. */
export function configDifference(saved: SearchConfig, now: SearchConfig): string | null {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])].sort();
  for (const k of keys) {
    const a = canonical((saved as unknown as Record<string, unknown>)[k]);
    const b = canonical((now as unknown as Record<string, unknown>)[k]);
    if (a !== b) return `'${k}' was ${a ?? 'unset'} in the checkpoint but is ${b ?? 'unset'} now`;
  }
  return null;
}


/**
 * The files of one search run: candidates.jsonl is appended per batch, checkpoint.json is
 * replaced atomically and records how many bytes of the JSONL (and their SHA-256) it covers,
 * so a resume can cut the JSONL back to exactly the checkpointed candidates.
 */
export class RunStore {
  readonly dir: string;
  private fd: number;
  private hash: crypto.Hash;
  private bytes: number;
  private lines: number;

  private constructor(dir: string, fd: number, hash: crypto.Hash, bytes: number, lines: number) {
    this.dir = dir;
    this.fd = fd;
    this.hash = hash;
    this.bytes = bytes;
    this.lines = lines;
  }

  /** Path of a run file. */
  file(name: keyof typeof RUN_FILES): string {
    return path.join(this.dir, RUN_FILES[name]);
  }

  /**
   * Start a fresh run in `dir`. A directory that already holds a search is refused, unless
   * `overwrite`: then that search's own files (RUN_FILES, nothing else) are deleted first.
   * Errors name the options `outDir`, `resume` and `overwrite`.
   */
  static create(dir: string, opts: { overwrite?: boolean } = {}): RunStore {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw keyedError('E_IO')`${opt('outDir')}: cannot create '${dir}': ${(e as Error).message}`;
    }
    if (opts.overwrite) {
      for (const f of Object.values(RUN_FILES)) fs.rmSync(path.join(dir, f), { force: true });
    }
    for (const f of [RUN_FILES.checkpoint, RUN_FILES.candidates]) {
      if (fs.existsSync(path.join(dir, f))) {
        throw keyedError('E_OPTION')`${opt('outDir')}: '${dir}' already holds a search (${f}); pass ${opt('resume')} to continue it, ${opt('overwrite')} to start it afresh, or choose another directory`;
      }
    }
    const fd = fs.openSync(path.join(dir, RUN_FILES.candidates), 'a');
    return new RunStore(dir, fd, crypto.createHash('sha256'), 0, 0);
  }

  /**
   * Open `dir` for resuming with `config`. Every check runs before any file is touched: a
   * missing, corrupt or mismatched checkpoint is an E_CHECKPOINT error and leaves the files as they were.
   */
  static resume(dir: string, config: SearchConfig): { store: RunStore; state: SearchState } {
    const cpPath = path.join(dir, RUN_FILES.checkpoint);
    const jsonlPath = path.join(dir, RUN_FILES.candidates);
    if (!fs.existsSync(cpPath)) throw keyedError('E_CHECKPOINT')`${opt('resume')}: no ${RUN_FILES.checkpoint} in '${dir}'; nothing to resume (run without ${opt('resume')} to start)`;
    let cp: CheckpointFile;
    try {
      cp = JSON.parse(fs.readFileSync(cpPath, 'utf8')) as CheckpointFile;
    } catch (e) {
      throw new ZennasError('E_CHECKPOINT', `${cpPath} is corrupt (not valid JSON: ${(e as Error).message}); files left untouched`);
    }
    if (!cp || typeof cp !== 'object' || cp.format !== FORMAT) throw new ZennasError('E_CHECKPOINT', `${cpPath} is not a zennas search checkpoint (format '${String((cp as { format?: unknown })?.format)}')`);
    if (cp.version !== VERSION) throw new ZennasError('E_CHECKPOINT', `${cpPath} has version ${cp.version}; this zennas reads version ${VERSION}`);
    const s = cp.state as SearchState | undefined;
    const c = cp.candidates;
    if (!cp.config || !s || !c || typeof c.bytes !== 'number' || typeof c.sha256 !== 'string' || typeof s.iteration !== 'number' ||
        !Array.isArray(s.prng) || s.prng.length !== 4 || !Array.isArray(s.population) || !s.counts || !s.timing) {
      throw new ZennasError('E_CHECKPOINT', `${cpPath} is incomplete (missing config, state, PRNG state, population or candidate index)`);
    }
    const diff = configDifference(cp.config, config);
    if (diff) throw keyedError('E_CHECKPOINT')`${cpPath} belongs to a different search: ${diff}; resume with the same settings or use another ${opt('outDir')}`;
    const population = s.population.map((m, i) => decodeMember(m, `${cpPath}: population[${i}]`));
    const best = s.best ? decodeMember(s.best, `${cpPath}: best`) : null;
    if (!fs.existsSync(jsonlPath)) throw new ZennasError('E_CHECKPOINT', `${jsonlPath} is missing but the checkpoint covers ${c.lines} candidates`);
    const size = fs.statSync(jsonlPath).size;
    if (size < c.bytes) throw new ZennasError('E_CHECKPOINT', `${jsonlPath} has ${size} bytes but the checkpoint covers ${c.bytes}: the file was truncated or replaced`);
    const hash = crypto.createHash('sha256');
    const fd = fs.openSync(jsonlPath, 'r+');
    try {
      const buf = Buffer.alloc(1 << 20);
      for (let pos = 0; pos < c.bytes;) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, c.bytes - pos), pos);
        if (n <= 0) break;
        hash.update(buf.subarray(0, n));
        pos += n;
      }
      if (hash.copy().digest('hex') !== c.sha256) {
        throw new ZennasError('E_CHECKPOINT', `${jsonlPath} does not match the checkpoint (its first ${c.bytes} bytes changed); files left untouched`);
      }
      // All checks passed: drop candidates written after the checkpoint (they are recomputed).
      fs.ftruncateSync(fd, c.bytes);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    fs.closeSync(fd);
    const afd = fs.openSync(jsonlPath, 'a');
    const state: SearchState = { ...s, population, best };
    const store = new RunStore(dir, afd, hash, c.bytes, c.lines);
    // search.log is a log, not data: it keeps what happened after the checkpoint and says so here.
    try {
      store.log(`resumed from the checkpoint at iteration ${s.iteration} (${c.lines} candidates kept, ${size - c.bytes} bytes of later candidates dropped and recomputed); log lines above this one that are newer than the checkpoint describe work that is redone`);
    } catch { /* the log is best effort; the run's data is intact */ }
    return { store, state };
  }

  /** Append candidate records (one JSON line each). */
  appendCandidates(records: CandidateRecord[]): void {
    if (records.length === 0) return;
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const buf = Buffer.from(text, 'utf8');
    fs.writeSync(this.fd, buf);
    this.hash.update(buf);
    this.bytes += buf.length;
    this.lines += records.length;
  }

  /** Replace checkpoint.json atomically with `state`. */
  writeCheckpoint(config: SearchConfig, state: SearchState): void {
    const cp = {
      format: FORMAT,
      version: VERSION,
      config,
      state: { ...state, population: state.population.map(encodeMember), best: state.best ? encodeMember(state.best) : null },
      candidates: { bytes: this.bytes, lines: this.lines, sha256: this.hash.copy().digest('hex') },
      writtenAt: new Date().toISOString(),
    };
    fs.fsyncSync(this.fd);
    writeFileAtomic(this.file('checkpoint'), JSON.stringify(cp) + '\n');
  }

  /** Append a line to search.log (failed scorings and other notes). */
  log(line: string): void {
    fs.appendFileSync(this.file('log'), `${new Date().toISOString()} ${line}\n`);
  }

  /** All candidate records written so far. */
  readCandidates(): CandidateRecord[] {
    return readCandidatesFile(this.file('candidates'));
  }

  /** Close the JSONL file. */
  close(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}

/** Read a candidates.jsonl file (a trailing partial line is ignored). */
export function readCandidatesFile(file: string): CandidateRecord[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: CandidateRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as CandidateRecord);
    } catch {
      /* partial last line of a killed run */
    }
  }
  return out;
}
