/**
 * The worker thread of stage-thread.ts: it gets a compressed layer blob in pieces, hashes it (the
 * blob's digest), decodes it (gzip by node's zlib, zstd by the `zstd` program, or plain tar) and
 * stages it (stage.ts: unpacked, diff id, tar split), then answers with the staged layer or the
 * error, and always with the digest and length of every byte it was given.
 *
 * Use: not imported; `new Worker(new URL('./stage-worker.js', import.meta.url))` (stage-thread.ts).
 * One job at a time: start, data..., then end or abort; each data piece is acknowledged once the
 * decoder took it (the sender's flow control).
 *
 * Beware: after a decoding error the rest of the blob is still hashed, so the caller can report a
 * blob that does not match its digest as such, whatever garbage made the decoder fail.
 */
import { createHash, type Hash } from 'node:crypto';
import { PassThrough, type Transform } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { CommandError, pipeThrough, run } from '../kernel/index.js';
import { invalidParameter, isSystemError, RedesError } from '../util/index.js';
import { stageLayer, type StagedLayer } from './stage.js';
import type { FromWorker, ToWorker } from './stage-thread.js';

const DECODE_CHUNK = 1 << 20;

interface Job {
  hash: Hash;
  bytes: number;
  sink: Transform;
  decoding: boolean;
  staging: Promise<StagedLayer>;
}

let job: Job | undefined;
let queue: Promise<void> = Promise.resolve();
const port = parentPort;
if (!port) throw new Error('stage-worker.js runs only as a worker thread');
const post = (m: FromWorker): void => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  queue = queue.then(() => handle(m)).catch((e: unknown) => post({ t: 'done', error: wireError(e), digest: '', bytes: 0 }));
});

async function handle(m: ToWorker): Promise<void> {
  if (m.t === 'start') {
    const sink: Transform = m.codec === 'gzip' ? createGunzip({ chunkSize: DECODE_CHUNK }) : new PassThrough({ highWaterMark: DECODE_CHUNK });
    const j: Job = { hash: createHash('sha256'), bytes: 0, sink, decoding: true, staging: stageLayer(m.tmpDir, m.codec === 'zstd' ? zstdDecode(sink) : sink) };
    // Staging that fails (a full disk: ENOSPC) stops reading the decoder: the decoder is closed so
    // that the pieces still coming are only hashed, instead of waiting forever for it to drain
    // (which stalled the pull: no ack, the sender paused for good).
    j.staging.catch(() => {
      j.decoding = false;
      sink.destroy();
    });
    sink.once('error', () => (j.decoding = false));
    job = j;
    return;
  }
  const j = job;
  if (!j) return;
  if (m.t === 'data') {
    const piece = Buffer.from(m.buf);
    j.hash.update(piece);
    j.bytes += piece.length;
    if (j.decoding && !j.sink.write(piece)) await drainOrGone(j);
    post({ t: 'ack', n: piece.length });
    return;
  }
  if (m.t === 'abort') {
    j.decoding = false;
    j.sink.destroy(new Error('pull cancelled'));
  } else if (j.decoding) j.sink.end();
  job = undefined;
  const digest = `sha256:${j.hash.digest('hex')}`;
  try {
    post({ t: 'done', staged: await j.staging, digest, bytes: j.bytes });
  } catch (e) {
    post({ t: 'done', error: wireError(e), digest, bytes: j.bytes });
  }
}

/** Wait until the decoder takes more, or has failed. */
function drainOrGone(j: Job): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      j.sink.off('drain', done);
      j.sink.off('close', done);
      resolve();
    };
    j.sink.on('drain', done);
    j.sink.on('close', done);
  });
}

function wireError(e: unknown): FromWorkerError {
  if (e instanceof RedesError) return { kind: e.kind, code: e.code, message: e.message };
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) return { kind: 'invalid-parameter', code: 'image.archive', message: `invalid gzip data: ${(e as Error).message}` };
  // A failed file operation (a full disk) crosses whole, so that the pull reports it in dockerd's words.
  if (isSystemError(e)) return { message: e.message, system: { code: e.code, syscall: e.syscall, ...(e.path === undefined ? {} : { path: e.path }), ...(e.dest === undefined ? {} : { dest: e.dest }) } };
  return { message: e instanceof Error ? e.message : String(e) };
}
type FromWorkerError = Extract<FromWorker, { error: unknown }>['error'];

let nativeZstd: Promise<boolean> | undefined;

/** zstd-decoded `input`: by the zstd program when there is one, else by fzstd (about 7 times the CPU). */
async function* zstdDecode(input: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  nativeZstd ??= run(['zstd', '--version']).then(
    () => true,
    () => false,
  );
  try {
    if (await nativeZstd) yield* pipeThrough(['zstd', '-d', '-c', '-q'], input);
    else yield* fzstdDecode(input);
  } catch (e) {
    if (e instanceof CommandError) throw invalidParameter('image.archive', `invalid zstd data: ${e.result.stderr.trim()}`);
    throw e;
  }
}

async function* fzstdDecode(input: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  const out: Buffer[] = [];
  const d = new Decompress((chunk) => out.push(Buffer.from(chunk)));
  for await (const chunk of input) {
    d.push(new Uint8Array(chunk));
    while (out.length) yield out.shift() as Buffer;
  }
  d.push(new Uint8Array(0), true);
  while (out.length) yield out.shift() as Buffer;
}

