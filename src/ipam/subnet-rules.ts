/**
 * Subnets a network may not use, checked before anything is made. Docker 28's bridge driver refuses
 * IPv6 multicast, IPv4-mapped and link-local-clashing subnets (400, its texts). redes also refuses
 * IPv4 ranges no host address can live in (this network, loopback, link-local, multicast,
 * reserved): Docker accepts them and then fails in the kernel or routes nothing.
 *
 * Use: `checkSubnetUsable('127.0.0.0/24')` throws an invalid-parameter RedesError, or returns.
 * `checkNotHostNetwork(subnet, hostRoutes)` refuses a bridge subnet that overlaps a network the
 * engine's host is already on (its uplink): the bridge would take that traffic.
 * Beware: the subnet must already be valid CIDR (validateIpamEntries ran first).
 */
import { invalidParameter } from '../util/index.js';
import { formatNetwork, parsePrefix, prefixesOverlap, tryParsePrefix, type Prefix } from './cidr.js';

const V4_UNUSABLE: ReadonlyArray<[string, string]> = [
  ['0.0.0.0/8', '"this network" addresses (0.0.0.0/8)'],
  ['127.0.0.0/8', 'loopback addresses (127.0.0.0/8)'],
  ['169.254.0.0/16', 'link-local addresses (169.254.0.0/16)'],
  ['224.0.0.0/4', 'multicast addresses (224.0.0.0/4)'],
  ['240.0.0.0/4', 'reserved addresses (240.0.0.0/4)'],
];

const LINK_LOCAL_V6 = parsePrefix('fe80::/64');
const MULTICAST_V6 = parsePrefix('ff00::/8');
const V4_MAPPED = parsePrefix('::ffff:0.0.0.0/96');

export function checkSubnetUsable(subnet: string): void {
  const p = parsePrefix(subnet);
  if (p.family === 6) {
    // Docker's texts (bridge driver, validateIPv6Subnet).
    if (p.bits >= 96 && prefixesOverlap(p, V4_MAPPED)) throw invalidParameter('ipam.subnet_v4_mapped', `'${subnet}' is not a valid IPv6 subnet`);
    if (prefixesOverlap(p, MULTICAST_V6) && p.bits >= 8) throw invalidParameter('ipam.subnet_multicast', `multicast subnet '${subnet}' is not allowed`);
    if (formatNetwork(p) !== 'fe80::/64' && prefixesOverlap(p, LINK_LOCAL_V6)) {
      throw invalidParameter('ipam.subnet_link_local', `'${subnet}' clashes with the Link-Local prefix 'fe80::/64'`);
    }
    return;
  }
  for (const [range, what] of V4_UNUSABLE) {
    if (prefixesOverlap(p, parsePrefix(range))) {
      throw invalidParameter('ipam.subnet_unusable', `invalid subnet ${subnet}: ${what} cannot be used for a network`);
    }
  }
}

/**
 * Refuses a subnet that overlaps one of the host's own networks (`hostRoutes`, less the subnets of
 * the engine's own networks, `own`): a bridge on it would cut the host off that network.
 */
export function checkNotHostNetwork(subnet: string, hostRoutes: readonly string[], own: readonly string[]): void {
  const p = parsePrefix(subnet);
  const ours = own.map((s) => tryParsePrefix(s)).filter((x): x is Prefix => x !== undefined);
  for (const r of hostRoutes) {
    const q = tryParsePrefix(r);
    if (!q || q.family !== p.family || q.bits === 0 || ours.some((o) => prefixesOverlap(o, q))) continue;
    if (prefixesOverlap(p, q)) {
      throw invalidParameter('ipam.subnet_host_network', `invalid subnet ${subnet}: it overlaps ${formatNetwork(q)}, a network the engine's host is on`);
    }
  }
}
