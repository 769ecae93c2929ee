/**
 * Sysctls of the calling process's network namespace, written through /proc/sys/net (which follows
 * the namespace of the writer, unlike /sys/class/net: see platform notes); `sysctlWriteIn` writes
 * one of another namespace.
 *
 * Beware: never call these from a process in the machine's root network namespace; the daemon
 * refuses to start there (cli/redesd.ts), which is what keeps `ip_forward` of the machine at 0.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { nsenterArgv } from './netns.js';
import { run } from './run.js';

const NAME = /^[a-zA-Z0-9_.-]+$/;

function path(key: string): string {
  const parts = key.split('/');
  if (!parts.every((p) => NAME.test(p))) throw new Error(`sysctl: bad key ${JSON.stringify(key)}`);
  return `/proc/sys/${key}`;
}

export async function sysctlWrite(key: string, value: string): Promise<void> {
  await writeFile(path(key), value);
}

export async function sysctlRead(key: string): Promise<string> {
  return (await readFile(path(key), 'utf8')).trim();
}

/**
 * Writes a sysctl of network namespace `netns` (a container's): `tee` entered with nsenter, the value
 * on its stdin, so neither reaches a command line as text to parse.
 */
export async function sysctlWriteIn(netns: string, key: string, value: string): Promise<void> {
  if (!key.startsWith('net/')) throw new Error(`sysctl: ${JSON.stringify(key)} is not a network namespace sysctl`);
  await run(nsenterArgv(netns, ['tee', path(key)]), { input: value });
}

/** Writes only when the value differs (saves a write per container start). */
export async function ensureSysctl(key: string, value: string): Promise<void> {
  const cur = await sysctlRead(key).catch(() => undefined);
  if (cur !== value) await sysctlWrite(key, value);
}
