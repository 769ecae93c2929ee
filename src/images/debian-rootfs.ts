/**
 * Debian root filesystems built with mmdebstrap (runtime/mmdebstrap.ts) and cached as layer tarballs,
 * so that `redes image debian`, the tests and CI build each package set once per machine.
 *
 * Cache layout (default /var/cache/redes/images, `REDES_IMAGE_CACHE` overrides it):
 *   <key>.tar    the layer: mmdebstrap's tarball with `./` stripped and /dev emptied
 *   <key>.json   what it is: suite, packages, mirror, diff id, size, creation time
 *   <key>.lock   the pid of the process building it (another builder waits)
 *   debs/        downloaded .deb files, shared by every build
 * `key` is a hash of what decides the content (suite, sorted packages, mirror, recipe version).
 *
 * Use: `const layer = await debianRootfs({ suite: 'bookworm', packages: ['nginx-light'] })`.
 *
 * Beware: a cached tarball is reused as long as its key matches, however old: Debian's security
 * updates arrive only with `rebuild: true`. The tar files appear by rename after the metadata is
 * known, so a crash leaves a `.tmp-*` file, never a truncated layer. Device nodes are dropped from
 * /dev (the runtime mounts its own /dev) and pax extended attributes (file capabilities) too, as
 * the unpacker would ignore them anyway.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import tarStream from 'tar-stream';
import { mmdebstrapTar, validateDebianInput, DEFAULT_MIRROR } from '../runtime/index.js';
import { pidAlive } from '../kernel/index.js';
import { writeAtomic } from './atomic-file.js';
import { readTar, type TarHeader } from './tar-read.js';
import { packStreamed, type PackHeader } from './tar-write.js';

export const DEFAULT_IMAGE_CACHE = '/var/cache/redes/images';
/** Bumped whenever the recipe (mmdebstrap flags, filtering) changes what a key produces. */
const RECIPE = 1;

export interface DebianRootfsRequest {
  suite: string;
  packages: readonly string[];
  mirror?: string;
  cacheDir?: string;
  /** Build again even when the cache has it (to pick up Debian's updates). */
  rebuild?: boolean;
  /** Progress lines (mmdebstrap's, and ours). */
  onLine?: (line: string) => void;
}

export interface DebianRootfs {
  key: string;
  suite: string;
  packages: string[];
  mirror: string;
  /** The layer tarball (uncompressed). */
  tarPath: string;
  /** sha256 of the tarball: the layer's diff id. */
  diffId: string;
  size: number;
  /** RFC 3339 time of the build, also every file's mtime. */
  created: string;
  /** True when this call found it in the cache. */
  cached: boolean;
}

type Meta = Omit<DebianRootfs, 'tarPath' | 'cached'>;

export function cacheKey(suite: string, packages: readonly string[], mirror: string): string {
  const what = JSON.stringify({ recipe: RECIPE, suite, packages: [...new Set(packages)].sort(), mirror });
  return createHash('sha256').update(what).digest('hex').slice(0, 24);
}

