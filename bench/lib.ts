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
