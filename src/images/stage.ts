/**
 * Staged layers: a layer unpacked into the store's tmp/ (directory + its uncompressed tar) while
 * it streams in, before anything says it belongs to the store. Pulls stage every layer at once,
 * straight from the network, and the store commits them only when every blob checked out.
 *
 * Use: `const s = await stageLayer(join(root, 'tmp'), tarStream)`; later the store renames
 * `s.dir`/`s.tar` into place (`ImageStore.addPulled`) or `discardStaged(s)` removes them.
 *
 * Beware: staging touches nothing but two fresh tmp/ paths, so any number may run concurrently and
 * outside the store's lock; a crash leaves them to the store's sweep at open.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { unpackLayer } from './unpack.js';

export interface StagedLayer {
  /** `sha256:` of the uncompressed tar. */
  diffId: string;
  /** Bytes of regular file content. */
  size: number;
  /** The unpacked layer directory (in tmp/). */
  dir: string;
  /** The layer's uncompressed tar (in tmp/). */
  tar: string;
}

/** Chunks of the tar copy are gathered up to this size per write. */
const TAR_WRITE_BUFFER = 1 << 20;

/** Unpack an uncompressed tar stream into a fresh directory under `tmpDir`, keeping its tar. */
export async function stageLayer(tmpDir: string, input: AsyncIterable<Buffer>): Promise<StagedLayer> {
  const dir = join(tmpDir, `layer-${randomBytes(6).toString('hex')}`);
  const tar = `${dir}.tar`;
  await mkdir(dir, { mode: 0o755 });
  const copy = createWriteStream(tar, { highWaterMark: TAR_WRITE_BUFFER });
  try {
    const { diffId, size } = await unpackLayer(input, dir, copy);
    await new Promise<void>((resolve, reject) => copy.end((e?: Error | null) => (e ? reject(e) : resolve())));
    return { diffId, size, dir, tar };
  } catch (e) {
    copy.destroy();
    await discardStaged({ dir, tar });
    throw e;
  }
}

/** Remove a staged layer's files (nothing when they were already moved into the store). */
export async function discardStaged(s: Pick<StagedLayer, 'dir' | 'tar'>): Promise<void> {
  await rm(s.dir, { recursive: true, force: true });
  await rm(s.tar, { force: true });
}
