/**
 * Registry fixtures for tests and benchmarks: crafted images (layers, configs, Docker and OCI
 * manifests, manifest lists and OCI indexes) pushed over HTTP to a sandbox's registry, extra
 * Debian `docker-registry` instances with htpasswd (Basic) or token (Bearer) auth, a tiny token
 * server, and a proxy that dies halfway through a blob.
 *
 * Use (test process):
 *   const img = await craftImage({ arch: 'amd64', layers: [await gzipLayer({ 'hello': 'hi' })] });
 *   await pushCrafted(sb, [{ repo: 'crafted/app', images: [img], manifests: [{ ref: 'v1', ...img.manifest }] }]);
 *   const tok = await startWorldTool(sb, ['token', '5005']);      // later: await tok.stop()
 *   const reg = await startExtraRegistry(sb, 5001, { token: { realm: 'https://registry.test:5005/token' } });
 * Every network step runs in the sandbox's world namespace: this file is also the program
 * (`node registry-tools.js push|token|proxy ...`) started there with `nsenter --net`.
 *
 * Beware: the extra registries and tools carry `--sandbox <name>` on their command line so a
 * leftover one is seen by the sandbox's nothing-left check; stop them by their pid. The token
 * server signs with the sandbox CA's key (ES256, the CA certificate as `x5c`), which the extra
 * registry trusts as its `rootcertbundle`.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes, sign } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { packTar } from '../../src/images/tar-write.js';
import { nsenterArgv } from '../../src/kernel/netns.js';
import { run } from '../../src/kernel/run.js';
import { pidAlive, startDetached, stopPid } from '../../src/kernel/process.js';
import type { Sandbox } from './sandbox.js';

const SELF = fileURLToPath(import.meta.url);
export const WORLD_ADDR = '203.0.113.1';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const TOKEN_SERVICE = 'redes-test-registry';
export const TOKEN_ISSUER = 'redes-test-token';
/** The one account of the token server and of htpasswd registries made here. */
export const USER = { name: 'alice', password: 'wonderland' };

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Layer {
  /** The blob as sent (gzip-compressed tar, or zstd when `zstd` is set). */
  bytes: Buffer;
  zstd?: boolean;
  digest: string;
  /** `sha256:` of the uncompressed tar. */
  diffId: string;
}

export interface Crafted {
  config: Buffer;
  /** The image id: the config's digest. */
  id: string;
  layers: Layer[];
  manifest: { bytes: Buffer; mediaType: string; digest: string };
}

/** A gzip layer holding `files` (name → content). */
export async function gzipLayer(files: Record<string, Buffer | string>, level = 6): Promise<Layer> {
  const tar = await packTar(Object.entries(files).map(([name, content]) => ({ name, content, mtime: new Date(0) })));
  const bytes = gzipSync(tar, { level });
  return { bytes, digest: sha256(bytes), diffId: sha256(tar) };
}

/** A zstd layer holding `files` (compressed by the `zstd` program, Debian package zstd). */
export async function zstdLayer(files: Record<string, Buffer | string>): Promise<Layer> {
  const tar = await packTar(Object.entries(files).map(([name, content]) => ({ name, content, mtime: new Date(0) })));
  const dir = await mkdtemp(join(tmpdir(), 'redes-zstd-'));
  try {
    await writeFile(join(dir, 'l.tar'), tar);
    await run(['zstd', '-q', '-3', join(dir, 'l.tar'), '-o', join(dir, 'l.tar.zst')]);
    const bytes = await readFile(join(dir, 'l.tar.zst'));
    return { bytes, zstd: true, digest: sha256(bytes), diffId: sha256(tar) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A config and an image manifest (`oci` or Docker schema 2) for `layers`. */
export function craftImage(o: { arch: string; layers: Layer[]; format?: 'oci' | 'docker'; label?: string }): Crafted {
  const oci = o.format === 'oci';
  const config = Buffer.from(
    JSON.stringify({
      architecture: o.arch,
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: { Cmd: ['/hello'], Labels: { crafted: o.label ?? o.arch } },
      rootfs: { type: 'layers', diff_ids: o.layers.map((l) => l.diffId) },
      history: o.layers.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'crafted' })),
    }),
  );
  const mediaType = oci ? OCI_MANIFEST : DOCKER_MANIFEST;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
      layers: o.layers.map((l) => ({ mediaType: l.zstd ? 'application/vnd.oci.image.layer.v1.tar+zstd' : oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: l.bytes.length, digest: l.digest })),
    }),
  );
  return { config, id: sha256(config), layers: o.layers, manifest: { bytes: manifest, mediaType, digest: sha256(manifest) } };
}

