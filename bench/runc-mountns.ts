/**
 * Benchmark: `runc create` in the daemon's mount namespace against a private one holding only the
 * container's own mounts (redesd --runc-private-mounts, the default), as the machine's mount count
 * grows. Two sandboxes run side by side, `shared` (--runc-private-mounts=false, as before) and
 * `private`, each starting N containers (default 300) on a user network of its own, alternating one
 * container each, so both see the same mount table (every container adds its rootfs and its netns
 * file to the machine's) and the same load. Per side and window (containers #11-30 and the last 20):
 * the API create+start and the start's `create` phase (shim + `runc create`, from the daemon's debug
 * log), with the machine's mount count.
 *
 * Use: `node dist/bench/runc-mountns.js [N]` (or $BENCH_N). Sandboxes `mnsh<6 random>` and
 * `mnpr<6 random>`, removed at the end. Writes bench/results/runc-mountns.json.
 * Beware: the machine is shared: the mount count includes other sandboxes' mounts; the load average is
 * noted with the figures.
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { startSandbox, type Sandbox } from '../test/helpers/sandbox.js';
import { apiRequest, keepAliveAgent } from '../test/helpers/engine-api.js';
import { formatTable, median, runIfMain, time, type Row } from './lib.js';
import { writeResults } from './results-file.js';

interface Side {
  label: 'shared' | 'private';
  sb: Sandbox;
  agent: ReturnType<typeof keepAliveAgent>;
  /** create+start through the API, per container. */
  apiMs: number[];
  ids: string[];
}

const mountCount = async (): Promise<number> => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter(Boolean).length;

/** Each start's `create` phase (shim + runc create), in start order, from the cumulative phase marks. */
async function createPhases(sb: Sandbox): Promise<number[]> {
  const out: number[] = [];
  for (const line of (await readFile(`/run/redes/${sb.name}/redesd.log`, 'utf8')).split('\n')) {
    if (!line.includes('start phases')) continue;
    const ms = (JSON.parse(line) as { ms?: Record<string, number> }).ms ?? {};
    if (ms.create !== undefined && ms.bundle !== undefined) out.push(ms.create - ms.bundle);
  }
  return out;
}

async function startOne(s: Side, i: number): Promise<void> {
  let id = '';
  s.apiMs.push(await time(async () => {
    const c = await apiRequest(s.sb.socket, 'POST', `/v1.50/containers/create?name=m${i}`, { body: { Image: 'busybox', Cmd: ['sleep', '36000'], HostConfig: { NetworkMode: 'mnet' } }, agent: s.agent });
    if (c.status !== 201) throw new Error(`${s.label} create #${i}: ${c.status} ${c.body}`);
    id = c.json<{ Id: string }>().Id;
    const st = await apiRequest(s.sb.socket, 'POST', `/v1.50/containers/${id}/start`, { agent: s.agent });
    if (st.status !== 204) throw new Error(`${s.label} start #${i}: ${st.status} ${st.body}`);
  }));
  s.ids.push(id);
}

async function removeAll(s: Side): Promise<void> {
  const queue = [...s.ids];
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let id = queue.pop(); id; id = queue.pop()) await apiRequest(s.sb.socket, 'DELETE', `/v1.50/containers/${id}?force=1`, { agent: s.agent });
  }));
}

export async function main(n: number): Promise<Row[]> {
  const sides: Side[] = [];
  try {
    for (const [label, prefix, args] of [['shared', 'mnsh', ['--runc-private-mounts=false']], ['private', 'mnpr', []]] as const) {
      const sb = await startSandbox(undefined, { prefix, daemonArgs: ['--log-level', 'debug', ...args] });
      sides.push({ label, sb, agent: keepAliveAgent(), apiMs: [], ids: [] });
      await sb.docker(['network', 'create', 'mnet']);
    }
    const mounts: number[] = []; // the machine's mount count before container i's pair
    const loads: number[] = [];
    for (let i = 1; i <= n; i++) {
      mounts.push(await mountCount());
      loads.push(loadavg()[0] ?? NaN);
      const order = i % 2 ? sides : [...sides].reverse(); // neither side always goes first
      for (const s of order) await startOne(s, i);
      if (i % 50 === 0) process.stdout.write(`  ${i} each (${mounts[i - 1]} mounts, load ${loadavg()[0]?.toFixed(1)})\n`);
    }
    const windows: Array<[number, number]> = [[10, Math.min(30, n)], [Math.max(n - 20, 0), n]];
    const rows: Row[] = [];
    const notes: string[] = [];
    const phases = new Map<string, number[]>();
    for (const s of sides) phases.set(s.label, await createPhases(s.sb));
    for (const [a, b] of windows) {
      const label = `#${a + 1}-${b}, ${Math.round(median(mounts.slice(a, b)))} mounts, load ${median(loads.slice(a, b)).toFixed(1)}`;
      for (const s of sides) {
        rows.push({ op: `create phase (shim + runc create), ${s.label}, ${label}`, samples: (phases.get(s.label) ?? []).slice(a, b) });
        rows.push({ op: `api create+start, ${s.label}, ${label}`, samples: s.apiMs.slice(a, b) });
      }
    }
    const [lo, hi] = windows as [[number, number], [number, number]];
    for (const s of sides) {
      const p = phases.get(s.label) ?? [];
      const ratio = (xs: number[]): string => (median(xs.slice(hi[0], hi[1])) / median(xs.slice(lo[0], lo[1]))).toFixed(2);
      notes.push(`${s.label}: last 20 / #11-30: create phase ${ratio(p)}, api create+start ${ratio(s.apiMs)}`);
    }
    notes.push(`mounts on the machine: ${mounts[lo[0]]} at #${lo[0] + 1}, ${mounts[n - 1]} at #${n}; both sides alternate, so each sees the other's mounts too`);
    notes.push(`load average (1 min) during the run: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}; at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    process.stdout.write(`runc-mountns: ${n} containers a side\n${formatTable(rows)}\n${notes.join('\n')}\n`);
    await writeResults('runc-mountns', rows, {
      notes,
      series: sides.map((s) => ({ name: `create phase, ${s.label}`, xLabel: 'container number', yLabel: 'ms', points: (phases.get(s.label) ?? []).map((y, i) => [i + 1, Math.round(y * 10) / 10] as [number, number]) })),
    });
    return rows;
  } finally {
    for (const s of sides) {
      await removeAll(s).catch(() => undefined);
      s.agent.destroy();
      await s.sb.down();
    }
  }
}

runIfMain(import.meta.url, 'runc-mountns', 300, main);
