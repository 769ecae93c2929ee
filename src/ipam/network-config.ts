/**
 * Checks a network-create request's `IPAM.Config` and turns it into one pool per subnet, with the
 * gateway and auxiliary addresses settled, as dockerd 28 does in order: `ValidateIPAM`
 * (api/types/network/ipam.go), then per family, IPv4 first, the default IPAM's pool request
 * (overlap check or automatic choice), the gateway and the auxiliary addresses
 * (libnetwork/network.go ipamAllocateVersion).
 *
 * Use: `validateIpamConfig({ Config, EnableIPv4, EnableIPv6 }, { otherSubnets, pools, reserved })`.
 *
 * Beware, Docker 28 behaviours kept on purpose:
 * - Every Config entry needs a Subnet ("invalid subnet : invalid CIDR block notation" otherwise),
 *   and host bits in a subnet or ip-range are an error ("it should be 10.0.0.0/8"), not masked.
 * - IPv6 entries are dropped without error when EnableIPv6 is false (moby #47202); IPv4 entries
 *   are validated, then dropped, when EnableIPv4 is false.
 * - A gateway on the network or broadcast address, or an auxiliary address on one of those or on the
 *   gateway, fails with dockerd's text but as the client's error (400): dockerd answers 500 there,
 *   yet nothing on the server is wrong, and a 500 must mean a defect of ours.
 * - Unlike dockerd, a subnet with an ip-range is checked for overlap too: dockerd skips that check
 *   (moby #46756) and lets two networks share one address set; we have no shared sets.
 */
import { forbidden, internal, invalidParameter, ownSet } from '../util/index.js';
import {
  type Address,
  type Family,
  type Prefix,
  addressToString,
  formatAddress,
  formatNetwork,
  formatPrefix,
  parsePrefix,
  prefixContains,
  prefixesOverlap,
  tryParseAddress,
  tryParsePrefix,
} from './cidr.js';
import { type NormalizedPool, ERR_ADDRESS_IN_USE, ERR_NO_AVAILABLE_IPS, lowestFree, subnetReserved } from './allocator.js';
import { type PoolSpec, chooseSubnet } from './pools.js';

/** One entry of the API's `IPAM.Config`. */
export interface IpamConfigEntry {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string> | null;
}

export interface IpamInput {
  Config?: readonly IpamConfigEntry[] | null;
  /** Default true, as dockerd's. */
  EnableIPv4?: boolean;
  /** Default false. */
  EnableIPv6?: boolean;
}

export interface IpamContext {
  /** Subnets of the other local networks, both families: a new subnet may overlap none of them. */
  otherSubnets: readonly string[];
  /** Default address pools, both families (see `withUlaPool`), for networks without a subnet. */
  pools: readonly PoolSpec[];
  /** Host on-link routes and nameservers: avoided by the automatic choice only. */
  reserved?: readonly string[];
}

export interface NormalizedIpam {
  v4: NormalizedPool[];
  v6: NormalizedPool[];
}

export const ERR_POOL_OVERLAP = 'invalid pool request: Pool overlaps with other one on this address space';

const familyName = (f: Family): string => `IPv${f}`;

function checkAddress(address: string | undefined, subnet: Prefix): string | undefined {
  if (!address) return undefined;
  const a = tryParseAddress(address);
  if (a === undefined) return 'invalid address';
  if (a.family !== subnet.family) return `parent subnet is an ${familyName(subnet.family)} block`;
  if (!prefixContains(subnet, a)) return `parent subnet ${formatPrefix(subnet)} doesn't contain this address`;
  return undefined;
}

function checkIpRange(ipRange: string | undefined, subnet: Prefix): string[] {
  if (!ipRange) return [];
  const r = tryParsePrefix(ipRange);
  if (r === undefined) return [`invalid ip-range ${ipRange}: invalid CIDR block notation`];
  if (r.family !== subnet.family) return [`invalid ip-range ${ipRange}: parent subnet is an ${familyName(subnet.family)} block`];
  const errs: string[] = [];
  if (r.bits < subnet.bits) errs.push(`invalid ip-range ${ipRange}: CIDR block is bigger than its parent subnet ${formatPrefix(subnet)}`);
  if (r.addr !== r.network) errs.push(`invalid ip-range ${formatPrefix(r)}: it should be ${formatNetwork(r)}`);
  if (!prefixesOverlap(subnet, r)) {
    errs.push(`invalid ip-range ${ipRange}: parent subnet ${formatPrefix(subnet)} doesn't contain ip-range`);
  }
  return errs;
}

/**
 * dockerd's ValidateIPAM: every problem of every entry, joined as it joins them, in one
 * invalid-parameter error "invalid network config:\n…". Auxiliary addresses are checked in the
 * object's key order (Go walks its map in random order).
 */
