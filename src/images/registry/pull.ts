/**
 * `docker pull`: resolve the reference to an image manifest (through an index when there is one,
 * for this host's platform), fetch the config and the layers it lacks, verify every blob against
 * its digest, and store the image at once; with Docker's progress messages.
 *
 * Use: `const p = await preparePull(ctx, 'registry.test:5000/app:v1')` (errors here are plain API
 * errors: unknown tag, no access, unreachable), then `await p.run(progress)` (errors from here on
 * go into the progress stream).
 *
 * Beware: layers download concurrently (3 at a time, as dockerd) into the store's tmp/, each hashed
 * while written; a mismatch is `filesystem layer verification failed for digest ...` and nothing of
 * the pull is kept. Layers are then unpacked in order by the store, which checks each diff id.
 * gzip and uncompressed layers are decoded with node's zlib; zstd with the pure-JS fzstd decoder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { invalidParameter, notFound, RedesError, unavailable } from '../../util/index.js';
import { familiarName, familiarTagged, parseNamed } from '../reference.js';
import { hostArchitecture, parseSpec, sha256 } from '../spec.js';
import type { ImageStore } from '../store.js';
import { RegistryError, RepoClient, type Credentials } from './client.js';
import { splitName, type Registries } from './endpoints.js';
import { LAYER_GZIP, LAYER_TAR, LAYER_ZSTD, parseManifest, pickPlatform, type Descriptor } from './manifest.js';

export interface JsonMessage {
  status: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
}
export type Progress = (m: JsonMessage) => void;

export interface PullContext {
  store: ImageStore;
  registries: Registries;
  creds?: Credentials;
}

export interface PreparedPull {
  /** `registry.test:5000/app:v1` (familiar). */
  ref: string;
  run(progress: Progress): Promise<{ id: string }>;
}

const CONCURRENCY = 3;
const MAX_CONFIG = 8 << 20;

/** Docker's error for a failed manifest fetch. */
function manifestError(e: unknown, ref: string, name: string): Error {
  if (e instanceof RegistryError) {
    if (e.codes.includes('MANIFEST_UNKNOWN') || (e.status === 404 && !e.codes.includes('NAME_UNKNOWN'))) {
      return notFound('manifest-unknown', `manifest for ${ref} not found: ${e.message}`);
    }
    if (e.codes.includes('NAME_UNKNOWN') || e.status === 401 || e.status === 403 || e.codes.includes('DENIED') || e.codes.includes('UNAUTHORIZED')) {
      return notFound('pull-denied', `pull access denied for ${name}, repository does not exist or may require 'docker login': ${e.message}`);
    }
    return unavailable('registry', e.message);
  }
  return e instanceof Error ? e : new Error(String(e));
}

const isConnError = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPROTO|ERR_SSL_WRONG_VERSION_NUMBER)$/.test(code) || /timeout waiting/.test(String(e));
};

export async function preparePull(ctx: PullContext, refText: string): Promise<PreparedPull> {
  const named = parseNamed(refText);
  const [domain, repo] = splitName(named.name);
  const reference = named.digest ?? named.tag ?? 'latest';
  const familiar = named.digest && !named.tag ? `${familiarName(named.name)}@${named.digest}` : familiarTagged(named);
  const endpoints = await ctx.registries.endpoints(domain);
  let client: RepoClient | undefined;
  let got: Awaited<ReturnType<RepoClient['manifest']>> | undefined;
  let lastErr: unknown;
  for (const ep of endpoints) {
    const c = new RepoClient(ep, repo, ctx.creds);
    try {
      got = await c.manifest(reference);
      client = c;
      break;
    } catch (e) {
      lastErr = e;
      if (!isConnError(e)) break; // the registry answered: no other endpoint will know better
    }
  }
  if (!client || !got) {
    if (lastErr instanceof RegistryError) throw manifestError(lastErr, familiar, familiarName(named.name));
    const u = `https://${endpoints[0]?.host ?? domain}/v2/`;
    throw unavailable('registry-unreachable', `Get "${u}": ${(lastErr as Error | undefined)?.message ?? 'unreachable'}`);
  }
  const c = client;
  let top = got;
  const manifestDigest = sha256(top.bytes); // of the index when there is one: what Docker records
  if (named.digest && manifestDigest !== named.digest) throw invalidParameter('manifest-digest', `manifest verification failed for digest ${named.digest}`);
  let m = parseManifest(top.bytes, top.mediaType);
  if (m.kind === 'index') {
    const pick = pickPlatform(m.manifests, 'linux', hostArchitecture());
    if (!pick) throw notFound('no-matching-manifest', `no matching manifest for linux/${hostArchitecture()} in the manifest list entries`);
    top = await c.manifest(pick.digest).catch((e: unknown) => {
      throw manifestError(e, familiar, familiarName(named.name));
    });
    if (sha256(top.bytes) !== pick.digest) throw invalidParameter('manifest-digest', `manifest verification failed for digest ${pick.digest}`);
    m = parseManifest(top.bytes, top.mediaType);
    if (m.kind !== 'image') throw invalidParameter('invalid-manifest', 'an index inside an index is not supported');
  }
  const image = m;
  return {
    ref: familiar,
    async run(progress) {
      progress({ status: `Pulling from ${familiarName(named.name).replace(/:[^/]*$/, '')}`, id: named.digest && !named.tag ? named.digest : reference });
      const config = await fetchSmall(c, image.config, MAX_CONFIG);
      const spec = parseSpec(config);
      if (spec.rootfs.diff_ids.length !== image.layers.length) throw invalidParameter('invalid-manifest', 'the manifest and its config disagree on the number of layers');
      const before = ctx.store.get(sha256(config));
      const tmpFiles: string[] = [];
      try {
        const todo = image.layers.map((l, i) => ({ l, diffId: spec.rootfs.diff_ids[i] ?? '', short: l.digest.slice(7, 19), file: '' }));
        const missing = todo.filter((t) => !ctx.store.hasLayer(t.diffId));
        for (const t of todo) progress(missing.includes(t) ? { status: 'Pulling fs layer', progressDetail: {}, id: t.short } : { status: 'Already exists', progressDetail: {}, id: t.short });
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < missing.length) {
            const t = missing[next++];
            if (!t) return;
            t.file = join(ctx.store.root, 'tmp', `pull-${randomBytes(6).toString('hex')}`);
            tmpFiles.push(t.file);
            await download(c, t.l, t.file, t.short, progress);
          }
        };
        for (const t of missing.slice(CONCURRENCY)) progress({ status: 'Waiting', progressDetail: {}, id: t.short });
        await Promise.all(Array.from({ length: Math.min(CONCURRENCY, missing.length) }, worker));
        const layers = missing.map((t) => ({
          diffId: t.diffId,
          open: () => {
            progress({ status: 'Extracting', progressDetail: { current: 0, total: t.l.size }, id: t.short });
            return decoded(t.file, t.l.mediaType);
          },
          done: () => progress({ status: 'Pull complete', progressDetail: {}, id: t.short }),
        }));
        const tags = named.tag || !named.digest ? [familiarTagged({ name: named.name, tag: reference })] : [];
        const loaded = await ctx.store.addPulled(config, layers, tags, `${familiarName(named.name)}@${manifestDigest}`);
        progress({ status: `Digest: ${manifestDigest}` });
        const fresh = !before || !before.repoTags.includes(familiar);
        progress({ status: `Status: ${fresh ? 'Downloaded newer image' : 'Image is up to date'} for ${familiar}` });
        return { id: loaded.id };
      } finally {
        for (const f of tmpFiles) await rm(f, { force: true });
      }
    },
  };
}

