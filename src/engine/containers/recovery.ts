/**
 * Crash recovery at daemon start, after running containers were re-adopted or found exited: whatever
 * an operation cut short by a crash left behind is finished or undone, so the API and the kernel
 * agree again.
 * - A container the store does not call running but whose runc container or shim exists (a start
 *   cut short): killed and deleted, its rootfs unmounted; it stays `created`/`exited`.
 * - A running container's namespace: interfaces no endpoint names removed, endpoints whose
 *   interface is gone dropped (a connect or disconnect cut short).
 * - Addresses held by no endpoint of a running container are released, and the drivers forget what
 *   they keep for such endpoints (a bridge port's layer-2 guard).
 * - Container directories no record owns (a create cut short) are removed.
 * - Container namespaces no running container owns (a start or an exit cut short) are deleted.
 *
 * Use: `await recoverInterrupted(deps)` once in ContainerController.init; it returns what it did.
 * Beware: runs before the API serves, so nothing else changes the records meanwhile.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerNetnsOps, ContainerRuntimeOps } from '../../host/index.js';
import type { Store } from '../../store/index.js';
import type { ContainerNetworking } from './container-network.js';
import type { ContainerRecord } from './container-types.js';

export interface RecoveryDeps {
  store: Store;
  records: () => ContainerRecord[];
  save: (rec: ContainerRecord) => void;
  networking: ContainerNetworking;
  runtime: ContainerRuntimeOps;
  netns: ContainerNetnsOps;
  /** Names of the container namespaces of this instance start with it. */
  netnsPrefix: string;
  networkIds: () => string[];
  stateDir: (rec: ContainerRecord) => string;
  containersDir: string;
}

export async function recoverInterrupted(d: RecoveryDeps): Promise<string[]> {
  const did: string[] = [];
  const records = d.records();
  for (const rec of records) {
    if (rec.state.status === 'running') continue;
    const stateDir = d.stateDir(rec);
    if (d.runtime.isRunning(stateDir) || (await d.runtime.exists(rec.id))) {
      await d.runtime.signal(rec.id, 'KILL').catch(() => undefined);
      await d.runtime.delete(rec.id).catch(() => undefined);
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 5000);
      await d.runtime.waitExit(stateDir, ac.signal).catch(() => undefined);
      clearTimeout(timer);
      did.push(`container ${rec.id.slice(0, 12)}: interrupted start undone`);
    }
    await d.runtime.unmountRootfs(rec.dir).catch(() => undefined);
  }
  // Listing each namespace's interfaces is one process per container: done a few at a time (with
  // hundreds running it was most of a restart), the changes themselves one container after another.
  const own = d.records().filter((rec) => rec.state.status === 'running' && rec.netns && !rec.networkMode.startsWith('container:'));
  const listed = await mapLimited(own, LIST_CONCURRENCY, (rec) => d.networking.interfacesOf(rec));
  for (const [i, rec] of own.entries()) {
    const changed = await d.networking.reconcile(rec, listed[i]);
    if (changed.length) {
      d.save(rec);
      did.push(...changed.map((c) => `container ${rec.id.slice(0, 12)}: ${c}`));
    }
  }
  const held = new Set<string>();
  for (const rec of d.records()) {
    if (rec.state.status !== 'running') continue;
    for (const ep of Object.values(rec.endpoints)) if (ep.endpointId) held.add(ep.endpointId);
  }
  await d.networking.retainEndpoints(held);
  const orphans = new Set<string>();
  for (const id of d.networkIds()) for (const a of d.store.allocations(id)) if (!held.has(a.owner)) orphans.add(a.owner);
  if (orphans.size) {
    d.store.transaction(() => {
      for (const o of orphans) d.store.releaseOwner(o);
    });
    did.push(`released the addresses of ${orphans.size} endpoint(s) that no longer exist`);
  }
  const known = new Set(d.records().map((r) => r.id));
  for (const name of await readdir(d.containersDir).catch(() => [] as string[])) {
    if (known.has(name)) continue;
    const dir = join(d.containersDir, name);
    await d.runtime.unmountRootfs(dir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    did.push(`directory ${name.slice(0, 12)} without a container removed`);
  }
  const owned = new Set(d.records().filter((r) => r.state.status === 'running').map((r) => r.netns));
  for (const ns of await d.netns.list(d.netnsPrefix)) {
    if (owned.has(ns)) continue;
    await d.netns.delete(ns).catch(() => undefined);
    did.push(`namespace ${ns} no container owns removed`);
  }
  return did;
}

const LIST_CONCURRENCY = 8;
/** Containers that ended while the daemon was down (all of them after a reboot), cleaned up at once. */
export const EXIT_CONCURRENCY = 8;

/** `fn` over `items` with at most `limit` calls in flight; results in the items' order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
