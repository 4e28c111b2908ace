/**
 * Latency from a table: an architecture's estimate (Σ of its block entries + the fixed part) and,
 * for HardCoRe-NAS's relaxed architecture distributions, the bilinear expectation
 *
 *   E[lat] = fixed + Σ_s Σ_b β_{s,b} Σ_{j<b} Σ_c α_{s,j,c} t_{s,j,c}
 *
 * (β_{s,b}: probability that stage s has b blocks; α_{s,j,c}: probability that its block j takes
 * configuration c), which equals the mean of the estimate over the architectures the distributions
 * draw (blocks independent, as in HardCoRe-NAS §3.2), by linearity.
 */
import { ZennasError } from '../errors';
import { entryKey } from './table';
import { Lut, LutChoices } from './types';

/** A table indexed for estimates: t[stage][position][config] in ms and the fixed part in ms. */
export interface LutIndex {
  lut: Lut;
  /** t[s][j][c] (ms); NaN where the table has no entry. */
  t: number[][][];
  /** Σ fixed entries, plus the runtime's per-run overhead once when entries have it subtracted (ms). */
  fixedMs: number;
  minDepth: number[];
  maxDepth: number[];
}

/** Index a table (milliseconds; see checkLut) for estimates. */
export function indexLut(lut: Lut): LutIndex {
  if (lut.meta.unit !== 'ms') throw new ZennasError('E_INTERNAL', 'indexLut: expected a table in milliseconds (checkLut converts)');
  const byKey = new Map(lut.entries.map((e) => [entryKey(e.stage, e.position, e.config), e.latency]));
  const C = lut.meta.configs.length;
  const t = lut.stages.map((s, si) => Array.from({ length: s.maxDepth }, (_, j) => Array.from({ length: C }, (_, c) => byKey.get(entryKey(si, j, c)) ?? NaN)));
  const fixedMs = lut.fixed.reduce((a, f) => a + f.latency, 0) + (lut.meta.overhead === 'subtracted' ? lut.meta.overheadMs : 0);
  return { lut, t, fixedMs, minDepth: lut.stages.map((s) => s.minDepth), maxDepth: lut.stages.map((s) => s.maxDepth) };
}

/** Throws E_OPTION unless `c` is an architecture of the table's space. */
export function checkChoices(ix: LutIndex, c: LutChoices): void {
  const bad = (m: string): never => { throw new ZennasError('E_OPTION', `architecture: ${m}`); };
  if (!c || !Array.isArray(c.depths) || !Array.isArray(c.configs)) bad('expected { depths: number[], configs: number[][] }');
  if (c.depths.length !== ix.t.length || c.configs.length !== ix.t.length) bad(`has ${c.depths.length} depths and ${c.configs.length} stage configurations; the table has ${ix.t.length} stages`);
  const C = ix.lut.meta.configs.length;
  for (let s = 0; s < ix.t.length; s++) {
    const d = c.depths[s]!;
    if (!Number.isInteger(d) || d < ix.minDepth[s]! || d > ix.maxDepth[s]!) bad(`stage ${s} has ${d} blocks; the table allows ${ix.minDepth[s]}..${ix.maxDepth[s]}`);
    if (!Array.isArray(c.configs[s]) || c.configs[s]!.length !== d) bad(`stage ${s}: ${d} blocks but ${Array.isArray(c.configs[s]) ? c.configs[s]!.length : 'no'} configurations`);
    for (let j = 0; j < d; j++) {
      const k = c.configs[s]![j]!;
      if (!Number.isInteger(k) || k < 0 || k >= C) bad(`stage ${s} block ${j}: configuration ${k} is not one of the table's ${C}`);
      if (Number.isNaN(ix.t[s]![j]![k]!)) bad(`stage ${s} block ${j} configuration ${ix.lut.meta.configs[k]} is not measured in this table (an unfinished build? resume it)`);
    }
  }
}

/** An estimate and where it comes from. */
export interface LatencyEstimate {
  /** fixedMs + blocksMs. */
  ms: number;
  fixedMs: number;
  blocksMs: number;
  /** Σ of each stage's block entries. */
  stagesMs: number[];
}

