/**
 * Reading a container's log (the shim's frame file, see shim-protocol.ts) the way `docker logs`
 * wants it: one entry per line with its timestamp, stdout and stderr apart, `--tail`, `--since`,
 * `--until`, and `-f` (which ends when the container's run is over).
 *
 * Use: `for await (const e of readLogs(stateDir, { follow: true, tail: 10 })) …`; stop early with
 * `break` or an AbortSignal.
 * The log may be several files (`log.N` oldest ... `log.1`, `log`, rotated by the shim as
 * json-file's max-size/max-file): they are read in order, and `-f` follows into each new file.
 * Beware: like Docker's json-file driver, a line without its newline is held until the newline
 * comes (or the run ends), and `tail` counts lines of both streams before the stream filter and
 * before `since`. `tail` reads the files once (no index). A reader too slow for the rotation loses
 * the files removed before it opened them (as with Docker).
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FrameParser, FrameType, HEADER_BYTES, streamOf, type Frame, type Stream } from './shim-protocol.js';
import { exitStatus, formatNs, shimPid, StateFile } from './state-files.js';

export interface LogEntry {
  stream: Stream;
  /** When the shim read the line's first bytes, epoch ns. */
  timeNs: bigint;
  /** The same as RFC 3339 with nanoseconds (what `docker logs -t` prints). */
  time: string;
  /** The line including its '\n' (absent only for a last line that never got one). */
  data: Buffer;
}

export interface ReadLogsOptions {
  follow?: boolean;
  /** Only the last N lines (before following). */
  tail?: number;
  sinceNs?: bigint;
  untilNs?: bigint;
  stdout?: boolean;
  stderr?: boolean;
  signal?: AbortSignal;
}

/** One file of the log: where its first byte sits in the whole log, and how far it was read. */
interface Segment {
  fh: FileHandle;
  ino: number;
  base: number;
  parser: FrameParser;
  position: number;
}

const LOG_NAME = /^log(?:\.(\d+))?$/;

/**
 * Reads the frames of a container's log in order across its files (`log.N` ... `log.1`, `log`, as
 * the shim rotates them), from where the last call stopped; follows the shim to each new file.
 */
export class LogFile {
  private readonly segments: Segment[] = [];
  private current = 0;

  private constructor(private readonly dir: string) {}

  static async open(stateDir: string): Promise<LogFile> {
    const file = new LogFile(stateDir);
    await file.discover();
    return file;
  }

  /** Opens the files not seen yet that come after the ones held (all of them the first time). */
  private async discover(): Promise<boolean> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => LOG_NAME.test(n));
    } catch {
      return false; // never started: an empty log
    }
    // Only files still held: a file closed and deleted may lend its inode number to a new one.
    const known = new Set(this.segments.slice(this.current).map((s) => s.ino));
    const after = this.segments.at(-1)?.base ?? -1;
    const found: Array<Segment & { rank: number }> = [];
    for (const name of names) {
      const fh = await open(join(this.dir, name), 'r').catch(() => null);
      if (!fh) continue; // rotated away meanwhile
      const { ino } = await fh.stat();
      const head = Buffer.alloc(HEADER_BYTES);
      const { bytesRead } = await fh.read(head, 0, HEADER_BYTES, 0);
      // A file the shim began holds its place first; a file of an older shim starts the log.
      const base = bytesRead === HEADER_BYTES && head.readUInt8(0) === FrameType.segment ? Number(head.readBigUInt64LE(8)) : 0;
      if (known.has(ino) || base <= after) {
        await fh.close();
        continue;
      }
      known.add(ino);
      found.push({ fh, ino, base, parser: new FrameParser(), position: 0, rank: -Number(LOG_NAME.exec(name)?.[1] ?? 0) });
    }
    found.sort((a, b) => a.base - b.base || a.rank - b.rank);
    for (const { rank: _rank, ...seg } of found) this.segments.push(seg);
    return found.length > 0;
  }

  /** Offset just past the last complete frame read (what the shim calls a frame's log offset). */
  get offset(): bigint {
    const seg = this.segments[this.current];
    return seg ? BigInt(seg.base + seg.parser.consumed) : 0n;
  }

  /** The next complete frames, up to about 256 KiB of them; [] at the end of the log (for now). */
  async read(): Promise<Frame[]> {
    let rotated = false;
    for (;;) {
      const seg = this.segments[this.current];
      if (!seg) {
        if (!(await this.discover())) return [];
        continue;
      }
      const buf = Buffer.allocUnsafe(256 * 1024); // fresh each time: frames and the parser keep slices of it
      const { bytesRead } = await seg.fh.read(buf, 0, buf.length, seg.position);
      if (bytesRead > 0) {
        seg.position += bytesRead;
        const frames = seg.parser.push(buf.subarray(0, bytesRead));
        if (frames.length === 0) continue; // one frame larger than the buffer: read on
        for (const f of frames) f.offset += seg.base;
        return frames;
      }
      if (this.current < this.segments.length - 1) {
        await seg.fh.close();
        this.current++;
        continue;
      }
      // The end of the newest file held: has the shim moved on to a new `log`? Read the old one
      // once more after seeing it (the shim wrote its last frames before renaming it).
      if (!rotated && (await this.moved(seg))) {
        rotated = true;
        continue;
      }
      if (!rotated || !(await this.discover())) return [];
    }
  }

  private async moved(seg: Segment): Promise<boolean> {
    try {
      return (await stat(join(this.dir, StateFile.log))).ino !== seg.ino;
    } catch {
      return true; // renamed, the new one not there yet
    }
  }

  async close(): Promise<void> {
    for (const seg of this.segments.slice(this.current)) await seg.fh.close();
  }
}

