/**
 * Benchmark: TCP throughput (iperf3, one stream) into a container, through a published port and
 * directly, to check that publishing stays in the kernel at near bridge speed (issue target:
 * published ≥ 90% of direct).
 *
 * Paths measured, each `-t 3` per round, server `iperf3 -s -1` in the container's netns:
 * - world → published: client in the world netns to 203.0.113.2:5201 (`-p 5201:5201`): prerouting
 *   DNAT, then forwarded from eth0 into the bridge (the path outside clients take).
 * - host → published: client in the sandbox host to 203.0.113.2:5201: output-chain DNAT, then out by
 *   the bridge (same origin as the direct path, so the pair isolates the cost of DNAT).
 * - host → direct: client in the sandbox host to the container's own address: no NAT. The world cannot
 *   be the client here: DROP DIRECT ACCESS refuses new connections from outside to an unpublished
 *   path, so "direct" is measured from the host (locally sent, not forwarded).
 *
 * Use: `node dist/bench/throughput.js [n]` (rounds, default $BENCH_N or 3); `npm run bench` runs it
 * with the others. Runs in its own sandbox `bench<6 random>`, removed at the end.
 *
 * Beware: client, server and kernel share the machine's 2 cores, so figures move by ±10% between
 * runs; compare the paths of one run. The container image has no iperf3: the host's binary runs in
 * the container's netns (`nsenter --net`), started detached and stopped by its pid.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSandbox, type Sandbox } from '../test/helpers/sandbox.js';
import { containerNetns, inspectContainer } from '../test/helpers/containers.js';
import { startDetached, stopPid } from '../src/kernel/process.js';
import { runD, runIfMain } from './lib.js';
import { writeResults } from './results-file.js';

const PORT = 5201;
const HOST = '203.0.113.2';
const SECONDS = 3;

interface Path {
  op: string;
  client: (argv: string[]) => Promise<{ stdout: string }>;
  target: string;
}

/** The receiver's rate of one iperf3 -J run, in Gbit/s. */
function gbits(json: string): number {
  const r = JSON.parse(json) as { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
  const bps = r.end?.sum_received?.bits_per_second;
  if (r.error || bps === undefined) throw new Error(`iperf3: ${r.error ?? 'no sum_received in its report'}`);
  return bps / 1e9;
}

/** One round: a one-off server in `netns`, one client run, the server stopped by its pid. */
async function measure(netns: string, dir: string, path: Path, round: number): Promise<number> {
  const log = join(dir, `server-${round}-${path.op.replace(/\W+/g, '-')}.log`);
  const pid = await startDetached(['nsenter', `--net=/run/netns/${netns}`, 'iperf3', '-s', '-1', '-p', String(PORT), '--forceflush'], { logPath: log });
  try {
    for (let i = 0; !(await readFile(log, 'utf8').catch(() => '')).includes('Server listening'); i++) {
      if (i > 200) throw new Error(`iperf3 server in ${netns} did not start: ${await readFile(log, 'utf8').catch(() => '')}`);
      await sleep(10);
    }
    const { stdout } = await path.client(['iperf3', '-c', path.target, '-p', String(PORT), '-t', String(SECONDS), '-J', '--connect-timeout', '3000']);
    return gbits(stdout);
  } finally {
    await stopPid(pid, { graceMs: 2_000 });
  }
}

function summary(op: string, xs: readonly number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor((s.length - 1) / 2)] ?? NaN;
  return `${op.padEnd(20)}  ${String(s.length).padStart(2)}  ${med.toFixed(2).padStart(10)}  ${(s[0] ?? NaN).toFixed(2).padStart(8)}  ${(s[s.length - 1] ?? NaN).toFixed(2).padStart(8)}`;
}

export async function main(n: number): Promise<Map<string, number[]>> {
  const sb: Sandbox = await startSandbox(undefined, { prefix: 'bench' });
  const dir = await mkdtemp(join(tmpdir(), 'redes-throughput-'));
  try {
    const id = await runD(sb, ['-p', `${PORT}:${PORT}`], 120_000);
    const netns = containerNetns(sb, id);
    const ip = (await inspectContainer(sb, id)).NetworkSettings.IPAddress;
    const opts = { timeoutMs: (SECONDS + 15) * 1000 };
    const paths: Path[] = [
      { op: 'world -> published', client: (a) => sb.world(a, opts), target: HOST },
      { op: 'host -> published', client: (a) => sb.exec(a, opts), target: HOST },
      { op: 'host -> direct', client: (a) => sb.exec(a, opts), target: ip },
    ];
    const results = new Map<string, number[]>(paths.map((p) => [p.op, []]));
    // Interleaved rounds, so a slow spell of the machine hits every path alike.
    for (let round = 0; round < n; round++) {
      for (const p of paths) results.get(p.op)?.push(await measure(netns, dir, p, round));
    }
    const med = (op: string): number => {
      const s = [...(results.get(op) ?? [])].sort((a, b) => a - b);
      return s[Math.floor((s.length - 1) / 2)] ?? NaN;
    };
    const direct = med('host -> direct');
    const pct = (op: string): string => `${((100 * med(op)) / direct).toFixed(0)}%`;
    const lines = [
        `throughput: iperf3 one TCP stream, ${SECONDS} s x ${n} rounds per path, container ${ip} (sandbox ${sb.name})`,
        `${'path'.padEnd(20)}  ${'n'.padStart(2)}  ${'median Gb/s'.padStart(10)}  ${'min'.padStart(8)}  ${'max'.padStart(8)}`,
        ...paths.map((p) => summary(p.op, results.get(p.op) ?? [])),
        `world -> published / host -> direct: ${pct('world -> published')} (target >= 90%)`,
        `host -> published / host -> direct: ${pct('host -> published')} (same origin: the cost of DNAT alone)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    await writeResults('throughput', [], { notes: lines });
    await sb.docker(['rm', '-f', id]);
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
    await sb.down();
  }
}

runIfMain(import.meta.url, 'throughput', 3, main);
