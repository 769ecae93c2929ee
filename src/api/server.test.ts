// The API server's connection limits on a unix socket in a temporary directory: a client that sends
// nothing or sends its head too slowly is closed without an answer (as dockerd), even when the
// daemon's event loop was stalled past the deadline; a head refused before routing gets the answer
// dockerd's Go server writes (text/plain, the status repeated as the body, the connection closed).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApiServer, listenUnix } from './server.js';
import { Router } from './router.js';
import { sendJson } from './body.js';

const TIMEOUT_MS = 1_000;

async function serve(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-api-server-'));
  const server = createApiServer(new Router().on('GET', '/_ping', ({ res }) => sendJson(res, 200, 'OK')), { headerTimeoutMs: TIMEOUT_MS });
  const socket = join(dir, 'api.sock');
  await listenUnix(server, socket);
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  return socket;
}

interface Client {
  s: net.Socket;
  closed: boolean;
  closedAfterMs?: number;
}

/** A client that never reads (as a slowloris's idle connections): it sees the close only if nothing was sent to it. */
function connect(path: string): Client {
  const started = Date.now();
  const c: Client = { s: net.connect(path), closed: false };
  c.s.on('error', () => undefined);
  c.s.on('close', () => {
    c.closed = true;
    c.closedAfterMs = Date.now() - started;
  });
  return c;
}

async function allClosed(clients: Client[], withinMs: number): Promise<void> {
  for (const end = Date.now() + withinMs; Date.now() < end && clients.some((c) => !c.closed); ) await sleep(50);
}

test('a connection that sends nothing is closed at the header timeout, without an answer', async (t) => {
  const path = await serve(t);
  const clients = Array.from({ length: 20 }, () => connect(path));
  await allClosed(clients, 10 * TIMEOUT_MS);
  assert.deepEqual(clients.map((c) => [c.closed, c.s.bytesRead]), clients.map(() => [true, 0]));
  for (const c of clients) assert.ok((c.closedAfterMs ?? 0) >= TIMEOUT_MS - 50, `closed after ${c.closedAfterMs} ms`);
});

test('a head sent a byte at a time past the timeout is closed without an answer', async (t) => {
  const path = await serve(t);
  const c = connect(path);
  const head = 'GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n';
  for (let i = 0; i < head.length && !c.closed; i++) {
    c.s.write(head.slice(i, i + 1));
    await sleep(100);
  }
  await allClosed([c], 10 * TIMEOUT_MS);
  assert.equal(c.closed, true);
  assert.equal(c.s.bytesRead, 0);
});

test('connections whose deadline passed while the event loop was stalled are closed without an answer too', async (t) => {
  // Under load the server's timers run late; the 408 Node would write then was left unread by such
  // clients, which never saw the close (e2e hostile-input, 1 run in 4 at load 22).
  const path = await serve(t);
  const clients = Array.from({ length: 100 }, () => connect(path));
  // A stall that starts before the deadlines and ends after them: the server's expiry check, due
  // first, then finds every connection late (the case where Node's 408 went out).
  await sleep(TIMEOUT_MS * 0.4);
  const until = Date.now() + TIMEOUT_MS * 1.2;
  while (Date.now() < until);
  await allClosed(clients, 10 * TIMEOUT_MS);
  const answered = clients.filter((c) => !c.closed || c.s.bytesRead > 0).map((c) => `closed ${c.closed}, got ${c.s.bytesRead} bytes`);
  assert.deepEqual(answered, []);
});

test('a request in time is served; heads refused before routing get Go\'s text/plain answers, as dockerd gives them', async (t) => {
  const path = await serve(t);
  const ask = (head: string): Promise<string> =>
    new Promise((resolve) => {
      const s = net.connect(path);
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.on('error', () => undefined);
      s.on('close', () => resolve(got));
      s.end(head);
    });
  // Go's net/http (conn.serve): the status line, these two headers, no length, the status again as the body.
  const go = (status: string, body = status): string => `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${body}`;
  assert.match(await ask('GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 OK\r\n[^]*"OK"\n$/);
  assert.match(await ask('GET /_ping HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 OK\r\n/, 'HTTP/1.0 needs no Host');
  assert.equal(await ask('NOT HTTP AT ALL\r\n\r\n'), go('400 Bad Request'));
  assert.equal(await ask('GET /_ping HTTP/1.1\r\nHost: d\r\nBad Header: x\r\n\r\n'), go('400 Bad Request'));
  assert.equal(await ask('POST /_ping HTTP/1.1\r\nHost: d\r\nContent-Length: abc\r\n\r\n'), go('400 Bad Request'));
  assert.equal(await ask(`GET /_ping HTTP/1.1\r\nHost: d\r\nX-Big: ${'x'.repeat(1 << 20)}\r\n\r\n`), go('431 Request Header Fields Too Large'));
  for (const coding of ['gzip', 'gzip, chunked', 'chunked\r\nTransfer-Encoding: chunked']) {
    assert.equal(await ask(`POST /_ping HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: ${coding}\r\n\r\n0\r\n\r\n`), go('501 Not Implemented', 'Unsupported transfer encoding'), coding);
  }
  assert.equal(await ask('GET /_ping HTTP/1.1\r\n\r\n'), go('400 Bad Request: missing required Host header'));
  assert.equal(await ask('GET /_ping HTTP/1.1\r\nHost: d\r\nHost: e\r\n\r\n'), go('400 Bad Request: too many Host headers'));
  assert.equal(await ask('GET /_ping HTTP/1.1\r\nHost: a b\r\n\r\n'), go('400 Bad Request: malformed Host header'));
  assert.equal(await ask('GET /_ping HTTP/2.0\r\nHost: d\r\n\r\n'), go('505 HTTP Version Not Supported: unsupported protocol version'));
});
