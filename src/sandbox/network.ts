/**
 * The namespaces and links of a sandbox (see layout.ts for the picture), made by `ensure...` steps
 * that are safe to repeat: each creates what is missing and re-applies addresses and routes.
 *
 * Beware: every `ip` here names its namespace (`ip -n`), so nothing touches the caller's (root)
 * namespace. A veth pair lives or dies whole; if only one end is found (someone deleted a link by
 * hand), it is deleted and the pair made again.
 */
import { ipBatch as kernelIpBatch, listLinks, netnsAdd, netnsDelete, netnsId } from '../kernel/index.js';
import {
  HOST_ADDR,
  HOST_IF,
  HOST_LAN_ADDR,
  HOST_LAN_IF,
  LAN_ADDR,
  LAN_BRIDGE,
  LAN_PORT_IF,
  LAN_PREFIX_LEN,
  UPLINK_PREFIX_LEN,
  WORLD_ADDR,
  WORLD_IF,
  type SandboxPaths,
  type SharedSegments,
} from './layout.js';

/** Make namespace `name` unless a live one exists; returns true when it was (re)made. */
export async function ensureNetns(name: string): Promise<boolean> {
  if (await netnsId(name)) return false;
  await netnsDelete(name); // clears a broken file left by an interrupted add
  await netnsAdd(name);
  return true;
}

async function linkNames(netns: string): Promise<Set<string>> {
  return new Set((await listLinks(netns)).map((l) => l.ifname));
}

/** Run ip commands (one per line, words split on spaces: our own fixed texts) in namespace `netns`. */
function ipBatch(netns: string, lines: string[]): Promise<void> {
  return kernelIpBatch(lines.map((l) => l.split(' ').filter(Boolean)), netns);
}

/**
 * Make the veth pair `aIf` (in netns a) <-> `bIf` (in netns b) unless both ends exist.
 * Created from side a: `ip -n a link add ... peer ... netns b` opens b by path, which is safe
 * (only `ip netns add` must not run under `ip -n`).
 */
async function ensureVeth(a: string, aIf: string, b: string, bIf: string): Promise<void> {
  const [aHas, bHas] = [(await linkNames(a)).has(aIf), (await linkNames(b)).has(bIf)];
  if (aHas && bHas) return;
  if (aHas) await kernelIpBatch([['link', 'del', aIf]], a);
  if (bHas) await kernelIpBatch([['link', 'del', bIf]], b);
  await kernelIpBatch([['link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b]], a);
}

/** The engine host `N` and the world `N-world`, joined by the uplink, with addresses and route. */
export async function ensureUplink(p: SandboxPaths, shared?: SharedSegments): Promise<void> {
  if (shared) {
    await ensureSharedBridge(shared.worldNetns, WORLD_ADDR);
    await ensureVeth(p.hostNetns, HOST_IF, shared.worldNetns, shared.port);
    await ipBatch(shared.worldNetns, [`link set ${shared.port} master ${LAN_BRIDGE}`, `link set ${shared.port} up`]);
  } else {
    await ensureVeth(p.hostNetns, HOST_IF, p.worldNetns, WORLD_IF);
    // World side first, so the host's link has carrier when its default route goes in.
    await ipBatch(p.worldNetns, [
      'link set lo up',
      `address replace ${WORLD_ADDR}/${UPLINK_PREFIX_LEN} dev ${WORLD_IF}`,
      `link set ${WORLD_IF} up`,
    ]);
  }
  await ipBatch(p.hostNetns, [
    'link set lo up',
    `address replace ${shared?.worldAddr ?? HOST_ADDR}/${UPLINK_PREFIX_LEN} dev ${HOST_IF}`,
    `link set ${HOST_IF} up`,
    `route replace default via ${WORLD_ADDR} dev ${HOST_IF}`,
  ]);
}

/**
 * A namespace of several hosts (a lab's world or lan): bridge `br0` holding `addr`, made unless
 * present. The hosts' veth ends are its ports.
 */
export async function ensureSharedBridge(netns: string, addr: string): Promise<void> {
  await ensureNetns(netns);
  const lines = ['link set lo up'];
  if (!(await linkNames(netns)).has(LAN_BRIDGE)) lines.push(`link add ${LAN_BRIDGE} type bridge`);
  lines.push(`address replace ${addr}/${LAN_PREFIX_LEN} dev ${LAN_BRIDGE}`, `link set ${LAN_BRIDGE} up`);
  await ipBatch(netns, lines);
}

/**
 * The lan `N-lan`: a bridge holding the address 198.51.100.1, with the host's `eth1` on a bridge
 * port, so macvlan children of the host's eth1 (each with its own MAC) reach it and each other.
 */
export async function ensureLan(p: SandboxPaths, shared?: SharedSegments): Promise<void> {
  if (shared) {
    await ensureSharedBridge(shared.lanNetns, LAN_ADDR);
    await ensureVeth(p.hostNetns, HOST_LAN_IF, shared.lanNetns, shared.port);
    await ipBatch(shared.lanNetns, [`link set ${shared.port} master ${LAN_BRIDGE}`, `link set ${shared.port} up`]);
    await ipBatch(p.hostNetns, [
      `address replace ${shared.lanAddr}/${LAN_PREFIX_LEN} dev ${HOST_LAN_IF}`,
      `link set ${HOST_LAN_IF} up`,
    ]);
    return;
  }
  await ensureVeth(p.hostNetns, HOST_LAN_IF, p.lanNetns, LAN_PORT_IF);
  const lines = ['link set lo up'];
  if (!(await linkNames(p.lanNetns)).has(LAN_BRIDGE)) lines.push(`link add ${LAN_BRIDGE} type bridge`);
  lines.push(
    `link set ${LAN_PORT_IF} master ${LAN_BRIDGE}`,
    `address replace ${LAN_ADDR}/${LAN_PREFIX_LEN} dev ${LAN_BRIDGE}`,
    `link set ${LAN_BRIDGE} up`,
    `link set ${LAN_PORT_IF} up`,
  );
  await ipBatch(p.lanNetns, lines);
  await ipBatch(p.hostNetns, [
    `address replace ${HOST_LAN_ADDR}/${LAN_PREFIX_LEN} dev ${HOST_LAN_IF}`,
    `link set ${HOST_LAN_IF} up`,
  ]);
}
