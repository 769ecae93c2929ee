/**
 * The host shim of a macvlan network (`-o redes.macvlan.host_shim=198.51.100.254`): the engine's host
 * cannot reach its macvlan containers through the parent (the kernel never hands a parent's own frames
 * to its macvlan children), so the host gets a macvlan sibling of theirs, `mvs-<8 hex of the network
 * id>`, in bridge mode on the same parent, holding the given address as a /32. Each container address
 * gets a /32 route through the shim while its endpoint exists.
 *
 * Why /32 and per-container routes: a shim address with the subnet's prefix would add a second on-link
 * route for the whole subnet beside the parent's, and one of the two would win for every address of
 * the segment (the gateway and other LAN hosts included). A /32 route per container takes exactly the
 * containers' addresses off the parent, and lets replies pass a strict reverse-path filter.
 *
 * Use: `shimName(id)`, `checkShimAddress` (pure, before anything is made), `ensureShim` (create and
 * restore), `shimRoute` / `shimUnroute` (join and leave), `removeShim`, `removeOrphanShims`.
 * Beware: the engine's IPAM does not know the shim address; reserve it with `--aux-address` (or keep it
 * out of `--ip-range`), else the driver refuses the container that would be given it. A shim re-made
 * by `restore` (someone deleted it) has no container routes until those containers rejoin.
 */
import { ipBatch, ipJson, type IpAddr, type IpCommand, CommandError, ensureSysctl } from '../../kernel/index.js';
import { broadcastAddress, parseAddress, parsePrefix, prefixContains } from '../../ipam/index.js';
import { forbidden, internal, invalidParameter } from '../../util/index.js';
import type { DriverNetwork } from '../driver.js';
import { MACVLAN_OPT } from './options.js';

/** Marks (as the link's ifalias) the shims this driver made; kept apart from the parents' marker. */
export const SHIM_ALIAS = 'redes-macvlan-shim';

/** `mvs-` + 8 hex of the network id: 12 characters, within Linux's 15. */
export function shimName(networkId: string): string {
  return `mvs-${networkId.slice(0, 8)}`;
}

/**
 * The checks that need no I/O: an IPv4 address of the network's subnet that is not the gateway, the
 * subnet's own network or broadcast address, nor another network's shim.
 */
export function checkShimAddress(net: DriverNetwork, shim: string, otherShims: ReadonlyArray<{ network: string; address: string }>): void {
  const opt = MACVLAN_OPT.hostShim;
  if (!net.ipv4) throw invalidParameter('macvlan.shim_no_ipv4', `${opt} needs an IPv4 subnet on the network`);
  const subnet = parsePrefix(net.ipv4.subnet);
  const a = parseAddress(shim);
  if (!prefixContains(subnet, a)) {
    throw invalidParameter('macvlan.shim_outside', `${opt} ${shim} is not in the network's subnet ${net.ipv4.subnet}`);
  }
  if (shim === net.ipv4.gateway) throw invalidParameter('macvlan.shim_gateway', `${opt} ${shim} is the network's gateway`);
  if (a.addr === subnet.network || a.addr === broadcastAddress(subnet)) {
    throw invalidParameter('macvlan.shim_reserved', `${opt} ${shim} is the network or broadcast address of ${net.ipv4.subnet}`);
  }
  const other = otherShims.find((o) => o.address === shim);
  if (other) throw forbidden('macvlan.shim_taken', `${opt} ${shim} is already the host shim of macvlan network ${other.network}`);
}

/**
 * Makes the shim when missing (or checks the one there is ours) and gives it its address; safe to
 * repeat. `inOwnNetns`: the driver acts in the process's own namespace, where /proc/sys is the
 * shim's, so ARP on the shim can be limited to its own address (else it also answers for the parent's
 * addresses, and LAN peers may learn the shim's MAC for them).
 */
