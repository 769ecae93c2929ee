/**
 * An in-memory ClusterStore: the fake the layers above test against. Several stores (one per
 * simulated host, each with its own node id) can share one `MemoryClusterBackend`, which keeps a
 * global revision, every key, and the full event history so that watches replay from any revision.
 *
 * Use: `const backend = new MemoryClusterBackend(); const a = backend.store('node-a');
 * const b = backend.store('node-b');` then `backend.expireLease('node-a')` to simulate host a dying
 * (its leased keys are deleted, watchers see the deletes); `backend.loseLease('node-a', meanwhile)`
 * for a host whose lease is lost while it runs (doubt, expiry, `meanwhile` (another host takes a
 * key), then the lease replaced: its leased keys claimed again, as etcd's store does), and
 * `backend.tellLease('node-a', ev)` for a lone doubt or kept. `memoryClusterStore()` is the one-host
 * shorthand.
 *
 * Beware:
 * - Events are delivered asynchronously (microtasks), in revision order, as etcd delivers them: a
 *   test awaits a promise or `backend.settle()` before looking at what a watcher saw.
 * - The history is never compacted; this store is for tests, not for long runs.
 * - Calls on a closed store reject, as a closed etcd client does.
 */
import type { ClusterStore, LeaseEvent, StoreWatch, StoredValue, WatchEvent } from './store.js';

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
  private readonly stores = new Set<MemoryClusterStore>();
  /** Counts writes (puts, deletes, successful creates) to let tests measure writes per operation. */
  writes = 0;

  /** A store for one simulated host. */
  store(nodeId: string): MemoryClusterStore {
    const s = new MemoryClusterStore(this, nodeId);
    this.stores.add(s);
    return s;
  }

  /** Tells the stores of nodeId a lease event (`doubt`, `kept`) without changing any key. */
  tellLease(nodeId: string, ev: LeaseEvent): void {
    for (const s of this.stores) if (s.nodeId === nodeId) s.tell(ev);
  }

  /**
   * The lease of nodeId is lost while its host runs: `doubt`, its leased keys expire, `meanwhile`
   * runs (another host takes a key), then each of its stores claims its leased keys again and says
   * `replaced` (with the keys it could not claim back); resolves when the listeners were told.
   */
  async loseLease(nodeId: string, meanwhile: () => Promise<void> = async () => undefined): Promise<void> {
    this.tellLease(nodeId, { type: 'doubt' });
    this.expireLease(nodeId);
    await meanwhile();
    for (const s of this.stores) if (s.nodeId === nodeId) await s.replaceLease();
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
  /** Leased keys to claim again when the lease is replaced (as the etcd store keeps them). */
  private readonly leased = new Map<string, string>();
  private readonly leaseListeners = new Set<(ev: LeaseEvent) => void>();

  constructor(
    readonly backend: MemoryClusterBackend,
    readonly nodeId: string,
  ) {}

  onLease(fn: (ev: LeaseEvent) => void): () => void {
    this.leaseListeners.add(fn);
    return () => void this.leaseListeners.delete(fn);
  }

  /** Tells the lease listeners (MemoryClusterBackend.tellLease). */
  tell(ev: LeaseEvent): void {
    if (!this.closed) for (const fn of [...this.leaseListeners]) fn(ev);
  }

  /** A new lease: the leased keys claimed again (only if absent or still ours), then `replaced`. */
  async replaceLease(): Promise<void> {
    if (this.closed) return;
    const taken: string[] = [];
    for (const [key, value] of [...this.leased]) if (!(await this.claim(key, value, { lease: true }))) taken.push(key);
    this.tell({ type: 'replaced', taken });
  }

  async get(key: string): Promise<StoredValue | undefined> {
    this.check();
    return this.backend.read(key);
  }

  async list(prefix: string): Promise<{ items: StoredValue[]; revision: number }> {
    this.check();
    return this.backend.list(prefix);
  }

  async put(key: string, value: string, opts: { lease?: boolean; republish?: boolean } = {}): Promise<void> {
    this.check();
    this.remember(key, value, !!opts.lease && opts.republish !== false);
    this.backend.write(key, value, opts.lease ? this.nodeId : undefined);
  }

  async delete(key: string): Promise<void> {
    this.check();
    this.leased.delete(key);
    this.backend.remove(key);
  }

  async deleteIf(key: string, value: string): Promise<boolean> {
    this.check();
    if (this.backend.read(key)?.value !== value) return false;
    this.leased.delete(key);
    this.backend.remove(key);
    return true;
  }

  async create(key: string, value: string, opts: { lease?: boolean } = {}): Promise<boolean> {
    this.check();
    if (this.backend.read(key)) return false;
    if (opts.lease) this.leased.set(key, value);
    this.backend.write(key, value, opts.lease ? this.nodeId : undefined);
    return true;
  }

  async claim(key: string, value: string, opts: { lease?: boolean } = {}): Promise<boolean> {
    this.check();
    const cur = this.backend.read(key);
    if (cur && cur.value !== value) {
      if (opts.lease) this.leased.delete(key);
      return false;
    }
    if (opts.lease) this.leased.set(key, value);
    this.backend.write(key, value, opts.lease ? this.nodeId : undefined);
    return true;
  }

  private remember(key: string, value: string, republish: boolean): void {
    if (republish) this.leased.set(key, value);
    else this.leased.delete(key);
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
    this.leaseListeners.clear();
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