/** A manifest list (`docker`) or OCI index (`oci`) of `entries`. */
export function craftIndex(format: 'oci' | 'docker', entries: { image: Crafted; arch: string; variant?: string }[]): { bytes: Buffer; mediaType: string; digest: string } {
  const mediaType = format === 'oci' ? OCI_INDEX : DOCKER_LIST;
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: entries.map((e) => ({
        mediaType: e.image.manifest.mediaType,
        size: e.image.manifest.bytes.length,
        digest: e.image.manifest.digest,
        platform: { architecture: e.arch, os: 'linux', ...(e.variant ? { variant: e.variant } : {}) },
      })),
    }),
  );
  return { bytes, mediaType, digest: sha256(bytes) };
}

export interface Upload {
  repo: string;
  /** Blobs to upload (configs and layers). */
  images: Crafted[];
  /** Manifests to PUT, in order (image manifests before the index naming them). */
  manifests: { ref: string; bytes: Buffer; mediaType: string }[];
}

interface Plan {
  base: string;
  ca: string;
  authorization?: string;
  repos: { repo: string; blobs: string[]; manifests: { ref: string; mediaType: string; file: string }[] }[];
}

/** The sandbox's CA and server key files (made by `redes sandbox up`). */
export const registryDir = (sb: Pick<Sandbox, 'name'>): string => `/run/redes/${sb.name}/registry`;

