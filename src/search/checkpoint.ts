/**
 * The schema of checkpoint.json and of a SearchConfig. A checkpoint is read back only once every
 * field has the type, range and cross-field consistency the loop would have written (any mismatch
 * is E_CHECKPOINT naming the field), so a resumed run can neither diverge, nor crash halfway, nor
 * truncate candidates.jsonl on the word of a damaged or hand-edited file.
 */
import * as crypto from 'crypto';
import { ZennasError } from '../errors';
import { LIMITS } from '../grammar/limits';
import {
  array, bool, Check, int, literal, nullable, num, object, oneOf, optional, parse, record, str,
} from '../util/schema';
import { Member, SearchConfig, SearchState } from './types';

export const CHECKPOINT_FORMAT = 'zennas-search-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** Longest genotype key (a structure string) a checkpoint may hold. */
const MAX_KEY = LIMITS.maxTextLength;
const COUNT = int(0, Number.MAX_SAFE_INTEGER);
const SHA256 = str(64, /^[0-9a-f]{64}$/, 'a SHA-256 digest (64 hex digits)');

/**
 * A SearchConfig's shape: every field present with its type (ranges are checkSearchConfig's, which
 * names them as options), no unknown field; returns a plain copy (each field read once).
 */
export const searchConfigSchema: Check<SearchConfig> = object({
  space: str(64),
  preset: str(64),
  initial: str(MAX_KEY),
  resolution: num(),
  numClasses: num(),
  se: bool,
  budgets: object({ params: optional(num(0)), flops: optional(num(0)), layers: optional(num(0)), latencyMs: optional(num(0)) }),
  population: num(),
  iterations: num(),
  seed: num(),
  inFlight: num(),
  rho: oneOf<'paper' | number>(literal('paper'), num()),
  scoring: record(oneOf<string | number | boolean>(str(1000), num(), bool), 64),
  algorithm: optional(literal('zen-nas', 'xi-gsnr-evolution')),
}) as Check<SearchConfig>;

/** A member as stored: −∞ scores as null. */
function memberSchema(maxIteration: number) {
  return object({
    iteration: int(1, Math.max(1, maxIteration)),
    structure: str(MAX_KEY),
    score: nullable(num()),
    params: num(0),
    flops: num(0),
    layers: num(0),
    latencyMs: optional(num(0)),
  });
}

/** checkpoint.json as written by RunStore.writeCheckpoint. */
export interface CheckpointFile {
  format: string;
  version: number;
  config: SearchConfig;
  state: SearchState;
  candidates: { bytes: number; lines: number; sha256: string };
  /** SHA-256 of JSON.stringify([config, state, candidates]) as stored: any later edit is detected. */
  digest: string;
  writtenAt: string;
  /** Whether `digest` matches the content (RunStore.resume refuses otherwise, after the field checks). */
  digestMatches: boolean;
}

/**
 * The digest of a checkpoint's content, over the values as stored (−∞ as null). A checkpoint
 * that passes every schema check but was edited (a PRNG word, a score) would otherwise resume
 * into a different search without a word; with it, any edit is refused.
 */
export function checkpointDigest(config: unknown, state: unknown, candidates: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify([config, state, candidates])).digest('hex');
}

function decodeMember(m: { score: number | null } & Omit<Member, 'score'>): Member {
  const out: Member = { iteration: m.iteration, structure: m.structure, score: m.score === null ? -Infinity : m.score, params: m.params, flops: m.flops, layers: m.layers };
  if (m.latencyMs !== undefined) out.latencyMs = m.latencyMs;
  return out;
}

/** A member as stored (−∞ → null). */
export function encodeMember(m: Member): unknown {
  return { ...m, score: Number.isFinite(m.score) ? m.score : null };
}

/**
 * Validate a parsed checkpoint.json completely: format and version, the config's shape, every
 * state field (types, ranges against the config: iteration ≤ iterations, population ≤ its limit,
 * PRNG words uint32), and the invariants the loop keeps (proposals = iterations = scored +
 * rejected + invalid, scored = candidate lines, population in iteration order, best ≥ every
 * member). Throws E_CHECKPOINT "`file`: field …"; returns a plain copy with −∞ scores restored.
 */
