/**
 * Benchmark: where a container start spends its time as the count grows. Starts N containers
 * (default 200) one after another through the Engine API on one user network, with the daemon at
 * debug level, and reads its "start phases" log lines: network plug-in (namespace, addresses, then the
 * driver's join), feature hooks (ports, DNS, links), bundle (rootfs mount, config.json), runtime
 * create (shim + `runc create`) and start. Prints,
 * per phase, the median of the first ten, of each following hundred's last ten, and of the last ten,
 * then times removing them all (4 clients, force).
 *
 * Use: `node dist/bench/scale-profile.js [N]` (or $BENCH_N). Runs in its own sandbox `prof<6 random>`,
 * removed at the end. Writes bench/results/scale-profile.json.
 * `BENCH_NETWORK=bridge` starts them on the default bridge (`docker0`: no embedded DNS, the legacy
 * link hooks) instead of the user network `profnet`, and writes scale-profile-bridge.json;
 * `BENCH_NETWORK=both` alternates the two (one on `profnet`, one on the default bridge, N of each,
 * each network's rows over its own first and last ten) and writes scale-profile-both.json: on a
 * shared machine both then meet the same load at the same moments, which two runs one after the
 * other do not.
 *
 * Beware: the phases are cumulative in the log; this file turns them into each phase's own share.
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { startSandbox } from '../test/helpers/sandbox.js';
import { apiRequest, keepAliveAgent } from '../test/helpers/engine-api.js';
import { formatTable, median, runIfMain, time, type Row } from './lib.js';
import { writeResults } from './results-file.js';

/**
 * In start order; `netns`, `ipam` and `join` (the driver's: layer-2 guard, veth, bridge port) are the
 * first steps of `network` (the last endpoint's, with several).
 */
const PHASES = ['netns', 'ipam', 'join', 'network', 'hooks', 'bundle', 'create', 'start'] as const;

/** A spawned program's kind: its name and its first plain words (no paths, ids or options). */
function kind(cmd: string): string {
  const [bin = '', ...rest] = cmd.split(' ');
  const words = rest.filter((w) => /^[a-z][a-z-]*$/.test(w) && w !== 'null').slice(0, 2);
  return [bin.split('/').pop() ?? bin, ...words].join(' ');
}

interface Spawn {
  at: number;
  kind: string;
  ms: number;
}

async function spawnLog(logPath: string): Promise<Spawn[]> {
  const out: Spawn[] = [];
  for (const line of (await readFile(logPath, 'utf8')).split('\n')) {
    // nft scripts applied through libnftables count as kinds of their own ("nft helper", "nft in-process").
    if (!line.includes('"spawned"') && !line.includes('"nft applied"')) continue;
    const j = JSON.parse(line) as { time: number; cmd: string; ms: number };
    out.push({ at: j.time, kind: j.cmd.includes('(in-process)') ? 'nft in-process' : j.cmd.includes('(helper)') ? 'nft helper' : kind(j.cmd), ms: j.ms });
  }
  return out;
}

