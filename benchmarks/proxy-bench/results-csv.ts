/**
 * The committed accuracy CSV of the benchmark, one line per trained net, appended as each net
 * finishes (resumable: a rerun skips the nets the file already has for the same recipe). A last
 * line without its newline (a run killed mid-write) is dropped on reading and cut on the next
 * append. The columns include `structure` and `accuracy`, so `zennas correlate` reads it as is.
 */
import * as fs from 'fs';
import { ZennasError } from '../../src/errors';
import { parseCsv } from '../../src/stats/accuracy-table';
import { readRegularFile } from '../../src/util/files';

export const CSV_COLUMNS = ['id', 'space', 'structure', 'params', 'flops', 'layers', 'accuracy', 'train_loss', 'train_seconds', 'recipe', 'epochs', 'train_images', 'test_images', 'seed', 'commit'] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];
export type TrainedRow = Record<CsvColumn, string>;

/** A field as CSV writes it: quoted when it holds a comma, a quote or a newline. */
export function csvField(v: string | number): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line (with its newline) of a row. */
export function csvLine(row: TrainedRow): string {
  return CSV_COLUMNS.map((c) => csvField(row[c])).join(',') + '\n';
}

/** The complete lines of a CSV text: a trailing partial line (no final newline) is left out. */
function completeText(text: string): string {
  const end = text.lastIndexOf('\n');
  return end < 0 ? '' : text.slice(0, end + 1);
}

/** Rows of the results CSV (E_PARSE on a header that is not CSV_COLUMNS); [] for a missing file. */
export function readResults(file: string): TrainedRow[] {
  if (!fs.existsSync(file)) return [];
  const text = completeText(readRegularFile(file, { maxBytes: 16 << 20, what: 'results CSV', code: 'E_PARSE' }).toString('utf8'));
  const records = parseCsv(text);
  if (records.length === 0) return [];
  const header = records[0]!.fields;
  if (header.join(',') !== CSV_COLUMNS.join(',')) throw new ZennasError('E_PARSE', `${file}: header '${header.join(',')}' is not '${CSV_COLUMNS.join(',')}'`);
  return records.slice(1).map((r) => {
    if (r.fields.length !== CSV_COLUMNS.length) throw new ZennasError('E_PARSE', `${file} line ${r.line}: ${r.fields.length} fields, expected ${CSV_COLUMNS.length}`);
    return Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, r.fields[i]!])) as TrainedRow;
  });
}

/** The key a net is done under: its id, structure and recipe (a changed list or recipe retrains). */
export function rowKey(r: Pick<TrainedRow, 'id' | 'structure' | 'recipe'>): string {
  return `${r.id}\u0000${r.structure}\u0000${r.recipe}`;
}

/** Append one row, writing the header first for a new file and cutting a partial last line. */
export function appendResult(file: string, row: TrainedRow): void {
  let text = fs.existsSync(file) ? readRegularFile(file, { maxBytes: 16 << 20, what: 'results CSV', code: 'E_PARSE' }).toString('utf8') : '';
  const complete = completeText(text);
  if (complete.length !== text.length) fs.truncateSync(file, Buffer.byteLength(complete));
  text = complete;
  const fd = fs.openSync(file, 'a');
  try {
    fs.writeSync(fd, (text === '' ? CSV_COLUMNS.join(',') + '\n' : '') + csvLine(row));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Which of `nets` still need training under `recipe`, given the rows already written. */
export function pendingNets<T extends { id: string; structure: string }>(nets: readonly T[], done: readonly TrainedRow[], recipe: string): T[] {
  const have = new Set(done.map(rowKey));
  return nets.filter((n) => !have.has(rowKey({ id: n.id, structure: n.structure, recipe })));
}
