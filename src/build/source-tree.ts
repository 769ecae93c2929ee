/**
 * A tree that COPY reads from: the build context (unpacked from the uploaded tar, with
 * `.dockerignore`) or another stage's root filesystem (`COPY --from`). Resolves COPY's source
 * arguments (wildcards included) into files, and hashes them for the build cache.
 *
 * Use: `tree.sources('src/*.txt')` → files and directories under their names in the tree;
 * `walk(source)` lists a directory's content.
 *
 * Beware: every path is resolved component by component with the tree's root as `/`, so a symlink
 * in the context or in an image (`etc -> /etc`) can never make COPY read a file of this machine.
 * The last component of a source is not followed: a symlink is copied as a symlink, as Docker does.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Stats } from 'node:fs';
import { invalidParameter } from '../util/index.js';
import { DockerIgnore, globToRegExp } from './dockerignore.js';

const MAX_HOPS = 40;

export interface SourceFile {
  /** Path in the tree, relative, `/`-separated ('' is the root). */
  rel: string;
  /** Where it is on this machine. */
  path: string;
  stat: Stats;
}

export class SourceTree {
  constructor(
    readonly root: string,
    readonly ignore: DockerIgnore = DockerIgnore.parse(''),
    /** How COPY names this tree in errors: the context, or a stage. */
    readonly isContext = true,
  ) {}

  /** Resolve one COPY source argument; wildcards may match several. Throws Docker's errors. */
  async sources(arg: string, instruction: string): Promise<SourceFile[]> {
    const clean = posix.normalize(`/${arg}`).slice(1).replace(/\/+$/, '');
    if (/[*?[]/.test(clean)) return this.glob(clean);
    const found = await this.lookup(clean);
    if (!found || (this.isContext && this.ignore.excludes(clean))) {
      const where = this.isContext ? 'file not found in build context or excluded by .dockerignore: ' : '';
      throw invalidParameter('build.copy_source', `${instruction} failed: ${where}stat ${clean || '.'}: file does not exist`);
    }
    return [found];
  }

  /** Everything under a directory source (not the directory itself), parents before children. */
  async walk(dir: SourceFile): Promise<SourceFile[]> {
    const out: SourceFile[] = [];
    const rec = async (path: string, rel: string): Promise<void> => {
      for (const name of (await readdir(path)).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        if (this.isContext && this.ignore.excludes(r)) continue;
        const p = join(path, name);
        const stat = await lstat(p);
        out.push({ rel: r, path: p, stat });
        if (stat.isDirectory()) await rec(p, r);
      }
    };
    await rec(dir.path, dir.rel);
    return out;
  }

  /** A file's path on this machine, following symlinks inside the tree; undefined when missing. */
  async lookup(rel: string, followLast = false): Promise<SourceFile | undefined> {
    const parts = rel.split('/').filter((p) => p && p !== '.');
    const done: string[] = [];
    let hops = 0;
    while (parts.length > 0) {
      const name = parts.shift() as string;
      if (name === '..') {
        done.pop();
        continue;
      }
      const p = join(this.root, ...done, name);
      const stat = await lstat(p).catch(() => undefined);
      if (!stat) return undefined;
      if (stat.isSymbolicLink() && (parts.length > 0 || followLast)) {
        if (++hops > MAX_HOPS) return undefined;
        const target = await readlink(p);
        if (target.startsWith('/')) done.length = 0;
        parts.unshift(...target.split('/').filter((x) => x && x !== '.'));
        continue;
      }
      done.push(name);
      if (parts.length > 0 && !stat.isDirectory()) return undefined;
    }
    const path = join(this.root, ...done);
    const stat = await lstat(path).catch(() => undefined);
    return stat ? { rel: done.join('/'), path, stat } : undefined;
  }

  private async glob(pattern: string): Promise<SourceFile[]> {
    const re = globToRegExp(pattern);
    const depth = pattern.split('/').length;
    const out: SourceFile[] = [];
    const rec = async (path: string, rel: string, level: number): Promise<void> => {
      for (const name of (await readdir(path).catch(() => [] as string[])).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        const p = join(path, name);
        const stat = await lstat(p);
        if (level === depth) {
          if (re.test(r) && !(this.isContext && this.ignore.excludes(r))) out.push({ rel: r, path: p, stat });
        } else if (stat.isDirectory()) await rec(p, r, level + 1);
      }
    };
    await rec(this.root, '', 1);
    return out;
  }
}

/** A digest of files for the build cache: names, types, modes, owners (not in the context), content. */
export async function hashSources(files: readonly SourceFile[], withOwners: boolean): Promise<string> {
  const h = createHash('sha256');
  for (const f of files) {
    const owner = withOwners ? `${f.stat.uid}:${f.stat.gid}` : '';
    h.update(`${f.rel}\0${f.stat.mode}\0${owner}\0`);
    if (f.stat.isSymbolicLink()) h.update(await readlink(f.path));
    else if (f.stat.isFile()) for await (const chunk of createReadStream(f.path)) h.update(chunk as Buffer);
    h.update('\0');
  }
  return h.digest('hex');
}
