/**
 * Hijacked streams, status codes and streaming responses over raw HTTP on a unix socket, against
 * the container routes over FakeContainers (handlers/test-support.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { FrameDecoder, type StreamName } from '../../../src/api/stream-framing.js';
import { closeHijacked } from '../../../src/api/connection.js';
import { readAll, splitHead, startFakeEngine, type FakeEngine } from '../../helpers/fake-engine.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function request(e: FakeEngine, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest({ socketPath: e.sock, method, path, headers: data ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function frames(b: Buffer): Array<[StreamName, string]> {
  return new FrameDecoder().push(b).map((f) => [f.stream, f.data.toString()]);
}

async function container(e: FakeEngine, body: Record<string, unknown>, start = true): Promise<string> {
  const { id } = await e.fake.create(undefined, { Image: 'busybox', ...body }, '1.50');
  if (start) await e.fake.start(id);
  return id;
}

/** Resolves once the fake's container has exited (its program runs after start answers). */
async function exitOf(e: FakeEngine, id: string): Promise<void> {
  for (let i = 0; i < 200 && e.fake.resolve(id).state.status !== 'exited'; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(e.fake.resolve(id).state.status, 'exited');
}

function send(s: Socket, text: string | Buffer): void {
  s.write(text);
}

const UPGRADE = 'Connection: Upgrade\r\nUpgrade: tcp\r\n';

test('attach with Upgrade answers 101 with the multiplexed type and ends the stream at exit', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['say-exit', '4', 'to out', 'to err'] }, false);
  const s = await e.raw();
  const all = readAll(s);
  send(s, `POST /v1.50/containers/${id}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`);
  await new Promise((r) => setTimeout(r, 50));
  await e.fake.start(id);
  const r = splitHead(await all);
  assert.equal(r.status, 101);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  assert.equal(r.headers.upgrade, 'tcp');
  assert.deepEqual(frames(r.body), [['stdout', 'to out\n'], ['stderr', 'to err\n']]);
});

test('attach without Upgrade answers 200 raw-stream; stdin flows and the half-close ends it', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['cat'], OpenStdin: true });
  const s = await e.raw();
  const all = readAll(s);
  send(s, `POST /containers/${id}/attach?stream=1&stdin=1&stdout=1 HTTP/1.1\r\nHost: x\r\n\r\n`);
  await new Promise((r) => setTimeout(r, 50));
  send(s, 'abc');
  send(s, 'def');
  s.end(); // half-close: the container's stdin ends, cat exits, the server ends the stream
  const r = splitHead(await all);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.equal(frames(r.body).map((f) => f[1]).join(''), 'abcdef');
  assert.equal(e.fake.resolve(id).state.status, 'exited');
});

test('an old API version gets raw-stream as type but still frames without a tty', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['say-exit', '0', 'hi'] }, false);
  const s = await e.raw();
  const all = readAll(s);
  send(s, `POST /v1.41/containers/${id}/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`);
  await new Promise((r) => setTimeout(r, 50));
  await e.fake.start(id);
  const r = splitHead(await all);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.deepEqual(frames(r.body), [['stdout', 'hi\n']]);
});

test('errors before the switch are JSON responses with Docker\'s status on the upgrade path', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['sleep'] });
  const cases: Array<[string, number, string]> = [
    ['/containers/nope/attach?stream=1', 404, 'No such container: nope'],
    ['/v1.99/containers/nope/attach', 400, 'client version 1.99 is too new. Maximum supported API version is 1.50'],
    ['/nothing/here', 404, 'page not found'],
    [`/containers/${id}/attach?detachKeys=ctrl-%3F%3F`, 400, 'Invalid detach keys (ctrl-??) provided'],
    [`/containers/${id}/start`, 400, `POST /containers/${id}/start does not upgrade the connection`],
    ['/exec/nope/start', 404, 'No such exec instance: nope'],
  ];
  for (const [path, status, message] of cases) {
    const s = await e.raw();
    const all = readAll(s);
    send(s, `POST ${path} HTTP/1.1\r\nHost: x\r\n${UPGRADE}Content-Length: 2\r\n\r\n{}`);
    const r = splitHead(await all);
    assert.equal(r.status, status, path);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(r.body.toString()), { message }, path);
  }
  // and on the plain path through the normal error writer
  const plain = await request(e, 'POST', '/containers/nope/attach?stream=1');
  assert.equal(plain.status, 404);
  assert.deepEqual(JSON.parse(plain.body), { message: 'No such container: nope' });
});

