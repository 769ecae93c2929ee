/**
 * A container's files as tar archives and stat records, the way `docker cp`, `docker export` and
 * `docker commit` need them: paths resolved inside a scope (symlinks never leave the container's
 * root), Docker's path-stat record (Go's os.FileMode bits), and a tree written into a tar-stream pack
 * with hardlinks kept and, for layers, overlayfs whiteouts turned into `.wh.` entries.
 *
 * Use: `resolveScoped(view, '/etc/hosts', false)`, `statScoped(view, path)`, then
 * `packTree(pack, hostPath, 'hosts', opts)` for each tree; `pack.finalize()` is the caller's.
 * Beware: the scope is walked component by component with lstat and readlink; `..` never climbs
 * above the root and absolute link targets restart at the root, like a chroot. A container that
 * swaps a directory for a symlink between our lstat and our open could still redirect a read: files
 * are opened with O_NOFOLLOW, which closes that race for the last component only. A file that
 * changes size while it is read is cut or zero-padded to the size its header announced.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Pack } from 'tar-stream';
import { packStreamed, type PackHeader } from './tar-write.js';

/** Maps an absolute path inside the container to where it is on this host. */
export interface ScopedView {
  host(containerPath: string): string;
}

/** Docker's ContainerPathStat (the JSON of the X-Docker-Container-Path-Stat header). */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode: permission bits plus type bits in the high bits. */
  mode: number;
  mtime: string;
  linkTarget: string;
}

const MAX_LINK_HOPS = 255;

// Go's os.FileMode type bits (io/fs): ModeDir is the top bit, then one bit per kind, going down.
const GO_DIR = 2 ** 31;
const GO_SYMLINK = 2 ** 27;
const GO_DEVICE = 2 ** 26;
const GO_NAMED_PIPE = 2 ** 25;
const GO_SOCKET = 2 ** 24;
const GO_SETUID = 2 ** 23;
const GO_SETGID = 2 ** 22;
const GO_CHAR_DEVICE = 2 ** 21;
const GO_STICKY = 2 ** 20;

/** Go's os.FileMode for an lstat result. */
export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.mode & 0o4000) m += GO_SETUID;
  if (st.mode & 0o2000) m += GO_SETGID;
  if (st.mode & 0o1000) m += GO_STICKY;
  if (st.isDirectory()) m += GO_DIR;
  else if (st.isSymbolicLink()) m += GO_SYMLINK;
  else if (st.isFIFO()) m += GO_NAMED_PIPE;
  else if (st.isSocket()) m += GO_SOCKET;
  else if (st.isCharacterDevice()) m += GO_DEVICE + GO_CHAR_DEVICE;
  else if (st.isBlockDevice()) m += GO_DEVICE;
  return m;
}

/** `/a/../b/` → `/b`: an absolute, clean container path. */
export function cleanContainerPath(path: string): string {
  return posix.normalize(`/${path}`).replace(/(.)\/+$/, '$1');
}

/**
 * The container path `path` leads to, with every symlink on the way followed inside the scope (the
 * last component too when `followLast`). A missing component ends the walk: the rest is appended
 * as is, so the caller's lstat reports it missing.
 */
export async function resolveScoped(view: ScopedView, path: string, followLast: boolean): Promise<string> {
  let todo = cleanContainerPath(path).split('/').filter(Boolean);
  let cur: string[] = [];
  let hops = 0;
  while (todo.length) {
    const part = todo.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      cur.pop();
      continue;
    }
    const next = [...cur, part];
    if (todo.length === 0 && !followLast) return `/${next.join('/')}`;
    const st = await lstat(view.host(`/${next.join('/')}`)).catch(() => undefined);
    if (!st) return `/${[...next, ...todo].join('/')}`;
    if (!st.isSymbolicLink()) {
      cur = next;
      continue;
    }
    if (++hops > MAX_LINK_HOPS) throw Object.assign(new Error(`too many levels of symbolic links: ${path}`), { code: 'ELOOP' });
    const target = await readlink(view.host(`/${next.join('/')}`));
    if (target.startsWith('/')) cur = [];
    todo = [...target.split('/').filter(Boolean), ...todo];
  }
  return `/${cur.join('/')}`;
}

