/**
 * The local image store: images made by `docker import`, `docker load` or redes itself, with their
 * layers unpacked once and shared.
 *
 * On-disk layout under the root the daemon gives (`<data-root>/images`):
 *   index.json            tags → image ids, per-image size/tag time, per-layer size (atomic rewrite;
 *                         index.json.spare holds room to rewrite it on a full disk)
 *   configs/<hex>.json    each image's config, byte for byte (the image id is its sha256)
 *   layers/<hex>/         each layer unpacked, named by its diff id; an overlayfs lower directory
 *   layer-splits/<hex>    what rebuilds each layer's tar from its files (layer-files.ts): what push sends
 *   tmp/                  spooled archives and half-unpacked layers; emptied at open
 *
 * Use: `const store = await ImageStore.open(root)`; queries are synchronous reads of memory, and
 * every change runs under one in-process lock and rewrites index.json by write-temp-then-rename.
 *
 * Beware: a layer directory appears (by rename) before index.json names it, and files are removed
 * only after index.json stops naming them, so a crash leaves garbage, never a dangling reference;
 * `open` sweeps the garbage. Only one process may own a root. An image force-removed while a
 * container still uses it is hidden (no tags, not listed, not resolvable by name) but keeps its
 * layers until `collectGarbage` finds it unused.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { internal, invalidParameter, notFound, nowRfc3339Nano } from '../util/index.js';
import { writeAtomic, writeAtomicReserved } from './atomic-file.js';
import { LAYER_FOLDERS, layersOnDisk, moveStagedLayer, openLayerTar, removeLayerFiles } from './layer-files.js';
import type { SplitTar } from './tar-split.js';
import { applyChanges } from './changes.js';
import { loadArchive } from './load.js';
import { FULL_IMAGE_ID, HEX_ID, familiarName, familiarTagged, idHex, parseNamed, tagKey, type NamedRef } from './reference.js';
import { planRemove } from './remove.js';
import { chainIds, importSpec, parseSpec, sha256 } from './spec.js';
import { discardStaged, stageLayer, type StagedLayer } from './stage.js';
import type { DeleteRecord, Image, ImageSpec, ImportOptions, InUseCheck, LoadedImage, RemoveOptions } from './types.js';

interface IndexFile {
  version: 1;
  images: Record<string, { size: number; lastTagTime?: string; hidden?: boolean; parent?: string; intermediate?: boolean }>;
  tags: Record<string, string>;
  layers: Record<string, { size: number }>;
  /** `name@sha256:<manifest digest>` (familiar) → image id, for images pulled or pushed. */
  digests?: Record<string, string>;
  /** Build cache: step key (parent, instruction, sources) → image id of that step's result. */
  buildCache?: Record<string, string>;
}

/** One build step to store (see `addBuilt`). */
export interface BuiltStep {
  /** The step's layer as an uncompressed tar stream; absent for a config-only step. */
  layer?: AsyncIterable<Buffer>;
  /** The config document, given the new layer's diff id (undefined without a layer). */
  spec: (diffId: string | undefined) => ImageSpec;
  /** The image this step started from (for `docker history` and `docker rmi`'s pruning). */
  parent?: string;
  /** Steps other than a build's last are not listed (`docker images`), as Docker hides them. */
  intermediate: boolean;
  /** Remember the result under this build-cache key. */
  cacheKey?: string;
}

export class ImageStore {
  private index: IndexFile = { version: 1, images: {}, tags: {}, layers: {} };
  private readonly specs = new Map<string, ImageSpec>();
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(readonly root: string) {}

  /** Open (creating if needed) the store at `root` and sweep what a crash may have left. */
  static async open(root: string): Promise<ImageStore> {
    const s = new ImageStore(root);
    for (const d of ['configs', ...LAYER_FOLDERS, 'tmp']) await mkdir(join(root, d), { recursive: true });
    await s.reload();
    await s.sweep();
    return s;
  }

  /** Every visible image, newest first (as `GET /images/json` lists them). */
  list(): Image[] {
    const tagsById = new Map<string, string[]>();
    for (const [t, id] of Object.entries(this.index.tags)) tagsById.set(id, [...(tagsById.get(id) ?? []), t]);
    return Object.keys(this.index.images)
      .filter((hex) => !this.index.images[hex]?.hidden && !(this.index.images[hex]?.intermediate && !tagsById.has(`sha256:${hex}`)))
      .map((hex) => this.image(`sha256:${hex}`, tagsById.get(`sha256:${hex}`) ?? []))
      .sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
  }

