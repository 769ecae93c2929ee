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
import type { Duplex } from 'node:stream';
import { notFound, logger } from '../util/index.js';
import { Router } from './router.js';
import { splitVersion } from './version.js';
import { writeError } from './http-status.js';
import { detachFromHttp, lingeringClose, track } from './connection.js';
import { headRefusal, refusalOf } from './refusals.js';

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
 * Node's header clock of a connection's first request starts when the connection is accepted (its
 * parser is armed then), so a client that connects and sends nothing is cut off too, as by dockerd.
 */
function serverOptions(limits: ServerLimits): { maxHeaderSize: number; headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number; requireHostHeader: boolean } {
  const headersTimeout = limits.headerTimeoutMs ?? 60_000;
  return {
    maxHeaderSize: 1024 * 1024,
    headersTimeout,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.max(250, Math.min(30_000, headersTimeout / 10)),
    requireHostHeader: false, // checked by headRefusal, which answers as Go does
  };
}

export function createApiServer(router: Router, limits: ServerLimits = {}): Server {
  const server = createServer(serverOptions(limits), requestHandler(router));
  server.keepAliveTimeout = 60_000;
  server.on('clientError', answerClientError);
  return server;
}

/**
 * A connection whose request head did not come within the header timeout is closed without an
 * answer, as dockerd's (Go's) server does. Node would write a 408 first, and a client that is not
 * reading (the idle ones of a slowloris) then never sees the close: the 408 waits unread in its
 * buffer. Any other client error gets Go's answer (refusals.ts: 431, 501 or 400 with a text/plain
 * body), unless a response is under way on the connection (the answer would corrupt it).
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return void socket.destroy();
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) socket.write(refusalOf(err.code));
  socket.destroy(err);
}

/** The same API over HTTPS; clients must present a certificate signed by `ca` (dockerd's --tlsverify). */
export async function createTlsApiServer(router: Router, files: { ca: string; cert: string; key: string }, limits: ServerLimits = {}): Promise<Server> {
  const [ca, cert, key] = await Promise.all([readFile(files.ca), readFile(files.cert), readFile(files.key)]);
  const tls = { ca, cert, key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' as const };
  // The handshake gets the header timeout too (dockerd's Go server: the smallest timeout set); the
  // head's clock starts once it is done, so a client that connects and sends nothing is cut as well.
  const options = serverOptions(limits);
  const server = createHttpsServer({ ...tls, ...options, handshakeTimeout: options.headersTimeout }, requestHandler(router));
  server.keepAliveTimeout = 60_000;
  server.on('clientError', answerClientError);
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
    const refusal = headRefusal(req);
    if (refusal !== undefined) return void lingeringClose(track(detachFromHttp(req, res)), refusal);
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
