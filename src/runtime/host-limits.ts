/**
 * What the daemon itself may hand to a container: its capability bounding set and its open-files
 * limit. runc cannot grant a capability the daemon lacks (capset fails), nor raise RLIMIT_NOFILE
 * above the daemon's hard limit without CAP_SYS_RESOURCE, so "all capabilities" (privileged,
 * --cap-add ALL) means all the daemon has, as in Docker. Also the kernel's confinement: seccomp, and
 * AppArmor with the daemon's default profile (apparmor.ts). Read once at start, pass to buildOciSpec.
 */
import { readFileSync } from 'node:fs';
import { ALL_CAPABILITIES } from './oci-defaults.js';
import { appArmorDefaultName, appArmorEnabled } from './apparmor.js';

export interface HostLimits {
  /** CAP_ names in the daemon's bounding set. */
  capabilities: string[];
  /** The daemon's RLIMIT_NOFILE. */
  nofile: { soft: number; hard: number };
  /** The kernel filters syscalls (a `Seccomp:` line in /proc/self/status). */
  seccomp?: boolean;
  /** The daemon's AppArmor profile for containers, when the kernel has AppArmor. */
  apparmorDefault?: string;
}

/** `docker info`'s SecurityOptions: what is active on this host. */
export function securityOptionsInfo(host: HostLimits): string[] {
  return [...(host.apparmorDefault ? ['name=apparmor'] : []), ...(host.seccomp ? ['name=seccomp,profile=builtin'] : [])];
}

/** `prefix`: the daemon's instance prefix, which names its AppArmor profile. */
export function readHostLimits(prefix = 'redes'): HostLimits {
  const status = readFileSync('/proc/self/status', 'utf8');
  const bnd = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0'}`);
  const capabilities = ALL_CAPABILITIES.filter((_, bit) => (bnd >> BigInt(bit)) & 1n);
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const num = (s: string | undefined): number => (s === undefined || s === 'unlimited' ? 1_048_576 : Number(s));
  return {
    capabilities,
    nofile: { soft: num(m?.[1]), hard: num(m?.[2]) },
    seccomp: /^Seccomp:/m.test(status),
    ...(appArmorEnabled() ? { apparmorDefault: appArmorDefaultName(prefix) } : {}),
  };
}
