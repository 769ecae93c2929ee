/**
 * A directory bound onto itself ("self-bind"), so that one lazy unmount of it takes every mount
 * below it along: the containers directory is made one at daemon start, and each container's
 * `runc create` detaches it (and /run/netns, which `ip netns` makes a self-bind) in a private mount
 * namespace of its own (runtime/shim/redes-shim.c), which then holds only that container's mounts.
 *
 * Use: `await ensureSelfBind(dir)` at daemon start (true: `dir` is a self-bind now, possibly one a
 * crashed daemon left, never stacked twice); `await releaseSelfBind(dir)` at daemon stop;
 * `await isSelfBind(dir)` for a directory made by someone else (/run/netns).
 * Beware: only a self-bind may be detached that way: what lies beneath it is the same directory,
 * so the files stay where they were. A mount of another filesystem (or of another directory) there
 * would leave the directory empty beneath, so `selfBindState` tells the two apart. The bind is made
 * private: mounts below it (every rootfs) then propagate to no other mount namespace of the machine,
 * nor onto the directory beneath it.
 */
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { parseMountEntries, type MountEntry } from './mounts.js';
import { run } from './run.js';

const strictlyUnder = (p: string, dir: string): boolean => p.startsWith(dir === '/' ? '/' : `${dir}/`) && p !== dir;

/**
 * What is mounted at `dir` (absolute, no symlinks): nothing; a self-bind (the top mount there shows
 * the same directory of the same filesystem as its parent mount does); another mount; and whether
 * any mount lies below `dir`.
 */
export function selfBindState(entries: readonly MountEntry[], dir: string): { at: 'none' | 'self-bind' | 'other'; below: boolean } {
  const below = entries.some((e) => strictlyUnder(e.mountPoint, dir));
  const top = entries.filter((e) => e.mountPoint === dir).at(-1);
  if (!top) return { at: 'none', below };
  const parent = entries.find((e) => e.id === top.parent);
  if (!parent || parent.dev !== top.dev) return { at: 'other', below };
  const rel = posix.relative(parent.mountPoint, dir);
  const seen = posix.join(parent.root, rel);
  return { at: seen === top.root ? 'self-bind' : 'other', below };
}

async function state(dir: string): Promise<ReturnType<typeof selfBindState>> {
  return selfBindState(parseMountEntries(await readFile('/proc/self/mountinfo', 'utf8')), dir);
}

export async function isSelfBind(dir: string): Promise<boolean> {
  return (await state(dir)).at === 'self-bind';
}

/**
 * Makes `dir` a private self-bind unless it is one already (a daemon restarted after a crash).
 * False, changing nothing, when mounts already lie below it without one: a bind would hide them.
 */
export async function ensureSelfBind(dir: string): Promise<boolean> {
  const s = await state(dir);
  if (s.at === 'self-bind') return true;
  if (s.below) return false;
  await run(['mount', '--bind', '--', dir, dir]);
  await run(['mount', '--make-private', '--', dir]);
  return true;
}

/**
 * Unmounts the self-bind of `dir` when nothing is mounted below it any more. Containers left
 * running (they outlive the daemon) keep their rootfs mounts there: the bind stays for the next
 * daemon, and a sandbox teardown unmounts everything below the data root.
 */
export async function releaseSelfBind(dir: string): Promise<boolean> {
  const s = await state(dir);
  if (s.at !== 'self-bind' || s.below) return false;
  await run(['umount', '--', dir]);
  return true;
}
