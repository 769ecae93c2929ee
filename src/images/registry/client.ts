/**
 * A client of one registry (OCI distribution / Docker registry v2) for one repository: manifests
 * and blobs, with Docker's authentication dance: try, and on a 401 answer its `WWW-Authenticate`
 * challenge with Basic credentials or a Bearer token fetched from the challenge's realm (with the
 * repository's scope, Basic credentials or anonymously).
 *
 * Use: `const c = new RepoClient(endpoint, 'library/nginx', creds)`; `await c.manifest('latest')`,
 * `await c.blob(digest)` (a stream), `await c.hasBlob(digest)`, uploads in push.ts.
 *
 * Beware: errors carry the registry's error codes in Docker's words (`manifest unknown: manifest
 * unknown`); callers add Docker's prefixes. Tokens are kept per scope for the client's life only.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { readBody, send, type SendOptions, type TlsOptions } from './http.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`IdentityToken` of a login). */
  identitytoken?: string;
  /** A bearer token to use as is. */
  registrytoken?: string;
}

export interface Endpoint {
  /** `registry.test:5000`, or `registry-1.docker.io` for docker.io. */
  host: string;
  scheme: 'https' | 'http';
  tls?: TlsOptions;
  lookup?: LookupFunction;
  /** Unix socket of the CONNECT proxy connections go through (`--registry-uplink`). */
  uplink?: string;
}

/** A registry answered with an error (status and its `errors` list), in Docker's words. */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly codes: string[],
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="https://auth/token",service="registry",scope="repository:a:pull"` → parts. */
export function parseChallenge(h: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/.exec(h);
  if (!m?.[1]) return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    if (p[1]) params[p[1].toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: m[1].toLowerCase(), params };
}

/** The registry's `errors` body as Docker prints it: `manifest unknown: manifest unknown`. */
export async function registryError(res: IncomingMessage, what: string): Promise<RegistryError> {
  const body = await readBody(res, 1 << 20).catch(() => Buffer.alloc(0));
  let errors: { code?: string; message?: string }[] = [];
  try {
    errors = (JSON.parse(body.toString('utf8')) as { errors?: typeof errors }).errors ?? [];
  } catch {
    /* not JSON */
  }
  const status = res.statusCode ?? 0;
  const codes = errors.map((e) => e.code ?? '');
  const text = errors.length
    ? errors.map((e) => `${(e.code ?? 'unknown').toLowerCase().replace(/_/g, ' ')}: ${e.message ?? ''}`).join(', ')
    : `${what}: unexpected status: ${status} ${res.statusMessage ?? ''}`.trim();
  return new RegistryError(status, codes, text);
}

export class RepoClient {
  private auth: string | undefined;
  private challenged = false;

  constructor(
    readonly endpoint: Endpoint,
    readonly repo: string,
    private readonly creds: Credentials = {},
    private readonly actions: 'pull' | 'pull,push' = 'pull',
  ) {}

  url(path: string): URL {
    return new URL(`${this.endpoint.scheme}://${this.endpoint.host}/v2/${path}`);
  }

  /** A request to `/v2/<path>` with authentication; retried once after a 401 challenge. */
  async request(method: SendOptions['method'], path: string, headers: OutgoingHttpHeaders = {}, body?: Buffer | (() => Readable), fullUrl?: URL): Promise<IncomingMessage> {
    const go = (): Promise<IncomingMessage> =>
      send({
        url: fullUrl ?? this.url(path),
        method,
        headers: { ...headers, ...(this.auth ? { authorization: this.auth } : {}) },
        body: typeof body === 'function' ? body() : body,
        tls: this.endpoint.tls,
        lookup: this.endpoint.lookup,
        uplink: this.endpoint.uplink,
        follow: method === 'GET' || method === 'HEAD',
      });
    let res = await go();
    if (res.statusCode === 401 && !this.challenged) {
      this.challenged = true;
      const challenge = parseChallenge(String(res.headers['www-authenticate'] ?? ''));
      res.resume();
      if (challenge) {
        this.auth = await this.authorize(challenge);
        res = await go();
      }
    }
    return res;
  }

  private async authorize(c: Challenge): Promise<string | undefined> {
    const { username, password, identitytoken, registrytoken } = this.creds;
    if (registrytoken) return `Bearer ${registrytoken}`;
    const basic = username !== undefined ? `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}` : undefined;
    if (c.scheme === 'basic') {
      if (!basic) throw new RegistryError(401, ['UNAUTHORIZED'], 'no basic auth credentials');
      return basic;
    }
    if (c.scheme !== 'bearer' || !c.params.realm) throw new RegistryError(401, ['UNAUTHORIZED'], `unsupported authentication scheme "${c.scheme}"`);
    const realm = new URL(c.params.realm);
    if (c.params.service) realm.searchParams.set('service', c.params.service);
    if (this.repo) realm.searchParams.set('scope', `repository:${this.repo}:${this.actions}`);
    if (identitytoken) {
      realm.searchParams.set('grant_type', 'refresh_token');
      realm.searchParams.set('refresh_token', identitytoken);
    }
    const res = await send({
      url: realm,
      method: 'GET',
      headers: basic && !identitytoken ? { authorization: basic } : {},
      tls: this.endpoint.tls,
      lookup: this.endpoint.lookup,
        uplink: this.endpoint.uplink,
    });
    if (res.statusCode !== 200) {
      res.resume();
      throw new RegistryError(res.statusCode ?? 0, ['UNAUTHORIZED'], `failed to fetch an authorization token: ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
    }
    const doc = JSON.parse((await readBody(res, 1 << 20)).toString('utf8')) as { token?: string; access_token?: string };
    const token = doc.token ?? doc.access_token;
    if (!token) throw new RegistryError(401, ['UNAUTHORIZED'], 'the token server answered without a token');
    return `Bearer ${token}`;
  }

  /** GET a manifest by tag or digest: its bytes, media type and digest header. */
  async manifest(reference: string): Promise<{ bytes: Buffer; mediaType: string; digest?: string }> {
    const res = await this.request('GET', `${this.repo}/manifests/${reference}`, { accept: MANIFEST_TYPES.join(', ') });
    if (res.statusCode !== 200) throw await registryError(res, 'manifest');
    const bytes = await readBody(res, 4 << 20);
    const header = res.headers['docker-content-digest'];
    return { bytes, mediaType: String(res.headers['content-type'] ?? '').split(';')[0] ?? '', digest: typeof header === 'string' ? header : undefined };
  }

  /** GET a blob as a stream (the caller checks its digest). */
  async blob(digest: string): Promise<IncomingMessage> {
    const res = await this.request('GET', `${this.repo}/blobs/${digest}`);
    if (res.statusCode !== 200) throw await registryError(res, 'blob');
    return res;
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `${this.repo}/blobs/${digest}`);
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw new RegistryError(res.statusCode ?? 0, [], `blob ${digest}: unexpected status ${res.statusCode}`);
  }
}
