/**
 * `zennas lut build`: time every (stage, position, configuration) block of a LUT-able space in its
 * context (the slot's input channels and feature-map size) and every fixed piece, on one runtime.
 * A build is long (hundreds of pieces), so the table is written after every piece (interleaved
 * protocol: after every group of block entries) and a build with the same conditions resumes from
 * it; one with other conditions is refused, naming them.
 */
import * as fs from 'fs';
import { ZennasError } from '../errors';
import { parseStructure } from '../grammar/parse';
import { lowerAsTrained } from '../model/lower';
import { encodeDescriptor } from '../ops/descriptor';
import { assertCompatible, entryKey, lutContext, readLut, writeLut } from './table';
import { measureNets } from './runtime';
import type { LutRuntime, PieceLatency } from './runtime';
import { protocolName } from './interleave';
import { Lut, LutEntry, LutFixedEntry, LutMeta, LutNet, LutSpace, LutSpaceOptions, LutStatistic } from './types';

/** A piece of the build's work list. */
export type BuildPiece =
  | { kind: 'overhead'; name: string }
  | { kind: 'fixed'; name: string }
  | { kind: 'block'; name: string; stage: number; position: number; config: number };

/** Progress of a build, after each piece. */
export interface LutBuildProgress {
  done: number;
  total: number;
  /** Pieces found measured in the file resumed from. */
  resumed: number;
  piece: BuildPiece;
  /** Its median (ms); undefined for pieces taken from the resumed file. */
  ms?: number;
}

/** Options of `buildLut`. */
export interface LutBuildOptions extends LutSpaceOptions {
  warmup: number;
  iterations: number;
  /** Write the table here after every piece (interleaved: group); resume from it when it holds a partial build. */
  file?: string;
  /** Start afresh even when `file` holds a table. */
  overwrite?: boolean;
  /** Per-run overhead: measured and subtracted from every piece (default), or kept in every entry. */
  overhead?: 'subtracted' | 'kept';
  /** Statistic stored as each entry's latency (default 'median'). */
  statistic?: LutStatistic;
  onProgress?: (p: LutBuildProgress) => void;
  signal?: AbortSignal;
  /** zennas version recorded in the table. */
  zennas?: string;
}

/**
 * The network whose time is the runtime's per-run overhead: a ReLU on a 1×1×8 input (one call,
 * a negligible kernel). Counted once in the fixed part when entries have it subtracted.
 */
export function overheadNet(): LutNet {
  return { descriptor: encodeDescriptor(lowerAsTrained(parseStructure('RELU(8)'), { numClasses: 0 })), inputChannels: 8, inputResolution: 1 };
}

/** The table's meta for a build of `space` on `runtime` (created now). */
export function buildMeta<G>(space: LutSpace<G>, runtime: LutRuntime, o: LutBuildOptions, overheadMs = 0): LutMeta {
  return {
    ...runtime.context,
    space: space.id, variant: space.variant, resolution: o.resolution, numClasses: o.numClasses,
    // Timed runs per piece: under the interleaved protocol its passes × runsPerPass (`-i` is not used).
    statistic: o.statistic ?? 'median', warmup: o.warmup, iterations: runtime.interleave ? runtime.interleave.passes * runtime.interleave.runsPerPass : o.iterations,
    configs: [...space.configs], fixedNames: space.fixedNets(o).map((f) => f.name),
    overhead: o.overhead ?? 'subtracted', overheadMs,
    zennas: o.zennas ?? 'zennas', created: new Date().toISOString(),
  };
}

/** Every piece of a build, in the order it measures them. */
export function buildPieces<G>(space: LutSpace<G>, o: LutSpaceOptions, overhead: 'subtracted' | 'kept'): BuildPiece[] {
  const pieces: BuildPiece[] = overhead === 'subtracted' ? [{ kind: 'overhead', name: 'overhead' }] : [];
  for (const f of space.fixedNets(o)) pieces.push({ kind: 'fixed', name: f.name });
  space.stages(o).forEach((st, stage) => st.slots.forEach((_, position) => space.configs.forEach((cfg, config) => {
    pieces.push({ kind: 'block', name: `stage ${stage} block ${position} ${cfg}`, stage, position, config });
  })));
  return pieces;
}