  /** An image by full id (`sha256:<hex>`), hidden ones included; undefined when absent. */
  get(id: string): Image | undefined {
    return this.index.images[idHex(id)] ? this.image(`sha256:${idHex(id)}`) : undefined;
  }

  /**
   * Find an image as Docker does: a full id (with or without `sha256:`), then `name[:tag]`
   * (`latest` by default), then a unique id prefix. Throws `No such image: <ref>` (404).
   */
  resolve(refOrId: string): Image {
    const fullHex = HEX_ID.test(refOrId) ? refOrId : FULL_IMAGE_ID.test(refOrId) ? refOrId.slice(7) : undefined;
    if (fullHex !== undefined) {
      const img = this.get(fullHex);
      if (!img || this.index.images[fullHex]?.hidden) throw notFound('image.not_found', `No such image: sha256:${fullHex}`);
      return img;
    }
    const ref: NamedRef = parseNamed(refOrId);
    const id = ref.digest ? this.index.digests?.[`${familiarName(ref.name)}@${ref.digest}`] : this.index.tags[familiarTagged(ref)];
    if (id && this.index.images[idHex(id)]) return this.image(id);
    const byPrefix = this.searchPrefix(refOrId);
    if (byPrefix) return this.image(byPrefix);
    throw notFound('image.not_found', `No such image: ${familiarTagged(ref)}`);
  }

  /** Layer directories of an image, lowest first: overlayfs lowerdirs (reverse them for the option). */
  rootfsLayers(imageId: string): string[] {
    const img = this.get(imageId);
    if (!img) throw notFound('image.not_found', `No such image: ${imageId}`);
    return img.layers.map((d) => this.layerDir(d));
  }

  /** `docker import`: one layer from a (gzip) rootfs tar, config from `changes`. */
  async importRootfs(tar: Readable, opts: ImportOptions = {}): Promise<Image> {
    const config = applyChanges({}, opts.changes ?? []); // refuse bad changes before reading the upload
    const tags = opts.ref ? [tagKey(opts.ref)] : [];
    return this.changing(async () => {
      const { diffId } = await this.addLayer(tar);
      const spec = importSpec(diffId, config, opts.message);
      const { id } = await this.addImage(Buffer.from(JSON.stringify(spec)), tags);
      return this.image(id);
    });
  }

  /** `docker load`: a `docker save` tar or an OCI layout tar (gzip or not). */
  async load(tar: Readable): Promise<LoadedImage[]> {
    return this.changing(async () => {
      const spool = join(this.root, 'tmp', `load-${randomBytes(6).toString('hex')}`);
      try {
        return await loadArchive(tar, spool, {
          hasLayer: (d) => this.index.layers[idHex(d)] !== undefined,
          addLayer: async (input, expected) => {
            const { diffId } = await this.addLayer(input);
            if (diffId !== expected) throw invalidParameter('image.load_archive', `invalid diffID for layer: expected "${expected}", got "${diffId}"`);
          },
          addImage: (config, tags) => this.addImage(config, tags),
        });
      } finally {
        await rm(spool, { recursive: true, force: true });
      }
    });
  }

  /** `docker commit`: a new layer from a tar stream, then the image whose config `makeConfig` writes for it. */
  async commit(layer: AsyncIterable<Buffer>, makeConfig: (diffId: string) => Buffer, tags: string[]): Promise<LoadedImage> {
    return this.changing(async () => {
      const { diffId } = await this.addLayer(layer);
      return this.addImage(makeConfig(diffId), tags);
    });
  }

  /** Point `repo[:tag]` at the image `source` names; returns the familiar tag (`name:tag`). */
  async tag(source: string, repo: string, tag?: string): Promise<string> {
    const key = tagKey(repo, tag);
    return this.locked(async () => {
      const img = this.resolve(source);
      this.index.tags[key] = img.id;
      this.entry(img.id).lastTagTime = nowRfc3339Nano();
      await this.save();
      return key;
    });
  }

  /** `docker rmi`: untag or delete with Docker's rules and conflict messages. */
  async remove(ref: string, opts: RemoveOptions = {}): Promise<DeleteRecord[]> {
    return this.locked(async () => {
      const img = this.resolve(ref);
      const plan = planRemove(img, ref, opts);
      const records: DeleteRecord[] = [];
      for (const t of plan.untag) {
        delete this.index.tags[t];
        records.push({ Untagged: t });
      }
      if (plan.del === 'delete') {
        const parent = this.index.images[idHex(img.id)]?.parent;
        records.push({ Deleted: img.id }, ...(await this.dropImage(img.id)).map((c) => ({ Deleted: c })));
        if (!opts.noPrune) records.push(...(await this.pruneParents(parent, opts.inUse)));
      }
      if (plan.del === 'hide') {
        this.entry(img.id).hidden = true; // a container still needs its layers
        records.push({ Deleted: img.id });
      }
      await this.save();
      return records;
    });
  }

