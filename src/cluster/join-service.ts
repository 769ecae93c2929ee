/**
 * The join endpoint of a manager (TCP 2377, TLS with the manager's node certificate) and its client.
 * A joining node first fetches the CA certificate without trusting it, checks it against the digest
 * in its token, and only then sends its token and certificate request over a connection that trusts
 * that CA alone (the server must present a certificate signed by it, for the address dialled).
 *
 * Use: manager `startJoinServer({ address, port, tls, join })`; joiner `fetchRemoteCa(addr, port)`
 * then `requestJoin(addr, port, caPem, request)`.
 *
 * Beware: the endpoint answers only GET /ca and POST /join, with a 64 KiB body limit; its errors
 * are `{ message }` with a status, passed on to the joiner's caller as they are.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTP_STATUS, RedesError, errorOf, invalidParameter, isErrorCode, unavailable } from '../util/index.js';

export const SWARM_PORT = 2377;

export interface JoinRequest {
  token: string;
  csrPem: string;
  hostname: string;
  /** The joiner's advertise address (an IP). */
  advertiseAddr: string;
}

export interface JoinResponse {
  clusterId: string;
  nodeId: string;
  role: 'manager' | 'worker';
  certPem: string;
  /** The CA key, for managers only (they sign later joins). */
  caKeyPem?: string;
  /** Client URLs of the etcd members. */
  etcdEndpoints: string[];
  /** For a manager: etcd's --initial-cluster including the new member. */
  initialCluster?: string;
}

export interface JoinServerOptions {
  address: string;
  port: number;
  tls: { certPem: string; keyPem: string; caPem: string };
  join(req: JoinRequest): Promise<JoinResponse>;
}

export interface JoinServer {
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'application/x-pem-file' : 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw invalidParameter('swarm.join_body', 'join request too large');
    parts.push(c);
  }
  return Buffer.concat(parts).toString('utf8');
}

function parseJoinRequest(text: string): JoinRequest {
  const v = JSON.parse(text) as Partial<JoinRequest>;
  for (const k of ['token', 'csrPem', 'hostname', 'advertiseAddr'] as const) {
    if (typeof v[k] !== 'string') throw invalidParameter('swarm.join_body', `join request without ${k}`);
  }
  return v as JoinRequest;
}

export async function startJoinServer(opts: JoinServerOptions): Promise<JoinServer> {
  const server = https.createServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, (req, res) => {
    void (async () => {
      try {
        if (req.method === 'GET' && req.url === '/ca') return reply(res, 200, opts.tls.caPem);
        if (req.method === 'POST' && req.url === '/join') return reply(res, 200, await opts.join(parseJoinRequest(await readBody(req))));
        reply(res, 404, { message: 'not found' });
      } catch (e) {
        const status = e instanceof RedesError ? HTTP_STATUS[e.kind] : e instanceof SyntaxError ? 400 : 500;
        reply(res, status, { message: e instanceof Error ? e.message : String(e), code: e instanceof RedesError ? e.code : 'internal' });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

interface Answer {
  status: number;
  body: string;
}

function request(addr: string, port: number, path: string, opts: https.RequestOptions, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: addr, port, path, method: body === undefined ? 'GET' : 'POST', timeout: 20_000, ...opts }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const unreachable = (addr: string, port: number, e: unknown): RedesError =>
  unavailable('swarm.join_unreachable', `could not reach the manager at ${addr}:${port}: ${(e as Error).message}`);

/** The CA certificate a manager presents, fetched without trusting it (check it against the token). */
export async function fetchRemoteCa(addr: string, port: number): Promise<string> {
  let a: Answer;
  try {
    a = await request(addr, port, '/ca', { rejectUnauthorized: false });
  } catch (e) {
    throw unreachable(addr, port, e);
  }
  if (a.status !== 200 || !a.body.includes('BEGIN CERTIFICATE')) throw unavailable('swarm.join_ca', `${addr}:${port} is not a swarm manager's join endpoint`);
  return a.body;
}

/** Sends a join request to a manager whose certificate must be signed by `caPem`. */
export async function requestJoin(addr: string, port: number, caPem: string, body: JoinRequest): Promise<JoinResponse> {
  let a: Answer;
  try {
    a = await request(addr, port, '/join', { ca: caPem, headers: { 'Content-Type': 'application/json' } }, JSON.stringify(body));
  } catch (e) {
    throw unreachable(addr, port, e);
  }
  if (a.status === 200) return JSON.parse(a.body) as JoinResponse;
  let message = a.body;
  let code: string | undefined;
  try {
    const parsed = JSON.parse(a.body) as { message?: string; code?: string };
    message = parsed.message ?? message;
    code = parsed.code;
  } catch {
    // not JSON: the text as it came
  }
  if (code !== undefined && isErrorCode(code)) throw errorOf(code, message);
  throw a.status === 400 || a.status === 403 ? invalidParameter('swarm.join_refused', message) : unavailable('swarm.join_failed', message);
}
