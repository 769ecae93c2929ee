/**
 * `redes doctor`: does the daemon's state agree with the kernel? Compares the records (containers,
 * networks, address allocations, firewall and DNS state, as the API shows them) with what the kernel
 * holds (namespaces, interfaces and addresses, bridges and host veths, nftables sets and chains,
 * cgroups, rootfs mounts, shims and runc containers, container directories) and lists every
 * difference, each with the safe repair when there is one (doctor-repair.ts applies them).
 *
 * Use: `diagnose(state, kernel)` on two snapshots (doctor-collect.ts makes them); [] = consistent.
 * Pure: no I/O, so the rules are unit-tested on hand-made snapshots.
 *
 * Beware: a snapshot taken while an operation runs sees it half done (a namespace before its
 * container is recorded as running); the daemon takes them only while the engine is idle.
 */
import type { ContainerRecord, NetworkRecord } from '../engine/index.js';
import type { Allocation } from '../store/index.js';
import type { IpAddr, IpLink } from '../kernel/index.js';
import { l2Diffs, wantedGuards, type L2Kernel, type L2State } from './doctor-l2.js';

/** A fix the doctor may apply by itself (nothing a running container depends on is touched). */
export type Repair =
  | { action: 'delete-netns'; netns: string }
  | { action: 'delete-link'; ifname: string }
  | { action: 'reload-firewall' }
  | { action: 'remove-cgroup'; id: string }
  | { action: 'unmount-rootfs'; dir: string }
  | { action: 'kill-container'; id: string }
  | { action: 'kill-shim'; pid: number }
  | { action: 'release-owner'; owner: string }
  | { action: 'reconcile'; containerId: string }
  | { action: 'drop-endpoint'; containerId: string; network: string }
  | { action: 'remove-dir'; dir: string }
  | { action: 'forget-dns'; containerId: string };

export interface Difference {
  /** What kind of object differs: netns, interface, bridge, veth, endpoint, address, nft, cgroup, mount, shim, runc, directory, dns. */
  kind: string;
  /** The object, by the name the kernel or the API gives it. */
  object: string;
  problem: string;
  repair?: Repair;
}

/** The daemon's side: records as the API shows them, and the state the firewall and DNS hold. */
export interface DoctorState {
  prefix: string;
  containersDir: string;
  containers: readonly ContainerRecord[];
  networks: readonly NetworkRecord[];
  allocations: readonly Allocation[];
  /** undefined with --iptables=false. */
  firewall?: { table: string; elements: Record<string, string[]>; chains: Map<string, number>; portOwners: readonly string[]; l2: L2State };
  /** The embedded DNS's records: container id → `networkId address` entries. */
  dns?: ReadonlyMap<string, readonly string[]>;
}

/** The kernel's side, read in the daemon's host namespace. */
export interface KernelView {
  /** Our container namespaces (`<prefix>-c-*`). */
  netns: readonly string[];
  hostLinks: readonly IpLink[];
  /** Interfaces and addresses inside each container namespace that exists. */
  inside: ReadonlyMap<string, readonly IpAddr[]>;
  /** undefined when the daemon does not program nftables. */
  nft?: { tables: ReadonlySet<string>; elements: ReadonlyMap<string, readonly string[]>; chains: ReadonlyMap<string, number>; l2?: L2Kernel };
  /** Container ids with a cgroup under /<prefix>/ in some hierarchy. */
  cgroups: readonly string[];
  /** Mount points below the containers directory. */
  mounts: readonly string[];
  shims: ReadonlyArray<{ pid: number; id: string }>;
  /** Containers runc knows under our root. */
  runc: readonly string[];
  /** Names of the containers directory's entries. */
  dirs: readonly string[];
}

const short = (id: string): string => id.slice(0, 12);
const isOwnNetns = (c: ContainerRecord): boolean => c.state.status === 'running' && !!c.netns && !c.networkMode.startsWith('container:') && c.networkMode !== 'host';
/** Endpoint interfaces and tombstones of deletes cut short (endpoint.ts). */
const ENDPOINT_IF = /^(eth\d+|rdel[0-9a-f]{8})$/;
/** Bridges of ours: the default, user networks' default names, and tombstones of removed ones (bridge driver). */
const OUR_BRIDGE = /^(docker0|br-[0-9a-f]{12}|rdel-[0-9a-f]{8})$/;
const HOST_VETH = /^veth[0-9a-f]{7}$/;

export function bridgeOf(n: NetworkRecord): string | undefined {
  if (n.driver !== 'bridge') return undefined;
  const own = n.driverOptions.own as { bridgeName?: unknown } | undefined;
  return typeof own?.bridgeName === 'string' ? own.bridgeName : undefined;
}

