/**
 * A tiny SVG plotting module for self-contained reports: line and scatter plots with axes,
 * "nice" ticks (linear or log10), labels and a legend. Output is a standalone <svg> string (no
 * scripts, no external resources). The legend sits in a strip between the title and the plot
 * area, never inside it, so it cannot cover a data point; its box and the plot area are marked
 * (class="legend-box", class="plot-area") so tests can check that from the geometry.
 */

/** One data series. */
export interface Series {
  label: string;
  points: ReadonlyArray<readonly [number, number]>;
  color: string;
  /** 'line' joins the points (as a step line when `step`), 'dots' draws circles. */
  style: 'line' | 'dots';
  step?: boolean;
  /** A 'line' series also marks its points with dots of this radius. */
  markers?: number;
  /** Dashed line. */
  dashed?: boolean;
  radius?: number;
  opacity?: number;
}

/** A plot: axes, labels and series. */
export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Formats tick labels (default: short numbers). */
  formatX?: (v: number) => string;
  formatY?: (v: number) => string;
  /** 'log': log10 x axis (every x must be > 0; others are dropped). Default 'linear'. */
  xScale?: 'linear' | 'log';
  /** Dashed vertical markers (e.g. a budget), included in the x range and listed in the legend. */
  vlines?: Array<{ x: number; label: string; color: string }>;
}

/** Escape text for XML. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Round-number ticks covering [lo, hi] (about `count` of them). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi <= lo) {
    const d = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/**
 * Ticks of a log10 axis over [lo, hi] (lo > 0): the powers of ten when the range spans three
 * decades or more, else 1-2-5 multiples, else every 1..9 multiple (so there are at least two).
 */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !(hi >= lo) || !Number.isFinite(hi)) return [];
  const k0 = Math.floor(Math.log10(lo));
  const k1 = Math.ceil(Math.log10(hi));
  const within = (mults: number[]) => {
    const out: number[] = [];
    for (let k = k0; k <= k1; k++) for (const m of mults) {
      const v = Number((m * 10 ** k).toPrecision(12));
      if (v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) out.push(v);
    }
    return out;
  };
  for (const mults of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const t = within(mults);
    if (t.length >= 3 || (mults.length === 9 && t.length >= 1)) return t;
  }
  return [];
}

/** Whether positive values span enough of a range (max/min ≥ `ratio`, default 20) to be drawn on a log axis. */
export function spansDecades(values: readonly number[], ratio = 20): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v <= 0) return false;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo !== Infinity && hi / lo >= ratio;
}

/** Short number: 1.2M, 350k, 12.5. */
export function shortNumber(v: number): string {
  const a = Math.abs(v);
  const p = (x: number) => String(Number(x.toPrecision(3)));
  if (a >= 1e9) return p(v / 1e9) + 'G';
  if (a >= 1e6) return p(v / 1e6) + 'M';
  if (a >= 1e3) return p(v / 1e3) + 'k';
  return p(v);
}

function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - (Math.abs(lo) * 0.05 || 1), hi + (Math.abs(hi) * 0.05 || 1)];
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** Approximate advance width of `text` at font size `size` in a sans-serif face (for layout only). */
export function textWidth(text: string, size = 11): number {
  return [...text].length * size * 0.58;
}

/** One legend entry as laid out: its swatch and text, and the box they occupy. */
interface LegendItem {
  label: string;
  x: number;
  y: number;
  width: number;
  draw: string;
}

/** Lay the legend out in rows of width ≤ `maxWidth` starting at (x0, y0); returns the items and its height. */
function layoutLegend(entries: Array<{ label: string; swatch: (x: number, y: number) => string }>, x0: number, y0: number, maxWidth: number): { items: LegendItem[]; height: number } {
  const rowH = 15;
  const items: LegendItem[] = [];
  let x = x0;
  let row = 0;
  for (const e of entries) {
    const w = 20 + textWidth(e.label) + 14;
    if (x > x0 && x + w > x0 + maxWidth) { row++; x = x0; }
    const y = y0 + row * rowH + 11;
    items.push({ label: e.label, x, y, width: w, draw: `${e.swatch(x, y - 4)}<text x="${f1(x + 20)}" y="${y}">${xmlEscape(e.label)}</text>` });
    x += w;
  }
  return { items, height: entries.length ? (row + 1) * rowH + 4 : 0 };
}

