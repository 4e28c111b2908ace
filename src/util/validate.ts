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
