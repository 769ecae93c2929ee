/**
 * Attach sessions as the API sees them. `LateAttach` serves `docker run`, which attaches before it
 * starts the container: output and stdin are held until the shim exists, then joined to it.
 */
import { PassThrough, Writable } from 'node:stream';
import type { Attachment } from '../../runtime/index.js';
import type { AttachSession } from './container-types.js';

/** Wraps a live runtime attachment. */
export function liveSession(tty: boolean, a: Attachment): AttachSession {
  return {
    tty,
    output: a.output,
    stdin: a.stdin,
    resize: (h, w) => a.resize(h, w),
    close: () => a.close(),
  };
}

/** A session with nothing to say: the container is gone or never ran. */
export function endedSession(tty: boolean): AttachSession {
  const output = new PassThrough({ objectMode: true });
  output.end();
  return { tty, output, stdin: null, resize: () => undefined, close: () => undefined };
}

export class LateAttach implements AttachSession {
  readonly output = new PassThrough({ objectMode: true });
  readonly stdin: Writable | null;
  private target: Attachment | undefined;
  private readonly queued: Buffer[] = [];
  private stdinEnded = false;
  private size: [number, number] | undefined;
  private closed = false;

  constructor(
    readonly tty: boolean,
    readonly wantsStdin: boolean,
  ) {
    this.stdin = wantsStdin
      ? new Writable({
          write: (chunk: Buffer, _enc, cb) => {
            if (this.target?.stdin) this.target.stdin.write(chunk, cb);
            else {
              this.queued.push(chunk);
              cb();
            }
          },
          final: (cb) => {
            this.stdinEnded = true;
            this.target?.stdin?.end();
            cb();
          },
        })
      : null;
  }

  /** Joins the session to the shim once the container exists (before its program runs). */
  connect(a: Attachment): void {
    if (this.closed) {
      a.close();
      return;
    }
    this.target = a;
    a.output.pipe(this.output);
    if (a.stdin) {
      for (const c of this.queued.splice(0)) a.stdin.write(c);
      if (this.stdinEnded) a.stdin.end();
    }
    if (this.size) a.resize(this.size[0], this.size[1]);
  }

  /** The container could not start: end the output so the client stops waiting. */
  fail(): void {
    this.output.end();
  }

  resize(height: number, width: number): void {
    this.size = [height, width];
    this.target?.resize(height, width);
  }

  close(): void {
    this.closed = true;
    this.target?.close();
    if (!this.target) this.output.end();
  }
}
