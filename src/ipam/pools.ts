/**
 * Default address pools and the automatic choice of a network's subnet, as dockerd 28 does it
 * (moby libnetwork/ipamutils, ipams/defaultipam/address_space.go, opts/address_pools.go,
 * daemon/daemon.go deriveULABaseNetwork).
 *
 * Use: `chooseSubnet(withUlaPool(pools, engineId), [...otherNetworkSubnets, ...onLinkRoutes], 4)`.
 * Pools come from `DEFAULT_LOCAL_POOLS` or from `--default-address-pool` values parsed with
 * `parseAddressPoolFlags`.
 *
 * Beware:
 * - dockerd sorts the pools by address and drops a pool that overlaps an earlier one, so the order
 *   the admin wrote does not decide which pool is used first; we do the same.
 * - dockerd adds a ULA /48 (split into /64s) derived from the engine id when no IPv6 pool is
 *   configured: IPv6 networks get a subnet automatically. `withUlaPool` does that step.
 * - Exhaustion says "all predefined address pools have been fully subnetted" (Docker >= 27; older
 *   engines said "could not find an available, non-overlapping IPv4 address pool …").
 */
import { createHash } from 'node:crypto';
import { RedesError, invalidParameter } from '../util/index.js';
import {
  type Family,
  type Prefix,
  INT64_MAX,
  bitLength,
  formatNetwork,
  formatPrefix,
  hostMask,
  lastAddress,
  makePrefix,
  parseAddress,
  parsePrefix,
  tryParsePrefix,
} from './cidr.js';

/** One `--default-address-pool`: split `base` into subnets of length `size`. */
export interface PoolSpec {
  base: string;
  size: number;
}

/** moby's local-scope defaults (ipamutils), in its order: 172.17-31 as /16s, then 192.168/16 as /20s. */
export const DEFAULT_LOCAL_POOLS: readonly PoolSpec[] = Object.freeze([
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
]);

export const ERR_POOLS_EXHAUSTED = 'all predefined address pools have been fully subnetted';

/**
 * The ULA pool dockerd derives from its engine id: fd00::/8 plus the low 40 bits of the first 8
 * bytes of sha256(id) as the global id, a /48 split into /64s (RFC 4193 3.2.2, loosely).
 */
export function deriveUlaPool(hostId: string): PoolSpec {
  const sha = createHash('sha256').update(hostId).digest();
  const gid = sha.readBigUInt64BE(0) & ((1n << 40n) - 1n);
  const addr = (0xfdn << 120n) + (gid << 80n);
  return { base: formatPrefix(makePrefix(6, addr, 48)), size: 64 };
}

/** Adds the ULA pool unless an IPv6 pool (not IPv4-mapped) is configured, as dockerd does. */
export function withUlaPool(pools: readonly PoolSpec[], hostId: string): PoolSpec[] {
  const hasV6 = pools.some((p) => {
    const pre = tryParsePrefix(p.base);
    return pre !== undefined && pre.family === 6 && pre.addr >> 32n !== 0xffffn;
  });
  return hasV6 ? [...pools] : [...pools, deriveUlaPool(hostId)];
}

