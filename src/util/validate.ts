/** Option checks shared by the engine, the ONNX exporter and the TensorRT runner (E_OPTION errors naming the option). */
import { ZennasError } from '../errors';

export function optionError(msg: string): never {
  throw new ZennasError('E_OPTION', msg);
}

/** A value as a message shows it: strings quoted, numbers as written, anything else by its type. */
export function describe(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : typeof v === 'number' ? String(v) : v === null ? 'null' : typeof v;
}

export function checkInt(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) optionError(`${name} must be an integer in [${lo}, ${hi}], got ${describe(v)}`);
  return v as number;
}

export function checkPositive(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) optionError(`${name} must be a finite number > 0, got ${describe(v)}`);
  return v as number;
}

/** Edit distance (insert, delete, substitute: 1 each) — for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

/** The known key a misspelt `key` most likely meant (same letters in another case, or ≤ 2 edits away). */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const same = known.find((k) => k.toLowerCase() === lower);
  if (same) return same;
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const dist = editDistance(lower, k.toLowerCase());
    if (dist < bestD) { best = k; bestD = dist; }
  }
  return best;
}

/** E_OPTION for the first key of `given` not in `known`, with a "did you mean" hint and the valid keys. */
export function checkKnownKeys(what: string, given: object, known: readonly string[]): void {
  for (const k of Object.keys(given)) {
    if (!known.includes(k)) {
      const near = nearestKey(k, known);
      optionError(`unknown ${what} option '${k}'${near ? ` (did you mean '${near}'?)` : ''}; valid: ${known.join(', ')}`);
    }
  }
}
