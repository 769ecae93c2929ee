/**
 * Non-Docker routes of redes for the audit and its pictures:
 * - `GET /redes/audit` answers the report (schema in src/audit/README.md); `?verify=1` also probes;
 * - `GET /redes/topology.svg` the topology laid out by ELK;
 * - `GET /redes/ui` the live page, and `GET /redes/ui/events` its server-sent events: `change`
 *   whenever the engine's containers or networks change (a cheap fingerprint of the records, read
 *   every `pollMs` while at least one page listens).
 * `redes audit`, `redes topology` and `docker redes ...` call them.
 */
import type { ServerResponse } from 'node:http';
import type { AuditReport } from '../../audit/index.js';
import { queryBool, sendJson } from '../body.js';
import type { Router } from '../router.js';

export interface AuditRoutesDeps {
  report(opts: { verify: boolean }): Promise<AuditReport>;
  topologySvg(): Promise<string>;
  /** Changes whenever something the picture shows changes (no kernel reads: called often). */
  fingerprint(): string;
  pollMs?: number;
}

function sendText(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

export function auditRoutes(router: Router, deps: AuditRoutesDeps): void {
  const clients = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const poll = (): void => {
    const now = deps.fingerprint();
    if (now === last) return;
    last = now;
    for (const res of clients) res.write(`event: change\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
  };

  router.on('GET', '/redes/audit', async ({ res, query }) => {
    sendJson(res, 200, await deps.report({ verify: queryBool(query, 'verify') }));
  });
  router.on('GET', '/redes/topology.svg', async ({ res }) => {
    sendText(res, 'image/svg+xml', await deps.topologySvg());
  });
  router.on('GET', '/redes/ui', async ({ res }) => {
    // The audit modules load at the first use, not with the daemon.
    const { UI_PAGE } = await import('../../audit/index.js');
    sendText(res, 'text/html; charset=utf-8', UI_PAGE);
  });
  router.on('GET', '/redes/ui/events', ({ req, res }) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(': redes\n\n');
    if (clients.size === 0) last = deps.fingerprint();
    clients.add(res);
    timer ??= setInterval(poll, deps.pollMs ?? 500);
    req.on('close', () => {
      clients.delete(res);
      if (clients.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    });
  });
}
