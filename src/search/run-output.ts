import * as fs from 'fs';
import * as path from 'path';
import { keyedError, opt } from '../util/keyed-error';
import { writeFileAtomic } from '../util/write-atomic';
import { REPORT_FILES, ReportBlock, reportFileNames, reportFiles } from '../report';
import { parseStructure } from '../grammar/parse';
import { countModel } from '../model/count';
import { ResumeOptions, RunStore, RUN_FILES } from './store';
import { buildSummary, SummaryExtras } from './summary';
import { Member, SearchConfig, SearchResult, SearchState } from './types';

/**
 * A run's files, from opening the output directory to the final outputs: the store
 * (candidates.jsonl, checkpoint.json, search.log, see ./store) and, once the loop has finished,
 * best.txt, summary.json and the report (report.html, report.md, plot SVGs). The loop itself
 * writes nothing; it records through the store as a RunRecorder.
 */

/** Where and how a run's files are opened. */
export interface RunOutputOptions {
  /** Output directory; none: the run is in memory only. */
  outDir?: string;
  /** Continue the run in outDir from its checkpoint. */
  resume?: boolean;
  /** Start afresh in an outDir that holds a search, deleting that search's files. */
  overwrite?: boolean;
}

/**
 * Open the run's store: a fresh one (state: undefined), or the checkpointed run in `outDir`
 * with the state to continue from. Errors name the options `outDir`, `resume`, `overwrite`.
 */
export function openRun(config: SearchConfig, o: RunOutputOptions, resume: ResumeOptions = {}): { store?: RunStore; state?: SearchState } {
  if (o.outDir !== undefined && (typeof o.outDir !== 'string' || o.outDir.trim() === '')) {
    throw keyedError('E_OPTION')`${opt('outDir')} must be a directory path, got ${JSON.stringify(o.outDir) ?? String(o.outDir)} (leave it out for a run in memory only)`;
  }
  if (o.outDir && o.resume) return RunStore.resume(o.outDir, config, resume);
  if (o.resume) throw keyedError('E_OPTION')`${opt('resume')} needs ${opt('outDir')} (the directory of the run to continue)`;
  return { store: o.outDir ? RunStore.create(o.outDir, { overwrite: o.overwrite }) : undefined };
}

/**
 * The best network block by block (countModel's rows, classifier included), when its key is a
 * PlainNet structure whose totals are the ones the search recorded; else null and why (a cell
 * space's key, or a space that counts differently): the report then shows the key only.
 */
export function bestBlocks(config: SearchConfig, best: Member | null): { blocks: ReportBlock[] | null; note?: string } {
  if (!best) return { blocks: null };
  let count: ReturnType<typeof countModel>;
  try {
    count = countModel(parseStructure(best.structure), { resolution: config.resolution, numClasses: config.numClasses, se: config.se });
  } catch {
    return { blocks: null, note: `No per-block table: the best network's key is not a PlainNet structure (space ${config.space}).` };
  }
  if (count.params !== best.params || count.flops !== best.flops) {
    return { blocks: null, note: `No per-block table: space ${config.space} counts this network as ${best.params} params / ${best.flops} FLOPs, the PlainNet counter as ${count.params} / ${count.flops}.` };
  }
  return { blocks: count.blocks.map((b) => ({ ...b })) };
}

/**
 * best.txt, summary.json, report.html, report.md and the report's SVGs of a run (after its last
 * checkpoint), all files of the run's manifest, each written atomically (a temporary file renamed
 * over the old one: a FIFO, device or link at a report's name is replaced, never written
 * through); returns the run's files (those not written, e.g. the latency plot of a run without
 * latency, left out).
 */
export function writeRunOutputs(store: RunStore, result: SearchResult, extras: SummaryExtras = {}): Record<string, string> {
  const files: Record<string, string> = {};
  for (const k of Object.keys(RUN_FILES) as Array<keyof typeof RUN_FILES>) files[k] = path.resolve(store.file(k));
  if (result.best) writeFileAtomic(files.best!, result.best.structure + '\n');
  else delete files.best;
  if (!fs.existsSync(files.log!)) delete files.log;
  const candidates = store.readCandidates();
  const { blocks, note } = bestBlocks(result.config, result.best);
  const written = reportFileNames({ candidates, bestBlocks: blocks });
  for (const k of Object.keys(REPORT_FILES) as Array<keyof typeof REPORT_FILES>) if (!written.includes(REPORT_FILES[k])) delete files[k];
  const summary = buildSummary(result, files, extras);
  writeFileAtomic(files.summary!, JSON.stringify(summary, null, 2) + '\n');
  for (const [name, text] of reportFiles({ summary, candidates, bestBlocks: blocks, bestBlocksNote: note })) writeFileAtomic(path.join(store.dir, name), text);
  return files;
}
