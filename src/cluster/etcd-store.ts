/**
 * The ClusterStore on etcd (v3 API, npm `etcd3`): every key lives under `/redes/<clusterId>/`, leased
 * keys hang off one lease per engine (its liveness), creates are transactions on the key's create
 * revision, watches start from the revision the caller read at.
 *
 * Use: `const s = await openEtcdClusterStore({ endpoints: ['https://198.51.100.11:2379'], tls,
 * clusterId, nodeId })`; `await s.close()` revokes the lease (a graceful leave).
 *
 * Beware:
 * - When etcd declares the lease lost (no quorum for longer than the TTL, this process paused past
 *   it), the store grants a new one and claims every leased key it wrote again (a transaction: only
 *   while absent or still holding its value), so a host comes back on its own; keys it wrote were
 *   deleted in between, and watchers elsewhere saw those deletes; another host may hold some now.
 *   Listeners (`onLease`) hear `doubt` as soon as no renewal was answered for a TTL (checked twice a
 *   second, so at once after a pause), before etcd's answer, then `kept` or `replaced`.
 * - A watch resumes after a reconnect from the last revision it delivered (the client keeps it); a
 *   watch asked to start at a compacted revision fails.
 * - The etcd3 client retries failed calls on another endpoint; a call to a dead member costs one try.
 * - The client follows the member list (read at open and every 5 s): members that join later are
 *   called too, removed ones dropped, so losing the member first reached is survivable.
 */
// Loaded when a store is opened: the etcd client (gRPC) takes seconds to load on a busy machine, and
// a daemon outside a cluster, or restarting with many containers, should not wait for it.
import type { CircuitBreakerPolicy } from 'cockatiel';
import type { Etcd3, Lease, Namespace, Watcher } from 'etcd3';
import { logger } from '../util/index.js';
import type { ClusterStore, LeaseEvent, StoreWatch, StoredValue, WatchEvent } from './store.js';

const log = logger.child({ component: 'cluster-store' });

export interface EtcdTls {
  /** PEM of the CA that signed the etcd members' certificates. */
  ca: Buffer;
  /** PEM client certificate and key, when the members ask for client certificates. */
  cert?: Buffer;
  key?: Buffer;
}

/** One member of the etcd cluster (its name is the node id of the engine that runs it). */
export interface EtcdMember {
  id: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
}

export interface EtcdStoreOptions {
  /** Where to reach etcd first; the client then follows the cluster's member list (see followMembers). */
  endpoints: string[];
  /** Called with the current members' client URLs each time they are read (to keep them for the next start). */
  onEndpoints?: (endpoints: string[]) => void;
  /** How often the member list is read (default 5000 ms). */
  membersEveryMs?: number;
  tls?: EtcdTls;
  clusterId: string;
  nodeId: string;
  /** Liveness lease TTL in seconds (default 6). */
  leaseTtl?: number;
}

// A member that fails three calls in a row is skipped for 1 s (the client's default is 5 s, longer
// than an etcd leader election here): calls go to the other members meanwhile.
let hostBreaker = (): CircuitBreakerPolicy => {
  throw new Error('the etcd client is not loaded yet');
};

/** The etcd client class; also makes `hostBreaker` (a circuit breaker per etcd member) usable. */
async function loadClient(): Promise<typeof Etcd3> {
  const [{ Etcd3: client, isRecoverableError }, { ConsecutiveBreaker, circuitBreaker, handleWhen }] = await Promise.all([import('etcd3'), import('cockatiel')]);
  hostBreaker = () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) });
  return client;
}

/**
 * The etcd3 client (1.1.2) fixes its hosts at construction and has no call to change them; its
 * connection pool keeps them in a plain array of Host objects, read afresh by every call and every
 * reconnect of a watch or keep-alive. setPoolHosts replaces that array (new Hosts made like the
 * existing ones: same credentials, channel options, breaker). Checked against 1.1.2's
 * connection-pool.js; `endpoints()` in the etcd store test fails if a new version moves it.
 */
