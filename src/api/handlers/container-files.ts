/**
 * Routes for a container's files and bulk removal: `/containers/{id}/archive` (HEAD stat, GET
 * `docker cp` out, PUT `docker cp` in), `changes` (`docker diff`), `export`, `POST /commit` and
 * `POST /containers/prune`, in Docker's shapes.
 *
 * Use: `containerFileRoutes(router, { files, usage })`.
 * Beware: the path stat travels base64-encoded in the X-Docker-Container-Path-Stat header (on HEAD
 * and GET alike); a tar stream that fails half-way can only be cut off, its status already sent.
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { ContainerFiles, ContainerUsage } from '../../engine/index.js';
import { invalidParameter, logger } from '../../util/index.js';
import { queryBool, readJson, sendEmpty, sendJson } from '../body.js';
import type { Router } from '../router.js';

const log = logger.child({ component: 'api' });

export interface ContainerFileDeps {
  files: ContainerFiles;
  usage: ContainerUsage;
}

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

function archivePath(query: URLSearchParams): string {
  const path = query.get('path');
  if (!path) throw invalidParameter('archive.no_path', 'bad parameter: path cannot be empty');
  return path;
}

function statHeader(stat: unknown): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

/** Stream `content` as the response body; a failure after the headers cuts the connection. */
function streamBody(res: ServerResponse, content: Readable, what: string): Promise<void> {
  return new Promise((resolve) => {
    content.on('error', (e) => {
      log.warn({ err: e }, `${what} failed while streaming`);
      res.destroy(e);
      resolve();
    });
    res.on('close', () => {
      content.destroy();
      resolve();
    });
    content.pipe(res);
  });
}

export function containerFileRoutes(router: Router, deps: ContainerFileDeps): void {
  const { files } = deps;
  const id = (params: Record<string, string>): string => params.id ?? '';

  router.on('HEAD', '/containers/:id/archive', async ({ res, params, query }) => {
    const stat = await files.stat(id(params), archivePath(query));
    res.writeHead(200, { [STAT_HEADER]: statHeader(stat), 'Content-Type': 'application/json' });
    res.end();
  });

  router.on('GET', '/containers/:id/archive', async ({ res, params, query }) => {
    const { stat, content } = await files.archive(id(params), archivePath(query));
    res.writeHead(200, { [STAT_HEADER]: statHeader(stat), 'Content-Type': 'application/x-tar' });
    await streamBody(res, content, 'archive');
  });

  router.on('PUT', '/containers/:id/archive', async ({ req, res, params, query }) => {
    await files.extract(id(params), archivePath(query), req as AsyncIterable<Buffer>, {
      noOverwriteDirNonDir: queryBool(query, 'noOverwriteDirNonDir'),
      copyUIDGID: queryBool(query, 'copyUIDGID'),
    });
    sendEmpty(res, 200);
  });

  router.on('GET', '/containers/:id/changes', async ({ res, params }) => {
    sendJson(res, 200, await files.changes(id(params)));
  });

  router.on('GET', '/containers/:id/export', async ({ res, params }) => {
    const content = await files.export(id(params));
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await streamBody(res, content, 'export');
  });

  router.on('POST', '/commit', async ({ req, res, query }) => {
    const body = await readJson<unknown>(req);
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) throw invalidParameter('api.bad_json', 'invalid JSON: expected an object');
    const imageId = await files.commit({
      container: query.get('container') ?? '',
      repo: query.get('repo') ?? '',
      tag: query.get('tag') ?? '',
      author: query.get('author') ?? '',
      comment: query.get('comment') ?? '',
      // Docker pauses by default; `pause=0` turns it off.
      pause: query.get('pause') === null || queryBool(query, 'pause'),
      changes: query.getAll('changes'),
      config: (body ?? {}) as Record<string, unknown>,
    });
    sendJson(res, 201, { Id: imageId });
  });

  router.on('POST', '/containers/prune', async ({ res, query }) => {
    sendJson(res, 200, await deps.usage.prune(query.get('filters')));
  });
}
