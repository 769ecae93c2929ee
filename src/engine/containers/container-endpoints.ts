/**
 * `docker network connect` and `disconnect`: Docker's rules (no shared or host namespace, no second
 * endpoint on a network, none-mode alone), then, for a running container, the kernel step (join at
 * the next free `eth<N>`, or leave), the record saved, and the features told (ports re-aimed, DNS).
 * A stopped container only has its record changed: its next start joins.
 *
 * Use: the controller owns one and passes it its lock, its records and the networks.
 * Beware: lock order is the container's lock, then a hold on the network (NetworkController.using),
 * so that the network cannot be removed while a container joins it.
 */
import type { LostEndpoint } from '../../drivers/index.js';
import { failpoint, forbidden, invalidParameter, logger, notFound, ownGet, ownSet } from '../../util/index.js';
import type { NetworkController } from '../networks/network-controller.js';
import type { NetworkRecord } from '../networks/network-record.js';
import { parseEndpointRequest } from './container-config.js';
import type { ContainerEvents } from './container-events.js';
import { identityOf, type ContainerNetworking } from './container-network.js';
import type { ContainerRecord, EndpointRecord } from './container-types.js';

const log = logger.child({ component: 'containers' });

export interface EndpointChangeContext {
  resolve(term: string): ContainerRecord;
  mustGet(id: string): ContainerRecord;
  /** Runs `fn` under the container's lock. */
  locked<T>(id: string, fn: () => Promise<T>): Promise<T>;
  save(rec: ContainerRecord): void;
  /** Tells the features that a running container's endpoints changed. */
  changed(rec: ContainerRecord): Promise<void>;
  networks: NetworkController;
  networking: ContainerNetworking;
  events: ContainerEvents;
}

const SHARED_NETNS = 'container sharing network namespace with another container or host cannot be connected to any other network';
const NONE_MULTI = 'container cannot be connected to multiple networks with one of the networks in private (none) mode';

export class EndpointChanges {
  constructor(private readonly ctx: EndpointChangeContext) {}

  connect(networkTerm: string, containerTerm: string, endpointConfig: unknown): Promise<void> {
    return this.change(networkTerm, containerTerm, async (rec, net) => {
      const { networks, networking } = this.ctx;
      if (rec.networkMode.startsWith('container:')) throw invalidParameter('container.shared_netns', SHARED_NETNS);
      if (net.driverOptions.attach === 'none' || Object.values(rec.endpoints).some((e) => networks.get(e.networkId)?.driverOptions.attach === 'none')) {
        throw forbidden('container.none_connect', NONE_MULTI);
      }
      if (ownGet(rec.endpoints, net.name)) throw forbidden('container.already_connected', `endpoint with name ${rec.name} already exists in network ${net.name}`);
      const req = parseEndpointRequest(endpointConfig, net.name);
      networking.checkEndpointRequest(net, req, 'connect');
      let ep = networking.blankEndpoint(net, req);
      if (rec.state.status === 'running') {
        // A network with a way out of its own replaces the gateway bridge's endpoint (Docker's rule).
        await networking.syncGateway(rec, { add: false, extra: ep });
        const hasRoute = networking.hasRoute(rec);
        ep = await networking.join(ep, rec.netns, networking.nextIfname(rec), !hasRoute, identityOf(rec));
        failpoint('connect.after-join');
      }
      ownSet(rec.endpoints, net.name, ep);
      if (rec.state.status === 'running') {
        this.ctx.events.endpoint(rec, ep, 'connect');
        await networking.syncGateway(rec, { add: true });
      }
    });
  }

  async disconnect(networkTerm: string, containerTerm: string, force: boolean): Promise<void> {
    // As dockerd, `-f` also drops an endpoint whose network no longer exists.
    if (force && !this.ctx.networks.all().some((n) => n.id === networkTerm || n.name === networkTerm || n.id.startsWith(networkTerm))) {
      return this.dropOrphan(networkTerm, containerTerm);
    }
    return this.change(networkTerm, containerTerm, async (rec, net) => {
      const ep = ownGet(rec.endpoints, net.name);
      if (!ep) throw forbidden('container.not_connected', `container ${rec.id} is not connected to network ${net.name}`);
      if (rec.state.status === 'running') await this.ctx.networking.leave(ep, rec.netns);
      failpoint('disconnect.after-leave');
      delete rec.endpoints[net.name];
      if (rec.state.status === 'running') {
        this.ctx.events.endpoint(rec, ep, 'disconnect');
        await this.ctx.networking.syncGateway(rec, { add: true });
      }
    });
  }