  /** Delete hidden images (force-removed while in use) that no container uses any more. */
  async collectGarbage(inUse: InUseCheck): Promise<string[]> {
    return this.locked(async () => {
      const gone = Object.entries(this.index.images)
        .filter(([hex, e]) => e.hidden && !inUse(`sha256:${hex}`))
        .map(([hex]) => `sha256:${hex}`);
      for (const id of gone) await this.dropImage(id);
      await this.save();
      return gone;
    });
  }

  /**
   * Store one build step: its layer (skipped when an identical one is stored) and its config.
   * Nothing is kept of a step that fails.
   */
  async addBuilt(step: BuiltStep): Promise<Image> {
    return this.changing(async () => {
      const diffId = step.layer ? (await this.addLayer(step.layer)).diffId : undefined;
      const config = Buffer.from(JSON.stringify(step.spec(diffId)));
      const isNew = !this.index.images[idHex(sha256(config))];
      const { id } = await this.addImage(config, []);
      const e = this.entry(id);
      if (isNew && step.parent) e.parent = step.parent;
      if (isNew && step.intermediate) e.intermediate = true;
      if (!step.intermediate) delete e.intermediate;
      if (step.cacheKey) this.index.buildCache = { ...this.index.buildCache, [step.cacheKey]: id };
      await this.save();
      return this.image(id);
    });
  }

  /** The image a build step with this cache key made, while it is still stored. */
  cached(cacheKey: string): Image | undefined {
    const id = this.index.buildCache?.[cacheKey];
    const e = id ? this.index.images[idHex(id)] : undefined;
    return id && e && !e.hidden ? this.image(id) : undefined;
  }

  /** A build's result is listed from now on, even untagged (`<none>` in `docker images`). */
  async markBuilt(id: string): Promise<void> {
    return this.locked(async () => {
      delete this.entry(id).intermediate;
      await this.save();
    });
  }

  /**
   * `docker builder prune`: delete the hidden build steps that no tagged or listed image builds on
   * and no container uses; returns their ids and the bytes of the layers that went with them.
   */
  async pruneBuildSteps(inUse: InUseCheck): Promise<{ ids: string[]; space: number }> {
    return this.locked(async () => {
      const ids: string[] = [];
      let space = 0;
      for (let more = true; more; ) {
        more = false;
        for (const [hex, e] of Object.entries(this.index.images)) {
          const id = `sha256:${hex}`;
          if (!e.intermediate || Object.values(this.index.tags).includes(id) || inUse(id)) continue;
          if (Object.values(this.index.images).some((o) => o.parent === id)) continue;
          const before = Object.values(this.index.layers).reduce((n, l) => n + l.size, 0);
          await this.dropImage(id);
          space += before - Object.values(this.index.layers).reduce((n, l) => n + l.size, 0);
          ids.push(id);
          more = true;
        }
      }
      return { ids, space };
    });
  }

  /** The image a build step started from, when this store built it. */
  parentOf(id: string): string | undefined {
    return this.index.images[idHex(id)]?.parent;
  }

  layerDir(diffId: string): string {
    return join(this.root, 'layers', idHex(diffId));
  }

  /** The layer's tar as it arrived (uncompressed, rebuilt); undefined for layers stored before tars were kept. */
  layerTar(diffId: string): Promise<SplitTar | undefined> {
    return openLayerTar(this.root, diffId);
  }

  /** Bytes of a stored layer's files (0 when it is not stored). */
  layerSize(diffId: string): number {
    return this.index.layers[idHex(diffId)]?.size ?? 0;
  }

  /** True when the layer is stored (unpacked), as a pull asks before downloading it. */
  hasLayer(diffId: string): boolean {
    return this.index.layers[idHex(diffId)] !== undefined;
  }

  /** The image's config file bytes, exactly as stored (the image id is their sha256). */
  async configBytes(imageId: string): Promise<Buffer> {
    if (!this.get(imageId)) throw notFound('image.not_found', `No such image: ${imageId}`);
    return readFile(join(this.root, 'configs', `${idHex(imageId)}.json`));
  }

