/**
 * The engine's own IPAM for local-scope networks: endpoint addresses chosen by the pure ipam/ module
 * and kept in the local store with their owner (the endpoint id), one transaction per endpoint.
 *
 * Use: `new LocalAddresses(store)`; ContainerNetworking takes it for every driver whose `allocator`
 * is `'local'` (a global driver brings its own, cluster-wide).
 *
 * Beware: release is by owner, so it frees the addresses even when the network record is gone.
 */
import type { AddressAllocator, AddressRequest, DriverNetwork, DriverPool } from '../../drivers/index.js';
import { allocateAddress, type NormalizedPool } from '../../ipam/index.js';
import type { Store } from '../../store/index.js';

function pool(p: DriverPool, family: 4 | 6): NormalizedPool {
  return { family, subnet: p.subnet, gateway: p.gateway, auxAddresses: p.auxAddresses, static: true, ...(p.ipRange ? { ipRange: p.ipRange } : {}) };
}

export class LocalAddresses implements AddressAllocator {
  constructor(private readonly store: Store) {}

  async allocate(net: DriverNetwork, endpointId: string, want: AddressRequest): Promise<{ ipv4?: string; ipv6?: string }> {
    const used = new Set(this.store.allocations(net.id).map((a) => a.address));
    const ipv4 = net.ipv4 ? allocateAddress(pool(net.ipv4, 4), used, want.ipv4) : undefined;
    const ipv6 = net.ipv6 ? allocateAddress(pool(net.ipv6, 6), used, want.ipv6) : undefined;
    this.store.transaction(() => {
      if (ipv4) this.store.allocate({ networkId: net.id, address: ipv4, owner: endpointId });
      if (ipv6) this.store.allocate({ networkId: net.id, address: ipv6, owner: endpointId });
    });
    return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
  }

  async release(_net: DriverNetwork | undefined, endpointId: string): Promise<void> {
    this.store.transaction(() => this.store.releaseOwner(endpointId));
  }
}
