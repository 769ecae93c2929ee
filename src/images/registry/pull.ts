/**
 * `docker pull`: resolve the reference to an image manifest (through an index when there is one,
 * for this host's platform), fetch the config and the layers it lacks, verify every blob against
 * its digest, and store the image at once; with Docker's progress messages.
 *
 * Use: `const p = await preparePull(ctx, 'registry.test:5000/app:v1')` (errors here are plain API
 * errors: unknown tag, no access, unreachable), then `await p.run(progress)` (errors from here on
 * go into the progress stream).
 *
 * Beware: layers download concurrently (3 at a time, as dockerd) and are hashed, decoded and
 * unpacked into the store's tmp/ as they arrive, each in a worker thread (stage-thread.ts); only
 * when every blob matched its digest and every tar its diff id does the store take them. A mismatch
 * is `filesystem layer verification failed for digest ...` and nothing of the pull is kept. gzip is
 * decoded with node's zlib; zstd by the `zstd` program (Debian zstd) when it is installed, else by
 * the pure-JS fzstd decoder (about 7 times the CPU).
 */
import { join } from 'node:path';
import { invalidParameter, isSystemError, notFound, RedesError, unavailable, wrapError } from '../../util/index.js';
import { familiarName, familiarTagged, parseNamed } from '../reference.js';
import { hostArchitecture, parseSpec, sha256 } from '../spec.js';
import { discardStaged, type StagedLayer } from '../stage.js';
import { stageInThread } from '../stage-thread.js';
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
/** Compressed bytes handed to the layer's worker thread at once. */
const INPUT_BATCH = 1 << 20;

/** Docker's error for a failed manifest fetch. */
function manifestError(e: unknown, ref: string, name: string): Error {
  if (e instanceof RegistryError) {
    if (e.codes.includes('MANIFEST_UNKNOWN') || (e.status === 404 && !e.codes.includes('NAME_UNKNOWN'))) {
      return notFound('registry.manifest_unknown', `manifest for ${ref} not found: ${e.message}`);
    }
    if (e.codes.includes('NAME_UNKNOWN') || e.status === 401 || e.status === 403 || e.codes.includes('DENIED') || e.codes.includes('UNAUTHORIZED')) {
      return notFound('registry.pull_denied', `pull access denied for ${name}, repository does not exist or may require 'docker login': ${e.message}`);
    }
    return unavailable('registry.error', e.message);
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
    throw unavailable('registry.unreachable', `Get "${u}": ${(lastErr as Error | undefined)?.message ?? 'unreachable'}`);
  }
  const c = client;
  let top = got;
  const manifestDigest = sha256(top.bytes); // of the index when there is one: what Docker records
  if (named.digest && manifestDigest !== named.digest) throw invalidParameter('registry.manifest_digest', `manifest verification failed for digest ${named.digest}`);
  let m = parseManifest(top.bytes, top.mediaType);
  if (m.kind === 'index') {
    const pick = pickPlatform(m.manifests, 'linux', hostArchitecture());
    if (!pick) throw notFound('registry.no_matching_manifest', `no matching manifest for linux/${hostArchitecture()} in the manifest list entries`);
    top = await c.manifest(pick.digest).catch((e: unknown) => {
      throw manifestError(e, familiar, familiarName(named.name));
    });
    if (sha256(top.bytes) !== pick.digest) throw invalidParameter('registry.manifest_digest', `manifest verification failed for digest ${pick.digest}`);
    m = parseManifest(top.bytes, top.mediaType);
    if (m.kind !== 'image') throw invalidParameter('registry.manifest', 'an index inside an index is not supported');
  }
  const image = m;
  return {
    ref: familiar,
    async run(progress) {
      progress({ status: `Pulling from ${familiarName(named.name).replace(/:[^/]*$/, '')}`, id: named.digest && !named.tag ? named.digest : reference });
      const config = await fetchSmall(c, image.config, MAX_CONFIG);
      const spec = parseSpec(config);
      if (spec.rootfs.diff_ids.length !== image.layers.length) throw invalidParameter('registry.manifest', 'the manifest and its config disagree on the number of layers');
      const before = ctx.store.get(sha256(config));
      const todo = image.layers.map((l, i) => ({ l, diffId: spec.rootfs.diff_ids[i] ?? '', short: l.digest.slice(7, 19) }));
      const missing = todo.filter((t) => !ctx.store.hasLayer(t.diffId));
      for (const t of todo) progress(missing.includes(t) ? { status: 'Pulling fs layer', progressDetail: {}, id: t.short } : { status: 'Already exists', progressDetail: {}, id: t.short });
      for (const t of missing.slice(CONCURRENCY)) progress({ status: 'Waiting', progressDetail: {}, id: t.short });
      const staged = await fetchLayers(c, missing, join(ctx.store.root, 'tmp'), progress);
      const tags = named.tag || !named.digest ? [familiarTagged({ name: named.name, tag: reference })] : [];
      for (const t of missing) progress({ status: 'Extracting', progressDetail: { current: t.l.size, total: t.l.size }, progress: progressBar(t.l.size, t.l.size), id: t.short });
      const loaded = await ctx.store.addPulled(config, staged, tags, `${familiarName(named.name)}@${manifestDigest}`);
      for (const t of missing) progress({ status: 'Pull complete', progressDetail: {}, id: t.short });
      progress({ status: `Digest: ${manifestDigest}` });
      const fresh = !before || !before.repoTags.includes(familiar);
      progress({ status: `Status: ${fresh ? 'Downloaded newer image' : 'Image is up to date'} for ${familiar}` });
      return { id: loaded.id };
    },
  };
}

