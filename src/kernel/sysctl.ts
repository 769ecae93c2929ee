/**
 * Sysctls of the calling process's network namespace, written through /proc/sys/net (which follows
 * the namespace of the writer, unlike /sys/class/net: see platform notes).
 *
 * Beware: never call these from a process in the machine's root network namespace; the daemon
 * refuses to start there (cli/redesd.ts), which is what keeps `ip_forward` of the machine at 0.
 */
import { readFile, writeFile } from 'node:fs/promises';

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

/** Writes only when the value differs (saves a write per container start). */
export async function ensureSysctl(key: string, value: string): Promise<void> {
  const cur = await sysctlRead(key).catch(() => undefined);
  if (cur !== value) await sysctlWrite(key, value);
}
