/**
 * The frames redes-shim speaks (see the header of shim/redes-shim.c, which is the source of truth):
 * a 16-byte little-endian header `u8 type, u8[3] 0, u32 length, u64 arg` and `length` bytes.
 * The same header frames the log file (arg = wall-clock ns) and the attach socket (arg = log offset
 * for output, the code for exit, the pid for started).
 *
 * Use `encodeFrame` to send and `FrameParser` to cut a byte stream (socket or file) into frames.
 * Beware: a frame may arrive split across reads, and the last frame of a log being written may be
 * incomplete: the parser keeps the remainder until more bytes come.
 */

export const HEADER_BYTES = 16;
/** The shim reads at most this payload per frame; stdin is cut into pieces below it. */
export const MAX_STDIN_PAYLOAD = 32 * 1024;

export const FrameType = {
  stdout: 1,
  stderr: 2,
  exit: 3,
  stdin: 4,
  closeStdin: 5,
  resize: 6,
  started: 7,
  error: 8,
  hello: 9,
  /** Log files only: the first frame of a file the shim began (arg = its first byte's offset in the whole log). */
  segment: 10,
} as const;

export type Stream = 'stdout' | 'stderr';

export interface Frame {
  type: number;
  arg: bigint;
  data: Buffer;
  /** Where the frame starts in the parsed byte stream (its log offset, for a log file). */
  offset: number;
}

export function encodeFrame(type: number, arg: bigint, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(type, 0);
  header.writeUInt32LE(data.length, 4);
  header.writeBigUInt64LE(arg, 8);
  return Buffer.concat([header, data]);
}

/** Resize argument: rows in the high 16 bits, columns in the low 16 bits. */
export function resizeArg(height: number, width: number): bigint {
  const clamp = (n: number): number => Math.max(0, Math.min(0xffff, Math.trunc(n)));
  return (BigInt(clamp(height)) << 16n) | BigInt(clamp(width));
}

export function streamOf(type: number): Stream | undefined {
  if (type === FrameType.stdout) return 'stdout';
  if (type === FrameType.stderr) return 'stderr';
  return undefined;
}

/** Incremental frame splitter; `consumed` counts the bytes of the complete frames returned so far. */
export class FrameParser {
  private pending: Buffer = Buffer.alloc(0);
  consumed = 0;

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    let at = 0;
    while (this.pending.length - at >= HEADER_BYTES) {
      const length = this.pending.readUInt32LE(at + 4);
      if (this.pending.length - at < HEADER_BYTES + length) break;
      frames.push({
        type: this.pending.readUInt8(at),
        arg: this.pending.readBigUInt64LE(at + 8),
        data: this.pending.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length),
        offset: this.consumed + at,
      });
      at += HEADER_BYTES + length;
    }
    this.consumed += at;
    this.pending = this.pending.subarray(at);
    return frames;
  }

  /** Bytes held back because their frame is not complete yet. */
  get buffered(): number {
    return this.pending.length;
  }
}
