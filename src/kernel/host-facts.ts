/**
 * Facts about the host that `docker info` reports, read from the system each time they are asked
 * for: the cgroup version (cgroup2 mounted at /sys/fs/cgroup means 2; the v1 or hybrid layout, a
 * tmpfs there, means 1) and IPv4 forwarding in the calling process's network namespace (the
 * daemon's: the sandbox host), as dockerd's pkg/sysinfo reads them.
 *
 * Use: `const f = await readHostFacts()` → `{ cgroupVersion: '1', ipv4Forwarding: true }`.
 * Beware: a sysctl that cannot be read counts as off, as in dockerd.
 */
import { statfs } from 'node:fs/promises';
import { sysctlRead } from './sysctl.js';

/** statfs(2) f_type of a cgroup2 file system (linux/magic.h CGROUP2_SUPER_MAGIC). */
const CGROUP2_SUPER_MAGIC = 0x63677270;

export interface HostFacts {
  cgroupVersion: '1' | '2';
  ipv4Forwarding: boolean;
}

export async function cgroupVersion(mount = '/sys/fs/cgroup'): Promise<'1' | '2'> {
  const s = await statfs(mount).catch(() => undefined);
  return s?.type === CGROUP2_SUPER_MAGIC ? '2' : '1';
}

export async function readHostFacts(): Promise<HostFacts> {
  const [cgroup, forwarding] = await Promise.all([cgroupVersion(), sysctlRead('net/ipv4/ip_forward').catch(() => '0')]);
  return { cgroupVersion: cgroup, ipv4Forwarding: forwarding === '1' };
}
