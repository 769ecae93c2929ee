/**
 * Hijacked connections: attach and exec start turn the HTTP connection into a raw two-way stream,
 * as dockerd does. A client that sends `Upgrade: tcp` (the docker CLI always does) gets
 * `101 UPGRADED`; an old client without it gets `200 OK` and the same stream.
 *
 * Use: register the route with `router.on('POST', path, hijackable(fn))` and call
 * `handleUpgrade(server, router)` once. `fn` validates and may throw (the client then gets a normal
 * JSON error with Docker's status), then calls `h.takeOver(contentType)` and streams on the
 * returned connection; `pumpSession` does the usual attach/exec streaming.
 * Beware: Node hands a request with `Connection: Upgrade` to the server's 'upgrade' event, not to
 * 'request', and does not parse its body: the body (exec start sends JSON) is read here from the
 * raw socket by Content-Length, and what follows it is the client's stdin. On the 200 path the
 * socket is taken from Node's HTTP machinery (its listeners removed) so that stdin and half-close
 * reach us instead of the HTTP parser; such a client must wait for the response before it sends
 * stdin (bytes in the same packet as the request would be parsed as a next request).
 */
import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import type { AttachSession, OutputChunk } from '../engine/index.js';
import { errorMessage, invalidParameter, notFound, logger, drainOrClose } from '../util/index.js';
import type { Handler, Router } from './router.js';
import { statusOf } from './http-status.js';
import { DetachScanner, frame } from './stream-framing.js';
import { splitVersion } from './version.js';
import { readBody, tooLargeError } from './body.js';
import { closingAnswer, detachFromHttp, lingeringClose, track } from './connection.js';
import { headRefusal } from './refusals.js';

const log = logger.child({ component: 'api' });
const MAX_BODY = 1024 * 1024;

/** The connection after the switch: the client's bytes after the request, and the way back. */
export interface HijackedConnection {
  /** Ends when the client half-closes (shuts down its write side). */
  input: Readable;
  output: Socket;
}

export interface HijackRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  version: string;
  headers: IncomingHttpHeaders;
  /** The request body (read completely before the handler runs). */
  body: Buffer;
  /** Writes `101 UPGRADED` (or `200 OK` for a client that did not ask to upgrade) and hands over. */
  takeOver(contentType: string): HijackedConnection;
  /** Answers with an empty body instead of hijacking (exec start with Detach). */
  reply(status: number): void;
}

export type HijackHandler = (h: HijackRequest) => Promise<void>;

const hijackHandlers = new WeakMap<Handler, HijackHandler>();

/** A route handler that hijacks; `handleUpgrade` finds it again for upgrade requests. */
export function hijackable(fn: HijackHandler): Handler {
  const handler: Handler = async ({ req, res, params, query, version }) => {
    const body = await readBody(req, MAX_BODY);
    let taken = false;
    const takeOver = (contentType: string): HijackedConnection => {
      taken = true;
      const socket = track(detachFromHttp(req, res));
      socket.write(switchHead(req.headers.upgrade !== undefined, contentType));
      return { input: inputOf(socket, Buffer.alloc(0)), output: socket };
    };
    const reply = (status: number): void => {
      res.writeHead(status, { 'Content-Length': '0' });
      res.end();
    };
    try {
      await fn({ params, query, version, headers: req.headers, body, takeOver, reply });
    } catch (e) {
      if (!taken) throw e; // server.ts writes the JSON error
      afterSwitchError(req, e, req.socket);
    }
  };
  hijackHandlers.set(handler, fn);
  return handler;
}

/** Routes upgrade requests to hijackable handlers; anything else gets an error response. */
export function handleUpgrade(server: Server, router: Router): void {
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', (e) => log.debug({ err: e }, 'hijacked connection error'));
    const refusal = headRefusal(req);
    if (refusal !== undefined) return void lingeringClose(track(socket), refusal);
    void serveUpgrade(router, req, socket, head);
  });
}

