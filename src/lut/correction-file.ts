/**
 * A fitted latency correction as a file next to its table (issue #15: the search estimates with the
 * corrected model). The file records the table it was fitted on — a SHA-256 fingerprint of the
 * table's content plus its space, runtime, batch and hardware for messages — so that using it with
 * any other table is an error, never a silent mis-correction. The model is ./correction's ridge
 * regression on the block encoding (blockFeatures), fitted either to the measured ms or to the
 * ratio measured / estimate (whichever cross-validates better, as benchmarks/latency-model does).
 */
import * as crypto from 'crypto';
import { ZennasError } from '../errors';
import { readRegularText } from '../util/files';
import { array, literal, num, object, optional, parse, str, int } from '../util/schema';
import { writeFileAtomic } from '../util/write-atomic';
import { blockFeatures, fitRidgeCv, LatencyCorrection, predictLatency } from './correction';
import { assertCompatible, lutContext } from './table';
import { indexLut, LutIndex } from './estimate';
import { LatencyContext, Lut, LutChoices } from './types';

/** What the ridge model predicts: the whole-net ms, or the ratio measured / LUT estimate. */
export type CorrectionTarget = 'measured' | 'ratio';

/** A correction file (`format` 'zennas-lut-correction', `version` 1). */
export interface LutCorrectionFile {
  format: 'zennas-lut-correction';
  version: 1;
  /** The table it was fitted on (fingerprint = lutFingerprint(table)). */
  table: { fingerprint: string; space: string; variant: string; runtime: string; batchSize: number; hardware: string; statistic: string; created: string };
  /** The feature encoding: 'block-v1' = blockFeatures (estimate, then per stage Σ entries, depth, #SE, #5×5, Σ expansion). */
  features: 'block-v1';
  target: CorrectionTarget;
  model: LatencyCorrection;
  /** How it was fitted: nets, cross-validated mean squared relative error, in-sample |relative error| median / p95 / max. */
  fit: { nets: number; cvError: number; medianAbsRelError: number; p95AbsRelError: number; maxAbsRelError: number; created: string; zennas: string };
}

/** Largest correction file read. */
export const CORRECTION_MAX_BYTES = 1 << 20;

function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

/**
 * SHA-256 (hex) of a table's content in milliseconds — meta, stages, fixed part and entries, in a
 * canonical order (entries by slot and configuration, fixed pieces by name), so a table written
 * again or merged in another order keeps its fingerprint and any changed number changes it.
 */
export function lutFingerprint(lut: Lut): string {
  if (lut.meta.unit !== 'ms') throw new ZennasError('E_INTERNAL', 'lutFingerprint: expected a table in milliseconds (checkLut converts)');
  const entries = [...lut.entries].sort((a, b) => (a.stage - b.stage) || (a.position - b.position) || (a.config - b.config));
  const fixed = [...lut.fixed].sort((a, b) => a.name.localeCompare(b.name));
  return crypto.createHash('sha256').update(canonical({ format: lut.format, version: lut.version, meta: lut.meta, stages: lut.stages, fixed, entries })).digest('hex');
}

/** One measured net of the table's space: its choices and its whole-net latency (ms, the table's statistic). */
export interface MeasuredNet {
  choices: LutChoices;
  measuredMs: number;
}

function relErrors(pred: number[], meas: number[]) {
  const rel = pred.map((p, i) => Math.abs(p - meas[i]!) / meas[i]!).sort((a, b) => a - b);
  const q = (f: number) => rel[Math.min(rel.length - 1, Math.max(0, Math.ceil(f * rel.length) - 1))]!;
  return { medianAbsRelError: q(0.5), p95AbsRelError: q(0.95), maxAbsRelError: rel[rel.length - 1]! };
}

/**
 * Fit a correction of `lut` on measured nets (λ by k-fold cross-validation on these nets only).
 * `target` 'auto' (default) fits both and keeps the one with the lower cross-validated relative
 * error. E_OPTION with fewer nets than features + 2 (the fit would interpolate noise).
 */
