/**
 * The facts an audit reasons on: networks, containers and the engine host, as plain data. They are
 * gathered from the engine's records and the live kernel (collect.ts) and fed to pure functions
 * (matrix.ts, exposure.ts, topology.ts), so each of those is tested on fixtures.
 *
 * Use: build an `AuditFacts` (collect.ts in the daemon, by hand in tests).
 *
 * Beware: a network's `kind` decides how traffic is modelled: `bridge` (through the host's netfilter),
 * `macvlan` (past the host, on the parent's segment), `overlay` (a bridge of its own joined to a
 * VXLAN device: modelled like a bridge, with its `vxlan` shown in the topology), `other` (not modelled:
 * its cells say so). IPv4 only. Containers of other engine hosts on a shared overlay network are
 * `remotes`: known from the cluster store only (name, address, host), probed from our side.
 */

export type NetworkKind = 'bridge' | 'macvlan' | 'overlay' | 'other';

export interface AuditNetwork {
  id: string;
  name: string;
  driver: string;
  kind: NetworkKind;
  /** Bridge device in the engine host (bridge and overlay networks). */
  bridge?: string;
  /** Macvlan: the parent link, its mode, and the host shim link and address when one exists. */
  parent?: string;
  macvlanMode?: string;
  shim?: { ifname: string; addr: string };
  /** Overlay: the VXLAN device and its VNI. */
  vxlan?: { ifname: string; vni: number };
  subnet?: string;
  gateway?: string;
  internal: boolean;
  icc: boolean;
  labels: Record<string, string>;
}

export interface AuditEndpoint {
  networkId: string;
  network: string;
  ip: string;
  prefixLen: number;
  mac: string;
  /** Inside the container (eth0...). */
  ifname: string;
  /** Host side of the veth pair ('' for macvlan). */
  hostIfname: string;
}

export type AuditProto = 'tcp' | 'udp' | 'sctp';

export interface AuditPort {
  proto: AuditProto;
  containerPort: number;
  /** As published: 0.0.0.0 for every address, 127.0.0.1, or one host address. */
  hostIp: string;
  hostPort: number;
  /** The container address the port is DNATed to. */
  containerIp: string;
}

export interface AuditContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  image: string;
  running: boolean;
  /** bridge | host | none | container:<id> | a network name. */
  networkMode: string;
  /** Named network namespace ('' for host mode). */
  netns: string;
  endpoints: AuditEndpoint[];
  exposed: Array<{ proto: AuditProto; port: number }>;
  published: AuditPort[];
  /** Legacy links: the target container's name and the alias. */
  links: Array<{ target: string; alias: string }>;
  /** The gateway of the container's live default route; absent when it has none. */
  defaultGateway?: string;
  privileged: boolean;
  capAdd: string[];
}

export interface AuditHost {
  /** The interface of the host's default route, its first IPv4 address and the next hop. */
  uplink?: { ifname: string; addr: string; gateway: string };
  /** Every IPv4 address of the host (fib daddr type local). */
  localAddrs: string[];
}

/** A container of another engine host on an overlay network this host carries. */
export interface AuditRemote {
  networkId: string;
  network: string;
  containerId: string;
  name: string;
  /** The cluster node (engine host) it runs on. */
  node: string;
  ip: string;
}

export interface AuditFacts {
  /** The daemon's instance prefix: our table is `inet <prefix>`, the operators' `inet <prefix>-user`. */
  prefix: string;
  host: AuditHost;
  networks: AuditNetwork[];
  containers: AuditContainer[];
  /** Overlay peers on other hosts (absent outside a cluster). */
  remotes?: AuditRemote[];
}

/** The network of `c` whose subnet holds its default gateway (the way out), if any. */
export function egressEndpoint(facts: AuditFacts, c: AuditContainer): AuditEndpoint | undefined {
  if (!c.defaultGateway) return undefined;
  return c.endpoints.find((e) => facts.networks.find((n) => n.id === e.networkId)?.gateway === c.defaultGateway);
}

export function networkById(facts: AuditFacts, id: string): AuditNetwork | undefined {
  return facts.networks.find((n) => n.id === id);
}
