/**
 * Raw Engine API requests over a unix socket with node's http client, for tests and benchmarks that
 * check what the docker CLI hides (status codes, headers, exact bodies) or that time the daemon alone.
 *
 * Use: `const r = await apiRequest(sb.socket, 'GET', '/_ping')`; `r.status`, `r.headers`, `r.body`,
 * `r.json()`. Pass a keep-alive `agent` (see `keepAliveAgent`) to reuse one connection, as the
 * docker CLI does within one command. `hijack(...)` opens an attach or exec stream by hand.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T = unknown>(): T;
}

/** Docker's error answer: `status`, JSON, exactly `{"message": ...}` with a text matching `re`. */
export function assertDockerError(r: ApiResponse, status: number, re: RegExp): void {
  assert.equal(r.status, status, r.body);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  const body = r.json<Record<string, unknown>>();
  assert.deepEqual(Object.keys(body), ['message'], r.body);
  assert.match(String(body.message), re);
}

export interface ApiRequestOptions {
  /** A value to send as JSON, or a string sent as is (for malformed bodies). */
  body?: unknown;
  headers?: Record<string, string>;
  agent?: http.Agent;
  timeoutMs?: number;
}

export function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 1 });
}

export function apiRequest(socketPath: string, method: string, path: string, opts: ApiRequestOptions = {}): Promise<ApiResponse> {
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}), ...opts.headers };
  if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, headers, agent: opts.agent, timeout: opts.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${opts.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A hijacked connection after `101 UPGRADED`: the raw socket, and the bytes after the head. */
export interface Hijacked {
  socket: net.Socket;
  head: string;
  /** Output bytes that arrived with the head. */
  rest: Buffer;
}

/**
 * Sends an upgrading POST (as the docker CLI does for attach and exec start) and resolves once the
 * response head arrived; the caller owns the socket (write stdin, destroy it to vanish).
 */
export function hijack(socketPath: string, path: string, body: unknown): Promise<Hijacked> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let got = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      got = Buffer.concat([got, c]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause();
      resolve({ socket, head: got.subarray(0, end).toString('utf8'), rest: got.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
    );
  });
}
