/**
 * AppArmor for containers, as Docker's `docker-default`: one profile per daemon, `<prefix>-default`,
 * rendered from a template and loaded with `apparmor_parser` when the kernel has AppArmor
 * (/sys/module/apparmor/parameters/enabled is `Y`); every container without `--security-opt
 * apparmor=...` runs under it (privileged ones unconfined), and the spec names it in
 * `process.apparmorProfile`. What it says: networking, capabilities and files as usual, but no
 * mounts, no writes to /proc outside a process's own entries and /proc/sys/kernel/shm*, no
 * sysrq-trigger or kcore, no writes to /sys outside /sys/fs/cgroup, no access to /sys/firmware,
 * /sys/devices/virtual/powercap or /sys/kernel/security; signals only from the host, runc and the
 * profile's own processes; ptrace only among the profile's own processes.
 *
 * Use: `appArmorEnabled()`; `renderAppArmorProfile(name)`; `ensureAppArmorProfile(name)` at daemon start.
 *
 * Beware: a loaded profile outlives the daemon (as docker-default does); `apparmor_parser -R` removes it.
 * On a kernel without AppArmor nothing is loaded and containers run unconfined, as with Docker.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../kernel/index.js';

const ENABLED = '/sys/module/apparmor/parameters/enabled';

export function appArmorEnabled(): boolean {
  try {
    return readFileSync(ENABLED, 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}

/** The daemon's default profile name: `<prefix>-default`. */
export const appArmorDefaultName = (prefix: string): string => `${prefix}-default`;

/** The profile text; `tunables`/`abstractions` are included when the host's apparmor has them. */
export function renderAppArmorProfile(name: string, opts: { root?: string; daemonProfile?: string } = {}): string {
  const root = opts.root ?? '/etc/apparmor.d';
  const has = (f: string): boolean => existsSync(join(root, f));
  const out: string[] = [];
  out.push(has('tunables/global') ? '#include <tunables/global>' : '@{PROC}=/proc/', '');
  out.push(`profile ${name} flags=(attach_disconnected,mediate_deleted) {`);
  if (has('abstractions/base')) out.push('  #include <abstractions/base>');
  out.push(
    '  network,',
    '  capability,',
    '  file,',
    '  umount,',
    // Who may signal the container: the host (unconfined), the runtimes, the daemon, and itself.
    '  signal (receive) peer=unconfined,',
    '  signal (receive) peer=runc,',
    '  signal (receive) peer=crun,',
    `  signal (receive) peer=${opts.daemonProfile ?? 'unconfined'},`,
    `  signal (send,receive) peer=${name},`,
    // /proc: files right under it, and everything but /proc/<pid>/** and /proc/sys/kernel/shm*.
    '  deny @{PROC}/* w,',
    '  deny @{PROC}/{[^1-9],[^1-9][^0-9],[^1-9s][^0-9y][^0-9s],[^1-9][^0-9][^0-9][^0-9/]*}/** w,',
    '  deny @{PROC}/sys/[^k]** w,',
    '  deny @{PROC}/sys/kernel/{?,??,[^s][^h][^m]**} w,',
    '  deny @{PROC}/sysrq-trigger rwklx,',
    '  deny @{PROC}/kcore rwklx,',
    '  deny mount,',
    // /sys: nothing writable outside /sys/fs/cgroup; firmware, powercap and LSM files not even readable.
    '  deny /sys/[^f]*/** wklx,',
    '  deny /sys/f[^s]*/** wklx,',
    '  deny /sys/fs/[^c]*/** wklx,',
    '  deny /sys/fs/c[^g]*/** wklx,',
    '  deny /sys/fs/cg[^r]*/** wklx,',
    '  deny /sys/firmware/** rwklx,',
    '  deny /sys/devices/virtual/powercap/** rwklx,',
    '  deny /sys/kernel/security/** rwklx,',
    `  ptrace (trace,read,tracedby,readby) peer=${name},`,
    '}',
  );
  return out.join('\n') + '\n';
}

/** Compiles the profile; `load` replaces it in the kernel (-r), otherwise it is only checked (-Q). */
export async function compileAppArmorProfile(name: string, load: boolean): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'redes-apparmor-'));
  try {
    const file = join(dir, name);
    await writeFile(file, renderAppArmorProfile(name));
    // -K: no cache. Without a kernel: -Q skips the load and -o writes the compiled policy to a file.
    const args = load ? ['-Kr', file] : ['-QK', '-o', join(dir, `${name}.bin`), file];
    await run(['apparmor_parser', ...args], { timeoutMs: 30_000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Loads `<prefix>-default` when the kernel has AppArmor; returns its name, or undefined when there is none. */
export async function ensureAppArmorProfile(prefix: string): Promise<string | undefined> {
  if (!appArmorEnabled()) return undefined;
  const name = appArmorDefaultName(prefix);
  await compileAppArmorProfile(name, true);
  return name;
}