/** Upload crafted images to the sandbox registry (port 5000 unless said), from the world namespace. */
export async function pushCrafted(sb: Sandbox, uploads: Upload[], opts: { port?: number; user?: typeof USER } = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-craft-'));
  try {
    const plan: Plan = { base: `https://${WORLD_ADDR}:${opts.port ?? 5000}`, ca: join(registryDir(sb), 'ca.crt'), repos: [] };
    if (opts.user) plan.authorization = `Basic ${Buffer.from(`${opts.user.name}:${opts.user.password}`).toString('base64')}`;
    let n = 0;
    const put = async (b: Buffer): Promise<string> => {
      const f = join(dir, `b${n++}`);
      await writeFile(f, b);
      return f;
    };
    for (const u of uploads) {
      const blobs: string[] = [];
      for (const img of u.images) {
        blobs.push(await put(img.config));
        for (const l of img.layers) blobs.push(await put(l.bytes));
      }
      const manifests = [];
      for (const m of u.manifests) manifests.push({ ref: m.ref, mediaType: m.mediaType, file: await put(m.bytes) });
      plan.repos.push({ repo: u.repo, blobs, manifests });
    }
    await writeFile(join(dir, 'plan.json'), JSON.stringify(plan));
    await sb.world([process.execPath, SELF, 'push', join(dir, 'plan.json'), '--sandbox', sb.name], { timeoutMs: 300_000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface WorldTool {
  pid: number;
  stop(): Promise<void>;
}

/** Start this file's `token` or `proxy` mode in the world namespace; resolves once it listens. */
export function startWorldTool(sb: Sandbox, args: string[]): Promise<WorldTool> {
  const child = spawn('nsenter', [`--net=/run/netns/${sb.name}-world`, process.execPath, SELF, ...args, '--sandbox', sb.name], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`registry tool ${args.join(' ')} did not start: ${err}`)), 30_000);
    child.once('error', reject);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`registry tool ${args.join(' ')} exited ${code}: ${err}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!out.startsWith('ready\n')) return;
      clearTimeout(timer);
      resolve({
        pid: child.pid ?? 0,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      });
    });
  });
}

export interface ExtraRegistry {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** The daemon trusts `registry.test:<port>` (certs.d, the sandbox CA), as it trusts the main registry. */
export async function trustPort(sb: Pick<Sandbox, 'name'>, port: number): Promise<void> {
  const trust = `/run/redes/${sb.name}/certs.d/registry.test:${port}`;
  await mkdir(trust, { recursive: true });
  await copyFile(join(registryDir(sb), 'ca.crt'), join(trust, 'ca.crt'));
}

/**
 * A second Debian docker-registry in the world as `registry.test:<port>` (TLS with the sandbox's
 * certificate, trusted by the daemon through its certs.d), with htpasswd or token auth.
 */
export async function startExtraRegistry(sb: Sandbox, port: number, auth: { htpasswd: true } | { token: { realm: string } }): Promise<ExtraRegistry> {
  const reg = registryDir(sb);
  const dir = `/run/redes/${sb.name}/registry-${port}`;
  await mkdir(dir, { recursive: true });
  let authYaml: string;
  if ('htpasswd' in auth) {
    const file = join(dir, 'htpasswd');
    const r = await sb.world(['htpasswd', '-Bbn', USER.name, USER.password]);
    await writeFile(file, r.stdout);
    authYaml = `auth:\n  htpasswd:\n    realm: redes-test\n    path: ${file}\n`;
  } else {
    authYaml = `auth:\n  token:\n    realm: ${auth.token.realm}\n    service: ${TOKEN_SERVICE}\n    issuer: ${TOKEN_ISSUER}\n    rootcertbundle: ${join(reg, 'ca.crt')}\n`;
  }
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: ${WORLD_ADDR}:${port}\n  tls:\n    certificate: ${join(reg, 'server.crt')}\n    key: ${join(reg, 'server.key')}\n${authYaml}`,
  );
  await trustPort(sb, port);
  const pid = await startDetached(nsenterArgv(`${sb.name}-world`, ['/usr/bin/docker-registry', 'serve', config]), { logPath: join(dir, 'registry.log') });
  for (let i = 0; i < 300; i++) {
    const r = await sb.world(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', join(reg, 'ca.crt'), `https://${WORLD_ADDR}:${port}/v2/`], { allowFail: true });
    if (r.stdout === '401' || r.stdout === '200') return { port, pid, stop: () => stopPid(pid, { graceMs: 2_000 }).then(() => undefined) };
    if (!(await pidAlive(pid))) break;
    await new Promise((r2) => setTimeout(r2, 100));
  }
  throw new Error(`registry on port ${port} did not start: ${await readFile(join(dir, 'registry.log'), 'utf8').catch(() => '')}`);
}

// ---- the program run in the world namespace ----

function call(url: URL, method: string, ca: string, headers: Record<string, string | number>, body?: Buffer | string): Promise<{ status: number; headers: IncomingMessage['headers']; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (typeof body === 'string') createReadStream(body).pipe(req);
    else req.end(body);
  });
}

