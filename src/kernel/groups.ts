/**
 * Unix groups for the API socket: the id of a group by name, created as a system group with
 * `groupadd --system` when it does not exist yet (as dockerd's packages create `docker`).
 * Use: `const gid = await ensureSystemGroup('docker')`.
 * Beware: the group database is the machine's (/etc/group), shared by every sandbox; a group made
 * here stays after the daemon ends, like the one Docker's packages install.
 */
import { readFile } from 'node:fs/promises';
import { run } from './run.js';

/** The gid of `name` in /etc/group, or undefined. */
export async function groupId(name: string): Promise<number | undefined> {
  const text = await readFile('/etc/group', 'utf8');
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

export async function ensureSystemGroup(name: string): Promise<number> {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) throw new Error(`invalid group name ${JSON.stringify(name)}`);
  const known = await groupId(name);
  if (known !== undefined) return known;
  try {
    await run(['groupadd', '--system', name], { timeoutMs: 10_000 });
  } catch (e) {
    // Another daemon may have created it between the read and groupadd (exit code 9: name in use).
    if ((await groupId(name)) === undefined) throw e;
  }
  const gid = await groupId(name);
  if (gid === undefined) throw new Error(`groupadd --system ${name} succeeded but the group is not in /etc/group`);
  return gid;
}
