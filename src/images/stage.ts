/**
 * Staged layers: a layer unpacked into the store's tmp/ (directory + its tar split) while it
 * streams in, before anything says it belongs to the store. Pulls stage every layer at once,
 * straight from the network, and the store commits them only when every blob checked out.
 *
 * Use: `const s = await stageLayer(join(root, 'tmp'), tarStream)`; later the store renames
 * `s.dir`/`s.split`/`s.shadow` into place (`ImageStore.addPulled`) or `discardStaged(s)` removes them.
 *
 * Beware: staging touches nothing but fresh tmp/ paths, so any number may run concurrently and
 * outside the store's lock; a crash leaves them to the store's sweep at open. The tar itself is not
 * kept: its split (tar-split.ts) and the unpacked files rebuild it byte for byte.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SplitRecorder } from './tar-split.js';
import { unpackLayer } from './unpack.js';

export interface StagedLayer {
  /** `sha256:` of the uncompressed tar. */
  diffId: string;
  /** Bytes of regular file content. */
  size: number;
  /** The unpacked layer directory (in tmp/). */
  dir: string;
  /** The layer tar's split (in tmp/). */
  split: string;
  /** Entry contents the split needs that no file of the layer holds; usually never created. */
  shadow: string;
}

/** Unpack an uncompressed tar stream into a fresh directory under `tmpDir`, recording its split. */
export async function stageLayer(tmpDir: string, input: AsyncIterable<Buffer>): Promise<StagedLayer> {
  const dir = join(tmpDir, `layer-${randomBytes(6).toString('hex')}`);
  const paths = { dir, split: `${dir}.split`, shadow: `${dir}.shadow` };
  await mkdir(dir, { mode: 0o755 });
  try {
    const rec = new SplitRecorder(dir, paths.shadow);
    const { diffId, size } = await unpackLayer(input, dir, rec);
    await rec.write(paths.split);
    return { diffId, size, ...paths };
  } catch (e) {
    await discardStaged(paths);
    throw e;
  }
}

/** Remove a staged layer's files (nothing when they were already moved into the store). */
export async function discardStaged(s: Pick<StagedLayer, 'dir' | 'split' | 'shadow'>): Promise<void> {
  await rm(s.dir, { recursive: true, force: true });
  await rm(s.split, { force: true });
  await rm(s.shadow, { recursive: true, force: true });
}
