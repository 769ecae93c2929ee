/**
 * What the overlay driver keeps in the cluster store, as JSON, with checks on the way in (a record
 * written by another host is input like any other: a malformed one is skipped, never programmed).
 *
 * - `endpoints/<networkId>/<endpointId>` (leased to the host's liveness): one container's endpoint,
 *   with what other hosts need to reach it (IP, MAC, VTEP) and to name it (DNS), and, on encrypted
 *   networks, how to reach its host through WireGuard.
 * - `ipam/<networkId>/<ip>` (leased, created once): value = endpoint id. A dead host's addresses
 *   are free once its lease runs out; a restarted engine takes its running containers' claims back
 *   (cluster-addresses.ts `reclaim`).
 * - `vni/<vni>` (plain, created once): value = network id.
 * - `wgip/<address>` (plain, created once): a host's WireGuard tunnel address; value = node id.
 */
import { tryParseAddress } from '../../ipam/index.js';

export interface WireguardInfo {
  publicKey: string;
  /** "ADDR:PORT" on the underlay. */
  endpoint: string;
  /** The host's tunnel address (the VTEP of its encrypted networks). */
  tunnel: string;
}

export interface EndpointRecord {
  node: string;
  containerId: string;
  name: string;
  aliases: string[];
  ipv4?: string;
  ipv6?: string;
  mac: string;
  /** Address other hosts send this network's VXLAN to (LAN address, or tunnel address if encrypted). */
  vtep: string;
  wireguard?: WireguardInfo;
}

export const wgipKey = (address: string): string => `wgip/${address}`;
export const WGIP_PREFIX = 'wgip/';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const KEY = /^[A-Za-z0-9+/]{43}=$/;
const isV4 = (s: unknown): s is string => typeof s === 'string' && tryParseAddress(s)?.family === 4 && !s.includes('/');
const isV6 = (s: unknown): s is string => typeof s === 'string' && tryParseAddress(s)?.family === 6;
const isStr = (s: unknown): s is string => typeof s === 'string';

/** Parses a stored endpoint record; undefined when it is not one (logged by the caller). */
export function parseEndpointRecord(text: string): EndpointRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  if (!isStr(r.node) || !isStr(r.containerId) || !isStr(r.name) || !isStr(r.mac) || !MAC.test(r.mac) || !isV4(r.vtep)) return undefined;
  if (!Array.isArray(r.aliases) || !r.aliases.every(isStr)) return undefined;
  if (r.ipv4 !== undefined && !isV4(r.ipv4)) return undefined;
  if (r.ipv6 !== undefined && !isV6(r.ipv6)) return undefined;
  let wireguard: WireguardInfo | undefined;
  if (r.wireguard !== undefined) {
    const w = r.wireguard as Record<string, unknown>;
    if (!w || !isStr(w.publicKey) || !KEY.test(w.publicKey) || !isStr(w.endpoint) || !/^[0-9.]+:\d{1,5}$/.test(w.endpoint) || !isV4(w.tunnel)) return undefined;
    wireguard = { publicKey: w.publicKey, endpoint: w.endpoint, tunnel: w.tunnel };
  }
  return {
    node: r.node,
    containerId: r.containerId,
    name: r.name,
    aliases: r.aliases as string[],
    ...(r.ipv4 !== undefined ? { ipv4: r.ipv4 } : {}),
    ...(r.ipv6 !== undefined ? { ipv6: r.ipv6 as string } : {}),
    mac: r.mac,
    vtep: r.vtep,
    ...(wireguard ? { wireguard } : {}),
  };
}
