/**
 * Endpoints: a container's interface on a network. The bridge driver makes a veth pair whose
 * container end is created straight inside the container's network namespace (no rename race in the
 * host namespace), then configures it there in one `ip -n NS -batch`.
 */
import { randomBytes } from 'node:crypto';
import { ipBatch, type IpCommand } from '../kernel/ip.js';
import { netnsAdd, netnsDelete, netnsList } from '../kernel/netns.js';
import type { EndpointSpec } from './driver.js';

/** Docker's host-side name: "veth" + 7 hex. */
export function newHostIfname(): string {
  return `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
}

/** Creates the pair, plugs the host end into `bridge`, and configures the container end in `netns`. */
export async function addBridgeEndpoint(bridge: string, netns: string, hostIfname: string, ep: EndpointSpec): Promise<void> {
  const mtu = String(ep.mtu);
  await ipBatch([
    ['link', 'add', hostIfname, 'mtu', mtu, 'type', 'veth', 'peer', 'name', ep.ifname, 'address', ep.mac, 'mtu', mtu, 'netns', netns],
    ['link', 'set', hostIfname, 'master', bridge, 'up'],
  ]);
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

/** Removes an endpoint's pair by its container end; a missing link is fine. */
export async function delEndpoint(netns: string, ifname: string): Promise<void> {
  await ipBatch([['link', 'del', ifname]], netns).catch(() => undefined);
}

/** A container's own network namespace, with `lo` up. */
export async function createSandbox(netns: string): Promise<void> {
  await netnsAdd(netns);
  await ipBatch([['link', 'set', 'lo', 'up']], netns);
}

/** Deleting the namespace frees its veth pairs too (asynchronously, which is the cheap way). */
export async function deleteSandbox(netns: string): Promise<void> {
  await netnsDelete(netns);
}

export async function listSandboxes(prefix: string): Promise<string[]> {
  return (await netnsList()).filter((n) => n.startsWith(prefix));
}
