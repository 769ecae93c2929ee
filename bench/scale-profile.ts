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

/** Per kind of spawned program: calls and total ms per container, over the spawns of [from, to). */
function spawnRows(spawns: readonly Spawn[], from: number, to: number, count: number, label: string): Row[] {
  const by = new Map<string, number[]>();
  for (const sp of spawns) if (sp.at >= from && sp.at < to) by.set(sp.kind, [...(by.get(sp.kind) ?? []), sp.ms]);
  return [...by.entries()]
    .sort((a, b) => b[1].reduce((x, y) => x + y, 0) - a[1].reduce((x, y) => x + y, 0))
    .map(([k, ms]) => ({ op: `  spawn ${k} ${label} (${(ms.length / count).toFixed(1)} per container)`, samples: ms }));
}

export async function main(n: number): Promise<Row[]> {
  const sb = await startSandbox(undefined, { prefix: 'prof', daemonArgs: ['--log-level', 'trace'] });
  const agent = keepAliveAgent();
  const ids: string[] = [];
  const creates: number[] = [];
  const starts: number[] = [];
  const at: number[] = []; // wall clock when container i's create was sent; at[n] = after the last start
  const cpu: number[] = [];
  const pid = await sb.daemonPid();
  try {
    await sb.docker(['network', 'create', '--subnet', '10.81.0.0/16', 'profnet']);
    for (let i = 1; i <= n; i++) {
      at.push(Date.now());
      cpu.push(await cpuMs(pid));
      let id = '';
      creates.push(await time(async () => {
        const c = await apiRequest(sb.socket, 'POST', `/v1.50/containers/create?name=p${i}`, { body: { Image: 'busybox', Cmd: ['sleep', '36000'], HostConfig: { NetworkMode: 'profnet' } }, agent });
        if (c.status !== 201) throw new Error(`create #${i}: ${c.status} ${c.body}`);
        id = c.json<{ Id: string }>().Id;
      }));
      starts.push(await time(async () => {
        const s = await apiRequest(sb.socket, 'POST', `/v1.50/containers/${id}/start`, { agent });
        if (s.status !== 204) throw new Error(`start #${i}: ${s.status} ${s.body}`);
      }));
      ids.push(id);
      if (i % 50 === 0) process.stdout.write(`  ${i} running (last start ${starts[starts.length - 1]?.toFixed(0)} ms, load ${loadavg()[0]?.toFixed(1)})\n`);
    }
    at.push(Date.now());
    cpu.push(await cpuMs(pid));
    const logPath = `/run/redes/${sb.name}/redesd.log`;
    const phases = await phaseLog(logPath);
    const windows: Array<[number, number]> = [[0, Math.min(10, n)]];
    for (let end = 100; end < n; end += 100) windows.push([end - 10, end]);
    if (n > 10) windows.push([n - 10, n]);
    const rmFrom = Date.now();
    const queue = [...ids];
    const rm = await time(() =>
      Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let id = queue.pop(); id; id = queue.pop()) await apiRequest(sb.socket, 'DELETE', `/v1.50/containers/${id}?force=1`, { agent });
        }),
      ),
    );
    const rmCpu = (await cpuMs(pid)) - (cpu[n] ?? NaN);
    const spawns = await spawnLog(logPath);
    const rows: Row[] = [];
    for (const [a, b] of windows) {
      const label = `#${a + 1}-${b}`;
      rows.push({ op: `api create ${label}`, samples: creates.slice(a, b) });
      rows.push({ op: `api start ${label}`, samples: starts.slice(a, b) });
      rows.push({ op: `  daemon cpu ${label}`, samples: cpu.slice(a, b).map((c, i) => (cpu[a + i + 1] ?? NaN) - c) });
      for (const p of PHASES) rows.push({ op: `  start phase ${p} ${label}`, samples: phases.slice(a, b).map((x) => x[p] ?? NaN) });
      rows.push(...spawnRows(spawns, at[a] ?? 0, at[b] ?? Infinity, b - a, label));
    }
    rows.push(...spawnRows(spawns, rmFrom, Infinity, n, 'removal'));
    const first = median(starts.slice(0, 10).map((s, i) => s + (creates[i] ?? 0)));
    const last = median(starts.slice(-10).map((s, i) => s + (creates.slice(-10)[i] ?? 0)));
    const notes = [
      `${n} containers: create+start of the last ten / first ten = ${(last / first).toFixed(2)} (${last.toFixed(1)} / ${first.toFixed(1)} ms)`,
      `removing all ${n} (4 clients, force): ${(rm / 1000).toFixed(1)} s; daemon cpu ${(rmCpu / n).toFixed(1)} ms per container`,
      `load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    ];
    process.stdout.write(`scale-profile: ${n} containers (sandbox ${sb.name})\n${formatTable(rows)}\n${notes.join('\n')}\n`);
    await writeResults('scale-profile', rows, {
      notes,
      series: PHASES.map((p) => ({ name: `start phase ${p}`, xLabel: 'container number', yLabel: 'ms', points: phases.map((x, i) => [i + 1, Math.round((x[p] ?? 0) * 10) / 10] as [number, number]) })),
    });
    return rows;
  } finally {
    agent.destroy();
    await sb.down();
  }
}

runIfMain(import.meta.url, 'scale-profile', 200, main);
