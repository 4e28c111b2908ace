/** Geometry of the report's SVGs, read back from the markup src/report/svg.ts writes (for the legend/overlap checks). */

export interface Box { x: number; y: number; width: number; height: number }
export interface Circle { cx: number; cy: number; r: number }

const num = (s: string | undefined) => Number(s);

/** The rect with `class="<cls>"`. */
function classRect(svg: string, cls: string): Box {
  const m = svg.match(new RegExp(`<rect class="${cls}" x="([-\\d.]+)" y="([-\\d.]+)" width="([-\\d.]+)" height="([-\\d.]+)"`));
  if (!m) throw new Error(`no rect of class ${cls}`);
  return { x: num(m[1]), y: num(m[2]), width: num(m[3]), height: num(m[4]) };
}

export const plotArea = (svg: string): Box => classRect(svg, 'plot-area');
export const legendBox = (svg: string): Box => classRect(svg, 'legend-box');

/** The data points (circles of the `points` groups), of one series when `series` names it (a prefix of its label). */
export function circles(svg: string, series?: string): Circle[] {
  const out: Circle[] = [];
  for (const g of svg.matchAll(/<g class="points" data-series="([^"]*)"[^>]*>([\s\S]*?)<\/g>/g)) {
    if (series !== undefined && !g[1]!.startsWith(series)) continue;
    for (const c of g[2]!.matchAll(/<circle cx="([-\d.]+)" cy="([-\d.]+)" r="([\d.]+)"\/>/g)) out.push({ cx: num(c[1]), cy: num(c[2]), r: num(c[3]) });
  }
  return out;
}

/** Whether two boxes share any area. */
export function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}
