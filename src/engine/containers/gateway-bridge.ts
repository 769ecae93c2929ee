/**
 * The host's gateway bridge, `docker_gwbridge`, as Docker's libnetwork keeps it: a container whose
 * networks give it no way out of the host (overlay: `gatewayBridge` in its driver's options) also gets
 * an endpoint on this local bridge network, which carries its default route (outbound NAT) and its
 * published ports (`-p`). The network is made the first time a container needs it, with Docker's
 * options (ICC off, masquerade on, device `docker_gwbridge`) and a subnet from the default pools as
 * any `docker network create` gets one (172.18.0.0/16 on a host with only docker0).
 *
 * Use: `needsGateway(endpoints, get)` says whether a container needs one; `GatewayBridge.ensure()`
 * runs before the container's networks are held (it may create the network, which takes the network
 * controller's lock); the endpoint itself is an entry of `rec.endpoints` marked `sandboxGateway`,
 * which inspect leaves out of the container's networks and names `gateway_<id12>` in the network's.
 *
 * Beware: an endpoint on a network with a way out of its own (bridge, macvlan, not internal) makes it
 * unneeded, as in Docker: connecting such a network removes the gateway endpoint, and disconnecting
 * it brings it back. Internal networks need none.
 */
import type { NetworkCreateRequest, NetworkRecord } from '../networks/network-record.js';
import type { EndpointRecord } from './container-types.js';

/** Docker's name for the network, its bridge device and the key of the endpoint in `rec.endpoints`. */
export const GATEWAY_NETWORK = 'docker_gwbridge';

/** The options Docker creates docker_gwbridge with (shown by `docker network inspect docker_gwbridge`). */
export const GATEWAY_NETWORK_OPTIONS: Readonly<Record<string, string>> = {
  'com.docker.network.bridge.enable_icc': 'false',
  'com.docker.network.bridge.enable_ip_masquerade': 'true',
  'com.docker.network.bridge.name': GATEWAY_NETWORK,
};

type Lookup = (networkId: string) => NetworkRecord | undefined;

/** The gateway endpoint's name as `docker network inspect docker_gwbridge` shows it. */
export const gatewayEndpointName = (containerId: string): string => `gateway_${containerId.slice(0, 12)}`;

/** Whether a network routes its containers nowhere beyond itself (and so needs the gateway bridge). */
export const usesGatewayBridge = (net: NetworkRecord | undefined): boolean => net?.driverOptions.gatewayBridge === true;

/**
 * Docker's rule (libnetwork's needDefaultGW): some endpoint is on a non-internal network without a
 * way out (overlay), and none is on a non-internal network with one. The gateway endpoint itself
 * does not count.
 */
export function needsGateway(endpoints: Readonly<Record<string, EndpointRecord>>, get: Lookup): boolean {
  let need = false;
  for (const ep of Object.values(endpoints)) {
    if (ep.sandboxGateway) continue;
    const net = get(ep.networkId);
    if (!net || net.internal || net.driverOptions.attach !== 'interface') continue;
    if (!usesGatewayBridge(net)) return false;
    need = true;
  }
  return need;
}

/** The key of the container's gateway endpoint in `endpoints`, if it has one. */
export function gatewayKey(endpoints: Readonly<Record<string, EndpointRecord>>): string | undefined {
  return Object.entries(endpoints).find(([, ep]) => ep.sandboxGateway)?.[0];
}

/** What the gateway bridge needs of the network controller. */
export interface GatewayNetworks {
  create(req: NetworkCreateRequest): Promise<{ id: string }>;
  all(): NetworkRecord[];
  get(id: string): NetworkRecord | undefined;
}

export class GatewayBridge {
  private making: Promise<NetworkRecord> | undefined;

  constructor(private readonly networks: GatewayNetworks) {}

  /** The network if it exists now. */
  find(): NetworkRecord | undefined {
    return this.networks.all().find((n) => n.name === GATEWAY_NETWORK);
  }

  /** The network, made now if missing; concurrent callers share one creation. */
  ensure(): Promise<NetworkRecord> {
    const have = this.find();
    if (have) return Promise.resolve(have);
    this.making ??= (async () => {
      try {
        const { id } = await this.networks.create({ Name: GATEWAY_NETWORK, Driver: 'bridge', Options: { ...GATEWAY_NETWORK_OPTIONS } });
        const made = this.networks.get(id);
        if (!made) throw new Error(`${GATEWAY_NETWORK} vanished right after it was made`);
        return made;
      } catch (e) {
        // Made meanwhile by another path (a user's `docker network create docker_gwbridge`): use it.
        const other = this.find();
        if (other) return other;
        throw e;
      } finally {
        this.making = undefined;
      }
    })();
    return this.making;
  }
}
