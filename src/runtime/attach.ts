/**
 * `docker attach` / the attach half of `docker run`: a connection to the container's shim that
 * delivers its output as it is written and carries stdin and resize the other way.
 *
 * Use: before `startCreated` (nothing printed is missed), or any time later; with `logs: true` the
 * output logged so far comes first, then the live output, with nothing lost or repeated between
 * the two (live frames carry their log offset). Several attachments may be open at once.
 * Beware: for a container that is not running the attachment ends at once (after the replay). A
 * reader that leaves (output destroyed, or `close`) during the replay ends it and its log file.
 */
import { connect } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import { LogFile } from './logs.js';
import { streamOf } from './shim-protocol.js';
import { ShimStream } from './shim-stream.js';
import { connectPath, StateFile } from './state-files.js';

export interface AttachOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** Replay what was logged before the live output. */
  logs?: boolean;
  /** Deliver live output (default true). */
  stream?: boolean;
}

export type Attachment = ShimStream;

/** Resolves with the connected socket, or null when no shim listens. */
function connectShim(stateDir: string): Promise<Duplex | null> {
  return new Promise((resolve) => {
    connectPath(stateDir, StateFile.socket, (path, closeDir) => {
      const sock = connect(path);
      sock.once('connect', () => (closeDir(), resolve(sock)));
      sock.once('error', () => (closeDir(), resolve(null)));
      return sock;
    });
  });
}

export async function attach(stateDir: string, opts: AttachOptions = {}): Promise<Attachment> {
  const live = opts.stream !== false ? await connectShim(stateDir) : null;
  const sock = live ?? new PassThrough();
  const shim = new ShimStream(sock, {
    stdout: opts.stdout !== false,
    stderr: opts.stderr !== false,
    stdin: opts.stdin === true && live !== null,
  });
  if (!live) sock.destroy();
  if (opts.logs) shim.hold();
  // Once the shim has accepted us (hello), output can no longer slip past this attachment.
  const from = live ? await shim.hello : null;
  if (!opts.logs) return shim;
  void replay(stateDir, shim, opts, from ?? undefined).finally(() => shim.release());
  return shim;
}

/** Pushes the logged frames that precede `until` (all of them when the shim is gone). */
async function replay(stateDir: string, shim: ShimStream, opts: AttachOptions, until?: bigint): Promise<void> {
  const file = await LogFile.open(stateDir);
  try {
    read: for (let frames = await file.read(); frames.length > 0; frames = await file.read()) {
      for (const frame of frames) {
        if (until !== undefined && BigInt(frame.offset) >= until) break read;
        const stream = streamOf(frame.type);
        if (stream && (stream === 'stdout' ? opts.stdout !== false : opts.stderr !== false)) {
          if (!(await shim.pushReplayed({ stream, data: Buffer.from(frame.data) }))) break read; // the reader left
        }
      }
    }
    shim.skipBelow = until ?? 0n;
  } finally {
    await file.close();
  }
}
