/**
 * The engine's view of local images: what the Engine API's /images routes (and the container code)
 * need from the image store (store.ts), plus Docker's list filters, history and prune, and
 * the offline answer to a pull.
 *
 * Use: `const images = await openImageService(join(dataRoot, 'images'), { inUse })`, then hand
 * `images` to `imageRoutes` (api/) and to the container code (`resolve`, `store.rootfsLayers`).
 *
 * Beware: a pull asks the registry (registry/); when no registry can be reached and the image is
 * already present, it is the old offline no-op (so `docker pull busybox` and `docker run --pull
 * always` keep working on machines without a registry). `deps.inUse` is read at every call, so the daemon may set it after it has built the
 * container code (`images.deps.inUse = ...`).
 */
import type { IncomingMessage } from 'node:http';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { planSave, saveImages } from './save.js';
import { imageInspect, imageSummary, type ImageInspectJson, type ImageSummaryJson } from './api-shapes.js';
import { ensureBusyboxImage } from './busybox.js';
import { familiarName, familiarTagged, parseNamed, tagKey } from './reference.js';
import { ImageStore } from './store.js';
import type { Credentials } from './registry/client.js';
import { Registries, type RegistryOptions } from './registry/endpoints.js';
import { loginRegistry } from './registry/login.js';
import { preparePull, type PreparedPull, type Progress } from './registry/pull.js';
import { pushImage } from './registry/push.js';
import { send } from './registry/http.js';
import type { DeleteRecord, Image, InUseCheck, LoadedImage } from './types.js';
import { forbidden, internal, invalidParameter, isRedesError, notFound, unavailable, type RedesError, Filters, clipEcho } from '../util/index.js';


/** One entry of `GET /images/{name}/history`, newest first. */
export interface ImageHistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface ImportRequest {
  /** `repo` query value: `name` or `name:tag`; untagged image when empty. */
  repo?: string;
  tag?: string;
  /** Dockerfile instructions (`--change`), applied to an empty config. */
  changes?: string[];
  /** Comment of the image and its history entry. */
  message?: string;
}

/** A pull answered from the local store: what to print as the pull's progress. */
export interface LocalPull {
  /** Repository path as the registry would call it: `library/busybox`. */
  path: string;
  /** Tags "pulled" (one, or every local tag of the repository for `pull --all-tags`). */
  tags: string[];
  /** Familiar reference for the final status line: `busybox:latest`, or `busybox` for all tags. */
  ref: string;
}

export interface PruneReport {
  ImagesDeleted: DeleteRecord[] | null;
  SpaceReclaimed: number;
}

export interface ImageServiceDeps {
  /** Which container uses an image (blocks or hides `docker rmi`); no containers when absent. */
  inUse?: InUseCheck;
  /** Mirrors, insecure registries, certificates and resolver for registry connections. */
  registries?: RegistryOptions;
}

/** What the API and the container code ask of local images. Errors carry Docker's texts. */
export interface ImageService {
  /** `GET /images/json`: visible images, newest first, after the `filters` JSON. */
  list(filters?: string | null): ImageSummaryJson[];
  /** An image by id, id prefix or `name[:tag]`; `No such image: X` (404) otherwise. */
  resolve(name: string): Image;
  /** `GET /images/{name}/json`. */
  inspect(name: string): ImageInspectJson;
  /** `GET /images/{name}/history`. */
  history(name: string): Promise<ImageHistoryItem[]>;
  /** `docker import`: one layer from a rootfs tar (gzip or not). */
  importRootfs(tar: Readable, req: ImportRequest): Promise<Image>;
  /** `docker load`: a `docker save` or OCI layout tar. */
  load(tar: Readable): Promise<LoadedImage[]>;
  /** `docker save`: the archive of the named images (names are checked before it starts). */
  save(names: readonly string[]): Readable;
  /** `docker tag`: point `repo[:tag]` at `source`; returns the familiar `name:tag`. */
  tag(source: string, repo: string, tag?: string): Promise<string>;
  /** `docker rmi`: untag and delete with Docker's conflict rules. */
  remove(name: string, opts?: { force?: boolean; noPrune?: boolean }): Promise<DeleteRecord[]>;
  /** `docker image prune`: dangling (or, with `dangling=false`, all) images no container uses. */
  prune(filters?: string | null): Promise<PruneReport>;
  /** `POST /images/create?fromImage=`: succeeds only for an image already present. */
  pull(fromImage: string, tag?: string): LocalPull;
  /**
   * `docker pull` from a registry: the manifest is resolved now (errors are API errors); `run`
   * downloads. When no registry can be reached and the image is present, the local answer (offline).
   */
  pullRemote(fromImage: string, tag: string | undefined, creds: Credentials | undefined): Promise<PreparedPull | LocalPull>;
  /** `docker push NAME[:TAG]` (no tag: every local tag of the repository). */
  push(name: string, tag: string | undefined, creds: Credentials | undefined, progress: Progress): Promise<void>;
  /** `docker login`: check credentials against a registry's /v2/. */
  login(server: string, creds: Credentials): Promise<void>;
  /** Delete images force-removed while in use once no container uses them; returns their ids. */
  collectGarbage(): Promise<string[]>;
  /** GET `url` the way the daemon's registry connections go out (resolver, uplink): `ADD <URL>`. */
  fetchUrl(url: URL): Promise<IncomingMessage>;
  /** Make `busybox:latest` present (built from this machine's busybox-static). */
  ensureBusybox(): Promise<Image>;
}