export function fitLutCorrection(lut: Lut, nets: readonly MeasuredNet[], o: { target?: CorrectionTarget | 'auto'; lambdas?: number[]; folds?: number; zennas?: string; created?: string } = {}): LutCorrectionFile {
  const ix = indexLut(lut);
  const X = nets.map((n) => blockFeatures(ix, n.choices));
  const y = nets.map((n) => n.measuredMs);
  const d = 1 + 5 * lut.stages.length;
  if (nets.length < d + 2) throw new ZennasError('E_OPTION', `a correction of this table has ${d} features: fit it on at least ${d + 2} measured nets, got ${nets.length}`);
  for (const [i, v] of y.entries()) if (!(Number.isFinite(v) && v > 0)) throw new ZennasError('E_OPTION', `measured net ${i}: latency ${v} is not a positive number of ms`);
  const want = o.target ?? 'auto';
  const cv = { lambdas: o.lambdas, folds: o.folds };
  const byMs = want === 'ratio' ? undefined : fitRidgeCv(X, y, cv);
  const byRatio = want === 'measured' ? undefined : fitRidgeCv(X, y.map((v, i) => v / X[i]![0]!), cv);
  const target: CorrectionTarget = !byRatio ? 'measured' : !byMs ? 'ratio' : byRatio.cvError < byMs.cvError ? 'ratio' : 'measured';
  const m = (target === 'ratio' ? byRatio : byMs)!;
  const model: LatencyCorrection = { kind: 'ridge', lambda: m.lambda, mean: m.mean, scale: m.scale, weights: m.weights, intercept: m.intercept };
  const file: LutCorrectionFile = {
    format: 'zennas-lut-correction', version: 1,
    table: { fingerprint: lutFingerprint(lut), space: lut.meta.space, variant: lut.meta.variant, runtime: lut.meta.runtime, batchSize: lut.meta.batchSize, hardware: lut.meta.hardware, statistic: lut.meta.statistic, created: lut.meta.created },
    features: 'block-v1', target, model,
    fit: { nets: nets.length, cvError: m.cvError, medianAbsRelError: 0, p95AbsRelError: 0, maxAbsRelError: 0, created: o.created ?? new Date().toISOString(), zennas: o.zennas ?? 'zennas' },
  };
  const est = correctedEstimate(ix, file);
  Object.assign(file.fit, relErrors(nets.map((n) => est(n.choices)), y));
  return file;
}

/**
 * The corrected estimate of an architecture (ms per run of the table's batch): the ridge
 * prediction, or the LUT estimate × the predicted ratio. `corr` must be for `ix`'s table
 * (assertCorrectionFor); the feature count is checked here.
 */
export function correctedEstimate(ix: LutIndex, corr: LutCorrectionFile): (c: LutChoices) => number {
  const d = 1 + 5 * ix.t.length;
  if (corr.model.weights.length !== d || corr.model.mean.length !== d || corr.model.scale.length !== d) {
    throw new ZennasError('E_OPTION', `the correction has ${corr.model.weights.length} features, this table's encoding has ${d}`);
  }
  return (c) => {
    const f = blockFeatures(ix, c);
    const p = predictLatency(corr.model, f);
    return corr.target === 'ratio' ? f[0]! * p : p;
  };
}

/** A short id of a correction's content (16 hex digits of SHA-256): what a search's config records. */
export function correctionId(c: LutCorrectionFile): string {
  return crypto.createHash('sha256').update(canonical(c)).digest('hex').slice(0, 16);
}

/** E_OPTION (naming `where`) unless `corr` was fitted on exactly this table. */
export function assertCorrectionFor(corr: LutCorrectionFile, lut: Lut, where = 'the latency correction'): void {
  const fp = lutFingerprint(lut);
  if (corr.table.fingerprint !== fp) {
    const t = corr.table;
    throw new ZennasError('E_OPTION', `${where} was fitted on another table (${t.space}/${t.variant}, ${t.runtime} batch ${t.batchSize} on ${t.hardware}, built ${t.created}; fingerprint ${t.fingerprint.slice(0, 12)}…), not on this one (${lut.meta.space}/${lut.meta.variant}, built ${lut.meta.created}; ${fp.slice(0, 12)}…): refit it on this table (zennas lut fit)`);
  }
}

