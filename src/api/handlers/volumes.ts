/**
 * Routes of `/volumes`: create, list, inspect, remove, prune, in Docker's JSON shapes (Volume,
 * VolumeListResponse, VolumePruneResponse).
 *
 * Use: `volumeRoutes(router, { volumes })`.
 * Beware: `ls` answers `Warnings: null` as dockerd; create of an existing name returns that volume.
 */
import type { VolumeRecord, Volumes } from '../../engine/index.js';
import { queryBool, readJson, sendEmpty, sendJson } from '../body.js';
import type { Router } from '../router.js';

export function volumeView(v: VolumeRecord, path: string): Record<string, unknown> {
  return {
    CreatedAt: v.createdAt.replace(/\.\d+Z$/, 'Z'),
    Driver: v.driver,
    Labels: Object.keys(v.labels).length ? v.labels : null,
    Mountpoint: path,
    Name: v.id,
    Options: Object.keys(v.options).length ? v.options : null,
    Scope: 'local',
  };
}

export function volumeRoutes(router: Router, deps: { volumes: Volumes }): void {
  const { volumes } = deps;
  const view = (v: VolumeRecord): Record<string, unknown> => volumeView(v, volumes.path(v.id));

  router.on('POST', '/volumes/create', async ({ req, res }) => {
    const body = ((await readJson<Record<string, unknown>>(req)) ?? {}) as Record<string, unknown>;
    const v = volumes.create(body);
    await volumes.ensureDir(v.id);
    sendJson(res, 201, view(v));
  });

  router.on('GET', '/volumes', ({ res, query }) => {
    sendJson(res, 200, { Volumes: volumes.list(query.get('filters')).map(view), Warnings: null });
  });

  router.on('POST', '/volumes/prune', async ({ res, query }) => {
    sendJson(res, 200, await volumes.prune(query.get('filters')));
  });

  router.on('GET', '/volumes/:name', ({ res, params }) => {
    sendJson(res, 200, view(volumes.get(params.name ?? '')));
  });

  router.on('DELETE', '/volumes/:name', async ({ res, params, query }) => {
    await volumes.remove(params.name ?? '', queryBool(query, 'force'));
    sendEmpty(res, 204);
  });
}