const LIST_FILTERS = ['dangling', 'label', 'label!', 'before', 'since', 'reference', 'until'];
const PRUNE_FILTERS = ['dangling', 'label', 'label!', 'until'];
const NO_REGISTRY = 'no registry is configured on this engine (add images with docker load or docker import)';

export class LocalImageService implements ImageService {
  /** Undefined without `deps.registries`: then no registry is ever contacted (tests, offline). */
  readonly registries: Registries | undefined;

  constructor(
    readonly store: ImageStore,
    readonly deps: ImageServiceDeps = {},
  ) {
    this.registries = deps.registries ? new Registries(deps.registries) : undefined;
  }

  async fetchUrl(url: URL): Promise<IncomingMessage> {
    const route = (await this.registries?.route()) ?? {};
    return send({ url, method: 'GET', ...route });
  }

  async pullRemote(fromImage: string, tag: string | undefined, creds: Credentials | undefined): Promise<PreparedPull | LocalPull> {
    if (!this.registries) return this.pull(fromImage, tag);
    const base = fromImage.replace(/:$/, '');
    if (familiarName(parseNamed(base).name) === 'scratch') throw forbidden('image.reserved_name', "'scratch' is a reserved name");
    const text = tag ? (/^sha256:/.test(tag) ? `${base}@${tag}` : `${base}:${tag}`) : base;
    try {
      return await preparePull({ store: this.store, registries: this.registries, creds }, text);
    } catch (e) {
      if (!isRedesError(e) || e.code !== 'registry.unreachable') throw e;
      try {
        return this.pull(fromImage, tag); // offline, and the image is here: as before registries existed
      } catch {
        throw e;
      }
    }
  }

  async push(name: string, tag: string | undefined, creds: Credentials | undefined, progress: Progress): Promise<void> {
    if (!this.registries) throw unavailable('registry.none', NO_REGISTRY);
    return pushImage({ store: this.store, registries: this.registries, creds }, name, tag, progress);
  }

  async login(server: string, creds: Credentials): Promise<void> {
    if (!this.registries) throw unavailable('registry.none', NO_REGISTRY);
    return loginRegistry(this.registries, server, creds);
  }

  list(filters?: string | null): ImageSummaryJson[] {
    const f = Filters.parse(filters).validate(LIST_FILTERS);
    const dangling = danglingFilter(f);
    const before = lastCreated(f.get('before').map((r) => this.store.resolve(r)));
    const since = lastCreated(f.get('since').map((r) => this.store.resolve(r)));
    const until = f.until();
    const out: ImageSummaryJson[] = [];
    for (const img of this.store.list()) {
      const t = createdSeconds(img);
      if (before !== undefined && t >= before) continue;
      if (since !== undefined && t <= since) continue;
      if (until !== undefined && t > until) continue;
      if (!matchesLabels(f, img)) continue;
      if (dangling === true && img.repoTags.length > 0) continue;
      const tags = f.has('reference') ? img.repoTags.filter((r) => f.get('reference').some((p) => familiarMatch(p, r))) : [...img.repoTags];
      if (tags.length === 0 && (dangling === false || f.has('reference'))) continue;
      out.push({ ...imageSummary(img), RepoTags: tags, RepoDigests: this.store.repoDigests(img.id) });
    }
    return out;
  }

