/**
 * Progress of long work on stderr, for every command: a bar that fits the terminal on a TTY, and
 * plain lines every few seconds when stderr is a file or a pipe (`> log 2>&1`), so a log shows how
 * a run is going. No ETA before the rate is known (never `ETA 0s` at the start).
 *
 *   const p = startProgress({ label: 'search', total: 2000, unit: 'it' });
 *   p.update(120, 'best 3.21 | pop 64 | 12.3 cand/s');
 *   p.stop();
 */
import { formatDuration } from '../util/units';

export interface ProgressOptions {
  /** What is being done, first on the line: `search`, `scoring`, `lut build`. */
  label: string;
  total: number;
  /** Unit of `done`/`total`: `it`, `repeats`, `entries`. */
  unit: string;
  /** Off (e.g. --json, --quiet, --no-progress): every call is a no-op. */
  enabled?: boolean;
  /** Default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when the stream is not a TTY (default 5; ZENNAS_PROGRESS_SECONDS overrides). */
  plainEverySeconds?: number;
}

export interface Progress {
  /** `done` of `total`; `detail` is shown after the count (keep it short). */
  update(done: number, detail?: string): void;
  /** A one-off note on its own line (the bar is redrawn after it). */
  log(line: string): void;
  /** Finish: clears the bar on a TTY; prints the last plain line otherwise. */
  stop(): void;
}

const NOOP: Progress = { update() {}, log() {}, stop() {} };

/** `ETA 2m 5s`-style remaining time from the mean rate since the start; `ETA …` until it is known. */
function eta(done: number, total: number, seconds: number): string {
  if (done <= 0 || seconds < 0.5 || done >= total) return done >= total ? 'done' : 'ETA …';
  const left = ((total - done) * seconds) / done;
  // Floors, so a minute never reads 60.
  if (left >= 3600) return `ETA ${Math.floor(left / 3600)}h${String(Math.floor((left % 3600) / 60)).padStart(2, '0')}m`;
  if (left >= 60) return `ETA ${Math.floor(left / 60)}m${String(Math.floor(left % 60)).padStart(2, '0')}s`;
  return `ETA ${Math.max(1, Math.round(left))}s`;
}

/**
 * The text of one progress line for a terminal of `columns` (undefined: a plain log line). The bar
 * takes the room that is left; when there is none, the line keeps count and ETA and drops the
 * detail's last ` | ` parts first (callers put the least useful part last), never wrapping.
 */
export function progressLine(o: { label: string; unit: string }, done: number, total: number, seconds: number, detail: string, columns: number | undefined): string {
  const pct = total > 0 ? Math.min(100, Math.floor((100 * done) / total)) : 0;
  const count = `${done}/${total} ${o.unit}`;
  const e = eta(done, total, seconds);
  if (columns === undefined) return `${o.label}: ${[count, detail, e].filter(Boolean).join(' | ')} (${pct}%, ${formatDuration(seconds * 1000)} so far)`;
  const max = columns - 1;
  const tail = [count, detail, e].filter(Boolean).join(' | ');
  const room = max - o.label.length - tail.length - 4;
  if (room >= 10) {
    const width = Math.min(40, room);
    const full = Math.round((width * pct) / 100);
    return `${o.label} [${'█'.repeat(full)}${'░'.repeat(width - full)}] ${tail}`;
  }
  const parts = detail ? detail.split(' | ') : [];
  for (let n = parts.length; n >= 0; n--) {
    const text = [`${o.label} ${pct}% ${count}`, e, ...parts.slice(0, n)].join(' | ');
    if (text.length <= max) return text;
  }
  const text = `${o.label} ${pct}% ${count} | ${e}`;
  return text.slice(0, Math.max(0, max - 1)) + '…';
}

export function startProgress(o: ProgressOptions): Progress {
  if (o.enabled === false) return NOOP;
  const stream = o.stream ?? process.stderr;
  const t0 = performance.now();
  const secs = () => (performance.now() - t0) / 1000;
  let done = 0;
  let detail = '';
  if (stream.isTTY) {
    let last = 0;
    let drawn = false;
    const draw = (force = false) => {
      const now = performance.now();
      if (!force && now - last < 100) return; // ≤ 10 redraws a second
      last = now;
      stream.write(`\r\x1b[2K${progressLine(o, done, o.total, secs(), detail, stream.columns || 80)}`);
      drawn = true;
    };
    return {
      update(d, text) { done = d; detail = text ?? detail; draw(); },
      log(line) { stream.write(`${drawn ? '\r\x1b[2K' : ''}${line}\n`); if (drawn) draw(true); },
      stop() { if (drawn) stream.write('\r\x1b[2K'); drawn = false; },
    };
  }
  const env = Number(process.env.ZENNAS_PROGRESS_SECONDS);
  const every = (Number.isFinite(env) && env > 0 ? env : o.plainEverySeconds ?? 5) * 1000;
  let lastLine = performance.now();
  let printed = false;
  const line = () => { stream.write(progressLine(o, done, o.total, secs(), detail, undefined) + '\n'); printed = true; lastLine = performance.now(); };
  return {
    update(d, text) {
      done = d;
      detail = text ?? detail;
      if (performance.now() - lastLine >= every) line();
    },
    log(l) { stream.write(l + '\n'); },
    // A final line only when the log already shows progress (a short run stays quiet).
    stop() { if (printed && done > 0) line(); printed = false; },
  };
}