/** Render a plot to a standalone SVG string. */
export function renderPlot(spec: PlotSpec): string {
  const W = spec.width ?? 600;
  const H = spec.height ?? 380;
  const log = spec.xScale === 'log';
  const fx = spec.formatX ?? shortNumber;
  const fy = spec.formatY ?? shortNumber;
  const usable = ([x, y]: readonly [number, number]) => Number.isFinite(x) && Number.isFinite(y) && (!log || x > 0);
  const series = spec.series.map((s) => ({ ...s, points: s.points.filter(usable) }));
  const all = series.flatMap((s) => s.points);
  const vlines = (spec.vlines ?? []).filter((v) => Number.isFinite(v.x) && (!log || v.x > 0));

  // Legend strip under the title: its height decides where the plot area starts.
  const left = 64;
  const right = 16;
  const entries = [
    ...series.map((s) => ({
      label: s.label,
      swatch: (x: number, y: number) => s.style === 'line'
        ? `<line x1="${f1(x)}" y1="${f1(y)}" x2="${f1(x + 14)}" y2="${f1(y)}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>` +
          (s.markers ? `<circle cx="${f1(x + 7)}" cy="${f1(y)}" r="3" fill="${s.color}"/>` : '')
        : `<circle cx="${f1(x + 7)}" cy="${f1(y)}" r="3.5" fill="${s.color}"/>`,
    })),
    ...(all.length ? vlines : []).map((v) => ({
      label: v.label,
      swatch: (x: number, y: number) => `<line x1="${f1(x + 7)}" y1="${f1(y - 6)}" x2="${f1(x + 7)}" y2="${f1(y + 6)}" stroke="${v.color}" stroke-dasharray="3 2" stroke-width="1.5"/>`,
    })),
  ];
  const legend = layoutLegend(entries, left, 26, W - left - right);
  const m = { left, right, top: 30 + legend.height, bottom: 48 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;

  const tx = (x: number) => (log ? Math.log10(x) : x);
  const [x0, x1] = extent([...all.map((p) => tx(p[0])), ...(all.length ? vlines.map((v) => tx(v.x)) : [])]);
  const [y0, y1] = extent(all.map((p) => p[1]));
  const sx = (x: number) => m.left + ((tx(x) - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>${xmlEscape(spec.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${xmlEscape(spec.title)}</text>`);
  // grid and ticks
  const xTicks = log ? logTicks(10 ** x0, 10 ** x1) : niceTicks(x0, x1, 6).filter((t) => t >= x0 && t <= x1);
  for (const t of all.length ? xTicks : []) {
    const x = f1(sx(t));
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#eeeeee"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 14}" text-anchor="middle" fill="#444444">${xmlEscape(fx(t))}</text>`);
  }
  for (const t of all.length ? niceTicks(y0, y1, 6).filter((t) => t >= y0 && t <= y1) : []) {
    const y = f1(sy(t));
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#eeeeee"/>`);
    out.push(`<text x="${m.left - 6}" y="${y}" dy="4" text-anchor="end" fill="#444444">${xmlEscape(fy(t))}</text>`);
  }
  out.push(`<rect class="plot-area" x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888888"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">${xmlEscape(spec.xLabel + (log ? ' (log scale)' : ''))}</text>`);
  out.push(`<text transform="translate(14 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${xmlEscape(spec.yLabel)}</text>`);
  if (all.length === 0) {
    out.push(`<text x="${m.left + pw / 2}" y="${m.top + ph / 2}" text-anchor="middle" fill="#888888">no data</text>`);
  }
  if (all.length) {
    for (const v of vlines) {
      const x = f1(sx(v.x));
      out.push(`<line class="marker" x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="${v.color}" stroke-dasharray="5 4" stroke-width="1.2"/>`);
    }
  }
  for (const s of series) {
    const pts = s.points;
    if (pts.length === 0) continue;
    if (s.style === 'line') {
      let d = '';
      pts.forEach(([x, y], i) => {
        if (i === 0) d += `M${f1(sx(x))} ${f1(sy(y))}`;
        else if (s.step) d += `H${f1(sx(x))}V${f1(sy(y))}`;
        else d += `L${f1(sx(x))} ${f1(sy(y))}`;
      });
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    }
    if (s.style === 'dots' || s.markers) {
      const r = s.style === 'dots' ? s.radius ?? 2 : s.markers!;
      out.push(`<g class="points" data-series="${xmlEscape(s.label)}" fill="${s.color}" fill-opacity="${s.opacity ?? (s.style === 'dots' ? 0.5 : 1)}">`);
      for (const [x, y] of pts) out.push(`<circle cx="${f1(sx(x))}" cy="${f1(sy(y))}" r="${r}"/>`);
      out.push('</g>');
    }
  }
  if (entries.length) {
    const lx = Math.min(...legend.items.map((i) => i.x));
    const lw = Math.max(...legend.items.map((i) => i.x + i.width)) - lx;
    out.push('<g class="legend">');
    out.push(`<rect class="legend-box" x="${f1(lx - 4)}" y="26" width="${f1(lw + 4)}" height="${legend.height}" fill="none" stroke="none"/>`);
    for (const i of legend.items) out.push(i.draw);
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n');
}
