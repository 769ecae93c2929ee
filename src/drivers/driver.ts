/**
 * The network driver interface: one small set of calls per lifecycle step, each with one typed input.
 * The engine parses a request's options with `parseOptions` (once; the typed result is stored with the
 * network) and runs `checkCreate` before anything touches the kernel, then calls `createNetwork`;
 * `deleteNetwork` undoes it. `restore` runs once at daemon start with every network the store knows,
 * recreating what is missing and removing what no network owns. Containers join and leave through
 * `joinEndpoint`/`leaveEndpoint`, with addresses taken from `allocator` first.
 *
 * Use: a driver is a folder beside bridge/ and macvlan/ whose class implements `NetworkDriver<Own>`;
 * the engine asks only the members below and never names a driver.
 *
 * Beware: a `global` driver's networks are shared by several engine hosts through the cluster store;
 * its join/leave may program other hosts (by publishing endpoint records they watch), and its
 * `allocator` hands out addresses cluster-wide. Everything the engine asks must be answered by
 * `parseOptions`'s result or a member here: no optional methods, no name checks.
 */

/** Where a driver's networks live: this engine host only, or every host of a cluster (cluster store). */
export type DriverScope = 'local' | 'global';

/** What a container gets on a network: an interface of its own, the engine host's namespace, or only `lo`. */
export type Attachment = 'interface' | 'host' | 'none';

/**
 * A network's driver options, parsed once by `parseOptions` and stored with the network (JSON). The
 * common members answer the engine's questions; `own` is the driver's typed options.
 */
export interface NetworkOptions<Own = unknown> {
  /** What a container gets on the network (the same for every network of a driver). */
  attach: Attachment;
  /** Containers of the network reach each other directly; false: only what legacy links open (ICC off). */
  icc: boolean;
  /** Host IP a published port binds to when `-p` names none; undefined: the network publishes no ports. */
  publishHostIp?: string;
  /**
   * The network gives its containers no way out of the host (overlay): the engine also puts each of
   * them on the host's gateway bridge, `docker_gwbridge`, for outbound NAT and published ports, as
   * Docker does. Absent: false.
   */
  gatewayBridge?: boolean;
  /**
   * The host routes the network's subnet itself (a bridge holding the gateway in the host): an
   * explicit subnet must then not overlap the host's own networks. Absent: false.
   */
  hostRouted?: boolean;
  /** Addresses of the subnet the driver keeps for itself, by name: the engine reserves them like `--aux-address`. */
  reserved: Record<string, string>;
  /** The driver's own options (say, the bridge's device name and MTU); the engine never reads them. */
  own: Own;
}

/** One address pool of a network, as IPAM planned it. */
export interface DriverPool {
  subnet: string;
  gateway: string;
  ipRange?: string;
  auxAddresses: Record<string, string>;
}

/** What a driver is told about a network (the engine's record, reduced to what drivers need). */
export interface DriverNetwork<Own = unknown> {
  id: string;
  name: string;
  internal: boolean;
  enableIPv4: boolean;
  enableIPv6: boolean;
  /** The typed options `parseOptions` returned when the network was made. */
  options: NetworkOptions<Own>;
  ipv4?: DriverPool;
  ipv6?: DriverPool;
}

/** A container's endpoint on a network, addresses already allocated, as a driver joins it. */
export interface EndpointSpec {
  /** Endpoint id (64 hex): a global driver keys its published endpoint record by it. */
  id: string;
  /** The container's name and network-scoped aliases (what other hosts' DNS answers). */
  container: { id: string; name: string; aliases: readonly string[] };
  /** Interface name inside the container (eth0, eth1, ...). */
  ifname: string;
  mac: string;
  /** "10.1.1.2/24", or undefined. */
  ipv4?: string;
  ipv6?: string;
  /** Default route via this gateway (only for the container's gateway endpoint). */
  gatewayV4?: string;
  gatewayV6?: string;
  /** The engine's default; a driver may use its own network MTU instead. */
  mtu: number;
  /**
   * A link-local IPv6 address will be added after the join (`IPAMConfig.LinkLocalIPs`): the
   * interface keeps IPv6 on even without `ipv6`. See `keepsIpv6`.
   */
  linkLocalV6?: boolean;
}

/**
 * Whether an endpoint's interface keeps IPv6: only with an IPv6 address to carry. Otherwise a driver
 * turns IPv6 off on it before it goes up, as Docker does since Engine 26.1: no link-local address,
 * no multicast groups, so nothing to poison by NDP and no DAD/MLD chatter flooded across the bridge.
 */
