/**
 * lut.json: reading (whole schema checked, units converted to milliseconds), writing (atomically)
 * and the compatibility rules — two latency contexts that differ in unit-free meaning (batch size,
 * precision, runtime and its version, hardware, threads) are never combined or compared.
 */
import { ZennasError } from '../errors';
import { readRegularText } from '../util/files';
import { array, int, literal, num, object, optional, parse, str, bool } from '../util/schema';
import { writeFileAtomic } from '../util/write-atomic';
import { LATENCY_RUNTIMES } from '../latency';
import { CONTEXT_FIELDS, LATENCY_UNITS, LatencyContext, LatencyUnit, Lut, LutMeta } from './types';

/** Largest lut.json read (a table of a few thousand entries is ~1 MB). */
export const LUT_MAX_BYTES = 64 << 20;

const text = (n: number) => str(n);
const metaSchema = object({
  unit: literal<LatencyUnit>('s', 'ms', 'us'),
  batchSize: int(1, 4096),
  precision: literal('fp32', 'fp16'),
  runtime: literal(...LATENCY_RUNTIMES),
  runtimeVersion: text(100),
  hardware: text(300),
  threads: int(0, 1024),
  clock: literal('wall', 'cpu'),
  protocol: optional(text(100)),
  space: text(100),
  variant: text(100),
  resolution: int(1, 4096),
  numClasses: int(0, 1_000_000),
  statistic: literal('median', 'min'),
  warmup: int(0, 100000),
  iterations: int(1, 100000),
  configs: array(text(100), 1000, 1),
  fixedNames: array(text(100), 100, 1),
  overhead: literal('subtracted', 'kept'),
  overheadMs: num(0),
  zennas: text(100),
  created: text(100),
});
const latency = num(-1e9, 1e12); // an overhead-subtracted entry may be slightly below 0 (noise)
const lutSchema = object({
  format: literal('zennas-lut'),
  version: literal(1),
  complete: bool,
  meta: metaSchema,
  stages: array(object({ minDepth: int(0, 1000), maxDepth: int(0, 1000) }), 1000),
  fixed: array(object({ name: text(100), inputChannels: int(1, 1 << 20), inputResolution: int(1, 4096), latency, p90: latency, median: optional(latency), min: optional(latency) }), 1000),
  entries: array(object({
    stage: int(0, 1000), position: int(0, 1000), config: int(0, 1000),
    inputChannels: int(1, 1 << 20), outputChannels: int(1, 1 << 20), stride: int(1, 64), inputResolution: int(1, 4096),
    latency, p90: latency, median: optional(latency), min: optional(latency), params: num(0), flops: num(0),
  }), 1_000_000),
});

/** Key of an entry's slot and configuration. */
export const entryKey = (stage: number, position: number, config: number) => `${stage}/${position}/${config}`;

/**
 * Check a table read from anywhere: the schema, then the meaning (entries inside the declared
 * stages and configurations, each slot/config measured once; a complete table has every one).
 * Returns the table with every number converted to milliseconds (`meta.unit` 'ms').
 */
export function checkLut(value: unknown, where = 'lut'): Lut {
  const t = parse(lutSchema, value, 'E_OPTION', { prefix: `${where}: ` }) as Lut;
  const bad = (m: string): never => { throw new ZennasError('E_OPTION', `${where}: ${m}`); };
  const seen = new Set<string>();
  for (const [i, s] of t.stages.entries()) if (s.minDepth > s.maxDepth) bad(`stages[${i}]: minDepth ${s.minDepth} > maxDepth ${s.maxDepth}`);
  for (const [i, e] of t.entries.entries()) {
    const s = t.stages[e.stage];
    if (!s) bad(`entries[${i}]: stage ${e.stage} is not one of the ${t.stages.length} stages`);
    if (e.position >= s!.maxDepth) bad(`entries[${i}]: position ${e.position} is beyond stage ${e.stage}'s ${s!.maxDepth} blocks`);
    if (e.config >= t.meta.configs.length) bad(`entries[${i}]: config ${e.config} is not one of the ${t.meta.configs.length} configurations`);
    const k = entryKey(e.stage, e.position, e.config);
    if (seen.has(k)) bad(`entries[${i}]: stage ${e.stage} position ${e.position} config ${e.config} is measured twice`);
    seen.add(k);
  }
  const names = new Set<string>();
  for (const [i, f] of t.fixed.entries()) {
    if (!t.meta.fixedNames.includes(f.name)) bad(`fixed[${i}]: '${f.name}' is not one of the fixed pieces ${t.meta.fixedNames.join(', ')}`);
    if (names.has(f.name)) bad(`fixed[${i}]: '${f.name}' is measured twice`);
    names.add(f.name);
  }
  if (t.complete) {
    const want = t.stages.reduce((a, s) => a + s.maxDepth, 0) * t.meta.configs.length;
    if (seen.size !== want) bad(`marked complete but holds ${seen.size} of the ${want} block entries (stages × positions × configurations)`);
    const missing = t.meta.fixedNames.filter((n) => !t.fixed.some((f) => f.name === n));
    if (missing.length) bad(`marked complete but its fixed part lacks ${missing.join(', ')}`);
  }
  return toMilliseconds(t);
}

