/**
 * The daemon's doctor: lists the differences between its state and the kernel (doctor.ts), and with
 * `repair` fixes the safe ones: objects nothing owns are removed (namespaces, veths, bridges,
 * cgroups, mounts, shims, runc containers, directories), addresses no endpoint holds are released,
 * a container's interfaces and endpoints are made to agree, endpoints on missing networks dropped,
 * our nftables table re-rendered, stale DNS names forgotten. What a running container depends on
 * (its missing namespace, its shim) is only reported.
 *
 * Use: `new Doctor(sources, repairs)`; `await doctor.check()`, `await doctor.repair()`.
 *
 * Beware: snapshots are taken only while the engine is idle (no container or network operation runs
 * or waits), and a repair acts only on a difference seen in two snapshots taken apart. An operation
 * that starts between the second snapshot and the repair can still meet it: repair a quiet daemon.
 */
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ipBatch, netnsDelete, removeCgroupTree, stopPid, pidCmdline } from '../kernel/index.js';
import { deleteContainer, signalContainer } from '../runtime/index.js';
import { unmountRootfs } from '../images/index.js';
import { conflict, logger } from '../util/index.js';
import { diagnose, type Difference, type Repair } from './doctor.js';
import { doctorState, kernelView, type DoctorSources } from './doctor-collect.js';

const log = logger.child({ component: 'doctor' });

/** The repairs only the engine can make (they change records under the container's lock). */
export interface EngineRepairs {
  /** True while any container or network operation runs or waits. */
  busy(): boolean;
  releaseOwner(owner: string): void;
  /** Makes a running container's interfaces and endpoints agree (crash recovery's rule). */
  reconcile(containerId: string): Promise<unknown>;
  /** Drops an endpoint whose network is gone (its interface and addresses go with it). */
  dropEndpoint(containerId: string, network: string): Promise<void>;
  forgetDns(containerId: string): void;
  reloadFirewall(): Promise<void>;
}

export interface RepairReport {
  repaired: Difference[];
  failed: Array<{ difference: Difference; error: string }>;
  /** What a check finds after the repairs. */
  remaining: Difference[];
}

/** Repairs in the order they are applied: processes first, then records, then kernel objects. */
const ORDER: ReadonlyArray<Repair['action']> = [
  'kill-container', 'kill-shim', 'drop-endpoint', 'reconcile', 'release-owner', 'forget-dns',
  'delete-netns', 'delete-link', 'unmount-rootfs', 'remove-cgroup', 'remove-dir', 'reload-firewall',
];

const keyOf = (d: Difference): string => `${d.kind}\n${d.object}\n${d.problem}`;
const repairKey = (r: Repair): string => JSON.stringify(r);

export class Doctor {
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly src: DoctorSources,
    private readonly engine: EngineRepairs,
    private readonly opts: { idleWaitMs?: number; settleMs?: number } = {},
  ) {}

  /** Every difference between the state and the kernel, from a snapshot of an idle engine. */
  check(): Promise<Difference[]> {
    return this.serial(() => this.snapshot());
  }

  repair(): Promise<RepairReport> {
    return this.serial(async () => {
      const first = await this.snapshot();
      if (!first.some((d) => d.repair)) return { repaired: [], failed: [], remaining: first };
      await sleep(this.opts.settleMs ?? 300);
      const seen = new Set(first.map(keyOf));
      const both = (await this.snapshot()).filter((d) => d.repair && seen.has(keyOf(d)));
      const repaired: Difference[] = [];
      const failed: RepairReport['failed'] = [];
      const done = new Set<string>();
      for (const action of ORDER) {
        for (const d of both.filter((x) => x.repair?.action === action)) {
          const r = d.repair as Repair;
          try {
            if (!done.has(repairKey(r))) await this.apply(r);
            done.add(repairKey(r));
            repaired.push(d);
          } catch (e) {
            failed.push({ difference: d, error: (e as Error).message });
          }
        }
      }
      log.info({ repaired: repaired.length, failed: failed.length }, 'doctor repaired');
      return { repaired, failed, remaining: await this.snapshot() };
    });
  }

  /** One doctor at a time: two repairs at once would race each other. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.running.then(fn, fn);
    this.running = next.catch(() => undefined);
    return next;
  }

  /** Diagnoses while the engine stays idle from before the reads to after them (retried). */
  private async snapshot(): Promise<Difference[]> {
    const deadline = Date.now() + (this.opts.idleWaitMs ?? 30_000);
    for (;;) {
      while (this.engine.busy()) {
        if (Date.now() > deadline) throw conflict('doctor.busy', 'the engine stayed busy: run the doctor again when no operation runs');
        await sleep(50);
      }
      const state = doctorState(this.src);
      const kernel = await kernelView(this.src, state);
      if (!this.engine.busy()) {
        // An operation that began and ended during the reads changed the records: read again.
        const again = doctorState(this.src);
        if (JSON.stringify(again.containers) === JSON.stringify(state.containers) && again.allocations.length === state.allocations.length) return diagnose(state, kernel);
      }
      if (Date.now() > deadline) throw conflict('doctor.busy', 'the engine stayed busy: run the doctor again when no operation runs');
    }
  }

  private async apply(r: Repair): Promise<void> {
    const runcRoot = this.src.runcRoot;
    switch (r.action) {
      case 'kill-container':
        await signalContainer({ id: r.id, runcRoot }, 'KILL').catch(() => undefined);
        await deleteContainer({ id: r.id, runcRoot });
        return;
      case 'kill-shim': {
        const argv = await pidCmdline(r.pid);
        if (argv?.[0]?.endsWith('redes-shim')) await stopPid(r.pid, { graceMs: 2000 });
        return;
      }
      case 'drop-endpoint':
        return this.engine.dropEndpoint(r.containerId, r.network);
      case 'reconcile':
        await this.engine.reconcile(r.containerId);
        return;
      case 'release-owner':
        return this.engine.releaseOwner(r.owner);
      case 'forget-dns':
        return this.engine.forgetDns(r.containerId);
      case 'delete-netns':
        return netnsDelete(r.netns);
      case 'delete-link':
        return ipBatch([['link', 'del', r.ifname]]);
      case 'unmount-rootfs':
        return unmountRootfs(r.dir);
      case 'remove-cgroup':
        return removeCgroupTree(this.src.prefix, 2000, r.id);
      case 'remove-dir':
        await unmountRootfs(r.dir).catch(() => undefined);
        await rm(r.dir, { recursive: true, force: true });
        return;
      case 'reload-firewall':
        return this.engine.reloadFirewall();
    }
  }
}
