/**
 * Turns a create request's `IPAM` object into the pools a network record keeps, using the pure ipam/
 * module for every check (Docker's texts). One subnet per address family is supported.
 */
import { validateIpamConfig, type IpamConfigEntry, type NormalizedPool, type PoolSpec } from '../../ipam/index.js';
import { invalidParameter, notFound } from '../../util/index.js';
import type { IpamPoolRecord, NetworkRecord } from './network-record.js';

export interface IpamDefaults {
  /** Default address pools of both families (`--default-address-pool`, or Docker's). */
  pools: readonly PoolSpec[];
}

export interface IpamPlanContext {
  enableIPv4: boolean;
  enableIPv6: boolean;
  usedSubnets: string[];
  hostRoutes: string[];
  defaults: IpamDefaults;
  networkId: string;
  /** The driver's say on the number of pools per family (after they are validated, as libnetwork). */
  checkPools: (count: { v4: number; v6: number }) => void;
}

function toRecord(p: NormalizedPool): IpamPoolRecord {
  return { subnet: p.subnet, gateway: p.gateway, ...(p.ipRange ? { ipRange: p.ipRange } : {}), auxAddresses: p.auxAddresses };
}

function one(pools: NormalizedPool[], fam: string): IpamPoolRecord | undefined {
  if (pools.length > 1) {
    throw invalidParameter('ipam.multiple_subnets', `only one ${fam} subnet per network is supported by this engine, got ${pools.length}`);
  }
  return pools[0] ? toRecord(pools[0]) : undefined;
}

export async function planIpam(raw: unknown, ctx: IpamPlanContext): Promise<NetworkRecord['ipam']> {
  const ipam = checkIpamTypes(raw);
  const ipamDriver = typeof ipam.Driver === 'string' && ipam.Driver ? ipam.Driver : 'default';
  if (ipamDriver !== 'default') throw notFound('ipam.driver_not_found', `plugin "${ipamDriver}" not found`);
  const config = (ipam.Config ?? []) as IpamConfigEntry[];
  const options = ipam.Options && typeof ipam.Options === 'object' ? (ipam.Options as Record<string, string>) : null;
  if (!ctx.enableIPv4 && !ctx.enableIPv6) return { driver: ipamDriver, options };
  const n = validateIpamConfig(
    { Config: config, EnableIPv4: ctx.enableIPv4, EnableIPv6: ctx.enableIPv6 },
    { otherSubnets: ctx.usedSubnets, pools: ctx.defaults.pools, reserved: ctx.hostRoutes },
  );
  ctx.checkPools({ v4: n.v4.length, v6: n.v6.length });
  const v4 = one(n.v4, 'IPv4');
  const v6 = one(n.v6, 'IPv6');
  return { driver: ipamDriver, options, ...(v4 ? { v4 } : {}), ...(v6 ? { v6 } : {}) };
}

const typeError = (field: string, what: string): Error => invalidParameter('api.field_type', `invalid JSON: field ${field} must be ${what}`);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(v: unknown, field: string): void {
  if (v !== undefined && v !== null && typeof v !== 'string') throw typeError(field, 'a string');
}

function stringMap(v: unknown, field: string): void {
  if (v === undefined || v === null) return;
  if (!isObject(v)) throw typeError(field, 'an object');
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw typeError(`${field}.${k}`, 'a string');
}

/** The shape of `IPAM` as dockerd's JSON decoding enforces it: a wrong type is a 400, never ignored. */
function checkIpamTypes(raw: unknown): { Driver?: unknown; Config?: unknown; Options?: unknown } {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw typeError('IPAM', 'an object');
  optionalString(raw.Driver, 'IPAM.Driver');
  stringMap(raw.Options, 'IPAM.Options');
  if (raw.Config !== undefined && raw.Config !== null) {
    if (!Array.isArray(raw.Config)) throw typeError('IPAM.Config', 'an array');
    raw.Config.forEach((c: unknown, i) => {
      if (!isObject(c)) throw typeError(`IPAM.Config[${i}]`, 'an object');
      for (const k of ['Subnet', 'IPRange', 'Gateway']) optionalString(c[k], `IPAM.Config[${i}].${k}`);
      stringMap(c.AuxiliaryAddresses, `IPAM.Config[${i}].AuxiliaryAddresses`);
    });
  }
  return raw;
}
