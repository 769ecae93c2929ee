// Hostile input at the edges of the API, against a real redesd: bodies over the limit (413), deeply
// nested JSON, invalid UTF-8 in JSON strings, names with `../`, shell metacharacters or 300
// characters, unknown driver options; and connections that never finish (200 idle, 20 sending a
// byte a second) must not stall a ping or a `docker run`, and are cut off without an answer by the
// header timeout (`--api-header-timeout`, 3 s here); heads that cannot be taken as HTTP (400, 431,
// no Host) get the text/plain answer of dockerd's Go server. Every other refusal is Docker's `{"message"}` JSON;
// nothing is left half made (`redes doctor`), and the daemon log holds no escaped error (the
// sandbox's down()).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { apiRequest, type ApiResponse } from '../helpers/engine-api.js';
import { differences } from '../helpers/consistency.js';
import { drainOrClose } from '../../src/util/index.js';

let sb: Sandbox;
let daemonPid: number | undefined;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'hostl', daemonArgs: ['--api-header-timeout=3'] });
  daemonPid = await sb.daemonPid();
});
after(() => sb?.down());

const api = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
  apiRequest(sb.socket, method, `/v1.50${path}`, { ...(body === undefined ? {} : { body }), timeoutMs: 60_000 });

function refused(r: ApiResponse | RawAnswer, status: number, message: RegExp, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.body.slice(0, 300)}`);
  assert.match(String(r.headers['content-type']), /^application\/json/, what);
  assert.match((JSON.parse(r.body) as { message: string }).message, message, what);
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The daemon closed the connection after answering. */
  closed: boolean;
}

/** Writes `head` (and `body` chunks, ignoring a connection closed under them) and reads the answer. */
function raw(head: string, body: AsyncIterable<Buffer> | Buffer = Buffer.alloc(0)): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sb.socket);
    let got = Buffer.alloc(0);
    let answered: RawAnswer | undefined;
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`no answer to ${head.split('\r\n')[0]}`))), 60_000);
    s.on('error', () => undefined); // EPIPE while the rest of a refused body is written
    s.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0 || answered) return;
      const lines = got.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const len = Number(headers['content-length'] ?? 0);
      if (got.length < end + 4 + len) return;
      answered = { status: Number(lines[0]?.split(' ')[1]), headers, body: got.subarray(end + 4, end + 4 + len).toString('utf8'), closed: false };
      // A connection the daemon keeps: ours to close (a 413 says `Connection: close` and is closed).
      if (headers.connection !== 'close') s.destroy();
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (answered) resolve({ ...answered, closed: answered.headers.connection === 'close' });
      else reject(new Error(`connection closed without an answer to ${head.split('\r\n')[0]}: got ${JSON.stringify(got.toString('latin1').slice(0, 300))}`));
    });
    s.write(head);
    void (async () => {
      for await (const c of Buffer.isBuffer(body) ? [body] : body) {
        if (s.destroyed || answered) break;
        if (!s.write(c)) await drainOrClose(s);
      }
    })();
  });
}

async function* megabytes(n: number, chunked: boolean): AsyncIterable<Buffer> {
  const mb = Buffer.alloc(1 << 20, 0x20);
  for (let i = 0; i < n; i++) yield chunked ? Buffer.concat([Buffer.from(`${mb.length.toString(16)}\r\n`), mb, Buffer.from('\r\n')]) : mb;
}

test('a JSON body over 16 MiB is 413 with Docker\'s error shape and the connection is closed', async () => {
  const size = 17 << 20;
  const declared = await raw(`POST /v1.50/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`);
  refused(declared, 413, /^request body too large: more than 16777216 bytes$/, 'declared length');
  assert.equal(declared.closed, true);
  // No length given: refused once 16 MiB have come, while the client is still sending (the daemon
  // reads the rest away until the client closes, so the 413 is not lost to a reset).
  const chunked = await raw('POST /v1.50/networks/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n', megabytes(18, true));
  refused(chunked, 413, /^request body too large: more than 16777216 bytes$/, 'chunked, no length');
  assert.equal(chunked.closed, true);
  // exec start reads its body itself (the connection may be hijacked): 1 MiB there.
  const exec = await raw(`POST /v1.50/exec/x/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${2 << 20}\r\n\r\n`);
  refused(exec, 413, /^request body too large: more than 1048576 bytes$/, 'exec start');
  assert.equal((await api('GET', '/_ping')).status, 200);
});

/** Writes `head` and reads everything until the daemon closes the connection (bounded). */
function untilClosed(head: string): Promise<{ answer: string; closedByDaemon: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(sb.socket);
    let answer = '';
    const timer = setTimeout(() => s.destroy(), 30_000);
    s.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    s.on('error', () => undefined);
    s.on('end', () => s.end());
    s.on('close', () => (clearTimeout(timer), resolve({ answer, closedByDaemon: s.readableEnded })));
    s.write(head);
  });
}

test('a head the daemon cannot take gets the text/plain answer of dockerd\'s Go server, and the connection is closed', async () => {
  // Go's net/http writes these itself (conn.serve), before any handler: status line, these two
  // headers, no length, the status line again as the body; a JSON or empty body would not be dockerd's.
  const go = (status: string, body = status): string => `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${body}`;
  const cases: Array<[string, string, string]> = [
    ['a request line that is not HTTP', 'GET\x00 / HTTP/1.1\r\nHost: d\r\n\r\n', go('400 Bad Request')],
    ['a header name with a space', 'GET /_ping HTTP/1.1\r\nHost: d\r\nBad Name: x\r\n\r\n', go('400 Bad Request')],
    ['a head over 1 MiB', `GET /_ping HTTP/1.1\r\nHost: d\r\nX-Big: ${'x'.repeat((1 << 20) + 1024)}\r\n\r\n`, go('431 Request Header Fields Too Large')],
    ['no Host header', 'GET /v1.50/containers/json HTTP/1.1\r\n\r\n', go('400 Bad Request: missing required Host header')],
    ['two Host headers', 'GET /_ping HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', go('400 Bad Request: too many Host headers')],
    ['an upgrade with no Host header', 'POST /v1.50/exec/x/start HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n', go('400 Bad Request: missing required Host header')],
    ['a gzip transfer coding', 'POST /v1.50/networks/create HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: gzip\r\n\r\n', go('501 Not Implemented', 'Unsupported transfer encoding')],
  ];
  for (const [what, head, expected] of cases) {
    const r = await untilClosed(head);
    assert.equal(r.answer, expected, what);
    assert.equal(r.closedByDaemon, true, `${what}: the daemon closed the connection`);
  }
  assert.equal((await api('GET', '/_ping')).status, 200);
  assert.deepEqual(await differences(sb), []);
});

test('deeply nested JSON is 400 "invalid JSON: exceeded max depth" wherever JSON is read', async () => {
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  const bodies: Array<[string, string]> = [
    ['/containers/create', `{"Image":"busybox","Cmd":["true"],"Volumes":{"/v":${deep(100_000)}}}`],
    ['/containers/create', `{"Image":"busybox","Healthcheck":{"Test":${deep(5_000)}}}`],
    ['/networks/create', `{"Name":"deep","Labels":{"a":${deep(100_000)}}}`],
    ['/volumes/create', `{"Name":"deep","DriverOpts":${deep(2_000)}}`],
    ['/exec/x/start', `{"Detach":true,"X":${deep(100_000)}}`],
  ];
  for (const [path, body] of bodies) refused(await api('POST', path, body), 400, /^invalid JSON: exceeded max depth$/, path);
  const f = await api('GET', `/containers/json?filters=${encodeURIComponent(`{"label":${deep(100_000)}}`)}`);
  refused(f, 400, /^invalid filter$/, 'filters');
  const long = `{"${'k'.repeat(5_000)}":["v"]}`;
  refused(await api('GET', `/networks?filters=${encodeURIComponent(long)}`), 400, new RegExp(`^invalid filter 'k{128}\\.\\.\\. \\(5000 characters\\)'$`), 'a long filter key');
  refused(await api('GET', `/containers/json?filters=${encodeURIComponent(`{"x": ${'['.repeat(10)}`)}`), 400, /^invalid filter$/, 'cut JSON');
  assert.deepEqual((await api('GET', '/networks')).json<Array<{ Name: string }>>().map((n) => n.Name).sort(), ['bridge', 'host', 'none']);
});

test('invalid UTF-8 in JSON strings reads as U+FFFD (as Go does), in names and labels', async () => {
  const bad = Buffer.from([0xff, 0xfe, 0x80]);
  const body = (name: Buffer, label: Buffer): Buffer =>
    Buffer.concat([Buffer.from('{"Name":"'), name, Buffer.from('","Labels":{"l":"'), label, Buffer.from('"}}')]);
  const head = (n: number): string => `POST /v1.50/networks/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: ${n}\r\n\r\n`;
  const b = body(Buffer.concat([Buffer.from('u8'), bad]), Buffer.concat([Buffer.from('a'), bad]));
  const ok = await raw(head(b.length), b);
  assert.equal(ok.status, 201, ok.body);
  const { Id } = JSON.parse(ok.body) as { Id: string };
  const shown = (await api('GET', `/networks/${Id}`)).json<{ Name: string; Labels: Record<string, string> }>();
  assert.deepEqual([shown.Name, shown.Labels.l], ['u8\ufffd\ufffd\ufffd', 'a\ufffd\ufffd\ufffd']);
  assert.equal((await api('DELETE', `/networks/${Id}`)).status, 204);
  const c = Buffer.concat([Buffer.from('{"Image":"busybox","Cmd":["true"],"Env":["A='), bad, Buffer.from('"]}')]);
  const created = await raw(`POST /v1.50/containers/create?name=u8 HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: ${c.length}\r\n\r\n`, c);
  assert.equal(created.status, 201, created.body);
  assert.equal((await api('DELETE', '/containers/u8')).status, 204);
});

test('names: ../ and shell metacharacters are 400 for containers and volumes, inert for networks; 300 characters', async () => {
  for (const n of ['../x', '..', 'a/../../b', '$(id)', 'a;b', 'a b', '`id`']) {
    refused(await api('POST', `/containers/create?name=${encodeURIComponent(n)}`, { Image: 'busybox', Cmd: ['true'] }), 400, /Invalid container name/, `container ${n}`);
    refused(await api('POST', '/volumes/create', { Name: n }), 400, /includes invalid characters for a local volume name|too short/, `volume ${n}`);
    // Docker takes any network name; it names no file or kernel object (the bridge is named by id).
    const r = await api('POST', '/networks/create', { Name: n });
    assert.equal(r.status, 201, `network ${n}`);
    const { Id } = r.json<{ Id: string }>();
    assert.equal((await api('GET', `/networks/${Id}`)).json<{ Name: string }>().Name, n);
    assert.equal((await api('DELETE', `/networks/${Id}`)).status, 204, `rm network ${n}`);
  }
  for (const p of ['/containers/..%2F..%2Fetc%2Fpasswd/json', '/networks/..%2F..', '/volumes/..%2F..%2Fetc']) {
    refused(await api('GET', p), 404, /./, p);
  }
  const long = 'c'.repeat(300);
  assert.equal((await api('POST', `/containers/create?name=${long}`, { Image: 'busybox', Cmd: ['sleep', '60'] })).status, 201);
  assert.equal((await api('POST', `/containers/${long}/start`)).status, 204);
  assert.equal((await api('GET', `/containers/${long}/json`)).json<{ Name: string }>().Name, `/${long}`);
  assert.equal((await api('DELETE', `/containers/${long}?force=1`)).status, 204);
  const net300 = 'n'.repeat(300);
  assert.equal((await api('POST', '/networks/create', { Name: net300 })).status, 201);
  assert.equal((await api('DELETE', `/networks/${net300}`)).status, 204);
  refused(await api('POST', '/volumes/create', { Name: 'v'.repeat(300) }), 400, /volume name is too long/, 'volume of 300');
  assert.deepEqual(await differences(sb), []);
});

test('unknown driver options are kept and ignored, as Docker does; bad values of known ones are 400', async () => {
  const r = await api('POST', '/networks/create', { Name: 'opts', Options: { 'com.docker.network.bridge.nope': 'x', foo: '../$(id)' } });
  assert.equal(r.status, 201, r.body);
  const shown = (await api('GET', '/networks/opts')).json<{ Options: Record<string, string> }>().Options;
  assert.equal(shown.foo, '../$(id)');
  assert.equal((await api('DELETE', '/networks/opts')).status, 204);
  refused(await api('POST', '/networks/create', { Name: 'o2', Options: { 'com.docker.network.bridge.name': '../x' } }), 400, /invalid bridge name/, 'bridge name');
  refused(await api('POST', '/networks/create', { Name: 'o3', Options: { 'com.docker.network.driver.mtu': '9'.repeat(30) } }), 400, /invalid MTU/, 'mtu');
});

const daemonFds = async (): Promise<number> => (await readdir(`/proc/${await sb.daemonPid()}/fd`)).length;

test('200 idle and 20 byte-a-second connections stall neither a ping nor docker run, and are cut off', async (t) => {
  const fdsBefore = await daemonFds();
  const conns: Array<{ s: net.Socket; closed: boolean }> = [];
  const open = (): { s: net.Socket; closed: boolean } => {
    const c = { s: net.connect(sb.socket), closed: false };
    c.s.on('error', () => undefined);
    c.s.on('close', () => (c.closed = true));
    conns.push(c);
    return c;
  };
  for (let i = 0; i < 200; i++) open();
  const head = 'POST /v1.50/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}';
  const slow = Array.from({ length: 20 }, () => open());
  let k = 0;
  const drip = setInterval(() => {
    for (const c of slow) if (!c.s.destroyed) c.s.write(head[k % head.length] ?? '');
    k++;
  }, 1000);
  try {
    assert.equal((await api('GET', '/_ping')).status, 200);
    const run = await sb.docker(['run', '--rm', 'busybox', 'echo', 'still serving'], { timeoutMs: 120_000 });
    assert.equal(run.stdout.trim(), 'still serving');
    // The header timeout (3 s, checked every 300 ms) cuts them all; generous under load.
    for (let i = 0; i < 120 && conns.some((c) => !c.closed); i++) await sleep(250);
    const shown = conns.map((c, i) => ({ c, what: `${i < 200 ? 'idle' : 'slow'} sent ${c.s.bytesWritten} got ${c.s.bytesRead}` }));
    const left = shown.filter(({ c }) => !c.closed).map(({ what }) => what);
    t.diagnostic(`hostile connections: ${conns.length} opened (200 idle, 20 slow), ${conns.length - left.length} cut by the daemon`);
    // Cut without an answer, as dockerd does. These clients never read, so an answer (Node's 408)
    // would also hide the close from them: they would look open.
    assert.deepEqual(shown.filter(({ c }) => c.s.bytesRead > 0).map(({ what }) => what), [], 'no idle or slow connection got an answer');
    assert.deepEqual(left, [], 'every idle or slow connection was closed by the daemon');
  } finally {
    clearInterval(drip);
    for (const c of conns) c.s.destroy();
  }
  for (let i = 0; i < 40 && (await daemonFds()) > fdsBefore + 5; i++) await sleep(250);
  assert.ok((await daemonFds()) <= fdsBefore + 5, `the daemon holds ${await daemonFds()} fds, ${fdsBefore} before`);
  assert.equal((await api('GET', '/_ping')).status, 200);
  assert.deepEqual(await differences(sb), []);
  // No crash: the daemon that took every hostile input of this file is the one started first.
  const pid = await sb.daemonPid();
  t.diagnostic(`daemon crashes: ${pid === daemonPid ? 0 : 1} (pid ${daemonPid}, now ${pid})`);
  assert.equal(pid, daemonPid, 'the daemon was not restarted');
});
