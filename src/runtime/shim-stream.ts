/**
 * One connection to a shim, as the engine sees it: output frames to read, stdin to write, resize,
 * detach. Used for `attach` (a connection to attach.sock) and for `exec` (the socketpair on the exec
 * shim's fd 3); both speak the frames of shim-protocol.ts.
 *
 * Use: `for await (const { stream, data } of s.output)`, `await s.write(buf)`, `s.stdin.end()` to
 * close the container's stdin, `s.close()` to detach. `exited` resolves with the exit code the shim
 * announced, or null when the connection ended without one (detached, or the shim vanished).
 * Beware: a consumer that stops reading `output` pauses the socket, and the shim in turn stops
 * reading the container's output (as Docker's attach does); the log then waits too.
 */
import { Readable, Writable, type Duplex } from 'node:stream';
import { encodeFrame, FrameParser, FrameType, MAX_STDIN_PAYLOAD, resizeArg, streamOf, type Frame, type Stream } from './shim-protocol.js';

export interface OutputFrame {
  stream: Stream;
  data: Buffer;
}

export interface ShimStreamOptions {
  stdout: boolean;
  stderr: boolean;
  stdin: boolean;
  /** Called for the exec shim's "started" (pid) and "error" (runc's message) frames. */
  onStarted?: (pid: number) => void;
  onError?: (message: string) => void;
}

export class ShimStream {
  /** Object-mode stream of OutputFrame. */
  readonly output: Readable;
  /** Ending it closes the container's (or exec's) stdin; null when stdin was not asked for. */
  readonly stdin: Writable | null;
  readonly exited: Promise<number | null>;
  /**
   * The log offset from which this connection gets every output frame live (the shim says so when
   * it accepts an attach connection); null if the connection closed first.
   */
  readonly hello: Promise<bigint | null>;
  /** Live output frames whose log offset is below this were already replayed from the log. */
  skipBelow = 0n;

  private readonly parser = new FrameParser();
  private exitCode: number | null = null;
  /** Live output kept back while the log is replayed (see `hold`). */
  private held: { frame: OutputFrame; offset: bigint }[] | null = null;
  private ended = false;
  /** Output is read and dropped (an exec whose client went away: the process goes on). */
  private discarding = false;
  private wake: (() => void) | undefined;
  /** The reader is gone (output destroyed) or detached: a replay in progress stops. */
  private readerGone = false;
  private onHello: ((offset: bigint | null) => void) | undefined;

  constructor(
    private readonly sock: Duplex,
    private readonly opts: ShimStreamOptions,
  ) {
    this.output = new Readable({
      objectMode: true,
      highWaterMark: 64,
      read: () => {
        this.wake?.();
        sock.resume();
      },
    });
    // A replay waiting for the reader (pushReplayed) must hear that no read will ever come.
    this.output.once('close', () => this.leave());
    this.stdin = opts.stdin ? this.makeStdin() : null;
    this.hello = new Promise((resolve) => (this.onHello = resolve));
    this.exited = new Promise((resolve) => {
      sock.on('close', () => {
        this.onHello?.(null);
        this.ended = true;
        if (this.held === null && !this.discarding) this.output.push(null);
        resolve(this.exitCode);
      });
    });
    sock.on('error', () => undefined); // a vanished shim just ends the stream (see `exited`)
    sock.on('data', (chunk: Buffer) => {
      for (const frame of this.parser.push(chunk)) this.onFrame(frame);
    });
  }

  /** Keeps live output back (while the log is replayed) until `release`; control frames still flow. */
  hold(): void {
    this.held = [];
  }

  /** Delivers the live output kept back, minus what the replay already gave (`skipBelow`). */
  release(): void {
    const held = this.held ?? [];
    this.held = null;
    if (this.output.destroyed) return;
    for (const { frame, offset } of held) if (offset >= this.skipBelow) this.output.push(frame);
    if (this.ended) this.output.push(null);
  }

  /**
   * Pushes a replayed frame, waiting while the reader is behind; false when the reader is gone or
   * detached (then the replay stops: nothing would ever read the rest).
   */
  async pushReplayed(frame: OutputFrame): Promise<boolean> {
    if (this.readerGone) return false;
    if (this.output.push(frame)) return true;
    await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    return !this.readerGone;
  }

  /** Writes to stdin, cut into frames the shim accepts; resolves once handed to the socket. */
  write(data: Buffer | string): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const frames: Buffer[] = [];
    for (let at = 0; at < buf.length; at += MAX_STDIN_PAYLOAD) {
      frames.push(encodeFrame(FrameType.stdin, 0n, buf.subarray(at, at + MAX_STDIN_PAYLOAD)));
    }
    return new Promise((resolve, reject) => {
      if (this.sock.destroyed) return reject(new Error('the shim connection is closed'));
      this.sock.write(Buffer.concat(frames), (e) => (e ? reject(e) : resolve()));
    });
  }

  closeStdin(): void {
    if (!this.sock.destroyed) this.sock.write(encodeFrame(FrameType.closeStdin, 0n));
  }

  resize(height: number, width: number): void {
    if (!this.sock.destroyed) this.sock.write(encodeFrame(FrameType.resize, resizeArg(height, width)));
  }

  /** Detaches: the container goes on; a replay of the log in progress stops. */
  close(): void {
    this.leave();
    this.sock.destroy();
  }

  private leave(): void {
    this.readerGone = true;
    this.wake?.();
  }

  /**
   * Lets the reader go but keeps the connection: output from now on is read and dropped, so the
   * process never blocks on a full pipe, and `exited` still gets the exit code (an exec's only
   * record of it). `output` ends here.
   */
  discardOutput(): void {
    if (this.discarding) return;
    this.discarding = true;
    this.held = null;
    if (!this.output.destroyed && !this.output.readableEnded) this.output.push(null);
    this.sock.resume();
  }

  [Symbol.asyncIterator](): AsyncIterator<OutputFrame> {
    return this.output[Symbol.asyncIterator]();
  }

  private makeStdin(): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.write(chunk).then(() => cb(), cb);
      },
      final: (cb) => {
        this.closeStdin();
        cb();
      },
    });
  }

  private onFrame(frame: Frame): void {
    const stream = streamOf(frame.type);
    if (stream) {
      if (this.discarding || !this.opts[stream] || frame.arg < this.skipBelow) return;
      const out: OutputFrame = { stream, data: Buffer.from(frame.data) };
      if (this.held) this.held.push({ frame: out, offset: frame.arg });
      else if (!this.output.push(out) && !this.output.destroyed) this.sock.pause();
    } else if (frame.type === FrameType.exit) {
      this.exitCode = Number(frame.arg);
    } else if (frame.type === FrameType.hello) {
      this.onHello?.(frame.arg);
    } else if (frame.type === FrameType.started) {
      this.opts.onStarted?.(Number(frame.arg));
    } else if (frame.type === FrameType.error) {
      this.opts.onError?.(frame.data.toString('utf8'));
    }
  }
}
