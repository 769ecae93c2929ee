/**
 * Layer-2 anti-spoofing on bridge ports: a table `bridge <prefix>` whose prerouting chain checks every
 * frame a container sends into its bridge (moby#36355 is the hole Docker leaves open). A frame from a
 * guarded port (the host end of a container's veth) passes only when:
 * - its Ethernet source is the endpoint's MAC, and it is ARP, IPv4 or IPv6 (a VLAN tag or any other
 *   EtherType could carry a forged packet past the checks below);
 * - ARP: the sender hardware address is the endpoint's MAC and the sender IP its IPv4 address (0.0.0.0,
 *   an RFC 5227 probe, passes);
 * - IPv4: the source is the endpoint's address; IPv6: the source is the endpoint's address, its EUI-64
 *   link-local address (what the kernel gives eth0) or :: (duplicate address detection);
 * - a neighbour advertisement names one of those addresses as its target, and no router advertisement
 *   or redirect comes from a container (a container is never a router of its network).
 * Everything is rendered from endpoint state (never read back from the kernel, where a container with
 * NET_ADMIN could have changed its own MAC or addresses) as set elements keyed by the port name, so an
 * endpoint's join or leave is an element delta. Drops are counted in named counters (`spoof_mac`,
 * `spoof_arp`, `spoof_ip`, `spoof_nd`, `spoof_proto`), which a re-render does not reset.
 *
 * Use: `renderL2Table(table, endpoints)` inside the full render; `renderL2Delta(...)` per endpoint change.
 *
 * Beware: the chain runs at bridge priority filter (-200), before br_netfilter (0) hands bridged IP
 * traffic to the inet table. A port without elements is not guarded: the bridge driver adds an
 * endpoint's elements before it makes the veth and removes them after the veth is gone. nftables 1.0.6
 * has no `icmpv6 taddr`: the target of a neighbour advertisement is matched as raw bits (`@th,64,128`)
 * in a `typeof` set whose elements are the addresses as 128-bit hex numbers.
 */
import { compareElements } from './render-ports.js';

export interface FirewallEndpoint {
  /** The bridge port: the host end of the container's veth. */
  port: string;
  /** The endpoint's MAC (lowercase, colon-separated). */
  mac: string;
  ipv4?: string;
  ipv6?: string;
}

export const L2_FAMILY = 'bridge';

/** Named counters, one per kind of forged frame. */
export const L2_COUNTERS = ['spoof_mac', 'spoof_arp', 'spoof_ip', 'spoof_nd', 'spoof_proto'] as const;

/** The sets of the bridge table, in declaration order, with their type (`typeof` for the raw match). */
export const L2_SETS: ReadonlyArray<readonly [name: string, type: string]> = [
  ['l2ports', 'type ifname'],
  ['l2mac', 'type ifname . ether_addr'],
  ['l2ip4', 'type ifname . ipv4_addr'],
  ['l2ip6', 'type ifname . ipv6_addr'],
  ['l2na6', 'typeof iifname . @th,64,128'],
];

const q = (s: string): string => `"${s}"`;

/** The 16 bytes of an IPv6 address (valid input: the engine's own state). */
function v6Bytes(addr: string): number[] {
  const [head = '', tail] = addr.split('::');
  const groups = (s: string): string[] => (s ? s.split(':') : []);
  const parts = (s: string): number[] =>
    groups(s).flatMap((g) => {
      if (!g.includes('.')) return [parseInt(g, 16)];
      const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
      return [(a << 8) | b, (c << 8) | d];
    });
  const h = parts(head);
  const t = tail === undefined ? [] : parts(tail);
  const words = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** The address as nft prints a 128-bit integer: 0x and 32 hex digits. */
export function v6Hex(addr: string): string {
  return '0x' + v6Bytes(addr).map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The EUI-64 link-local address the kernel derives from a MAC (addr_gen_mode 0, its default). */
export function linkLocalOf(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const w = [((b[0] ?? 0) ^ 0x02) << 8 | (b[1] ?? 0), (b[2] ?? 0) << 8 | 0xff, 0xfe00 | (b[3] ?? 0), (b[4] ?? 0) << 8 | (b[5] ?? 0)];
  return `fe80::${w.map((x) => x.toString(16)).join(':')}`;
}

const addrOnly = (a: string): string => a.split('/')[0] ?? a;

/** The elements of every set for these endpoints, sorted, without duplicates. */
export function l2Elements(endpoints: readonly FirewallEndpoint[]): Map<string, string[]> {
  const out = new Map<string, Set<string>>(L2_SETS.map(([n]) => [n, new Set<string>()]));
  const add = (set: string, e: string): void => void out.get(set)?.add(e);
  for (const ep of endpoints) {
    const p = q(ep.port);
    const mac = ep.mac.toLowerCase();
    add('l2ports', p);
    add('l2mac', `${p} . ${mac}`);
    if (ep.ipv4) add('l2ip4', `${p} . ${addrOnly(ep.ipv4)}`);
    for (const a of [linkLocalOf(mac), ...(ep.ipv6 ? [addrOnly(ep.ipv6)] : [])]) {
      add('l2ip6', `${p} . ${a}`);
      add('l2na6', `${p} . ${v6Hex(a)}`);
    }
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort(compareElements)]));
}

