/**
 * Mount points under a directory, read from /proc/self/mountinfo, and their removal.
 *
 * Use: `await unmountAllUnder('/var/lib/redes/x')` before removing that directory.
 *
 * Beware: only the caller's mount namespace is seen. Never remove a directory recursively while a
 * mount is left under it: the removal would walk into the mounted filesystem and delete real files.
 * `unmountAllUnder` throws when something stays mounted so callers stop before that.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { run } from './run.js';

export interface MountEntry {
  id: number;
  parent: number;
  /** major:minor of the filesystem. */
  dev: string;
  /** The directory of the filesystem that is mounted (not `/` for a bind of a subdirectory). */
  root: string;
  mountPoint: string;
}

/** mountinfo escapes space, tab, newline and backslash as three octal digits. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The entries of a /proc/PID/mountinfo text, in mount order: id parent major:minor root MOUNTPOINT ... */
export function parseMountEntries(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    out.push({ id: Number(f[0]), parent: Number(f[1]), dev: f[2] ?? '', root: unescapeMountPath(f[3] ?? ''), mountPoint: unescapeMountPath(f[4] ?? '') });
  }
  return out;
}

/** Mount points of a mountinfo text, in mount order (a path mounted twice appears twice). */
export function parseMountinfo(text: string): string[] {
  return parseMountEntries(text).map((e) => e.mountPoint);
}

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/**
 * Mount points at or below `dir`, deepest first (and, at one depth, the latest mount first), which
 * is the order to unmount them in.
 */
export async function mountsUnder(dir: string): Promise<string[]> {
  const root = resolve(dir);
  const points = parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
  const found = points.map((p, order) => ({ p, order })).filter(({ p }) => under(p, root));
  found.sort((a, b) => b.p.split('/').length - a.p.split('/').length || b.order - a.order);
  return found.map(({ p }) => p);
}

/**
 * Unmount everything at or below `dir`, deepest first; a busy mount is detached lazily
 * (`umount -l`). Repeats while stacked mounts uncover more, and throws listing what stays mounted.
 * One `umount` takes many mount points (in order), so hundreds of container mounts cost a few
 * spawns, not one each.
 */
export async function unmountAllUnder(dir: string): Promise<void> {
  let last = '';
  for (;;) {
    const points = await mountsUnder(dir);
    if (points.length === 0) return;
    const key = points.join('\n');
    if (key === last) throw new Error(`unmount under "${dir}" failed: still mounted: ${points.join(', ')}`);
    last = key;
    const failed = await umountBatch(points, []);
    if (failed) await umountBatch(await mountsUnder(dir), ['-l']);
  }
}

const BATCH = 100;

/** `umount [flags] p1 p2 ...` in batches, in the given order; true when any batch failed. */
async function umountBatch(points: readonly string[], flags: readonly string[]): Promise<boolean> {
  let failed = false;
  for (let i = 0; i < points.length; i += BATCH) {
    const r = await run(['umount', ...flags, '--', ...points.slice(i, i + BATCH)], { allowFailure: true });
    if (r.code !== 0) failed = true;
  }
  return failed;
}
