/**
 * `docker push`: send a local image's layers (gzip-compressed from the tars the store keeps), its
 * config and a Docker schema 2 manifest to a registry, skipping blobs the repository already has;
 * with Docker's progress messages and final `TAG: digest: sha256:... size: N` line.
 *
 * Use: `await pushImage(ctx, 'registry.test:5000/app', 'v1', progress)`; no tag pushes every local
 * tag of the repository, as dockerd does.
 *
 * A layer this engine pushed before is not compressed again: its blob's digest is remembered
 * (blob-memory.ts), the target is asked whether it has it, and a registry holding it in another
 * repository is asked to mount it from there (`Mounted from team/app`, as dockerd prints).
 *
 * Beware: the layer tars are rebuilt from the store's tar splits. Compression is deterministic (node's zlib, fixed level, no timestamps in the header), so
 * pushing the same image twice gives the same blob and manifest digests. The image's config is sent
 * byte for byte: a pull gives the same image id back. Layers stored before the store kept layer tars
 * cannot be pushed (a clear error says so: load or pull the image again).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { invalidParameter, notFound, unavailable } from '../../util/index.js';
import { familiarName, parseNamed } from '../reference.js';
import { sha256 } from '../spec.js';
import type { ImageStore } from '../store.js';
import { RegistryError, RepoClient, registryError, type Credentials } from './client.js';
import { splitName, type Registries } from './endpoints.js';
import { BlobMemory } from './blob-memory.js';
import { progressBar, type Progress } from './pull.js';

export interface PushContext {
  store: ImageStore;
  registries: Registries;
  creds?: Credentials;
}

const SCHEMA2 = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';
const LAYER_TYPE = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

interface Blob {
  digest: string;
  size: number;
  file?: string;
  bytes?: Buffer;
}

export async function pushImage(ctx: PushContext, repoText: string, tag: string | undefined, progress: Progress): Promise<void> {
  const named = parseNamed(repoText);
  const familiar = familiarName(named.name);
  const tags = tag ? [tag] : ctx.store.list().flatMap((i) => i.repoTags).filter((t) => t.startsWith(`${familiar}:`)).map((t) => t.slice(familiar.length + 1));
  if (!tags.length) throw notFound('image.not_found', `An image does not exist locally with the tag: ${familiar}`);
  const [domain, repo] = splitName(named.name);
  const endpoints = await ctx.registries.endpoints(domain);
  progress({ status: `The push refers to repository [${named.name.startsWith('docker.io/') ? named.name : familiar}]` });
  let lastErr: unknown;
  for (const ep of endpoints) {
    const c = new RepoClient(ep, repo, ctx.creds, 'pull,push');
    try {
      for (const t of tags) await pushTag(ctx, c, `${familiar}:${t}`, t, progress);
      return;
    } catch (e) {
      lastErr = e;
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (!/^(ECONNREFUSED|ENOTFOUND|ECONNRESET|EHOSTUNREACH|ETIMEDOUT|EPROTO|ERR_SSL_WRONG_VERSION_NUMBER)$/.test(code)) break;
    }
  }
  if (lastErr instanceof RegistryError) {
    if (lastErr.status === 401 || lastErr.status === 403) throw unavailable('registry.push_denied', lastErr.message);
    throw unavailable('registry.error', lastErr.message);
  }
  throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
}

async function pushTag(ctx: PushContext, c: RepoClient, ref: string, tag: string, progress: Progress): Promise<void> {
  const img = ctx.store.resolve(ref);
  const config = await ctx.store.configBytes(img.id);
  const mem = await BlobMemory.open(join(ctx.store.root, 'push-blobs.json'));
  const here = `${c.endpoint.host}/${c.repo}`;
  const tmp: string[] = [];
  try {
    const layers: { digest: string; size: number }[] = [];
    for (const d of [...img.layers].reverse()) progress({ status: 'Preparing', progressDetail: {}, id: d.slice(7, 19) });
    for (const diffId of img.layers) {
      const short = diffId.slice(7, 19);
      const known = mem.get(diffId);
      if (known && (await c.hasBlob(known.digest))) {
        progress({ status: 'Layer already exists', progressDetail: {}, id: short });
        layers.push(known);
        await mem.remember(diffId, known, here);
        continue;
      }
      const from = mem.sourceFor(diffId, here);
      if (known && from && (await mount(c, known.digest, from.slice(from.indexOf('/') + 1)))) {
        progress({ status: `Mounted from ${from.slice(from.indexOf('/') + 1)}`, progressDetail: {}, id: short });
        layers.push(known);
        await mem.remember(diffId, known, here);
        continue;
      }
      const tar = await ctx.store.layerTar(diffId);
      if (!tar) {
        throw invalidParameter('registry.layer_archive_missing', `layer ${diffId} has no archive in the store (stored by an older redes): load or pull the image again`);
      }
      const file = join(ctx.store.root, 'tmp', `push-${randomBytes(6).toString('hex')}.gz`);
      tmp.push(file);
      const b: Blob = { ...(await gzipFile(tar.stream(), file)), file };
      if (await c.hasBlob(b.digest)) progress({ status: 'Layer already exists', progressDetail: {}, id: short });
      else {
        await upload(c, b, (current) => progress({ status: 'Pushing', progressDetail: { current, total: b.size }, progress: progressBar(current, b.size), id: short }));
        progress({ status: 'Pushed', progressDetail: {}, id: short });
      }
      layers.push(b);
      await mem.remember(diffId, b, here);
    }
    const cfg: Blob = { digest: sha256(config), size: config.length, bytes: config };
    if (!(await c.hasBlob(cfg.digest))) await upload(c, cfg, () => undefined);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: SCHEMA2,
        config: { mediaType: CONFIG_TYPE, size: cfg.size, digest: cfg.digest },
        layers: layers.map((l) => ({ mediaType: LAYER_TYPE, size: l.size, digest: l.digest })),
      }),
    );
    const res = await c.request('PUT', `${c.repo}/manifests/${tag}`, { 'content-type': SCHEMA2, 'content-length': manifest.length }, manifest);
    if (res.statusCode !== 201) throw await registryError(res, 'manifest');
    res.resume();
    const digest = sha256(manifest);
    await ctx.store.recordDigest(`${ref.slice(0, ref.lastIndexOf(':'))}@${digest}`, img.id);
    progress({ status: `${tag}: digest: ${digest} size: ${manifest.length}` });
  } finally {
    for (const f of tmp) await rm(f, { force: true });
  }
}

/** gzip `src` into `dst`; the compressed digest and size. */
async function gzipFile(src: AsyncIterable<Buffer>, dst: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    src,
    createGzip({ level: 6 }),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const c of chunks) {
        hash.update(c);
        size += c.length;
        yield c;
      }
    },
    createWriteStream(dst),
  );
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/**
 * Ask the registry to mount `digest` from repository `from` (same registry) into this one: true
 * when it did (201); any other answer (202 opens an upload session, which is cancelled) is false.
 */
