/**
 * Host device nodes for `--device`: a path on the host becomes an OCI device (type, major, minor,
 * mode) created at the path asked for inside the container; a directory gives every node in it.
 *
 * Use: `await hostDevices('/dev/net/tun', '/dev/net/tun', 'rwm')`.
 * Beware: errors use Docker's wording ("error gathering device information while adding custom
 * device ..."), which the CLI shows as is.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidParameter } from '../util/index.js';
import type { OciDevice } from './oci-spec.js';

/** Linux's dev_t encoding (glibc gnu_dev_major/minor). */
export function splitDevT(rdev: number): { major: number; minor: number } {
  const r = BigInt(rdev);
  const major = Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
  const minor = Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
  return { major, minor };
}

/** The device nodes at `hostPath` (a node, or a directory of nodes), mapped under `containerPath`. */
export async function hostDevices(hostPath: string, containerPath: string, access: string): Promise<OciDevice[]> {
  if (!/^[rwm]{1,3}$/.test(access)) throw invalidParameter('device.access', `invalid device mode: ${access}`);
  let st;
  try {
    st = await stat(hostPath);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message;
    throw invalidParameter('device.missing', `error gathering device information while adding custom device "${hostPath}": ${why}`);
  }
  if (st.isDirectory()) {
    const out: OciDevice[] = [];
    for (const name of await readdir(hostPath)) {
      const s = await stat(join(hostPath, name)).catch(() => undefined);
      if (s && (s.isCharacterDevice() || s.isBlockDevice())) out.push(...(await hostDevices(join(hostPath, name), join(containerPath, name), access)));
    }
    return out;
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) {
    throw invalidParameter('device.not_device', `error gathering device information while adding custom device "${hostPath}": not a device node`);
  }
  return [{ path: containerPath, type: st.isCharacterDevice() ? 'c' : 'b', ...splitDevT(st.rdev), fileMode: st.mode & 0o7777, uid: 0, gid: 0, access }];
}
