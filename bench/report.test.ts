/**
 * The bench report's rendering: charts scale to the data and start at 0; the Markdown lists every
 * row of every module and links each chart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartsOf, niceMax, renderChart, renderMarkdown } from './report.js';
import type { ResultsFile } from './results-file.js';

const file: ResultsFile = {
  schema: 1,
  module: 'containers',
  date: '2026-12-03T00:00:00.000Z',
  machine: { cores: 2, node: 'v20.0.0' },
  rows: [{ op: 'cli run -d', n: 3, medianMs: 80, p95Ms: 90, minMs: 70, maxMs: 90, samples: [70, 80, 90] }],
  series: [
    { name: 'bridge', xLabel: 'container number', yLabel: 'ms', points: [[1, 70], [2, 80], [3, 90]] },
    { name: 'user net', xLabel: 'container number', yLabel: 'ms', points: [[1, 75], [2, 85]] },
    { name: 'memory', xLabel: 'containers', yLabel: 'KB', points: [[10, 5]] },
  ],
  notes: ['100 containers in 9 s'],
};

test('niceMax rounds up to 1, 2 or 5 times a power of ten', () => {
  assert.deepEqual([0.3, 1, 1.5, 3, 7, 42, 900].map(niceMax), [0.5, 1, 2, 5, 10, 50, 1000]);
  assert.equal(niceMax(0), 1);
});

test('series sharing axis labels share a chart', () => {
  const charts = chartsOf(file);
  assert.deepEqual(charts.map((c) => [c.name, c.series.map((s) => s.name)]), [
    ['containers-1.svg', ['bridge', 'user net']],
    ['containers-2.svg', ['memory']],
  ]);
});

test('a chart draws one polyline per series with the y axis from 0 to a nice maximum', () => {
  const svg = renderChart('t <&>', file.series.slice(0, 2));
  assert.equal(svg.match(/<polyline/g)?.length, 2);
  assert.match(svg, /t &lt;&amp;&gt;/);
  assert.match(svg, />100<\/text>/); // 90 → axis up to 100
  assert.match(svg, />0<\/text>/);
});

test('the Markdown report has a row per operation, the notes and a link per chart', () => {
  const md = renderMarkdown([file]);
  assert.match(md, /\| cli run -d \| 3 \| 80 \| 90 \| 70 \| 90 \|/);
  assert.match(md, /- 100 containers in 9 s/);
  assert.match(md, /\(containers-1\.svg\)/);
  assert.match(md, /\(containers-2\.svg\)/);
});
