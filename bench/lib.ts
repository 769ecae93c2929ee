/**
 * What every benchmark shares: timing, the result table, starting a busybox container, and the
 * "run as a program" entry (`node dist/bench/X.js [n]`, n also from $BENCH_N).
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Sandbox } from '../test/helpers/sandbox.js';

export interface Row {
  op: string;
  samples: number[];
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}

export function median(xs: readonly number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 0.5);
}

/**
 * How a per-container cost grows over a run, robust to a noisy moment: the median of the last
 * `window` against the median of the first (the medians of ten swung 1.0 to 1.6 between runs of the
 * same code on this shared machine), and a least-squares line through every point (its value at the
 * last container over its value at the first, and its slope per hundred containers).
 */
export function growth(costs: readonly number[], window: number): { ends: number; fitted: number; slopePerHundred: number } {
  const n = costs.length;
  if (n < 2 || window < 1 || window > n) throw new Error(`growth: ${n} points, window ${window}`);
  const ends = median(costs.slice(-window)) / median(costs.slice(0, window));
  const mx = (n - 1) / 2;
  const my = costs.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  costs.forEach((y, x) => {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  });
  const slope = sxy / sxx;
  return { ends, fitted: (my + slope * (n - 1 - mx)) / (my - slope * mx), slopePerHundred: slope * 100 };
}

export function formatTable(rows: readonly Row[]): string {
  const head = ['operation', 'n', 'median ms', 'p95 ms', 'min ms', 'max ms'];
  const body = rows.map((r) => {
    const s = [...r.samples].sort((a, b) => a - b);
    return [r.op, String(s.length), ...[percentile(s, 0.5), percentile(s, 0.95), s[0] ?? NaN, s[s.length - 1] ?? NaN].map((x) => x.toFixed(2))];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [fmt(head), ...body.map(fmt)].join('\n');
}

/** Milliseconds `fn` took. */
export async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** `docker run -d ARGS busybox sleep 3600`; returns the container id. */
export async function runD(sb: Sandbox, args: readonly string[], timeoutMs?: number): Promise<string> {
  const id = (await sb.docker(['run', '-d', ...args, 'busybox', 'sleep', '3600'], timeoutMs ? { timeoutMs } : {})).stdout.trim();
  if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`docker run -d printed ${JSON.stringify(id)}`);
  return id;
}

/** Runs `main(n)` when this module is the program (not when bench/run.ts imports it). */
export function runIfMain(moduleUrl: string, name: string, defaultN: number, main: (n: number) => Promise<unknown>): void {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const raw = process.argv[2] ?? process.env.BENCH_N ?? String(defaultN);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`bench ${name}: n must be a whole number ≥ 1, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  main(n).catch((e: unknown) => {
    process.stderr.write(`bench ${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
