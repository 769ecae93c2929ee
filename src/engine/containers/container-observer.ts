/**
 * What `docker stats` and `docker top` show: Docker's stats document (cgroup v1 shape: CPU, memory,
 * pids, block I/O, and network I/O per interface read from the container's own namespace) and the
 * process table of the container.
 *
 * Use: `new ContainerObserver({ containers, cgroupPath })`; `stats(term, {oneShot})`,
 * `statsStream(term, signal)` (one document a second), `top(term, psArgs)`.
 * Beware: a stopped container gives one zeroed document (as dockerd); a host-network container has
 * no `networks`. The memory limit is capped at the machine's memory, as Docker reports it.
 */
import { totalmem } from 'node:os';
import { cgroupPids, cgroupStats, netDev, systemCpuNs, type CgroupStats, processTable, type ProcessTable } from '../../runtime/index.js';
import { conflict, nowRfc3339Nano, ZERO_TIME } from '../../util/index.js';
import type { ContainerRecord } from './container-types.js';

export interface ObserverDeps {
  resolve(term: string): ContainerRecord;
  cgroupPath(id: string): string;
}

interface Sample {
  read: string;
  cg: CgroupStats;
  system: { totalNs: number; onlineCpus: number };
}

type Doc = Record<string, unknown>;

function cpuStats(s: Sample | undefined): Doc {
  if (!s) return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
  return {
    cpu_usage: {
      total_usage: s.cg.cpu.totalNs,
      percpu_usage: s.cg.cpu.perCpuNs,
      usage_in_kernelmode: s.cg.cpu.systemNs,
      usage_in_usermode: s.cg.cpu.userNs,
    },
    system_cpu_usage: s.system.totalNs,
    online_cpus: s.system.onlineCpus,
    throttling_data: { periods: s.cg.cpu.throttled.periods, throttled_periods: s.cg.cpu.throttled.throttledPeriods, throttled_time: s.cg.cpu.throttled.throttledNs },
  };
}

export class ContainerObserver {
  constructor(private readonly deps: ObserverDeps) {}

  private async sample(rec: ContainerRecord): Promise<Sample> {
    return { read: nowRfc3339Nano(), cg: await cgroupStats(this.deps.cgroupPath(rec.id)), system: await systemCpuNs() };
  }

  private async document(rec: ContainerRecord, cur: Sample | undefined, pre: Sample | undefined): Promise<Doc> {
    const doc: Doc = {
      read: cur?.read ?? ZERO_TIME,
      preread: pre?.read ?? ZERO_TIME,
      pids_stats: cur ? { current: cur.cg.pids.current, ...(cur.cg.pids.limit ? { limit: cur.cg.pids.limit } : {}) } : {},
      blkio_stats: {
        io_service_bytes_recursive: cur?.cg.blkio.length ? cur.cg.blkio : null,
        io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
        io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
      },
      num_procs: 0,
      storage_stats: {},
      cpu_stats: cpuStats(cur),
      precpu_stats: cpuStats(pre),
      memory_stats: cur
        ? { usage: cur.cg.memory.usage, max_usage: cur.cg.memory.maxUsage, stats: cur.cg.memory.stat, failcnt: cur.cg.memory.failcnt, limit: Math.min(cur.cg.memory.limit || Infinity, totalmem()) }
        : {},
      name: `/${rec.name}`,
      id: rec.id,
    };
    if (cur && rec.netns && rec.state.pid > 0) {
      const networks: Doc = {};
      for (const [ifname, c] of Object.entries(await netDev(rec.state.pid))) {
        if (ifname === 'lo') continue;
        networks[ifname] = {
          rx_bytes: c.rxBytes, rx_packets: c.rxPackets, rx_errors: c.rxErrors, rx_dropped: c.rxDropped,
          tx_bytes: c.txBytes, tx_packets: c.txPackets, tx_errors: c.txErrors, tx_dropped: c.txDropped,
        };
      }
      doc.networks = networks;
    }
    return doc;
  }

  /** One document; without `oneShot` it waits a second for a CPU baseline, as dockerd does. */
  async stats(term: string, opts: { oneShot: boolean }): Promise<Doc> {
    const rec = this.deps.resolve(term);
    if (rec.state.status !== 'running') return this.document(rec, undefined, undefined);
    const first = await this.sample(rec);
    if (opts.oneShot) return this.document(rec, first, undefined);
    await new Promise((r) => setTimeout(r, 1000));
    return this.document(this.deps.resolve(rec.id), await this.sample(rec), first);
  }

  async *statsStream(term: string, signal: AbortSignal): AsyncIterable<Doc> {
    let rec = this.deps.resolve(term);
    let pre: Sample | undefined;
    while (!signal.aborted) {
      if (rec.state.status !== 'running') {
        yield await this.document(rec, undefined, undefined);
        return;
      }
      const cur = await this.sample(rec).catch(() => undefined);
      yield await this.document(rec, cur, pre);
      pre = cur;
      await new Promise((r) => setTimeout(r, 1000));
      try {
        rec = this.deps.resolve(rec.id);
      } catch {
        return;
      }
    }
  }

  async top(term: string, psArgs: string): Promise<ProcessTable> {
    const rec = this.deps.resolve(term);
    if (rec.state.status !== 'running') throw conflict('container.not_running', `Container ${rec.id} is not running`);
    return processTable(psArgs, await cgroupPids(this.deps.cgroupPath(rec.id)));
  }
}