/** Conditions of a resumed table that must equal the new build's (besides the latency context). */
const SAME: readonly (keyof LutMeta)[] = ['space', 'variant', 'resolution', 'numClasses', 'statistic', 'warmup', 'iterations', 'overhead'];

function resumeFrom(file: string, fresh: LutMeta): Lut | null {
  if (!fs.existsSync(file)) return null;
  const old = readLut(file);
  assertCompatible(lutContext(old.meta), lutContext(fresh), `${file} holds a table built under other conditions (resume it with the same flags, or --overwrite)`);
  for (const k of SAME) {
    if (JSON.stringify(old.meta[k]) !== JSON.stringify(fresh[k])) {
      throw new ZennasError('E_OPTION', `${file} holds a table with ${k} ${JSON.stringify(old.meta[k])}, this build has ${JSON.stringify(fresh[k])}: resume it with the same flags, or --overwrite`);
    }
  }
  if (JSON.stringify(old.meta.configs) !== JSON.stringify(fresh.configs) || JSON.stringify(old.meta.fixedNames) !== JSON.stringify(fresh.fixedNames)) {
    throw new ZennasError('E_OPTION', `${file} holds a table of other configurations or fixed pieces of ${fresh.space}: --overwrite to rebuild it`);
  }
  return old;
}

/**
 * The units a build measures and writes in turn: one piece each, except that a runtime under the
 * interleaved protocol times the block entries in groups of its group size (consecutive in build
 * order, so the same groups whether the build runs through or resumes).
 */
function buildUnits(pieces: readonly BuildPiece[], groupSize: number | undefined): Array<{ pieces: BuildPiece[]; group?: number }> {
  const units: Array<{ pieces: BuildPiece[]; group?: number }> = [];
  let blocks = 0;
  for (const p of pieces) {
    if (p.kind !== 'block' || groupSize === undefined) { units.push({ pieces: [p] }); continue; }
    const group = Math.floor(blocks++ / groupSize);
    const last = units[units.length - 1];
    if (last?.group === group) last.pieces.push(p);
    else units.push({ pieces: [p], group });
  }
  return units;
}

/**
 * Build (or resume) the LUT of `space` on `runtime`. Returns the table, `complete` unless the
 * signal stopped it (the partial table is then in `file`, ready to resume).
 *
 * Sequential protocol: every piece timed on its own (its runs back to back), the table written
 * after each. Interleaved (`runtime.interleave`): the overhead and fixed pieces one by one, then
 * the block entries in groups of `groupSize` through `measureNets` — each of the K passes visits
 * every entry of the group in a seeded shuffled order (group g: passOrder(n, seed, g × K + p)) —
 * the table written after each group; a resumed build skips the entries its file holds.
 */
