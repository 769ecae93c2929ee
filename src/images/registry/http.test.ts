// Registry HTTP through an uplink (a CONNECT proxy on a unix socket), on unix sockets only: the fake
// proxy hands the tunnelled connection to an in-process HTTP server instead of dialing anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBody, send } from './http.js';

test('send goes through the uplink: CONNECT host:port, then the request on the tunnel; a refusal is an error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-http-uplink-'));
  const web = createHttpServer((req, res) => res.end(`${req.method} ${req.url} host=${req.headers.host}`));
  const asked: string[] = [];
  const proxy = createServer((c) => {
    c.once('data', (d: Buffer) => {
      const line = d.toString('latin1').split('\r\n')[0] ?? '';
      asked.push(line);
      if (line.includes('refused.test')) return void c.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      c.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      web.emit('connection', c);
    });
  });
  await new Promise<void>((r) => proxy.listen(join(dir, 'uplink.sock'), r));
  t.after(async () => {
    proxy.close();
    web.close();
    await rm(dir, { recursive: true, force: true });
  });
  const res = await send({ url: new URL('http://registry.test:5000/v2/'), method: 'GET', uplink: join(dir, 'uplink.sock') });
  assert.equal(res.statusCode, 200);
  assert.equal((await readBody(res)).toString(), 'GET /v2/ host=registry.test:5000');
  assert.deepEqual(asked, ['CONNECT registry.test:5000 HTTP/1.1']);
  await assert.rejects(send({ url: new URL('http://refused.test/v2/'), method: 'GET', uplink: join(dir, 'uplink.sock') }), /uplink refused refused\.test:80: HTTP\/1\.1 502 Bad Gateway/);
});