/** The daemon's own CPU time so far (user + system), in ms. */
async function cpuMs(pid: number | undefined): Promise<number> {
  if (!pid) return NaN;
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/** Each start's own phase durations, in log order, from the daemon's debug lines. */
async function phaseLog(logPath: string): Promise<Array<Record<string, number>>> {
  const out: Array<Record<string, number>> = [];
  for (const line of (await readFile(logPath, 'utf8')).split('\n')) {
    if (!line.includes('start phases')) continue;
    const ms = (JSON.parse(line) as { ms?: Record<string, number> }).ms ?? {};
    let prev = 0;
    const own: Record<string, number> = {};
    for (const p of PHASES) {
      const at = ms[p] ?? prev;
      own[p] = at - prev;
      prev = at;
    }
    out.push(own);
  }
  return out;
}

/** Per kind of spawned program: calls and total ms per container, over the spawns of the given time spans. */
function spawnRows(spawns: readonly Spawn[], spans: ReadonlyArray<readonly [number, number]>, count: number, label: string): Row[] {
  const by = new Map<string, number[]>();
  for (const sp of spawns) if (spans.some(([from, to]) => sp.at >= from && sp.at < to)) by.set(sp.kind, [...(by.get(sp.kind) ?? []), sp.ms]);
  return [...by.entries()]
    .sort((a, b) => b[1].reduce((x, y) => x + y, 0) - a[1].reduce((x, y) => x + y, 0))
    .map(([k, ms]) => ({ op: `  spawn ${k} ${label} (${(ms.length / count).toFixed(1)} per container)`, samples: ms }));
}

/** Where the containers go: `BENCH_NETWORK` unset (the user network), `bridge` or `both` (alternating). */
interface BenchNetwork {
  mode: string;
  label: string;
}

const USER: BenchNetwork = { mode: 'profnet', label: 'user network' };
const DEFAULT_BRIDGE: BenchNetwork = { mode: 'bridge', label: 'default bridge' };

function benchNetworks(value = process.env.BENCH_NETWORK ?? ''): { nets: BenchNetwork[]; results: string } {
  if (value === '' || value === 'profnet') return { nets: [USER], results: 'scale-profile' };
  if (value === 'bridge') return { nets: [DEFAULT_BRIDGE], results: 'scale-profile-bridge' };
  if (value === 'both') return { nets: [USER, DEFAULT_BRIDGE], results: 'scale-profile-both' };
  throw new Error(`BENCH_NETWORK=${value}: "bridge", "both" or unset (the user network)`);
}

/** One container's start, in start order over every network. */
interface Started {
  net: BenchNetwork;
  id: string;
  create: number;
  start: number;
}

export async function main(n: number): Promise<Row[]> {
  const { nets, results } = benchNetworks();
  const sb = await startSandbox(undefined, { prefix: 'prof', daemonArgs: ['--log-level', 'trace'] });
  const agent = keepAliveAgent();
  const started: Started[] = [];
  const at: number[] = []; // wall clock when start k's create was sent; the last = after the last start
  const cpu: number[] = [];
  const pid = await sb.daemonPid();
  try {
    if (nets.includes(USER)) await sb.docker(['network', 'create', '--subnet', '10.81.0.0/16', 'profnet']);
    for (let i = 1; i <= n; i++) {
      for (const net of nets) {
        at.push(Date.now());
        cpu.push(await cpuMs(pid));
        const name = nets.length > 1 ? `p${net === USER ? 'u' : 'b'}${i}` : `p${i}`;
        let id = '';
        const create = await time(async () => {
          const c = await apiRequest(sb.socket, 'POST', `/v1.50/containers/create?name=${name}`, { body: { Image: 'busybox', Cmd: ['sleep', '36000'], HostConfig: { NetworkMode: net.mode } }, agent });
          if (c.status !== 201) throw new Error(`create ${name}: ${c.status} ${c.body}`);
          id = c.json<{ Id: string }>().Id;
        });
        const start = await time(async () => {
          const s = await apiRequest(sb.socket, 'POST', `/v1.50/containers/${id}/start`, { agent });
          if (s.status !== 204) throw new Error(`start ${name}: ${s.status} ${s.body}`);
        });
        started.push({ net, id, create, start });
      }
      if (i % 50 === 0) process.stdout.write(`  ${i} running${nets.length > 1 ? ' on each' : ''} (last start ${started.at(-1)?.start.toFixed(0)} ms, load ${loadavg()[0]?.toFixed(1)})\n`);
    }
    at.push(Date.now());
    cpu.push(await cpuMs(pid));
    const total = started.length;
    const logPath = `/run/redes/${sb.name}/redesd.log`;
    const phases = await phaseLog(logPath);
    const windows: Array<[number, number]> = [[0, Math.min(10, n)]];
    for (let end = 100; end < n; end += 100) windows.push([end - 10, end]);
    if (n > 10) windows.push([n - 10, n]);
    const rmFrom = Date.now();
    const queue = started.map((s) => s.id);
    const rm = await time(() =>
      Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let id = queue.pop(); id; id = queue.pop()) await apiRequest(sb.socket, 'DELETE', `/v1.50/containers/${id}?force=1`, { agent });
        }),
      ),
    );
    const rmCpu = (await cpuMs(pid)) - (cpu[total] ?? NaN);
    const spawns = await spawnLog(logPath);
    const rows: Row[] = [];
    const notes = [`network: ${nets.map((x) => x.label).join(' and ')}${nets.length > 1 ? `, alternating, ${n} on each` : ''}`];
    for (const net of nets) {
      // Start numbers (over every network) of this network's containers, in its own order.
      const ks = started.flatMap((s, k) => (s.net === net ? [k] : []));
      const of = nets.length > 1 ? ` (${net.label})` : '';
      for (const [a, b] of windows) {
        const w = ks.slice(a, b);
        const label = `#${a + 1}-${b}${of}`;
        rows.push({ op: `api create ${label}`, samples: w.map((k) => started[k]?.create ?? NaN) });
        rows.push({ op: `api start ${label}`, samples: w.map((k) => started[k]?.start ?? NaN) });
        rows.push({ op: `  daemon cpu ${label}`, samples: w.map((k) => (cpu[k + 1] ?? NaN) - (cpu[k] ?? NaN)) });
        for (const p of PHASES) rows.push({ op: `  start phase ${p} ${label}`, samples: w.map((k) => phases[k]?.[p] ?? NaN) });
        rows.push(...spawnRows(spawns, w.map((k) => [at[k] ?? 0, at[k + 1] ?? Infinity] as const), w.length, label));
      }
      const attach = (k: number): number => (started[k]?.create ?? NaN) + (started[k]?.start ?? NaN);
      const first = median(ks.slice(0, 10).map(attach));
      const last = median(ks.slice(-10).map(attach));
      notes.push(`${n} containers${of}: create+start of the last ten / first ten = ${(last / first).toFixed(2)} (${last.toFixed(1)} / ${first.toFixed(1)} ms)`);
    }
    rows.push(...spawnRows(spawns, [[rmFrom, Infinity]], total, 'removal'));
    notes.push(
      `removing all ${total} (4 clients, force): ${(rm / 1000).toFixed(1)} s; daemon cpu ${(rmCpu / total).toFixed(1)} ms per container`,
      `load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    );
    process.stdout.write(`scale-profile: ${n} containers on ${nets.map((x) => `the ${x.label}`).join(' and ')} (sandbox ${sb.name})\n${formatTable(rows)}\n${notes.join('\n')}\n`);
    await writeResults(results, rows, {
      notes,
      series: nets.flatMap((net) =>
        PHASES.map((p) => ({
          name: `start phase ${p}${nets.length > 1 ? ` (${net.label})` : ''}`,
          xLabel: 'container number',
          yLabel: 'ms',
          points: started.flatMap((s, k) => (s.net === net ? [k] : [])).map((k, i) => [i + 1, Math.round((phases[k]?.[p] ?? 0) * 10) / 10] as [number, number]),
        })),
      ),
    });
    return rows;
  } finally {
    agent.destroy();
    await sb.down();
  }
}

runIfMain(import.meta.url, 'scale-profile', 200, main);