export async function buildLut<G>(space: LutSpace<G>, runtime: LutRuntime, o: LutBuildOptions): Promise<Lut> {
  const overhead = o.overhead ?? 'subtracted';
  const il = runtime.interleave;
  if ((runtime.context.protocol ?? 'sequential') !== protocolName(il ?? null) || (il && !runtime.measureMany)) {
    throw new ZennasError('E_OPTION', `lut build: the runtime's protocol '${runtime.context.protocol ?? 'sequential'}' does not match how it measures (${protocolName(il ?? null)}${il && !runtime.measureMany ? ', without measureMany' : ''})`);
  }
  const stages = space.stages(o);
  const fixedNets = new Map(space.fixedNets(o).map((f) => [f.name, f]));
  let meta = buildMeta(space, runtime, o);
  const old = o.file && !o.overwrite ? resumeFrom(o.file, meta) : null;
  const lut: Lut = {
    format: 'zennas-lut', version: 1, complete: false, meta: old ? { ...old.meta } : meta,
    stages: stages.map((s) => ({ minDepth: s.minDepth, maxDepth: s.maxDepth })),
    fixed: old ? [...old.fixed] : [], entries: old ? [...old.entries] : [],
  };
  if (old?.complete) return old;
  const haveOverhead = !!old && old.meta.overheadMs > 0;
  const have = new Set([...lut.entries.map((e) => entryKey(e.stage, e.position, e.config)), ...lut.fixed.map((f) => `fixed/${f.name}`)]);
  const pieces = buildPieces(space, o, overhead);
  const isDone = (p: BuildPiece) => (p.kind === 'overhead' ? haveOverhead : p.kind === 'fixed' ? have.has(`fixed/${p.name}`) : have.has(entryKey(p.stage, p.position, p.config)));
  const resumed = pieces.filter(isDone).length;
  const stat = (r: PieceLatency) => (lut.meta.statistic === 'min' ? r.minMs : r.medianMs);
  /** Store a measured piece; returns its statistic (ms, before the overhead is subtracted). */
  const record = (piece: BuildPiece, r: PieceLatency): number => {
    const sub = overhead === 'subtracted' ? lut.meta.overheadMs : 0;
    const nums = { latency: stat(r) - sub, p90: r.p90Ms - sub, median: r.medianMs - sub, min: r.minMs - sub };
    if (piece.kind === 'overhead') {
      lut.meta.overheadMs = stat(r);
    } else if (piece.kind === 'fixed') {
      const net = fixedNets.get(piece.name)!;
      const e: LutFixedEntry = { name: piece.name, inputChannels: net.inputChannels, inputResolution: net.inputResolution, ...nums };
      lut.fixed.push(e);
    } else {
      const slot = stages[piece.stage]!.slots[piece.position]!;
      const cost = space.blockCost(slot, piece.config, o);
      const e: LutEntry = {
        stage: piece.stage, position: piece.position, config: piece.config,
        inputChannels: slot.inputChannels, outputChannels: slot.outputChannels, stride: slot.stride, inputResolution: slot.inputResolution,
        ...nums, params: cost.params, flops: cost.flops,
      };
      lut.entries.push(e);
    }
    return stat(r);
  };
  const netOf = (piece: BuildPiece): LutNet => {
    if (piece.kind === 'overhead') return overheadNet();
    if (piece.kind === 'fixed') return fixedNets.get(piece.name)!;
    return space.blockNet(stages[piece.stage]!.slots[piece.position]!, piece.config, o);
  };
  let done = 0;
  for (const unit of buildUnits(pieces, il?.groupSize)) {
    const todo = unit.pieces.filter((p) => !isDone(p));
    for (const piece of unit.pieces) {
      if (!isDone(piece)) continue;
      done++;
      o.onProgress?.({ done, total: pieces.length, resumed, piece });
    }
    if (!todo.length) continue;
    if (o.signal?.aborted) break;
    const results = unit.group === undefined ? [await runtime.measure(netOf(todo[0]!))] : await measureNets(runtime, todo.map(netOf), unit.group);
    const ms = todo.map((piece, i) => record(piece, results[i]!));
    // The runtime may learn its device and version only once it has run (TensorRT, CUDA).
    meta = { ...lut.meta, hardware: runtime.context.hardware, runtimeVersion: runtime.context.runtimeVersion };
    lut.meta = meta;
    if (o.file) writeLut(o.file, lut);
    for (const [i, piece] of todo.entries()) {
      done++;
      o.onProgress?.({ done, total: pieces.length, resumed, piece, ms: ms[i] });
    }
  }
  lut.complete = done === pieces.length;
  if (o.file) writeLut(o.file, lut);
  return lut;
}