/** One endpoint's identity for deltas (its port is unique among live endpoints). */
export function l2Key(ep: FirewallEndpoint): string {
  return JSON.stringify([ep.port, ep.mac.toLowerCase(), ep.ipv4 ?? '', ep.ipv6 ?? '']);
}

/** The bridge table: declared, flushed and refilled (counters are declared, never reset). */
export function renderL2Table(table: string, endpoints: readonly FirewallEndpoint[]): string[] {
  const t = `${L2_FAMILY} ${table}`;
  const sets = (els?: Map<string, string[]>): string[] =>
    L2_SETS.flatMap(([n, ty]) => {
      const e = els?.get(n) ?? [];
      return [`set ${n} {`, ty, ...(e.length ? [`elements = { ${e.join(', ')} }`] : []), '}'];
    });
  const counters = L2_COUNTERS.flatMap((c) => [`counter ${c} {`, '}']);
  const out = [`table ${t} {`, ...counters, ...sets(), '}', `flush table ${t}`, ...L2_SETS.map(([n]) => `flush set ${t} ${n}`)];
  out.push(`table ${t} {`, ...sets(l2Elements(endpoints)));
  out.push('chain prerouting {', 'type filter hook prerouting priority filter; policy accept;', 'iifname @l2ports jump guard', '}');
  out.push('chain guard {');
  out.push('iifname . ether saddr != @l2mac counter name "spoof_mac" drop');
  out.push('ether type != { arp, ip, ip6 } counter name "spoof_proto" drop');
  out.push('iifname . arp saddr ether != @l2mac counter name "spoof_arp" drop');
  out.push('arp saddr ip != 0.0.0.0 iifname . arp saddr ip != @l2ip4 counter name "spoof_arp" drop');
  out.push('ether type ip iifname . ip saddr != @l2ip4 counter name "spoof_ip" drop');
  out.push('ether type ip6 ip6 saddr != :: iifname . ip6 saddr != @l2ip6 counter name "spoof_ip" drop');
  out.push('icmpv6 type nd-neighbor-advert iifname . @th,64,128 != @l2na6 counter name "spoof_nd" drop');
  out.push('icmpv6 type { nd-router-advert, nd-redirect } counter name "spoof_nd" drop');
  out.push('}', '}');
  return out;
}

/** Removes `removed`'s elements (unless `keep` still needs them) and adds `added`'s, in one transaction. */
export function renderL2Delta(table: string, added: readonly FirewallEndpoint[], removed: readonly FirewallEndpoint[], keep: readonly FirewallEndpoint[]): string {
  const t = `${L2_FAMILY} ${table}`;
  // Every element is keyed by its port: only endpoints on a removed port can still need one. (Rendering
  // all of `keep` made each join and leave cost O(endpoints), the whole run O(n²).)
  const ports = new Set(removed.map((e) => e.port));
  const still = l2Elements(removed.length ? keep.filter((e) => ports.has(e.port)) : []);
  const lines: string[] = [];
  for (const [set, items] of l2Elements(removed)) {
    const need = new Set(still.get(set) ?? []);
    const gone = items.filter((e) => !need.has(e));
    if (gone.length) lines.push(`delete element ${t} ${set} { ${gone.join(', ')} }`);
  }
  for (const [set, items] of l2Elements(added)) if (items.length) lines.push(`add element ${t} ${set} { ${items.join(', ')} }`);
  return lines.length ? lines.join('\n') + '\n' : '';
}
