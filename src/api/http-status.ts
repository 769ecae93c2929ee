/**
 * The one place that turns an error into an HTTP response: kind → status, body `{"message": ...}`.
 * Only 5xx errors are logged (a 4xx is the client's business).
 */
import type { ServerResponse } from 'node:http';
import { isRedesError, type ErrorKind, logger } from '../util/index.js';

const STATUS: Record<ErrorKind, number> = {
  'invalid-parameter': 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'not-implemented': 501,
  unavailable: 503,
  internal: 500,
};

export function statusOf(e: unknown): number {
  return isRedesError(e) ? STATUS[e.kind] : 500;
}

export function writeError(res: ServerResponse, e: unknown, context: { method?: string; path?: string } = {}): void {
  const status = statusOf(e);
  const message = e instanceof Error ? e.message : String(e);
  if (status >= 500) logger.error({ err: e, ...context }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
