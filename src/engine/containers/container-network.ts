/**
 * Container ↔ network plumbing: choosing addresses (IPAM, persisted with their owner in one
 * transaction), creating and removing a container's namespace, and joining/leaving networks through
 * the network's driver. Used by the container controller for start, stop, connect and disconnect.
 */
import { isIP } from 'node:net';
import type { Store } from '../../store/index.js';
import { checkAttachable, type AddressAllocator, type NetworkDriver } from '../../drivers/index.js';
import type { ContainerNetnsOps } from '../../host/index.js';
import { macFromIPv4, randomMac } from '../../ipam/index.js';
import { forbidden, invalidParameter, notFound, logger, newId } from '../../util/index.js';
import type { NetworkController } from '../networks/network-controller.js';
import { toDriverNetwork } from '../networks/network-controller.js';
import type { NetworkRecord } from '../networks/network-record.js';
import type { ContainerRecord, EndpointRecord } from './container-types.js';
import type { EndpointRequest } from './container-config.js';
import { endpointExtras, endpointExtrasProblems } from './endpoint-extras.js';
import { LocalAddresses } from '../networks/local-addresses.js';
import { GATEWAY_NETWORK, GatewayBridge, gatewayKey, needsGateway, usesGatewayBridge } from './gateway-bridge.js';

/** The fields of an endpoint that exist only while it is plugged in (a running container's). */
const UNPLUGGED = {
  endpointId: '',
  ipv4Address: '',
  ipv4PrefixLen: 0,
  ipv4Gateway: '',
  ipv6Address: '',
  ipv6PrefixLen: 0,
  ipv6Gateway: '',
  ifname: '',
  hostIfname: '',
} as const;

const log = logger.child({ component: 'container-network' });

const plen = (cidr: string): number => Number(cidr.split('/')[1]);

/** The names a container's endpoints answer to (DNSNames). */
export function identityOf(rec: ContainerRecord): DnsIdentity {
  return { id: rec.id, name: rec.name, hostname: String(rec.config.Hostname ?? '') };
}

/** What names a container answers to on a network. */
export interface DnsIdentity {
  id: string;
  name: string;
  hostname: string;
}

/**
 * Docker's DNSNames of an endpoint: name, aliases, short id, hostname, without repeats; none on the
 * predefined networks, where the embedded DNS does not serve.
 */
export function dnsNames(net: NetworkRecord, aliases: readonly string[], c: DnsIdentity): string[] {
  if (net.predefined) return [];
  return [...new Set([c.name, ...aliases, c.id.slice(0, 12), ...(c.hostname ? [c.hostname] : [])])];
}

export class ContainerNetworking {
  private readonly local: LocalAddresses;
  private readonly gateway: GatewayBridge;

  constructor(
    store: Store,
    private readonly networks: NetworkController,
    private readonly drivers: ReadonlyMap<string, NetworkDriver>,
    private readonly netns: ContainerNetnsOps,
  ) {
    this.local = new LocalAddresses(store);
    this.gateway = new GatewayBridge(networks);
  }

  /**
   * The gateway bridge network if a container with these endpoints (plus `extra`, a network it is
   * being connected to) needs or may need one, made now if missing; undefined otherwise. Call it
   * before holding the container's networks: making the network takes the controller's lock.
   */
  async gatewayNetworkFor(endpoints: Readonly<Record<string, EndpointRecord>>, extra?: NetworkRecord): Promise<NetworkRecord | undefined> {
    const nets = [...Object.values(endpoints).map((e) => this.networks.get(e.networkId)), extra];
    if (!nets.some((n) => usesGatewayBridge(n) && !n?.internal)) return undefined;
    return this.gateway.ensure();
  }