test('exec start reads its JSON body by Content-Length; bytes after it are stdin', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['sleep'] });
  const created = await request(e, 'POST', `/containers/${id}/exec`, { Cmd: ['cat'], AttachStdin: true, AttachStdout: true });
  assert.equal(created.status, 201);
  const execId = (JSON.parse(created.body) as { Id: string }).Id;
  const body = JSON.stringify({ Detach: false, Tty: false });
  const s = await e.raw();
  const all = readAll(s);
  // head, body and the first stdin bytes in one write, then more stdin and the half-close
  send(s, `POST /exec/${execId}/start HTTP/1.1\r\nHost: x\r\n${UPGRADE}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}first `);
  await new Promise((r) => setTimeout(r, 50));
  send(s, 'second');
  s.end();
  const r = splitHead(await all);
  assert.equal(r.status, 101);
  assert.equal(frames(r.body).map((f) => f[1]).join(''), 'first second');
  const inspect = JSON.parse((await request(e, 'GET', `/exec/${execId}/json`)).body) as Record<string, unknown>;
  assert.equal(inspect.ExitCode, 0);
  assert.equal(inspect.Running, false);
  assert.equal(inspect.ContainerID, id);
});

test('exec start waits for a body that comes after the head in a later packet', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['sleep'] });
  const created = await request(e, 'POST', `/containers/${id}/exec`, { Cmd: ['cat'], AttachStdin: true, Tty: true });
  const execId = (JSON.parse(created.body) as { Id: string }).Id;
  const body = JSON.stringify({ Tty: true, ConsoleSize: [20, 70] });
  const s = await e.raw();
  const all = readAll(s);
  send(s, `POST /v1.50/exec/${execId}/start HTTP/1.1\r\nHost: x\r\n${UPGRADE}Content-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
  await new Promise((r) => setTimeout(r, 30));
  send(s, body.slice(5));
  await new Promise((r) => setTimeout(r, 30));
  send(s, 'typed');
  s.end();
  const r = splitHead(await all);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.equal(r.body.toString(), 'typed');
  assert.deepEqual(e.fake.calls.find((c) => c[0] === 'execStart')?.[2], { detach: false, tty: true, consoleSize: [20, 70] });
});

test('exec start with Detach answers 200 with no stream; bad resize values get Docker\'s 400', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['sleep'] });
  const execId = (JSON.parse((await request(e, 'POST', `/containers/${id}/exec`, { Cmd: ['echo', 'x'] })).body) as { Id: string }).Id;
  const r = await request(e, 'POST', `/exec/${execId}/start`, { Detach: true });
  assert.equal(r.status, 200);
  assert.equal(r.body, '');
  assert.deepEqual(e.fake.calls.find((c) => c[0] === 'execStart')?.[2], { detach: true, tty: false });
  const bad = await request(e, 'POST', `/exec/${execId}/resize?h=x&w=80`);
  assert.equal(bad.status, 400);
  assert.deepEqual(JSON.parse(bad.body), { message: 'invalid resize height "x": strconv.ParseUint: parsing "x": invalid syntax' });
  const noCmd = await request(e, 'POST', `/containers/${id}/exec`, {});
  assert.deepEqual([noCmd.status, JSON.parse(noCmd.body)], [400, { message: 'No exec command specified' }]);
  assert.equal((await request(e, 'POST', `/containers/${id}/resize?h=24&w=80`)).status, 200);
  assert.deepEqual(e.fake.fake(id).resized, [24, 80]);
});

test('start and stop answer 304 when there is nothing to do; a start body is refused', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['sleep'] }, false);
  assert.equal((await request(e, 'POST', `/containers/${id}/start`)).status, 204);
  assert.equal((await request(e, 'POST', `/containers/${id}/start`)).status, 304);
  const withBody = await request(e, 'POST', `/containers/${id}/start`, { Binds: ['/a:/b'] });
  assert.equal(withBody.status, 400);
  assert.match(withBody.body, /starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24/);
  assert.equal((await request(e, 'POST', `/containers/${id}/stop?t=1&signal=SIGUSR1`)).status, 204);
  assert.deepEqual(e.fake.calls.find((c) => c[0] === 'stop')?.[2], { timeout: 1, signal: 'SIGUSR1' });
  assert.equal((await request(e, 'POST', `/containers/${id}/stop`)).status, 304);
  const badT = await request(e, 'POST', `/containers/${id}/stop?t=soon`);
  assert.deepEqual([badT.status, JSON.parse(badT.body)], [400, { message: 'strconv.Atoi: parsing "soon": invalid syntax' }]);
  assert.equal((await request(e, 'POST', `/v1.41/containers/${id}/restart?signal=SIGUSR1`)).status, 204);
  assert.deepEqual(e.fake.calls.find((c) => c[0] === 'restart')?.[2], {}, 'signal is ignored before API 1.42');
});

test('wait sends its headers at once and the body when the condition holds', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['sleep'] });
  const bad = await request(e, 'POST', `/containers/${id}/wait?condition=soon`);
  assert.deepEqual([bad.status, JSON.parse(bad.body)], [400, { message: 'invalid condition: "soon"' }]);
  const notFound = await request(e, 'POST', '/containers/nope/wait');
  assert.equal(notFound.status, 404);
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpRequest({ socketPath: e.sock, method: 'POST', path: `/containers/${id}/wait?condition=next-exit` }, (res) => {
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'application/json');
      assert.equal(e.fake.resolve(id).state.status, 'running', 'headers came before the exit');
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      void e.fake.kill(id);
    });
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual(JSON.parse(body), { StatusCode: 137 });
});

test('logs: multiplexed type and frames, raw for tty, 400 without a stream', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['say-exit', '0', 'o', 'e'] });
  await exitOf(e, id);
  const none = await request(e, 'GET', `/containers/${id}/logs`);
  assert.deepEqual([none.status, JSON.parse(none.body)], [400, { message: "must specify at least one of 'stdout' or 'stderr'" }]);
  const badSince = await request(e, 'GET', `/containers/${id}/logs?stdout=1&since=yesterday`);
  assert.equal(badSince.status, 400);
  const s = await e.raw();
  const all = readAll(s);
  send(s, `GET /containers/${id}/logs?stdout=1&stderr=1&tail=all HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  const r = splitHead(await all);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  const decoded = new FrameDecoder().push(dechunk(r.body)).map((f) => [f.stream, f.data.toString()]);
  assert.deepEqual(decoded, [['stdout', 'o\n'], ['stderr', 'e\n']]);

  const ttyId = await container(e, { Cmd: ['echo', 'on tty'], Tty: true });
  await exitOf(e, ttyId);
  const tty = await request(e, 'GET', `/containers/${ttyId}/logs?stdout=1`);
  assert.equal(tty.headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.equal(tty.body, 'on tty\n');
});

