/**
 * IPv4 and IPv6 address and prefix arithmetic on bigint, parsed and printed the way Go's `net/netip`
 * does, because Docker 28 validates IPAM input with `netip.ParsePrefix` / `netip.ParseAddr` and
 * prints addresses with their `String()` methods.
 *
 * Use: `parsePrefix('10.1.0.0/16')`, `prefixContains(p, parseAddress('10.1.2.3'))`,
 * `formatAddress(6, addr)`. Parse errors are `invalidParameter('ipam.parse', …)` whose
 * message is Go's own text (`ParseAddr("1.2.3"): IPv4 address too short`), since dockerd quotes it in
 * some errors (the `--default-address-pool` flag).
 *
 * Beware:
 * - Like netip, leading zeros in an IPv4 octet ("10.01.0.1") and in prefix lengths ("/024") are
 *   rejected, and an IPv4-mapped IPv6 address ("::ffff:10.0.0.1") stays family 6 and prints as such.
 * - `Prefix.addr` keeps host bits as written; `network` is masked. Docker rejects host bits in a
 *   subnet, so callers compare the two.
 * - An address with a zone ("fe80::1%eth0") parses (as netip does) but no prefix contains it.
 */
import { formatIpAddress, invalidParameter, type RedesError } from '../util/index.js';

export type Family = 4 | 6;

export interface Address {
  family: Family;
  addr: bigint;
  /** IPv6 scoped zone, as in "fe80::1%eth0"; absent for most addresses. */
  zone?: string;
}

export interface Prefix {
  family: Family;
  /** The address as written, host bits included. */
  addr: bigint;
  /** The address with host bits cleared. */
  network: bigint;
  bits: number;
}

/** Go's int range, the bound of strconv.Atoi. */
export const INT64_MAX = (1n << 63n) - 1n;

export const bitLength = (family: Family): number => (family === 4 ? 32 : 128);

const parseError = (message: string): RedesError => invalidParameter('ipam.parse', message);

// Go's strconv.Quote for the ASCII input we expect; JSON escaping matches it there.
const quote = (s: string): string => JSON.stringify(s);

function addrError(input: string, msg: string, at?: string): RedesError {
  const where = at ? ` (at ${quote(at)})` : '';
  return parseError(`ParseAddr(${quote(input)}): ${msg}${where}`);
}

function parseIPv4(s: string, input: string): bigint {
  const fields: number[] = [];
  let val = 0;
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && val === 0) throw addrError(input, 'IPv4 field has octet with leading zero');
      val = val * 10 + (c - 48);
      digits++;
      if (val > 255) throw addrError(input, 'IPv4 field has value >255');
    } else if (s[i] === '.') {
      if (i === 0 || i === s.length - 1 || s[i - 1] === '.') {
        throw addrError(input, 'IPv4 field must have at least one digit', s.slice(i));
      }
      if (fields.length === 3) throw addrError(input, 'IPv4 address too long');
      fields.push(val);
      val = 0;
      digits = 0;
    } else {
      throw addrError(input, 'unexpected character', s.slice(i));
    }
  }
  if (fields.length < 3) throw addrError(input, 'IPv4 address too short');
  fields.push(val);
  return fields.reduce((acc, f) => (acc << 8n) | BigInt(f), 0n);
}

/** Parses the hex groups of an IPv6 address into 16 bytes, expanding "::" (netip's rules). */
function parseIPv6(input: string): Address {
  let s = input;
  let zone: string | undefined;
  const pct = s.indexOf('%');
  if (pct !== -1) {
    zone = s.slice(pct + 1);
    s = s.slice(0, pct);
    if (zone === '') throw addrError(input, 'zone must be a non-empty string');
  }
  const bytes = new Array<number>(16).fill(0);
  let ellipsis = -1;
  if (s.startsWith('::')) {
    ellipsis = 0;
    s = s.slice(2);
    if (s === '') return withZone({ family: 6, addr: 0n }, zone);
  }
  let i = 0;
  while (i < 16) {
    const m = /^[0-9a-fA-F]*/.exec(s)?.[0] ?? '';
    // Go accumulates digit by digit and fails as soon as the value passes 0xffff.
    let acc = 0;
    for (const ch of m) {
      acc = acc * 16 + parseInt(ch, 16);
      if (acc > 0xffff) throw addrError(input, 'IPv6 field has value >=2^16', s);
    }
    if (m.length === 0) throw addrError(input, 'each colon-separated field must have at least one digit', s);
    if (s[m.length] === '.') {
      if (ellipsis < 0 && i !== 12) {
        throw addrError(input, 'embedded IPv4 address must replace the final 2 fields of the address', s);
      }
      if (i + 4 > 16) throw addrError(input, 'too many hex fields to fit an embedded IPv4 at the end of the address', s);
      let v4: bigint;
      try {
        v4 = parseIPv4(s, s);
      } catch (e) {
        throw addrError(input, (e as Error).message, s);
      }
      for (let k = 0; k < 4; k++) bytes[i + k] = Number((v4 >> BigInt(24 - 8 * k)) & 0xffn);
      s = '';
      i += 4;
      break;
    }
    bytes[i] = acc >> 8;
    bytes[i + 1] = acc & 0xff;
    i += 2;
    s = s.slice(m.length);
    if (s === '') break;
    if (s[0] !== ':') throw addrError(input, 'unexpected character, want colon', s);
    if (s.length === 1) throw addrError(input, 'colon must be followed by more characters', s);
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) throw addrError(input, 'multiple :: in address', s);
      ellipsis = i;
      s = s.slice(1);
      if (s === '') break;
    }
  }
  if (s !== '') throw addrError(input, 'trailing garbage after address', s);
  if (i < 16) {
    if (ellipsis < 0) throw addrError(input, 'address string too short');
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) bytes[j + n] = bytes[j] ?? 0;
    for (let j = ellipsis + n - 1; j >= ellipsis; j--) bytes[j] = 0;
  } else if (ellipsis >= 0) {
    throw addrError(input, 'the :: must expand to at least one field of zeros');
  }
  return withZone({ family: 6, addr: bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n) }, zone);
}

