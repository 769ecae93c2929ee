/**
 * Named network namespaces (the /run/netns files that `ip netns` manages, made and removed here by
 * system calls, syscalls.ts) and the argv to run a program inside one.
 *
 * Use: `netnsAdd('x')`, `run(nsenterArgv('x', ['ip', 'link']))`, `netnsDelete('x')`.
 *
 * Beware:
 * - /run/netns is shared by the whole machine: callers prefix every name with their instance.
 * - Never run `ip netns add` inside `ip -n X` or an `ip -batch`: it leaves a broken namespace file
 *   (netnsAdd never does: the namespace is made in a thread of its own, see native/mounts.c).
 * - Enter with `nsenter --net=...`, not `ip netns exec`, which remounts /sys and hides the cgroup
 *   mounts that runc needs. In such a process /sys/class/net still shows the root namespace.
 */
import { readlinkSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { walkProcesses } from './process.js';
import { netnsCreateFile, netnsRemoveFile } from './syscalls.js';

export const NETNS_DIR = '/run/netns';

/** A namespace name is one path component `ip netns` accepts. */
const NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}$/;

function checkName(name: string): void {
  if (!NAME.test(name) || name === '.' || name === '..') throw new Error(`invalid netns name "${name}"`);
}

export function netnsPath(name: string): string {
  checkName(name);
  return `${NETNS_DIR}/${name}`;
}

/** The argv that runs `argv` inside namespace `name` (network namespace only; mounts stay ours). */
export function nsenterArgv(name: string, argv: readonly string[]): string[] {
  return ['nsenter', `--net=${netnsPath(name)}`, '--', ...argv];
}

/** Names in /run/netns, sorted. A missing directory means none. */
export async function netnsList(): Promise<string[]> {
  try {
    return (await readdir(NETNS_DIR)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function netnsExists(name: string): Promise<boolean> {
  return (await netnsList()).includes(name);
}

/** Create namespace `name` (as `ip netns add`, without its process); fails if it exists. */
export async function netnsAdd(name: string): Promise<void> {
  await netnsCreateFile(NETNS_DIR, netnsPath(name)).catch((e: unknown) => {
    throw new Error(`add netns "${name}" failed: ${(e as Error).message}`, { cause: e });
  });
}

/**
 * Delete namespace `name`, as `ip netns delete` (detach the bind mount, unlink the file), which also
 * clears a broken file left by an interrupted add. A missing one is not an error; a file that stays
 * behind is.
 */
export async function netnsDelete(name: string): Promise<void> {
  await netnsRemoveFile(netnsPath(name)).catch((e: unknown) => {
    throw new Error(`delete netns "${name}" failed: ${(e as Error).message}`, { cause: e });
  });
}

/**
 * Deletes many namespaces, as netnsDelete does for one, eight at a time. Missing ones are fine;
 * throws naming those whose file stays behind.
 */
export async function netnsDeleteMany(names: readonly string[]): Promise<void> {
  const paths = names.map(netnsPath);
  for (let i = 0; i < paths.length; i += 8) await Promise.all(paths.slice(i, i + 8).map((p) => netnsRemoveFile(p).catch(() => undefined)));
  const left = new Set(await netnsList());
  const stuck = names.filter((n) => left.has(n));
  if (stuck.length) throw new Error(`delete netns failed: ${stuck.join(', ')} still present`);
}

/** Identity of a namespace file: device and inode of the nsfs object it refers to. */
export interface NsId {
  dev: number;
  ino: number;
}

async function nsId(path: string): Promise<NsId | undefined> {
  try {
    const s = await stat(path);
    return { dev: s.dev, ino: s.ino };
  } catch {
    return undefined;
  }
}

const sameNs = (a: NsId | undefined, b: NsId | undefined): boolean =>
  a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;

/**
 * The identity of named namespace `name`, or undefined if missing or not a live namespace (a
 * broken file left by an interrupted add is a plain file on the /run tmpfs, not nsfs).
 */
export async function netnsId(name: string): Promise<NsId | undefined> {
  const id = await nsId(netnsPath(name));
  if (!id) return undefined;
  const self = await nsId('/proc/self/ns/net');
  // Every nsfs inode lives on the one nsfs device; a tmpfs file does not.
  return self && self.dev === id.dev ? id : undefined;
}

/**
 * True when this process's network namespace is one of the named namespaces (a sandbox host, say).
 * One synchronous stat per name: /run/netns holds every container's namespace on the machine (a
 * few thousand), and an awaited stat each costs a thread-pool round trip, seconds on a loaded machine.
 */
export async function selfNetnsNamed(): Promise<boolean> {
  const self = await nsId('/proc/self/ns/net');
  if (!self) return false;
  for (const name of await netnsList()) {
    if (!NAME.test(name)) continue;
    const s = statSync(`${NETNS_DIR}/${name}`, { throwIfNoEntry: false });
    if (s && s.dev === self.dev && s.ino === self.ino) return true;
  }
  return false;
}

/**
 * The inode of the machine's initial network namespace on Linux >= 6.18 (PROC_NET_INIT_INO); older
 * kernels number it like any other namespace.
 */
export const INIT_NETNS_INO = 0xefff_fff9;

/**
 * True when this process runs in the machine's root network namespace (the one of PID 1). Where
 * /proc/1/ns is closed to us (PID 1 not dumpable, as on this project's machines), the answer comes
 * from the fixed inode of the initial namespace, which only kernels >= 6.18 have.
 */
export async function isRootNetns(): Promise<boolean> {
  const self = await nsId('/proc/self/ns/net');
  if (!self) throw new Error('read /proc/self/ns/net failed');
  const init = await nsId('/proc/1/ns/net');
  return init ? sameNs(self, init) : self.ino === INIT_NETNS_INO;
}

/** True when process `pid` lives in named namespace `name`. */
export async function pidInNetns(pid: number, name: string): Promise<boolean> {
  return sameNs(await nsId(`/proc/${pid}/ns/net`), await netnsId(name));
}

/**
 * Every process whose network namespace is one of the named namespaces `names`: one walk of /proc
 * for all of them (a walk per namespace grows with namespaces × processes).
 */
export async function pidsInNetnsAll(names: readonly string[]): Promise<number[]> {
  const want = new Set<string>();
  for (const n of names) {
    const id = await netnsId(n);
    if (id) want.add(`net:[${id.ino}]`);
  }
  if (want.size === 0) return [];
  return pidsWithNetnsLink(want);
}

/** Pids whose /proc/PID/ns/net link reads as one of `links` ("net:[ino]": readlink is cheaper than stat). */
async function pidsWithNetnsLink(links: ReadonlySet<string>): Promise<number[]> {
  const pids: number[] = [];
  await walkProcesses((pid) => {
    let link = '';
    try {
      link = readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      // gone, or a kernel thread
    }
    if (links.has(link)) pids.push(pid);
  });
  return pids;
}

/**
 * Every process whose network namespace is named namespace `name`: the processes that keep a
 * sandbox's namespace busy. Races with exits are harmless (a vanished pid is skipped).
 */
export async function pidsInNetns(name: string): Promise<number[]> {
  const target = await netnsId(name);
  if (!target) return [];
  return pidsWithNetnsLink(new Set([`net:[${target.ino}]`]));
}
