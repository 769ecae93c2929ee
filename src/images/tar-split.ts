/**
 * Tar split: what a layer's tar holds besides its files' contents (headers, pax and long-name
 * records, padding, end blocks), kept beside the unpacked layer, so the exact tar (same bytes,
 * same diff id) can be rebuilt for `docker push` and `docker save` without a second copy of every
 * file on disk. The same idea as Docker's tar-split metadata.
 *
 * Use: while unpacking, `rec.feed(chunk)` for every tar byte (readTar's tap), `rec.claim(i, path,
 * size)` when entry i's content went to `path`, `rec.keep(i, body, size)` for content nothing else
 * stores, `rec.displace(path)` instead of deleting something an earlier entry made; then
 * `rec.write(file)`. Later `openSplit(layerDir, file, shadowDir)` gives the tar's size and bytes.
 *
 * Beware: the scanner must cut the stream into entries exactly as tar-stream does (null blocks,
 * pax and GNU long-name records, a pax `size`, no content for directories); `write` refuses a
 * split where an entry's content has no claim or a claim of another size. Content an entry later
 * replaced or that no file holds lives in the shadow directory, outside the layer.
 */
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { internal } from '../util/index.js';

const MAGIC = Buffer.from('redes-tar-split 1\n');
const RAW = 1;
const LAYER_FILE = 2;
const SHADOW_FILE = 3;
const BLOCK = 512;
const READ_CHUNK = 1 << 20;
/** tar-stream's typeflags for records that describe the next entry instead of being one. */
const META = new Set([72, 55, 27, 28, 30]);
const PAX_LOCAL = 72;
const PAX_GLOBAL = 55;
const DIRECTORY = 5;

type Part = Buffer | { entry: number; size: number };

/** A tar header's numeric field: octal text, or base-256 when the top bit is set (as tar-stream reads it). */
function numeric(b: Buffer, off: number, len: number): number {
  const f = b.subarray(off, off + len);
  if ((f[0] ?? 0) & 0x80) {
    const neg = f[0] === 0xff;
    let v = 0;
    for (let i = 1; i < f.length; i++) v = v * 256 + (neg ? 0xff - (f[i] ?? 0) : (f[i] ?? 0));
    return neg ? -v : v;
  }
  const text = f.toString('latin1').replace(/\0.*$/s, '').trim();
  return text ? parseInt(text, 8) : 0;
}

/** The `size` record of a pax header's content, when it has one. */
function paxSize(b: Buffer): string | undefined {
  let size: string | undefined;
  for (let rest = b; rest.length; ) {
    const sp = rest.indexOf(32);
    const len = parseInt(rest.subarray(0, sp < 0 ? rest.length : sp).toString(), 10);
    if (!len || sp < 0) break;
    const kv = rest.subarray(sp + 1, len - 1).toString();
    const eq = kv.indexOf('=');
    if (eq < 0) break;
    if (kv.slice(0, eq) === 'size') size = kv.slice(eq + 1);
    rest = rest.subarray(len);
  }
  return size;
}

export class SplitRecorder {
  private readonly parts: Part[] = [];
  private raw: Buffer[] = [];
  private header = Buffer.alloc(BLOCK);
  private have = 0; // bytes of `header` filled
  private skip = 0; // raw bytes to pass (padding, meta content)
  private content = 0; // content bytes of the current entry still to come
  private meta: { type: number; size: number; bytes: Buffer[] } | undefined;
  private localSize: string | undefined;
  private globalSize: string | undefined;
  private entries = 0;
  private readonly claims = new Map<number, { path: string; shadow: boolean; size: number }>();
  private shadows = 0;

  constructor(
    private readonly root: string,
    private readonly shadowDir: string,
  ) {}