async function fetchSmall(c: RepoClient, d: Descriptor, limit: number): Promise<Buffer> {
  if (d.size > limit) throw invalidParameter('blob-too-large', `config blob ${d.digest} is larger than ${limit} bytes`);
  const res = await c.blob(d.digest);
  const parts: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) parts.push(chunk);
  const b = Buffer.concat(parts);
  if (sha256(b) !== d.digest) throw invalidParameter('blob-digest', `failed to verify config: digest mismatch for ${d.digest}`);
  return b;
}

/** Docker's progress bar text: `[=====>      ]  1.2MB/10MB`. */
export function progressBar(current: number, total: number): string {
  const width = 50;
  const fill = total > 0 ? Math.min(width, Math.floor((current / total) * width)) : 0;
  const bar = '='.repeat(Math.max(0, fill - 1)) + (fill > 0 ? (fill === width ? '=' : '>') : '') + ' '.repeat(width - fill);
  return `[${bar}] ${human(current).padStart(8)}/${human(total)}`;
}

function human(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 3 : v < 100 ? 2 : 1).replace(/\.?0+$/, '')}${units[i]}`;
}

async function download(c: RepoClient, d: Descriptor, file: string, short: string, progress: Progress): Promise<void> {
  if (![...LAYER_GZIP, ...LAYER_ZSTD, ...LAYER_TAR].includes(d.mediaType)) {
    throw invalidParameter('layer-media-type', `unsupported layer media type "${d.mediaType}"`);
  }
  const res = await c.blob(d.digest);
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  let current = 0;
  let last = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      hash.update(chunk);
      current += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      const now = Date.now();
      if (now - last > 100) {
        last = now;
        progress({ status: 'Downloading', progressDetail: { current, total: d.size }, progress: progressBar(current, d.size), id: short });
      }
    }
    if (!res.complete) throw unavailable('blob-incomplete', `failed to download layer ${d.digest}: unexpected EOF`);
  } finally {
    await new Promise<void>((resolve) => out.end(() => resolve()));
  }
  progress({ status: 'Verifying Checksum', progressDetail: {}, id: short });
  const digest = `sha256:${hash.digest('hex')}`;
  if (digest !== d.digest || current !== d.size) {
    throw new RedesError('invalid-parameter', 'blob-digest', `filesystem layer verification failed for digest ${d.digest}`);
  }
  progress({ status: 'Download complete', progressDetail: {}, id: short });
}

/** The layer file as an uncompressed tar stream. */
function decoded(file: string, mediaType: string): AsyncIterable<Buffer> {
  const raw = createReadStream(file);
  if (LAYER_GZIP.includes(mediaType)) return raw.pipe(createGunzip());
  if (LAYER_ZSTD.includes(mediaType)) return zstdDecode(raw);
  return raw;
}

async function* zstdDecode(input: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const out: Buffer[] = [];
  const d = new Decompress((chunk) => out.push(Buffer.from(chunk)));
  for await (const chunk of input) {
    d.push(new Uint8Array(chunk));
    while (out.length) yield out.shift() as Buffer;
  }
  d.push(new Uint8Array(0), true);
  while (out.length) yield out.shift() as Buffer;
}
