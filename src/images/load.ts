/**
 * `docker load`: reads an image archive in either format Docker writes or accepts:
 *  - `docker save` (manifest.json naming a config file, tags and layer tars; Docker 25+ points
 *    these at OCI blobs, older versions at `<id>/layer.tar`, sometimes symlinked to a twin layer);
 *  - an OCI image layout (oci-layout, index.json, blobs/sha256/...), single or multi-platform, named
 *    by the `io.containerd.image.name` or a full `org.opencontainers.image.ref.name` annotation.
 *
 * Use: `loadArchive(input, spoolDir, target)`; the store supplies `target` (layer and image writers).
 *
 * Beware: the archive is first spooled to `spoolDir` as plain files (never symlinks, so nothing
 * written can escape it), because manifest.json usually comes after the layers. manifest.json wins
 * when both are present, as in Docker. Every layer is checked against its config's diff id.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { invalidParameter, showPathsAs, type RedesError } from '../util/index.js';
import { familiarTagged, parseNamed } from './reference.js';
import { DIGEST, hostArchitecture, parseSpec, sha256 } from './spec.js';
import { drain, readTar } from './tar-read.js';
import { cleanEntryPath } from './unpack.js';
import type { LoadedImage } from './types.js';

export interface LoadTarget {
  hasLayer(diffId: string): boolean;
  /** Unpack a layer and check that its diff id is `expected`. */
  addLayer(input: AsyncIterable<Buffer>, expected: string): Promise<void>;
  /** Store a config (its layers already added) and point `tags` at it. */
  addImage(config: Buffer, tags: string[]): Promise<LoadedImage>;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string };
}

const bad = (message: string): RedesError => invalidParameter('image.load_archive', message);
const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
const MAX_JSON = 64 << 20;

export async function loadArchive(input: AsyncIterable<Buffer>, spoolDir: string, target: LoadTarget): Promise<LoadedImage[]> {
  const spool = await Spool.fill(input, spoolDir);
  if (spool.has('manifest.json')) return loadDockerSave(spool, target);
  if (spool.has('index.json')) return loadOciLayout(spool, target);
  throw bad('invalid archive: neither manifest.json nor index.json found');
}

async function loadDockerSave(spool: Spool, target: LoadTarget): Promise<LoadedImage[]> {
  const manifest = await spool.json('manifest.json');
  if (!Array.isArray(manifest)) throw bad('invalid manifest.json: not a list');
  const loaded: LoadedImage[] = [];
  for (const m of manifest as { Config?: unknown; RepoTags?: unknown; Layers?: unknown }[]) {
    if (typeof m.Config !== 'string' || !Array.isArray(m.Layers)) throw bad('invalid manifest.json entry');
    const config = await spool.read(m.Config);
    const tags = Array.isArray(m.RepoTags) ? m.RepoTags.map((t) => loadTag(String(t))) : [];
    await addLayers(spool, target, config, m.Layers.map(String));
    loaded.push(await target.addImage(config, tags));
  }
  return loaded;
}

async function loadOciLayout(spool: Spool, target: LoadTarget): Promise<LoadedImage[]> {
  const index = (await spool.json('index.json')) as { manifests?: Descriptor[] };
  const loaded: LoadedImage[] = [];
  for (const d of index.manifests ?? []) {
    const name = nameOf(d.annotations);
    loaded.push(await loadDescriptor(spool, target, d, name));
  }
  return loaded;
}

