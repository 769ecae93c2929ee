/**
 * The Engine API server: HTTP/1.1 on a unix socket (mode 0660), version prefixes, routing, and the
 * single error path (http-status.ts). Handlers that hijack the connection (attach, exec) take over
 * the socket themselves.
 */
import { createServer, type Server } from 'node:http';
import { chmod, rm } from 'node:fs/promises';
import { notFound } from '../util/errors.js';
import { logger } from '../util/log.js';
import { Router } from './router.js';
import { splitVersion } from './version.js';
import { writeError } from './http-status.js';

const log = logger.child({ component: 'api' });

export function createApiServer(router: Router): Server {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://redes');
    const method = req.method ?? 'GET';
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      log.debug({ method, path: url.pathname, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'request');
    });
    void (async () => {
      try {
        const { version, path } = splitVersion(url.pathname);
        const m = router.match(method, path);
        if (!m) throw notFound('api.page_not_found', 'page not found');
        await m.handler({ req, res, params: m.params, query: url.searchParams, version });
      } catch (e) {
        writeError(res, e, { method, path: url.pathname });
      }
    })();
  });
  server.keepAliveTimeout = 60_000;
  return server;
}

export async function listenUnix(server: Server, path: string): Promise<void> {
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o660);
}
