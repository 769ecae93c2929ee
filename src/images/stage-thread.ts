/**
 * Staging a compressed layer blob in a worker thread (stage-worker.ts): hashing, decoding,
 * unpacking and the tar split run beside the main thread, which keeps only the network, so a
 * pull's layers use both cores.
 *
 * Use: `const job = stageInThread(tmpDir, 'gzip')`, `job.write(piece)` for every piece of the blob
 * (false: wait for `job.drained()`), then `job.end()` or `job.abort()`; `await job.result` gives
 * the blob's digest and length and either the staged layer or the error.
 *
 * Beware: pieces are handed over without a copy when a buffer owns its whole memory (Buffer.concat
 * of a batch does), else copied; the buffer is unusable after `write`. Idle workers stay for the
 * next pull (up to POOL) and never keep the daemon alive.
 */
import { Worker } from 'node:worker_threads';
import { RedesError, isErrorCode, type ErrorKind, type SystemError } from '../util/index.js';
import type { StagedLayer } from './stage.js';

export type Codec = 'gzip' | 'zstd' | 'tar';

export type ToWorker = { t: 'start'; tmpDir: string; codec: Codec } | { t: 'data'; buf: ArrayBuffer } | { t: 'end' } | { t: 'abort' };
export type FromWorker =
  | { t: 'ack'; n: number }
  | { t: 'done'; staged: StagedLayer; digest: string; bytes: number }
  | { t: 'done'; error: { kind?: ErrorKind; code?: string; message: string; system?: Pick<SystemError, 'code' | 'syscall' | 'path' | 'dest'> }; digest: string; bytes: number };

export interface StageResult {
  /** `sha256:` of every byte written. */
  digest: string;
  bytes: number;
  staged?: StagedLayer;
  error?: Error;
}

export interface StageJob {
  write(piece: Buffer): boolean;
  drained(): Promise<void>;
  end(): void;
  abort(): void;
  result: Promise<StageResult>;
}

/** Bytes handed over and not yet taken by the decoder before `write` asks the caller to wait. */
const IN_FLIGHT = 4 << 20;
const POOL = 3;
const idle: Worker[] = [];

function takeWorker(): Worker {
  const w = idle.pop() ?? new Worker(new URL('./stage-worker.js', import.meta.url));
  w.ref();
  return w;
}

function giveBack(w: Worker): void {
  w.removeAllListeners('message');
  w.removeAllListeners('error');
  w.removeAllListeners('exit');
  if (idle.length >= POOL) return void w.terminate();
  w.unref();
  idle.push(w);
}

export function stageInThread(tmpDir: string, codec: Codec): StageJob {
  const w = takeWorker();
  let inFlight = 0;
  const waiters: (() => void)[] = [];
  let ended = false;
  const send = (m: ToWorker, transfer: ArrayBuffer[] = []): void => w.postMessage(m, transfer);
  const result = new Promise<StageResult>((resolve) => {
    w.on('message', (m: FromWorker) => {
      if (m.t === 'ack') {
        inFlight -= m.n;
        if (inFlight < IN_FLIGHT) for (const f of waiters.splice(0)) f();
        return;
      }
      giveBack(w);
      for (const f of waiters.splice(0)) f();
      if ('staged' in m) return resolve({ digest: m.digest, bytes: m.bytes, staged: m.staged });
      const e = m.error;
      const error = e.kind && e.code && isErrorCode(e.code) ? new RedesError(e.kind, e.code, e.message) : Object.assign(new Error(e.message), e.system);
      resolve({ digest: m.digest, bytes: m.bytes, error });
    });
    const died = (e: Error): void => {
      void w.terminate();
      for (const f of waiters.splice(0)) f();
      resolve({ digest: '', bytes: 0, error: e });
    };
    w.once('error', died);
    w.once('exit', (code) => died(new Error(`layer worker exited with code ${code}`)));
  });
  send({ t: 'start', tmpDir, codec });
  return {
    result,
    write(piece) {
      if (ended) return true;
      const own = piece.byteOffset === 0 && piece.byteLength === piece.buffer.byteLength && piece.buffer instanceof ArrayBuffer;
      const buf = own ? (piece.buffer as ArrayBuffer) : new Uint8Array(piece).buffer;
      inFlight += piece.length;
      send({ t: 'data', buf }, [buf]);
      return inFlight < IN_FLIGHT;
    },
    drained() {
      return inFlight < IN_FLIGHT || ended ? Promise.resolve() : new Promise((r) => waiters.push(r));
    },
    end() {
      if (ended) return;
      ended = true;
      send({ t: 'end' });
    },
    abort() {
      if (ended) return;
      ended = true;
      send({ t: 'abort' });
    },
  };
}
