/**
 * What `runc start` does for a created container, without starting runc (a Go program: 10-20 ms on
 * a quiet machine here, 100-300 ms under load, on every container start). runc's created init waits
 * in opening `<root>/<id>/exec.fifo` for writing; once a reader opens the fifo, the init writes one
 * byte and execs the container's program, which closes its end (close-on-exec). runc's start reads
 * to the end of the fifo and removes it: a live init without the fifo is what runc calls "running".
 * (runc 1.1 libcontainer/container_linux.go: exec, handleFifoResult, readFromExecFifo.)
 *
 * Use: `if (!(await startThroughFifo(root, id))) <run runc start>`: false means "ask runc" (no fifo,
 * no state file, an init already gone): runc then gives its own answer and errors.
 *
 * Beware: the fifo is opened non-blocking (a blocking open would hold a thread-pool thread forever
 * if the init died), and our own write end is held until the init's byte arrives, so that a reader
 * that came first never takes "no writer yet" for the end of the stream. The init is watched as
 * runc watches it (every 100 ms): once it is gone, the end of the stream says whether it wrote its
 * byte first (started, maybe exited already) or not (runc is asked).
 */
import { constants, closeSync, fstatSync, openSync, readFileSync, readSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { pidStat } from '../kernel/index.js';

const WATCH_MS = 100;
const LIMIT_MS = 10_000;

/** The init's pid and start time from runc's state file, when it names that live process. */
function liveInit(root: string, id: string): { pid: number; startTime: number } | undefined {
  try {
    const st = JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')) as { init_process_pid?: number; init_process_start?: number };
    const pid = st.init_process_pid;
    if (!pid || !st.init_process_start) return undefined;
    const now = pidStat(pid);
    return now && now.startTime === st.init_process_start && now.state !== 'Z' ? { pid, startTime: now.startTime } : undefined;
  } catch {
    return undefined;
  }
}

function openFifo(path: string, flags: number): number | undefined {
  try {
    const fd = openSync(path, flags | constants.O_NONBLOCK); // libuv adds O_CLOEXEC
    if (fstatSync(fd).isFIFO()) return fd;
    closeSync(fd);
  } catch {
    // missing: started already, or never created
  }
  return undefined;
}

/** True when a byte waits in the fifo behind the non-blocking read end `fd`. */
function heldByte(fd: number): boolean {
  try {
    return readSync(fd, Buffer.alloc(1), 0, 1, null) === 1;
  } catch {
    return false; // EAGAIN: nothing written yet
  }
}

/**
 * Lets the created container `id` of runc root `root` run its program; resolves true once the init
 * has exec'd it (the fifo removed), false when runc should be asked instead. Throws after 10 s.
 */
export async function startThroughFifo(root: string, id: string, seam: { afterReader?(): void } = {}): Promise<boolean> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id)) return false;
  const init = liveInit(root, id);
  if (!init) return false;
  const path = join(root, id, 'exec.fifo');
  const rfd = openFifo(path, constants.O_RDONLY);
  if (rfd === undefined) return false;
  seam.afterReader?.(); // tests: what may happen before the next open
  let wfd = openFifo(path, constants.O_WRONLY);
  if (wfd === undefined) {
    // Our read end let the init through at once: it wrote its byte, exec'd a program that exited,
    // and the shim had runc delete the container (fifo and all) before this second open. The byte
    // is still in the pipe our read end holds; without it, runc is asked.
    const started = heldByte(rfd);
    closeSync(rfd);
    return started;
  }
  const closeOwnEnd = (): void => {
    if (wfd === undefined) return;
    closeSync(wfd);
    wfd = undefined;
  };
  const fifo = new net.Socket({ fd: rfd, readable: true, writable: false });
  let got = 0;
  try {
    const ended = await new Promise<boolean>((resolve, reject) => {
      const watch = setInterval(() => {
        const now = pidStat(init.pid);
        // The init (or the program it became) is gone. Its byte may already sit in the fifo unread:
        // a busy event loop runs this timer before it polls the fifo, and a program that exits at
        // once (`cat`) is dead by then. So no verdict here: dropping our own write end leaves no
        // writer, and the stream's end, after any byte, tells whether the init got past the fifo.
        if (!now || now.state === 'Z' || now.startTime !== init.startTime) closeOwnEnd();
      }, WATCH_MS);
      const limit = setTimeout(() => finish(new Error(`start container ${id}: the init did not take the start within ${LIMIT_MS} ms`)), LIMIT_MS);
      const finish = (r: boolean | Error): void => {
        clearInterval(watch);
        clearTimeout(limit);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      fifo.on('data', (b: Buffer) => {
        got += b.length;
        // The init's byte came: from now on the end of the stream is its exec (or its death).
        closeOwnEnd();
      });
      fifo.once('end', () => finish(got > 0));
      fifo.once('error', (e) => finish(e));
    });
    if (!ended) return false;
  } finally {
    closeOwnEnd();
    fifo.destroy();
  }
  try {
    unlinkSync(path);
  } catch {
    // A program that exits at once is reaped, and its state removed, by the shim meanwhile.
  }
  return true;
}
