/** What the engine fuzz suites accept as an outcome of one engine call (README "Guarantees"). */
import { ZennasError } from '../../src/errors';

/** Codes an engine call may reject with (src/errors.ts); E_INTERNAL and anything else is a bug. */
export const ENGINE_CODES = new Set(['E_OPTION', 'E_DESCRIPTOR', 'E_STRUCTURE', 'E_OUT_OF_MEMORY', 'E_BACKEND', 'E_CANCELLED']);

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Runs `f`, turning a synchronous throw into a failed outcome too (the caller decides if a sync throw is allowed). */
export async function settle(f: () => unknown): Promise<Outcome & { sync: boolean }> {
  let p: unknown;
  try {
    p = f();
  } catch (error) {
    return { ok: false, error, sync: true };
  }
  try {
    return { ok: true, value: await p, sync: false };
  } catch (error) {
    return { ok: false, error, sync: false };
  }
}

/** Why an outcome breaks the contract, or null: a ZennasError with an allowed code, or a finite / flagged result. */
export function violation(o: Outcome, codes: ReadonlySet<string> = ENGINE_CODES): string | null {
  if (!o.ok) {
    const e = o.error;
    if (!(e instanceof ZennasError)) return `not a ZennasError: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`;
    if (!codes.has(e.code)) return `code ${e.code} not allowed here (${[...codes].join(', ')}): ${e.message}`;
    if (!e.message) return `${e.code} without a message`;
    return null;
  }
  const v = o.value as { scores?: unknown; mean?: unknown; degenerate?: unknown } | unknown[] | null;
  if (Array.isArray(v) || v === null || typeof v !== 'object') return null; // bnStatistics / latency checked by the caller
  if (!('scores' in v)) return null;
  const flagged = Array.isArray(v.degenerate) && v.degenerate.length > 0 && v.degenerate.every((r) => typeof r === 'string' && r.length > 0);
  const scores = v.scores as number[];
  if (!Array.isArray(scores) || scores.length === 0) return 'no scores';
  if (!flagged && !(scores.every(Number.isFinite) && Number.isFinite(v.mean))) return `non-finite score without a degenerate flag: ${JSON.stringify(scores.map(String))}`;
  return null;
}
