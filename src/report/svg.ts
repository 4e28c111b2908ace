/**
 * A tiny SVG plotting module for self-contained reports: line and scatter plots with axes,
 * "nice" ticks and labels. Output is a standalone <svg> string (no scripts, no external resources).
 */

/** One data series. */
export interface Series {
  label: string;
  points: ReadonlyArray<readonly [number, number]>;
  color: string;
  /** 'line' joins the points (as a step line when `step`), 'dots' draws circles. */
  style: 'line' | 'dots';
  step?: boolean;
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
  /** Dashed vertical markers (e.g. a budget), included in the x range. */
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
  const pad = (hi - lo) * 0.04;
  return [lo - pad, hi + pad];
}

const f1 = (v: number) => (Math.round(v * 10) / 10).toString();

/** Render a plot to a standalone SVG string. */
export function renderPlot(spec: PlotSpec): string {
  const W = spec.width ?? 640;
  const H = spec.height ?? 360;
  const m = { left: 64, right: 16, top: 32, bottom: 48 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const fx = spec.formatX ?? shortNumber;
  const fy = spec.formatY ?? shortNumber;
  const all = spec.series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const vlines = (spec.vlines ?? []).filter((v) => Number.isFinite(v.x));
  const [x0, x1] = extent([...all.map((p) => p[0]), ...(all.length ? vlines.map((v) => v.x) : [])]);
  const [y0, y1] = extent(all.map((p) => p[1]));
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>${xmlEscape(spec.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${xmlEscape(spec.title)}</text>`);
  // grid and ticks
  for (const t of niceTicks(x0, x1, 6).filter((t) => t >= x0 && t <= x1)) {
    const x = f1(sx(t));
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#eeeeee"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 14}" text-anchor="middle" fill="#444444">${xmlEscape(fx(t))}</text>`);
  }
  for (const t of niceTicks(y0, y1, 5).filter((t) => t >= y0 && t <= y1)) {
    const y = f1(sy(t));
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#eeeeee"/>`);
    out.push(`<text x="${m.left - 6}" y="${y}" dy="4" text-anchor="end" fill="#444444">${xmlEscape(fy(t))}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888888"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">${xmlEscape(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${xmlEscape(spec.yLabel)}</text>`);
  if (all.length === 0) {
    out.push(`<text x="${m.left + pw / 2}" y="${m.top + ph / 2}" text-anchor="middle" fill="#888888">no data</text>`);
  }
  for (const s of spec.series) {
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length === 0) continue;
    if (s.style === 'line') {
      let d = '';
      pts.forEach(([x, y], i) => {
        if (i === 0) d += `M${f1(sx(x))} ${f1(sy(y))}`;
        else if (s.step) d += `H${f1(sx(x))}V${f1(sy(y))}`;
        else d += `L${f1(sx(x))} ${f1(sy(y))}`;
      });
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"/>`);
    } else {
      const r = s.radius ?? 2;
      out.push(`<g fill="${s.color}" fill-opacity="${s.opacity ?? 0.5}">`);
      for (const [x, y] of pts) out.push(`<circle cx="${f1(sx(x))}" cy="${f1(sy(y))}" r="${r}"/>`);
      out.push('</g>');
    }
  }
  if (all.length) {
    for (const v of vlines) {
      const x = f1(sx(v.x));
      out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="${v.color}" stroke-dasharray="5 4" stroke-width="1.2"/>`);
      out.push(`<text x="${x}" y="${m.top + ph - 6}" dx="-4" text-anchor="end" fill="${v.color}">${xmlEscape(v.label)}</text>`);
    }
  }
  // legend
  spec.series.forEach((s, i) => {
    const y = m.top + 12 + i * 14;
    const x = m.left + 8;
    out.push(s.style === 'line'
      ? `<line x1="${x}" y1="${y - 4}" x2="${x + 14}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"/>`
      : `<circle cx="${x + 7}" cy="${y - 4}" r="3.5" fill="${s.color}"/>`);
    out.push(`<text x="${x + 20}" y="${y}">${xmlEscape(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
