/**
 * Networks of global drivers (overlay) shared by every engine of a cluster: the engine that creates
 * one writes its record to the cluster store (`networks/<id>`, the whole NetworkRecord as JSON), and
 * every engine mirrors the records it finds there into its own list, so `docker network ls` shows
 * them everywhere with SCOPE swarm, and removes them when the key goes.
 *
 * Use: the NetworkController calls `claim` + `publish` on create, `unpublish` + `release` on remove,
 * and `start(handlers)` when the engine is in a cluster (at init, or when it joins one); the handlers
 * run under its mutex. `claim` makes names and subnets cluster-wide unique even when two managers
 * create at the same moment (each checks the listing first, which alone cannot see the other).
 *
 * Beware: a record from the store is input from another host: it is checked (`parseGlobalRecord`)
 * before it reaches the local store or a driver. The watch starts from the listing's revision, so a
 * record published between the two is never missed.
 */
import { type ClusterStore, type StoreWatch, clusterKeys } from '../../cluster/index.js';
import { logger } from '../../util/index.js';
import type { NetworkRecord } from './network-record.js';

const log = logger.child({ component: 'global-networks' });

/** Swarm's default address pool for overlay networks: 10.0.0.0/8 in /24s. */
export const GLOBAL_DEFAULT_POOLS = [{ base: '10.0.0.0/8', size: 24 }] as const;

/** How long a claim may wait for its network's record before it counts as left by a dead creator. */
const STALE_CLAIM_MS = 10_000;

/** What another network holds: its name, or one of the subnets asked for. */
export type ClaimClash = { kind: 'name' } | { kind: 'subnet'; subnet: string };

const subnetsOf = (rec: NetworkRecord): string[] => [rec.ipam.v4?.subnet, rec.ipam.v6?.subnet].filter((x): x is string => !!x);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface GlobalHandlers {
  /** A record this engine does not have yet (or a changed one). */
  put(rec: NetworkRecord): Promise<void>;
  /** The record of `id` is gone from the cluster. */
  gone(id: string): Promise<void>;
  /** Ids of the global networks this engine holds now (to drop those the cluster no longer has). */
  held(): string[];
}

const isText = (v: unknown): v is string => typeof v === 'string';

export function parseGlobalRecord(text: string): NetworkRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<NetworkRecord>;
    if (!isText(r.id) || !/^[0-9a-f]{64}$/.test(r.id)) return undefined;
    if (!isText(r.name) || !r.name.trim()) return undefined;
    if (!isText(r.driver) || (r.scope !== 'swarm' && r.scope !== 'global') || !r.ipam || typeof r.ipam !== 'object') return undefined;
    if (!r.driverOptions || typeof r.driverOptions !== 'object' || !r.options || typeof r.options !== 'object') return undefined;
    return { ...(r as NetworkRecord), predefined: false };
  } catch {
    return undefined;
  }
}

export class GlobalNetworks {
  private watch: StoreWatch | undefined;

  constructor(private readonly store: () => ClusterStore | undefined) {}

  get inCluster(): boolean {
    return this.store() !== undefined;
  }

  /** All global network records of the cluster (to check names and subnets cluster-wide). */
  async records(): Promise<NetworkRecord[]> {
    const s = this.store();
    if (!s) return [];
    return (await s.list(clusterKeys.networks)).items.flatMap((i) => parseGlobalRecord(i.value) ?? []);
  }

  /**
   * Takes the name and the subnets of a network being created, cluster-wide, with atomic creates
   * (leased to this host, so a creator that dies mid-way frees them): two managers creating at once
   * never both get one. Returns undefined when all are this network's (nothing is kept then on a
   * clash), else what another network holds. A claim whose network never appears (its creator died
   * before publishing) is taken over after `staleMs`.
   */
  async claim(rec: NetworkRecord, staleMs = STALE_CLAIM_MS): Promise<ClaimClash | undefined> {
    const s = this.need();
    const wanted: Array<[string, ClaimClash]> = [
      [clusterKeys.networkName(rec.name), { kind: 'name' }],
      ...subnetsOf(rec).map((subnet): [string, ClaimClash] => [clusterKeys.subnet(subnet), { kind: 'subnet', subnet }]),
    ];
    const got: string[] = [];
    for (const [key, clash] of wanted) {
      if (await this.take(s, key, rec.id, staleMs)) {
        got.push(key);
        continue;
      }
      for (const k of got) await s.delete(k);
      return clash;
    }
    return undefined;
  }

