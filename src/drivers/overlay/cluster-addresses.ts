/**
 * Cluster-wide endpoint addresses of overlay networks: each address is a key `ipam/<net>/<ip>` made
 * with the store's atomic create, so two hosts starting containers at once never get the same one;
 * the loser of a race takes the next free address. Release deletes the keys the endpoint holds.
 *
 * Use: the overlay driver's `allocator` (drivers/driver.ts AddressAllocator).
 *
 * Beware: the addresses of a dead host stay held (the keys are not leased) so that its containers
 * keep them when it comes back; `docker rm` on that host, or removing the network, frees them.
 */
import { type ClusterStore, clusterKeys } from '../../cluster/index.js';
import { allocateAddress, ERR_ADDRESS_IN_USE, type NormalizedPool } from '../../ipam/index.js';
import { forbidden, unavailable } from '../../util/index.js';
import type { AddressAllocator, AddressRequest, DriverNetwork, DriverPool } from '../driver.js';

/** Attempts before giving up when every try loses a race (each loss teaches one more taken address). */
const MAX_TRIES = 64;

function pool(p: DriverPool, family: 4 | 6): NormalizedPool {
  return { family, subnet: p.subnet, gateway: p.gateway, auxAddresses: p.auxAddresses, static: true, ...(p.ipRange ? { ipRange: p.ipRange } : {}) };
}

export class ClusterAddresses implements AddressAllocator {
  /** `store()`: the cluster store now (the engine may join a cluster after start). */
  constructor(private readonly store: () => ClusterStore) {}

  async allocate(net: DriverNetwork, endpointId: string, want: AddressRequest): Promise<{ ipv4?: string; ipv6?: string }> {
    const got: { ipv4?: string; ipv6?: string } = {};
    try {
      if (net.ipv4) got.ipv4 = await this.take(net.id, pool(net.ipv4, 4), endpointId, want.ipv4);
      if (net.ipv6) got.ipv6 = await this.take(net.id, pool(net.ipv6, 6), endpointId, want.ipv6);
    } catch (e) {
      await this.release(net, endpointId);
      throw e;
    }
    return got;
  }

  async release(net: DriverNetwork, endpointId: string): Promise<void> {
    const s = this.store();
    const { items } = await s.list(clusterKeys.ipamOf(net.id));
    for (const it of items) if (it.value === endpointId) await s.delete(it.key);
  }

  private async take(networkId: string, p: NormalizedPool, endpointId: string, requested?: string): Promise<string> {
    const s = this.store();
    const { items } = await s.list(clusterKeys.ipamOf(networkId));
    const mine = items.find((i) => i.value === endpointId && (requested === undefined || i.key === clusterKeys.ipam(networkId, requested)));
    // A retried start of the same endpoint keeps what it already holds.
    if (mine) return mine.key.slice(clusterKeys.ipamOf(networkId).length);
    const used = new Set(items.map((i) => i.key.slice(clusterKeys.ipamOf(networkId).length)));
    for (let i = 0; i < MAX_TRIES; i++) {
      const ip = allocateAddress(p, used, requested);
      if (await s.create(clusterKeys.ipam(networkId, ip), endpointId)) return ip;
      if (requested !== undefined) {
        const holder = await s.get(clusterKeys.ipam(networkId, ip));
        if (holder?.value === endpointId) return ip;
        throw forbidden('ipam.address_in_use', ERR_ADDRESS_IN_USE);
      }
      used.add(ip);
    }
    throw unavailable('overlay.allocation_contended', `could not allocate an address on network ${networkId.slice(0, 12)}: ${MAX_TRIES} tries lost races with other hosts`);
  }
}