test('tty attach: raw stream, and the detach keys end the stream but not the container', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['tty-echo'], Tty: true, OpenStdin: true });
  const s = await e.raw();
  const all = readAll(s);
  send(s, `POST /containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-x HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`);
  await new Promise((r) => setTimeout(r, 50));
  send(s, 'hi');
  await new Promise((r) => setTimeout(r, 50));
  send(s, Buffer.from([24]));
  const r = splitHead(await all);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.equal(r.body.toString(), 'hi');
  assert.equal(e.fake.resolve(id).state.status, 'running');
  s.destroy();
});

test('list passes all, limit and filters; inspect 404s with Docker\'s message', async (t) => {
  const e = await startFakeEngine(t);
  await container(e, { Cmd: ['sleep'] });
  await container(e, { Cmd: ['echo'] }, false);
  const running = JSON.parse((await request(e, 'GET', '/containers/json')).body) as unknown[];
  assert.equal(running.length, 1);
  const all = JSON.parse((await request(e, 'GET', '/containers/json?all=1&limit=1&filters=%7B%7D')).body) as unknown[];
  assert.equal(all.length, 1);
  assert.deepEqual(e.fake.calls.filter((c) => c[0] === 'list').at(-1)?.[1], { all: true, filters: '{}', limit: 1 });
  const bad = await request(e, 'GET', '/containers/json?limit=ten');
  assert.equal(bad.status, 400);
  const missing = await request(e, 'GET', '/containers/nope/json');
  assert.deepEqual([missing.status, JSON.parse(missing.body)], [404, { message: 'No such container: nope' }]);
});

/** Removes HTTP/1.1 chunked transfer coding from a raw body. */
function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i < b.length) {
    const eol = b.indexOf('\r\n', i);
    const size = parseInt(b.subarray(i, eol).toString(), 16);
    if (!size) break;
    out.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

test('closeHijacked ends open attachments so that the server can close', async (t) => {
  const e = await startFakeEngine(t);
  const id = await container(e, { Cmd: ['sleep'] });
  const s = await e.raw();
  const all = readAll(s);
  send(s, `POST /containers/${id}/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`);
  await new Promise((r) => setTimeout(r, 50));
  closeHijacked();
  assert.equal(splitHead(await all).status, 101);
  for (let i = 0; i < 100 && e.fake.fake(id).sessions.size > 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(e.fake.fake(id).sessions.size, 0, 'the session was closed');
});
