/**
 * Endpoints: a container's interface on a network. The bridge driver makes a veth pair whose
 * container end is created straight inside the container's network namespace (no rename race in the
 * host namespace), then configures it there in one `ip -n NS -batch`. The container namespaces
 * themselves are the engine's (host/'s ContainerNetnsOps).
 */
import { randomBytes } from 'node:crypto';
import { ipBatch, type IpCommand, CommandError } from '../kernel/index.js';
import { forbidden } from '../util/index.js';
import type { EndpointSpec } from './driver.js';

/** Docker's host-side name: "veth" + 7 hex. */
export function newHostIfname(): string {
  return `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
}

/** Creates the pair, plugs the host end into `bridge`, and configures the container end in `netns`. */
export async function addBridgeEndpoint(bridge: string, netns: string, hostIfname: string, ep: EndpointSpec): Promise<void> {
  const mtu = String(ep.mtu);
  try {
    await ipBatch([
      ['link', 'add', hostIfname, 'mtu', mtu, 'type', 'veth', 'peer', 'name', ep.ifname, 'address', ep.mac, 'mtu', mtu, 'netns', netns],
      ['link', 'set', hostIfname, 'master', bridge, 'up'],
    ]);
  } catch (e) {
    // The pair may exist when plugging it in failed (a full bridge): leave nothing behind.
    await ipBatch([['link', 'del', hostIfname]]).catch(() => undefined);
    throw bridgeFull(e, bridge) ?? e;
  }
  const inside: IpCommand[] = [];
  if (ep.ipv4) inside.push(['addr', 'add', ep.ipv4, 'dev', ep.ifname]);
  if (ep.ipv6) inside.push(['addr', 'add', ep.ipv6, 'dev', ep.ifname, 'nodad']);
  inside.push(['link', 'set', ep.ifname, 'up']);
  if (ep.gatewayV4) inside.push(['route', 'replace', 'default', 'via', ep.gatewayV4, 'dev', ep.ifname]);
  // Batch lines take no options (no `-6`): ip infers the family from the gateway address.
  if (ep.gatewayV6) inside.push(['route', 'replace', 'default', 'via', ep.gatewayV6, 'dev', ep.ifname]);
  try {
    await ipBatch(inside, netns);
  } catch (e) {
    await ipBatch([['link', 'del', hostIfname]]).catch(() => undefined);
    throw e;
  }
}

/**
 * Ports a Linux bridge takes: BR_MAX_PORTS is 1024, but port number 0 is never used, so the 1024th
 * port already fails (measured); the kernel says only "Exchange full" (see bridgeFull).
 */
export const BRIDGE_MAX_PORTS = 1023;

export function bridgeFull(e: unknown, bridge: string): Error | undefined {
  if (!(e instanceof CommandError) || !/exchange full/i.test(e.result.stderr)) return undefined;
  return forbidden('bridge.full', `bridge ${bridge} already has ${BRIDGE_MAX_PORTS} ports, the most a Linux bridge takes: use another network for more containers`);
}

/**
 * Removes an endpoint's interface (a veth pair by its container end, or a macvlan child); a missing
 * link is fine. Unregistering a device waits for the kernel (RCU: about 30 ms a veth here, measured in
 * a batch of 20), so the interface is taken down, stripped of its addresses and renamed to a tombstone
 * `rdel<8 hex>` at once (about 10 ms), which frees its name for the next connect and stops its
 * traffic; the delete itself finishes in the background. A daemon killed in between leaves a down,
 * address-less tombstone in the container's namespace, which goes with that namespace.
 */
export async function delEndpoint(netns: string, ifname: string): Promise<void> {
  const tomb = `rdel${randomBytes(4).toString('hex')}`;
  try {
    await ipBatch([
      ['link', 'set', 'dev', ifname, 'down'],
      ['addr', 'flush', 'dev', ifname],
      ['link', 'set', 'dev', ifname, 'name', tomb],
    ], netns);
  } catch {
    // Missing (already gone) or not renameable: fall back to the plain, slower delete.
    await ipBatch([['link', 'del', ifname]], netns).catch(() => undefined);
    return;
  }
  void ipBatch([['link', 'del', tomb]], netns).catch(() => undefined);
}
