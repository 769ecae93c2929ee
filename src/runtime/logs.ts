/**
 * Reading a container's log (the shim's frame file, see shim-protocol.ts) the way `docker logs`
 * wants it: one entry per line with its timestamp, stdout and stderr apart, `--tail`, `--since`,
 * `--until`, and `-f` (which ends when the container's run is over).
 *
 * Use: `for await (const e of readLogs(stateDir, { follow: true, tail: 10 })) …`; stop early with
 * `break` or an AbortSignal.
 * Beware: like Docker's json-file driver, a line without its newline is held until the newline
 * comes (or the run ends), and `tail` counts lines of both streams before the stream filter and
 * before `since`. `tail` reads the whole file once (no index).
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { FrameParser, streamOf, type Frame, type Stream } from './shim-protocol.js';
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

/** Reads frames appended to the log file, from where the last call stopped. */
export class LogFile {
  private readonly parser = new FrameParser();
  private position = 0;

  private constructor(private readonly fh: FileHandle | null) {}

  static async open(stateDir: string): Promise<LogFile> {
    try {
      return new LogFile(await open(join(stateDir, StateFile.log), 'r'));
    } catch {
      return new LogFile(null); // never started: an empty log
    }
  }

  /** Offset just past the last complete frame read (what the shim calls a frame's log offset). */
  get offset(): bigint {
    return BigInt(this.parser.consumed);
  }

  /** The next complete frames, up to about 256 KiB of them; [] at the end of the file (for now). */
  async read(): Promise<Frame[]> {
    if (!this.fh) return [];
    for (;;) {
      const buf = Buffer.allocUnsafe(256 * 1024); // fresh each time: frames and the parser keep slices of it
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.position);
      if (bytesRead === 0) return [];
      this.position += bytesRead;
      const frames = this.parser.push(buf.subarray(0, bytesRead));
      if (frames.length > 0) return frames; // else: one frame larger than the buffer, read on
    }
  }

  async close(): Promise<void> {
    await this.fh?.close();
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
