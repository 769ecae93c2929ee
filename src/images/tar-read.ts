/**
 * Reading tar streams: gzip detection, the sha256 of the uncompressed bytes (a layer's diff id),
 * and one callback per entry, using tar-stream's extractor.
 *
 * Use: `const { digest } = await readTar(input, async (header, body) => { ... })`. The callback must
 * consume `body` or call `drain(body)`; entries come strictly one after another.
 *
 * Beware: the digest covers every uncompressed byte, including the zero blocks after the end of the
 * archive, because that is what Docker hashes for a diff id. bzip2, xz and zstd are refused: Node has
 * no decoder for them built in.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { invalidParameter, drainOrClose } from '../util/index.js';

/** A tar entry header as tar-stream decodes it (any field may be missing in odd archives). */
export interface TarHeader {
  name: string;
  type?: string | null;
  size?: number;
  mode?: number;
  mtime?: Date;
  linkname?: string | null;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string> | null;
}
export type EntryHandler = (header: TarHeader, body: AsyncIterable<Buffer>) => Promise<void>;

const MAGIC: { name: string; bytes: number[] }[] = [
  { name: 'bzip2', bytes: [0x42, 0x5a, 0x68] },
  { name: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { name: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
];

const startsWith = (b: Buffer, bytes: number[]): boolean => bytes.every((v, i) => b[i] === v);

/** The input as an uncompressed byte stream: gunzipped when it starts with gzip's magic. */
export async function decompressed(input: AsyncIterable<Buffer>): Promise<AsyncIterable<Buffer>> {
  const it = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 6) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head = Buffer.concat([head, Buffer.from(r.value)]);
  }
  const whole = Readable.from(
    (async function* () {
      if (head.length) yield head;
      if (ended) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    })(),
  );
  if (startsWith(head, [0x1f, 0x8b])) return whole.pipe(createGunzip());
  const other = MAGIC.find((m) => startsWith(head, m.bytes));
  if (other) {
    whole.destroy();
    throw invalidParameter('image.compression', `unsupported archive compression: ${other.name}`);
  }
  return whole;
}

/**
 * Read every entry of an uncompressed (or gzip) tar; returns the `sha256:` digest of the tar bytes.
 * With `tap`, every uncompressed byte is also shown to it, in order, before the entries see them.
 */
export async function readTar(input: AsyncIterable<Buffer>, onEntry: EntryHandler, tap?: (chunk: Buffer) => void): Promise<{ digest: string }> {
  const source = await decompressed(input);
  const hash = createHash('sha256');
  const extract = tarStream.extract();
  let feedError: unknown;
  // Set when parsing failed and we cut the input off ourselves: the feeder's "premature close" is
  // then a consequence, not the cause, and must not hide the parser's error.
  let stopping = false;
  let parseError: unknown; // the extractor's own error explains a body stream that was cut off
  extract.on('error', (e: unknown) => (parseError ??= e));
  const feeding = (async () => {
    try {
      for await (const chunk of source) {
        hash.update(chunk);
        tap?.(chunk);
        if (extract.destroyed) return;
        if (!extract.write(chunk)) await drainOrClose(extract);
      }
      extract.end(undefined);
    } catch (e) {
      if (stopping) return;
      feedError = isZlibError(e) ? invalidParameter('image.archive', `invalid gzip data: ${e.message}`) : e;
      extract.destroy(e instanceof Error ? e : new Error(String(e)));
    }
  })();
  try {
    for await (const entry of extract) await onEntry(entry.header as TarHeader, entry as AsyncIterable<Buffer>);
  } catch (e) {
    stopping = true;
    extract.destroy(null);
    if (isStream(source)) source.destroy();
    await feeding;
    throw feedError ?? asTarError(parseError ?? e);
  }
  await feeding;
  if (feedError) throw feedError;
  return { digest: `sha256:${hash.digest('hex')}` };
}

/** Throw the body of an entry away (entries must be consumed before the next one arrives). */
export async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const _chunk of body);
}

/** Read a whole entry body, refusing bodies larger than `limit` bytes. */
export async function readAll(body: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw invalidParameter('image.archive', `archive entry larger than ${limit} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}


function isZlibError(e: unknown): e is Error {
  const code: unknown = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('Z_');
}

function isStream(x: unknown): x is Readable {
  return x instanceof Readable;
}

/** tar-stream's parse errors become invalid-parameter errors; ours pass through. */
function asTarError(e: unknown): unknown {
  if (e instanceof Error && e.name === 'Error' && /header|Unexpected end of data|Invalid/.test(e.message)) {
    return invalidParameter('image.archive', `invalid tar archive: ${e.message}`);
  }
  return e;
}
