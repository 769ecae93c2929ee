// The uplink proxy on unix sockets only: the dialer is a fake that connects to a local unix echo
// server, so nothing here opens a TCP connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConnect, uplinkServer } from './uplink.js';

test('parseConnect takes host:port of a CONNECT and refuses anything else', () => {
  assert.deepEqual(parseConnect('CONNECT registry-1.docker.io:443 HTTP/1.1\r\n'), { host: 'registry-1.docker.io', port: 443 });
  assert.deepEqual(parseConnect('CONNECT 203.0.113.1:5000 HTTP/1.0\r\n'), { host: '203.0.113.1', port: 5000 });
  for (const bad of ['GET / HTTP/1.1\r\n', 'CONNECT a:0 HTTP/1.1\r\n', 'CONNECT a:70000 HTTP/1.1\r\n', 'CONNECT -a.b:443 HTTP/1.1\r\n', 'CONNECT a b:443 HTTP/1.1\r\n', 'CONNECT a:443\r\n']) {
    assert.equal(parseConnect(bad), undefined, bad);
  }
});

/** Send `head`, then `payload` once the proxy answered; resolve with everything the proxy sent back. */
function talk(path: string, head: string, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let got = '';
    s.on('data', (d: Buffer) => {
      const first = got === '';
      got += d.toString('latin1');
      if (first && got.startsWith('HTTP/1.1 200')) s.end(payload);
    });
    s.on('end', () => resolve(got));
    s.on('error', reject);
    s.write(head);
  });
}

test('the proxy answers 200, dials the asked host and port, and carries bytes both ways; a bad request gets 400', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-uplink-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const echo = createServer((c) => {
    c.on('error', () => undefined); // the proxy may cut it once the client is gone
    c.pipe(c);
  });
  await new Promise<void>((r) => echo.listen(join(dir, 'echo.sock'), r));
  const dialed: string[] = [];
  const proxy = uplinkServer((host, port): Socket => {
    dialed.push(`${host}:${port}`);
    return createConnection(join(dir, 'echo.sock'));
  });
  await new Promise<void>((r) => proxy.listen(join(dir, 'uplink.sock'), r));
  t.after(() => {
    proxy.close();
    echo.close();
  });
  const out = await talk(join(dir, 'uplink.sock'), 'CONNECT registry.example:443 HTTP/1.1\r\nHost: registry.example:443\r\n\r\n', 'ping');
  assert.equal(out, 'HTTP/1.1 200 Connection Established\r\n\r\nping');
  assert.deepEqual(dialed, ['registry.example:443']);
  const bad = await talk(join(dir, 'uplink.sock'), 'GET http://x/ HTTP/1.1\r\n\r\n', '');
  assert.match(bad, /^HTTP\/1\.1 400 /);
  assert.deepEqual(dialed, ['registry.example:443'], 'nothing dialed for a bad request');
});