/** Docker's stat of a container path: the last component not followed; undefined when missing. */
export async function statScoped(view: ScopedView, path: string): Promise<{ stat: PathStat; resolved: string } | undefined> {
  const resolved = await resolveScoped(view, path, false);
  const st = await lstat(view.host(resolved)).catch(() => undefined);
  if (!st) return undefined;
  const linkTarget = st.isSymbolicLink() ? await resolveScoped(view, resolved, true) : '';
  const name = resolved === '/' ? '/' : posix.basename(resolved);
  return { stat: { name, size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget }, resolved };
}

export interface PackTreeOptions {
  /** Leave out an entry (and, for a directory, all below it); `rel` is relative to the tree's root. */
  skip?: (rel: string, st: Stats) => boolean;
  /** Archive a directory's entry but not its content (a running container's /proc and /sys). */
  shallow?: (rel: string) => boolean;
  /** overlayfs whiteouts (char device 0/0) become `.wh.NAME` entries: a layer diff. */
  whiteouts?: boolean;
}

/**
 * Write the tree at `hostPath` into `pack`, its root entry named `name` ('' for a whole filesystem:
 * entries are then named relative to it, with no entry for the root itself).
 */
export async function packTree(pack: Pack, hostPath: string, name: string, opts: PackTreeOptions = {}): Promise<void> {
  const links = new Map<string, string>();
  const walk = async (abs: string, entry: string, rel: string): Promise<void> => {
    const st = await lstat(abs).catch(() => undefined);
    if (!st || (rel !== '' && opts.skip?.(rel, st))) return;
    if (entry !== '') await packEntry(pack, abs, entry, st, links, opts.whiteouts === true);
    if (!st.isDirectory() || (rel !== '' && opts.shallow?.(rel))) return;
    const names = (await readdir(abs).catch(() => [] as string[])).sort();
    for (const n of names) {
      await walk(posix.join(abs, n), entry === '' ? n : `${entry}/${n}`, rel === '' ? n : `${rel}/${n}`);
    }
  };
  await walk(hostPath, name.replace(/^\/+/, ''), '');
}

async function packEntry(pack: Pack, abs: string, entry: string, st: Stats, links: Map<string, string>, whiteouts: boolean): Promise<void> {
  const base: PackHeader = { name: entry, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
  if (whiteouts && st.isCharacterDevice() && st.rdev === 0) {
    const dir = posix.dirname(entry);
    return packStreamed(pack, { ...base, name: `${dir === '.' ? '' : `${dir}/`}.wh.${posix.basename(entry)}`, type: 'file', size: 0, mode: 0o600 });
  }
  if (st.isDirectory()) return packStreamed(pack, { ...base, name: `${entry}/`, type: 'directory' });
  if (st.isSymbolicLink()) return packStreamed(pack, { ...base, type: 'symlink', linkname: await readlink(abs) });
  if (st.isFIFO()) return packStreamed(pack, { ...base, type: 'fifo' });
  if (st.isCharacterDevice() || st.isBlockDevice()) {
    const devmajor = Math.floor(st.rdev / 256) & 0xfff;
    const devminor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
    return packStreamed(pack, { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor, devminor });
  }
  if (!st.isFile()) return; // sockets have no tar form (Docker skips them too)
  const key = `${st.dev}:${st.ino}`;
  const first = st.nlink > 1 ? links.get(key) : undefined;
  if (first !== undefined) return packStreamed(pack, { ...base, type: 'link', linkname: first });
  if (st.nlink > 1) links.set(key, entry);
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    await packStreamed(pack, { ...base, type: 'file', size: st.size }, exactly(fh, st.size));
  } finally {
    await fh.close();
  }
}

/** Exactly `size` bytes of the file: cut when it grew, zero-padded when it shrank meanwhile. */
async function* exactly(fh: import('node:fs/promises').FileHandle, size: number): AsyncGenerator<Buffer> {
  let left = size;
  const buf = Buffer.alloc(Math.min(1 << 20, Math.max(size, 1)));
  while (left > 0) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, left), null);
    if (bytesRead === 0) {
      yield Buffer.alloc(left);
      return;
    }
    left -= bytesRead;
    yield Buffer.from(buf.subarray(0, bytesRead));
  }
}
