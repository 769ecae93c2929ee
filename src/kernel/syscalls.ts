/**
 * Named network namespaces and filesystem mounts made by system calls in the netns-socket addon
 * (native/mounts.c) instead of `ip netns add/delete`, `mount` and `umount` processes: container start
 * and removal spawn none of them.
 *
 * Use: `await netnsCreateFile('/run/netns', '/run/netns/x-c-0123')`, `await netnsRemoveFile(path)`,
 * `await mountFs({ source, target, type, options, cwd })`, `await unmountFs(target)`.
 * Errors are Errors whose `code` is the errno's name (`EEXIST`, `EBUSY`...) and whose message names
 * the step and the path.
 *
 * Beware: each call runs on libuv's thread pool; the namespace is made in a thread of its own that
 * ends right after, so no thread of the daemon ever changes namespace (native/mounts.c). `options`
 * go to mount(2) as its data, unparsed: only filesystem options (overlay's lowerdir=...), never
 * flags such as `ro` or `nosuid`, which mount(8) would turn into MS_* bits.
 */
import { createRequire } from 'node:module';

interface Addon {
  netnsAddAsync(dir: string, path: string): Promise<void>;
  netnsDeleteAsync(path: string): Promise<void>;
  mountAsync(source: string, target: string, type: string, options: string, cwd: string): Promise<void>;
  umountAsync(target: string): Promise<void>;
}

let addon: Addon | undefined;
function load(): Addon {
  // dist/src/kernel/syscalls.js → dist/netns-socket.node
  addon ??= createRequire(import.meta.url)('../../netns-socket.node') as Addon;
  return addon;
}

/** What `ip netns add` does: `dir` made a shared mount point, the file `path` created (not there yet) with a new namespace bound onto it. */
export function netnsCreateFile(dir: string, path: string): Promise<void> {
  return load().netnsAddAsync(dir, path);
}

/** What `ip netns delete` does: the bind mount detached (if any) and the file removed; a missing file is fine. */
export function netnsRemoveFile(path: string): Promise<void> {
  return load().netnsDeleteAsync(path);
}

export interface FsMount {
  source: string;
  target: string;
  type: string;
  /** mount(2)'s data: filesystem options only. */
  options: string;
  /** The directory relative paths in `options` are resolved against (default: the daemon's). */
  cwd?: string;
}

export function mountFs(m: FsMount): Promise<void> {
  return load().mountAsync(m.source, m.target, m.type, m.options, m.cwd ?? '');
}

/** Unmounts `target`; a busy mount is detached lazily. Fails when nothing is mounted there. */
export function unmountFs(target: string): Promise<void> {
  return load().umountAsync(target);
}