export function keepsIpv6(ep: Pick<EndpointSpec, 'ipv6' | 'linkLocalV6'>): boolean {
  return !!ep.ipv6 || !!ep.linkLocalV6;
}

/** The endpoint `leaveEndpoint` removes. */
export interface EndpointRef {
  id: string;
  ifname: string;
}

/** An endpoint of a running container that a driver could not keep (at `restore`, or reported later through `reportLost`). */
export interface LostEndpoint {
  networkId: string;
  endpointId: string;
  /** Why, for the daemon's log: "address 10.0.0.5 was claimed by another host while this engine was away". */
  reason: string;
}

/** Addresses an endpoint asks for (`--ip`, `--ip6`); absent: any free one. */
export interface AddressRequest {
  ipv4?: string;
  ipv6?: string;
}

/** Hands out endpoint addresses of a network (libnetwork's driver/IPAM split). */
export interface AddressAllocator {
  /** Takes addresses for `endpointId` (the requested ones, else free ones); throws Docker's text when taken or full. */
  allocate(net: DriverNetwork, endpointId: string, want: AddressRequest): Promise<{ ipv4?: string; ipv6?: string }>;
  /** Frees what `endpointId` holds on the network; holding nothing is fine (delete may run twice). */
  release(net: DriverNetwork, endpointId: string): Promise<void>;
}

export interface NetworkDriver<Own = unknown> {
  /** The `--driver` name it serves. */
  readonly name: string;
  /** `local`: state on this host only; `global`: shared by the cluster's hosts through the cluster store. */
  readonly scope: DriverScope;
  /** Endpoint addresses: `local` is the engine's IPAM in its own store; a global driver gives its cluster-wide allocator. */
  readonly allocator: 'local' | AddressAllocator;
  /** Checks `-o` options and returns what inspect shows plus the typed options to store; Docker's texts; no I/O. */
  parseOptions(raw: Readonly<Record<string, string>>, ctx: { id: string; predefined: boolean }): { shown: Record<string, string>; options: NetworkOptions<Own> };
  /** How many address pools per family the request holds, once IPAM validated them (before any kernel change); Docker's texts; no I/O. */
  checkPools(count: { v4: number; v6: number }): void;
  /** Checks the request against the driver's existing networks (e.g. one `host` network only); no I/O. */
  checkCreate(net: DriverNetwork<Own>, existing: readonly DriverNetwork<Own>[]): void;
  /**
   * Checks what only the host can tell (programs, kernel features) before anything of the network is
   * recorded or claimed, so a create that cannot succeed here leaves nothing behind, even briefly.
   */
  precheckCreate?(net: DriverNetwork<Own>): Promise<void>;
  /** Creates the network's objects (kernel; cluster records for a global driver); on failure undoes them, then throws. */
  createNetwork(net: DriverNetwork<Own>): Promise<void>;
  /** Removes what createNetwork made; missing objects are not an error. */
  deleteNetwork(net: DriverNetwork<Own>): Promise<void>;
  /**
   * Daemon start: make the kernel match `nets` (all networks of this driver), removing orphans of ours.
   * Returns the endpoints of running containers the driver cannot keep (a global driver: another host
   * took one of their addresses while this engine was away); the engine disconnects them.
   */
  restore(nets: readonly DriverNetwork<Own>[]): Promise<LostEndpoint[]>;
  /**
   * Where a global driver reports endpoints it loses while the engine runs (this host's lease was
   * lost and another host took one of their addresses meanwhile); the engine disconnects them as it
   * does those `restore` returns. Given once, at the engine's init.
   */
  reportLost?(sink: (lost: LostEndpoint[]) => Promise<void>): void;
  /** Gives the container in namespace `netns` its interface (and, global, tells other hosts); returns the host-side name ('' if none); on failure leaves nothing. */
  joinEndpoint(net: DriverNetwork<Own>, netns: string, ep: EndpointSpec): Promise<{ hostIfname: string }>;
  /** Undoes joinEndpoint (here and on other hosts); a missing interface, namespace or record is fine. */
  leaveEndpoint(net: DriverNetwork<Own>, netns: string, ep: EndpointRef): Promise<void>;
  /**
   * Daemon start, after crash recovery: forget what the driver keeps per endpoint (e.g. layer-2
   * guards) for endpoints not in `live` (the endpoints of running containers). A start cut short
   * leaves such state for an endpoint no record names; only the engine knows which ones live.
   */
  retainEndpoints?(live: ReadonlySet<string>): Promise<void>;
}