  resolve(name: string): Image {
    return this.store.resolve(name);
  }

  inspect(name: string): ImageInspectJson {
    const img = this.store.resolve(name);
    return { ...imageInspect(img, this.store.rootfsLayers(img.id)), RepoDigests: this.store.repoDigests(img.id) };
  }

  async history(name: string): Promise<ImageHistoryItem[]> {
    const img = this.store.resolve(name);
    const dirs = this.store.rootfsLayers(img.id);
    const items: ImageHistoryItem[] = [];
    let layer = 0;
    for (const h of img.spec.history ?? []) {
      let size = 0;
      if (!h.empty_layer) {
        const dir = dirs[layer++];
        if (dir === undefined) throw internal('image.history', 'too many non-empty layers in History section');
        size = await dirSize(dir);
      }
      const created = h.created ? Math.floor(Date.parse(h.created) / 1000) : 0;
      items.unshift({ Id: '<missing>', Created: created, CreatedBy: h.created_by ?? '', Tags: null, Size: size, Comment: h.comment ?? '' });
    }
    // As dockerd: entries from the newest take the ids of the image and its parents (build steps).
    let cur: Image | undefined = img;
    for (const item of items) {
      if (!cur) break;
      item.Id = cur.id;
      item.Tags = cur.repoTags.length > 0 ? [...cur.repoTags] : null;
      const parent = this.store.parentOf(cur.id);
      cur = parent ? this.store.get(parent) : undefined;
    }
    return items;
  }

  importRootfs(tar: Readable, req: ImportRequest): Promise<Image> {
    const ref = req.repo ? tagKey(req.repo, req.tag || undefined) : undefined;
    return this.store.importRootfs(tar, { ref, changes: req.changes ?? [], message: req.message });
  }

  load(tar: Readable): Promise<LoadedImage[]> {
    return this.store.load(tar);
  }

  save(names: readonly string[]): Readable {
    const items = planSave(this.store, names);
    const pack = tarStream.pack();
    const out = new PassThrough();
    saveImages(this.store, items, pack).then(
      () => pack.finalize(),
      (e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))),
    );
    pack.pipe(out);
    return out;
  }

  tag(source: string, repo: string, tag?: string): Promise<string> {
    if (!repo) throw invalidParameter('image.reference', 'invalid reference format');
    const key = tagKey(repo, tag || undefined);
    if (familiarName(parseNamed(key).name) === 'sha256') {
      throw invalidParameter('image.reference', 'refusing to create an ambiguous tag using digest algorithm as name');
    }
    return this.store.tag(source, key);
  }

  remove(name: string, opts: { force?: boolean; noPrune?: boolean } = {}): Promise<DeleteRecord[]> {
    return this.store.remove(name, { force: opts.force === true, noPrune: opts.noPrune === true, inUse: this.deps.inUse });
  }

  async prune(filters?: string | null): Promise<PruneReport> {
    const f = Filters.parse(filters).validate(PRUNE_FILTERS);
    const all = danglingFilter(f) === false;
    const until = f.until();
    const deleted: DeleteRecord[] = [];
    let space = 0;
    for (const img of this.store.list()) {
      if (!all && img.repoTags.length > 0) continue;
      if (until !== undefined && createdSeconds(img) > until) continue;
      if (!matchesLabels(f, img) || this.deps.inUse?.(img.id)) continue;
      // By id with force: every tag goes with it, as `docker image prune -a` does.
      const records = await this.store.remove(img.id, { force: true, inUse: this.deps.inUse });
      deleted.push(...records);
      if (records.some((r) => 'Deleted' in r && r.Deleted === img.id)) space += img.size;
    }
    return { ImagesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: space };
  }

  pull(fromImage: string, tag?: string): LocalPull {
    const ref = parseNamed(fromImage.replace(/:$/, '')); // `pull -a` may send a trailing ':'
    const name = familiarName(ref.name);
    if (name === 'scratch') throw forbidden('image.reserved_name', "'scratch' is a reserved name");
    const path = ref.name.slice(ref.name.indexOf('/') + 1);
    const prefix = `${name}:`;
    const local = this.store.list().flatMap((i) => i.repoTags).filter((t) => t.startsWith(prefix));
    if (!tag && !ref.tag && !ref.digest) {
      if (local.length === 0) throw noSuchRepository(name);
      return { path, tags: local.map((t) => t.slice(prefix.length)), ref: name };
    }
    const wanted = tag && /^sha256:/.test(tag) ? `${name}@${tag}` : tag ? tagKey(name, tag) : familiarTagged(ref);
    try {
      if (wanted.includes('@')) throw notFound('image.not_found', `No such image: ${wanted}`); // no digests here
      this.store.resolve(wanted);
    } catch (e) {
      if (!isRedesError(e) || e.kind !== 'not-found') throw e;
      if (local.length === 0) throw noSuchRepository(name);
      throw notFound('image.not_found', `manifest for ${wanted} not found: ${NO_REGISTRY}`);
    }
    return { path, tags: [wanted.slice(prefix.length)], ref: wanted };
  }

  /** `docker builder prune`: build steps no image builds on and no container uses. */
  pruneBuildSteps(): Promise<{ ids: string[]; space: number }> {
    const inUse = this.deps.inUse;
    return this.store.pruneBuildSteps((id) => inUse?.(id) ?? false);
  }

  collectGarbage(): Promise<string[]> {
    const inUse = this.deps.inUse;
    return this.store.collectGarbage((id) => inUse?.(id) ?? false);
  }

  ensureBusybox(): Promise<Image> {
    return ensureBusyboxImage(this.store);
  }
}

