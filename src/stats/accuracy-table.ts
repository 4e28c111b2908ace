/**
 * (architecture, accuracy) tables as users export them, e.g. from their own copy of
 * NAS-Bench-201: CSV (RFC 4180: comma separated, optional double quotes, "" inside quotes), a
 * header row naming the columns, '#' lines are comments. The architecture column is `genotype`
 * (a NAS-Bench-201 string), `index` (the benchmark index) or `structure` (a PlainNet string);
 * the accuracy column is `accuracy` unless named otherwise.
 */
import { ZennasError } from '../errors';

/** One row: the architecture as written and its accuracy. */
export interface AccuracyRow {
  /** 1-based line of the row in the file (for messages). */
  line: number;
  arch: string;
  accuracy: number;
}

/** A parsed table. */
export interface AccuracyTable {
  /** Which column held the architectures. */
  archColumn: 'genotype' | 'index' | 'structure';
  accuracyColumn: string;
  rows: AccuracyRow[];
}

/** Split CSV text into records of fields (quotes may hold commas and newlines). */
export function parseCsv(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false, line = 1, start = 1, any = false;
  const endRecord = () => {
    fields.push(field);
    if (any || fields.length > 1 || field !== '') out.push({ line: start, fields });
    fields = []; field = ''; any = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') { quoted = true; any = true; }
    else if (ch === ',') { fields.push(field); field = ''; any = true; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else field += ch;
  }
  if (quoted) throw new ZennasError('E_PARSE', `CSV: unterminated quoted field starting on line ${start}`);
  if (field !== '' || fields.length > 0 || any) endRecord();
  return out;
}

/** Parse an accuracy table; E_PARSE names the line and column of what is wrong. */
export function parseAccuracyTable(text: string, o: { accuracyColumn?: string; file?: string } = {}): AccuracyTable {
  const where = o.file ?? 'table';
  const records = parseCsv(text).filter((r) => !(r.fields.length >= 1 && r.fields[0]!.trimStart().startsWith('#')));
  if (records.length === 0) throw new ZennasError('E_PARSE', `${where}: empty (expected a header row such as 'genotype,accuracy')`);
  const header = records[0]!.fields.map((h) => h.trim());
  const archColumn = (['genotype', 'index', 'structure'] as const).find((c) => header.includes(c));
  if (!archColumn) throw new ZennasError('E_PARSE', `${where}: the header (${header.join(',')}) has no 'genotype', 'index' or 'structure' column`);
  const accuracyColumn = o.accuracyColumn ?? 'accuracy';
  const ai = header.indexOf(accuracyColumn), gi = header.indexOf(archColumn);
  if (ai < 0) throw new ZennasError('E_PARSE', `${where}: the header (${header.join(',')}) has no '${accuracyColumn}' column${o.accuracyColumn ? '' : ' (name another with --accuracy-column)'}`);
  const rows: AccuracyRow[] = [];
  for (const r of records.slice(1)) {
    if (r.fields.length !== header.length) throw new ZennasError('E_PARSE', `${where} line ${r.line}: ${r.fields.length} fields, the header has ${header.length}`);
    const arch = r.fields[gi]!.trim();
    const acc = r.fields[ai]!.trim();
    const accuracy = Number(acc);
    if (acc === '' || !Number.isFinite(accuracy)) throw new ZennasError('E_PARSE', `${where} line ${r.line}: ${accuracyColumn} '${acc}' is not a number`);
    if (arch === '') throw new ZennasError('E_PARSE', `${where} line ${r.line}: empty ${archColumn}`);
    rows.push({ line: r.line, arch, accuracy });
  }
  if (rows.length < 2) throw new ZennasError('E_PARSE', `${where}: ${rows.length} row(s); a rank correlation needs at least 2`);
  return { archColumn, accuracyColumn, rows };
}
