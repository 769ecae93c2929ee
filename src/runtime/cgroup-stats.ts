/**
 * Reading a container's cgroup counters (v1 hierarchies, as on this machine): CPU time, memory,
 * pids, block I/O, the OOM-kill count, the processes; and a network namespace's interface counters
 * from /proc/<pid>/net/dev (which shows the namespace of that process, so no setns is needed).
 *
 * Use: `await cgroupStats('/redes/<id>')` for `docker stats`; `await oomKills('/redes/<id>')` before
 * the cgroup is deleted; `await netDev(pid)`.
 * Beware: a counter whose file is missing reads as 0 (a controller may be absent); cgroup paths are
 * absolute (`/<prefix>/<id>`) and checked, they come from our own records.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CGROUP_ROOT } from '../kernel/index.js';

function checkPath(path: string): void {
  if (!/^(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$/.test(path)) throw new Error(`invalid cgroup path "${path}"`);
}

const readText = (file: string): Promise<string> => readFile(file, 'utf8').catch(() => '');
const readNum = async (file: string): Promise<number> => Number((await readText(file)).trim()) || 0;

/** `key value` lines (memory.stat, cpuacct.stat, memory.oom_control). */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

export interface CgroupStats {
  cpu: { totalNs: number; perCpuNs: number[]; userNs: number; systemNs: number; throttled: { periods: number; throttledPeriods: number; throttledNs: number } };
  memory: { usage: number; maxUsage: number; limit: number; failcnt: number; stat: Record<string, number> };
  pids: { current: number; limit: number };
  blkio: Array<{ major: number; minor: number; op: string; value: number }>;
}

const USER_HZ_NS = 10_000_000; // cpuacct.stat counts USER_HZ (100/s) ticks

/** The counters of the cgroup at `path` in each v1 hierarchy. */
export async function cgroupStats(path: string): Promise<CgroupStats> {
  checkPath(path);
  const at = (ctrl: string, file: string): string => `${CGROUP_ROOT}/${ctrl}${path}/${file}`;
  const perCpu = (await readText(at('cpuacct', 'cpuacct.usage_percpu'))).trim().split(/\s+/).filter(Boolean).map(Number);
  const cpuStat = parseKeyValues(await readText(at('cpuacct', 'cpuacct.stat')));
  const thr = parseKeyValues(await readText(at('cpu', 'cpu.stat')));
  const pidsMax = (await readText(at('pids', 'pids.max'))).trim();
  const blkio: CgroupStats['blkio'] = [];
  for (const line of (await readText(at('blkio', 'blkio.throttle.io_service_bytes_recursive'))).split('\n')) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim());
    if (m) blkio.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3] as string, value: Number(m[4]) });
  }
  return {
    cpu: {
      totalNs: await readNum(at('cpuacct', 'cpuacct.usage')),
      perCpuNs: perCpu,
      userNs: (cpuStat.user ?? 0) * USER_HZ_NS,
      systemNs: (cpuStat.system ?? 0) * USER_HZ_NS,
      throttled: { periods: thr.nr_periods ?? 0, throttledPeriods: thr.nr_throttled ?? 0, throttledNs: thr.throttled_time ?? 0 },
    },
    memory: {
      usage: await readNum(at('memory', 'memory.usage_in_bytes')),
      maxUsage: await readNum(at('memory', 'memory.max_usage_in_bytes')),
      limit: await readNum(at('memory', 'memory.limit_in_bytes')),
      failcnt: await readNum(at('memory', 'memory.failcnt')),
      stat: parseKeyValues(await readText(at('memory', 'memory.stat'))),
    },
    pids: { current: await readNum(at('pids', 'pids.current')), limit: pidsMax === 'max' || !pidsMax ? 0 : Number(pidsMax) },
    blkio,
  };
}

/**
 * Did the kernel's OOM killer kill a process of this memory cgroup? The shim deletes the cgroup (and
 * its oom_kill counter) before the exit is known, so the kernel log is read instead: each kill logs
 * `oom-kill:...,oom_memcg=<path>,...`. Reads what /dev/kmsg holds, without blocking.
 */
export function oomKilled(path: string): boolean {
  checkPath(path);
  const needle = `oom_memcg=${path},`;
  let fd: number;
  try {
    fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  const buf = Buffer.alloc(8192);
  let found = false;
  try {
    for (let i = 0; i < 100_000 && !found; i++) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') continue; // records overwritten while reading: go on with the next
        break; // EAGAIN: the end of the log
      }
      if (n <= 0) break;
      found = buf.toString('utf8', 0, n).includes(needle);
    }
  } finally {
    closeSync(fd);
  }
  return found;
}

/** The processes of the cgroup (pids cgroup), in the daemon's pid namespace. */
export async function cgroupPids(path: string): Promise<number[]> {
  checkPath(path);
  const text = await readText(`${CGROUP_ROOT}/pids${path}/cgroup.procs`);
  return text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}

export interface NetDevCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** /proc/net/dev's table, by interface. */
export function parseNetDev(text: string): Record<string, NetDevCounters> {
  const out: Record<string, NetDevCounters> = {};
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const f = (m[2] as string).trim().split(/\s+/).map(Number);
    out[m[1] as string] = {
      rxBytes: f[0] ?? 0, rxPackets: f[1] ?? 0, rxErrors: f[2] ?? 0, rxDropped: f[3] ?? 0,
      txBytes: f[8] ?? 0, txPackets: f[9] ?? 0, txErrors: f[10] ?? 0, txDropped: f[11] ?? 0,
    };
  }
  return out;
}

/** The interface counters of the network namespace `pid` lives in. */
export async function netDev(pid: number): Promise<Record<string, NetDevCounters>> {
  if (!Number.isInteger(pid) || pid <= 0) return {};
  return parseNetDev(await readText(`/proc/${pid}/net/dev`));
}

/** Total CPU time of the machine in ns (/proc/stat's first line, USER_HZ ticks), as Docker's system_cpu_usage. */
export async function systemCpuNs(): Promise<{ totalNs: number; onlineCpus: number }> {
  const text = await readText('/proc/stat');
  const first = text.split('\n')[0] ?? '';
  const ticks = first.trim().split(/\s+/).slice(1, 8).map(Number).reduce((a, b) => a + b, 0);
  const onlineCpus = text.split('\n').filter((l) => /^cpu\d+ /.test(l)).length;
  return { totalNs: ticks * USER_HZ_NS, onlineCpus };
}
