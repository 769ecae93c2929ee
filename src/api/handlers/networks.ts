/** Routes of `/networks`: list, inspect, create, remove, prune (connect/disconnect come with containers). */
import type { NetworkController, NetworkCreateRequest } from '../../engine/index.js';
import type { Router } from '../router.js';
import { requireJson, sendEmpty, sendJson } from '../body.js';
import { networkView, type NetworkContainerView, type NetworkPeerView } from '../views/network.js';

export interface NetworkRoutesDeps {
  networks: NetworkController;
  /** Containers attached to a network, for inspect (empty until containers exist). */
  containersOf?: (networkId: string) => Record<string, NetworkContainerView>;
  /** Hosts with an endpoint on a network (overlay networks' Peers); none for local networks. */
  peersOf?: (networkId: string) => Promise<NetworkPeerView[]>;
  /** Network create/destroy events (docker events). */
  onEvent?: (action: 'create' | 'destroy', id: string, attributes: Record<string, string>) => void;
}

export function networkRoutes(router: Router, deps: NetworkRoutesDeps): void {
  const { networks } = deps;
  router.on('GET', '/networks', ({ res, query }) => {
    // Docker leaves Containers empty in lists since API 1.28: only inspect fills it.
    const list = networks.list(query.get('filters'));
    sendJson(res, 200, list.map((n) => networkView(n, {})));
  });
  router.on('GET', '/networks/:id*', async ({ res, params }) => {
    const n = networks.resolve(params.id ?? '');
    const peers = n.scope !== 'local' && deps.peersOf ? await deps.peersOf(n.id) : [];
    sendJson(res, 200, networkView(n, deps.containersOf?.(n.id) ?? {}, peers));
  });
  router.on('POST', '/networks/create', async ({ req, res }) => {
    const body = await requireJson<NetworkCreateRequest>(req);
    const r = await networks.create(body);
    const n = networks.resolve(r.id);
    deps.onEvent?.('create', r.id, { name: n.name, type: n.driver });
    sendJson(res, 201, { Id: r.id, Warning: r.warning });
  });
  router.on('DELETE', '/networks/:id*', async ({ res, params }) => {
    const n = networks.resolve(params.id ?? '');
    await networks.remove(params.id ?? '');
    deps.onEvent?.('destroy', n.id, { name: n.name, type: n.driver });
    sendEmpty(res, 204);
  });
  router.on('POST', '/networks/prune', async ({ res, query }) => {
    const removed = await networks.prune(query.get('filters'));
    sendJson(res, 200, { NetworksDeleted: removed });
  });
}