  /**
   * Checks a request to put a container on `net` (Docker's rules for the default bridge). Docker
   * words the error by where it comes from: `invalid endpoint settings:` on connect, with
   * `invalid config for network X: ` in front of it on create (`context`).
   */
  checkEndpointRequest(net: NetworkRecord, req: EndpointRequest, context: 'create' | 'connect'): void {
    // Swarm networks take standalone containers only when made with --attachable (Docker's text);
    // a --cluster-store engine's `global` networks take any container, as Docker's did.
    if (net.scope === 'swarm') checkAttachable(net);
    const problems: string[] = [];
    if (net.predefined && (req.ipv4Address || req.ipv6Address)) problems.push('user specified IP address is supported on user defined networks only');
    if (net.predefined && req.aliases.length > 0) problems.push('network-scoped alias is supported only for containers in user defined networks');
    problems.push(...endpointExtrasProblems(req));
    if (problems.length === 0) return;
    const settings = `invalid endpoint settings:\n${problems.join('\n')}`;
    throw invalidParameter('container.endpoint_settings', context === 'create' ? `invalid config for network ${net.name}: ${settings}` : settings);
  }

  /** An endpoint record with nothing allocated yet (what a created container shows). */
  blankEndpoint(net: NetworkRecord, req: EndpointRequest): EndpointRecord {
    return {
      networkId: net.id,
      networkName: net.name,
      ipamConfig: {
        ...(req.ipv4Address ? { ipv4Address: req.ipv4Address } : {}),
        ...(req.ipv6Address ? { ipv6Address: req.ipv6Address } : {}),
        ...(req.linkLocalIps ? { linkLocalIps: req.linkLocalIps } : {}),
      },
      aliases: req.aliases,
      links: req.links,
      ...(req.driverOpts ? { driverOpts: req.driverOpts } : {}),
      ...(req.macAddress ? { requestedMac: req.macAddress } : {}),
      ...UNPLUGGED,
      macAddress: req.macAddress ?? '',
      dnsNames: [],
    };
  }

  /**
   * Gives a container with a namespace of its own that namespace and its endpoints, in order (eth0
   * carries the default route; host/none networks get no interface). On failure it undoes itself.
   */
  async plugIn(rec: ContainerRecord, mark?: (phase: string) => void): Promise<void> {
    await this.netns.create(rec.netns);
    mark?.('netns');
    try {
      // A container only on networks without a way out also joins the gateway bridge (last, so ethN+1).
      if (needsGateway(rec.endpoints, (id) => this.networks.get(id))) rec.endpoints[GATEWAY_NETWORK] = this.gatewayEndpoint();
      const route = this.routeEndpoint(rec.endpoints);
      let i = 0;
      for (const [name, ep] of Object.entries(rec.endpoints)) {
        const net = this.networks.get(ep.networkId);
        if (!net) throw notFound('network.not_found', `network ${name} not found`);
        if (net.driverOptions.attach !== 'interface') {
          rec.endpoints[name] = { ...ep, endpointId: newId() };
          continue;
        }
        rec.endpoints[name] = await this.join(ep, rec.netns, `eth${i}`, name === route, identityOf(rec), mark);
        i++;
      }
    } catch (e) {
      await this.unplug(rec);
      throw e;
    }
  }

  /** Undoes plugIn: every endpoint left (addresses released), then the namespace deleted. */
  async unplug(rec: ContainerRecord): Promise<void> {
    for (const [n, ep] of Object.entries(rec.endpoints)) rec.endpoints[n] = await this.leave(ep, rec.netns);
    const gw = gatewayKey(rec.endpoints);
    if (gw) delete rec.endpoints[gw];
    await this.netns.delete(rec.netns).catch((e: unknown) => log.warn({ err: e, netns: rec.netns }, 'netns delete failed'));
  }

