/**
 * The engine's own IPAM for local-scope networks: endpoint addresses chosen by the pure ipam/ module
 * and kept in the local store with their owner (the endpoint id), one transaction per endpoint.
 *
 * Use: `new LocalAddresses(store)`; ContainerNetworking takes it for every driver whose `allocator`
 * is `'local'` (a global driver brings its own, cluster-wide).
 *
 * Beware: release is by owner, so it frees the addresses even when the network record is gone.
 * The cost of an attach must not grow with the endpoints already on the network (reading them all
 * and walking up from the bottom of the range made the 1000th attach cost several times the 10th):
 * addresses are checked one by one against the store's index, and the walk starts at a scan hint
 * per network and family, the address after the last one a scan gave. Every address of the range
 * below the hint is taken as long as none is released, so the result is Docker's lowest free address;
 * any release in the network (through this class or not: the store announces it) lowers the hint to
 * the freed address. A daemon start has no hints: its first attach per network walks from the bottom.
 */
import type { AddressAllocator, AddressRequest, DriverNetwork, DriverPool } from '../../drivers/index.js';
import { allocateAddress, tryParseAddress, type NormalizedPool } from '../../ipam/index.js';
import type { Store } from '../../store/index.js';

function pool(p: DriverPool, family: 4 | 6): NormalizedPool {
  return { family, subnet: p.subnet, gateway: p.gateway, auxAddresses: p.auxAddresses, static: true, ...(p.ipRange ? { ipRange: p.ipRange } : {}) };
}

export class LocalAddresses implements AddressAllocator {
  /** network id → family → the lowest address a scan may find free (see the header). */
  private readonly hints = new Map<string, Map<4 | 6, bigint>>();

  constructor(private readonly store: Store) {
    store.onRelease((networkId, address) => this.released(networkId, address));
  }

  async allocate(net: DriverNetwork, endpointId: string, want: AddressRequest): Promise<{ ipv4?: string; ipv6?: string }> {
    const used = { has: (a: string): boolean => this.store.isAllocated(net.id, a) };
    const hints = this.hints.get(net.id);
    const ipv4 = net.ipv4 ? allocateAddress(pool(net.ipv4, 4), used, want.ipv4, hints?.get(4)) : undefined;
    const ipv6 = net.ipv6 ? allocateAddress(pool(net.ipv6, 6), used, want.ipv6, hints?.get(6)) : undefined;
    this.store.transaction(() => {
      if (ipv4) this.store.allocate({ networkId: net.id, address: ipv4, owner: endpointId });
      if (ipv6) this.store.allocate({ networkId: net.id, address: ipv6, owner: endpointId });
    });
    // Recorded: the scanned addresses are taken, and so is everything below them.
    if (ipv4 && want.ipv4 === undefined) this.hint(net.id, ipv4);
    if (ipv6 && want.ipv6 === undefined) this.hint(net.id, ipv6);
    return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
  }

  async release(_net: DriverNetwork | undefined, endpointId: string): Promise<void> {
    this.store.transaction(() => this.store.releaseOwner(endpointId));
  }

  /** The hint after a scan gave `address`: the next one. */
  private hint(networkId: string, address: string): void {
    const a = tryParseAddress(address);
    if (!a) return;
    const byFamily = this.hints.get(networkId) ?? new Map<4 | 6, bigint>();
    byFamily.set(a.family, a.addr + 1n);
    this.hints.set(networkId, byFamily);
  }

  /** A release lowers the hint of its family to the freed address (the whole network: no hint). */
  private released(networkId: string, address: string | undefined): void {
    const byFamily = this.hints.get(networkId);
    if (!byFamily) return;
    const a = address === undefined ? undefined : tryParseAddress(address);
    if (!a) return void this.hints.delete(networkId);
    const h = byFamily.get(a.family);
    if (h !== undefined && a.addr < h) byFamily.set(a.family, a.addr);
  }
}
