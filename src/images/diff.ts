/**
 * Layer tars made from files on this machine: a container's changes (its overlayfs `upper/`
 * directory, with whiteouts and opaque directories turned into `.wh.` entries, as `docker commit`
 * and each build step need), and any list of entries (what a build's COPY adds).
 *
 * Use: `const entries = await upperEntries(upperDir, skip)`; `packEntries(entries)` streams the tar
 * (feed it to `ImageStore.addBuilt`). An empty entry list means "no change": no layer.
 *
 * Beware: opaque directories are read from the `trusted.overlay.opaque` xattr with one `getfattr`
 * run (Debian package `attr`), since Node cannot read xattrs. Content is read when the tar is
 * streamed, so the files must stay in place until then. Hard links inside the walked tree become
 * tar link entries (the first path seen holds the content).
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { run } from '../kernel/index.js';
import { packStreamed, type PackHeader } from './tar-write.js';

export interface FsEntry {
  /** Path inside the layer, relative, `/`-separated (no leading `/`). */
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** A regular file's content is read from here; a symlink's target or a hard link's first name. */
  source?: string;
  size?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** The changes under an overlayfs upper directory as layer entries; `skip(rel)` leaves paths out. */
export async function upperEntries(upper: string, skip: (rel: string) => boolean = () => false): Promise<FsEntry[]> {
  const opaque = await opaqueDirs(upper);
  const out: FsEntry[] = [];
  const inodes = new Map<string, string>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const p = join(dir, name);
      const st = await lstat(p);
      const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      const fmt = st.mode & S_IFMT;
      if (fmt === S_IFCHR && st.rdev === 0) {
        out.push({ ...base, name: rel ? `${rel}/.wh.${name}` : `.wh.${name}`, type: 'file', mode: 0o644, size: 0 });
      } else if (st.isDirectory()) {
        out.push({ ...base, name: r, type: 'directory' });
        if (opaque.has(p)) out.push({ ...base, name: `${r}/.wh..wh..opq`, type: 'file', mode: 0o644, size: 0 });
        await walk(p, r);
      } else if (st.isSymbolicLink()) {
        out.push({ ...base, name: r, type: 'symlink', linkname: await readlink(p) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? inodes.get(key) : undefined;
        if (first) out.push({ ...base, name: r, type: 'link', linkname: first });
        else {
          if (st.nlink > 1) inodes.set(key, r);
          out.push({ ...base, name: r, type: 'file', source: p, size: st.size });
        }
      } else if (fmt === S_IFCHR || fmt === S_IFBLK) {
        const type = fmt === S_IFCHR ? 'character-device' : 'block-device';
        out.push({ ...base, name: r, type, devmajor: Number(BigInt(st.rdev) >> 8n) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) });
      } else if (fmt === S_IFIFO) out.push({ ...base, name: r, type: 'fifo' });
      // sockets are not archived (Docker skips them too)
    }
  };
  await walk(upper, '');
  return out;
}

/** Directories under `root` marked opaque (absolute paths). */
async function opaqueDirs(root: string): Promise<Set<string>> {
  const r = await run(['getfattr', '-R', '-P', '--absolute-names', '-m', '^trusted\\.overlay\\.opaque$', '-d', root], { allowFailure: true });
  const out = new Set<string>();
  let file = '';
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) file = line.slice(8).replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    else if (/^trusted\.overlay\.opaque="y"$/.test(line) && file) out.add(file);
  }
  return out;
}

/** Stream a tar of `entries`, in order, reading file content from each entry's `source`. */
export function packEntries(entries: readonly FsEntry[]): AsyncIterable<Buffer> {
  const pack = tarStream.pack();
  void (async () => {
    try {
      for (const e of entries) {
        const header: PackHeader = {
          name: e.type === 'directory' ? `${e.name}/` : e.name,
          type: e.type,
          mode: e.mode,
          uid: e.uid,
          gid: e.gid,
          mtime: e.mtime,
          ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
          ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
          ...(e.type === 'file' ? { size: e.size ?? 0 } : {}),
        };
        const body = e.type === 'file' && e.source && (e.size ?? 0) > 0 ? (createReadStream(e.source) as AsyncIterable<Buffer>) : undefined;
        await packStreamed(pack, header, body);
      }
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  return pack as unknown as AsyncIterable<Buffer>;
}