export function diagnose(s: DoctorState, k: KernelView): Difference[] {
  const l2 = s.firewall && k.nft ? l2Diffs(wantedGuards(s.containers, s.networks, (n) => bridgeOf(n) !== undefined || n.driver === 'overlay'), s.firewall.l2, k.nft.l2) : [];
  return [...stateDiffs(s), ...namespaceDiffs(s, k), ...hostLinkDiffs(s, k), ...addressDiffs(s), ...firewallDiffs(s, k), ...l2, ...processDiffs(s, k), ...dnsDiffs(s)];
}

/** The records among themselves: every endpoint on a network that exists. */
function stateDiffs(s: DoctorState): Difference[] {
  const out: Difference[] = [];
  const listed = new Set(s.networks.map((n) => n.id));
  for (const c of s.containers) {
    for (const [name, ep] of Object.entries(c.endpoints)) {
      if (listed.has(ep.networkId)) continue;
      out.push({ kind: 'endpoint', object: `${c.name} on ${name}`, problem: `network ${short(ep.networkId)} does not exist`, repair: { action: 'drop-endpoint', containerId: c.id, network: name } });
    }
  }
  return out;
}

/** Container namespaces, the interfaces and addresses inside them. */
function namespaceDiffs(s: DoctorState, k: KernelView): Difference[] {
  const out: Difference[] = [];
  const own = s.containers.filter(isOwnNetns);
  const want = new Map(own.map((c) => [c.netns, c]));
  const have = new Set(k.netns);
  const busyIds = new Set(s.containers.map((c) => c.netns));
  for (const n of have) {
    if (want.has(n)) continue;
    const owner = busyIds.has(n) ? ' (its container is not running)' : '';
    out.push({ kind: 'netns', object: n, problem: `no running container owns it${owner}`, repair: { action: 'delete-netns', netns: n } });
  }
  for (const [n, c] of want) if (!have.has(n)) out.push({ kind: 'netns', object: n, problem: `missing for running container ${c.name}` });
  for (const [n, c] of want) {
    const links = k.inside.get(n);
    if (!links) continue;
    const haveIf = links.filter((l) => ENDPOINT_IF.test(l.ifname));
    const eps = Object.values(c.endpoints).filter((e) => e.ifname);
    const byName = new Map(haveIf.map((l) => [l.ifname, l]));
    let reconcile = false;
    for (const l of haveIf) {
      if (l.ifname.startsWith('rdel') || eps.some((e) => e.ifname === l.ifname)) continue;
      out.push({ kind: 'interface', object: `${c.name} ${l.ifname}`, problem: 'no endpoint of the container names it' });
      reconcile = true;
    }
    for (const e of eps) {
      const l = byName.get(e.ifname);
      if (!l) {
        out.push({ kind: 'interface', object: `${c.name} ${e.ifname}`, problem: `missing for its endpoint on ${e.networkName}` });
        reconcile = true;
        continue;
      }
      const addrs = (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
      // Link-local IPs asked for (IPAMConfig.LinkLocalIPs) follow the endpoint's address, IPv4 ones as /16.
      const linkLocal = (e.ipamConfig?.linkLocalIps ?? []).filter((ip) => !ip.includes(':')).map((ip) => `${ip}/16`);
      const wantAddr = [...(e.ipv4Address ? [`${e.ipv4Address}/${e.ipv4PrefixLen}`] : []), ...linkLocal];
      if (addrs.join(' ') !== wantAddr.join(' ')) {
        out.push({ kind: 'interface', object: `${c.name} ${e.ifname}`, problem: `holds [${addrs.join(' ')}], its endpoint on ${e.networkName} says [${wantAddr.join(' ')}]` });
      }
    }
    if (reconcile) out.push({ kind: 'interface', object: c.name, problem: 'interfaces and endpoints disagree', repair: { action: 'reconcile', containerId: c.id } });
  }
  return out;
}

/** Bridges and host-side veths in the daemon's namespace. */
function hostLinkDiffs(s: DoctorState, k: KernelView): Difference[] {
  const out: Difference[] = [];
  const bridges = new Map<string, NetworkRecord>();
  for (const n of s.networks) {
    const b = bridgeOf(n);
    if (b) bridges.set(b, n);
  }
  const links = new Map(k.hostLinks.map((l) => [l.ifname, l]));
  for (const l of k.hostLinks) {
    if (l.linkinfo?.info_kind !== 'bridge' || !OUR_BRIDGE.test(l.ifname) || bridges.has(l.ifname)) continue;
    out.push({ kind: 'bridge', object: l.ifname, problem: 'no network owns it', repair: { action: 'delete-link', ifname: l.ifname } });
  }
  for (const [b, n] of bridges) if (!links.has(b)) out.push({ kind: 'bridge', object: b, problem: `missing for network ${n.name}` });
  const hostEnds = new Map<string, ContainerRecord>();
  for (const c of s.containers.filter(isOwnNetns)) for (const e of Object.values(c.endpoints)) if (e.hostIfname) hostEnds.set(e.hostIfname, c);
  for (const l of k.hostLinks) {
    if (l.linkinfo?.info_kind !== 'veth' || !HOST_VETH.test(l.ifname)) continue;
    const c = hostEnds.get(l.ifname);
    if (!c) out.push({ kind: 'veth', object: l.ifname, problem: 'no endpoint of a running container uses it', repair: { action: 'delete-link', ifname: l.ifname } });
    else if (!l.master) out.push({ kind: 'veth', object: l.ifname, problem: `on no bridge (endpoint of ${c.name})` });
  }
  for (const [v, c] of hostEnds) {
    if (!links.has(v) && k.netns.includes(c.netns)) out.push({ kind: 'veth', object: v, problem: `missing for an endpoint of ${c.name}` });
  }
  return out;
}

/** IPAM: every allocation held by an endpoint of a running container, no address twice. */
function addressDiffs(s: DoctorState): Difference[] {
  const out: Difference[] = [];
  const nets = new Set(s.networks.map((n) => n.id));
  const held = new Map<string, { c: ContainerRecord; net: string }>();
  for (const c of s.containers) {
    if (c.state.status !== 'running') continue;
    for (const [name, e] of Object.entries(c.endpoints)) if (e.endpointId) held.set(e.endpointId, { c, net: name });
  }
  const owners = new Set<string>();
  for (const a of s.allocations) {
    if (!nets.has(a.networkId)) {
      out.push({ kind: 'address', object: a.address, problem: `allocated on network ${short(a.networkId)}, which does not exist`, repair: { action: 'release-owner', owner: a.owner } });
    } else if (!held.has(a.owner) && !owners.has(a.owner)) {
      out.push({ kind: 'address', object: a.address, problem: `held by endpoint ${short(a.owner)}, which no running container has`, repair: { action: 'release-owner', owner: a.owner } });
    }
    owners.add(a.owner);
  }
  const allocated = new Set(s.allocations.map((a) => `${a.networkId} ${a.address}`));
  const seen = new Map<string, string>();
  for (const c of s.containers) {
    if (c.state.status !== 'running') continue;
    for (const [name, e] of Object.entries(c.endpoints)) {
      for (const addr of [e.ipv4Address, e.ipv6Address]) {
        if (!addr) continue;
        const key = `${e.networkId} ${addr}`;
        const other = seen.get(key);
        if (other) out.push({ kind: 'address', object: addr, problem: `given twice on ${name}: to ${other} and ${c.name}` });
        seen.set(key, c.name);
        const net = s.networks.find((n) => n.id === e.networkId);
        // Only the engine's own IPAM records its addresses here (overlay ones live in the cluster store).
        if (net && net.scope === 'local' && !allocated.has(key)) out.push({ kind: 'address', object: addr, problem: `used by ${c.name} on ${name} but not allocated` });
      }
    }
  }
  return out;
}

/** Our nftables table: sets and maps hold what the state says; the chains are all there. */
function firewallDiffs(s: DoctorState, k: KernelView): Difference[] {
  if (!s.firewall || !k.nft) return [];
  const out: Difference[] = [];
  const fw = s.firewall;
  const reload: Repair = { action: 'reload-firewall' };
  if (!k.nft.tables.has(`inet ${fw.table}`)) return [{ kind: 'nft', object: `table inet ${fw.table}`, problem: 'missing', repair: reload }];
  const norm = (e: string): string => e.replace(/"/g, '');
  for (const [set, want] of Object.entries(fw.elements)) {
    const have = k.nft.elements.get(set);
    if (!have) {
      out.push({ kind: 'nft', object: `set ${set}`, problem: 'missing', repair: reload });
      continue;
    }
    const w = new Set(want.map(norm));
    const h = new Set(have.map(norm));
    for (const e of h) if (!w.has(e)) out.push({ kind: 'nft', object: `${set} element ${e}`, problem: 'in the kernel, not in the state', repair: reload });
    for (const e of w) if (!h.has(e)) out.push({ kind: 'nft', object: `${set} element ${e}`, problem: 'in the state, missing in the kernel', repair: reload });
  }
  for (const [chain, rules] of fw.chains) {
    const have = k.nft.chains.get(chain);
    if (have === undefined) out.push({ kind: 'nft', object: `chain ${chain}`, problem: 'missing', repair: reload });
    else if (have !== rules) out.push({ kind: 'nft', object: `chain ${chain}`, problem: `holds ${have} rules, the state renders ${rules}`, repair: reload });
  }
  const running = new Set(s.containers.filter((c) => c.state.status === 'running').map((c) => c.id));
  for (const o of fw.portOwners) if (!running.has(o)) out.push({ kind: 'nft', object: `ports of ${short(o)}`, problem: 'published for a container that is not running' });
  return out;
}

/** Cgroups, rootfs mounts, shims, runc containers and directories against the containers. */
function processDiffs(s: DoctorState, k: KernelView): Difference[] {
  const out: Difference[] = [];
  const byId = new Map(s.containers.map((c) => [c.id, c]));
  const running = (id: string): boolean => byId.get(id)?.state.status === 'running';
  const name = (id: string): string => byId.get(id)?.name ?? short(id);
  for (const id of k.cgroups) {
    if (!running(id)) out.push({ kind: 'cgroup', object: `/${s.prefix}/${short(id)}`, problem: `container ${name(id)} is not running`, repair: { action: 'remove-cgroup', id } });
  }
  const rootfs = new Set(k.mounts.filter((m) => m.endsWith('/rootfs')).map((m) => m.slice(s.containersDir.length + 1, -'/rootfs'.length)));
  for (const id of rootfs) if (!running(id)) out.push({ kind: 'mount', object: `${short(id)}/rootfs`, problem: `container ${name(id)} is not running`, repair: { action: 'unmount-rootfs', dir: `${s.containersDir}/${id}` } });
  const shimIds = new Set(k.shims.map((x) => x.id));
  const runc = new Set(k.runc);
  for (const sh of k.shims) if (!running(sh.id)) out.push({ kind: 'shim', object: `pid ${sh.pid}`, problem: `serves container ${name(sh.id)}, which is not running`, repair: byId.has(sh.id) ? { action: 'kill-container', id: sh.id } : { action: 'kill-shim', pid: sh.pid } });
  for (const id of runc) if (!running(id) && !shimIds.has(id)) out.push({ kind: 'runc', object: short(id), problem: `runc holds container ${name(id)}, which is not running`, repair: { action: 'kill-container', id } });
  for (const c of s.containers) {
    if (c.state.status !== 'running') continue;
    if (!shimIds.has(c.id)) out.push({ kind: 'shim', object: c.name, problem: 'running container without its shim' });
    if (!rootfs.has(c.id)) out.push({ kind: 'mount', object: c.name, problem: 'running container without its rootfs mount' });
  }
  for (const d of k.dirs) if (!byId.has(d)) out.push({ kind: 'directory', object: short(d), problem: 'no container owns it', repair: { action: 'remove-dir', dir: `${s.containersDir}/${d}` } });
  return out;
}

/** The embedded DNS answers for running containers' user-network endpoints, and for nothing else of ours. */
function dnsDiffs(s: DoctorState): Difference[] {
  if (!s.dns) return [];
  const out: Difference[] = [];
  const nets = new Map(s.networks.map((n) => [n.id, n]));
  for (const c of s.containers) {
    const want: string[] = [];
    if (c.state.status === 'running') {
      for (const e of Object.values(c.endpoints)) {
        const n = nets.get(e.networkId);
        if (!n || n.predefined || n.driverOptions.attach !== 'interface') continue;
        if (e.ipv4Address) want.push(`${e.networkId} ${e.ipv4Address}`);
      }
    }
    const have = [...(s.dns.get(c.id) ?? [])];
    const w = want.sort().join(', ');
    const h = have.sort().join(', ');
    if (w === h) continue;
    // Names of a container that is not running are safe to forget; a running one's are reported.
    out.push({ kind: 'dns', object: c.name, problem: `records [${h}], endpoints [${w}]`, ...(c.state.status === 'running' ? {} : { repair: { action: 'forget-dns', containerId: c.id } as const }) });
  }
  return out;
}

/** One line per difference, as `redes doctor` prints them. */
export function renderDifferences(diffs: readonly Difference[]): string {
  return diffs.map((d) => `${d.kind} ${d.object}: ${d.problem}${d.repair ? ` [repair: ${d.repair.action}]` : ''}`).join('\n');
}
