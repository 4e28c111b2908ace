/**
 * The best network as a block diagram: one box per block (type, channels, stride, resolution,
 * params, FLOPs) in reading order, wrapped into rows, joined by arrows. Drawn only from the
 * generic per-block counts (ReportBlock), so any block family the grammar learns is drawn
 * without changes here; colours come from the type name.
 */
import { ReportBlock } from './types';
import { shortNumber, textWidth, xmlEscape } from './svg';

const PALETTE = ['#dbe9f6', '#fde2c8', '#d9f0d3', '#f6d5d5', '#e5dcf2', '#f3e6cf', '#d5eef0', '#f0d9ea'];
const STROKES = ['#3b75af', '#d9822b', '#3a8f3a', '#c23b3b', '#7b5ba6', '#9a7430', '#2b8f99', '#a8467f'];

/** A stable palette index of a block type (same type, same colour, across reports). */
export function typeColor(type: string): { fill: string; stroke: string } {
  if (type === 'Classifier') return { fill: '#eeeeee', stroke: '#777777' };
  let h = 2166136261;
  for (let i = 0; i < type.length; i++) h = Math.imul(h ^ type.charCodeAt(i), 16777619) >>> 0;
  const k = h % PALETTE.length;
  return { fill: PALETTE[k]!, stroke: STROKES[k]! };
}

/** Layout of the diagram: box size, gaps and how many boxes a row holds. */
export interface DiagramLayout {
  width: number;
  boxWidth: number;
  boxHeight: number;
  gap: number;
  perRow: number;
}

/** The layout for `width` pixels. */
export function diagramLayout(width = 1232): DiagramLayout {
  const boxWidth = 180;
  const gap = 22;
  const perRow = Math.max(1, Math.floor((width - 16 + gap) / (boxWidth + gap)));
  return { width, boxWidth, boxHeight: 86, gap, perRow };
}

function clip(text: string, px: number, size: number): string {
  if (textWidth(text, size) <= px) return text;
  const chars = Math.max(1, Math.floor(px / (size * 0.58)) - 1);
  return [...text].slice(0, chars).join('') + '…';
}

/** Render the blocks as a standalone SVG (empty list: a note instead). */
export function renderBlockDiagram(blocks: readonly ReportBlock[], opts: { title?: string; width?: number } = {}): string {
  const L = diagramLayout(opts.width);
  const title = opts.title ?? 'Best network';
  const rows = Math.max(1, Math.ceil(blocks.length / L.perRow));
  const rowGap = 34;
  const top = 34;
  const H = top + rows * L.boxHeight + (rows - 1) * rowGap + 12;
  const totalFlops = blocks.reduce((a, b) => a + b.flops, 0) || 1;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="block-diagram" width="${L.width}" height="${H}" viewBox="0 0 ${L.width} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>${xmlEscape(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${L.width}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="8" y="20" font-size="13" font-weight="bold">${xmlEscape(title)}</text>`);
  out.push(`<text x="${L.width - 8}" y="20" text-anchor="end" fill="#666666">bar: share of the network's FLOPs</text>`);
  out.push('<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L8 4L0 8z" fill="#777777"/></marker></defs>');
  if (blocks.length === 0) out.push(`<text x="${L.width / 2}" y="${top + 40}" text-anchor="middle" fill="#888888">no blocks</text>`);
  const pos = (i: number) => {
    const r = Math.floor(i / L.perRow);
    const c = i % L.perRow;
    return { x: 8 + c * (L.boxWidth + L.gap), y: top + r * (L.boxHeight + rowGap) };
  };
  blocks.forEach((b, i) => {
    const { x, y } = pos(i);
    const col = typeColor(b.type);
    const inner = L.boxWidth - 12;
    const res = b.inputResolution === b.outputResolution ? `${b.inputResolution}×${b.inputResolution}` : `${b.inputResolution}×${b.inputResolution} → ${b.outputResolution}×${b.outputResolution}`;
    const lines = [
      `ch ${b.in} → ${b.out}${b.stride !== 1 ? ` · stride ${b.stride}` : ''}`,
      `${res}${b.layers > 1 ? ` · ${b.layers} layers` : ''}`,
      `${shortNumber(b.params)} params · ${shortNumber(b.flops)} FLOPs`,
    ];
    out.push(`<g class="block" data-index="${b.index}" data-type="${xmlEscape(b.type)}">`);
    out.push(`<title>${xmlEscape(`#${b.index} ${b.text || b.type}`)}</title>`);
    out.push(`<rect x="${x}" y="${y}" width="${L.boxWidth}" height="${L.boxHeight}" rx="6" fill="${col.fill}" stroke="${col.stroke}"/>`);
    out.push(`<text x="${x + 6}" y="${y + 16}" font-weight="bold">${xmlEscape(clip(`${b.index} ${b.type}`, inner, 11))}</text>`);
    lines.forEach((t, k) => out.push(`<text x="${x + 6}" y="${y + 33 + k * 15}" fill="#333333">${xmlEscape(clip(t, inner, 11))}</text>`));
    const share = Math.max(0, Math.min(1, b.flops / totalFlops));
    out.push(`<rect x="${x + 6}" y="${y + L.boxHeight - 10}" width="${inner}" height="4" fill="#ffffff" stroke="none"/>`);
    out.push(`<rect class="flops-share" x="${x + 6}" y="${y + L.boxHeight - 10}" width="${(inner * share).toFixed(1)}" height="4" fill="${col.stroke}"/>`);
    out.push('</g>');
    if (i + 1 < blocks.length) {
      const n = pos(i + 1);
      if (n.y === y) {
        out.push(`<line class="edge" x1="${x + L.boxWidth}" y1="${y + L.boxHeight / 2}" x2="${n.x - 1}" y2="${n.y + L.boxHeight / 2}" stroke="#777777" stroke-width="1.5" marker-end="url(#arrow)"/>`);
      } else {
        // Row break: down from this box, back to the left, into the next row's first box.
        const midY = y + L.boxHeight + rowGap / 2;
        out.push(`<path class="edge" d="M${x + L.boxWidth / 2} ${y + L.boxHeight}V${midY}H${n.x + L.boxWidth / 2}V${n.y - 1}" fill="none" stroke="#777777" stroke-width="1.5" marker-end="url(#arrow)"/>`);
      }
    }
  });
  out.push('</svg>');
  return out.join('\n');
}
