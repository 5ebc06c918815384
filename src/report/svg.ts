/** Small HTML and SVG builders for the HTML report (src/report/html.ts). Pure. */

import { esc } from './markup.js';

export { esc };

export type Attrs = Record<string, string | number | undefined>;

/** ` a="1" b="x"`, values escaped, undefined ones left out. */
function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${esc(v)}"`)
    .join('');
}

/** An element; body is markup, already escaped. */
export const el = (name: string, a: Attrs, body = ''): string => `<${name}${attrs(a)}>${body}</${name}>`;

const text = (x: number, y: number, s: string, a: Attrs = {}): string => el('text', { x, y, ...a }, esc(s));

const num = (n: number) => Number(n.toFixed(1));

/** An inline <svg> with an accessible title. */
function svg(width: number, height: number, title: string, body: string, a: Attrs = {}): string {
  return el(
    'svg',
    {
      width: num(width),
      height: num(height),
      viewBox: `0 0 ${num(width)} ${num(height)}`,
      role: 'img',
      'aria-label': title,
      ...a,
    },
    el('title', {}, esc(title)) + body,
  );
}

/** Fill colours of chart series, in order; every bar also carries its series name as text. */
const SERIES_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#9c755f'];

// Monospace text at 12px: about 7.2px a character.
const textWidth = (s: string) => s.length * 7.2;

export interface HBar {
  label: string;
  value: number;
  data?: Attrs;
}

/** Horizontal bars, one per row, scaled to the largest, each with its value written after it. */
export function hbarChart(title: string, unit: string, rows: HBar[], a: Attrs = {}): string {
  const left = Math.max(60, ...rows.map((r) => textWidth(r.label))) + 10;
  const plot = 360;
  const rowH = 22;
  const max = Math.max(0, ...rows.map((r) => r.value)) || 1;
  const body = rows
    .map((r, i) => {
      const y = 26 + i * rowH;
      const w = num((r.value / max) * plot);
      return (
        text(left - 6, y + 13, r.label, { 'text-anchor': 'end' }) +
        el('rect', { x: left, y, width: w, height: rowH - 6, fill: SERIES_COLORS[0], ...r.data }) +
        text(left + w + 6, y + 13, `${r.value.toFixed(1)} ${unit}`)
      );
    })
    .join('');
  return svg(left + plot + 90, 36 + rows.length * rowH, title, text(4, 14, title, { class: 'chart-title' }) + body, a);
}

export interface BarGroup {
  label: string;
  bars: { series: string; value: number; data?: Attrs }[];
}

/** Vertical bars grouped by category (a node), one bar per series in each group, each with its value above it. */
export function groupedBarChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: string[],
  groups: BarGroup[],
  a: Attrs = {},
): string {
  const barW = Math.max(34, ...series.map((s) => textWidth(s) + 4));
  const gap = 24;
  const left = 70;
  const top = 40;
  const plotH = 140;
  const groupW = series.length * barW;
  const width = Math.max(left + groups.length * (groupW + gap) + 20, textWidth(title) + 20);
  const max = Math.max(0, ...groups.flatMap((g) => g.bars.map((b) => b.value))) || 1;
  const base = top + plotH;
  let body = text(4, 16, title, { class: 'chart-title' });
  body +=
    el('line', { x1: left - 4, y1: base, x2: width - 10, y2: base, class: 'axis' }) +
    el('line', { x1: left - 4, y1: top, x2: left - 4, y2: base, class: 'axis' });
  body +=
    text(left - 8, top + 4, String(max), { 'text-anchor': 'end' }) +
    text(left - 8, base, '0', { 'text-anchor': 'end' });
  body += text(12, top + plotH / 2, yLabel, {
    transform: `rotate(-90 12 ${top + plotH / 2})`,
    'text-anchor': 'middle',
  });
  groups.forEach((g, gi) => {
    const x0 = left + gap / 2 + gi * (groupW + gap);
    g.bars.forEach((b) => {
      const x = x0 + series.indexOf(b.series) * barW;
      const h = num((b.value / max) * plotH);
      body += el('rect', {
        x: x + 2,
        y: num(base - h),
        width: barW - 4,
        height: h,
        fill: SERIES_COLORS[series.indexOf(b.series) % SERIES_COLORS.length],
        ...b.data,
      });
      body += text(x + barW / 2, base - h - 4, String(b.value), { 'text-anchor': 'middle' });
      if (series.length > 1)
        body += text(x + barW / 2, base + 14, b.series, { 'text-anchor': 'middle', class: 'small' });
    });
    body += text(x0 + groupW / 2, base + (series.length > 1 ? 30 : 16), g.label, { 'text-anchor': 'middle' });
  });
  body += text(left + (width - left) / 2, base + 48, xLabel, { 'text-anchor': 'middle', class: 'small' });
  return svg(width, base + 56, title, body, a);
}

/** Labelled boxes side by side (one per NUMA node), each a list of lines, the first in bold. */
export function boxesDrawing(title: string, boxes: { lines: string[]; data?: Attrs }[], a: Attrs = {}): string {
  const boxW = Math.max(170, ...boxes.flatMap((b) => b.lines.map((l) => textWidth(l) + 20)));
  const lineH = 17;
  const boxH = 14 + Math.max(1, ...boxes.map((b) => b.lines.length)) * lineH;
  const gap = 30;
  const body = boxes
    .map((b, i) => {
      const x = 10 + i * (boxW + gap);
      const lines = b.lines
        .map((l, j) => text(x + 10, 30 + j * lineH, l, j === 0 ? { class: 'box-head' } : {}))
        .join('');
      return el('g', b.data ?? {}, el('rect', { x, y: 10, width: boxW, height: boxH, rx: 6, class: 'box' }) + lines);
    })
    .join('');
  return svg(20 + boxes.length * (boxW + gap) - gap, boxH + 20, title, body, a);
}
