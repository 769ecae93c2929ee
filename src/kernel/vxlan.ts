/**
 * The data plane of one overlay network on one host: a Linux bridge that the containers' veths join,
 * and a VXLAN device (one VNI, UDP 4789, `nolearning proxy`) enslaved to it, whose forwarding (FDB)
 * and neighbour entries are programmed statically, one per remote container: MAC -> the VTEP
 * address of its host, IP -> MAC. There is no all-zeros FDB entry, so unknown or broadcast frames
 * are never flooded to other hosts; ARP for a remote container is answered by the VXLAN device
 * itself (`proxy`) from its neighbour table.
 *
 * Use: `ensureOverlayLinks({ bridge, vxlan, vni, local, mtu, alias })`, then
 * `programPeers(vxlan, add, del)` as remote endpoints come and go; `removeOverlayLinks`.
 *
 * Beware:
 * - Always say `name X` / `dev X`: `ip link add br ...` parses `br` as `broadcast`.
 * - `local` is the address other hosts send to (the host's LAN address, or its WireGuard tunnel
 *   address for an encrypted network). Never create the VXLAN with `dev <wireguard-if>`: wireguard-go
 *   dies of it (platform notes); the route to the tunnel addresses picks the interface.
 * - Every VXLAN device of a namespace shares one UDP socket on port 4789, demultiplexed by VNI: an
 *   encrypted network's VNI is reachable from the LAN unless the firewall drops it (firewall/).
 */
import { ipBatch, ipJson, type IpCommand, type IpLink } from './ip.js';
import { applyNeighbours, type NeighbourOp } from './neigh-netlink.js';
import { run } from './run.js';

export const VXLAN_PORT = 4789;
/** Bytes VXLAN adds to a frame on an IPv4 underlay: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;

export interface OverlayLinks {
  bridge: string;
  vxlan: string;
  vni: number;
  /** VTEP address of this host (IPv4). */
  local: string;
  mtu: number;
  /** ifalias written on both links: who owns them (restore removes only its own). */
  alias: string;
}

/** One remote container as the data plane needs it. */
export interface OverlayPeer {
  ip: string;
  mac: string;
  /** VTEP address of the host it lives on. */
  vtep: string;
}

interface LinkDetails extends IpLink {
  ifalias?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number; learning?: boolean; proxy?: boolean } };
}

async function link(name: string, netns?: string): Promise<LinkDetails | undefined> {
  const found = await ipJson<LinkDetails[]>(['-details', 'link', 'show', 'dev', name], netns).catch(() => [] as LinkDetails[]);
  return found[0];
}

/** Links of this namespace carrying `alias`. */
export async function listOwnedLinks(alias: string, netns?: string): Promise<LinkDetails[]> {
  const all = await ipJson<LinkDetails[]>(['-details', 'link', 'show'], netns);
  return all.filter((l) => l.ifalias === alias);
}

/**
 * Makes (or keeps) the bridge and the VXLAN device. A VXLAN that exists with another VNI, address or
 * port is re-made; anything of that name that is not ours is an error. `vxlanCreated`: the VXLAN
 * device is new, so it holds no forwarding or neighbour entry yet.
 */
export async function ensureOverlayLinks(spec: OverlayLinks, netns?: string): Promise<{ vxlanCreated: boolean }> {
  const [br, vx] = await Promise.all([link(spec.bridge, netns), link(spec.vxlan, netns)]);
  for (const l of [br, vx]) {
    if (l && l.ifalias !== spec.alias) throw new Error(`interface ${l.ifname} exists and is not an overlay link of ours`);
  }
  const mtu = String(spec.mtu);
  const cmds: IpCommand[] = [];
  if (!br) cmds.push(['link', 'add', 'name', spec.bridge, 'mtu', mtu, 'type', 'bridge']);
  cmds.push(['link', 'set', 'dev', spec.bridge, 'alias', spec.alias]);
  const d = vx?.linkinfo?.info_data;
  const stale = vx && (vx.linkinfo?.info_kind !== 'vxlan' || d?.id !== spec.vni || d?.local !== spec.local || d?.port !== VXLAN_PORT);
  if (stale) cmds.push(['link', 'del', 'dev', spec.vxlan]);
  if (!vx || stale) {
    cmds.push([
      'link', 'add', 'name', spec.vxlan, 'mtu', mtu, 'type', 'vxlan', 'id', String(spec.vni),
      'local', spec.local, 'dstport', String(VXLAN_PORT), 'nolearning', 'proxy',
    ]);
  }
  cmds.push(
    ['link', 'set', 'dev', spec.vxlan, 'alias', spec.alias],
    ['link', 'set', 'dev', spec.vxlan, 'mtu', mtu],
    ['link', 'set', 'dev', spec.bridge, 'mtu', mtu],
    ['link', 'set', 'dev', spec.vxlan, 'master', spec.bridge],
    ['link', 'set', 'dev', spec.vxlan, 'up'],
    ['link', 'set', 'dev', spec.bridge, 'up'],
  );
  try {
    await ipBatch(cmds, netns);
  } catch (e) {
    if (!vx) await ipBatch([['link', 'del', 'dev', spec.vxlan]], netns).catch(() => undefined);
    if (!br) await ipBatch([['link', 'del', 'dev', spec.bridge]], netns).catch(() => undefined);
    throw e;
  }
  return { vxlanCreated: !vx || !!stale };
}

