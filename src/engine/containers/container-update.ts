/**
 * `docker update` and `docker pause`/`unpause`: changes to a container's cgroups after create. The
 * new limits are stored in its HostConfig (so inspect and the next start see them) and, while it
 * runs, applied with `runc update`; pause freezes the freezer cgroup with `runc pause`.
 *
 * Use: `new ContainerUpdates(controller)`; `update(term, body)`, `pause(term)`, `unpause(term)`.
 * Beware: an update body carries every field, zero when unchanged (the CLI's UpdateConfig): only
 * non-zero fields change anything. Fields an update cannot change are refused by name.
 */
import { runcPause, runcUpdate } from '../../runtime/index.js';
import { conflict, invalidParameter } from '../../util/index.js';
import { isZero, refusal, HOST_CONFIG_FIELDS } from './create-fields.js';
import type { ContainerController } from './container-controller.js';
import { checkHostResources, resourcesOf } from './host-config-spec.js';
import { checkRestartPolicy } from './restart-policy.js';

/** What `POST /containers/{id}/update` may change (Docker's UpdateConfig: Resources + RestartPolicy). */
const UPDATABLE = [
  'CpuShares', 'Memory', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'MemoryReservation', 'MemorySwap',
  'NanoCpus', 'PidsLimit', 'RestartPolicy', 'BlkioWeight', 'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'KernelMemoryTCP',
];

export class ContainerUpdates {
  constructor(private readonly ctl: ContainerController) {}

  update(term: string, body: unknown): Promise<{ Warnings: string[] }> {
    const b = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
    const changes: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(b)) {
      if (isZero(v) || (k === 'RestartPolicy' && !(v as { Name?: string }).Name)) continue;
      if (!UPDATABLE.includes(k) && HOST_CONFIG_FIELDS[k]) {
        if (refusal(HOST_CONFIG_FIELDS[k], v)) throw invalidParameter('container.unsupported_field', `${k} is not supported by this engine: ${refusal(HOST_CONFIG_FIELDS[k], v)}`);
        throw invalidParameter('container.update_field', `${k} cannot be changed by an update`);
      }
      const why = k === 'RestartPolicy' ? undefined : refusal(HOST_CONFIG_FIELDS[k], v);
      if (why) throw invalidParameter('container.unsupported_field', `${k} is not supported by this engine: ${why}`);
      changes[k] = v;
    }
    return this.ctl.modify(term, async (rec) => {
      const hc = { ...rec.hostConfig };
      const oldSwap = typeof hc.MemorySwap === 'number' ? hc.MemorySwap : 0;
      if (typeof changes.Memory === 'number' && changes.MemorySwap === undefined && oldSwap > 0 && oldSwap < changes.Memory) {
        throw invalidParameter('resources.swap', 'Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
      }
      Object.assign(hc, changes);
      if (changes.RestartPolicy) checkRestartPolicy(hc);
      checkHostResources(hc);
      if (rec.state.status === 'running') await runcUpdate(this.ctl.runc, rec.id, resourcesOf(hc));
      rec.hostConfig = hc;
      this.ctl.emitEvent(rec, 'update');
      return { Warnings: [] };
    });
  }

  pause(term: string): Promise<void> {
    return this.ctl.modify(term, async (rec) => {
      if (rec.state.status !== 'running') throw conflict('container.not_running', `Container ${rec.id} is not running`);
      if (rec.state.paused) throw conflict('container.paused', `Container ${rec.id} is already paused`);
      await runcPause(this.ctl.runc, rec.id, true);
      rec.state = { ...rec.state, paused: true };
      this.ctl.emitEvent(rec, 'pause');
    });
  }

  unpause(term: string): Promise<void> {
    return this.ctl.modify(term, async (rec) => {
      if (!rec.state.paused || rec.state.status !== 'running') throw conflict('container.not_paused', `Container ${rec.id} is not paused`);
      await runcPause(this.ctl.runc, rec.id, false);
      rec.state = { ...rec.state, paused: false };
      this.ctl.emitEvent(rec, 'unpause');
    });
  }
}