  /**
   * Allocates addresses and plugs the container into the network. `ifname` is eth0, eth1, ...;
   * `gateway` says whether this endpoint carries the default route; `mark` times its steps (a start's phase clock).
   */
  async join(ep: EndpointRecord, netns: string, ifname: string, gateway: boolean, container: DnsIdentity, mark?: (phase: string) => void): Promise<EndpointRecord> {
    const net = this.networks.get(ep.networkId);
    if (!net) throw forbidden('network.gone', `network ${ep.networkName} not found`);
    const endpointId = newId();
    const driver = this.driverOf(net);
    const dn = toDriverNetwork(net);
    const allocator = this.allocatorOf(driver);
    const want = { ...(ep.ipamConfig.ipv4Address ? { ipv4: ep.ipamConfig.ipv4Address } : {}), ...(ep.ipamConfig.ipv6Address ? { ipv6: ep.ipamConfig.ipv6Address } : {}) };
    const { ipv4: v4, ipv6: v6 } = await allocator.allocate(dn, endpointId, want);
    mark?.('ipam');
    const mac = ep.requestedMac || (v4 ? macFromIPv4(v4) : randomMac());
    const joined: EndpointRecord = {
      ...ep,
      endpointId,
      macAddress: mac,
      ipv4Address: v4 ?? '',
      ipv4PrefixLen: v4 && net.ipam.v4 ? plen(net.ipam.v4.subnet) : 0,
      ipv4Gateway: v4 && net.ipam.v4 ? net.ipam.v4.gateway : '',
      ipv6Address: v6 ?? '',
      ipv6PrefixLen: v6 && net.ipam.v6 ? plen(net.ipam.v6.subnet) : 0,
      ipv6Gateway: v6 && net.ipam.v6 ? net.ipam.v6.gateway : '',
      ifname,
    };
    try {
      const { hostIfname } = await driver.joinEndpoint(dn, netns, {
        id: endpointId,
        container: { id: container.id, name: container.name, aliases: ep.aliases },
        ifname,
        mac,
        mtu: 1500,
        ...((ep.ipamConfig.linkLocalIps ?? []).some((ip) => isIP(ip) === 6) ? { linkLocalV6: true } : {}),
        ...(v4 ? { ipv4: `${v4}/${joined.ipv4PrefixLen}` } : {}),
        ...(v6 ? { ipv6: `${v6}/${joined.ipv6PrefixLen}` } : {}),
        ...(gateway && v4 && !net.internal ? { gatewayV4: joined.ipv4Gateway } : {}),
        ...(gateway && v6 && !net.internal ? { gatewayV6: joined.ipv6Gateway } : {}),
      });
      mark?.('join');
      const extra = endpointExtras(ep, ifname);
      if (extra.addresses.length || extra.sysctls.length) {
        await this.netns.configureInterface(netns, ifname, extra).catch(async (e: unknown) => {
          await driver.leaveEndpoint(dn, netns, { id: endpointId, ifname }).catch(() => undefined);
          throw e;
        });
      }
      return { ...joined, hostIfname, dnsNames: ep.sandboxGateway ? [] : dnsNames(net, ep.aliases, container) };
    } catch (e) {
      await allocator.release(dn, endpointId);
      throw e;
    }
  }

  /** Unplugs and releases addresses; returns the endpoint as a created container shows it. */
  async leave(ep: EndpointRecord, netns: string): Promise<EndpointRecord> {
    const net = this.networks.get(ep.networkId);
    const driver = net ? this.drivers.get(net.driver) : undefined;
    const dn = net ? toDriverNetwork(net) : undefined;
    if (driver && dn && ep.ifname) {
      await driver.leaveEndpoint(dn, netns, { id: ep.endpointId, ifname: ep.ifname }).catch((e: unknown) => log.warn({ err: e, endpoint: ep.endpointId }, 'leaving the network failed'));
    }
    // An endpoint whose network is gone (left by a crash or an older daemon): its interface still goes.
    else if (ep.ifname) await this.netns.deleteInterface(netns, ep.ifname).catch(() => undefined);
    // With the network (or its driver) gone, whatever the engine's own IPAM holds is still freed.
    if (ep.endpointId) {
      if (driver && dn) await this.allocatorOf(driver).release(dn, ep.endpointId);
      else await this.local.release(undefined, ep.endpointId);
    }
    return { ...ep, ...UNPLUGGED, macAddress: ep.requestedMac ?? '' };
  }

