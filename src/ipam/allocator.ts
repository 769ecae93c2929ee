/**
 * Per-network address allocation, pure: given a network's pool and the addresses its endpoints hold,
 * pick or check an endpoint address the way dockerd 28's default IPAM does (lowest free address of
 * the ip-range, else of the subnet; moby libnetwork/ipams/defaultipam and endpoint.go), and make
 * endpoint MAC addresses.
 *
 * Use: `allocateFromPools(network.ipam.v4, usedV4, { family: 4, requested, network: { name, id } })`
 * in the engine; `allocateAddress(pool, used)` for one pool. Nothing is recorded here: the caller
 * stores the result and passes it back in `used` next time.
 *
 * Beware:
 * - `used` holds addresses as `formatAddress` prints them (canonical, lowercase IPv6).
 * - The pool holds back, like Docker: the IPv4 network and broadcast addresses (none in a /31 or
 *   /32, RFC 3021), the first IPv6 address (subnet-router anycast, RFC 4291 2.6.1), the gateway and
 *   the auxiliary addresses. A requested address may lie outside the ip-range, but not the subnet.
 * - The search walks up from the start of the range and stops at the first free address, so it
 *   costs at most |used| + |aux| + 3 steps, never the size of the subnet (unless it is full).
 * - Docker 28's bridge driver gives endpoints random MACs (`randomMac`); `macFromIPv4` is the
 *   02:42:+IPv4 scheme of Docker <= 27, which 28 keeps only for overlay networks.
 */
import { randomBytes } from 'node:crypto';
import { RedesError, forbidden, internal, invalidParameter, unavailable } from '../util/index.js';
import {
  type Family,
  type Prefix,
  broadcastAddress,
  formatAddress,
  lastAddress,
  parseAddress,
  parsePrefix,
  prefixContains,
  tryParseAddress,
} from './cidr.js';

/** One subnet of a network, as `validateIpamConfig` returns it: every string canonical. */
export interface NormalizedPool {
  family: Family;
  /** Masked subnet, "10.1.1.0/24". */
  subnet: string;
  /** Sub-range for automatic addresses, masked; absent means the whole subnet. */
  ipRange?: string;
  /** Gateway address, without length. */
  gateway: string;
  /** Auxiliary addresses by name, held back from allocation. */
  auxAddresses: Record<string, string>;
  /** True when the user gave the subnet (Docker's IsStatic); false when it came from the pools. */
  static: boolean;
}

export const ERR_ADDRESS_IN_USE = 'Address already in use';
export const ERR_NO_AVAILABLE_IPS = 'no available addresses on this pool';

/** What `allocateAddress` asks of the addresses in use: a Set, or a store lookup. */
export interface UsedAddresses {
  has(address: string): boolean;
}

/** The addresses a subnet holds back by itself (see the header). */
export function subnetReserved(subnet: Prefix): bigint[] {
  const hostBits = (subnet.family === 4 ? 32 : 128) - subnet.bits;
  const out: bigint[] = [];
  if (subnet.family === 6 || hostBits > 1) out.push(subnet.network);
  const bcast = broadcastAddress(subnet);
  if (bcast !== undefined) out.push(bcast);
  return out;
}

/**
 * The lowest address of `range` that the subnet does not hold back and `taken` does not claim, or
 * undefined when there is none. `from`: the caller knows every address of the range below it is
 * taken (see `allocateAddress`), so the walk starts there.
 */
export function lowestFree(subnet: Prefix, range: Prefix, taken: (addr: bigint) => boolean, from?: bigint): bigint | undefined {
  const reserved = new Set(subnetReserved(subnet));
  const last = lastAddress(range);
  for (let a = from !== undefined && from > range.network ? from : range.network; a <= last; a++) {
    if (!reserved.has(a) && !taken(a)) return a;
  }
  return undefined;
}

const notInSubnets = (requested: string): RedesError =>
  invalidParameter('ipam.address_out_of_range', `invalid address ${requested}: It does not belong to any of this network's subnets`);

