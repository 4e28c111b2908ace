/**
 * Latency lookup tables (issue #15 item 4): per-block latencies of a space measured in context,
 * plus the fixed part, each table carrying what its numbers mean. HardCoRe-NAS's official table is
 * a pickle of raw floats in seconds read as milliseconds, mixes per-batch GPU entries with a
 * per-image fixed part; here every table states its unit, batch size, precision, runtime (and its
 * version), threads and hardware, and tables or measurements that differ in any of them are never
 * combined or compared (./table.ts `incompatibilities`).
 */
import type { LatencyRuntime } from '../latency';

/** Units a table may store its numbers in; every number inside zennas is milliseconds. */
export type LatencyUnit = 's' | 'ms' | 'us';
export const LATENCY_UNITS: Readonly<Record<LatencyUnit, number>> = { s: 1000, ms: 1, us: 1e-3 };

/**
 * What a latency number means: the conditions it was measured under. Two numbers can be added or
 * compared only when all of these agree (the unit is converted, never assumed).
 */
export interface LatencyContext {
  /** Unit of the stored numbers. */
  unit: LatencyUnit;
  /** Images per run: every number is the latency of one run of this many images (never per image). */
  batchSize: number;
  precision: 'fp32' | 'fp16';
  runtime: LatencyRuntime;
  /** e.g. onnxruntime-node "1.30.0"; the zennas version for 'cpu' / 'cuda'. */
  runtimeVersion: string;
  /** e.g. "AMD EPYC 7B13 (2 cores)" or the GPU's name. */
  hardware: string;
  /** Runtime threads (onnxruntime intra-op; the Engine's pool for 'cpu'); 0 where it does not apply. */
  threads: number;
  /**
   * What a run's time is: 'wall' (elapsed; every runtime) or 'cpu' (the process's CPU time during
   * the run: onnxruntime with 1 thread only — on a shared machine it is what the run costs,
   * without the time other processes hold the core).
   */
  clock: LatencyClock;
  /**
   * How runs were scheduled (src/lut/interleave.ts `protocolName`): absent = 'sequential' (each
   * piece's runs back to back), or e.g. 'interleaved 5x10+1'.
   */
  protocol?: string;
}

/** How a run is timed (LatencyContext.clock). */
export type LatencyClock = 'wall' | 'cpu';

/** Which statistic of a piece's timed runs a table stores. */
export type LutStatistic = 'median' | 'min';

/** The fields of a LatencyContext, in the order errors list them. */
export const CONTEXT_FIELDS: readonly (keyof LatencyContext)[] = ['unit', 'batchSize', 'precision', 'runtime', 'runtimeVersion', 'hardware', 'threads', 'clock', 'protocol'];

/** How a table was measured and for which networks. */
export interface LutMeta extends LatencyContext {
  /** Space id (e.g. 'hardcore') and its variant (e.g. 'paper', 'official'). */
  space: string;
  variant: string;
  /** Input resolution of the whole network (entries record their own feature-map size). */
  resolution: number;
  numClasses: number;
  /**
   * Statistic of the timed runs stored as each entry's latency: 'median' (p50, HardCoRe-NAS's; the
   * default) or 'min' (the least disturbed by other work on a shared machine). The final
   * measurement of a search uses the same statistic.
   */
  statistic: LutStatistic;
  warmup: number;
  iterations: number;
  /** Configuration names of the space, in index order (lightest first where the space sorts them). */
  configs: string[];
  /** Names of the fixed pieces (all measured in a complete table). */
  fixedNames: string[];
  /**
   * How the per-run overhead of the runtime (a call on an almost empty network) is handled:
   * 'subtracted' — measured once (`overheadMs`), subtracted from every block and fixed entry and
   * counted once in the fixed part, so that a sum of N entries does not count N calls; 'kept' —
   * raw measurements (HardCoRe-NAS's LUT).
   */
  overhead: 'subtracted' | 'kept';
  overheadMs: number;
  /** zennas version that built it and when (ISO 8601). */
  zennas: string;
  created: string;
}

/** One measured block: configuration `config` at (stage, position) with the slot's input. */
export interface LutEntry {
  stage: number;
  position: number;
  /** Index into meta.configs. */
  config: number;
  inputChannels: number;
  outputChannels: number;
  stride: number;
  /** Input feature-map height = width. */
  inputResolution: number;
  /** Latency in meta.unit. */
  latency: number;
  /** p90 of the timed runs, meta.unit. */
  p90: number;
  /** Median and minimum of the timed runs, meta.unit (whichever meta.statistic is not `latency` too). */
  median?: number;
  min?: number;
  params: number;
  flops: number;
}

/** A measured piece of the fixed part (stem + first block, the last blocks + head, …). */
export interface LutFixedEntry {
  name: string;
  inputChannels: number;
  inputResolution: number;
  latency: number;
  p90: number;
  median?: number;
  min?: number;
}

/** A latency lookup table as stored in lut.json (`format` 'zennas-lut', `version` 1). */
export interface Lut {
  format: 'zennas-lut';
  version: 1;
  /** false while a build is under way (a resumable partial table). */
  complete: boolean;
  meta: LutMeta;
  /** Per stage: the depth range (blocks min..max). */
  stages: Array<{ minDepth: number; maxDepth: number }>;
  fixed: LutFixedEntry[];
  entries: LutEntry[];
}

/** One block slot of a LUT-able space: where a block sits and what it sees. */
export interface LutSlot {
  stage: number;
  position: number;
  inputChannels: number;
  outputChannels: number;
  stride: number;
  inputResolution: number;
}

/**
 * The choices of one architecture of a LUT-able space: per stage its depth and the configuration
 * index of each present block (`configs[s].length === depths[s]`).
 */
export interface LutChoices {
  depths: number[];
  configs: number[][];
}

/** A network piece to time: a descriptor whose input has these channels and size. */
export interface LutNet {
  descriptor: Int32Array;
  inputChannels: number;
  inputResolution: number;
}

/** Options of the networks a LUT-able space builds (those of the search). */
export interface LutSpaceOptions {
  resolution: number;
  numClasses: number;
}

/**
 * What a LUT needs of a space (the hardcore space implements it): a macro skeleton of stages with
 * depth ranges, one configuration per present block, a fixed part, and networks for each piece.
 * The search loop never sees this; the LUT estimate and the repair come in through its hooks.
 */
export interface LutSpace<G> {
  id: string;
  variant: string;
  /** Configuration names in index order (HardCoRe-NAS Table 4: sorted by expected latency). */
  configs: readonly string[];
  /** Per stage: depth range and one slot per position 0..maxDepth−1. */
  stages(o: LutSpaceOptions): Array<{ minDepth: number; maxDepth: number; slots: LutSlot[] }>;
  toChoices(g: G): LutChoices;
  fromChoices(c: LutChoices): G;
  /** One block with configuration `config` in `slot` (its input channels and feature-map size), no head. */
  blockNet(slot: LutSlot, config: number, o: LutSpaceOptions): LutNet;
  /** Size of that block (what the greedy repair values). */
  blockCost(slot: LutSlot, config: number, o: LutSpaceOptions): { params: number; flops: number };
  /** The fixed pieces, each timed on its own (stem + first block; last blocks + head). */
  fixedNets(o: LutSpaceOptions): Array<LutNet & { name: string }>;
  /** The whole network (what the final measurement times). */
  net(g: G, o: LutSpaceOptions): LutNet;
}
