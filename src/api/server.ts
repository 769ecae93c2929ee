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
import type { Socket } from 'node:net';
import { notFound, logger } from '../util/index.js';
import { Router } from './router.js';
import { splitVersion } from './version.js';
import { writeError } from './http-status.js';

const log = logger.child({ component: 'api' });

export interface ServerLimits {
  /** Time a client may take to send a request's head (default 60 s); it is then cut off. */
  headerTimeoutMs?: number;
}

/**
 * Connection limits, as dockerd's http.Server has them: request heads up to 1 MiB (Go's
 * DefaultMaxHeaderBytes; Node's own 16 KiB would refuse a large X-Registry-Config), a head that
 * takes longer than the header timeout is cut off (dockerd: ReadHeaderTimeout, 5 min), no limit
 * on the time to send a body (image loads and build contexts can be large), idle keep-alive
 * connections closed after 60 s. Expired connections are looked for every tenth of the timeout.
 */
function serverOptions(limits: ServerLimits): { maxHeaderSize: number; headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  const headersTimeout = limits.headerTimeoutMs ?? 60_000;
  return { maxHeaderSize: 1024 * 1024, headersTimeout, requestTimeout: 0, connectionsCheckingInterval: Math.max(250, Math.min(30_000, headersTimeout / 10)) };
}

export function createApiServer(router: Router, limits: ServerLimits = {}): Server {
  const server = createServer(serverOptions(limits), requestHandler(router));
  server.keepAliveTimeout = 60_000;
  cutSilentConnections(server, limits);
  return server;
}

/**
 * Node's header timeout starts with a request's first byte: a client that connects and sends
 * nothing would hold its connection forever. It gets the same time as a slow head, then is cut
 * (dockerd's ReadHeaderTimeout counts from the connection too). Checked by bytes read, without a
 * 'data' listener (which would take the socket from the HTTP parser).
 */
function cutSilentConnections(server: Server, limits: ServerLimits): void {
  const ms = serverOptions(limits).headersTimeout;
  server.on('connection', (socket: Socket) => {
    const t = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, ms);
    t.unref();
    socket.once('close', () => clearTimeout(t));
  });
}

/** The same API over HTTPS; clients must present a certificate signed by `ca` (dockerd's --tlsverify). */
export async function createTlsApiServer(router: Router, files: { ca: string; cert: string; key: string }, limits: ServerLimits = {}): Promise<Server> {
  const [ca, cert, key] = await Promise.all([readFile(files.ca), readFile(files.cert), readFile(files.key)]);
  const tls = { ca, cert, key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' as const };
  const server = createHttpsServer({ ...tls, ...serverOptions(limits) }, requestHandler(router));
  server.keepAliveTimeout = 60_000;
  cutSilentConnections(server as unknown as Server, limits);
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
        await router.changeGuard?.(method, path);
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