  /**
   * A running container's gateway endpoint after its networks changed (`extra`: a network being
   * connected, not joined yet): removed when no longer needed; with `add`, joined when needed and
   * missing (the gateway network must exist: `gatewayNetworkFor`).
   */
  async syncGateway(rec: ContainerRecord, opts: { add: boolean; extra?: EndpointRecord }): Promise<void> {
    const key = gatewayKey(rec.endpoints);
    const eps = opts.extra ? { ...rec.endpoints, [opts.extra.networkName]: opts.extra } : rec.endpoints;
    const need = needsGateway(eps, (id) => this.networks.get(id));
    if (key && !need) {
      await this.leave(rec.endpoints[key] as EndpointRecord, rec.netns);
      delete rec.endpoints[key];
    } else if (!key && need && opts.add) {
      rec.endpoints[GATEWAY_NETWORK] = await this.join(this.gatewayEndpoint(), rec.netns, this.nextIfname(rec), true, identityOf(rec));
    }
  }

  /** Whether one of a running container's interfaces carries its default route already. */
  hasRoute(rec: ContainerRecord): boolean {
    return Object.values(rec.endpoints).some((e) => e.ifname && !usesGatewayBridge(this.networks.get(e.networkId)));
  }

  /** The first interface name (eth0, eth1, ...) the container does not use. */
  nextIfname(rec: ContainerRecord): string {
    const used = new Set(Object.values(rec.endpoints).map((e) => e.ifname));
    let i = 0;
    while (used.has(`eth${i}`)) i++;
    return `eth${i}`;
  }

  /** The blank gateway endpoint (the network exists: made by `gatewayNetworkFor` before). */
  private gatewayEndpoint(): EndpointRecord {
    const gw = this.gateway.find();
    if (!gw) throw forbidden('network.gone', `network ${GATEWAY_NETWORK} not found`);
    return { ...this.blankEndpoint(gw, { aliases: [], links: [] }), sandboxGateway: true };
  }

  /** The endpoint that carries the default route: the first with an interface on a network with a way out. */
  private routeEndpoint(endpoints: Readonly<Record<string, EndpointRecord>>): string | undefined {
    return Object.entries(endpoints).find(([, ep]) => {
      const net = this.networks.get(ep.networkId);
      return net?.driverOptions.attach === 'interface' && !usesGatewayBridge(net);
    })?.[0];
  }

  /**
   * After a crash, makes a running container's namespace match its record: interfaces no endpoint
   * names go (a connect cut short), and endpoints whose interface is gone are dropped (a disconnect
   * cut short; their addresses are released). Returns what it changed.
   */
  async reconcile(rec: ContainerRecord, listed?: readonly string[]): Promise<string[]> {
    const changed: string[] = [];
    const present = new Set(listed ?? (await this.interfacesOf(rec)));
    const wanted = new Set(Object.values(rec.endpoints).map((e) => e.ifname).filter(Boolean));
    for (const name of present) {
      if (wanted.has(name)) continue;
      await this.netns.deleteInterface(rec.netns, name).catch(() => undefined);
      changed.push(`interface ${name} removed`);
    }
    for (const [net, ep] of Object.entries(rec.endpoints)) {
      if (!ep.ifname || present.has(ep.ifname)) continue;
      await this.leave(ep, rec.netns);
      delete rec.endpoints[net];
      changed.push(`endpoint on ${net} dropped (no ${ep.ifname})`);
    }
    return changed;
  }

  /** The interfaces in a container's namespace (read-only: recovery lists many at once). */
  interfacesOf(rec: ContainerRecord): Promise<string[]> {
    return this.netns.interfaces(rec.netns);
  }

  /** After crash recovery: every driver forgets per-endpoint state of endpoints not in `live`. */
  async retainEndpoints(live: ReadonlySet<string>): Promise<void> {
    for (const d of this.drivers.values()) await d.retainEndpoints?.(live);
  }

  private allocatorOf(driver: NetworkDriver): AddressAllocator {
    return driver.allocator === 'local' ? this.local : driver.allocator;
  }

  private driverOf(net: NetworkRecord): NetworkDriver {
    const d = this.drivers.get(net.driver);
    if (!d) throw forbidden('network.driver_missing', `plugin "${net.driver}" not found`);
    return d;
  }
}