  /** Repository digests (`name@sha256:...`) of an image, sorted. */
  repoDigests(imageId: string): string[] {
    return Object.entries(this.index.digests ?? {}).filter(([, id]) => id === imageId).map(([d]) => d).sort();
  }

  /**
   * A pulled image: its layers were staged (unpacked into tmp/, see stage.ts) and checked by the
   * caller; those the store lacks move into place, the others are discarded, then the config and
   * tags are stored. Whatever happens, no staged file is left in tmp/.
   */
  async addPulled(config: Buffer, layers: readonly StagedLayer[], tags: string[], repoDigest?: string): Promise<LoadedImage> {
    try {
      return await this.changing(async () => {
        for (const l of layers) if (this.isNewLayer(l)) await this.moveLayer(l);
        const loaded = await this.addImage(config, tags);
        if (repoDigest) await this.recordDigest(repoDigest, loaded.id, false);
        return loaded;
      });
    } finally {
      for (const l of layers) await discardStaged(l);
    }
  }

  /** Remember that `name@sha256:...` is image `id` (after a pull or a push). */
  async recordDigest(repoDigest: string, id: string, lock = true): Promise<void> {
    const write = async (): Promise<void> => {
      this.index.digests = { ...this.index.digests, [repoDigest]: id };
      await this.save();
    };
    return lock ? this.locked(write) : write();
  }

  private image(id: string, tags?: string[]): Image {
    const spec = this.specs.get(id);
    const e = this.index.images[idHex(id)];
    if (!spec || !e) throw internal('image.store', `image ${id} is missing from the store`);
    const repoTags = tags ?? Object.keys(this.index.tags).filter((t) => this.index.tags[t] === id);
    return {
      id,
      repoTags: [...repoTags].sort(),
      spec,
      config: spec.config ?? {},
      layers: spec.rootfs.diff_ids,
      created: spec.created,
      size: e.size,
      lastTagTime: e.lastTagTime,
    };
  }

  private entry(id: string): IndexFile['images'][string] {
    const e = this.index.images[idHex(id)];
    if (!e) throw notFound('image.not_found', `No such image: ${id}`);
    return e;
  }

  private searchPrefix(s: string): string | undefined {
    const hex = idHex(s);
    if (!/^[a-f0-9]+$/.test(hex)) return undefined;
    const hits = Object.entries(this.index.images).filter(([h, e]) => h.startsWith(hex) && !e.hidden);
    return hits.length === 1 && hits[0] ? `sha256:${hits[0][0]}` : undefined; // ambiguous = not found, as Docker
  }

  /** Unpack a layer into tmp/, then move it to layers/<hex> unless an identical one is there. */
  private async addLayer(input: AsyncIterable<Buffer>): Promise<{ diffId: string }> {
    const staged = await stageLayer(join(this.root, 'tmp'), input);
    try {
      if (this.isNewLayer(staged)) await this.moveLayer(staged);
      return { diffId: staged.diffId };
    } finally {
      await discardStaged(staged);
    }
  }

  /** Whether a staged layer is new to the store (then `moveLayer` must follow). */
  private isNewLayer(l: StagedLayer): boolean {
    return !this.index.layers[idHex(l.diffId)];
  }

  /** Move a staged layer into place and index it. */
  private async moveLayer(l: StagedLayer): Promise<void> {
    await moveStagedLayer(this.root, l);
    this.index.layers[idHex(l.diffId)] = { size: l.size };
  }

  /** Store config bytes as an image whose layers are all present, and point `tags` at it. */
  private async addImage(config: Buffer, tags: string[]): Promise<LoadedImage> {
    const spec = parseSpec(config);
    const id = sha256(config);
    const missing = spec.rootfs.diff_ids.find((d) => !this.index.layers[idHex(d)]);
    if (missing) throw internal('image.store', `layer ${missing} of image ${id} is missing`);
    const hex = idHex(id);
    if (!this.index.images[hex]) {
      await writeAtomic(join(this.root, 'configs', `${hex}.json`), config);
      const size = spec.rootfs.diff_ids.reduce((n, d) => n + (this.index.layers[idHex(d)]?.size ?? 0), 0);
      this.index.images[hex] = { size };
      this.specs.set(id, spec);
    }
    const e = this.entry(id);
    delete e.hidden;
    const renamed: LoadedImage['renamed'] = [];
    for (const t of tags) {
      const old = this.index.tags[t];
      if (old && old !== id) renamed.push({ ref: t, oldId: old });
      this.index.tags[t] = id;
      e.lastTagTime = nowRfc3339Nano();
    }
    await this.save();
    return { id, repoTags: tags, renamed };
  }

