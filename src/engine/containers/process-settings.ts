/**
 * Pieces of a container's (or exec's) process settings that Docker derives from the request and the
 * image: the environment (later values win, PATH always set), the user (`uid[:gid]` or names from the
 * image's /etc/passwd and /etc/group), and the initial console size.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidParameter } from '../../util/index.js';

/** `HostConfig.ConsoleSize` [height, width], which `docker run -it` sends before any resize. */
export function consoleSize(v: unknown): { consoleSize?: { height: number; width: number } } {
  if (!Array.isArray(v) || v.length !== 2) return {};
  const [height, width] = v.map(Number) as [number, number];
  return height > 0 && width > 0 ? { consoleSize: { height, width } } : {};
}

export function mergeEnv(base: readonly string[], over: readonly string[]): string[] {
  const m = new Map<string, string>();
  for (const kv of [...base, ...over]) {
    const i = kv.indexOf('=');
    m.set(i < 0 ? kv : kv.slice(0, i), kv);
  }
  if (![...m.keys()].includes('PATH')) m.set('PATH', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  return [...m.values()];
}

/** `uid[:gid]` or a name from the image's /etc/passwd (and group from /etc/group). */
export async function resolveUser(rootfs: string, user: string): Promise<{ uid: number; gid: number }> {
  if (!user) return { uid: 0, gid: 0 };
  const [u = '', g] = user.split(':');
  const lookup = async (file: string, name: string, field: number): Promise<number | undefined> => {
    const text = await readFile(join(rootfs, 'etc', file), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const parts = line.split(':');
      if (parts[0] === name) return Number(parts[field]);
    }
    return undefined;
  };
  let uid = /^\d+$/.test(u) ? Number(u) : await lookup('passwd', u, 2);
  if (uid === undefined) throw invalidParameter('container.user', `unable to find user ${u}: no matching entries in passwd file`);
  let gid = g === undefined ? ((await lookup('passwd', u, 3)) ?? 0) : /^\d+$/.test(g) ? Number(g) : await lookup('group', g, 2);
  if (gid === undefined) throw invalidParameter('container.group', `unable to find group ${g}: no matching entries in group file`);
  if (/^\d+$/.test(u) && g === undefined) gid = (await lookupGidOfUid(rootfs, uid)) ?? 0;
  uid = Number(uid);
  return { uid, gid };
}

async function lookupGidOfUid(rootfs: string, uid: number): Promise<number | undefined> {
  const text = await readFile(join(rootfs, 'etc', 'passwd'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const p = line.split(':');
    if (Number(p[2]) === uid && p[3] !== undefined) return Number(p[3]);
  }
  return undefined;
}
