/**
 * The bench report: Markdown tables and SVG charts rendered from `bench/results/*.json` (see
 * results-file.ts). Pure rendering (`renderMarkdown`, `renderChart`) plus `writeReport`, which
 * `npm run bench` calls after the modules ran; `node dist/bench/report.js` re-renders alone.
 *
 * Use: README links bench/results/README.md; every series of every module becomes one SVG chart
 * (`<module>-<n>.svg`), a line per series name sharing the chart's axes.
 *
 * Beware: charts are drawn by hand (a few dozen lines of SVG, no dependency); they scale to the data's
 * range and start the y axis at 0 so that a flat cost looks flat.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readResults, RESULTS_DIR, type ResultsFile, type Series } from './results-file.js';

const W = 640;
const H = 320;
const PAD = { left: 60, right: 20, top: 30, bottom: 45 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].map((m) => m * p).find((v) => v >= max) ?? 10 * p);
}

/** One chart of several series sharing axes (the first series' labels name them). */
export function renderChart(title: string, series: readonly Series[]): string {
  const pts = series.flatMap((s) => s.points);
  const xMin = Math.min(...pts.map((p) => p[0]));
  const xMax = Math.max(...pts.map((p) => p[0]));
  const yMax = niceMax(Math.max(...pts.map((p) => p[1])));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const sx = (x: number): number => PAD.left + (xMax === xMin ? iw / 2 : ((x - xMin) / (xMax - xMin)) * iw);
  const sy = (y: number): number => PAD.top + ih - (y / yMax) * ih;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`,
    `<line x1="${PAD.left}" y1="${PAD.top + ih}" x2="${PAD.left + iw}" y2="${PAD.top + ih}" stroke="black"/>`,
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + ih}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    out.push(`<text x="${PAD.left - 6}" y="${sy(y) + 4}" text-anchor="end">${+y.toFixed(2)}</text>`);
    if (i > 0) out.push(`<line x1="${PAD.left}" y1="${sy(y)}" x2="${PAD.left + iw}" y2="${sy(y)}" stroke="#ddd"/>`);
  }
  out.push(`<text x="${PAD.left}" y="${H - 22}" text-anchor="middle">${xMin}</text>`);
  out.push(`<text x="${PAD.left + iw}" y="${H - 22}" text-anchor="middle">${xMax}</text>`);
  const first = series[0];
  if (first) {
    out.push(`<text x="${PAD.left + iw / 2}" y="${H - 8}" text-anchor="middle">${esc(first.xLabel)}</text>`);
    out.push(`<text transform="translate(14 ${PAD.top + ih / 2}) rotate(-90)" text-anchor="middle">${esc(first.yLabel)}</text>`);
  }
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length] ?? 'black';
    const d = s.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${d}"/>`);
    out.push(`<text x="${PAD.left + 8}" y="${PAD.top + 12 + 14 * i}" fill="${colour}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Charts a module draws: its series grouped by shared axis labels, one chart per group. */
export function chartsOf(file: ResultsFile): { name: string; title: string; series: Series[] }[] {
  const groups = new Map<string, Series[]>();
  for (const s of file.series) {
    const key = `${s.xLabel}|${s.yLabel}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()].map((series, i) => ({
    name: `${file.module}-${i + 1}.svg`,
    title: `${file.module}: ${series[0]?.yLabel ?? ''} by ${series[0]?.xLabel ?? ''}`,
    series,
  }));
}

export function renderMarkdown(files: readonly ResultsFile[]): string {
  const out = ['# Benchmark results', '', 'Made by `npm run bench` from the JSON files beside this one (times in ms; medians are the figures to quote: these machines are shared and noisy).', ''];
  for (const f of files) {
    out.push(`## ${f.module}`, '', `${f.date}, ${f.machine.cores} cores, Node ${f.machine.node}`, '');
    if (f.rows.length) {
      out.push('| operation | n | median | p95 | min | max |', '|---|---:|---:|---:|---:|---:|');
      for (const r of f.rows) out.push(`| ${r.op} | ${r.n} | ${r.medianMs} | ${r.p95Ms} | ${r.minMs} | ${r.maxMs} |`);
      out.push('');
    }
    for (const n of f.notes) out.push(`- ${n}`);
    if (f.notes.length) out.push('');
    for (const c of chartsOf(f)) out.push(`![${c.title}](${c.name})`, '');
  }
  return out.join('\n');
}

export async function writeReport(dir = RESULTS_DIR): Promise<string> {
  const files = await readResults(dir);
  for (const f of files) {
    for (const c of chartsOf(f)) await writeFile(join(dir, c.name), renderChart(c.title, c.series));
  }
  const path = join(dir, 'README.md');
  await writeFile(path, renderMarkdown(files));
  return path;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeReport().then((p) => process.stdout.write(`bench report: ${p}\n`));
}
