/**
 * Errors that name the library's option keys (`population`, `budgets.params`, `outDir`) and that
 * a front end can re-render with its own names for them (the CLI: `--population`,
 * `--budget-params`, `--out`). The library never spells a CLI flag; the CLI never parses messages.
 *
 *   throw keyedError('E_OPTION')`${opt('population')} must be an integer in 1..${max}, got ${v}`;
 *   // message: "population must be an integer in 1..1000000, got 0"
 *   e.render((k) => FLAGS[k] ?? k);
 *   // "--population must be an integer in 1..1000000, got 0"
 */
import { ZennasError, ZennasErrorCode } from '../errors';

/** A reference to an option key inside a message. */
export interface OptionRef {
  readonly option: string;
}

/** Mark an option key in a `keyedError` message. */
export function opt(option: string): OptionRef {
  return { option };
}

/** A message as text with option references in it. */
export type MessagePart = string | OptionRef;

function isRef(p: unknown): p is OptionRef {
  return typeof p === 'object' && p !== null && typeof (p as OptionRef).option === 'string';
}

function renderParts(parts: readonly MessagePart[], name: (option: string) => string): string {
  return parts.map((p) => (typeof p === 'string' ? p : name(p.option))).join('');
}

/** A ZennasError whose message names option keys; `message` shows the keys as they are. */
export class KeyedError extends ZennasError {
  readonly parts: readonly MessagePart[];

  constructor(code: ZennasErrorCode, parts: readonly MessagePart[]) {
    super(code, renderParts(parts, (k) => k));
    this.parts = parts;
  }

  /** The option keys the message names, in order. */
  get options(): string[] {
    return this.parts.filter(isRef).map((p) => p.option);
  }

  /** The message with each option key replaced by `name(key)` (e.g. a CLI flag). */
  render(name: (option: string) => string): string {
    return renderParts(this.parts, name);
  }
}

/** Tagged template for a KeyedError: `${opt('key')}` marks an option, any other value is text. */
export function keyedError(code: ZennasErrorCode): (strings: TemplateStringsArray, ...values: unknown[]) => KeyedError {
  return (strings, ...values) => {
    const parts: MessagePart[] = [];
    strings.forEach((s, i) => {
      if (s) parts.push(s);
      if (i < values.length) {
        const v = values[i];
        parts.push(isRef(v) ? v : String(v));
      }
    });
    return new KeyedError(code, parts);
  };
}

/** `e` with its option keys renamed when it is a KeyedError (as a plain ZennasError), else `e`. */
export function renameOptions(e: unknown, name: (option: string) => string): unknown {
  if (!(e instanceof KeyedError)) return e;
  const out = new ZennasError(e.code, e.render(name), e.position);
  out.stack = e.stack?.replace(e.message, out.message);
  return out;
}