async function serveUpgrade(router: Router, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://redes');
  const method = req.method ?? 'GET';
  let taken = false;
  try {
    const { version, path } = splitVersion(url.pathname);
    const m = router.match(method, path);
    if (!m) throw notFound('api.page_not_found', 'page not found');
    const fn = hijackHandlers.get(m.handler);
    if (!fn) throw invalidParameter('api.no_upgrade', `${method} ${path} does not upgrade the connection`);
    const { body, rest } = await readUpgradeBody(req, socket, head);
    const takeOver = (contentType: string): HijackedConnection => {
      taken = true;
      track(socket).write(switchHead(true, contentType));
      return { input: inputOf(socket, rest), output: socket };
    };
    const reply = (status: number): void => {
      taken = true;
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    log.debug({ method, path: url.pathname }, 'hijack');
    await fn({ params: m.params, query: url.searchParams, version, headers: req.headers, body, takeOver, reply });
  } catch (e) {
    if (taken) afterSwitchError(req, e, socket);
    else writeRawError(socket, e, method, url.pathname);
  }
}

function switchHead(upgrade: boolean, contentType: string): string {
  // Docker answers the old (non-upgrade) form with raw-stream whatever the body carries.
  return upgrade
    ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`
    : 'HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n';
}

/** Before the switch on the upgrade path there is no ServerResponse: the same JSON error, by hand. */
function writeRawError(socket: Socket, e: unknown, method: string, path: string): void {
  const status = statusOf(e);
  if (status >= 500) log.error({ err: e, method, path }, 'request failed');
  const body = JSON.stringify({ message: errorMessage(e) });
  // The body may not have been read (refused for its size, or before routing): a lingering close.
  lingeringClose(track(socket), closingAnswer(status, body));
}

function afterSwitchError(req: IncomingMessage, e: unknown, socket: Socket): void {
  log.error({ err: e, path: req.url }, 'hijacked stream failed');
  socket.destroy();
}

function contentLength(headers: IncomingHttpHeaders): number {
  if (headers['transfer-encoding']) {
    throw invalidParameter('api.chunked_upgrade', 'a chunked request body cannot be sent with a connection upgrade');
  }
  const n = Number(headers['content-length'] ?? 0);
  if (!Number.isInteger(n) || n < 0) throw invalidParameter('api.bad_length', 'invalid Content-Length');
  if (n > MAX_BODY) throw tooLargeError(MAX_BODY);
  return n;
}

/** Reads Content-Length bytes from `head` and the socket; what follows is the start of stdin. */
function readUpgradeBody(req: IncomingMessage, socket: Socket, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const n = contentLength(req.headers);
  if (head.length >= n) return Promise.resolve({ body: head.subarray(0, n), rest: head.subarray(n) });
  return new Promise((resolve, reject) => {
    let got = head;
    const onData = (c: Buffer): void => {
      got = Buffer.concat([got, c]);
      if (got.length < n) return;
      cleanup();
      socket.pause();
      resolve({ body: got.subarray(0, n), rest: got.subarray(n) });
    };
    const onEnd = (): void => (cleanup(), reject(invalidParameter('api.bad_json', 'invalid JSON: unexpected EOF')));
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  });
}

/** The client's stream after the switch: bytes already read first, then the socket, to its half-close. */
function inputOf(socket: Socket, rest: Buffer): Readable {
  const input = new PassThrough();
  if (rest.length) input.write(rest);
  socket.pipe(input);
  socket.resume();
  return input;
}

export interface PumpOptions {
  /** Frame stdout/stderr (no tty); with a tty the bytes go out raw. */
  multiplexed: boolean;
  /** The detach sequence to watch for in stdin (tty sessions), or null. */
  detachKeys: Buffer | null;
  /** Awaited after the output ended and before the connection is ended (not after a detach). */
  beforeEnd?: () => Promise<void>;
}

/**
 * Streams a session over a hijacked connection until its output ends: output to the client (framed
 * or raw), the client's bytes to stdin, the client's half-close to the end of stdin, the end of
 * output to the end of the connection. The client going away or typing the detach keys closes the
 * session (the process goes on).
 */
export async function pumpSession(conn: HijackedConnection, session: AttachSession, opts: PumpOptions): Promise<void> {
  const { input, output } = conn;
  let done = false;
  const stop = (): void => {
    if (done) return;
    done = true;
    session.close();
    if (!session.output.destroyed) session.output.destroy();
  };
  output.once('close', stop);
  if (output.destroyed) stop(); // the client left while the session was being set up
  feedStdin(input, session, opts.detachKeys, stop);
  try {
    for await (const chunk of session.output as AsyncIterable<OutputChunk>) {
      if (output.destroyed) break;
      const ok = output.write(opts.multiplexed ? frame(chunk.stream, chunk.data) : chunk.data);
      if (!ok) await drainOrClose(output);
    }
    if (!done && opts.beforeEnd) await opts.beforeEnd();
  } catch (e) {
    if (!done) log.debug({ err: e }, 'attach output failed');
  } finally {
    output.off('close', stop);
    done = true;
    if (!output.destroyed) output.end();
  }
}

function feedStdin(input: Readable, session: AttachSession, detachKeys: Buffer | null, detach: () => void): void {
  const stdin = session.stdin;
  if (!stdin) {
    input.resume(); // nothing to feed: keep the connection's input drained
    return;
  }
  stdin.on('error', (e) => log.debug({ err: e }, 'stdin of attached process failed'));
  const scanner = detachKeys ? new DetachScanner(detachKeys) : null;
  let detached = false;
  input.on('data', (chunk: Buffer) => {
    if (detached || stdin.destroyed) return;
    let data = chunk;
    if (scanner) {
      const r = scanner.push(chunk);
      data = r.data;
      detached = r.detached;
    }
    if (data.length && !stdin.write(data)) {
      input.pause();
      stdin.once('drain', () => input.resume());
    }
    if (detached) detach();
  });
  input.on('end', () => {
    if (!detached && !stdin.destroyed) stdin.end();
  });
}