/** The table with every latency in milliseconds (`meta.unit` 'ms'); the unit is converted, never assumed. */
export function toMilliseconds(t: Lut): Lut {
  const f = LATENCY_UNITS[t.meta.unit];
  if (f === 1) return t;
  return {
    ...t,
    meta: { ...t.meta, unit: 'ms', overheadMs: t.meta.overheadMs * f },
    fixed: t.fixed.map((e) => scaled(e, f)),
    entries: t.entries.map((e) => scaled(e, f)),
  };
}

function scaled<T extends { latency: number; p90: number; median?: number; min?: number }>(e: T, f: number): T {
  return { ...e, latency: e.latency * f, p90: e.p90 * f, ...(e.median !== undefined ? { median: e.median * f } : {}), ...(e.min !== undefined ? { min: e.min * f } : {}) };
}

/** Read and check lut.json (E_IO for the file, E_OPTION naming the field for its content). */
export function readLut(file: string): Lut {
  const raw = readRegularText(file, { maxBytes: LUT_MAX_BYTES, what: 'latency table' });
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new ZennasError('E_OPTION', `${file}: not a latency table (JSON: ${(e as Error).message})`);
  }
  return checkLut(json, file);
}

/** Write a table atomically (a partial one too: a build resumes from it). */
export function writeLut(file: string, t: Lut): void {
  writeFileAtomic(file, JSON.stringify(t, null, 1) + '\n');
}

/** The context of a table's numbers (as stored: its own unit). */
export function lutContext(m: LutMeta): LatencyContext {
  return { unit: m.unit, batchSize: m.batchSize, precision: m.precision, runtime: m.runtime, runtimeVersion: m.runtimeVersion, hardware: m.hardware, threads: m.threads, clock: m.clock, ...(m.protocol !== undefined ? { protocol: m.protocol } : {}) };
}

/**
 * Where two latency contexts differ, as `field: a vs b` (the unit is not listed: numbers are
 * converted). Empty: their numbers can be added and compared.
 */
export function incompatibilities(a: LatencyContext, b: LatencyContext): string[] {
  const v = (c: LatencyContext, k: keyof LatencyContext) => (k === 'protocol' ? c.protocol ?? 'sequential' : c[k]); // tables from before the field: sequential
  return CONTEXT_FIELDS.filter((k) => k !== 'unit' && v(a, k) !== v(b, k)).map((k) => `${k} ${JSON.stringify(v(a, k))} vs ${JSON.stringify(v(b, k))}`);
}

/** Throws E_OPTION naming every difference when `a` and `b` may not be combined or compared. */
export function assertCompatible(a: LatencyContext, b: LatencyContext, what: string): void {
  const d = incompatibilities(a, b);
  if (d.length) {
    throw new ZennasError('E_OPTION', `${what}: latencies measured under different conditions cannot be combined or compared (${d.join('; ')})`);
  }
}

/**
 * One table from two built for the same space and conditions (e.g. halves built on two runs):
 * the union of their entries; incompatible contexts, spaces or configurations are E_OPTION.
 */
export function mergeLuts(a: Lut, b: Lut): Lut {
  const x = toMilliseconds(a);
  const y = toMilliseconds(b);
  assertCompatible(lutContext(x.meta), lutContext(y.meta), 'merging latency tables');
  for (const k of ['space', 'variant', 'resolution', 'numClasses', 'overhead'] as const) {
    if (x.meta[k] !== y.meta[k]) throw new ZennasError('E_OPTION', `merging latency tables: ${k} ${JSON.stringify(x.meta[k])} vs ${JSON.stringify(y.meta[k])}`);
  }
  const same = (u: unknown, v: unknown) => JSON.stringify(u) === JSON.stringify(v);
  if (!same(x.meta.configs, y.meta.configs) || !same(x.meta.fixedNames, y.meta.fixedNames) || !same(x.stages, y.stages)) {
    throw new ZennasError('E_OPTION', 'merging latency tables: their stages or configurations differ');
  }
  const entries = new Map(x.entries.map((e) => [entryKey(e.stage, e.position, e.config), e]));
  for (const e of y.entries) if (!entries.has(entryKey(e.stage, e.position, e.config))) entries.set(entryKey(e.stage, e.position, e.config), e);
  const fixed = new Map(x.fixed.map((f) => [f.name, f]));
  for (const f of y.fixed) if (!fixed.has(f.name)) fixed.set(f.name, f);
  const merged: Lut = { ...x, complete: false, fixed: [...fixed.values()], entries: [...entries.values()] };
  const want = merged.stages.reduce((s, st) => s + st.maxDepth, 0) * merged.meta.configs.length;
  merged.complete = merged.entries.length === want && x.meta.fixedNames.every((n) => fixed.has(n));
  return merged;
}