export function parseCheckpoint(raw: unknown, file: string): CheckpointFile {
  const prefix = `${file}: `;
  const bad = (msg: string): never => {
    throw new ZennasError('E_CHECKPOINT', `${prefix}${msg}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || (raw as { format?: unknown }).format !== CHECKPOINT_FORMAT) {
    throw new ZennasError('E_CHECKPOINT', `${file} is not a zennas search checkpoint (format ${JSON.stringify((raw as { format?: unknown })?.format) ?? 'missing'})`);
  }
  const version = (raw as { version?: unknown }).version;
  if (version !== CHECKPOINT_VERSION) bad(`version ${JSON.stringify(version) ?? 'missing'}; this zennas reads version ${CHECKPOINT_VERSION}`);
  const top = parse(object({
    format: literal(CHECKPOINT_FORMAT), version: literal(CHECKPOINT_VERSION),
    config: searchConfigSchema,
    state: (v) => v, // checked below, against the config
    candidates: object({ bytes: COUNT, lines: COUNT, sha256: SHA256 }),
    digest: SHA256,
    writtenAt: str(64),
  }), raw, 'E_CHECKPOINT', { prefix });
  const c = top.config;
  const T = Number.isSafeInteger(c.iterations) && c.iterations >= 0 ? c.iterations : 0;
  const P = Number.isSafeInteger(c.population) && c.population >= 0 ? c.population : 0;
  const member = memberSchema(T);
  const s = parse(object({
    iteration: int(0, T),
    prng: array(int(0, 0xffffffff), 4, 4),
    population: array(member, P),
    best: nullable(member),
    counts: object({
      proposed: COUNT, scored: COUNT, failed: COUNT, invalid: COUNT,
      rejected: object({ params: COUNT, flops: COUNT, layers: COUNT, latency: COUNT }),
    }),
    timing: object({ wallSeconds: num(0), tsSeconds: num(0), engineSeconds: num(0), latencySeconds: num(0) }),
  }), top.state, 'E_CHECKPOINT', { prefix, path: 'state' });

  // The loop's invariants.
  const k = s.counts;
  const rejected = k.rejected.params + k.rejected.flops + k.rejected.layers + k.rejected.latency;
  if (k.proposed !== s.iteration) bad(`state.counts.proposed is ${k.proposed} but state.iteration is ${s.iteration} (every iteration proposes one child)`);
  if (k.scored + k.invalid + rejected !== k.proposed) bad(`state.counts do not add up: scored ${k.scored} + invalid ${k.invalid} + rejected ${rejected} ≠ proposed ${k.proposed}`);
  if (k.failed > k.scored) bad(`state.counts.failed (${k.failed}) exceeds state.counts.scored (${k.scored})`);
  const cand = top.candidates;
  if (cand.lines !== k.scored) bad(`candidates.lines is ${cand.lines} but state.counts.scored is ${k.scored} (one line per scored candidate)`);
  if ((cand.bytes === 0) !== (cand.lines === 0)) bad(`candidates.bytes (${cand.bytes}) and candidates.lines (${cand.lines}) disagree`);
  if (cand.bytes < cand.lines) bad(`candidates.bytes (${cand.bytes}) is less than one byte per line (${cand.lines} lines)`);
  if (s.population.length > k.scored) bad(`state.population has ${s.population.length} members but only ${k.scored} candidates were scored`);
  let last = 0;
  let failedMembers = 0;
  s.population.forEach((m, i) => {
    if (m.iteration <= last) bad(`state.population[${i}].iteration ${m.iteration} is not after the member before it (${last}): members are kept in iteration order`);
    if (m.iteration > s.iteration) bad(`state.population[${i}].iteration ${m.iteration} is beyond state.iteration ${s.iteration}`);
    last = m.iteration;
    if (m.score === null) failedMembers++;
  });
  if (failedMembers > k.failed) bad(`state.population holds ${failedMembers} failed members but state.counts.failed is ${k.failed}`);
  const best = s.best;
  const finiteScores = s.population.map((m) => m.score).filter((x): x is number => x !== null);
  if (best === null) {
    if (finiteScores.length) bad('state.best is null but the population has scored members');
  } else {
    if (best.score === null) bad('state.best.score is null: the best member has a finite score');
    if (best.iteration > s.iteration) bad(`state.best.iteration ${best.iteration} is beyond state.iteration ${s.iteration}`);
    const top1 = finiteScores.reduce((a, b) => (b > a ? b : a), -Infinity);
    if (top1 > best.score!) bad(`state.best.score ${best.score} is below a population member's score ${top1}`);
    const same = s.population.find((m) => m.iteration === best.iteration);
    if (same && JSON.stringify(same) !== JSON.stringify(best)) bad(`state.best differs from state.population's member of iteration ${best.iteration}`);
  }
  const state: SearchState = {
    iteration: s.iteration,
    prng: s.prng as SearchState['prng'],
    population: s.population.map(decodeMember),
    best: best ? decodeMember(best) : null,
    counts: { ...k, rejected: { ...k.rejected } },
    timing: { ...s.timing },
  };
  const r = raw as Record<string, unknown>;
  return {
    format: top.format, version: top.version, config: c, state, candidates: { ...cand }, digest: top.digest, writtenAt: top.writtenAt,
    digestMatches: checkpointDigest(r.config, r.state, r.candidates) === top.digest,
  };
}

/** The error of a checkpoint whose digest does not match (checked after every field check, which name the field). */
export function digestMismatch(file: string): ZennasError {
  return new ZennasError('E_CHECKPOINT', `${file}: its content does not match its digest: the file was edited or damaged after zennas wrote it; files left untouched`);
}
