/**
 * Interleaved multi-pass timing (issue #15): one pass of timed runs per net does not repeat to 5 %
 * on a VM (the same nets measured a minute later read 5.7 % lower: clock and cache state drift).
 * Here every net of a bounded group is prepared (session created, warmed up) up front, then K
 * passes each time every net for a few runs in a seeded shuffled order; a net's statistic is over
 * all passes' runs, so slow drift lands on every net alike instead of on whichever came last.
 */
import { ZennasError } from '../errors';
import { quantile } from '../latency/stats';
import { Sfc32 } from '../rng/sfc32';
import { checkInt, checkKnownKeys, optionError } from '../util/validate';
import type { PieceLatency } from './runtime';

/** A net ready to run: `run` times one run (ms); `release` frees its session. */
export interface PreparedPiece {
  run(): Promise<number>;
  release(): Promise<void> | void;
}

/** Options of the interleaved protocol. */
export interface InterleaveOptions {
  /** Passes over the group (default 5). */
  passes?: number;
  /** Timed runs of a net per visit (default 10). */
  runsPerPass?: number;
  /** Untimed runs at each visit: the net's weights were evicted by the others (default 1). */
  passWarmup?: number;
  /** Nets prepared at once: bounds memory (default 50). */
  groupSize?: number;
  /** Seed of the visiting order (default 0). */
  seed?: number;
}

const KEYS = ['passes', 'runsPerPass', 'passWarmup', 'groupSize', 'seed'] as const;

/** The checked options with their defaults. */
export function interleaveOptions(o: InterleaveOptions = {}): Required<InterleaveOptions> {
  if (o === null || typeof o !== 'object') optionError('interleave options must be an object');
  checkKnownKeys('interleave', o, KEYS);
  return {
    passes: checkInt('passes', o.passes ?? 5, 1, 10000),
    runsPerPass: checkInt('runsPerPass', o.runsPerPass ?? 10, 1, 100000),
    passWarmup: checkInt('passWarmup', o.passWarmup ?? 1, 0, 100000),
    groupSize: checkInt('groupSize', o.groupSize ?? 50, 1, 100000),
    seed: checkInt('seed', o.seed ?? 0, 0, 0xffffffff),
  };
}

/**
 * The protocol as latency contexts record it: numbers measured under different protocols are not
 * compared (seed and group size only choose the order and bound memory, so they are not in it).
 */
export function protocolName(o: Required<InterleaveOptions> | null): string {
  return o ? `interleaved ${o.passes}x${o.runsPerPass}+${o.passWarmup}` : 'sequential';
}

/** The visiting order of pass `pass` over `n` nets (Fisher–Yates with a per-pass seeded Sfc32). */
export function passOrder(n: number, seed: number, pass: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = new Sfc32((seed + Math.imul(pass + 1, 0x9e3779b1)) >>> 0);
  for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); [order[i], order[j]] = [order[j]!, order[i]!]; }
  return order;
}

/**
 * Time `nets` under the interleaved protocol. `prepare` creates a net's session (its own warm-up
 * included); groups of `groupSize` are prepared, timed over all passes and released in turn.
 * Group g (counted from `firstGroup`) visits its nets in the orders passOrder(n, seed, g × passes + p),
 * so that a caller timing a long list group by group (a LUT build, written after each group) gets
 * the orders of one call over the whole list.
 * Returns per net the median, p90 and min over its passes × runsPerPass runs, in `nets` order.
 */
export async function measureInterleaved<N>(nets: readonly N[], prepare: (net: N) => Promise<PreparedPiece>, options: InterleaveOptions = {}, firstGroup = 0): Promise<PieceLatency[]> {
  const o = interleaveOptions(options);
  checkInt('firstGroup', firstGroup, 0, 0x7fffffff);
  const out: PieceLatency[] = [];
  for (let g0 = 0; g0 < nets.length; g0 += o.groupSize) {
    const group = nets.slice(g0, g0 + o.groupSize);
    const ready: PreparedPiece[] = [];
    try {
      for (const n of group) ready.push(await prepare(n));
      const samples = group.map(() => new Array<number>(o.passes * o.runsPerPass));
      for (let p = 0; p < o.passes; p++) {
        for (const i of passOrder(group.length, o.seed, (firstGroup + g0 / o.groupSize) * o.passes + p)) {
          const r = ready[i]!;
          for (let w = 0; w < o.passWarmup; w++) await r.run();
          for (let k = 0; k < o.runsPerPass; k++) {
            const ms = await r.run();
            if (!Number.isFinite(ms)) throw new ZennasError('E_BACKEND', `interleaved timing: a run returned ${ms} ms`);
            samples[i]![p * o.runsPerPass + k] = ms;
          }
        }
      }
      for (const s of samples) out.push({ medianMs: quantile(s, 0.5), p90Ms: quantile(s, 0.9), minMs: s.reduce((a, b) => Math.min(a, b), Infinity) });
    } finally {
      for (const r of ready) await r.release();
    }
  }
  return out;
}

/** The interleave options a recorded protocol name stands for (null: sequential), to measure again under it. */
export function parseProtocol(name: string | undefined): InterleaveOptions | null {
  if (name === undefined || name === 'sequential') return null;
  const m = /^interleaved (\d+)x(\d+)\+(\d+)$/.exec(name);
  if (!m) throw new ZennasError('E_OPTION', `unknown latency protocol '${name}' (expected 'sequential' or 'interleaved KxR+W')`);
  return { passes: Number(m[1]), runsPerPass: Number(m[2]), passWarmup: Number(m[3]) };
}
