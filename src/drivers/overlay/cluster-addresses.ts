/**
 * Cluster-wide endpoint addresses of overlay networks: each address is a key `ipam/<net>/<ip>` made
 * with the store's atomic create, so two hosts starting containers at once never get the same one.
 * Release deletes the keys the endpoint holds (only while they still name that endpoint).
 *
 * Use: the overlay driver's `allocator` (drivers/driver.ts AddressAllocator).
 *
 * How contention stays cheap (60 concurrent starts over 3 hosts once took up to 45 creates and 25 s
 * for one address, every start racing every other for the same lowest free address):
 * - On one host, allocations of a network run one at a time, so the only races are between hosts
 *   (at most hosts - 1 losers per address), never between the starts of one host.
 * - The host keeps what it knows is taken (its last listing plus its own claims) and lists the
 *   network's claims again only when it knows nothing yet, when a create loses a race (it then
 *   learns every claim made meanwhile at once, not one address per lost create) or when its view says
 *   the pool is full. A stale view costs one lost create, never a duplicate: the create decides.
 *
 * Claims hang off the host's liveness lease: a dead host's addresses are free again once its lease
 * runs out, like its endpoints. A daemon that stops (or is killed) and comes back takes its running
 * containers' claims back at restore (`reclaim`), before its old lease runs out when the restart is
 * shorter than the TTL (the daemon stops without revoking its lease), so a live host's address is
 * never free across a restart; after a longer absence it claims them again when still free.
 *
 * Beware: a claim made before claims were leased is a plain key: `reclaim` ties it to the lease.
 */
import { type ClusterStore, clusterKeys } from '../../cluster/index.js';
import { allocateAddress, ERR_ADDRESS_IN_USE, type NormalizedPool } from '../../ipam/index.js';
import { forbidden, unavailable } from '../../util/index.js';
import type { AddressAllocator, AddressRequest, DriverNetwork, DriverPool } from '../driver.js';

/** Lost races before giving up (each loss re-reads every claim, so this takes a storm of hosts). */
const MAX_TRIES = 32;

function pool(p: DriverPool, family: 4 | 6): NormalizedPool {
  return { family, subnet: p.subnet, gateway: p.gateway, auxAddresses: p.auxAddresses, static: true, ...(p.ipRange ? { ipRange: p.ipRange } : {}) };
}

/** What this host knows of one network's claims. */
interface View {
  /** Addresses known taken: the last listing plus this host's claims since (entries may be stale). */
  used: Set<string>;
  /** endpoint id -> addresses claimed for it, as of the last listing plus this host's claims since. */
  owners: Map<string, string[]>;
  listed: boolean;
}

export class ClusterAddresses implements AddressAllocator {
  private readonly views = new Map<string, View>();
  /** networkId -> the tail of its allocations on this host (one at a time per network). */
  private readonly queues = new Map<string, Promise<unknown>>();

  /** `store()`: the cluster store now (the engine may join a cluster after start). */
  constructor(private readonly store: () => ClusterStore) {}

  allocate(net: DriverNetwork, endpointId: string, want: AddressRequest): Promise<{ ipv4?: string; ipv6?: string }> {
    return this.serial(net.id, async () => {
      const got: { ipv4?: string; ipv6?: string } = {};
      try {
        if (net.ipv4) got.ipv4 = await this.take(net.id, pool(net.ipv4, 4), endpointId, want.ipv4);
        if (net.ipv6) got.ipv6 = await this.take(net.id, pool(net.ipv6, 6), endpointId, want.ipv6);
      } catch (e) {
        await this.releaseNow(net.id, endpointId);
        throw e;
      }
      return got;
    });
  }

  release(net: DriverNetwork, endpointId: string): Promise<void> {
    return this.serial(net.id, () => this.releaseNow(net.id, endpointId));
  }