  /** Frees what `claim` took for the network (at its removal, or when its creation failed). */
  async release(rec: NetworkRecord): Promise<void> {
    const s = this.store();
    if (!s) return;
    for (const key of [clusterKeys.networkName(rec.name), ...subnetsOf(rec).map((c) => clusterKeys.subnet(c))]) {
      if ((await s.get(key))?.value === rec.id) await s.delete(key);
    }
  }

  /** One claim key: true when it is (now) this network's. */
  private async take(s: ClusterStore, key: string, id: string, staleMs: number): Promise<boolean> {
    for (let round = 0; round < 2; round++) {
      if (await s.create(key, id, { lease: true })) return true;
      const holder = await s.get(key);
      if (!holder) continue;
      if (holder.value === id) return true;
      // Held by a network being created right now, or by one that exists: wait for its record a while.
      const deadline = Date.now() + staleMs;
      while (!(await s.get(clusterKeys.network(holder.value)))) {
        if (Date.now() > deadline) break;
        await sleep(Math.min(200, staleMs));
      }
      if (await s.get(clusterKeys.network(holder.value))) return false;
      if ((await s.get(key))?.value !== holder.value) continue;
      log.warn({ key, holder: holder.value }, 'taking over the claim of a network that never appeared');
      await s.delete(key);
    }
    return false;
  }

  async publish(rec: NetworkRecord): Promise<void> {
    await this.need().put(clusterKeys.network(rec.id), JSON.stringify(rec));
  }

  async unpublish(id: string): Promise<void> {
    await this.store()?.delete(clusterKeys.network(id));
  }

  /** Endpoints of the network on every host (container name, endpoint id), from their records. */
  async endpoints(id: string): Promise<Array<{ name: string; id: string }>> {
    const s = this.store();
    if (!s) return [];
    const prefix = clusterKeys.endpointsOf(id);
    return (await s.list(prefix)).items.map((i) => {
      let name = '';
      try {
        name = String((JSON.parse(i.value) as { name?: unknown }).name ?? '');
      } catch {
        // A malformed record still counts as an endpoint; it has no name to show.
      }
      return { name, id: i.key.slice(prefix.length) };
    });
  }

  /** Mirrors the cluster's records now, then follows them; a second call restarts the watch. */
  async start(h: GlobalHandlers): Promise<void> {
    await this.stop();
    const s = this.store();
    if (!s) return;
    const { items, revision } = await s.list(clusterKeys.networks);
    const seen = new Set<string>();
    for (const it of items) {
      const rec = parseGlobalRecord(it.value);
      if (!rec) {
        log.warn({ key: it.key }, 'skipping a malformed network record');
        continue;
      }
      seen.add(rec.id);
      await h.put(rec).catch((e: unknown) => log.error({ err: e, network: rec.name }, 'mirroring a cluster network failed'));
    }
    for (const id of h.held()) if (!seen.has(id)) await h.gone(id).catch((e: unknown) => log.error({ err: e, id }, 'dropping a cluster network failed'));
    let chain = Promise.resolve();
    this.watch = await s.watch(clusterKeys.networks, revision, (ev) => {
      const id = ev.key.slice(clusterKeys.networks.length);
      chain = chain.then(async () => {
        if (ev.type === 'delete') return h.gone(id);
        const rec = parseGlobalRecord(ev.value);
        if (rec) return h.put(rec);
        log.warn({ key: ev.key }, 'skipping a malformed network record');
      }).catch((e: unknown) => log.error({ err: e, key: ev.key }, 'following a cluster network failed'));
    });
  }

  async stop(): Promise<void> {
    await this.watch?.close();
    this.watch = undefined;
  }

  private need(): ClusterStore {
    const s = this.store();
    if (!s) throw new Error('global networks: this engine is in no cluster');
    return s;
  }
}
