/**
 * `docker save`: local images as one tar in the layout Docker 25+ writes, which is both an OCI image
 * layout (oci-layout, index.json, blobs/sha256/...) and a classic `docker save` archive
 * (manifest.json naming the same blobs, plus the legacy `repositories` file). load.ts reads it back.
 *
 * Use: `await saveImages(store, ['busybox', 'app:v1'], pack)`; the caller finalizes the pack and
 * streams it. `planSave` resolves the names first, so a bad name fails before any byte is sent.
 * Beware: layers are the uncompressed tars the store kept as they arrived (their sha256 is the diff
 * id, so blob digest = diff id); a layer stored before the store kept tars cannot be saved. A bare
 * repository name (no tag, no digest) saves every local tag of it, as dockerd does.
 */
import type { Pack } from 'tar-stream';
import { internal, notFound } from '../util/index.js';
import { familiarName, idHex, parseNamed, FULL_IMAGE_ID, HEX_ID } from './reference.js';
import { sha256 } from './spec.js';
import type { ImageStore } from './store.js';
import { packStreamed } from './tar-write.js';

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';
const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar';

export interface SaveItem {
  id: string;
  /** Familiar `name:tag` strings to record for this image (none when saved by id). */
  tags: string[];
}

/** The images `names` designate, each once, with the tags the archive should carry. */
export function planSave(store: ImageStore, names: readonly string[]): SaveItem[] {
  const byId = new Map<string, Set<string>>();
  const add = (id: string, tags: string[]): void => {
    const set = byId.get(id) ?? new Set<string>();
    for (const t of tags) set.add(t);
    byId.set(id, set);
  };
  for (const name of names) {
    if (HEX_ID.test(name) || FULL_IMAGE_ID.test(name)) {
      add(store.resolve(name).id, []);
      continue;
    }
    const ref = parseNamed(name);
    const repo = familiarName(ref.name);
    if (ref.tag || ref.digest) {
      const img = store.resolve(name);
      add(img.id, ref.tag ? img.repoTags.filter((t) => t === `${repo}:${ref.tag}`) : []);
      continue;
    }
    const tagged = store.list().filter((i) => i.repoTags.some((t) => t.startsWith(`${repo}:`)));
    if (tagged.length === 0) {
      add(store.resolve(name).id, []); // an id prefix, or Docker's "No such image"
      continue;
    }
    for (const img of tagged) add(img.id, img.repoTags.filter((t) => t.startsWith(`${repo}:`)));
  }
  return [...byId].map(([id, tags]) => ({ id, tags: [...tags].sort() }));
}

/** Write the archive of `items` into `pack` (blobs first, then the index files). */
export async function saveImages(store: ImageStore, items: readonly SaveItem[], pack: Pack): Promise<void> {
  const mtime = new Date(0);
  const dir = (name: string): Promise<void> => packStreamed(pack, { name, type: 'directory', mode: 0o755, mtime });
  const file = (name: string, bytes: Buffer): Promise<void> => packStreamed(pack, { name, type: 'file', mode: 0o644, size: bytes.length, mtime }, (async function* () { yield bytes; })());
  await dir('blobs/');
  await dir('blobs/sha256/');
  const written = new Set<string>();
  const index: Array<Record<string, unknown>> = [];
  const manifests: Array<Record<string, unknown>> = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const item of items) {
    const img = store.get(item.id);
    if (!img) throw notFound('image.not_found', `No such image: ${item.id}`);
    const config = await store.configBytes(img.id);
    if (!written.has(img.id)) await file(`blobs/sha256/${idHex(img.id)}`, config);
    written.add(img.id);
    const layers: Array<{ mediaType: string; digest: string; size: number }> = [];
    for (const diffId of img.layers) {
      const tar = await store.layerTar(diffId);
      if (!tar) throw internal('image.layer_tar_missing', `layer ${diffId} of image ${img.id} has no stored tar (load or pull the image again)`);
      if (!written.has(diffId)) await packStreamed(pack, { name: `blobs/sha256/${idHex(diffId)}`, type: 'file', mode: 0o644, size: tar.size, mtime }, tar.stream());
      written.add(diffId);
      layers.push({ mediaType: LAYER_TYPE, digest: diffId, size: tar.size });
    }
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config: { mediaType: CONFIG_TYPE, digest: img.id, size: config.length }, layers }));
    const digest = sha256(manifest);
    if (!written.has(digest)) await file(`blobs/sha256/${idHex(digest)}`, manifest);
    written.add(digest);
    const descriptor = { mediaType: MANIFEST_TYPE, digest, size: manifest.length };
    if (item.tags.length === 0) index.push(descriptor);
    for (const t of item.tags) {
      const ref = parseNamed(t);
      index.push({ ...descriptor, annotations: { 'io.containerd.image.name': `${ref.name}:${ref.tag ?? 'latest'}`, 'org.opencontainers.image.ref.name': ref.tag ?? 'latest' } });
      const colon = t.lastIndexOf(':');
      (repositories[t.slice(0, colon)] ??= {})[t.slice(colon + 1)] = idHex(img.id);
    }
    manifests.push({ Config: `blobs/sha256/${idHex(img.id)}`, RepoTags: item.tags.length ? item.tags : null, Layers: layers.map((l) => `blobs/sha256/${idHex(l.digest)}`) });
  }
  await file('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX_TYPE, manifests: index }) + '\n'));
  await file('manifest.json', Buffer.from(JSON.stringify(manifests) + '\n'));
  await file('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  if (Object.keys(repositories).length) await file('repositories', Buffer.from(JSON.stringify(repositories) + '\n'));
}
