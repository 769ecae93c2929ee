/**
 * Endpoints: a container's interface on a network. The bridge driver makes a veth pair whose
 * container end is created straight inside the container's network namespace (no rename race in the
 * host namespace), then configures it there, all over netlink (kernel/netlink.ts: a spawned `ip`
 * costs the daemon a fork, and these run on every start, stop, connect and disconnect). The container namespaces
 * themselves are the engine's (host/'s ContainerNetnsOps).
 */
import { randomBytes } from 'node:crypto';
import { addVethPort, CommandError, configureLink, deleteLink, NETLINK_ERRNO, NetlinkError, tombstoneLink } from '../kernel/index.js';
import { forbidden } from '../util/index.js';
import { keepsIpv6, type EndpointSpec } from './driver.js';

/** Docker's host-side name: "veth" + 7 hex. */
export function newHostIfname(): string {
  return `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
}

/**
 * Creates the pair, plugs the host end into `bridge`, and configures the container end in `netns`,
 * over netlink (no process spawned). On failure nothing of the pair is left.
 */
export async function addBridgeEndpoint(bridge: string, netns: string, hostIfname: string, ep: EndpointSpec): Promise<void> {
  try {
    // One request: if plugging into the bridge fails (a full bridge), the kernel removes the pair.
    addVethPort({ hostIfname, bridge, mtu: ep.mtu, peer: { ifname: ep.ifname, mac: ep.mac, netns } });
  } catch (e) {
    throw bridgeFull(e, bridge) ?? e;
  }
  try {
    configureLink(netns, ep.ifname, {
      addresses: [...(ep.ipv4 ? [ep.ipv4] : []), ...(ep.ipv6 ? [ep.ipv6] : [])],
      ipv6: keepsIpv6(ep),
      nodad: true,
      up: true,
      gateways: [...(ep.gatewayV4 ? [ep.gatewayV4] : []), ...(ep.gatewayV6 ? [ep.gatewayV6] : [])],
    });
  } catch (e) {
    await deleteLink(undefined, hostIfname).catch(() => undefined);
    throw e;
  }
}

/**
 * Ports a Linux bridge takes: BR_MAX_PORTS is 1024, but port number 0 is never used, so the 1024th
 * port already fails (measured); the kernel says only "Exchange full" (see bridgeFull).
 */
export const BRIDGE_MAX_PORTS = 1023;

export function bridgeFull(e: unknown, bridge: string): Error | undefined {
  const full = e instanceof NetlinkError ? e.errno === NETLINK_ERRNO.EXFULL : e instanceof CommandError && /exchange full/i.test(e.result.stderr);
  if (!full) return undefined;
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
    tombstoneLink(netns, ifname, tomb);
  } catch {
    // Missing (already gone) or not renameable: fall back to the plain, slower delete.
    await deleteLink(netns, ifname).catch(() => undefined);
    return;
  }
  void deleteLink(netns, tomb).catch(() => undefined);
}
