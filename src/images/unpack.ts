/**
 * Unpacking one layer tar into a directory that overlayfs can use as a lower layer.
 *
 * Use: `const { diffId, size } = await unpackLayer(tarBytes, emptyDir)`. The caller names the
 * directory after `diffId` once it is complete (see store.ts). `extractArchive(tar, dir, opts)` is
 * the same without layer semantics, for `docker cp` into a container.
 *
 * Beware, safety: entry names that are absolute or climb out with `..` are refused, and every path
 * is resolved component by component with the layer directory as `/`, so a symlink in the layer
 * (`etc -> /etc`) can never make a later entry write outside it. Hardlinks must point inside too.
 * Whiteouts (`.wh.NAME`) become overlayfs whiteouts (char device 0/0) and `.wh..wh..opq` marks its
 * directory opaque with the `trusted.overlay.opaque` xattr, which Node cannot set: we call `setfattr`
 * (Debian package `attr`); without it opaque markers are skipped with a warning, and files a lower
 * layer had in that directory stay visible. Extended attributes in the tar (pax `SCHILY.xattr.*`) are
 * not applied: tar-stream decodes pax values as text, which would corrupt binary ones like
 * `security.capability`.
 */
import { constants } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readlink, rm, symlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { invalidParameter, logger, showPathsAs } from '../util/index.js';
import { run } from '../kernel/index.js';
import { drain, readTar, type TarHeader } from './tar-read.js';
import type { SplitRecorder } from './tar-split.js';

const log = logger.child({ component: 'images' });
const OPAQUE = '.wh..wh..opq';
const WHITEOUT_PREFIX = '.wh.';
const MAX_SYMLINK_HOPS = 40;

export interface UnpackResult {
  /** `sha256:` of the uncompressed layer tar. */
  diffId: string;
  /** Bytes of regular file content (hardlinks counted once). */
  size: number;
}

/** Clean a tar entry name into a path relative to the layer root ('' is the root itself). */
export function cleanEntryPath(name: string): string {
  if (name.startsWith('/')) throw invalidParameter('image.archive', `invalid tar entry "${name}": absolute path`);
  const clean = posix.normalize(name).replace(/\/+$/, '');
  if (clean === '..' || clean.startsWith('../')) {
    throw invalidParameter('image.archive', `invalid tar entry "${name}": path escapes the layer`);
  }
  return clean === '.' ? '' : clean;
}

/**
 * Unpack a layer tar (plain or gzip) into `dest`, an existing empty directory. With `split`, the
 * tar's split is recorded too (see tar-split.ts; the caller writes it).
 */
export async function unpackLayer(input: AsyncIterable<Buffer>, dest: string, split?: SplitRecorder): Promise<UnpackResult> {
  const u = new Unpacker(dest, { layer: true, split });
  const { digest } = await readTar(input, (h, body) => u.entry(h, body), split ? (c) => split.feed(c) : undefined);
  await u.finish();
  return { diffId: digest, size: u.size };
}

export interface ExtractOptions {
  /** Refuse to replace a directory by a non-directory or the reverse (Docker's error texts). */
  noOverwriteDirNonDir?: boolean;
  /** Owner of everything extracted; the tar's own uid/gid when absent. */
  chown?: { uid: number; gid: number };
  /** What the destination is called in a failed file operation's error (`/` by default: the layer's root, as dockerd's chrooted unpack shows it). */
  shownAs?: string;
}

/**
 * Extract an archive into an existing directory as `docker cp` does (PUT /containers/{id}/archive):
 * the same confinement as a layer, but `.wh.` names are plain files and existing files are merged.
 */
export async function extractArchive(input: AsyncIterable<Buffer>, dest: string, opts: ExtractOptions = {}): Promise<void> {
  const u = new Unpacker(dest, { layer: false, ...opts });
  await readTar(input, (h, body) => u.entry(h, body));
  await u.finish();
}