/** Deletes both links (the VXLAN first, which drops its entries); missing ones are fine. */
export async function removeOverlayLinks(names: { bridge: string; vxlan: string }, netns?: string): Promise<void> {
  for (const dev of [names.vxlan, names.bridge]) {
    await ipBatch([['link', 'del', 'dev', dev]], netns).catch(async (e: unknown) => {
      if (await link(dev, netns)) throw e;
    });
  }
}

const SAFE = /^[0-9A-Za-z:.\-_]+$/;
function checkPeer(p: OverlayPeer): void {
  for (const v of [p.ip, p.mac, p.vtep]) if (!SAFE.test(v)) throw new Error(`vxlan: unsafe peer value ${JSON.stringify(v)}`);
}

/**
 * Removes the entries of `del`, then adds those of `add`, each peer's neighbour entry before its
 * forwarding entry, so an address that moved to another MAC or host ends up pointing at the new one.
 * Adding is a `replace` (safe to repeat); a missing entry on delete is fine. Written over rtnetlink
 * (neigh-netlink.ts), not by starting `ip` and `bridge`: that was most of the time a new endpoint
 * took to reach a loaded host.
 */
export function programPeers(vxlan: string, add: readonly OverlayPeer[], del: readonly OverlayPeer[], netns?: string): Promise<void> {
  const ops: NeighbourOp[] = [
    ...del.flatMap((p): NeighbourOp[] => [{ op: 'delete', kind: 'neigh', ip: p.ip, mac: p.mac }, { op: 'delete', kind: 'fdb', mac: p.mac, vtep: p.vtep }]),
    ...add.flatMap((p): NeighbourOp[] => [{ op: 'replace', kind: 'neigh', ip: p.ip, mac: p.mac }, { op: 'replace', kind: 'fdb', mac: p.mac, vtep: p.vtep }]),
  ];
  return new Promise((resolve, reject) => {
    try {
      [...add, ...del].forEach(checkPeer);
      applyNeighbours(vxlan, ops, netns);
      resolve();
    } catch (e) {
      reject(e as Error);
    }
  });
}

interface FdbRow {
  mac: string;
  ifname?: string;
  dst?: string;
  flags?: string[];
  state?: string;
}
interface NeighRow {
  dst: string;
  lladdr?: string;
  state?: string[];
}

/** The static entries of one VXLAN device, joined by MAC: what the kernel actually holds. */
export async function listPeers(vxlan: string, netns?: string): Promise<OverlayPeer[]> {
  const [{ stdout }, neigh] = await Promise.all([
    run(netns ? ['bridge', '-n', netns, '-json', 'fdb', 'show', 'dev', vxlan] : ['bridge', '-json', 'fdb', 'show', 'dev', vxlan]),
    ipJson<NeighRow[]>(['neigh', 'show', 'dev', vxlan, 'nud', 'permanent'], netns),
  ]);
  const fdb = (stdout.trim() ? JSON.parse(stdout) : []) as FdbRow[];
  const vtepOf = new Map(fdb.filter((r) => r.dst && r.state === 'permanent').map((r) => [r.mac, r.dst ?? '']));
  return neigh.flatMap((n) => {
    const vtep = n.lladdr ? vtepOf.get(n.lladdr) : undefined;
    return n.lladdr && vtep ? [{ ip: n.dst, mac: n.lladdr, vtep }] : [];
  });
}
