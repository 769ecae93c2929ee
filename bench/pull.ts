/**
 * Benchmark: `docker pull` of a ~100 MB image of 5 random-data layers (gzip) from the sandbox
 * registry `registry.test:5000`, end to end as the CLI user sees it (spawn to exit), with the image
 * removed between rounds so every round downloads, verifies and unpacks every layer. Reports MB/s
 * of compressed layer bytes and the machine's load average around the run. Each round also fetches
 * the same blobs with `curl` (3 at a time, as the pull) from the engine's host namespace and throws
 * them away: the ceiling the registry, TLS and the sandbox's veth allow on the machine as it is then.
 *
 * Use: `node dist/bench/pull.js [rounds]` (default $BENCH_N or 5); `npm run bench` runs it with the
 * others. Runs in its own sandbox `bench<6 random>`, removed at the end.
 *
 * Beware: the registry, the daemon and the CLI share the machine's 2 cores with everything else;
 * the load figures printed beside the rates are part of the result. Target (issue 11): ≥ 200 MB/s.
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { startSandbox, type Sandbox } from '../test/helpers/sandbox.js';
import { craftImage, gzipLayer, pushCrafted, WORLD_ADDR } from '../test/helpers/registry-tools.js';
import { formatTable, median, runIfMain, time, type Row } from './lib.js';
import { writeResults } from './results-file.js';

const LAYERS = 5;
const LAYER_MB = 20;
const REF = 'registry.test:5000/bench/random:v1';

/** CPU time (user + system) a process has used so far, in ms (from /proc, 100 ticks a second). */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export async function benchPull(sb: Sandbox, rounds: number): Promise<{ rows: Row[]; notes: string[] }> {
  const layers = [];
  for (let i = 0; i < LAYERS; i++) layers.push(await gzipLayer({ [`data${i}`]: randomBytes(LAYER_MB << 20) }, 1));
  const img = craftImage({ arch: 'amd64', layers });
  await pushCrafted(sb, [{ repo: 'bench/random', images: [img], manifests: [{ ref: 'v1', ...img.manifest }] }]);
  const bytes = layers.reduce((n, l) => n + l.bytes.length, 0);
  const samples: number[] = [];
  const loads: number[] = [];
  const cpu: number[] = [];
  const ceiling: number[] = [];
  const ca = `/run/redes/${sb.name}/certs.d/registry.test:5000/ca.crt`;
  const curl = ['curl', '-sSf', '--parallel', '--parallel-max', '3', '--cacert', ca, ...layers.flatMap((l) => ['-o', '/dev/null', `https://registry.test:5000/v2/bench/random/blobs/${l.digest}`])];
  const resolve = ['--resolve', `registry.test:5000:${WORLD_ADDR}`];
  const daemon = await sb.daemonPid();
  if (daemon === undefined) throw new Error('no daemon');
  for (let i = 0; i < rounds; i++) {
    loads.push(loadavg()[0] ?? NaN);
    const c0 = await cpuMs(daemon);
    samples.push(await time(() => sb.docker(['pull', '-q', REF], { timeoutMs: 300_000 })));
    cpu.push((await cpuMs(daemon)) - c0);
    loads.push(loadavg()[0] ?? NaN);
    await sb.docker(['rmi', REF]);
    ceiling.push(await time(() => sb.exec([...curl.slice(0, 1), ...resolve, ...curl.slice(1)], { timeoutMs: 300_000 })));
  }
  const mbs = samples.map((ms) => bytes / 1e6 / (ms / 1000));
  const sorted = [...mbs].sort((a, b) => a - b);
  const rate = (ms: number): string => (bytes / 1e6 / (ms / 1000)).toFixed(1);
  const notes = [
    `image: ${LAYERS} layers of ${LAYER_MB} MiB random data, ${(bytes / 1e6).toFixed(1)} MB compressed`,
    `pull rate MB/s: median ${(sorted[Math.floor(sorted.length / 2)] ?? NaN).toFixed(1)}, best ${(sorted[sorted.length - 1] ?? NaN).toFixed(1)}, worst ${(sorted[0] ?? NaN).toFixed(1)} (target ≥ 200)`,
    `ceiling, curl of the same blobs 3 at a time in the engine's host netns: median ${rate(median(ceiling))} MB/s (best ${rate(Math.min(...ceiling))}, worst ${rate(Math.max(...ceiling))})`,
    `daemon CPU per pull (user+system): median ${median(cpu).toFixed(0)} ms, i.e. ${(bytes / 1e6 / (median(cpu) / 1000)).toFixed(0)} MB per CPU-second (the rate on an idle core)`,
    `load average (1 min) during the rounds: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} on 2 cores`,
  ];
  const rows: Row[] = [
    { op: `docker pull ${(bytes / 1e6).toFixed(0)} MB, ${LAYERS} layers`, samples },
    { op: `curl the same blobs (ceiling)`, samples: ceiling },
  ];
  return { rows, notes };
}

runIfMain(import.meta.url, 'pull', 5, async (rounds) => {
  const sb = await startSandbox(undefined, { prefix: 'bench' });
  try {
    const { rows, notes } = await benchPull(sb, rounds);
    process.stdout.write(`${formatTable(rows)}\n${notes.join('\n')}\n`);
    await writeResults('pull', rows, { notes });
  } finally {
    await sb.down();
  }
});