async function mount(c: RepoClient, digest: string, from: string): Promise<boolean> {
  const url = c.url(`${c.repo}/blobs/uploads/`);
  url.searchParams.set('mount', digest);
  url.searchParams.set('from', from);
  const res = await c.request('POST', '', { 'content-length': 0 }, undefined, url);
  res.resume();
  if (res.statusCode === 201) return true;
  const loc = res.headers.location;
  if (res.statusCode === 202 && loc) (await c.request('DELETE', '', {}, undefined, new URL(loc, c.url('')))).resume();
  return false;
}

/** POST an upload session, then PUT the whole blob to it with its digest (a monolithic upload). */
async function upload(c: RepoClient, b: Blob, onProgress: (current: number) => void): Promise<void> {
  const start = await c.request('POST', `${c.repo}/blobs/uploads/`, { 'content-length': 0 });
  if (start.statusCode !== 202) throw await registryError(start, 'blob upload');
  start.resume();
  const loc = start.headers.location;
  if (!loc) throw new RegistryError(502, [], 'blob upload: the registry gave no upload location');
  const url = new URL(loc, c.url(''));
  url.searchParams.set('digest', b.digest);
  let sent = 0;
  const body = b.bytes
    ? b.bytes
    : () => {
        const s = createReadStream(b.file ?? '');
        s.on('data', (chunk) => {
          sent += chunk.length;
          onProgress(sent);
        });
        return s;
      };
  const res = await c.request('PUT', '', { 'content-type': 'application/octet-stream', 'content-length': b.size }, body, url);
  if (res.statusCode !== 201) throw await registryError(res, 'blob upload');
  res.resume();
}