/** Open the store at `root` (the daemon's `<data-root>/images`) and wrap it. */
export async function openImageService(root: string, deps: ImageServiceDeps = {}): Promise<LocalImageService> {
  return new LocalImageService(await ImageStore.open(root), deps);
}

function noSuchRepository(name: string): RedesError {
  return notFound('image.not_found', `pull access denied for ${name}, repository does not exist: ${NO_REGISTRY}`);
}

function createdSeconds(img: Image): number {
  return img.created ? Date.parse(img.created) / 1000 : 0;
}

/** Docker keeps the last `before`/`since` value it walks. */
function lastCreated(imgs: Image[]): number | undefined {
  const last = imgs[imgs.length - 1];
  return last ? createdSeconds(last) : undefined;
}

function matchesLabels(f: Filters, img: Image): boolean {
  const labels = img.config.Labels ?? {};
  if (!f.matchLabels('label', labels)) return false;
  return !f.has('label!') || !f.matchLabels('label!', labels);
}

function danglingFilter(f: Filters): boolean | undefined {
  const vs = f.get('dangling');
  if (vs.length === 0) return undefined;
  if (vs.every((v) => v === 'true' || v === '1')) return true;
  if (vs.every((v) => v === 'false' || v === '0')) return false;
  throw invalidParameter('filters.dangling', `invalid filter 'dangling=${clipEcho(vs.join(','))}'`);
}


/** Docker's reference.FamiliarMatch: a path.Match glob against `name:tag`, then against `name`. */
export function familiarMatch(pattern: string, tagged: string): boolean {
  const re = globRegExp(pattern);
  const colon = tagged.lastIndexOf(':');
  const name = colon > tagged.lastIndexOf('/') ? tagged.slice(0, colon) : tagged;
  return re.test(tagged) || re.test(name);
}

/** Go's path.Match as a regular expression: `*` and `?` stop at '/', classes `[a-z]`, `[^x]`. */
function globRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) out += escapeRe(pattern[++i] as string);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw invalidParameter('filters.reference', 'syntax error in pattern');
      const body = pattern.slice(i + 1, end);
      out += body.startsWith('^') ? `[^/${body.slice(1)}]` : `[${body}]`;
      i = end;
    } else out += escapeRe(c);
  }
  return new RegExp(`^${out}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Bytes of regular file content under `dir`, hardlinks once (how the store sizes a layer). */
async function dirSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const st = await lstat(p);
        const key = `${st.dev}:${st.ino}`;
        if (!seen.has(key)) total += st.size;
        seen.add(key);
      }
    }
  };
  await walk(dir);
  return total;
}