function withZone(a: Address, zone: string | undefined): Address {
  return zone === undefined ? a : { ...a, zone };
}

/** Parses an IPv4 or IPv6 address as netip.ParseAddr does; throws with Go's message. */
export function parseAddress(s: string): Address {
  for (const ch of s) {
    if (ch === '.') return { family: 4, addr: parseIPv4(s, s) };
    if (ch === ':') return parseIPv6(s);
    if (ch === '%') throw addrError(s, 'missing IPv6 address');
  }
  throw addrError(s, 'unable to parse IP');
}

/** parseAddress, or undefined for junk. */
export function tryParseAddress(s: string): Address | undefined {
  try {
    return parseAddress(s);
  } catch {
    return undefined;
  }
}

/** Prints an address canonically: dotted quad, or RFC 5952 IPv6 as netip's String() does. */
export const formatAddress = (family: Family, addr: bigint, zone?: string): string => formatIpAddress(family, addr, zone);

/** Prints a parsed Address. */
export const addressToString = (a: Address): string => formatAddress(a.family, a.addr, a.zone);

export function hostMask(family: Family, bits: number): bigint {
  return (1n << BigInt(bitLength(family) - bits)) - 1n;
}

function prefixError(input: string, msg: string): RedesError {
  return parseError(`netip.ParsePrefix(${quote(input)}): ${msg}`);
}

/** Parses "addr/bits" as netip.ParsePrefix does: no zones, no signs or leading zeros in bits. */
export function parsePrefix(s: string): Prefix {
  const slash = s.lastIndexOf('/');
  if (slash < 0) throw prefixError(s, "no '/'");
  let a: Address;
  try {
    a = parseAddress(s.slice(0, slash));
  } catch (e) {
    throw prefixError(s, (e as Error).message);
  }
  if (a.zone !== undefined) throw prefixError(s, 'IPv6 zones cannot be present in a prefix');
  const bitsStr = s.slice(slash + 1);
  // Go's Atoi also fails past int64, which the digits test alone would let through.
  if (!/^(0|[1-9][0-9]*)$/.test(bitsStr) || BigInt(bitsStr) > INT64_MAX) {
    throw prefixError(s, `bad bits after slash: ${quote(bitsStr)}`);
  }
  const bits = Number(bitsStr);
  if (bits > bitLength(a.family)) throw prefixError(s, 'prefix length out of range');
  return { family: a.family, addr: a.addr, network: a.addr & ~hostMask(a.family, bits), bits };
}

/** parsePrefix, or undefined for junk. */
export function tryParsePrefix(s: string): Prefix | undefined {
  try {
    return parsePrefix(s);
  } catch {
    return undefined;
  }
}

/** Builds a prefix from an address and a length, masking the network. */
export function makePrefix(family: Family, addr: bigint, bits: number): Prefix {
  return { family, addr, network: addr & ~hostMask(family, bits), bits };
}

/** Prints the prefix as written, host bits kept (netip's Prefix.String). */
export const formatPrefix = (p: Prefix): string => `${formatAddress(p.family, p.addr)}/${p.bits}`;

/** Prints the masked prefix, "10.1.1.0/24". */
export const formatNetwork = (p: Prefix): string => `${formatAddress(p.family, p.network)}/${p.bits}`;

/** The last address of the prefix (the IPv4 broadcast address when bits <= 30). */
export const lastAddress = (p: Prefix): bigint => p.network | hostMask(p.family, p.bits);

export function prefixContains(p: Prefix, a: Address): boolean {
  return a.family === p.family && a.zone === undefined && (a.addr & ~hostMask(p.family, p.bits)) === p.network;
}

export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

/** IPv4 broadcast address; undefined for IPv6 and for /31 and /32 (RFC 3021 point-to-point). */
export function broadcastAddress(p: Prefix): bigint | undefined {
  return p.family === 4 && p.bits <= 30 ? lastAddress(p) : undefined;
}
