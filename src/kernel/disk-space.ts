/**
 * Free space of the filesystem that holds a path (statfs), as root sees it: the blocks reserved for
 * root count as free, since the daemon runs as root and may use them.
 *
 * Use: `await freeBytes('/var/lib/redes/x')` before a change the daemon must be able to record.
 * Beware: one statfs(2) call, no process; the answer is a snapshot (another writer may fill the
 * filesystem right after).
 */
import { statfs } from 'node:fs/promises';

export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bfree * s.bsize;
}