interface PoolHost {
  host: string;
  channelCredentials: unknown;
  channelOptions: unknown;
  close(): void;
}
type PoolHostCtor = new (host: string, credentials: unknown, options: unknown, faultHandling: unknown) => PoolHost;
const poolOf = (client: Etcd3): { hosts: PoolHost[] } => (client as unknown as { pool: { hosts: PoolHost[] } }).pool;
const bare = (url: string): string => url.replace(/^[a-z]+:\/\//, '');

/** Makes the client call exactly `urls`; true when that changed anything. */
function setPoolHosts(client: Etcd3, urls: readonly string[]): boolean {
  const pool = poolOf(client);
  const first = pool.hosts[0];
  if (!first) return false;
  const want = urls.map(bare);
  if (want.length === pool.hosts.length && want.every((u) => pool.hosts.some((h) => h.host === u))) return false;
  const Ctor = first.constructor as PoolHostCtor;
  const next = want.map((u) => pool.hosts.find((h) => h.host === u) ?? new Ctor(u, first.channelCredentials, first.channelOptions, hostBreaker()));
  for (const h of pool.hosts) if (!next.includes(h)) h.close();
  pool.hosts = next;
  return true;
}

/** The useful part of a gRPC client error ("14 UNAVAILABLE: No connection established. Last error: X. Resolution note: "). */
export function grpcReason(message: string): string {
  const last = /Last error: (?:Error: )?(.*?)\.?\s*(?:Resolution note:.*)?$/s.exec(message)?.[1];
  return (last || message).trim();
}

/** The root of a cluster's keys in etcd. */
export const etcdRoot = (clusterId: string): string => `/redes/${clusterId}/`;

export class EtcdClusterStore implements ClusterStore {
  private lease: Lease;
  /** Leased keys this host wrote and claims again when a lost lease is replaced (not those put with `republish: false`). */
  private readonly leased = new Map<string, string>();
  private readonly watchers = new Set<Watcher>();
  private readonly leaseListeners = new Set<(ev: LeaseEvent) => void>();
  private closed = false;
  /** The first lease was granted (open succeeded): a lease lost before that is open's failure, not a loss. */
  private granted = false;
  /** When the current lease was last granted or renewed (Date.now()). */
  private renewedAt = Date.now();
  /** The lease listeners were told `doubt` about, until `kept` or `replaced`. */
  private doubted: Lease | undefined;
  private readonly ns: Namespace;
  private membersTimer: NodeJS.Timeout | undefined;
  private doubtTimer: NodeJS.Timeout | undefined;
  private onEndpoints: ((endpoints: string[]) => void) | undefined;

  private constructor(
    private readonly client: Etcd3,
    readonly nodeId: string,
    clusterId: string,
    private readonly ttl: number,
  ) {
    this.ns = client.namespace(etcdRoot(clusterId));
    this.lease = this.newLease();
  }

  static async open(opts: EtcdStoreOptions): Promise<EtcdClusterStore> {
    const Client = await loadClient();
    const client = new Client({
      hosts: opts.endpoints,
      credentials: opts.tls && { rootCertificate: opts.tls.ca, privateKey: opts.tls.key, certChain: opts.tls.cert },
      dialTimeout: 5000,
      // Unary calls give up after 5 s (no quorum, dead members) instead of hanging; watches and
      // lease keep-alives are streams and keep reconnecting.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 5000 }),
      faultHandling: { host: hostBreaker },
    });
    const s = new EtcdClusterStore(client, opts.nodeId, opts.clusterId, opts.leaseTtl ?? 6);
    try {
      await s.lease.grant();
      s.granted = true;
    } catch (e) {
      client.close();
      const hint = opts.tls ? '' : ' (plain http: if the store speaks TLS, give its CA, e.g. --cluster-store-opt kv.cacertfile=FILE)';
      throw new Error(`cannot reach the cluster store at ${opts.endpoints.join(',')}: ${grpcReason((e as Error).message)}${hint}`, { cause: e });
    }
    s.onEndpoints = opts.onEndpoints;
    await s.followMembers().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'cannot read the etcd member list'));
    s.membersTimer = setInterval(() => void s.followMembers().catch(() => undefined), opts.membersEveryMs ?? 5000);
    s.membersTimer.unref();
    // The client declares a lease lost only when etcd says so or after 2 TTLs without an answer;
    // other hosts may take this host's addresses after one TTL. A timer that fires late (the process
    // was paused) finds the gap at once.
    s.doubtTimer = setInterval(() => s.checkRenewal(), Math.min(500, (s.ttl * 1000) / 6));
    s.doubtTimer.unref();
    return s;
  }

  /**
   * Points the client at the current members' client URLs: members that joined later are used, removed
   * ones dropped, so an engine survives the loss of the member it first reached (a worker joined
   * through one manager). A member added but not started yet has no client URL and is skipped.
   */
  async followMembers(): Promise<string[]> {
    const urls = [...new Set((await this.members()).flatMap((m) => m.clientUrls))].sort();
    if (!urls.length || this.closed) return this.endpoints();
    setPoolHosts(this.client, urls);
    this.onEndpoints?.(urls);
    return urls;
  }

  /** The client URLs (host:port) the client spreads its calls over now. */
  endpoints(): string[] {
    return poolOf(this.client).hosts.map((h) => h.host);
  }

  onLease(fn: (ev: LeaseEvent) => void): () => void {
    this.leaseListeners.add(fn);
    return () => void this.leaseListeners.delete(fn);
  }

  private tell(ev: LeaseEvent): void {
    for (const fn of [...this.leaseListeners]) {
      try {
        fn(ev);
      } catch (e) {
        log.error({ err: e, lease: ev.type }, 'a lease listener failed');
      }
    }
  }

  private checkRenewal(): void {
    if (this.closed || !this.granted || this.doubted) return;
    if (Date.now() - this.renewedAt <= this.ttl * 1000) return;
    log.warn({ sinceMs: Date.now() - this.renewedAt, ttl: this.ttl }, 'liveness lease not renewed for a TTL: it may have expired');
    this.doubt();
  }

  private doubt(): void {
    if (this.doubted) return;
    this.doubted = this.lease;
    this.tell({ type: 'doubt' });
  }

  private newLease(): Lease {
    const lease = this.ns.lease(this.ttl);
    let granted = false;
    lease.grant().then(
      () => {
        granted = true;
        if (lease === this.lease) this.renewedAt = Date.now();
      },
      () => undefined, // reported by the 'lost' event
    );
    lease.on('keepaliveSucceeded', () => {
      if (lease !== this.lease) return;
      this.renewedAt = Date.now();
      if (this.doubted !== lease) return;
      this.doubted = undefined;
      log.info('liveness lease renewed after all');
      this.tell({ type: 'kept' });
    });
    lease.on('lost', (err) => {
      if (this.closed || !this.granted || lease !== this.lease) return;
      log.warn({ err: err.message }, 'liveness lease lost; granting a new one and publishing again');
      if (!this.doubted) this.doubt();
      // A replacement that could not even be granted (still no quorum) is retried after a pause, not in a loop.
      const replace = (): void => {
        if (this.closed || lease !== this.lease) return;
        this.lease = this.newLease();
        void this.republish(this.lease);
      };
      if (granted) replace();
      else setTimeout(replace, 1000).unref();
    });
    return lease;
  }

  /** Claims the store's leased keys again on a new lease, then says `replaced` (only if that lease is still current). */
  private async republish(lease: Lease): Promise<void> {
    try {
      await lease.grant();
    } catch {
      return; // its own 'lost' starts the next attempt
    }
    const taken: string[] = [];
    for (const [key, value] of [...this.leased]) {
      if (lease !== this.lease || this.closed) return;
      try {
        // Keys expired with the lost lease: another host may have claimed one meanwhile (an address); keep theirs.
        if (!(await this.claimLeased(key, value))) {
          taken.push(key);
          log.warn({ key }, 'a leased key was taken by another host while the lease was lost');
        }
      } catch (e) {
        log.warn({ key, err: (e as Error).message }, 'cannot publish a leased key again');
      }
    }
    if (lease !== this.lease || this.closed) return;
    this.doubted = undefined;
    this.tell({ type: 'replaced', taken });
  }

  async get(key: string): Promise<StoredValue | undefined> {
    const res = await this.ns.get(key).exec();
    const kv = res.kvs[0];
    return kv && { key, value: kv.value.toString(), modRevision: Number(kv.mod_revision) };
  }

  async list(prefix: string): Promise<{ items: StoredValue[]; revision: number }> {
    const res = await this.ns.getAll().prefix(prefix).sort('Key', 'Ascend').exec();
    const items = res.kvs.map((kv) => ({
      key: kv.key.toString(),
      value: kv.value.toString(),
      modRevision: Number(kv.mod_revision),
    }));
    return { items, revision: Number(res.header.revision) };
  }

  async put(key: string, value: string, opts: { lease?: boolean; republish?: boolean } = {}): Promise<void> {
    if (opts.lease) {
      if (opts.republish === false) this.leased.delete(key);
      else this.leased.set(key, value);
      await this.lease.put(key).value(value);
    } else {
      this.leased.delete(key);
      await this.ns.put(key).value(value);
    }
  }

  async delete(key: string): Promise<void> {
    this.leased.delete(key);
    await this.ns.delete().key(key);
  }

  async deleteIf(key: string, value: string): Promise<boolean> {
    const res = await this.ns.if(key, 'Value', '==', value).then(this.ns.delete().key(key)).commit();
    if (res.succeeded) this.leased.delete(key);
    return res.succeeded;
  }

  async create(key: string, value: string, opts: { lease?: boolean } = {}): Promise<boolean> {
    const put = opts.lease ? this.lease.put(key).value(value) : this.ns.put(key).value(value);
    if (opts.lease) await this.lease.grant();
    const res = await this.ns.if(key, 'Create', '==', 0).then(put).commit();
    if (res.succeeded && opts.lease) this.leased.set(key, value);
    return res.succeeded;
  }

  async claim(key: string, value: string, opts: { lease?: boolean } = {}): Promise<boolean> {
    if (opts.lease) return this.claimLeased(key, value);
    const created = await this.ns.if(key, 'Create', '==', 0).then(this.ns.put(key).value(value)).commit();
    if (created.succeeded) return true;
    return (await this.ns.if(key, 'Value', '==', value).then(this.ns.put(key).value(value)).commit()).succeeded;
  }

  /** claim with the current lease; remembered for republishing. */
  private async claimLeased(key: string, value: string): Promise<boolean> {
    const lease = this.lease;
    await lease.grant();
    let res = await this.ns.if(key, 'Create', '==', 0).then(lease.put(key).value(value)).commit();
    if (!res.succeeded) res = await this.ns.if(key, 'Value', '==', value).then(lease.put(key).value(value)).commit();
    if (res.succeeded) this.leased.set(key, value);
    else this.leased.delete(key);
    return res.succeeded;
  }

  async watch(prefix: string, fromRevision: number, onEvent: (ev: WatchEvent) => void): Promise<StoreWatch> {
    const w = await this.ns.watch().prefix(prefix).startRevision(String(fromRevision + 1)).create();
    this.watchers.add(w);
    w.on('data', (res) => {
      for (const ev of res.events) {
        const key = ev.kv.key.toString();
        const revision = Number(ev.kv.mod_revision);
        if (ev.type === 'Put') onEvent({ type: 'put', key, value: ev.kv.value.toString(), revision });
        else onEvent({ type: 'delete', key, revision });
      }
    });
    return {
      close: async () => {
        this.watchers.delete(w);
        w.removeAllListeners('data');
        await w.cancel();
      },
    };
  }

  /** The members of the etcd cluster. */
  async members(): Promise<EtcdMember[]> {
    const r = await this.client.cluster.memberList({});
    return r.members.map((m) => ({ id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs }));
  }

  /** Announces a new member (before it starts); returns the members including it (it has no name yet). */
  async addMember(peerUrl: string): Promise<EtcdMember[]> {
    const r = await this.client.cluster.memberAdd({ peerURLs: [peerUrl] });
    return r.members.map((m) => ({ id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs }));
  }

  async removeMember(id: string): Promise<void> {
    await this.client.cluster.memberRemove({ ID: id });
  }

  /** The member id of the current raft leader (as one reachable member sees it). */
  async leaderId(): Promise<string> {
    return (await this.client.maintenance.status()).leader;
  }

  async close(opts: { keepLease?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.membersTimer);
    clearInterval(this.doubtTimer);
    this.leaseListeners.clear();
    for (const w of this.watchers) {
      w.removeAllListeners('data');
      await w.cancel().catch(() => undefined);
    }
    this.watchers.clear();
    if (opts.keepLease) this.lease.release();
    else await this.lease.revoke().catch(() => undefined);
    this.client.close();
  }
}

/** Opens the etcd store of a cluster; see EtcdStoreOptions. */
export function openEtcdClusterStore(opts: EtcdStoreOptions): Promise<EtcdClusterStore> {
  return EtcdClusterStore.open(opts);
}
