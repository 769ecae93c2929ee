/**
 * Benchmark results on disk: each module writes `bench/results/<module>.json` (its rows with every
 * sample, and optional series for charts), and `npm run bench` renders them into a report
 * (bench/report.ts). The JSON is the record; the report is made from it and can be made again.
 *
 * Use: `await writeResults('containers', rows, { series: [...], notes: [...] })` at the end of a
 * module's main; `readResults()` gives every file back, newest schema only.
 *
 * Beware: the folder is the repository's `bench/results/`, found from this file's compiled place
 * (dist/bench/ → ../../bench/results), so results land beside the sources whichever folder runs them.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile, type Row } from './lib.js';

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');

/** A named line of (x, y) points: e.g. x = the container's number, y = its start time in ms. */
export interface Series {
  name: string;
  xLabel: string;
  yLabel: string;
  points: [number, number][];
}

export interface RowSummary {
  op: string;
  n: number;
  medianMs: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  samples: number[];
}

export interface ResultsFile {
  schema: 1;
  module: string;
  date: string;
  machine: { cores: number; node: string };
  rows: RowSummary[];
  series: Series[];
  notes: string[];
}

export function summarize(row: Row): RowSummary {
  const s = [...row.samples].sort((a, b) => a - b);
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    op: row.op,
    n: s.length,
    medianMs: r2(percentile(s, 0.5)),
    p95Ms: r2(percentile(s, 0.95)),
    minMs: r2(s[0] ?? NaN),
    maxMs: r2(s[s.length - 1] ?? NaN),
    samples: row.samples.map(r2),
  };
}

export async function writeResults(
  module: string,
  rows: readonly Row[],
  extra: { series?: Series[]; notes?: string[] } = {},
): Promise<string> {
  const file: ResultsFile = {
    schema: 1,
    module,
    date: new Date().toISOString(),
    machine: { cores: cpus().length, node: process.version },
    rows: rows.map(summarize),
    series: extra.series ?? [],
    notes: extra.notes ?? [],
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${module}.json`);
  await writeFile(path, `${JSON.stringify(file, null, 1)}\n`);
  return path;
}

export async function readResults(dir = RESULTS_DIR): Promise<ResultsFile[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
  const files = await Promise.all(names.map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as ResultsFile));
  return files.filter((f) => f.schema === 1);
}
