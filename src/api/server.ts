/**
 * The Engine API server: HTTP/1.1 on a unix socket (mode 0660, owned by the API group) and, as
 * dockerd's `-H tcp://`, HTTPS with mutual TLS; version prefixes, routing, and the single error path
 * (http-status.ts). Handlers that hijack the connection (attach, exec) take over the socket themselves.
 * Use: `createApiServer(router)` / `createTlsApiServer(router, files)`, then `handleUpgrade` on each.
 * Beware: a TLS server must keep requestCert + rejectUnauthorized: the API is root on the host.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { chmod, chown, readFile, rm } from 'node:fs/promises';
import { notFound, logger } from '../util/index.js';
import { Router } from './router.js';
import { splitVersion } from './version.js';
import { writeError } from './http-status.js';

const log = logger.child({ component: 'api' });

export function createApiServer(router: Router): Server {
  const server = createServer(requestHandler(router));
  server.keepAliveTimeout = 60_000;
  return server;
}

/** The same API over HTTPS; clients must present a certificate signed by `ca` (dockerd's --tlsverify). */
export async function createTlsApiServer(router: Router, files: { ca: string; cert: string; key: string }): Promise<Server> {
  const [ca, cert, key] = await Promise.all([readFile(files.ca), readFile(files.cert), readFile(files.key)]);
  const server = createHttpsServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, requestHandler(router));
  server.keepAliveTimeout = 60_000;
  server.on('tlsClientError', (e) => log.info({ err: e.message }, 'TLS client refused'));
  // https.Server serves requests and upgrades exactly as http.Server does.
  return server as unknown as Server;
}

function requestHandler(router: Router): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
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
  };
}

export async function listenTcp(server: Server, address: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Listens on a unix socket owned by root:`gid`, mode 0660 (never world-writable). */
export async function listenUnix(server: Server, path: string, gid?: number): Promise<void> {
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o660);
  if (gid !== undefined) await chown(path, 0, gid);
}