/** Cuts each stream's bytes into lines; a line's time is that of its first bytes. */
class LineSplitter {
  private readonly partial = new Map<Stream, { timeNs: bigint; parts: Buffer[] }>();

  push(frame: Frame): LogEntry[] {
    const stream = streamOf(frame.type);
    if (!stream) return [];
    const out: LogEntry[] = [];
    let data = frame.data;
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
      const held = this.partial.get(stream);
      this.partial.delete(stream);
      const line = held ? Buffer.concat([...held.parts, data.subarray(0, nl + 1)]) : Buffer.from(data.subarray(0, nl + 1));
      out.push(entry(stream, held?.timeNs ?? frame.arg, line));
      data = data.subarray(nl + 1);
    }
    if (data.length > 0) {
      const held = this.partial.get(stream) ?? { timeNs: frame.arg, parts: [] };
      held.parts.push(Buffer.from(data));
      this.partial.set(stream, held);
    }
    return out;
  }

  flush(): LogEntry[] {
    const out = [...this.partial].map(([stream, p]) => entry(stream, p.timeNs, Buffer.concat(p.parts)));
    this.partial.clear();
    return out;
  }
}

const entry = (stream: Stream, timeNs: bigint, data: Buffer): LogEntry => ({
  stream,
  timeNs,
  time: formatNs(timeNs),
  data,
});

const running = (stateDir: string): boolean => shimPid(stateDir) !== null && exitStatus(stateDir) === null;

/** Wakes on any change in the state directory (log appended, exit written), or after a while. */
class DirWaiter {
  private watcher: FSWatcher | undefined;
  private changed = false;
  private wake: (() => void) | undefined;

  constructor(dir: string, signal?: AbortSignal) {
    const poke = (): void => {
      this.changed = true;
      this.wake?.();
    };
    try {
      this.watcher = watch(dir, poke);
      this.watcher.on('error', () => undefined);
    } catch {
      // no directory: the timeout alone
    }
    signal?.addEventListener('abort', poke, { once: true });
  }

  async next(timeoutMs: number): Promise<void> {
    if (!this.changed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.wake = () => (clearTimeout(timer), resolve());
      });
    }
    this.changed = false;
    this.wake = undefined;
  }

  close(): void {
    this.watcher?.close();
  }
}

/** Keeps the last `size` entries. */
async function lastOf(entries: AsyncIterable<LogEntry>, size: number): Promise<LogEntry[]> {
  const ring: LogEntry[] = [];
  let next = 0;
  for await (const e of entries) {
    if (size === 0) break;
    if (ring.length < size) ring.push(e);
    else ring[next] = e;
    next = (next + 1) % size;
  }
  return ring.length < size ? ring : [...ring.slice(next), ...ring.slice(0, next)];
}

export async function* readLogs(stateDir: string, opts: ReadLogsOptions = {}): AsyncGenerator<LogEntry> {
  const want = (e: LogEntry): boolean =>
    (e.stream === 'stdout' ? opts.stdout !== false : opts.stderr !== false) &&
    (opts.sinceNs === undefined || e.timeNs >= opts.sinceNs);
  const past = (e: LogEntry): boolean => opts.untilNs !== undefined && e.timeNs > opts.untilNs;
  const file = await LogFile.open(stateDir);
  const lines = new LineSplitter();
  const waiter = opts.follow ? new DirWaiter(stateDir, opts.signal) : undefined;
  /** Entries up to the current end of the file; the held partial lines too once the run is over. */
  async function* upToEnd(over: boolean): AsyncGenerator<LogEntry> {
    for (let frames = await file.read(); frames.length > 0; frames = await file.read()) {
      for (const f of frames) yield* lines.push(f);
    }
    if (over) yield* lines.flush();
  }
  try {
    let first = true;
    for (;;) {
      // Decide before reading: once the run is over the log is complete, so one more read suffices.
      const over = !opts.follow || opts.signal?.aborted === true || !running(stateDir);
      let batch: AsyncIterable<LogEntry> | LogEntry[] = upToEnd(over);
      if (first && opts.tail !== undefined && opts.tail >= 0) batch = await lastOf(batch, opts.tail);
      first = false;
      for await (const e of batch) {
        if (past(e)) return;
        if (want(e)) yield e;
      }
      if (over) return;
      await waiter?.next(250);
    }
  } finally {
    waiter?.close();
    await file.close();
  }
}
