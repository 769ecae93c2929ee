/**
 * Replace a file so that readers and crashes see either the old or the new content, never a mix:
 * write a temporary file beside it, flush it to disk, rename it over the target.
 *
 * `writeAtomicReserved` also keeps the file replaceable on a full disk (the image index, which
 * every `docker rmi` rewrites: removing is how a user frees space). A spare file beside it, a bit
 * larger than the content, is kept allocated; when the plain write fails with ENOSPC, the content
 * is written over the spare's own blocks (which needs none) and the spare is renamed over the
 * target. A new spare is made after a write whenever there is room for it.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';

/** Slack of the spare beyond the content: an index grows by a few hundred bytes per image. */
const SPARE_SLACK = 64 * 1024;

const tmpName = (path: string): string => `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

export async function writeAtomic(path: string, data: Buffer): Promise<void> {
  const tmp = tmpName(path);
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }); // a full disk must not keep the half-written copy
    throw e;
  }
}

const spareOf = (path: string): string => `${path}.spare`;

export async function writeAtomicReserved(path: string, data: Buffer): Promise<void> {
  try {
    await writeAtomic(path, data);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC' || !(await overSpare(path, data))) throw e;
  }
  await keepSpare(path, data.length).catch(() => undefined); // no room now: made at a later write
}

/** Writes `data` into the spare's blocks and renames it over `path`; false when the spare is too small. */
async function overSpare(path: string, data: Buffer): Promise<boolean> {
  const spare = spareOf(path);
  const size = await stat(spare).then((s) => s.size, () => 0);
  if (size < data.length) return false;
  const fh = await open(spare, 'r+');
  try {
    await fh.write(data, 0, data.length, 0);
    await fh.truncate(data.length);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(spare, path);
  return true;
}

/** Makes a spare of content size plus slack unless one at least content size plus half the slack is there. */
async function keepSpare(path: string, contentSize: number): Promise<void> {
  const spare = spareOf(path);
  const size = await stat(spare).then((s) => s.size, () => 0);
  if (size >= contentSize + SPARE_SLACK / 2) return;
  // zeros written, not a sparse truncate: the blocks must really be held
  await writeAtomic(spare, Buffer.alloc(contentSize + SPARE_SLACK));
}