/** Estimate = Σ block entries + fixed part (ms per run of meta.batchSize images). */
export function estimateLatency(ix: LutIndex, c: LutChoices): LatencyEstimate {
  checkChoices(ix, c);
  const stagesMs = c.configs.map((cs, s) => cs.reduce((a, k, j) => a + ix.t[s]![j]![k]!, 0));
  const blocksMs = stagesMs.reduce((a, b) => a + b, 0);
  return { ms: ix.fixedMs + blocksMs, fixedMs: ix.fixedMs, blocksMs, stagesMs };
}

/**
 * Relaxed architecture distributions: alpha[s][j][c] over configurations of block j of stage s
 * (j < maxDepth), beta[s][k] over the depths minDepth+k of stage s. Each distribution is
 * non-negative and sums to 1 (within 1e-6).
 */
export interface ArchitectureDistribution {
  alpha: number[][][];
  beta: number[][];
}

function checkDistribution(ix: LutIndex, p: ArchitectureDistribution): void {
  const bad = (m: string): never => { throw new ZennasError('E_OPTION', `distribution: ${m}`); };
  const simplex = (v: unknown, n: number, what: string) => {
    if (!Array.isArray(v) || v.length !== n) bad(`${what} must have ${n} probabilities`);
    let sum = 0;
    for (const x of v as unknown[]) {
      if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) bad(`${what} holds ${String(x)}, not a probability`);
      sum += x as number;
    }
    if (Math.abs(sum - 1) > 1e-6) bad(`${what} sums to ${sum}, not 1`);
  };
  if (!p || !Array.isArray(p.alpha) || !Array.isArray(p.beta) || p.alpha.length !== ix.t.length || p.beta.length !== ix.t.length) bad(`expected alpha and beta for each of the ${ix.t.length} stages`);
  const C = ix.lut.meta.configs.length;
  for (let s = 0; s < ix.t.length; s++) {
    simplex(p.beta[s], ix.maxDepth[s]! - ix.minDepth[s]! + 1, `beta[${s}]`);
    if (!Array.isArray(p.alpha[s]) || p.alpha[s]!.length !== ix.maxDepth[s]) bad(`alpha[${s}] must have ${ix.maxDepth[s]} blocks`);
    for (let j = 0; j < ix.maxDepth[s]!; j++) simplex(p.alpha[s]![j], C, `alpha[${s}][${j}]`);
  }
}

/**
 * E[lat] = fixed + Σ_s Σ_b β_{s,b} Σ_{j<b} Σ_c α_{s,j,c} t_{s,j,c} (HardCoRe-NAS's latency
 * formula), computed as fixed + Σ_s Σ_j P(depth_s > j) Σ_c α_{s,j,c} t_{s,j,c}. A configuration
 * with zero probability may be unmeasured; any other unmeasured entry is an error.
 */
export function expectedLatency(ix: LutIndex, p: ArchitectureDistribution): number {
  checkDistribution(ix, p);
  let total = ix.fixedMs;
  for (let s = 0; s < ix.t.length; s++) {
    const lo = ix.minDepth[s]!;
    for (let j = 0; j < ix.maxDepth[s]!; j++) {
      // P(block j present) = Σ_{b > j} β_{s,b}; blocks below minDepth are always present.
      let present = 0;
      for (let k = 0; k < p.beta[s]!.length; k++) if (lo + k > j) present += p.beta[s]![k]!;
      if (present === 0) continue;
      let block = 0;
      for (let c = 0; c < p.alpha[s]![j]!.length; c++) {
        const a = p.alpha[s]![j]![c]!;
        if (a === 0) continue;
        const t = ix.t[s]![j]![c]!;
        if (Number.isNaN(t)) throw new ZennasError('E_OPTION', `distribution: stage ${s} block ${j} configuration ${ix.lut.meta.configs[c]} has probability ${a} but is not measured in this table`);
        block += a * t;
      }
      total += present * block;
    }
  }
  return total;
}
