/**
 * Runs every benchmark module of bench/ (compiled: dist/bench/*.js, this file excepted) one after the
 * other, each in its own node process so that one's state or crash cannot skew the next.
 *
 * Use: `npm run bench` (builds, then `node dist/bench/run.js`); `node dist/bench/run.js networks`
 * runs only the modules whose names contain one of the arguments (the SEPARATE ones, minutes long, run
 * only so). Exit code 1 when any failed.
 * Each module writes bench/results/<module>.json; at the end the report (bench/results/README.md
 * and its SVG charts) is rendered again from every results file there.
 *
 * Beware: modules run in sequence on purpose: two at once would share the machine's 2 cores and
 * measure each other.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeReport } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const self = basename(fileURLToPath(import.meta.url));
/** Modules of bench/ that are shared code, not benchmarks. */
const LIBRARIES = new Set([self, 'lib.js', 'report.js', 'results-file.js', 'scale-probes.js', 'etcd-probe.js']);
/** Benchmarks too long for every `npm run bench` (minutes, a lab of 20 hosts) or needing another build: run them by name. */
const SEPARATE = new Set(['overlay-scale.js', 'restart.js', 'compare.js']);

function runModule(path: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path], { stdio: 'inherit' });
    child.on('error', () => resolve(1));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(only: string[]): Promise<number> {
  const modules = (await readdir(here))
    .filter((f) => f.endsWith('.js') && !LIBRARIES.has(f) && !f.endsWith('.test.js'))
    .filter((f) => (only.length === 0 ? !SEPARATE.has(f) : only.some((o) => f.includes(o))))
    .sort();
  if (modules.length === 0) {
    process.stderr.write(`bench: no benchmark modules in ${here}\n`);
    return 1;
  }
  const failed: string[] = [];
  for (const m of modules) {
    process.stdout.write(`\n== ${m.replace(/\.js$/, '')}\n`);
    const t0 = Date.now();
    const code = await runModule(join(here, m));
    process.stdout.write(`== ${m.replace(/\.js$/, '')}: ${code === 0 ? 'done' : `failed (exit ${code})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    if (code !== 0) failed.push(m);
  }
  process.stdout.write(`\nbench report: ${await writeReport()}\n`);
  if (failed.length) process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
  return failed.length ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
