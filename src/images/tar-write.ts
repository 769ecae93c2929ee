/**
 * Building small tar archives in memory with tar-stream: the busybox rootfs and image, and test
 * fixtures. Use `packTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hostname', content: '' }])`.
 *
 * Beware: everything is held in memory; this is for archives of a few megabytes, not for exports.
 */
import tarStream, { type Header, type Pack } from 'tar-stream';

/** A header to write: a name, and whichever other fields apply. */
export type PackHeader = Partial<Header> & { name: string };

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: Buffer | string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

export async function packTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const collecting = (async () => {
    for await (const chunk of pack) chunks.push(Buffer.from(chunk as Uint8Array));
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = type === 'file' ? Buffer.from(e.content ?? '') : undefined;
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(0),
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
      ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (body) pack.entry({ ...header, size: body.length }, body, done);
      else pack.entry(header, done);
    });
  }
  pack.finalize();
  await collecting;
  return Buffer.concat(chunks);
}

/**
 * Add one entry to a tar-stream pack with its body streamed (a file of `header.size` bytes) or none;
 * resolves when the pack has taken it. For archives too big for memory (layers, image archives).
 */
export async function packStreamed(pack: Pack, header: PackHeader, body?: AsyncIterable<Buffer | Uint8Array>): Promise<void> {
  const sink = pack.entry(header);
  const done = new Promise<void>((resolve, reject) => {
    sink.once('finish', () => resolve());
    sink.once('error', reject);
  });
  if (body) {
    for await (const chunk of body) {
      if (!sink.write(chunk)) await new Promise<void>((r) => sink.once('drain', () => r()));
    }
  }
  sink.end(undefined); // streamx's end() takes an optional last chunk, typed as required
  await done;
}
