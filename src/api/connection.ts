/**
 * Connections the API takes from Node's HTTP server: hijacked streams (attach, exec) and requests
 * refused before their body was read (413), which are closed the lingering way.
 * Use: `detachFromHttp(req, res)` to own a request's socket; `track(socket)` so that shutdown
 * (`closeHijacked`) ends it; `lingeringClose(socket, answer)` to answer and close a connection
 * whose client may still be sending.
 * Beware: closing a socket while client bytes sit unread in its receive queue resets the
 * connection. Over TCP the RST throws the answer out of the client's receive buffer; over a unix
 * socket the kernel marks the peer ECONNRESET and its next write fails with EPIPE, and clients
 * (Node's net, most HTTP clients) then drop the connection without reading the answer already
 * there. So an answer sent before the body was read must be followed by a half-close, and what the
 * client still sends is read and thrown away until it closes (nginx's lingering close), bounded in
 * time so that a client sending forever cannot hold the connection.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { logger } from '../util/index.js';

const log = logger.child({ component: 'api' });

/** How long a refused client may go on sending: LINGER_IDLE_MS between reads, LINGER_MS in all (nginx: 5 s, 30 s). */
export const LINGER_IDLE_MS = 5_000;
export const LINGER_MS = 30_000;

/** Connections taken over and still open: `server.close()` would wait for them forever. */
const taken = new Set<Socket>();

export function track(socket: Socket): Socket {
  taken.add(socket);
  socket.once('close', () => taken.delete(socket));
  return socket;
}

/** Ends every connection taken over (attach, exec, lingering refusals); call before `server.close()`. */
export function closeHijacked(): void {
  for (const s of taken) s.destroy();
  taken.clear();
}

/**
 * Takes the socket of a normal request away from Node's HTTP server: the response object lets go
 * of it and the server's listeners (parser feed, half-close handling that would end our side,
 * error replies, idle timeout) are removed. The socket is left paused.
 */
export function detachFromHttp(req: IncomingMessage, res: ServerResponse): Socket {
  const socket = req.socket;
  res.detachSocket(socket);
  for (const ev of ['data', 'end', 'error', 'drain', 'timeout'] as const) socket.removeAllListeners(ev);
  socket.setTimeout(0);
  socket.on('error', (e) => log.debug({ err: e }, 'hijacked connection error'));
  // Adding a 'data' listener through the server's wrapped `on` makes its parser stop consuming the
  // socket handle directly; the stream is paused again until the input is piped.
  const noop = (): void => {};
  socket.on('data', noop);
  socket.off('data', noop);
  socket.pause();
  return socket;
}

/** A whole JSON error response that closes the connection, for a socket outside Node's HTTP server. */
export function closingAnswer(status: number, json: string): string {
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n`;
  return head + json;
}

/**
 * Writes `answer` (a whole HTTP response that says `Connection: close`), half-closes, and reads
 * and discards the client's bytes until it closes its side, it sends nothing for `idleMs`, or
 * `totalMs` have passed; then the socket is destroyed. The socket must be detached from the HTTP
 * server (or come from an upgrade) and tracked.
 */
export function lingeringClose(socket: Socket, answer: string, limits = { idleMs: LINGER_IDLE_MS, totalMs: LINGER_MS }): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const close = (): void => {
    clearTimeout(idle);
    clearTimeout(total);
    socket.destroy();
  };
  const idle = setTimeout(close, limits.idleMs).unref();
  const total = setTimeout(close, limits.totalMs).unref();
  socket.once('close', () => (clearTimeout(idle), clearTimeout(total)));
  socket.on('data', () => idle.refresh());
  // Once the client closed its side nothing is left unread; the answer may still be on its way out.
  const afterAnswer = (): void => void (socket.writableFinished ? close() : socket.once('finish', close));
  if (socket.readableEnded) afterAnswer();
  else socket.once('end', afterAnswer);
  socket.end(answer);
  socket.resume();
}
