/**
 * Gathers the audit's facts (facts.ts) in the daemon: networks and containers from the engine's
 * records, bridges and published ports from the firewall manager's state, and the live kernel: the
 * host's addresses and default route, each container's default route, the whole nftables ruleset.
 *
 * Use: `const src = auditSources({...})` once in the daemon; `await collectFacts(src)` and
 * `await liveRuleset()` per audit.
 *
 * Beware: kernel reads act in the daemon's network namespace (the engine host) and, for each running
 * container, in its named namespace (`ip -n`). A container whose namespace vanished meanwhile is
 * audited as having no route.
 */
import type { ContainerRecord, NetworkRecord } from '../engine/index.js';
import type { FirewallState } from '../firewall/index.js';
import { ipJson, listAddrs, nftRulesetJson } from '../kernel/index.js';
import type { AuditContainer, AuditFacts, AuditNetwork, AuditProto, AuditRemote } from './facts.js';

export interface AuditSources {
  prefix: string;
  networks(): NetworkRecord[];
  containers(): ContainerRecord[];
  /** The firewall manager's state (bridges, ICC, published ports as programmed). */
  firewall(): FirewallState;
  /** Endpoints of other engine hosts on overlay networks, as the cluster store tells them. */
  /** The host devices of an overlay network (its bridge and VXLAN device), named by its driver. */
  overlayDevices?(networkId: string): { bridge: string; vxlan: string };
  remoteEndpoints?(): ReadonlyArray<{ networkId: string; node: string; name: string; containerId: string; ipv4?: string }>;
}

const PROTOS = new Set(['tcp', 'udp', 'sctp']);

function toNetwork(n: NetworkRecord, fw: FirewallState, src: AuditSources): AuditNetwork {
  const fwn = fw.networks.find((x) => x.id === n.id);
  const kind = n.driver === 'bridge' ? 'bridge' : n.driver === 'macvlan' ? 'macvlan' : n.driver === 'overlay' ? 'overlay' : 'other';
  const out: AuditNetwork = {
    id: n.id,
    name: n.name,
    driver: n.driver,
    kind,
    internal: n.internal,
    icc: fwn ? fwn.icc : n.options['com.docker.network.bridge.enable_icc'] !== 'false',
    labels: n.labels,
  };
  if (fwn) out.bridge = fwn.bridge;
  if (kind === 'overlay' && src.overlayDevices) {
    // Overlay bridges are not the firewall's: their devices are named by the driver.
    const dev = src.overlayDevices(n.id);
    out.bridge = dev.bridge;
    const vni = Number(n.options['com.docker.network.driver.overlay.vxlanid_list']);
    if (Number.isInteger(vni) && vni > 0) out.vxlan = { ifname: dev.vxlan, vni };
  }
  if (n.ipam.v4?.subnet) out.subnet = n.ipam.v4.subnet;
  if (n.ipam.v4?.gateway) out.gateway = n.ipam.v4.gateway;
  if (kind === 'macvlan') {
    if (n.options.parent) out.parent = n.options.parent;
    out.macvlanMode = n.options.macvlan_mode ?? 'bridge';
    const shim = n.options['redes.macvlan.host_shim'];
    if (shim) out.shim = { ifname: `mvs-${n.id.slice(0, 8)}`, addr: shim };
  }
  return out;
}

function parsePortKey(k: string): { proto: AuditProto; port: number } | undefined {
  const [p, proto = 'tcp'] = k.split('/');
  const port = Number(p);
  return Number.isInteger(port) && PROTOS.has(proto) ? { proto: proto as AuditProto, port } : undefined;
}

function toContainer(c: ContainerRecord, fw: FirewallState): AuditContainer {
  const cfg = c.config as { Labels?: Record<string, string>; ExposedPorts?: Record<string, unknown> };
  const hc = c.hostConfig as { Privileged?: boolean; CapAdd?: string[] | null; Links?: string[] | null };
  const endpoints = Object.values(c.endpoints)
    .filter((e) => c.state.status === 'running' && e.ipv4Address)
    .map((e) => ({ networkId: e.networkId, network: e.networkName, ip: e.ipv4Address, prefixLen: e.ipv4PrefixLen, mac: e.macAddress, ifname: e.ifname, hostIfname: e.hostIfname }))
    .sort((a, b) => a.ifname.localeCompare(b.ifname, 'en', { numeric: true }));
  const ips = new Set(endpoints.map((e) => e.ip));
  const links = (hc.Links ?? []).flatMap((l) => {
    const m = /^\/?([^:]+):\/([^/]+)\/(.+)$/.exec(l);
    return m ? [{ target: m[1] as string, alias: m[3] as string }] : [];
  });
  return {
    id: c.id,
    name: c.name,
    labels: cfg.Labels ?? {},
    image: c.imageRef,
    running: c.state.status === 'running',
    networkMode: c.networkMode,
    netns: c.netns,
    endpoints,
    exposed: Object.keys(cfg.ExposedPorts ?? {}).flatMap((k) => parsePortKey(k) ?? []),
    published: (fw.ports ?? [])
      .filter((p) => p.family === 4 && ips.has(p.containerIp))
      .map((p) => ({ proto: p.proto, containerPort: p.containerPort, hostIp: p.hostIp, hostPort: p.hostPort, containerIp: p.containerIp })),
    links,
    privileged: hc.Privileged === true,
    capAdd: (hc.CapAdd ?? []).map((x) => x.toUpperCase().replace(/^CAP_/, '')),
  };
}

interface RouteJson {
  dst?: string;
  gateway?: string;
  dev?: string;
}

async function defaultRoute(netns?: string): Promise<RouteJson | undefined> {
  try {
    const routes = await ipJson<RouteJson[]>(['-4', 'route', 'show', 'default'], netns);
    return routes.find((r) => r.dst === 'default');
  } catch {
    return undefined;
  }
}

export async function collectFacts(src: AuditSources): Promise<AuditFacts> {
  const fw = src.firewall();
  const networks = src.networks().map((n) => toNetwork(n, fw, src));
  const containers = src.containers().map((c) => toContainer(c, fw));
  await Promise.all(
    containers.map(async (c) => {
      if (!c.running || !c.netns || c.networkMode === 'host') return;
      const r = await defaultRoute(c.netns);
      if (r?.gateway) c.defaultGateway = r.gateway;
    }),
  );
  const addrs = await listAddrs();
  const localAddrs = addrs.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local));
  const route = await defaultRoute();
  const host: AuditFacts['host'] = { localAddrs };
  const up = route?.dev ? addrs.find((l) => l.ifname === route.dev) : undefined;
  const upAddr = up?.addr_info?.find((a) => a.family === 'inet')?.local;
  if (route?.dev && route.gateway && upAddr) host.uplink = { ifname: route.dev, addr: upAddr, gateway: route.gateway };
  const remotes: AuditRemote[] = (src.remoteEndpoints?.() ?? []).flatMap((r) => {
    const n = networks.find((x) => x.id === r.networkId);
    // An address with its prefix length (`10.0.0.3/24`) is stored that way by some records.
    const ip = r.ipv4?.split('/')[0];
    return n && ip ? [{ networkId: r.networkId, network: n.name, containerId: r.containerId, name: r.name, node: r.node, ip }] : [];
  });
  return { prefix: src.prefix, host, networks, containers, ...(remotes.length ? { remotes } : {}) };
}

/** The live ruleset of the daemon's namespace. */
export function liveRuleset(): Promise<unknown> {
  return nftRulesetJson();
}
