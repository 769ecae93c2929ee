/**
 * What an endpoint asks beyond its address: `IPAMConfig.LinkLocalIPs` (extra addresses on its
 * interface) and the `com.docker.network.endpoint.sysctls` driver option (per-interface sysctls),
 * checked with Docker's texts and turned into what the kernel seam applies after the driver joined.
 *
 * Use: `endpointExtrasProblems(req)` in the endpoint checks; `endpointExtras(ep, ifname)` at join.
 * Beware: sysctl names become /proc/sys paths: beyond Docker's shape check, each part must be a plain
 * name (letters, digits, `_`, `-`), so no `..` or `/` ever reaches a path.
 */
import { isIP } from 'node:net';
import { ENDPOINT_SYSCTLS } from './create-fields.js';

const PART = /^[A-Za-z0-9_-]+$/;
const UNSPECIFIED = new Set(['0.0.0.0', '::']);

/** libnetwork's masks for link-local IPs: /16 for IPv4, /64 for IPv6 (endpoint.go). */
export function linkLocalCidr(ip: string): string {
  return isIP(ip) === 4 ? `${ip}/16` : `${ip}/64`;
}

interface ParsedSysctl {
  /** Path under /proc/sys with the interface left as `IFNAME`. */
  key: string;
  value: string;
}

/** One `net.X.Y.IFNAME.Z=V` entry, or undefined when Docker (or path safety) refuses it. */
function parseSysctl(entry: string): ParsedSysctl | undefined {
  const eq = entry.indexOf('=');
  if (eq < 0) return undefined;
  const parts = entry.slice(0, eq).split('.');
  if (parts.length < 5 || parts[0] !== 'net' || !['ipv4', 'ipv6', 'mpls'].includes(parts[1] as string) || !['IFNAME', 'ifname'].includes(parts[3] as string)) return undefined;
  const rest = [parts[2], ...parts.slice(4)];
  if (!rest.every((p) => p !== undefined && PART.test(p))) return undefined;
  return { key: ['net', parts[1], parts[2], 'IFNAME', ...parts.slice(4)].join('/'), value: entry.slice(eq + 1) };
}

/** Docker's endpoint-settings problems of the link-local IPs and the sysctls option (empty: fine). */
export function endpointExtrasProblems(req: { linkLocalIps?: readonly string[]; driverOpts?: Readonly<Record<string, string>> }): string[] {
  const out: string[] = [];
  for (const ip of req.linkLocalIps ?? []) if (!isIP(ip) || UNSPECIFIED.has(ip)) out.push(`invalid link-local IP address: ${ip}`);
  const sysctls = req.driverOpts?.[ENDPOINT_SYSCTLS];
  if (sysctls !== undefined) {
    for (const s of sysctls.split(',')) {
      if (!parseSysctl(s)) out.push(`unrecognised network interface sysctl '${s}'; represent 'net.X.Y.ethN.Z=V' as 'net.X.Y.IFNAME.Z=V', 'X' must be 'ipv4', 'ipv6' or 'mpls'`);
    }
  }
  return out;
}

/** What to apply on interface `ifname` once joined: address CIDRs and [sysctl path, value] pairs. */
export function endpointExtras(
  ep: { ipamConfig: { linkLocalIps?: readonly string[] }; driverOpts?: Readonly<Record<string, string>> },
  ifname: string,
): { addresses: string[]; sysctls: Array<[string, string]> } {
  const addresses = (ep.ipamConfig.linkLocalIps ?? []).map(linkLocalCidr);
  const raw = ep.driverOpts?.[ENDPOINT_SYSCTLS];
  const sysctls = (raw === undefined ? [] : raw.split(','))
    .map(parseSysctl)
    .filter((s): s is ParsedSysctl => !!s)
    .map((s): [string, string] => [s.key.replace('/IFNAME/', `/${ifname}/`), s.value]);
  return { addresses, sysctls };
}