  /** `docker rmi`: untagged intermediate build steps that no other image builds on go too. */
  private async pruneParents(parent: string | undefined, inUse: InUseCheck | undefined): Promise<DeleteRecord[]> {
    const out: DeleteRecord[] = [];
    for (let id = parent; id; ) {
      const e = this.index.images[idHex(id)];
      if (!e?.intermediate || Object.values(this.index.tags).includes(id) || inUse?.(id)) break;
      if (Object.values(this.index.images).some((o) => o.parent === id)) break;
      const next = e.parent;
      out.push({ Deleted: id }, ...(await this.dropImage(id)).map((c) => ({ Deleted: c })));
      id = next;
    }
    return out;
  }

  /** Forget an image and delete the layers no other image uses; returns their chain ids, top first. */
  private async dropImage(id: string): Promise<string[]> {
    const spec = this.specs.get(id);
    delete this.index.images[idHex(id)];
    this.specs.delete(id);
    for (const [t, target] of Object.entries(this.index.tags)) if (target === id) delete this.index.tags[t];
    for (const [d, target] of Object.entries(this.index.digests ?? {})) if (target === id) delete this.index.digests?.[d];
    for (const [k, target] of Object.entries(this.index.buildCache ?? {})) if (target === id) delete this.index.buildCache?.[k];
    const diffIds = spec?.rootfs.diff_ids ?? [];
    const used = new Set([...this.specs.values()].flatMap((s) => s.rootfs.diff_ids));
    const chains = chainIds(diffIds);
    const removed = diffIds.map((d, i) => ({ d, chain: chains[i] ?? d })).filter(({ d }) => !used.has(d));
    for (const { d } of removed) delete this.index.layers[idHex(d)];
    await this.save();
    for (const { d } of removed) await removeLayerFiles(this.root, d);
    await rm(join(this.root, 'configs', `${idHex(id)}.json`), { force: true });
    return [...new Set(removed.map((r) => r.chain))].reverse();
  }

  /** Writes index.json (its spare keeps it writable on a full disk); on failure memory goes back to the disk's. */
  private async save(): Promise<void> {
    try {
      await writeAtomicReserved(join(this.root, 'index.json'), Buffer.from(JSON.stringify(this.index, null, 1)));
    } catch (e) {
      await this.reload();
      throw e;
    }
  }

  /** Memory as the disk says: index.json and the config of each image it names. */
  private async reload(): Promise<void> {
    const text = await readFile(join(this.root, 'index.json'), 'utf8').catch(() => undefined);
    this.index = text ? (JSON.parse(text) as IndexFile) : { version: 1, images: {}, tags: {}, layers: {} };
    this.specs.clear();
    for (const hex of Object.keys(this.index.images)) this.specs.set(`sha256:${hex}`, parseSpec(await readFile(join(this.root, 'configs', `${hex}.json`))));
  }

  /** Remove tmp/ contents and layer or config files that index.json does not name. */
  private async sweep(): Promise<void> {
    for (const f of await readdir(this.root)) if (f.includes('.tmp-')) await rm(join(this.root, f), { force: true });
    for (const f of await readdir(join(this.root, 'tmp'))) await rm(join(this.root, 'tmp', f), { recursive: true, force: true });
    await this.dropUnnamed();
  }

  /** Layer and config files that the index does not name (under the lock: nothing is being added). */
  private async dropUnnamed(): Promise<void> {
    for (const hex of await layersOnDisk(this.root)) if (!this.index.layers[hex]) await removeLayerFiles(this.root, hex);
    for (const f of await readdir(join(this.root, 'configs'))) {
      if (!this.index.images[f.replace(/\.json$/, '')]) await rm(join(this.root, 'configs', f), { force: true });
    }
  }

  /** After a failed import, load, pull or build step: drop unused layers and files the index never named. */
  private async dropUnusedLayers(): Promise<void> {
    const used = new Set([...this.specs.values()].flatMap((s) => s.rootfs.diff_ids.map(idHex)));
    const unused = Object.keys(this.index.layers).filter((h) => !used.has(h));
    for (const h of unused) delete this.index.layers[h];
    if (unused.length > 0) await this.save();
    for (const h of unused) await removeLayerFiles(this.root, h);
    await this.dropUnnamed();
  }

  /** Run `fn` alone; when it fails, clean up the layers it left behind. */
  private changing<T>(fn: () => Promise<T>): Promise<T> {
    return this.locked(async () => {
      try {
        return await fn();
      } catch (e) {
        await this.dropUnusedLayers();
        throw e;
      }
    });
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }
}
