import * as fs from 'fs';
import * as path from 'path';
import { keyedError, opt } from '../util/keyed-error';
import { writeFileAtomic } from '../util/write-atomic';
import { REPORT_FILES, renderHtml, renderMarkdown, reportPlots } from '../report';
import { ResumeOptions, RunStore, RUN_FILES } from './store';
import { buildSummary } from './summary';
import { SearchConfig, SearchResult, SearchState } from './types';

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
 * report.html, report.md and the plot SVGs, each written atomically (a temporary file renamed
 * over the old one: a FIFO, device or link at a report's name is replaced, never written through).
 */
function writeReportFiles(dir: string, input: Parameters<typeof renderHtml>[0]): void {
  const plots = reportPlots(input);
  const svg = (s: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${s}\n`;
  writeFileAtomic(path.join(dir, REPORT_FILES.plotBestVsIteration), svg(plots.bestVsIteration));
  writeFileAtomic(path.join(dir, REPORT_FILES.plotScoreVsParams), svg(plots.scoreVsParams));
  writeFileAtomic(path.join(dir, REPORT_FILES.plotScoreVsFlops), svg(plots.scoreVsFlops));
  writeFileAtomic(path.join(dir, REPORT_FILES.reportHtml), renderHtml(input, plots));
  writeFileAtomic(path.join(dir, REPORT_FILES.reportMd), renderMarkdown(input));
}

/**
 * best.txt, summary.json, report.html and report.md of a run (after its last checkpoint), all
 * files of the run's manifest; returns the run's files.
 */
export function writeRunOutputs(store: RunStore, result: SearchResult): Record<string, string> {
  const files: Record<string, string> = {};
  for (const k of Object.keys(RUN_FILES) as Array<keyof typeof RUN_FILES>) files[k] = path.resolve(store.file(k));
  if (result.best) writeFileAtomic(files.best!, result.best.structure + '\n');
  else delete files.best;
  if (!fs.existsSync(files.log!)) delete files.log;
  const summary = buildSummary(result, files);
  writeFileAtomic(files.summary!, JSON.stringify(summary, null, 2) + '\n');
  writeReportFiles(store.dir, { summary, candidates: store.readCandidates() });
  return files;
}
