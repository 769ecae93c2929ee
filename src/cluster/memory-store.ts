/**
 * An in-memory ClusterStore: the fake the layers above test against. Several stores (one per
 * simulated host, each with its own node id) can share one `MemoryClusterBackend`, which keeps a
 * global revision, every key, and the full event history so that watches replay from any revision.
 *
 * Use: `const backend = new MemoryClusterBackend(); const a = backend.store('node-a');
 * const b = backend.store('node-b');` then `backend.expireLease('node-a')` to simulate host a dying
 * (its leased keys are deleted, watchers see the deletes), and `backend.renewLease('node-a')` + the
 * store's re-put to simulate it coming back. `memoryClusterStore()` is the one-host shorthand.
 *
 * Beware:
 * - Events are delivered asynchronously (microtasks), in revision order, as etcd delivers them: a
 *   test awaits a promise or `backend.settle()` before looking at what a watcher saw.
 * - The history is never compacted; this store is for tests, not for long runs.
 * - Calls on a closed store reject, as a closed etcd client does.
 */
import type { ClusterStore, StoreWatch, StoredValue, WatchEvent } from './store.js';

interface Entry {
  value: string;
  modRevision: number;
  /** Node id of the lease the key is tied to, if any. */
  leaseOwner?: string;
}

interface Watcher {
  prefix: string;
  onEvent: (ev: WatchEvent) => void;
  open: boolean;
}

export class MemoryClusterBackend {
  private revision = 1;
  private readonly entries = new Map<string, Entry>();
  private readonly history: WatchEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  /** Counts writes (puts, deletes, successful creates) to let tests measure writes per operation. */
  writes = 0;

  /** A store for one simulated host. */
  store(nodeId: string): MemoryClusterStore {
    return new MemoryClusterStore(this, nodeId);
  }

  get currentRevision(): number {
    return this.revision;
  }

  read(key: string): StoredValue | undefined {
    const e = this.entries.get(key);
    return e && { key, value: e.value, modRevision: e.modRevision };
  }

  list(prefix: string): { items: StoredValue[]; revision: number } {
    const items: StoredValue[] = [];
    for (const [key, e] of this.entries) {
      if (key.startsWith(prefix)) items.push({ key, value: e.value, modRevision: e.modRevision });
    }
    items.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    return { items, revision: this.revision };
  }

  write(key: string, value: string, leaseOwner: string | undefined): void {
    const revision = ++this.revision;
    this.entries.set(key, { value, modRevision: revision, leaseOwner });
    this.emit({ type: 'put', key, value, revision });
  }

  remove(key: string): void {
    if (!this.entries.has(key)) return;
    const revision = ++this.revision;
    this.entries.delete(key);
    this.emit({ type: 'delete', key, revision });
  }

  /** Simulates a host whose lease ran out: every key tied to its lease is deleted. */
  expireLease(nodeId: string): void {
    for (const [key, e] of [...this.entries]) if (e.leaseOwner === nodeId) this.remove(key);
  }

  /** Keys currently tied to the lease of nodeId. */
  leasedKeys(nodeId: string): string[] {
    return [...this.entries].filter(([, e]) => e.leaseOwner === nodeId).map(([k]) => k);
  }

  subscribe(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void): Watcher {
    const w: Watcher = { prefix, onEvent, open: true };
    for (const ev of this.history) {
      if (ev.revision > fromRevision && ev.key.startsWith(prefix)) this.deliver(w, ev);
    }
    this.watchers.add(w);
    return w;
  }

  unsubscribe(w: Watcher): void {
    w.open = false;
    this.watchers.delete(w);
  }

  /** Resolves once every event emitted so far has been delivered. */
  settle(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  private emit(ev: WatchEvent): void {
    this.writes++;
    this.history.push(ev);
    for (const w of this.watchers) if (ev.key.startsWith(w.prefix)) this.deliver(w, ev);
  }

  private deliver(w: Watcher, ev: WatchEvent): void {
    queueMicrotask(() => {
      if (w.open) w.onEvent(ev);
    });
  }
}

export class MemoryClusterStore implements ClusterStore {
  private closed = false;
  private readonly watches = new Set<Watcher>();

  constructor(
    readonly backend: MemoryClusterBackend,
    readonly nodeId: string,
  ) {}

  async get(key: string): Promise<StoredValue | undefined> {
    this.check();
    return this.backend.read(key);
  }

  async list(prefix: string): Promise<{ items: StoredValue[]; revision: number }> {
    this.check();
    return this.backend.list(prefix);
  }

  async put(key: string, value: string, opts: { lease?: boolean } = {}): Promise<void> {
    this.check();
    this.backend.write(key, value, opts.lease ? this.nodeId : undefined);
  }

  async delete(key: string): Promise<void> {
    this.check();
    this.backend.remove(key);
  }

  async deleteIf(key: string, value: string): Promise<boolean> {
    this.check();
    if (this.backend.read(key)?.value !== value) return false;
    this.backend.remove(key);
    return true;
  }

  async create(key: string, value: string, opts: { lease?: boolean } = {}): Promise<boolean> {
    this.check();
    if (this.backend.read(key)) return false;
    this.backend.write(key, value, opts.lease ? this.nodeId : undefined);
    return true;
  }

  async claim(key: string, value: string, opts: { lease?: boolean } = {}): Promise<boolean> {
    this.check();
    const cur = this.backend.read(key);
    if (cur && cur.value !== value) return false;
    this.backend.write(key, value, opts.lease ? this.nodeId : undefined);
    return true;
  }

  async watch(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void): Promise<StoreWatch> {
    this.check();
    const w = this.backend.subscribe(prefix, fromRevision, onEvent);
    this.watches.add(w);
    return {
      close: async () => {
        this.backend.unsubscribe(w);
        this.watches.delete(w);
      },
    };
  }

  async close(opts: { keepLease?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watches) this.backend.unsubscribe(w);
    this.watches.clear();
    // A kept lease runs out when the test says so (backend.expireLease), as a TTL would.
    if (!opts.keepLease) this.backend.expireLease(this.nodeId);
  }

  private check(): void {
    if (this.closed) throw new Error(`cluster store of node ${this.nodeId} is closed`);
  }
}

/** A single-host in-memory store (its own backend). */
export function memoryClusterStore(nodeId = 'node-1'): MemoryClusterStore {
  return new MemoryClusterBackend().store(nodeId);
}