async function pushPlan(planFile: string): Promise<void> {
  const plan = JSON.parse(await readFile(planFile, 'utf8')) as Plan;
  const ca = await readFile(plan.ca, 'utf8');
  const auth: Record<string, string> = plan.authorization ? { authorization: plan.authorization } : {};
  for (const r of plan.repos) {
    for (const f of r.blobs) {
      const hash = createHash('sha256');
      for await (const c of createReadStream(f)) hash.update(c as Buffer);
      const digest = `sha256:${hash.digest('hex')}`;
      const head = await call(new URL(`${plan.base}/v2/${r.repo}/blobs/${digest}`), 'HEAD', ca, auth);
      if (head.status === 200) continue;
      const start = await call(new URL(`${plan.base}/v2/${r.repo}/blobs/uploads/`), 'POST', ca, { ...auth, 'content-length': 0 });
      if (start.status !== 202 || !start.headers.location) throw new Error(`upload start ${r.repo}: ${start.status} ${start.text}`);
      const url = new URL(start.headers.location, plan.base);
      url.searchParams.set('digest', digest);
      const size = (await stat(f)).size;
      const put = await call(url, 'PUT', ca, { ...auth, 'content-type': 'application/octet-stream', 'content-length': size }, f);
      if (put.status !== 201) throw new Error(`upload ${digest} to ${r.repo}: ${put.status} ${put.text}`);
    }
    for (const m of r.manifests) {
      const bytes = await readFile(m.file);
      const put = await call(new URL(`${plan.base}/v2/${r.repo}/manifests/${m.ref}`), 'PUT', ca, { ...auth, 'content-type': m.mediaType, 'content-length': bytes.length }, bytes);
      if (put.status !== 201) throw new Error(`manifest ${r.repo}:${m.ref}: ${put.status} ${put.text}`);
    }
  }
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/**
 * A token server for `registry.test:<registryPort>`: `alice` (Basic) gets what she asks for,
 * anyone gets pull on `public/*`, a wrong password is a 401.
 */
async function tokenServer(port: number, sandbox: string): Promise<void> {
  const reg = `/run/redes/${sandbox}/registry`;
  const [key, caPem, cert, certKey] = await Promise.all(['ca.key', 'ca.crt', 'server.crt', 'server.key'].map((f) => readFile(join(reg, f), 'utf8')));
  const der = Buffer.from((caPem ?? '').replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
  const server = createHttpsServer({ cert, key: certKey }, (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://x');
    let user = '';
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic?.[1]) {
      const [name, ...rest] = Buffer.from(basic[1], 'base64').toString().split(':');
      if (name !== USER.name || rest.join(':') !== USER.password) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      user = name;
    }
    const access = url.searchParams.getAll('scope').flatMap((s) => {
      const [type, name = '', actions = ''] = s.split(':');
      const granted = actions.split(',').filter((a) => user === USER.name || (a === 'pull' && name.startsWith('public/')));
      return type === 'repository' && granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [der] };
    const claims = { iss: TOKEN_ISSUER, sub: user, aud: url.searchParams.get('service') ?? '', exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key: key ?? '', dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${b64url(sig)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(port, WORLD_ADDR, r));
  process.stdout.write('ready\n');
}

/**
 * A TLS proxy on `port` in front of the sandbox registry (5000) that dies (process exit) once it
 * has passed `dieAfter` bytes of one blob body; `dieAfter` 0 = never dies.
 */
async function dyingProxy(port: number, dieAfter: number, sandbox: string): Promise<void> {
  const reg = `/run/redes/${sandbox}/registry`;
  const [cert, key, ca] = await Promise.all(['server.crt', 'server.key', 'ca.crt'].map((f) => readFile(join(reg, f), 'utf8')));
  const server = createHttpsServer({ cert, key }, (req, res) => {
    const up = httpsRequest({ host: WORLD_ADDR, port: 5000, servername: 'registry.test', path: req.url, method: req.method, headers: { ...req.headers, host: `registry.test:5000` }, ca }, (ur) => {
      const headers = { ...ur.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace('registry.test:5000', `registry.test:${port}`);
      res.writeHead(ur.statusCode ?? 502, headers);
      let sent = 0;
      const blob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
      ur.on('data', (c: Buffer) => {
        res.write(c);
        sent += c.length;
        if (blob && dieAfter > 0 && sent >= dieAfter) process.exit(3);
      });
      ur.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(port, WORLD_ADDR, r));
  process.stdout.write('ready\n');
}

async function main(argv: string[]): Promise<void> {
  const sandbox = argv[argv.indexOf('--sandbox') + 1] ?? '';
  const [mode, a = '', b = '0'] = argv;
  if (mode === 'push') return pushPlan(a);
  if (mode === 'token') return tokenServer(Number(a), sandbox);
  if (mode === 'proxy') return dyingProxy(Number(a), Number(b), sandbox);
  throw new Error(`registry-tools: unknown mode ${mode ?? ''}`);
}

if (process.argv[1] === SELF) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