async function loadDescriptor(spool: Spool, target: LoadTarget, d: Descriptor, name: string | undefined): Promise<LoadedImage> {
  const doc = (await spool.json(blobPath(d.digest))) as { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
  if (INDEX_TYPES.includes(d.mediaType ?? '') || Array.isArray(doc.manifests)) {
    return loadDescriptor(spool, target, pickPlatform(doc.manifests ?? []), name);
  }
  if (!doc.config || !Array.isArray(doc.layers)) throw bad(`invalid manifest ${d.digest}`);
  const config = await spool.read(blobPath(doc.config.digest));
  if (sha256(config) !== doc.config.digest) throw bad(`config digest mismatch: ${doc.config.digest}`);
  await addLayers(spool, target, config, doc.layers.map((l) => blobPath(l.digest)));
  return target.addImage(config, name ? [name] : []);
}

async function addLayers(spool: Spool, target: LoadTarget, config: Buffer, paths: string[]): Promise<void> {
  const diffIds = parseSpec(config).rootfs.diff_ids;
  if (diffIds.length !== paths.length) {
    throw bad(`invalid manifest, layers length mismatch: expected ${diffIds.length}, got ${paths.length}`);
  }
  for (const [i, diffId] of diffIds.entries()) {
    if (target.hasLayer(diffId)) continue;
    await target.addLayer(createReadStream(spool.path(paths[i] ?? '')), diffId);
  }
}

/** The manifest for this machine from a multi-platform index (attestations have platform unknown). */
function pickPlatform(manifests: Descriptor[]): Descriptor {
  const images = manifests.filter((m) => m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
  const arch = hostArchitecture();
  const match = images.find((m) => (m.platform?.os ?? 'linux') === 'linux' && (m.platform?.architecture ?? arch) === arch);
  if (!match) throw bad(`no image for platform linux/${arch} in the archive`);
  return match;
}

function nameOf(annotations: Record<string, string> | undefined): string | undefined {
  const full = annotations?.['io.containerd.image.name'] ?? annotations?.['org.opencontainers.image.ref.name'];
  if (!full || !/[:/]/.test(full)) return undefined; // a bare tag like "latest" names no repository
  try {
    const ref = parseNamed(full);
    return ref.tag ? familiarTagged(ref) : undefined;
  } catch {
    return undefined;
  }
}

function loadTag(t: string): string {
  const ref = parseNamed(t);
  if (!ref.tag || ref.digest) throw bad(`invalid tag "${t}"`);
  return familiarTagged(ref);
}

function blobPath(digest: string): string {
  if (!DIGEST.test(digest)) throw bad(`unsupported digest "${digest}"`);
  return `blobs/sha256/${digest.slice(7)}`;
}

/** The archive's files under a private directory; links are kept as a name map, never on disk. */
class Spool {
  private readonly files = new Set<string>();
  private readonly links = new Map<string, string>();

  private constructor(private readonly dir: string) {}

  static async fill(input: AsyncIterable<Buffer>, dir: string): Promise<Spool> {
    const s = new Spool(dir);
    await mkdir(dir, { recursive: true });
    await readTar(input, async (h, body) => {
      const rel = cleanEntryPath(h.name);
      if (h.type === 'symlink' || h.type === 'link') {
        const to = h.type === 'link' ? (h.linkname ?? '') : posix.join(posix.dirname(rel), h.linkname ?? '');
        s.links.set(rel, posix.normalize(to.replace(/^\/+/, '')));
      }
      if (h.type === 'file' || h.type === 'contiguous-file' || !h.type) {
        // A failure names the member as dockerd's chrooted untar of the archive does: `write /blobs/sha256/…`.
        try {
          await mkdir(posix.join(dir, posix.dirname(rel)), { recursive: true });
          const fh = await open(posix.join(dir, rel), 'w');
          try {
            for await (const chunk of body) await fh.write(chunk);
          } finally {
            await fh.close();
          }
        } catch (e) {
          throw showPathsAs(e, dir, '/', posix.join(dir, rel));
        }
        s.files.add(rel);
        return;
      }
      await drain(body); // directories, links and others carry no data we need
    });
    return s;
  }

  has(rel: string): boolean {
    return this.files.has(rel) || this.links.has(rel);
  }

  /** Absolute path of an archive member, following archive links; throws when missing. */
  path(name: string): string {
    let rel = posix.normalize(name).replace(/^\.\//, '');
    for (let hops = 0; !this.files.has(rel); hops++) {
      const next = this.links.get(rel);
      if (next === undefined || hops > 16 || next.startsWith('../')) throw bad(`archive member "${name}" not found`);
      rel = next;
    }
    return posix.join(this.dir, rel);
  }

  read(name: string): Promise<Buffer> {
    return readFile(this.path(name));
  }

  async json(name: string): Promise<unknown> {
    const bytes = await this.read(name);
    if (bytes.length > MAX_JSON) throw bad(`"${name}" is too large`);
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch {
      throw bad(`invalid JSON in "${name}"`);
    }
  }
}
