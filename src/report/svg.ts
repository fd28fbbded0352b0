/**
 * Small dependency-free SVG charts for results people would rather look at: line charts (series over
 * steps or rounds) and scatter plots (indicator vs accuracy). Output is a complete standalone SVG document.
 */
export interface Series {
  name: string;
  points: [number, number][];
  /** 'line' (default) or 'points'. */
  style?: 'line' | 'points';
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Logarithmic y axis (positive values only). */
  logY?: boolean;
  logX?: boolean;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

/** Renders one chart with any number of series. Non-finite points are skipped. */
export function renderChart(series: Series[], options: ChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const margin = { left: 70, right: 20, top: 40, bottom: 55 };
  const tx = (v: number) => (options.logX ? Math.log10(v) : v);
  const ty = (v: number) => (options.logY ? Math.log10(v) : v);
  const ok = (p: [number, number]) => Number.isFinite(tx(p[0])) && Number.isFinite(ty(p[1]));
  const all = series.flatMap((s) => s.points.filter(ok));
  let [x0, x1] = [Math.min(...all.map((p) => tx(p[0]))), Math.max(...all.map((p) => tx(p[0])))];
  let [y0, y1] = [Math.min(...all.map((p) => ty(p[1]))), Math.max(...all.map((p) => ty(p[1])))];
  if (!all.length) [x0, x1, y0, y1] = [0, 1, 0, 1];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  // A margin inside the frame so points on the extremes are not cut by it.
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const padX = (x1 - x0) * 0.03;
  x0 -= padX;
  x1 += padX;
  const pw = width - margin.left - margin.right;
  const ph = height - margin.top - margin.bottom;
  const sx = (v: number) => margin.left + ((tx(v) - x0) / (x1 - x0)) * pw;
  const sy = (v: number) => margin.top + ph - ((ty(v) - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`);
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  for (const t of niceTicks(x0, x1)) {
    const x = margin.left + ((t - x0) / (x1 - x0)) * pw;
    const label = options.logX ? formatTick(10 ** t) : formatTick(t);
    out.push(`<line x1="${x}" y1="${margin.top + ph}" x2="${x}" y2="${margin.top + ph + 5}" stroke="#444"/>`);
    out.push(`<text x="${x}" y="${margin.top + ph + 18}" text-anchor="middle">${label}</text>`);
  }
  for (const t of niceTicks(y0, y1)) {
    const y = margin.top + ph - ((t - y0) / (y1 - y0)) * ph;
    const label = options.logY ? formatTick(10 ** t) : formatTick(t);
    out.push(`<line x1="${margin.left - 5}" y1="${y}" x2="${margin.left + pw}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${margin.left - 8}" y="${y + 4}" text-anchor="end">${label}</text>`);
  }
  out.push(`<text x="${margin.left + pw / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${margin.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter(ok);
    if ((s.style ?? 'line') === 'line' && pts.length > 1) {
      const d = pts.map((p, k) => `${k ? 'L' : 'M'}${sx(p[0]).toFixed(2)},${sy(p[1]).toFixed(2)}`).join('');
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    const r = s.style === 'points' ? 2.5 : 3;
    for (const p of pts) out.push(`<circle cx="${sx(p[0]).toFixed(2)}" cy="${sy(p[1]).toFixed(2)}" r="${r}" fill="${color}" fill-opacity="0.7"/>`);
    out.push(`<rect x="${margin.left + 10}" y="${margin.top + 8 + i * 16}" width="10" height="10" fill="${color}"/>`);
    out.push(`<text x="${margin.left + 25}" y="${margin.top + 17 + i * 16}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Several charts stacked vertically in one SVG document. */
export function stackCharts(charts: string[]): string {
  const sizes = charts.map((c) => {
    const m = /width="(\d+)" height="(\d+)"/.exec(c);
    return m ? [Number(m[1]), Number(m[2])] : [640, 400];
  });
  const width = Math.max(...sizes.map((s) => s[0]));
  const height = sizes.reduce((a, s) => a + s[1], 0);
  let y = 0;
  const parts = charts.map((c, i) => {
    const g = `<g transform="translate(0 ${y})">${c.replace(/^<svg[^>]*>/, '').replace(/<\/svg>\s*$/, '')}</g>`;
    y += sizes[i][1];
    return g;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${parts.join('\n')}\n</svg>\n`;
}