/** Splits one CSV record as Go's encoding/csv reads the first record of a line. */
function splitCsv(value: string): string[] {
  const line = value.split(/\r?\n/).find((l) => l !== '');
  if (line === undefined) throw new Error('EOF');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error(`parse error on line 1, column ${line.length + 1}: extraneous or missing " in quoted-field`);
        field += line.slice(i, q);
        i = q + 1;
        if (line[i] === '"') {
          field += '"';
          i++;
        } else if (i === line.length || line[i] === ',') {
          break;
        } else {
          throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
        }
      }
    } else {
      const end = line.indexOf(',', i);
      field = line.slice(i, end < 0 ? line.length : end);
      const bare = field.indexOf('"');
      if (bare >= 0) throw new Error(`parse error on line 1, column ${i + bare + 1}: bare " in non-quoted field`);
      i += field.length;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

/** Go's strconv.Atoi error text for a size that is not a base-10 int. */
function atoi(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = BigInt(s);
  if (n > INT64_MAX || n < -INT64_MAX - 1n) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range`);
  return Number(n);
}

/**
 * Parses one `--default-address-pool` value ("base=10.10.0.0/16,size=24") with dockerd's checks
 * and messages. Missing fields are left empty/zero, as dockerd does; `validatePools` rejects them.
 */
export function parseAddressPoolFlag(value: string): PoolSpec {
  const bad = (msg: string): RedesError => invalidParameter('ipam.bad_pool_flag', msg);
  let fields: string[];
  try {
    fields = splitCsv(value);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const spec: PoolSpec = { base: '', size: 0 };
  for (const field of fields) {
    // dockerd lowercases the whole field, value included.
    const lower = field.toLowerCase();
    const eq = lower.indexOf('=');
    if (eq < 0) throw bad(`invalid field '${field}' must be a key=value pair`);
    const key = lower.slice(0, eq);
    const val = lower.slice(eq + 1);
    if (key === 'base') {
      try {
        spec.base = formatPrefix(parsePrefix(val));
      } catch (e) {
        throw bad(`invalid base prefix ${JSON.stringify(val)}: ${(e as Error).message}`);
      }
    } else if (key === 'size') {
      try {
        spec.size = atoi(val);
      } catch (e) {
        throw bad(`invalid size value: ${JSON.stringify(value)} (must be integer): ${(e as Error).message}`);
      }
    } else {
      throw bad(`unexpected key '${key}' in '${field}'`);
    }
  }
  return spec;
}

/** Parses every `--default-address-pool` value in order, then validates the list as dockerd does. */
export function parseAddressPoolFlags(values: readonly string[]): PoolSpec[] {
  const pools = values.map(parseAddressPoolFlag);
  validatePools(pools);
  return pools;
}

/**
 * Rejects pools dockerd refuses at start, with its text: no base or no size ("not in canonical
 * form"), or a size shorter than the base's own length. A size past the family's width is refused
 * too, with a message of our own (dockerd does not check it and then misbehaves).
 */
export function validatePools(pools: readonly PoolSpec[]): void {
  pools.forEach((pool, i) => {
    const base = tryParsePrefix(pool.base);
    const repr = `&{${base ? formatPrefix(base) : 'invalid Prefix'} ${pool.size}}`;
    const fail = (msg: string): RedesError =>
      invalidParameter('ipam.bad_pool', `could not construct local address space: network at index ${i} (${repr}) ${msg}`);
    if (!base || pool.size === 0) throw fail('is not in canonical form');
    if (base.bits > pool.size) {
      throw fail(`has a smaller prefix (/${base.bits}) than the target size of that pool (/${pool.size})`);
    }
    if (pool.size > bitLength(base.family)) {
      throw fail(`has a target size (/${pool.size}) longer than an IPv${base.family} address`);
    }
  });
}

interface Range {
  start: bigint;
  end: bigint;
}

/** Parses "a.b.c.d/n", or a bare address as a single-address prefix (a nameserver). */
function toRange(s: string): Range & { family: Family } {
  const p: Prefix = s.includes('/')
    ? parsePrefix(s)
    : (() => {
        const a = parseAddress(s);
        return makePrefix(a.family, a.addr, bitLength(a.family));
      })();
  return { family: p.family, start: p.network, end: lastAddress(p) };
}

/** Pools of one family, masked, sorted by address (shorter first on a tie), overlapping ones dropped. */
function orderedPools(pools: readonly PoolSpec[], family: Family): Array<{ base: Prefix; size: number }> {
  const own = pools
    .map((p) => ({ base: parsePrefix(p.base), size: p.size }))
    .filter((p) => p.base.family === family)
    .map((p) => ({ base: makePrefix(family, p.base.network, p.base.bits), size: p.size }))
    .sort((a, b) => (a.base.network === b.base.network ? a.base.bits - b.base.bits : a.base.network < b.base.network ? -1 : 1));
  const kept: typeof own = [];
  for (const p of own) {
    const prev = kept[kept.length - 1];
    if (prev === undefined || lastAddress(prev.base) < p.base.network) kept.push(p);
  }
  return kept;
}

/**
 * The first subnet, in address order, of the pools of `family` that overlaps none of `inUse`
 * (subnets of other networks, the host's on-link routes and nameservers; prefixes or bare
 * addresses; other families ignored). Throws Docker's exhaustion error (invalid-parameter).
 * Cost: O(u log u) for u entries of `inUse`, whatever the pool sizes.
 */
export function chooseSubnet(pools: readonly PoolSpec[], inUse: readonly string[], family: Family = 4): string {
  validatePools(pools);
  const used = inUse
    .map(toRange)
    .filter((r) => r.family === family)
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (const { base, size } of orderedPools(pools, family)) {
    const block = hostMask(family, size) + 1n;
    const poolEnd = lastAddress(base);
    let cand = base.network;
    for (const r of used) {
      if (r.end < cand) continue;
      if (r.start > cand + block - 1n) break;
      // Overlap: jump to the first aligned block after this range.
      cand = ((r.end + 1n + block - 1n) / block) * block;
      if (cand > poolEnd) break;
    }
    if (cand + block - 1n <= poolEnd) return formatNetwork(makePrefix(family, cand, size));
  }
  throw invalidParameter('ipam.pools_exhausted', ERR_POOLS_EXHAUSTED);
}
