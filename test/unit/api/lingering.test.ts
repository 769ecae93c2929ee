/**
 * Requests refused before their body was read (413): the answer reaches a client that is still
 * sending, because the server half-closes and reads the rest away instead of closing under it (a
 * close with unread bytes resets the connection: the client's next write fails with EPIPE and the
 * client drops the answer). Against the real API server (fake engine) on a unix socket, and
 * `lingeringClose` alone for its bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closingAnswer, lingeringClose, track } from '../../../src/api/connection.js';
import { splitHead, startFakeEngine } from '../../helpers/fake-engine.js';

const MB = Buffer.alloc(1 << 20, 0x20);
const CHUNK = Buffer.concat([Buffer.from(`${MB.length.toString(16)}\r\n`), MB, Buffer.from('\r\n')]);

interface Outcome {
  answer: Buffer;
  /** Write errors the client saw (EPIPE, ECONNRESET). */
  errors: string[];
  /** The server ended its side with a FIN (not a reset). */
  ended: boolean;
}

/**
 * Sends `head`, then `before` chunks, waits for the whole answer, then sends `after` more chunks
 * (a client that goes on writing after the answer, or had them in flight), then ends.
 */
function send(s: Socket, head: string, chunk: Buffer, before: number, after: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const errors: string[] = [];
    let got = Buffer.alloc(0);
    let ended = false;
    let answered: () => void = () => undefined;
    const answer = new Promise<void>((r) => (answered = r));
    s.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    s.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      const end = got.indexOf('\r\n\r\n');
      if (end >= 0 && got.length >= end + 4 + Number(splitHead(got).headers['content-length'])) answered();
    });
    s.on('end', () => (ended = true));
    s.on('close', () => resolve({ answer: got, errors, ended }));
    const write = async (n: number): Promise<void> => {
      for (let i = 0; i < n && !s.destroyed; i++) {
        if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
      }
    };
    s.write(head);
    void (async () => {
      await Promise.race([write(before), answer]);
      await answer;
      await write(after);
      if (!s.destroyed) s.end();
    })();
  });
}

function refused(o: Outcome, limit: number): void {
  const { status, headers, body } = splitHead(o.answer);
  assert.equal(status, 413, o.answer.toString().slice(0, 200));
  assert.equal(headers.connection, 'close');
  assert.equal(headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(body.toString()), { message: `request body too large: more than ${limit} bytes` });
  assert.deepEqual(o.errors, [], 'no write of the client failed');
  assert.equal(o.ended, true, 'the server half-closed');
}

test('a chunked body over 16 MiB: the client reads the 413 and may go on writing until it closes', async (t) => {
  const e = await startFakeEngine(t);
  const head = 'POST /v1.50/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
  refused(await send(await e.raw(), head, CHUNK, 40, 8), 16 << 20);
});

test('a declared length over 16 MiB, body sent anyway: 413 and the body is read away', async (t) => {
  const e = await startFakeEngine(t);
  const head = `POST /v1.50/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${17 << 20}\r\n\r\n`;
  refused(await send(await e.raw(), head, MB, 0, 17), 16 << 20);
});

test('exec start over 1 MiB on an upgrade: 413 and the body is read away', async (t) => {
  const e = await startFakeEngine(t);
  const head = `POST /v1.50/exec/x/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${4 << 20}\r\n\r\n`;
  refused(await send(await e.raw(), head, MB, 0, 4), 1 << 20);
});

test('lingeringClose ends a client that sends forever, and one that goes silent, within its bounds', { timeout: 30_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redes-linger-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 's.sock');
  let closed = 0;
  let bothClosed: () => void = () => undefined;
  const done = new Promise<void>((r) => (bothClosed = r));
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
    s.on('error', () => undefined);
    s.on('close', () => ++closed === 2 && bothClosed());
    lingeringClose(track(s), closingAnswer(413, '{"message":"x"}'), { idleMs: 200, totalMs: 1_000 });
  });
  await new Promise<void>((r) => server.listen(path, r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const client = (): Promise<Socket> =>
    new Promise((r) => {
      const s = connect(path, () => r(s));
      s.on('error', () => undefined).resume();
    });
  // Never closes and sends nothing: cut by the idle bound.
  const silent = await client();
  // Never closes and sends all the time: cut by the total bound.
  const busy = await client();
  const writing = setInterval(() => busy.write(MB), 20);
  await done;
  clearInterval(writing);
  silent.destroy();
  busy.destroy();
  assert.equal(closed, 2);
});
