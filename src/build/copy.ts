/**
 * COPY and ADD: which files go where in the new layer, with Docker's rules. A directory source
 * copies its content; a file goes into the destination when that ends with `/`, is a directory in
 * the image, or several sources are given; owners are root (or `--chown`), modes and times kept.
 * Missing parent directories are made (mode 0755, the `--chown` owner); existing ones are written
 * with the image's own metadata so that a COPY into /tmp leaves /tmp's mode alone.
 *
 * Use: `const plan = await planCopy({...})`, then `packEntries(plan.entries)` is the layer.
 *
 * Beware: the destination is resolved inside the image (a `/bin -> usr/bin` symlink is followed, as
 * Docker does), by looking through the layer directories from the top, honouring whiteouts but not
 * opaque directories (a path a higher layer hid that way may be taken as present).
 */
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Stats } from 'node:fs';
import type { FsEntry } from '../images/index.js';
import { invalidParameter } from '../util/index.js';
import { hashSources, SourceTree, type SourceFile } from './source-tree.js';

export interface CopyRequest {
  keyword: 'COPY' | 'ADD';
  trees: { tree: SourceTree; args: string[] }[];
  /** The destination as written (after expansion). */
  dest: string;
  workdir: string;
  chown: string | undefined;
  /** The image's layer directories, lowest first. */
  layers: readonly string[];
  /** ADD: unpack a local tar archive (plain or gzip) into a new directory; its path, or undefined when not an archive. */
  unpack?: (file: SourceFile) => Promise<string | undefined>;
  /** ADD: whether a source was downloaded from a URL (a lone one is summarised by its bare digest, as dockerd does). */
  downloaded?: (file: SourceFile) => boolean;
}

export interface CopyPlan {
  entries: FsEntry[];
  /** For the history (`COPY file:<hex> in /dest`) and the cache key. */
  summary: string;
  /**
   * How dockerd words a failure to store the copy (builder/dockerfile copy.go): its prefix by the
   * first source's kind, and the image directory its chrooted untar writes in, which the error's
   * path is relative to (`failed to copy file: write /blob: no space left on device`).
   */
  failure: { prefix: string; root: string };
}

