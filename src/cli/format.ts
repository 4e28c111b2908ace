/**
 * One number style for every command's text output: counts to 3 significant digits with k/M/G/T
 * (`1.04M`), the exact count with thousands separators beside it where it matters
 * (`1.04M (1,039,932)`), sizes in binary units (`3.2 MiB`), durations as src/util/units says.
 * JSON output carries the raw numbers.
 */
import { formatCount } from '../util/units';

/** A count for tables: 1234567 → `1.23M` (formatCount: 3 significant digits, k/M/G/T). */
export function human(n: number): string {
  return formatCount(n);
}

/** The exact integer with thousands separators: 1039932 → `1,039,932`. */
export function exact(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}

/** A count with its exact value: `1.04M (1,039,932)`; below 1000 just the number. */
export function countText(n: number): string {
  return Math.abs(n) < 1000 ? exact(n) : `${human(n)} (${exact(n)})`;
}

/** A size in bytes in binary units: 512 → `512 B`, 3355443 → `3.2 MiB`. */
export function bytesText(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${u === 0 ? v : Number(v.toPrecision(3))} ${units[u]}`;
}