  /**
   * Takes back, after a restart of this engine, the addresses its running containers hold: each
   * claim is tied to the new lease (or made again if it expired meanwhile). Returns the addresses
   * another endpoint claimed meanwhile (this host was taken for dead): those must not be published.
   */
  reclaim(networkId: string, endpointId: string, ips: readonly string[]): Promise<string[]> {
    return this.serial(networkId, async () => {
      const lost: string[] = [];
      for (const ip of ips) {
        if (await this.store().claim(clusterKeys.ipam(networkId, ip), endpointId, { lease: true })) this.note(this.view(networkId), endpointId, ip);
        else lost.push(ip);
      }
      return lost;
    });
  }

  /** Forgets a removed network's view. */
  forget(networkId: string): void {
    this.views.delete(networkId);
  }

  private serial<T>(networkId: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(networkId) ?? Promise.resolve()).then(fn, fn);
    const tail = next.catch(() => undefined);
    this.queues.set(networkId, tail);
    void tail.then(() => {
      if (this.queues.get(networkId) === tail) this.queues.delete(networkId);
    });
    return next;
  }

  private view(networkId: string): View {
    let v = this.views.get(networkId);
    if (!v) this.views.set(networkId, (v = { used: new Set(), owners: new Map(), listed: false }));
    return v;
  }

  /** Reads every claim of the network into its view. */
  private async relist(networkId: string): Promise<View> {
    const prefix = clusterKeys.ipamOf(networkId);
    const { items } = await this.store().list(prefix);
    const v = this.view(networkId);
    v.used = new Set();
    v.owners = new Map();
    for (const it of items) {
      const ip = it.key.slice(prefix.length);
      v.used.add(ip);
      v.owners.set(it.value, [...(v.owners.get(it.value) ?? []), ip]);
    }
    v.listed = true;
    return v;
  }

  private async take(networkId: string, p: NormalizedPool, endpointId: string, requested?: string): Promise<string> {
    const s = this.store();
    const v = this.view(networkId).listed ? this.view(networkId) : await this.relist(networkId);
    const inPool = (ip: string): boolean => ip.includes(':') === (p.family === 6);
    // A retried start of the same endpoint keeps what it already holds (checked: the view may be stale).
    const held = (v.owners.get(endpointId) ?? []).find((ip) => inPool(ip) && (requested === undefined || ip === requested));
    if (held && (await s.get(clusterKeys.ipam(networkId, held)))?.value === endpointId) return this.note(v, endpointId, held);
    for (let i = 0; i < MAX_TRIES; i++) {
      let ip: string;
      try {
        ip = allocateAddress(p, v.used, requested);
      } catch (e) {
        // Full (or taken) as far as a possibly stale view knows (a dead host's claims expire): read
        // the claims again once before saying so.
        if (i > 0) throw e;
        await this.relist(networkId);
        ip = allocateAddress(p, v.used, requested);
      }
      if (await s.create(clusterKeys.ipam(networkId, ip), endpointId, { lease: true })) return this.note(v, endpointId, ip);
      if (requested !== undefined) {
        const holder = await s.get(clusterKeys.ipam(networkId, ip));
        if (holder?.value === endpointId) return this.note(v, endpointId, ip);
        throw forbidden('ipam.address_in_use', ERR_ADDRESS_IN_USE);
      }
      // Lost a race: another host claimed meanwhile. Learn every claim made since, not just this one.
      await this.relist(networkId);
      v.used.add(ip);
    }
    throw unavailable('overlay.allocation_contended', `could not allocate an address on network ${networkId.slice(0, 12)}: ${MAX_TRIES} tries lost races with other hosts`);
  }

  private note(v: View, endpointId: string, ip: string): string {
    v.used.add(ip);
    const list = v.owners.get(endpointId) ?? [];
    if (!list.includes(ip)) v.owners.set(endpointId, [...list, ip]);
    return ip;
  }

  private async releaseNow(networkId: string, endpointId: string): Promise<void> {
    const s = this.store();
    // After a restart this host knows nothing of its claims yet: find them in a listing.
    let v = this.view(networkId);
    if (!v.owners.has(endpointId)) v = await this.relist(networkId);
    for (const ip of v.owners.get(endpointId) ?? []) {
      await s.deleteIf(clusterKeys.ipam(networkId, ip), endpointId);
      v.used.delete(ip);
    }
    v.owners.delete(endpointId);
  }
}
