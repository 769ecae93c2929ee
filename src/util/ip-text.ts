/**
 * IP addresses as text, one formatter for every layer: the IPAM prints what Docker prints (Go's
 * netip `String()`), and kernel/ reads addresses from netlink messages and must print them as `ip`
 * does (glibc's inet_ntop). Both are RFC 5952 text, so they agree.
 *
 * Use: `formatIpAddress(6, addr)` for an address held as a bigint, `formatIpBytes(buf)` for 4 or 16
 * bytes in network order.
 */

function formatIPv4(addr: bigint): string {
  // One conversion to a number, then plain integer arithmetic: the address allocator formats every
  // address it walks past, so four BigInt shifts per address (and their garbage) made an attach
  // cost ~7 ms at 1000 endpoints on a network, growing with each.
  const n = Number(addr);
  return `${Math.floor(n / 0x1000000) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** Prints an address canonically: dotted quad, or RFC 5952 IPv6 as netip's String() does. */
export function formatIpAddress(family: 4 | 6, addr: bigint, zone?: string): string {
  if (family === 4) return formatIPv4(addr);
  const z = zone ? `%${zone}` : '';
  // netip (and inet_ntop) print IPv4-mapped addresses with the dotted quad, "::ffff:10.0.0.1".
  if (addr >> 32n === 0xffffn) return `::ffff:${formatIPv4(addr & 0xffffffffn)}${z}`;
  const groups = Array.from({ length: 8 }, (_, k) => Number((addr >> BigInt(112 - 16 * k)) & 0xffffn));
  // The longest run of two or more zero groups becomes "::"; the first one wins a tie (RFC 5952 4.2).
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    let j = k;
    while (j < 8 && groups[j] === 0) j++;
    if (j - k > bestLen) [bestStart, bestLen] = [k, j - k];
    k = j === k ? k + 1 : j;
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups) + z;
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}${z}`;
}

/** An address of 4 or 16 bytes in network order (as netlink carries it) as text. */
export function formatIpBytes(b: Uint8Array): string {
  const addr = b.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
  return formatIpAddress(b.length === 4 ? 4 : 6, addr);
}