class Unpacker {
  size = 0;
  /** Index of the current entry in the archive (0 for the first). */
  private index = -1;
  private readonly dirs: { path: string; header: TarHeader }[] = [];
  private readonly opaque: string[] = [];
  /** Parent directories already resolved (relative path → absolute); cleared when a path is replaced. */
  private readonly resolved = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly opts: ExtractOptions & { layer: boolean; split?: SplitRecorder },
  ) {}

  /** An entry body that goes into no file: thrown away, or kept for the split when it has bytes. */
  private skip(h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    if (this.opts.split && h.size && h.type !== 'directory') return this.opts.split.keep(this.index, body, h.size);
    return drain(body);
  }

  /** One archive entry; a failed file operation reports its path inside the destination (util's showPathsAs). */
  async entry(h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    try {
      await this.take(h, body);
    } catch (e) {
      throw showPathsAs(e, this.root, this.opts.shownAs ?? '/', posix.join(this.root, h.name));
    }
  }

  private async take(h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    this.index++;
    const rel = cleanEntryPath(h.name);
    const base = posix.basename(rel);
    const dir = rel === '' ? '' : posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    if (rel === '') {
      if (h.type === 'directory') this.dirs.push({ path: this.root, header: h });
      return this.skip(h, body);
    }
    if (!this.opts.layer) {
      const path = posix.join(await this.parent(dir), base);
      await this.clear(path, h.type === 'directory');
      return this.create(path, h, body);
    }
    if (base === OPAQUE) {
      this.opaque.push(await this.parent(dir));
      return this.skip(h, body);
    }
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return this.skip(h, body); // aufs bookkeeping
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await this.skip(h, body);
      const target = posix.join(await this.parent(dir), base.slice(WHITEOUT_PREFIX.length));
      await this.clear(target, false);
      await run(['mknod', '-m', '0', target, 'c', '0', '0']);
      await this.owner(target, h);
      return;
    }
    const path = posix.join(await this.parent(dir), base);
    await this.clear(path, h.type === 'directory');
    await this.create(path, h, body);
  }

  private async create(path: string, h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    switch (h.type ?? 'file') {
      case 'directory':
        await mkdir(path, { recursive: true, mode: 0o700 });
        this.dirs.push({ path, header: h });
        return this.skip(h, body);
      case 'file':
      case 'contiguous-file':
        await writeFile(path, body);
        this.size += h.size ?? 0;
        if (h.size) this.opts.split?.claim(this.index, path, h.size);
        return this.metadata(path, h);
      case 'link': {
        await this.skip(h, body);
        const target = cleanEntryPath(h.linkname ?? '');
        const tdir = posix.dirname(target) === '.' ? '' : posix.dirname(target);
        const abs = posix.join(await this.parent(tdir), posix.basename(target));
        const st = await lstat(abs).catch(() => undefined);
        if (!st || st.isDirectory()) {
          throw invalidParameter('image.archive', `invalid hardlink "${h.name}" -> "${h.linkname ?? ''}" in archive`);
        }
        return link(abs, path);
      }
      case 'symlink':
        await this.skip(h, body);
        await symlink(h.linkname ?? '', path);
        await this.owner(path, h);
        return lutimes(path, h.mtime ?? new Date(0), h.mtime ?? new Date(0));
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        await this.skip(h, body);
        const kind = h.type === 'fifo' ? ['p'] : [h.type === 'block-device' ? 'b' : 'c', `${h.devmajor ?? 0}`, `${h.devminor ?? 0}`];
        await run(['mknod', path, ...kind]);
        return this.metadata(path, h);
      }
      default:
        log.debug({ name: h.name, type: h.type }, 'skipping tar entry of unsupported type');
        return this.skip(h, body);
    }
  }

  /** Directory metadata last, deepest first, so creating children does not change their mtimes. */
  async finish(): Promise<void> {
    try {
      for (const d of this.dirs.reverse()) {
        const st = await lstat(d.path).catch(() => undefined);
        if (st?.isDirectory()) await this.metadata(d.path, { ...d.header, mode: d.header.mode ?? 0o755 }); // else replaced later
      }
      if (this.opaque.length) await markOpaque(this.opaque);
    } catch (e) {
      throw showPathsAs(e, this.root, this.opts.shownAs ?? '/');
    }
  }

  /** The absolute path of directory `rel`, following symlinks with the layer as `/`, creating missing parts. */
  private async parent(rel: string): Promise<string> {
    const known = this.resolved.get(rel);
    if (known) return known;
    let todo = rel ? rel.split('/') : [];
    let cur: string[] = [];
    let hops = 0;
    while (todo.length) {
      const part = todo.shift() ?? '';
      if (part === '' || part === '.') continue;
      if (part === '..') {
        cur.pop();
        continue;
      }
      const abs = posix.join(this.root, ...cur, part);
      const st = await lstat(abs).catch(() => undefined);
      if (!st) {
        await mkdir(abs, { mode: 0o755 });
      } else if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) throw invalidParameter('image.archive', `too many levels of symbolic links: ${rel}`);
        const target = await readlink(abs);
        if (target.startsWith('/')) cur = [];
        todo = [...target.split('/'), ...todo];
        continue;
      } else if (!st.isDirectory()) {
        throw invalidParameter('image.archive', `invalid tar entry under "${rel}": not a directory`);
      }
      cur.push(part);
    }
    const abs = posix.join(this.root, ...cur);
    this.resolved.set(rel, abs);
    return abs;
  }

  /** Remove what is at `path` unless both it and the new entry are directories (then they merge). */
  private async clear(path: string, newIsDir: boolean): Promise<void> {
    const st = await lstat(path).catch(() => undefined);
    if (!st || (st.isDirectory() && newIsDir)) return;
    if (this.opts.noOverwriteDirNonDir && st.isDirectory() !== newIsDir) {
      // As Docker's chrooted untar words it: the path inside the extraction point, which is "/".
      const rel = `/${posix.relative(this.root, path)}`;
      throw invalidParameter('archive.overwrite', st.isDirectory() ? `cannot overwrite directory "${rel}" with non-directory "/"` : `cannot overwrite non-directory "${rel}" with directory "/"`);
    }
    if (this.opts.split) await this.opts.split.displace(path); // an earlier entry's content, still needed by the split
    else await rm(path, { recursive: true, force: true });
    if (st.isDirectory() || st.isSymbolicLink()) this.resolved.clear();
  }

  private async owner(path: string, h: TarHeader): Promise<void> {
    const ids = this.opts.chown ?? { uid: h.uid ?? 0, gid: h.gid ?? 0 };
    if (process.getuid?.() === 0) await lchown(path, ids.uid, ids.gid);
  }

  private async metadata(path: string, h: TarHeader): Promise<void> {
    await this.owner(path, h);
    await chmod(path, (h.mode ?? 0o644) & 0o7777); // after chown, which clears set-id bits
    const mtime = h.mtime ?? new Date(0);
    await lutimes(path, mtime, mtime);
  }
}

/** File content is written in batches of at least this many bytes (one writev each). */
const WRITE_BATCH = 1 << 20;

async function writeFile(path: string, body: AsyncIterable<Buffer>): Promise<void> {
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    let batch: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      batch.push(chunk);
      size += chunk.length;
      if (size < WRITE_BATCH) continue;
      await fh.writev(batch);
      batch = [];
      size = 0;
    }
    if (batch.length) await fh.writev(batch);
  } finally {
    await fh.close();
  }
}

let setfattr: Promise<boolean> | undefined;

/** Mark directories opaque for overlayfs, in batches (one `setfattr` takes many paths). */
async function markOpaque(dirs: string[]): Promise<void> {
  setfattr ??= run(['setfattr', '--version']).then(
    () => true,
    () => false,
  );
  if (!(await setfattr)) {
    log.warn({ count: dirs.length }, 'setfattr not found (Debian package attr): opaque whiteouts skipped');
    return;
  }
  for (let i = 0; i < dirs.length; i += 100) {
    await run(['setfattr', '-n', 'trusted.overlay.opaque', '-v', 'y', '--', ...dirs.slice(i, i + 100)]);
  }
}
