/**
 * Named and anonymous volumes with Docker's `local` driver: records in the store, data in
 * `<data-root>/volumes/<name>/_data`, and the driver's options (`-o type=tmpfs|none|..., device=...,
 * o=...`) mounted there while a container uses the volume.
 *
 * Use: `const vols = new Volumes({ store, root, usersOf })`; `create`, `get`, `list`, `remove`,
 * `prune` for the API; `attach(name)` at container start (mounts if needed, returns the host path)
 * and `detach(name)` when a user stops.
 * Beware: every mount lives under the data root, so the instance's teardown finds it. A volume is
 * "in use" while any container record (running or not) names it, as in Docker; `usersOf` answers
 * that from the engine, which sits above this layer.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mountFilesystem, unmountFilesystem, mountsUnder } from '../kernel/index.js';
import type { Collection, Store } from '../store/index.js';
import { conflict, invalidParameter, notFound, Filters, clipEcho, newId, nowRfc3339Nano } from '../util/index.js';

export interface VolumeRecord {
  /** The name (the store key). */
  id: string;
  driver: 'local';
  labels: Record<string, string>;
  /** Driver options as given (type, device, o). */
  options: Record<string, string>;
  createdAt: string;
  /** Made for a container's anonymous mount (random name): `rm -v` and prune take these. */
  anonymous: boolean;
}

export interface VolumesDeps {
  store: Store;
  /** `<data-root>/volumes`. */
  root: string;
  /** Ids of the containers whose mounts name this volume (any state). */
  usersOf: (name: string) => string[];
  /** Ids of running containers using it (a mounted driver option stays while any runs). */
  runningUsersOf: (name: string) => string[];
  /** Volume create/destroy events (docker events). */
  onEvent?: (action: 'create' | 'destroy', name: string) => void;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const OPTION_KEYS = ['type', 'device', 'o'];

export class Volumes {
  private readonly records: Collection<VolumeRecord>;

  constructor(private readonly deps: VolumesDeps) {
    this.records = deps.store.collection<VolumeRecord>('volumes');
  }

  path(name: string): string {
    return join(this.deps.root, name, '_data');
  }

  create(req: { Name?: unknown; Driver?: unknown; DriverOpts?: unknown; Labels?: unknown }, anonymous = false): VolumeRecord {
    const name = typeof req.Name === 'string' && req.Name ? req.Name : newId();
    const driver = typeof req.Driver === 'string' && req.Driver ? req.Driver : 'local';
    if (!NAME.test(name)) {
      if (/^[a-zA-Z0-9]$/.test(name)) throw invalidParameter('volume.name', `create ${name}: volume name is too short, names should be at least two alphanumeric characters`);
      throw invalidParameter('volume.name', `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
    }
    // The name is a directory under the data root: Linux's NAME_MAX (255 bytes) is its limit.
    if (name.length > 255) throw invalidParameter('volume.name', `create ${name.slice(0, 32)}...: volume name is too long, names can be at most 255 characters`);
    if (driver !== 'local') throw notFound('volume.driver', `create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const options = stringMap(req.DriverOpts, 'DriverOpts');
    for (const k of Object.keys(options)) if (!OPTION_KEYS.includes(k)) throw invalidParameter('volume.option', `create ${name}: invalid option key: ${JSON.stringify(k)}`);
    if ((options.device || options.o) && !options.type) throw invalidParameter('volume.option', `create ${name}: missing required option: "type"`);
    const existing = this.records.get(name);
    if (existing) return existing;
    const rec: VolumeRecord = { id: name, driver: 'local', labels: stringMap(req.Labels, 'Labels'), options, createdAt: nowRfc3339Nano(), anonymous };
    this.deps.store.transaction(() => this.records.put(rec));
    this.deps.onEvent?.('create', name);
    return rec;
  }

  /** Makes the data directory (create is synchronous in the store; the directory follows). */
  async ensureDir(name: string): Promise<void> {
    await mkdir(this.path(name), { recursive: true, mode: 0o755 });
  }

  get(name: string): VolumeRecord {
    const v = this.records.get(name);
    if (!v) throw notFound('volume.not_found', `get ${name}: no such volume`);
    return v;
  }

  find(name: string): VolumeRecord | undefined {
    return this.records.get(name);
  }

  list(filters?: string | null): VolumeRecord[] {
    const f = Filters.parse(filters).validate(['name', 'driver', 'label', 'dangling']);
    const dangling = f.get('dangling')[0];
    if (dangling !== undefined && !['true', 'false', '1', '0'].includes(dangling)) {
      throw invalidParameter('volume.filter', `invalid filter 'dangling=${clipEcho(dangling)}'`);
    }
    return this.records.list().filter((v) =>
      (!f.has('name') || f.get('name').some((n) => v.id.includes(n))) &&
      (!f.has('driver') || f.get('driver').includes(v.driver)) &&
      f.matchLabels('label', v.labels) &&
      (dangling === undefined || (this.deps.usersOf(v.id).length === 0) === (dangling === 'true' || dangling === '1')),
    );
  }

  async remove(name: string, force = false): Promise<void> {
    const v = this.records.get(name);
    if (!v) {
      if (force) return;
      throw notFound('volume.not_found', `get ${name}: no such volume`);
    }
    const users = this.deps.usersOf(name);
    if (users.length) throw conflict('volume.in_use', `remove ${name}: volume is in use - [${users.join(', ')}]`);
    if ((await mountsUnder(this.path(name))).length) await unmountFilesystem(this.path(name));
    if ((await mountsUnder(join(this.deps.root, name))).length) throw conflict('volume.busy', `remove ${name}: volume is still mounted`);
    await rm(join(this.deps.root, name), { recursive: true, force: true });
    this.deps.store.transaction(() => this.records.delete(name));
    this.deps.onEvent?.('destroy', name);
  }

  /** Unused volumes: anonymous ones only, unless the filter says `all=true` (Docker 28). */
  async prune(filters?: string | null): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    const f = Filters.parse(filters).validate(['label', 'all', 'label!']);
    const all = ['true', '1'].includes(f.get('all')[0] ?? '');
    const deleted: string[] = [];
    let space = 0;
    for (const v of this.records.list()) {
      if (!all && !v.anonymous) continue;
      if (!f.matchLabels('label', v.labels) || this.deps.usersOf(v.id).length) continue;
      space += await diskUsage(this.path(v.id));
      await this.remove(v.id);
      deleted.push(v.id);
    }
    return { VolumesDeleted: deleted, SpaceReclaimed: space };
  }

  /** At container start: the data directory, with the driver's mount in place. Returns the host path. */
  async attach(name: string): Promise<string> {
    const v = this.get(name);
    const dir = this.path(name);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    if (v.options.type && (await mountsUnder(dir)).length === 0) {
      await mountFilesystem({ type: v.options.type, device: v.options.device ?? v.options.type, options: v.options.o ?? '', target: dir });
    }
    return dir;
  }

  /** A user stopped: the driver's mount goes when no running container uses the volume any more. */
  async detach(name: string): Promise<void> {
    const v = this.records.get(name);
    if (!v?.options.type || this.deps.runningUsersOf(name).length) return;
    if ((await mountsUnder(this.path(name))).length) await unmountFilesystem(this.path(name));
  }

  /** Bytes used under the volume's data directory (`docker system df -v`, prune's SpaceReclaimed). */
  size(name: string): Promise<number> {
    return diskUsage(this.path(name));
  }
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw invalidParameter('api.field_type', `invalid JSON: field ${field} must be a map of strings`);
  }
  return { ...(v as Record<string, string>) };
}

async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await diskUsage(p);
    else total += (await stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
