/** Error codes shared by the TypeScript library and the native engine. */
export type ZennasErrorCode =
  | 'E_PARSE'          // malformed structure string
  | 'E_STRUCTURE'      // well-formed but inconsistent structure (channel mismatch, bad sizes)
  | 'E_OPTION'         // invalid option / CLI flag / budget
  | 'E_DESCRIPTOR'     // inconsistent model descriptor reached the native engine
  | 'E_OUT_OF_MEMORY'  // model too large for the requested batch/resolution
  | 'E_BACKEND'        // backend unavailable (e.g. CUDA not compiled in, no GPU)
  | 'E_NATIVE'         // native addon missing or failed to load
  | 'E_CHECKPOINT'     // corrupt or mismatched checkpoint
  | 'E_IO'             // file system problem
  | 'E_CANCELLED'      // the call was cancelled (AbortSignal, engine.close())
  | 'E_INTERNAL';      // a bug: please report

/** The one error type thrown by zennas (both sides of the N-API boundary map to it). */
export class ZennasError extends Error {
  readonly code: ZennasErrorCode;
  /** 0-based character offset into the input, for parse errors. */
  readonly position?: number;

  constructor(code: ZennasErrorCode, message: string, position?: number) {
    super(message);
    this.name = 'ZennasError';
    this.code = code;
    if (position !== undefined) this.position = position;
  }
}

/** True when `e` is a ZennasError (works across module copies via the name+code shape). */
export function isZennasError(e: unknown): e is ZennasError {
  return e instanceof ZennasError || (e instanceof Error && e.name === 'ZennasError' && typeof (e as { code?: unknown }).code === 'string');
}
