// GET /events over a real API server on a temporary unix socket: what a client that subscribes late
// still gets (dockerd replays its ring for `since` and for an `until` alone), live delivery, and the
// window check.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiServer, listenUnix } from '../../../src/api/server.js';
import { Router } from '../../../src/api/router.js';
import { eventRoutes } from '../../../src/api/handlers/events.js';
import { EventBus } from '../../../src/engine/events.js';
import { apiRequest } from '../../helpers/engine-api.js';

async function serve(t: TestContext): Promise<{ bus: EventBus; sock: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-api-events-'));
  const bus = new EventBus();
  const router = new Router();
  eventRoutes(router, { bus });
  const server = createApiServer(router);
  const sock = join(dir, 'docker.sock');
  await listenUnix(server, sock);
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });
  return { bus, sock };
}

const secs = (ms: number): string => (ms / 1000).toFixed(3);
const actions = (body: string): string[] => body.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { Action: string; Actor: { Attributes: { name?: string } } }).Actor.Attributes.name ?? '?');

test('an `until` alone replays the ring up to it, as dockerd: a watcher that subscribes after the start still sees it', async (t) => {
  const { bus, sock } = await serve(t);
  bus.emit('container', 'start', 'a'.repeat(64), { name: 'early' });
  const filters = encodeURIComponent(JSON.stringify({ event: ['start'] }));
  const r = await apiRequest(sock, 'GET', `/v1.50/events?until=${secs(Date.now() + 300)}&filters=${filters}`);
  assert.equal(r.status, 200);
  assert.deepEqual(actions(r.body), ['early']);
  // In the past: the replay alone, at once.
  const past = await apiRequest(sock, 'GET', `/v1.50/events?until=${secs(Date.now())}`);
  assert.deepEqual(actions(past.body), ['early']);
});

test('without since or until nothing is replayed; events after the subscription arrive live until `until`', async (t) => {
  const { bus, sock } = await serve(t);
  bus.emit('container', 'start', 'a'.repeat(64), { name: 'before' });
  const body = await new Promise<string>((resolve, reject) => {
    const req = http.get({ socketPath: sock, path: '/v1.50/events' }, (res) => {
      // The headers come once the subscription exists.
      bus.emit('container', 'start', 'b'.repeat(64), { name: 'live' });
      res.setEncoding('utf8');
      let got = '';
      res.on('data', (c: string) => {
        got += c;
        if (got.includes('\n')) req.destroy();
      });
      res.on('close', () => resolve(got));
    });
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
  });
  assert.deepEqual(actions(body), ['live']);
});

test("a `since` after `until` is Docker's 400", async (t) => {
  const { sock } = await serve(t);
  const r = await apiRequest(sock, 'GET', '/v1.50/events?since=20&until=10');
  assert.equal(r.status, 400);
  assert.equal(r.json<{ message: string }>().message, '`since` time (20) cannot be after `until` time (10)');
});
