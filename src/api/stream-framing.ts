/**
 * The byte formats of Docker's streaming endpoints (attach, exec start, logs).
 *
 * Without a tty, stdout and stderr share one connection as frames: an 8-byte header
 * [stream, 0, 0, 0, size as uint32 big-endian] (1 = stdout, 2 = stderr) before each payload. With a
 * tty the stream is raw bytes. Also here: the `logs` query values (`since`/`until` as Unix seconds
 * with a fraction, `tail`), the `timestamps=1` line prefix, and detach keys (`ctrl-p,ctrl-q`).
 *
 * Use: `frame('stdout', data)` per chunk; `FrameDecoder` reads frames back (tests, clients).
 * Beware: the content type says which format a response uses, and API versions below 1.42 always
 * got `raw-stream` even when the body is multiplexed.
 */
import { invalidParameter } from '../util/index.js';
import { compareVersions } from './version.js';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

export type StreamName = 'stdin' | 'stdout' | 'stderr';
const STREAM_BYTE: Record<StreamName, number> = { stdin: 0, stdout: 1, stderr: 2 };
const BYTE_STREAM: readonly StreamName[] = ['stdin', 'stdout', 'stderr'];

/** The content type of a hijacked or logs response: multiplexed only without a tty, from API 1.42. */
export function streamContentType(tty: boolean, apiVersion: string): string {
  return !tty && compareVersions(apiVersion, '1.42') >= 0 ? MULTIPLEXED_STREAM : RAW_STREAM;
}

export function frameHeader(stream: StreamName, size: number): Buffer {
  const h = Buffer.alloc(8);
  h[0] = STREAM_BYTE[stream];
  h.writeUInt32BE(size, 4);
  return h;
}

/** One frame: header and payload in a single buffer (one write, one syscall). */
export function frame(stream: StreamName, data: Buffer): Buffer {
  return Buffer.concat([frameHeader(stream, data.length), data]);
}

/** Reads frames from a byte stream split anywhere; `push` returns the frames completed so far. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Array<{ stream: StreamName; data: Buffer }> {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Array<{ stream: StreamName; data: Buffer }> = [];
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const stream = BYTE_STREAM[this.pending[0] as number];
      if (!stream) throw new Error(`bad stream byte ${this.pending[0]} in multiplexed stream`);
      out.push({ stream, data: this.pending.subarray(8, 8 + size) });
      this.pending = this.pending.subarray(8 + size);
    }
    return out;
  }

  /** Bytes of an incomplete frame still waiting. */
  get buffered(): number {
    return this.pending.length;
  }
}

/**
 * `since` / `until` as Docker takes them: `seconds[.fraction]` since the epoch (the CLI turns
 * `10m` or a date into that before sending). Returns nanoseconds.
 */
export function parseUnixTime(value: string, field: 'since' | 'until'): bigint {
  const dot = value.indexOf('.');
  const secPart = dot < 0 ? value : value.slice(0, dot);
  const fracPart = dot < 0 ? '' : value.slice(dot + 1);
  for (const part of dot < 0 ? [secPart] : [secPart, fracPart]) {
    if (!/^[+-]?\d+$/.test(part)) {
      throw invalidParameter('logs.bad_time', `invalid value for "${field}": strconv.ParseInt: parsing ${JSON.stringify(part)}: invalid syntax`);
    }
  }
  const secs = BigInt(secPart.replace(/^\+/, ''));
  const frac = BigInt(fracPart.replace(/^[+-]/, '').padEnd(9, '0').slice(0, 9) || '0');
  return secs * 1_000_000_000n + (secs < 0n ? -frac : frac);
}

/** `tail`: a count, or `all`; like dockerd, anything that is not a non-negative integer means all. */
export function parseTail(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** Go's RFC3339NanoFixed: always nine fraction digits, so that columns line up in `logs -t`. */
export function fixedNanoTime(time: string): string {
  const m = /^([^.]+?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!m) return time;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}${m[3]}`;
}

/** One line of `GET /containers/{id}/logs`: framed unless tty, with the time prefix if asked. */
export function encodeLogLine(line: { stream: 'stdout' | 'stderr'; data: Buffer; time: string }, opts: { tty: boolean; timestamps: boolean }): Buffer {
  const data = opts.timestamps ? Buffer.concat([Buffer.from(`${fixedNanoTime(line.time)} `), line.data]) : line.data;
  return opts.tty ? data : frame(line.stream, data);
}

/** ASCII control keys by name, as in Docker's `--detach-keys` (`ctrl-@` = 0 … `ctrl-_` = 31). */
const CTRL_NAMES = ['@', ...'abcdefghijklmnopqrstuvwxyz', '[', '\\', ']', '^', '_'];

/**
 * Parses detach keys (`ctrl-p,ctrl-q`, single characters allowed) into bytes; `''` gives Docker's
 * default ctrl-p ctrl-q. Throws Docker's 400 for an unknown key.
 */
export function parseDetachKeys(keys: string): Buffer {
  if (keys === '') return Buffer.from([16, 17]);
  const out: number[] = [];
  for (const key of keys.split(',')) {
    if (key.length === 1) {
      out.push(key.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/.exec(key.toLowerCase());
    const code = m ? CTRL_NAMES.indexOf(m[1] as string) : -1;
    if (code < 0) throw invalidParameter('attach.detach_keys', `Invalid detach keys (${keys}) provided`);
    out.push(code);
  }
  return Buffer.from(out);
}

/**
 * Watches a tty's input for the detach sequence. Bytes that start the sequence are held back until
 * it is complete (they are dropped: the user typed them to detach) or broken (they are passed on).
 * Matches across chunk boundaries.
 */
export class DetachScanner {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  push(chunk: Buffer): { data: Buffer; detached: boolean } {
    if (this.matched === 0 && !chunk.includes(this.keys[0] as number)) return { data: chunk, detached: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { data: Buffer.from(out), detached: true };
        continue;
      }
      if (this.matched > 0) {
        out.push(...this.keys.subarray(0, this.matched));
        this.matched = byte === this.keys[0] ? 1 : 0;
        if (this.matched) continue;
      }
      out.push(byte);
    }
    return { data: Buffer.from(out), detached: false };
  }
}
