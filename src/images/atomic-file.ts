/**
 * Replace a file so that readers and crashes see either the old or the new content, never a mix:
 * write a temporary file beside it, flush it to disk, rename it over the target.
 */
import { randomBytes } from 'node:crypto';
import { open, rename } from 'node:fs/promises';

export async function writeAtomic(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
