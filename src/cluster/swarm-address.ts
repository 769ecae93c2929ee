/**
 * Which address a node advertises to the swarm, as dockerd picks it: an explicit address (with or
 * without port), an interface name (its one IPv4 address), or, when none is given, the only global
 * address of the host; several candidates on different interfaces are refused with Docker's text.
 * A joining node without an advertise address uses its address on the manager's subnet.
 *
 * Use: `chooseAdvertiseAddr(req.AdvertiseAddr || req.ListenAddr, localInterfaces())`.
 *
 * Beware: bridges and veths the engine makes itself (docker0, br-*, docker_gwbridge, veth*) are never
 * candidates.
 */
import { networkInterfaces } from 'node:os';
import { invalidParameter } from '../util/index.js';
import { parsePrefix, prefixContains, tryParseAddress } from '../ipam/index.js';

export interface LocalAddress {
  ifname: string;
  address: string;
  prefixLen: number;
}

const SWARM_DEFAULT_PORT = 2377;
const ENGINE_LINK = /^(docker0|docker_gwbridge|br-.*|veth.*|vx-.*|ov-.*|lo)$/;

/** The host's IPv4 addresses on interfaces the engine did not make. */
export function localInterfaces(): LocalAddress[] {
  const out: LocalAddress[] = [];
  for (const [ifname, addrs] of Object.entries(networkInterfaces())) {
    if (ENGINE_LINK.test(ifname)) continue;
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal) out.push({ ifname, address: a.address, prefixLen: Number(a.cidr?.split('/')[1] ?? 32) });
    }
  }
  return out;
}

/** Splits `host[:port]`; the port defaults to `dflt`. */
export function splitHostPort(s: string, dflt: number): { host: string; port: number } {
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(s.trim());
  const host = m?.[1] ?? '';
  const port = m?.[2] ? Number(m[2]) : dflt;
  if (port < 1 || port > 65535) throw invalidParameter('swarm.address', `invalid port in address "${s}"`);
  return { host, port };
}

/**
 * The advertise address for `spec` (an address, `addr:port`, an interface name, or '' / 0.0.0.0 for
 * automatic), given the host's addresses.
 */
export function chooseAdvertiseAddr(spec: string, locals: LocalAddress[]): string {
  const { host } = splitHostPort(spec, SWARM_DEFAULT_PORT);
  if (host && host !== '0.0.0.0') {
    if (tryParseAddress(host)) return host;
    const onIf = locals.filter((l) => l.ifname === host);
    if (onIf.length === 1 && onIf[0]) return onIf[0].address;
    if (onIf.length > 1) {
      throw invalidParameter('swarm.address', `interface ${host} has more than one IPv4 address (${onIf[0]?.address} and ${onIf[1]?.address})`);
    }
    throw invalidParameter('swarm.address', `advertise address must be a non-zero IP address or network interface (with optional port number)`);
  }
  const [first, second] = locals;
  if (!first) throw invalidParameter('swarm.address', 'could not find the system\'s IP address - specify one with --advertise-addr');
  if (second && second.ifname !== first.ifname) {
    throw invalidParameter(
      'swarm.address',
      `could not choose an IP address to advertise since this system has multiple addresses on different interfaces (${first.address} on ${first.ifname} and ${second.address} on ${second.ifname})`,
    );
  }
  return first.address;
}

/** The local address on the same subnet as `remote`, else the automatic choice. */
export function addressToward(remote: string, locals: LocalAddress[]): string {
  for (const l of locals) {
    const net = parsePrefix(`${l.address}/${l.prefixLen}`);
    const r = tryParseAddress(remote);
    if (r && prefixContains(net, r)) return l.address;
  }
  return chooseAdvertiseAddr('', locals);
}