export async function planCopy(req: CopyRequest): Promise<CopyPlan> {
  const files: SourceFile[] = [];
  for (const { tree, args } of req.trees) for (const a of args) files.push(...(await tree.sources(a, req.keyword)));
  if (files.length === 0) throw invalidParameter('build.copy_source', `${req.keyword} failed: no source files were specified`);
  const many = files.length > 1 || req.trees.some((t) => t.args.length > 1);
  if (many && !req.dest.endsWith('/')) {
    throw invalidParameter('build.copy_dest', `When using ${req.keyword} with more than one source file, the destination must be a directory and end with a /`);
  }
  const image = new ImageView(req.layers);
  const owner = req.chown ? await image.owner(req.chown) : { uid: 0, gid: 0 };
  const destAbs = posix.normalize(req.dest.startsWith('/') ? req.dest : posix.join(req.workdir || '/', req.dest));
  const destDir = req.dest.endsWith('/') || req.dest === '.' || many || (await image.isDir(destAbs));
  const entries = new Map<string, FsEntry>();
  const put = (name: string, st: Stats, src: SourceFile | undefined, linkname?: string, ids = owner): void => {
    const base = { name, mode: st.mode & 0o7777, uid: ids.uid, gid: ids.gid, mtime: st.mtime };
    if (st.isDirectory()) entries.set(name, { ...base, type: 'directory' });
    else if (st.isSymbolicLink()) entries.set(name, { ...base, type: 'symlink', linkname: linkname ?? '' });
    else if (st.isFile()) entries.set(name, { ...base, type: 'file', source: src?.path, size: st.size });
  };
  let kind = files.length > 1 ? 'multi' : 'file';
  let archive: string | undefined;
  for (const f of files) {
    const trees = req.trees.find((t) => f.path.startsWith(t.tree.root))?.tree;
    if (f.stat.isDirectory()) {
      kind = files.length > 1 ? 'multi' : 'dir';
      const target = await image.resolve(destAbs);
      if (!(await image.stat(target))?.isDirectory()) put(target, f.stat, f); // else the image's stays
      for (const c of (await trees?.walk(f)) ?? []) {
        const name = posix.join(target, c.rel.slice(f.rel.length).replace(/^\//, ''));
        put(name, c.stat, c, c.stat.isSymbolicLink() ? await readlink(c.path) : undefined);
      }
    } else if (f.stat.isFile() && req.unpack && (archive = await req.unpack(f))) {
      // ADD of a local archive: its content goes into the destination directory, owners kept.
      const target = await image.resolve(destAbs);
      const tree = new SourceTree(archive, undefined, false);
      for (const c of await tree.walk({ rel: '', path: archive, stat: f.stat })) {
        const ids = req.chown ? owner : { uid: c.stat.uid, gid: c.stat.gid };
        put(posix.join(target, c.rel), c.stat, c, c.stat.isSymbolicLink() ? await readlink(c.path) : undefined, ids);
      }
    } else {
      const target = destDir ? posix.join(await image.resolve(destAbs), posix.basename(f.rel)) : await image.resolve(destAbs);
      put(target, f.stat, f, f.stat.isSymbolicLink() ? await readlink(f.path) : undefined);
    }
  }
  // Parent directories: the image's when they exist, else new ones.
  for (const name of [...entries.keys()]) {
    for (let d = posix.dirname(name); d !== '/' && d !== '.'; d = posix.dirname(d)) {
      if (entries.has(d)) continue;
      const st = await image.stat(d);
      if (st?.isDirectory()) entries.set(d, { name: d, type: 'directory', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime });
      else entries.set(d, { name: d, type: 'directory', mode: 0o755, uid: owner.uid, gid: owner.gid, mtime: new Date() });
    }
  }
  const sorted = [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const firstIsDir = files[0]?.stat.isDirectory() === true;
  const resolvedDest = await image.resolve(destAbs);
  const failure = {
    prefix: firstIsDir ? 'failed to copy directory' : 'failed to copy file',
    root: firstIsDir || destDir ? resolvedDest : posix.dirname(resolvedDest),
  };
  const digest = await hashSources(files, false);
  const withChown = req.chown ? ` --chown=${req.chown}` : '';
  return {
    entries: sorted.map((e) => ({ ...e, name: e.name.replace(/^\/+/, '') })).filter((e) => e.name !== ''),
    summary: `${req.keyword}${withChown} ${files.length === 1 && files[0] && req.downloaded?.(files[0]) ? '' : `${kind}:`}${digest} in ${req.dest} `,
    failure,
  };
}

/** Read-only lookups in an image's layer directories (no mount). */
export class ImageView {
  constructor(private readonly layers: readonly string[]) {}

  /** The entry at an absolute path as the merged view shows it (symlinks not followed). */
  async stat(path: string): Promise<Stats | undefined> {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const st = await lstat(join(this.layers[i] as string, path)).catch(() => undefined);
      if (!st) continue;
      if (st.isCharacterDevice() && st.rdev === 0) return undefined; // whiteout
      return st;
    }
    return undefined;
  }

  async isDir(path: string): Promise<boolean> {
    const st = await this.stat(await this.resolve(path));
    return st?.isDirectory() === true;
  }

  /** The path with symlinks of the image followed (inside the image) in every component. */
  async resolve(path: string): Promise<string> {
    const parts = path.split('/').filter((p) => p && p !== '.');
    const done: string[] = [];
    for (let hops = 0; parts.length > 0; ) {
      const name = parts.shift() as string;
      if (name === '..') {
        done.pop();
        continue;
      }
      const p = `/${[...done, name].join('/')}`;
      const st = await this.stat(p);
      if (st?.isSymbolicLink() && hops++ < 40) {
        const layer = await this.layerOf(p);
        const target = layer ? await readlink(join(layer, p)) : '';
        if (target.startsWith('/')) done.length = 0;
        parts.unshift(...target.split('/').filter((x) => x && x !== '.'));
        continue;
      }
      done.push(name);
    }
    return `/${done.join('/')}`;
  }

  /** `--chown=user[:group]`: names through the image's /etc/passwd and /etc/group. */
  async owner(spec: string): Promise<{ uid: number; gid: number }> {
    const [user = '', group] = spec.split(':');
    const uid = /^\d+$/.test(user) ? Number(user) : await this.idOf('/etc/passwd', user, 2);
    const userGid = /^\d+$/.test(user) ? uid : await this.idOf('/etc/passwd', user, 3);
    const gid = group === undefined ? userGid : /^\d+$/.test(group) ? Number(group) : await this.idOf('/etc/group', group, 2);
    return { uid, gid };
  }

  private async idOf(file: string, name: string, field: number): Promise<number> {
    const layer = await this.layerOf(file);
    const text = layer ? await readFile(join(layer, file), 'utf8').catch(() => '') : '';
    const line = text.split('\n').find((l) => l.split(':')[0] === name);
    const id = line?.split(':')[field];
    if (id === undefined || !/^\d+$/.test(id)) {
      const what = file === '/etc/passwd' ? 'uid for user' : 'gid for group';
      throw invalidParameter('build.copy_chown', `unable to convert uid/gid chown string to host mapping: can't find ${what} ${name}: no such ${file === '/etc/passwd' ? 'user' : 'group'}: ${name}`);
    }
    return Number(id);
  }

  private async layerOf(path: string): Promise<string | undefined> {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i] as string;
      if (await lstat(join(l, path)).catch(() => undefined)) return l;
    }
    return undefined;
  }
}