const fin = num();
const correctionSchema = object({
  format: literal('zennas-lut-correction'),
  version: literal(1),
  table: object({ fingerprint: str(64, /^[0-9a-f]{64}$/, 'a SHA-256 hex digest'), space: str(100), variant: str(100), runtime: str(100), batchSize: int(1, 4096), hardware: str(300), statistic: str(20), created: str(100) }),
  features: literal('block-v1'),
  target: literal<CorrectionTarget>('measured', 'ratio'),
  model: object({ kind: literal('ridge'), lambda: num(0), mean: array(fin, 10000, 1), scale: array(num(Number.MIN_VALUE), 10000, 1), weights: array(fin, 10000, 1), intercept: fin }),
  fit: object({ nets: int(1, 1e9), cvError: num(0), medianAbsRelError: num(0), p95AbsRelError: num(0), maxAbsRelError: num(0), created: str(100), zennas: str(100) }),
});

/** Check a correction read from anywhere (E_OPTION naming the field). */
export function checkLutCorrection(value: unknown, where = 'latency correction'): LutCorrectionFile {
  const c = parse(correctionSchema, value, 'E_OPTION', { prefix: `${where}: ` }) as LutCorrectionFile;
  if (c.model.mean.length !== c.model.weights.length || c.model.scale.length !== c.model.weights.length) throw new ZennasError('E_OPTION', `${where}: model.mean, model.scale and model.weights must have one entry per feature`);
  return c;
}

/** Read and check a correction file (E_IO for the file, E_OPTION for its content). */
export function readLutCorrection(file: string): LutCorrectionFile {
  const raw = readRegularText(file, { maxBytes: CORRECTION_MAX_BYTES, what: 'latency correction' });
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new ZennasError('E_OPTION', `${file}: not a latency correction (JSON: ${(e as Error).message})`);
  }
  return checkLutCorrection(json, file);
}

/** Write a correction atomically. */
export function writeLutCorrection(file: string, c: LutCorrectionFile): void {
  writeFileAtomic(file, JSON.stringify(c, null, 1) + '\n');
}

const measuredSchema = object({
  context: optional(object({ unit: str(10), batchSize: int(1, 4096), precision: str(10), runtime: str(100), runtimeVersion: str(100), hardware: str(300), threads: int(0, 1024), clock: str(10) })),
  statistic: optional(str(20)),
  rows: array(object({ key: optional(str(1 << 16)), structure: optional(str(1 << 16)), measuredMs: num(0), split: optional(str(20)) }, { extra: true }), 1_000_000, 1),
}, { extra: true });

/**
 * The measured nets of a results file — `benchmarks/latency-model`'s results-*.json, or any
 * `{ context?, statistic?, rows: [{ key | structure, measuredMs, split? }] }` — for `lut` (its
 * context and statistic, when the file states them, must be the table's: E_OPTION otherwise).
 * `decode` turns a row's structure into the space's choices; `split` keeps only rows of that split.
 */
export function measuredNetsOf(value: unknown, lut: Lut, decode: (structure: string) => LutChoices, o: { where?: string; split?: string } = {}): MeasuredNet[] {
  const where = o.where ?? 'measured nets';
  const m = parse(measuredSchema, value, 'E_OPTION', { prefix: `${where}: ` }) as { context?: LatencyContext; statistic?: string; rows: { key?: string; structure?: string; measuredMs: number; split?: string }[] };
  if (m.context) assertCompatible(lutContext(lut.meta), m.context, `${where} were measured under other conditions than the table`);
  if (m.statistic !== undefined && m.statistic !== lut.meta.statistic) throw new ZennasError('E_OPTION', `${where}: the nets' statistic is '${m.statistic}', the table's '${lut.meta.statistic}' (the correction maps one onto the other only for the same statistic)`);
  const out: MeasuredNet[] = [];
  for (const [i, r] of m.rows.entries()) {
    if (o.split !== undefined && r.split !== o.split) continue;
    const s = r.structure ?? r.key;
    if (s === undefined) throw new ZennasError('E_OPTION', `${where}: rows[${i}] has no structure (or key)`);
    let choices: LutChoices;
    try {
      choices = decode(s);
    } catch (e) {
      throw new ZennasError('E_OPTION', `${where}: rows[${i}] is not a net of the table's space: ${(e as Error).message}`);
    }
    out.push({ choices, measuredMs: r.measuredMs });
  }
  if (out.length === 0) throw new ZennasError('E_OPTION', `${where}: no rows${o.split !== undefined ? ` of split '${o.split}'` : ''}`);
  return out;
}

