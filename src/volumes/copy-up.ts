/**
 * Docker's copy-up: a volume mounted over a path the image fills starts with the image's content
 * (files, directories, symlinks, with owners, modes and times), when the volume is empty and the
 * mount does not say `nocopy`.
 *
 * Use: `await copyUp(join(rootfs, '/data'), volumePath)` before the container starts.
 * Beware: the source is the container's mounted rootfs; a symlink is copied as a link, never
 * followed, so the copy cannot leave the rootfs. Device nodes and sockets are skipped.
 */
import { chmod, chown, copyFile, lstat, mkdir, readdir, readlink, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch {
    return false;
  }
}

async function copyTree(src: string, dst: string): Promise<void> {
  for (const name of await readdir(src)) {
    const s = join(src, name);
    const d = join(dst, name);
    const st = await lstat(s);
    if (st.isSymbolicLink()) {
      await symlink(await readlink(s), d);
    } else if (st.isDirectory()) {
      await mkdir(d);
      await copyTree(s, d);
    } else if (st.isFile()) {
      await copyFile(s, d);
    } else {
      continue;
    }
    await chown(d, st.uid, st.gid).catch(() => undefined);
    if (!st.isSymbolicLink()) {
      await chmod(d, st.mode & 0o7777);
      await utimes(d, st.atime, st.mtime);
    }
  }
}

/** Copies `src` (a directory of the image) into `dst` when `dst` is empty; the root's owner and mode too. */
export async function copyUp(src: string, dst: string): Promise<boolean> {
  let st;
  try {
    st = await lstat(src);
  } catch {
    return false;
  }
  if (!st.isDirectory() || !(await isEmptyDir(dst))) return false;
  await copyTree(src, dst);
  await chown(dst, st.uid, st.gid).catch(() => undefined);
  await chmod(dst, st.mode & 0o7777);
  return true;
}
