/**
 * The template mount namespace every `runc create` starts from (shim/redes-shim.c, "Private mount
 * namespace"): a copy of the machine's namespace, made once at daemon start, with every mount a
 * slave and the detached directories (the containers directory, /run/netns) unmounted. No
 * container's mount ever reaches it (the containers self-bind is private, /run/netns is gone
 * there), so copying it costs the same at the 1000th container as at the first, where copying the
 * machine's namespace and detaching its containers grows with every one of them.
 *
 * Use: `const t = await openMountTemplate(detachDirs)` at daemon start; pass `t.fd` to each create
 * (the shim's --mount-template-fd) while `t.alive()`; `t.root` shows the machine's files as the
 * template sees them (private-mounts.ts compares the two views); `t.close()` at daemon stop.
 * Beware: the holder (`redes-shim mount-template`) lives as long as the template is open: its
 * /proc/<pid>/root is the template's view. It exits when its stdin closes, so also when the daemon
 * dies; the namespace then goes with the last fd.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { shimBinary } from './shim-binary.js';

export interface MountTemplate {
  /** An fd of the template namespace (close-on-exec here; the shim gets it as an inherited fd). */
  readonly fd: number;
  /** The machine's root as the template sees it: `/proc/<holder>/root`. */
  readonly root: string;
  /** False once the holder is gone (killed by someone): its view cannot be read any more. */
  alive(): boolean;
  close(): void;
}

const START_TIMEOUT_MS = 10_000;

/** Starts the holder, waits for its "ok", opens its namespace. Rejects with the holder's error. */
export function openMountTemplate(detach: readonly string[]): Promise<MountTemplate> {
  const args = ['mount-template', ...detach.flatMap((d) => ['--detach-mount', d])];
  const holder = spawn(shimBinary(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let exited = false;
  holder.once('exit', () => (exited = true));
  return new Promise<MountTemplate>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`mount template: no answer in ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      holder.kill('SIGKILL');
      reject(e);
    };
    holder.on('error', fail);
    holder.stdin.on('error', () => undefined); // a holder that failed has closed its stdin
    holder.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    holder.once('close', (code) => fail(new Error(`mount template: ${err.trim() || `holder exited with ${code}`}`)));
    holder.stdout.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      if (!out.includes('ok\n')) return;
      clearTimeout(timer);
      holder.removeAllListeners('close');
      try {
        const fd = openSync(`/proc/${holder.pid}/ns/mnt`, 'r');
        // Its own namespace, not ours: a holder that died in between would let the pid show another.
        if (fstatSync(fd).ino === statSync('/proc/self/ns/mnt').ino) {
          closeSync(fd);
          throw new Error('mount template: the holder shows our own mount namespace');
        }
        let open = true;
        resolve({
          fd,
          root: `/proc/${holder.pid}/root`,
          alive: () => open && !exited,
          close: () => {
            if (!open) return;
            open = false;
            holder.stdin.end();
            closeSync(fd);
          },
        });
      } catch (e) {
        fail(e as Error);
      }
    });
  });
}