interface LayerTask {
  l: Descriptor;
  diffId: string;
  short: string;
}

/**
 * Download, verify and stage `tasks` (CONCURRENCY at a time). On the first failure the others are
 * cut off, everything staged is removed, and that failure is thrown.
 */
async function fetchLayers(c: RepoClient, tasks: readonly LayerTask[], tmpDir: string, progress: Progress): Promise<StagedLayer[]> {
  const staged: StagedLayer[] = [];
  const abort = new AbortController();
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    for (let t = tasks[next++]; t && !abort.signal.aborted; t = tasks[next++]) {
      try {
        staged.push(await fetchLayer(c, t, tmpDir, progress, abort.signal));
      } catch (e) {
        failure ??= e;
        abort.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, tasks.length) }, worker));
  if (failure !== undefined) {
    for (const s of staged) await discardStaged(s);
    throw failure;
  }
  return staged;
}

async function fetchSmall(c: RepoClient, d: Descriptor, limit: number): Promise<Buffer> {
  if (d.size > limit) throw invalidParameter('registry.blob_too_large', `config blob ${d.digest} is larger than ${limit} bytes`);
  const res = await c.blob(d.digest);
  const parts: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) parts.push(chunk);
  const b = Buffer.concat(parts);
  if (sha256(b) !== d.digest) throw invalidParameter('registry.blob_digest', `failed to verify config: digest mismatch for ${d.digest}`);
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

/**
 * One layer, streamed: the blob goes in INPUT_BATCH pieces to a worker thread that hashes, decodes
 * and stages it (stage-thread.ts); the compressed digest and size, then the diff id, must match
 * before it counts. When decoding fails, the rest of the blob is still read and hashed: a blob that
 * does not match its digest is reported as such, whatever garbage it made the decoder choke on.
 */
async function fetchLayer(c: RepoClient, t: LayerTask, tmpDir: string, progress: Progress, signal: AbortSignal): Promise<StagedLayer> {
  const d = t.l;
  if (![...LAYER_GZIP, ...LAYER_ZSTD, ...LAYER_TAR].includes(d.mediaType)) {
    throw invalidParameter('registry.layer_media_type', `unsupported layer media type "${d.mediaType}"`);
  }
  const res = await c.blob(d.digest);
  const stop = (): void => void res.destroy(new Error('pull cancelled'));
  signal.addEventListener('abort', stop, { once: true });
  const job = stageInThread(tmpDir, LAYER_GZIP.includes(d.mediaType) ? 'gzip' : LAYER_ZSTD.includes(d.mediaType) ? 'zstd' : 'tar');
  let current = 0;
  let last = 0;
  let oversize = false;
  const finished = new Promise<boolean>((resolve) => res.once('close', () => resolve(res.complete)));
  // The socket's ~16 KiB reads are gathered into INPUT_BATCH pieces: each message to the worker
  // and each write into zlib costs far more than the copy on a busy machine.
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = (): boolean => {
    const piece = Buffer.concat(batch, batched);
    batch = [];
    batched = 0;
    return job.write(piece);
  };
  res.on('data', (chunk: Buffer) => {
    current += chunk.length;
    if (current > d.size) {
      oversize = true;
      return void res.destroy(verifyError(d.digest));
    }
    const now = Date.now();
    if (now - last > 100) {
      last = now;
      progress({ status: 'Downloading', progressDetail: { current, total: d.size }, progress: progressBar(current, d.size), id: t.short });
    }
    batch.push(chunk);
    batched += chunk.length;
    if (batched >= INPUT_BATCH && !flush()) {
      res.pause();
      void job.drained().then(() => res.resume());
    }
  });
  res.once('end', () => {
    if (batched) flush();
    job.end();
  });
  res.once('close', () => {
    if (!res.complete) job.abort();
  });
  try {
    const r = await job.result;
    const whole = await finished;
    try {
      if (oversize) throw verifyError(d.digest);
      if (!whole) throw signal.aborted ? new Error('pull cancelled') : unavailable('registry.blob_incomplete', `failed to download layer ${d.digest}: unexpected EOF`);
      progress({ status: 'Verifying Checksum', progressDetail: {}, id: t.short });
      if (r.digest !== d.digest || r.bytes !== d.size) throw verifyError(d.digest);
      // dockerd's words for a layer it could not store (distribution/xfer): `failed to register layer: write /…: no space left on device`.
      if (r.error) throw isSystemError(r.error) ? wrapError('failed to register layer', r.error) : r.error;
      if (!r.staged) throw new Error('layer worker gave no result');
      if (r.staged.diffId !== t.diffId) throw invalidParameter('image.layer_digest', `layer diff id mismatch: expected ${t.diffId}, got ${r.staged.diffId}`);
    } catch (e) {
      if (r.staged) await discardStaged(r.staged);
      throw e;
    }
    progress({ status: 'Download complete', progressDetail: {}, id: t.short });
    return r.staged;
  } finally {
    signal.removeEventListener('abort', stop);
    res.destroy();
  }
}

const verifyError = (digest: string): RedesError => new RedesError('invalid-parameter', 'registry.blob_digest', `filesystem layer verification failed for digest ${digest}`);