export async function ensureShim(o: { name: string; parent: string; address: string; netns?: string; inOwnNetns: boolean }): Promise<void> {
  const [found] = await ipJson<Array<IpAddr & { ifalias?: string; linkinfo?: { info_kind?: string } }>>(['-details', 'addr', 'show', 'dev', o.name], o.netns).catch(() => []);
  if (found && (found.ifalias !== SHIM_ALIAS || found.linkinfo?.info_kind !== 'macvlan')) {
    throw forbidden('macvlan.shim_name_taken', `interface ${o.name} exists and was not made by the macvlan driver`);
  }
  if (!found) {
    const owner = await addressOwner(o.address, o.netns);
    if (owner) throw forbidden('macvlan.shim_in_use', `${MACVLAN_OPT.hostShim} ${o.address} is already an address of the host (on ${owner})`);
  }
  const cmds: IpCommand[] = [];
  if (!found) cmds.push(['link', 'add', 'link', o.parent, 'name', o.name, 'type', 'macvlan', 'mode', 'bridge'], ['link', 'set', 'dev', o.name, 'alias', SHIM_ALIAS]);
  if (!found?.addr_info.some((i) => i.family === 'inet' && i.local === o.address)) cmds.push(['addr', 'replace', `${o.address}/32`, 'dev', o.name]);
  cmds.push(['link', 'set', 'dev', o.name, 'up']);
  try {
    await ipBatch(cmds, o.netns);
    if (o.inOwnNetns) await ensureSysctl(`net/ipv4/conf/${o.name}/arp_ignore`, '1');
  } catch (e) {
    if (!found) await ipBatch([['link', 'del', 'dev', o.name]], o.netns).catch(() => undefined);
    const why = e instanceof CommandError ? e.result.stderr.trim() : e instanceof Error ? e.message : String(e);
    if (/Cannot find device/i.test(why)) {
      throw invalidParameter('macvlan.parent_not_found', `the requested parent interface ${o.parent} was not found on the Docker host`);
    }
    throw internal('macvlan.shim', `failed to create the host shim ${o.name}: ${why}`, e);
  }
}

/** Which host interface already holds `address`, if any. */
async function addressOwner(address: string, netns?: string): Promise<string | undefined> {
  const links = await ipJson<IpAddr[]>(['-4', 'addr', 'show'], netns);
  return links.find((l) => l.addr_info.some((i) => i.local === address))?.ifname;
}

/** The host reaches the container address `ip` through the shim (replaces a stale route of that address). */
export async function shimRoute(name: string, shimAddress: string, ip: string, netns?: string): Promise<void> {
  await ipBatch([['route', 'replace', `${ip}/32`, 'dev', name, 'src', shimAddress]], netns);
}

/** Drops the route of `ip`; a missing route or shim is fine. */
export async function shimUnroute(name: string, ip: string, netns?: string): Promise<void> {
  await ipBatch([['route', 'del', `${ip}/32`, 'dev', name]], netns).catch(() => undefined);
}

/** Deletes the shim (its routes go with it); a missing one, or one not ours, is left alone. */
export async function removeShim(name: string, netns?: string): Promise<void> {
  const [found] = await ipJson<Array<{ ifalias?: string }>>(['-details', 'link', 'show', 'dev', name], netns).catch(() => []);
  if (found?.ifalias !== SHIM_ALIAS) return;
  await ipBatch([['link', 'del', 'dev', name]], netns).catch((e: unknown) => {
    if (!/Cannot find device/i.test(String(e instanceof Error ? e.message : e))) throw e;
  });
}

/** Deletes every shim of ours that no network in `keep` (shim names) owns; returns their names. */
export async function removeOrphanShims(links: ReadonlyArray<{ ifname: string; ifalias?: string }>, keep: ReadonlySet<string>, netns?: string): Promise<string[]> {
  const orphans = links.filter((l) => l.ifalias === SHIM_ALIAS && !keep.has(l.ifname)).map((l) => l.ifname);
  if (orphans.length) await ipBatch(orphans.map((n) => ['link', 'del', 'dev', n]), netns);
  return orphans;
}