  /**
   * Disconnects running containers from networks whose drivers could not keep their endpoints at
   * restore (`reason` says why: another host took an address while this engine was away), as
   * `docker network disconnect` does: interface and addresses released, the record, the event, the
   * features told, and the reason in the log. An endpoint no running container holds (`holders`: the
   * running containers' endpoints on a network) is skipped.
   */
  async dropLost(lost: readonly LostEndpoint[], holders: (networkId: string) => Array<{ container: ContainerRecord; endpoint: EndpointRecord }>): Promise<void> {
    for (const l of lost) {
      const holder = holders(l.networkId).find((e) => e.endpoint.endpointId === l.endpointId);
      if (!holder) continue;
      await this.dropOne(holder.container.id, l).catch((e: unknown) => log.error({ err: e, id: holder.container.id, network: l.networkId }, 'disconnecting a lost endpoint failed'));
    }
  }

  private dropOne(containerId: string, lost: LostEndpoint): Promise<void> {
    return this.change(lost.networkId, containerId, async (rec, net) => {
      const ep = ownGet(rec.endpoints, net.name);
      if (!ep || ep.endpointId !== lost.endpointId || rec.state.status !== 'running') return;
      await this.ctx.networking.leave(ep, rec.netns);
      delete rec.endpoints[net.name];
      this.ctx.events.endpoint(rec, ep, 'disconnect');
      await this.ctx.networking.syncGateway(rec, { add: true });
      log.warn({ id: rec.id, network: net.name, endpoint: ep.endpointId }, `container ${JSON.stringify(rec.name)} disconnected from network ${JSON.stringify(net.name)}: ${lost.reason}`);
    });
  }

  private async dropOrphan(networkTerm: string, containerTerm: string): Promise<void> {
    const id = this.ctx.resolve(containerTerm).id;
    await this.ctx.locked(id, async () => {
      const rec = this.ctx.mustGet(id);
      const found = Object.entries(rec.endpoints).find(([name, ep]) => name === networkTerm || (networkTerm !== '' && ep.networkId.startsWith(networkTerm)));
      if (!found) throw notFound('network.not_found', `network ${networkTerm} not found`);
      const [name, ep] = found;
      if (rec.state.status === 'running') await this.ctx.networking.leave(ep, rec.netns);
      delete rec.endpoints[name];
      this.ctx.save(rec);
      if (rec.state.status === 'running') await this.ctx.changed(rec);
      log.info({ id: rec.id, network: name }, 'endpoint on a missing network dropped');
    });
  }

  /** Docker's host-network rule, then `fn` under the container's lock and a hold on the network; saved and announced. */
  private async change(networkTerm: string, containerTerm: string, fn: (rec: ContainerRecord, net: NetworkRecord) => Promise<void>): Promise<void> {
    const rec0 = this.ctx.resolve(containerTerm);
    const net = this.ctx.networks.resolve(networkTerm);
    await this.ctx.locked(rec0.id, async () => {
      const running = this.ctx.mustGet(rec0.id).state.status === 'running';
      const gw = running ? await this.ctx.networking.gatewayNetworkFor(rec0.endpoints, net) : undefined;
      await this.ctx.networks.using([net.id, ...(gw ? [gw.id] : [])], async () => {
        const rec = this.ctx.mustGet(rec0.id);
        if (!this.ctx.networks.get(net.id)) throw notFound('network.not_found', `network ${networkTerm} not found`);
        if (rec.networkMode === 'host' && net.driverOptions.attach !== 'host') throw invalidParameter('container.shared_netns', SHARED_NETNS);
        if (net.driverOptions.attach === 'host' || rec.networkMode === 'host') {
          throw forbidden('container.host_network', 'container cannot be disconnected from host network or connected to host network');
        }
        await fn(rec, net);
        this.ctx.save(rec);
        if (rec.state.status === 'running') await this.ctx.changed(rec);
      });
    });
  }
}
