/**
 * A container's root filesystem: an overlayfs of the image's layer directories (read-only lowers)
 * with the container's own writable `upper/` and `work/`, mounted at `<containerDir>/rootfs`.
 *
 * Use: `const rootfs = await mountRootfs(store.rootfsLayers(imageId), containerDir)` before
 * `runc create`; `await unmountRootfs(containerDir)` after the container stops. Both are safe to
 * repeat. upper/ and work/ are left in place: the container's changes survive a restart; deleting
 * the container directory is the caller's job.
 *
 * Beware: the mount options must fit in one page (4096 bytes), which absolute layer paths outgrow at
 * around 40 layers; then `<containerDir>/l/<n>` symlinks name the lowers and the mount is made from
 * `l/` (the kernel resolves relative lowerdirs against the mounting thread's working directory and
 * follows the symlinks), which fits the kernel's maximum of 500 lowers. mount(2) and umount2(2) are
 * called in-process (kernel/syscalls.ts), not through mount(8).
 * Paths containing `,` `:` or `\` would break the option string and are refused.
 */
import { constants } from 'node:fs';
import { mkdir, open, readFile, realpath, rm, symlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { internal, invalidParameter } from '../util/index.js';
import { mountFs, unmountFs } from '../kernel/index.js';

/** The mount source shown in /proc/mounts; marks our mounts for cleanup scripts. */
export const OVERLAY_SOURCE = 'redes-overlay';
const MAX_OPTIONS = 4000;

/** Mount the overlay for `layers` (lowest first) at `<containerDir>/rootfs`; returns that path. */
export async function mountRootfs(layers: readonly string[], containerDir: string): Promise<string> {
  const dir = resolve(containerDir);
  const target = join(dir, 'rootfs');
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  for (const d of [target, upper, work]) await mkdir(d, { recursive: true, mode: 0o755 });
  if (await isMountPoint(target)) return target;
  let lowers = layers.map((l) => resolve(l)).reverse(); // overlayfs lists the highest layer first
  if (lowers.length === 0) {
    const empty = join(dir, 'empty-lower');
    await mkdir(empty, { recursive: true });
    lowers = [empty];
  }
  for (const p of [...lowers, upper, work]) {
    if (/[,:\\\n]/.test(p)) throw invalidParameter('rootfs.path', `cannot use "${p}" in an overlay mount`);
  }
  const tail = `,upperdir=${upper},workdir=${work}`;
  let options = `lowerdir=${lowers.join(':')}${tail}`;
  let cwd: string | undefined;
  if (options.length > MAX_OPTIONS) {
    cwd = await shortLinks(dir, lowers);
    options = `lowerdir=${lowers.map((_, i) => String(i)).join(':')}${tail}`;
    if (options.length > MAX_OPTIONS) throw internal('rootfs.overlay_options', `too many layers for an overlay mount: ${layers.length}`);
  }
  await mountFs({ source: OVERLAY_SOURCE, target, type: 'overlay', options, ...(cwd ? { cwd } : {}) });
  return target;
}

/** `<containerDir>/l/<n>` → the n-th lower (Docker's overlay2 does the same); returns `l/`. */
async function shortLinks(dir: string, lowers: string[]): Promise<string> {
  const links = join(dir, 'l');
  await rm(links, { recursive: true, force: true });
  await mkdir(links);
  for (const [i, l] of lowers.entries()) await symlink(l, join(links, String(i)));
  return links;
}

/** Unmount `<containerDir>/rootfs` if it is mounted; a missing directory or mount is fine. */
export async function unmountRootfs(containerDir: string): Promise<void> {
  const target = join(resolve(containerDir), 'rootfs');
  // Busy (a process still has it open: a just-killed container, an exec): detached lazily.
  for (let i = 0; i < 8 && (await isMountPoint(target)); i++) await unmountFs(target);
}

/**
 * True when `path` is the mount point of a mount in our mount namespace: its mount id differs from
 * its parent's (read from /proc/self/fdinfo of an open fd, exact for bind mounts of the same
 * filesystem too). Scanning /proc/self/mountinfo instead cost tens of ms a call on a machine with
 * 1500 mounts, three times per container start and stop.
 */
export async function isMountPoint(path: string): Promise<boolean> {
  const real = await realpath(path).catch(() => undefined);
  if (!real || real === '/') return false;
  const [own, parent] = await Promise.all([mountId(real), mountId(dirname(real))]);
  return own !== undefined && parent !== undefined && own !== parent;
}

/** The mount id of the mount `path` lies on, or undefined when it cannot be opened. */
async function mountId(path: string): Promise<number | undefined> {
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY).catch(() => undefined);
  if (!fh) return undefined;
  try {
    const m = /^mnt_id:\s*(\d+)$/m.exec(await readFile(`/proc/self/fdinfo/${fh.fd}`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } finally {
    await fh.close();
  }
}
