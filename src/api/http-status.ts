/**
 * The one place that turns an error into an HTTP response: kind → status (util's HTTP_STATUS, from the
 * catalogue in util/error-codes.ts), body `{"message": ...}` (a system error's text in Go's shape: util's errorMessage).
 * Only 5xx errors are logged (a 4xx is the client's business).
 */
import type { ServerResponse } from 'node:http';
import { HTTP_STATUS, errorMessage, isRedesError, logger } from '../util/index.js';
import { closingAnswer, detachFromHttp, lingeringClose, track } from './connection.js';

export function statusOf(e: unknown): number {
  return isRedesError(e) ? HTTP_STATUS[e.kind] : 500;
}

export function writeError(res: ServerResponse, e: unknown, context: { method?: string; path?: string } = {}): void {
  const status = statusOf(e);
  const message = errorMessage(e);
  if (status >= 500) logger.error({ err: e, ...context }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message });
  // A body refused for its size is not read to its end: the connection cannot carry another
  // request, and the client may still be sending it (see connection.ts for why the close lingers).
  if (status === 413 && !res.req.complete && res.req.socket?.writable) {
    lingeringClose(track(detachFromHttp(res.req, res)), closingAnswer(status, body));
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
