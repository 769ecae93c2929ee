/**
 * HTTP for registries: one request function over node's http/https with the registry's CA files,
 * an optional name resolver (a sandbox's daemon resolves through its world's DNS, not the machine's),
 * redirects (blob downloads are often redirected to storage), and a response body read or streamed.
 *
 * Use: `const res = await send({ url, method: 'GET', headers, tls, lookup })`, then `readBody(res)`
 * or iterate `res` for a stream.
 *
 * Beware: Authorization is dropped when a redirect leaves the registry's host (as Docker does), so
 * credentials never reach a storage backend. Every request has a timeout for the answer's headers;
 * bodies are bounded by the caller.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, type LookupFunction, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Readable } from 'node:stream';

export interface TlsOptions {
  /** PEM CA certificates added to the system's (certs.d `*.crt`). */
  ca?: string[];
  /** Client certificate and key (certs.d `*.cert` / `*.key`). */
  cert?: string;
  key?: string;
  /** `--insecure-registry`: accept any certificate. */
  skipVerify?: boolean;
}

export interface SendOptions {
  url: URL;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: OutgoingHttpHeaders;
  body?: Buffer | Readable;
  tls?: TlsOptions;
  lookup?: LookupFunction;
  /** Milliseconds until the answer's headers (default 30 s). */
  timeoutMs?: number;
  /** Follow 3xx answers of GET/HEAD (default true). */
  follow?: boolean;
  /** A unix socket of an HTTP CONNECT proxy (`--registry-uplink`): connections go through it. */
  uplink?: string;
}

/** A TCP connection to host:port opened by the CONNECT proxy listening on unix socket `path`. */
export function tunnel(path: string, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(path);
    let head = Buffer.alloc(0);
    const fail = (e: Error): void => {
      s.destroy();
      reject(e);
    };
    s.once('error', fail);
    s.once('connect', () => s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return void (head.length > 8192 && fail(new Error('uplink: answer too long')));
      // No pause: the caller's listeners are attached before the next read can arrive (I/O comes after
      // the promise callbacks), and a paused socket would stay paused under http's own listeners.
      s.off('data', onData);
      const line = head.subarray(0, end).toString('latin1').split('\r\n')[0] ?? '';
      if (!/^HTTP\/1\.[01] 200 /.test(line)) return fail(new Error(`uplink refused ${host}:${port}: ${line}`));
      const rest = head.subarray(end + 4);
      if (rest.length) s.unshift(rest);
      s.off('error', fail);
      resolve(s);
    };
    s.on('data', onData);
  });
}

export async function send(o: SendOptions, hops = 0): Promise<IncomingMessage> {
  const res = await once(o);
  const loc = res.headers.location;
  if ((o.follow ?? true) && (o.method === 'GET' || o.method === 'HEAD') && res.statusCode && [301, 302, 303, 307, 308].includes(res.statusCode) && loc) {
    res.resume();
    if (hops >= 5) throw new Error(`too many redirects from ${o.url.host}`);
    const next = new URL(loc, o.url);
    const headers = { ...o.headers };
    if (next.host !== o.url.host) delete headers.authorization;
    return send({ ...o, url: next, headers }, hops + 1);
  }
  return res;
}

function once(o: SendOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const https = o.url.protocol === 'https:';
    const host = o.url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(o.url.port) || (https ? 443 : 80);
    const tls = { ca: o.tls?.ca?.length ? o.tls.ca : undefined, cert: o.tls?.cert, key: o.tls?.key, rejectUnauthorized: !o.tls?.skipVerify };
    const uplink = o.uplink;
    // Through the uplink: the proxy resolves and connects; TLS runs here, end to end.
    const createConnection = uplink
      ? (_opts: unknown, done: (e: Error | null, s?: Socket) => void): undefined => {
          tunnel(uplink, host, port).then(
            (raw) => done(null, https ? tlsConnect({ socket: raw, ...tls, ...(isIP(host) ? {} : { servername: host }) }) : raw),
            (e: Error) => done(e),
          );
          return undefined;
        }
      : undefined;
    const common = { method: o.method, headers: { 'user-agent': 'redes', ...o.headers }, lookup: o.lookup, timeout: o.timeoutMs ?? 30_000, ...(createConnection ? { createConnection: createConnection as never } : {}) };
    const req = https
      ? httpsRequest(o.url, { ...common, ...tls })
      : httpRequest(o.url, common);
    req.once('response', (res) => {
      req.setTimeout(0);
      resolve(res);
    });
    req.once('timeout', () => req.destroy(new Error(`timeout waiting for ${o.url.host}`)));
    req.once('error', reject);
    if (!o.body) req.end();
    else if (Buffer.isBuffer(o.body)) req.end(o.body);
    else {
      o.body.once('error', (e) => req.destroy(e));
      o.body.pipe(req);
    }
  });
}

/** The whole body, refusing more than `limit` bytes. */
export async function readBody(res: IncomingMessage, limit = 8 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) {
      res.destroy();
      throw new Error(`answer larger than ${limit} bytes`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}