export function validateIpamEntries(configs: readonly IpamConfigEntry[], enableIPv6: boolean): void {
  const errs: string[] = [];
  for (const cfg of configs) {
    const subnet = tryParsePrefix(cfg.Subnet ?? '');
    if (subnet === undefined) {
      errs.push(`invalid subnet ${cfg.Subnet ?? ''}: invalid CIDR block notation`);
      continue;
    }
    if (subnet.family === 6 && !enableIPv6) continue;
    if (subnet.addr !== subnet.network) errs.push(`invalid subnet ${formatPrefix(subnet)}: it should be ${formatNetwork(subnet)}`);
    errs.push(...checkIpRange(cfg.IPRange, subnet));
    const gw = checkAddress(cfg.Gateway, subnet);
    if (gw) errs.push(`invalid gateway ${cfg.Gateway}: ${gw}`);
    for (const [name, aux] of Object.entries(cfg.AuxiliaryAddresses ?? {})) {
      const e = checkAddress(aux, subnet);
      if (e) errs.push(`invalid auxiliary address ${name}: ${e}`);
    }
  }
  if (errs.length === 0) return;
  const joined = errs.length === 1 ? errs[0]!.trim() : '* ' + errs.map((e) => e.replaceAll('\n', '\n\t')).join('\n* ');
  throw invalidParameter('ipam.invalid_config', `invalid network config:\n${joined}`);
}

/** Parses an address already validated by validateIpamEntries. */
function known(s: string): Address {
  const a = tryParseAddress(s);
  if (a === undefined) throw internal('ipam.bad_state', `unparsable address ${JSON.stringify(s)}`);
  return a;
}

/** Settles the gateway and auxiliary addresses of one user-given subnet (dockerd's order). */
function settlePool(cfg: IpamConfigEntry, subnet: Prefix): NormalizedPool {
  const range = cfg.IPRange ? parsePrefix(cfg.IPRange) : subnet;
  const held = new Set<bigint>(subnetReserved(subnet));
  let gateway: bigint;
  if (cfg.Gateway) {
    gateway = known(cfg.Gateway).addr;
    if (held.has(gateway)) {
      throw invalidParameter('ipam.gateway_in_use', `failed to allocate gateway (${cfg.Gateway}): ${ERR_ADDRESS_IN_USE}`);
    }
  } else {
    const free = lowestFree(subnet, range, () => false);
    if (free === undefined) throw invalidParameter('ipam.gateway_unavailable', `failed to allocate gateway (): ${ERR_NO_AVAILABLE_IPS}`);
    gateway = free;
  }
  held.add(gateway);
  const auxAddresses: Record<string, string> = {};
  for (const [name, value] of Object.entries(cfg.AuxiliaryAddresses ?? {})) {
    const a = known(value);
    if (held.has(a.addr)) {
      throw invalidParameter('ipam.aux_in_use', `failed to allocate secondary ip address (${name}:${value}): ${ERR_ADDRESS_IN_USE}`);
    }
    held.add(a.addr);
    ownSet(auxAddresses, name, addressToString(a));
  }
  const pool: NormalizedPool = {
    family: subnet.family,
    subnet: formatNetwork(subnet),
    gateway: formatAddress(subnet.family, gateway),
    auxAddresses,
    static: true,
  };
  if (cfg.IPRange) pool.ipRange = formatNetwork(range);
  return pool;
}

/** A pool from the default address pools, its gateway the first free address. */
function automaticPool(family: Family, ctx: IpamContext, taken: readonly string[]): NormalizedPool {
  const subnet = parsePrefix(chooseSubnet(ctx.pools, [...taken, ...(ctx.reserved ?? [])], family));
  const gateway = lowestFree(subnet, subnet, () => false);
  if (gateway === undefined) throw internal('ipam.automatic_gateway', `failed to allocate gateway (): ${ERR_NO_AVAILABLE_IPS}`);
  return {
    family,
    subnet: formatNetwork(subnet),
    gateway: formatAddress(family, gateway),
    auxAddresses: {},
    static: false,
  };
}

function poolsOfFamily(family: Family, configs: readonly IpamConfigEntry[], ctx: IpamContext): NormalizedPool[] {
  const mine = configs.filter((c) => tryParsePrefix(c.Subnet ?? '')?.family === family);
  if (mine.length === 0) return [automaticPool(family, ctx, ctx.otherSubnets)];
  const allocated = ctx.otherSubnets.map((s) => tryParsePrefix(s)).filter((p): p is Prefix => p?.family === family);
  return mine.map((cfg) => {
    const subnet = parsePrefix(cfg.Subnet ?? '');
    if (allocated.some((p) => prefixesOverlap(p, subnet))) throw forbidden('ipam.pool_overlap', ERR_POOL_OVERLAP);
    allocated.push(subnet);
    return settlePool(cfg, subnet);
  });
}

/**
 * Validates a network's IPAM request and settles its pools: the user's subnets (checked against
 * each other and `ctx.otherSubnets`) or, for an enabled family without one, a subnet from the
 * default pools. Throws RedesError with dockerd 28's texts and kinds (see the module header).
 */
export function validateIpamConfig(input: IpamInput, ctx: IpamContext): NormalizedIpam {
  const configs = input.Config ?? [];
  const enableIPv4 = input.EnableIPv4 ?? true;
  const enableIPv6 = input.EnableIPv6 ?? false;
  validateIpamEntries(configs, enableIPv6);
  const v4 = enableIPv4 ? poolsOfFamily(4, configs, ctx) : [];
  const v6 = enableIPv6 ? poolsOfFamily(6, configs, ctx) : [];
  return { v4, v6 };
}
