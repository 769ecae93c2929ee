/**
 * Routes of `/swarm`, `/nodes` and the swarm objects redes does not have (services, tasks, secrets,
 * configs): Docker's shapes and texts. Not in a swarm, they answer 503 with Docker's messages
 * (clients such as docker-py rely on it); services and the rest answer 501 on a manager.
 */
import type { SwarmController, SwarmInitRequest, SwarmJoinRequest } from '../../engine/index.js';
import { clipEcho, Filters, invalidParameter, notImplemented } from '../../util/index.js';
import type { Router } from '../router.js';
import { queryBool, readJson, requireJson, sendJson } from '../body.js';

export interface SwarmRoutesDeps {
  swarm: SwarmController;
}

function parseFilters(raw: string | null): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Filters.parse(raw).entries()) {
    if (!['id', 'name', 'role', 'membership', 'label', 'node.label'].includes(k)) throw invalidParameter('filters.unknown', `invalid filter '${clipEcho(k)}'`);
    if (k === 'label' || k === 'node.label' || k === 'membership') throw notImplemented('filters.unsupported', `filter '${clipEcho(k)}' is not supported by redes`);
    out[k] = v;
  }
  return out;
}

const OBJECTS: Array<[string, string]> = [
  ['services', 'services'],
  ['tasks', 'tasks'],
  ['secrets', 'secrets'],
  ['configs', 'configs'],
];

export function swarmRoutes(router: Router, { swarm }: SwarmRoutesDeps): void {
  router.on('GET', '/swarm', async ({ res }) => sendJson(res, 200, await swarm.inspect()));
  router.on('POST', '/swarm/init', async ({ req, res }) => {
    const body = (await readJson<SwarmInitRequest>(req)) ?? {};
    sendJson(res, 200, await swarm.init(body));
  });
  router.on('POST', '/swarm/join', async ({ req, res }) => {
    await swarm.join(await requireJson<SwarmJoinRequest>(req));
    sendJson(res, 200, null);
  });
  router.on('POST', '/swarm/leave', async ({ res, query }) => {
    await swarm.leave(queryBool(query, 'force'));
    sendJson(res, 200, null);
  });
  router.on('POST', '/swarm/update', async ({ req, res, query }) => {
    const version = Number(query.get('version'));
    if (!Number.isInteger(version)) throw invalidParameter('swarm.update_version', 'invalid swarm version');
    if (queryBool(query, 'rotateManagerUnlockKey')) throw notImplemented('swarm.autolock', 'redes does not support --autolock, so there is no unlock key to rotate');
    const spec = (await readJson<Record<string, unknown>>(req)) ?? undefined;
    await swarm.update(version, spec, { worker: queryBool(query, 'rotateWorkerToken'), manager: queryBool(query, 'rotateManagerToken') });
    sendJson(res, 200, null);
  });
  router.on('GET', '/swarm/unlockkey', async ({ res }) => {
    await swarm.inspect();
    sendJson(res, 200, { UnlockKey: '' });
  });
  router.on('POST', '/swarm/unlock', async () => {
    await swarm.inspect();
    throw invalidParameter('swarm.not_locked', 'swarm is not locked');
  });
  router.on('GET', '/nodes', async ({ res, query }) => sendJson(res, 200, await swarm.nodes(parseFilters(query.get('filters')))));
  router.on('GET', '/nodes/:id', async ({ res, params }) => sendJson(res, 200, await swarm.node(params.id ?? '')));
  router.on('DELETE', '/nodes/:id', async ({ res, params, query }) => {
    await swarm.removeNode(params.id ?? '', queryBool(query, 'force'));
    sendJson(res, 200, null);
  });
  router.on('POST', '/nodes/:id/update', async ({ params }) => {
    await swarm.node(params.id ?? '');
    throw notImplemented('swarm.node_update', 'node updates (promote, demote, availability, labels) are not supported by redes');
  });
  for (const [path, what] of OBJECTS) {
    const refuse = (): never => swarm.refuseObjects(what);
    router.on('GET', `/${path}`, refuse);
    router.on('POST', `/${path}/create`, refuse);
    router.on('GET', `/${path}/:id`, refuse);
    router.on('DELETE', `/${path}/:id`, refuse);
    router.on('POST', `/${path}/:id/update`, refuse);
    router.on('GET', `/${path}/:id/logs`, refuse);
  }
}