  /** Scan the next tar bytes. */
  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.content > 0) {
        const n = Math.min(this.content, chunk.length - i);
        this.content -= n;
        i += n;
        continue;
      }
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        const piece = chunk.subarray(i, i + n);
        this.raw.push(Buffer.from(piece));
        this.meta?.bytes.push(Buffer.from(piece));
        this.skip -= n;
        i += n;
        if (this.skip === 0 && this.meta) this.endMeta();
        continue;
      }
      const n = Math.min(BLOCK - this.have, chunk.length - i);
      chunk.copy(this.header, this.have, i, i + n);
      this.have += n;
      i += n;
      if (this.have === BLOCK) this.onHeader();
    }
  }

  private onHeader(): void {
    const h = this.header;
    this.raw.push(h);
    this.header = Buffer.alloc(BLOCK);
    this.have = 0;
    let sum = 8 * 32;
    for (let j = 0; j < BLOCK; j++) if (j < 148 || j >= 156) sum += h[j] ?? 0;
    if (sum === 8 * 32) return; // a null block: tar-stream reads on
    let type = h[156] === 0 ? 0 : (h[156] ?? 0) - 48;
    const size = numeric(h, 124, 12);
    if (META.has(type)) {
      this.meta = { type, size, bytes: [] };
      this.skip = size + ((BLOCK - (size % BLOCK)) % BLOCK);
      if (this.skip === 0) this.endMeta();
      return;
    }
    let name = h.subarray(0, h.indexOf(0) < 0 || h.indexOf(0) > 100 ? 100 : h.indexOf(0)).toString();
    if (h.subarray(257, 263).toString('latin1') === 'ustar\0' && h[345]) name = `prefix/${name}`;
    if (type === 0 && name.endsWith('/')) type = DIRECTORY;
    const sizeText = this.localSize;
    this.localSize = undefined;
    const entrySize = sizeText ? parseInt(sizeText, 10) : size;
    const index = this.entries++;
    if (entrySize === 0 || type === DIRECTORY) return;
    this.flushRaw();
    this.parts.push({ entry: index, size: entrySize });
    this.content = entrySize;
    this.skip = (BLOCK - (entrySize % BLOCK)) % BLOCK;
  }

  private endMeta(): void {
    const m = this.meta;
    this.meta = undefined;
    if (!m) return;
    const body = Buffer.concat(m.bytes).subarray(0, m.size);
    if (m.type === PAX_GLOBAL) this.globalSize = paxSize(body);
    if (m.type === PAX_LOCAL) this.localSize = paxSize(body) ?? this.globalSize;
  }

  private flushRaw(): void {
    if (this.raw.length) this.parts.push(Buffer.concat(this.raw));
    this.raw = [];
  }

  /** Entry `index`'s content (`size` bytes) is the file at `path` (absolute, inside the layer). */
  claim(index: number, path: string, size: number): void {
    this.claims.set(index, { path: relative(this.root, path), shadow: false, size });
  }

  /** Store entry `index`'s content in the shadow directory (it goes into no file of the layer). */
  async keep(index: number, body: AsyncIterable<Buffer>, size: number): Promise<void> {
    await mkdir(this.shadowDir, { recursive: true });
    const name = `e${index}`;
    const fh = await open(join(this.shadowDir, name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      for await (const chunk of body) await fh.write(chunk);
    } finally {
      await fh.close();
    }
    this.claims.set(index, { path: name, shadow: true, size });
  }

  /** Move `path` (inside the layer, made by an earlier entry) to the shadow directory instead of deleting it. */
  async displace(path: string): Promise<void> {
    await mkdir(this.shadowDir, { recursive: true });
    const name = `d${this.shadows++}`;
    await rename(path, join(this.shadowDir, name));
    const rel = relative(this.root, path);
    for (const c of this.claims.values()) {
      if (c.shadow || (c.path !== rel && !c.path.startsWith(`${rel}/`))) continue;
      c.path = name + c.path.slice(rel.length);
      c.shadow = true;
    }
  }

  /** Write the split to `file`; throws when some content has no claim of its size. */
  async write(file: string): Promise<void> {
    this.flushRaw();
    if (this.content > 0 || this.have > 0) throw internal('image.tar_split', 'tar split: the archive ended inside an entry');
    const out: Buffer[] = [MAGIC];
    for (const p of this.parts) {
      if (Buffer.isBuffer(p)) {
        const head = Buffer.alloc(5);
        head[0] = RAW;
        head.writeUInt32BE(p.length, 1);
        out.push(head, p);
        continue;
      }
      const c = this.claims.get(p.entry);
      if (!c || c.size !== p.size) throw internal('image.tar_split', `tar split: entry ${p.entry} (${p.size} bytes) has no stored content`);
      const path = Buffer.from(c.path);
      const head = Buffer.alloc(11);
      head[0] = c.shadow ? SHADOW_FILE : LAYER_FILE;
      head.writeUInt16BE(path.length, 1);
      head.writeBigUInt64BE(BigInt(p.size), 3);
      out.push(head, path);
    }
    await writeFile(file, Buffer.concat(out));
  }
}

type Record = { raw: Buffer } | { file: string; size: number };

export interface SplitTar {
  /** Bytes of the whole tar. */
  size: number;
  /** The tar's bytes, rebuilt from the split and the files. */
  stream(): AsyncIterable<Buffer>;
}

/** The tar a split describes, with file contents from `layerDir` (and `shadowDir`). */
export async function openSplit(layerDir: string, file: string, shadowDir: string): Promise<SplitTar> {
  const b = await readFile(file);
  if (!b.subarray(0, MAGIC.length).equals(MAGIC)) throw internal('image.tar_split', `tar split ${file}: unknown format`);
  const records: Record[] = [];
  let size = 0;
  for (let i = MAGIC.length; i < b.length; ) {
    const kind = b[i];
    if (kind === RAW) {
      const len = b.readUInt32BE(i + 1);
      records.push({ raw: b.subarray(i + 5, i + 5 + len) });
      size += len;
      i += 5 + len;
    } else if (kind === LAYER_FILE || kind === SHADOW_FILE) {
      const len = b.readUInt16BE(i + 1);
      const n = Number(b.readBigUInt64BE(i + 3));
      const rel = b.subarray(i + 11, i + 11 + len).toString();
      records.push({ file: join(kind === LAYER_FILE ? layerDir : shadowDir, rel), size: n });
      size += n;
      i += 11 + len;
    } else throw internal('image.tar_split', `tar split ${file}: bad record at ${i}`);
  }
  return { size, stream: () => rebuild(records) };
}

async function* rebuild(records: readonly Record[]): AsyncIterable<Buffer> {
  for (const r of records) {
    if ('raw' in r) {
      yield r.raw;
      continue;
    }
    const fh = await open(r.file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      for (let left = r.size; left > 0; ) {
        const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, left));
        const { bytesRead } = await fh.read(buf, 0, buf.length, r.size - left);
        if (bytesRead === 0) throw internal('image.tar_split', `layer file ${r.file} is shorter than its tar entry`);
        left -= bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }
}