/**
 * An address for a new endpoint in `pool`: `requested` if it is inside the subnet and free, else the
 * lowest free address of the ip-range (or subnet).
 * `scanFrom` (ignored with `requested`): an address below which the caller knows every address of
 * the range is taken (say, just above its last scan's result, while nothing was released): the
 * result is the same, but the walk does not cost the addresses in use.
 * Throws invalid-parameter (requested outside the subnet or not an address of the family), forbidden
 * "Address already in use", or unavailable "no available addresses on this pool".
 */
export function allocateAddress(pool: NormalizedPool, used: UsedAddresses, requested?: string, scanFrom?: bigint): string {
  const subnet = parsePrefix(pool.subnet);
  const held = new Set([pool.gateway, ...Object.values(pool.auxAddresses)]);
  const isTaken = (a: bigint): boolean => {
    const s = formatAddress(subnet.family, a);
    return used.has(s) || held.has(s);
  };
  if (requested !== undefined) {
    const a = tryParseAddress(requested);
    if (a === undefined || !prefixContains(subnet, a)) throw notInSubnets(requested);
    if (subnetReserved(subnet).includes(a.addr) || isTaken(a.addr)) {
      throw forbidden('ipam.address_in_use', ERR_ADDRESS_IN_USE);
    }
    return formatAddress(a.family, a.addr);
  }
  const range = pool.ipRange ? parsePrefix(pool.ipRange) : subnet;
  const free = lowestFree(subnet, range, isTaken, scanFrom);
  if (free === undefined) throw unavailable('ipam.pool_full', ERR_NO_AVAILABLE_IPS);
  return formatAddress(subnet.family, free);
}

export interface AllocateOptions {
  family: Family;
  /** The address the user asked for (EndpointIPAMConfig.IPv4Address / IPv6Address). */
  requested?: string;
  /** The network, named in the exhaustion message. */
  network: { name: string; id: string };
}

/**
 * Docker's endpoint address assignment over all the network's pools of one family: a requested
 * address goes to the pool whose subnet holds it; otherwise the first pool with a free address wins.
 * Throws as `allocateAddress`, and when every pool is full an internal (500) error
 * "no available IPv4 addresses on this network's address pools: NAME (ID)".
 */
export function allocateFromPools(
  pools: readonly NormalizedPool[],
  used: ReadonlySet<string>,
  opts: AllocateOptions,
): string {
  const req = opts.requested === undefined ? undefined : tryParseAddress(opts.requested);
  for (const pool of pools) {
    if (pool.family !== opts.family) continue;
    if (opts.requested !== undefined) {
      if (req === undefined || !prefixContains(parsePrefix(pool.subnet), req)) continue;
      return allocateAddress(pool, used, opts.requested);
    }
    try {
      return allocateAddress(pool, used);
    } catch (e) {
      if (!(e instanceof RedesError && e.code === 'ipam.pool_full')) throw e;
    }
  }
  if (opts.requested !== undefined) throw notInSubnets(opts.requested);
  const { name, id } = opts.network;
  throw internal('ipam.network_full', `no available IPv${opts.family} addresses on this network's address pools: ${name} (${id})`);
}

const hex = (bytes: ArrayLike<number>): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');

/** 02:42 followed by the four bytes of an IPv4 address (moby netutils.GenerateMACFromIP). */
export function macFromIPv4(addr: string): string {
  const a = parseAddress(addr);
  if (a.family !== 4) throw invalidParameter('ipam.bad_address', `not an IPv4 address: "${addr}"`);
  return hex([0x02, 0x42, ...[24n, 16n, 8n, 0n].map((sh) => Number((a.addr >> sh) & 0xffn))]);
}

/**
 * A random unicast, locally administered MAC (moby netutils.GenerateRandomMAC), what Docker 28's
 * bridge driver gives each endpoint. `random` is for tests.
 */
export function randomMac(random: (n: number) => Uint8Array = randomBytes): string {
  const b = Uint8Array.from(random(6));
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02;
  return hex(b);
}
