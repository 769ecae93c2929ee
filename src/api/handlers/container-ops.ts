/**
 * Routes for what users do to a running container beside its lifecycle: `update`, `pause`,
 * `unpause`, `top` and `stats`. Each one parses the request as dockerd does and hands it to the
 * engine's ContainerUpdates / ContainerObserver.
 *
 * Use: `containerOpsRoutes(router, { updates, observer })`.
 * Beware: `stats?stream=true` (the default) writes one JSON document per second until the client
 * closes; `one-shot` skips the second sample (precpu stays empty), as in Docker.
 */
import type { ContainerUpdates, ContainerObserver } from '../../engine/index.js';
import { queryBool, readJson, sendEmpty, sendJson } from '../body.js';
import type { Router } from '../router.js';

export interface ContainerOpsDeps {
  updates: ContainerUpdates;
  observer: ContainerObserver;
}

export function containerOpsRoutes(router: Router, deps: ContainerOpsDeps): void {
  const id = (params: Record<string, string>): string => params.id ?? '';

  router.on('POST', '/containers/:id/update', async ({ req, res, params }) => {
    sendJson(res, 200, await deps.updates.update(id(params), await readJson<unknown>(req)));
  });

  router.on('POST', '/containers/:id/pause', async ({ res, params }) => {
    await deps.updates.pause(id(params));
    sendEmpty(res, 204);
  });

  router.on('POST', '/containers/:id/unpause', async ({ res, params }) => {
    await deps.updates.unpause(id(params));
    sendEmpty(res, 204);
  });

  router.on('GET', '/containers/:id/top', async ({ res, params, query }) => {
    sendJson(res, 200, await deps.observer.top(id(params), query.get('ps_args') ?? ''));
  });

  router.on('GET', '/containers/:id/stats', async ({ res, params, query }) => {
    const stream = query.get('stream') === null ? true : queryBool(query, 'stream');
    const oneShot = queryBool(query, 'one-shot');
    const name = id(params);
    if (!stream) {
      sendJson(res, 200, await deps.observer.stats(name, { oneShot }));
      return;
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    res.writeHead(200, { 'Content-Type': 'application/json' });
    for await (const doc of deps.observer.statsStream(name, abort.signal)) {
      if (res.destroyed) break;
      res.write(JSON.stringify(doc) + '\n');
    }
    res.end();
  });
}