export async function debianRootfs(req: DebianRootfsRequest): Promise<DebianRootfs> {
  const mirror = req.mirror ?? DEFAULT_MIRROR;
  const packages = [...new Set(req.packages)].sort();
  validateDebianInput(req.suite, packages, mirror);
  const dir = req.cacheDir ?? process.env.REDES_IMAGE_CACHE ?? DEFAULT_IMAGE_CACHE;
  await mkdir(dir, { recursive: true });
  const key = cacheKey(req.suite, packages, mirror);
  const tarPath = join(dir, `${key}.tar`);
  if (!req.rebuild) {
    const hit = await readMeta(dir, key);
    if (hit) return { ...hit, tarPath, cached: true };
  }
  const unlock = await lock(join(dir, `${key}.lock`), req.onLine);
  try {
    if (!req.rebuild) {
      const hit = await readMeta(dir, key); // built by whoever held the lock before us
      if (hit) return { ...hit, tarPath, cached: true };
    }
    const epoch = Math.floor(Date.now() / 1000);
    const raw = join(dir, `.tmp-${randomBytes(6).toString('hex')}.raw.tar`);
    const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}.tar`);
    try {
      req.onLine?.(`building ${req.suite} with ${packages.join(', ') || 'no extra packages'} (mmdebstrap, a few minutes the first time)`);
      await mmdebstrapTar({ suite: req.suite, packages, out: raw, debCache: join(dir, 'debs'), mirror, sourceDateEpoch: epoch, onLine: req.onLine });
      const { diffId, size } = await filterLayer(raw, tmp);
      const meta: Meta = { key, suite: req.suite, packages, mirror, diffId, size, created: new Date(epoch * 1000).toISOString().replace('.000Z', 'Z') };
      await rename(tmp, tarPath);
      await writeAtomic(join(dir, `${key}.json`), Buffer.from(JSON.stringify(meta, null, 1)));
      return { ...meta, tarPath, cached: false };
    } finally {
      await rm(raw, { force: true });
      await rm(tmp, { force: true });
    }
  } finally {
    await unlock();
  }
}

async function readMeta(dir: string, key: string): Promise<Meta | undefined> {
  const text = await readFile(join(dir, `${key}.json`), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const exists = await open(join(dir, `${key}.tar`)).then(
    async (f) => (await f.close(), true),
    () => false,
  );
  return exists ? (JSON.parse(text) as Meta) : undefined;
}

/** Take `path` (O_EXCL with our pid); wait while a live process holds it, take over a dead one's. */
async function lock(path: string, onLine?: (line: string) => void): Promise<() => Promise<void>> {
  let told = false;
  for (;;) {
    try {
      const f = await open(path, 'wx');
      await f.writeFile(String(process.pid));
      await f.close();
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && (await pidAlive(pid))) {
      if (!told) onLine?.(`waiting for process ${pid}, which is building the same image`);
      told = true;
      await sleep(1000);
      continue;
    }
    await rm(path, { force: true }); // its builder died
  }
}

/** Copy mmdebstrap's tar as a layer: names without `./`, nothing under dev/; returns its diff id. */
export async function filterLayer(raw: string, out: string): Promise<{ diffId: string; size: number }> {
  const pack = tarStream.pack();
  const hash = createHash('sha256');
  let size = 0;
  const writing = pipeline(
    pack as AsyncIterable<Buffer>,
    async function* (src: AsyncIterable<Buffer>) {
      for await (const chunk of src) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(out),
  );
  const reading = readTar(createReadStream(raw), async (h, body) => {
    const name = h.name.replace(/^\.\//, '');
    if (name === '' || name === '.' || (name.startsWith('dev/') && name !== 'dev/')) {
      for await (const _ of body) void _;
      return;
    }
    await addEntry(pack, { ...h, name }, body);
  });
  try {
    await reading;
    pack.finalize();
    await writing;
  } catch (e) {
    pack.destroy(e as Error);
    await writing.catch(() => undefined);
    throw e;
  }
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}

async function addEntry(pack: tarStream.Pack, h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
  const type = (h.type ?? 'file') as PackHeader['type'];
  const isFile = type === 'file' || type === 'contiguous-file';
  const header: PackHeader = {
    name: h.name,
    type,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    mtime: h.mtime,
    ...(isFile ? { size: h.size ?? 0 } : {}),
    // Hard link targets are entry names: without './' like the names themselves.
    ...(h.linkname ? { linkname: type === 'link' ? h.linkname.replace(/^\.\//, '') : h.linkname } : {}),
    ...(type === 'character-device' || type === 'block-device' ? { devmajor: h.devmajor, devminor: h.devminor } : {}),
  };
  if (!isFile) for await (const _ of body) void _;
  await packStreamed(pack, header, isFile ? body : undefined);
}
