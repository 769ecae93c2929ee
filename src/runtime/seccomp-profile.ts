/**
 * The seccomp profile of a non-privileged container, as data. Docker's default profile is an
 * allow-list of ~400 syscalls; ours is the complement: allow by default, refuse (EPERM) what
 * Docker refuses, unless the container holds the capability for which Docker re-allows it.
 *
 * Beware: default-allow means a syscall added to the kernel after this list is allowed. clone is
 * refused only when it asks for a new namespace; clone3 gets ENOSYS (its flags sit in memory where
 * seccomp cannot look) so libc falls back to clone. `personality` is not filtered (Docker's value
 * list needs a "not in" rule a default-allow profile cannot say). Syscall names unknown to runc's
 * libseccomp are skipped by runc.
 */

const EPERM = 1;
const ENOSYS = 38;

interface Blocked {
  names: string[];
  /** Docker allows these when the container has any of the capabilities. */
  unlessCap?: string[];
}

const BLOCKED: readonly Blocked[] = [
  // Keyrings are not namespaced; module, kexec and legacy calls touch the whole host.
  { names: ['add_key', 'keyctl', 'request_key'] },
  { names: ['kexec_load', 'kexec_file_load', 'create_module', 'get_kernel_syms', 'query_module', 'nfsservctl'] },
  { names: ['uselib', 'ustat', 'sysfs', '_sysctl', 'vm86', 'vm86old'] },
  { names: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'] },
  {
    names: [
      'mount', 'umount', 'umount2', 'mount_setattr', 'move_mount', 'open_tree', 'fsopen', 'fsconfig', 'fsmount',
      'fspick', 'pivot_root', 'setns', 'unshare', 'sethostname', 'setdomainname', 'quotactl', 'quotactl_fd',
      'lookup_dcookie', 'fanotify_init', 'name_to_handle_at', 'swapon', 'swapoff',
    ],
    unlessCap: ['CAP_SYS_ADMIN'],
  },
  { names: ['bpf'], unlessCap: ['CAP_SYS_ADMIN', 'CAP_BPF'] },
  { names: ['perf_event_open'], unlessCap: ['CAP_SYS_ADMIN', 'CAP_PERFMON'] },
  { names: ['syslog'], unlessCap: ['CAP_SYS_ADMIN', 'CAP_SYSLOG'] },
  { names: ['reboot'], unlessCap: ['CAP_SYS_BOOT'] },
  { names: ['init_module', 'finit_module', 'delete_module'], unlessCap: ['CAP_SYS_MODULE'] },
  { names: ['acct'], unlessCap: ['CAP_SYS_PACCT'] },
  { names: ['pidfd_getfd', 'process_madvise', 'userfaultfd'], unlessCap: ['CAP_SYS_PTRACE'] },
  { names: ['iopl', 'ioperm'], unlessCap: ['CAP_SYS_RAWIO'] },
  {
    names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64'],
    unlessCap: ['CAP_SYS_TIME'],
  },
  { names: ['vhangup'], unlessCap: ['CAP_SYS_TTY_CONFIG'] },
  { names: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node', 'move_pages'], unlessCap: ['CAP_SYS_NICE'] },
  { names: ['open_by_handle_at'], unlessCap: ['CAP_DAC_READ_SEARCH'] },
];

/** CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
const CLONE_NAMESPACE_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000];

export interface SeccompRule {
  names: string[];
  action: 'SCMP_ACT_ERRNO';
  errnoRet: number;
  args?: { index: number; value: number; valueTwo: number; op: 'SCMP_CMP_MASKED_EQ' }[];
}

export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ALLOW';
  architectures: string[];
  syscalls: SeccompRule[];
}

function architectures(arch: string): string[] {
  if (arch === 'arm64') return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'];
  // The 32-bit and x32 entry points must be filtered too, or `int 0x80` walks around the rules.
  return ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
}

/** The profile for a container with these (normalised, CAP_-prefixed) capabilities. */
export function defaultSeccompProfile(capabilities: readonly string[], arch: string = process.arch): SeccompProfile {
  const has = new Set(capabilities);
  const names = BLOCKED.filter((b) => !b.unlessCap?.some((c) => has.has(c))).flatMap((b) => b.names);
  const syscalls: SeccompRule[] = [{ names, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }];
  if (!has.has('CAP_SYS_ADMIN')) {
    // One rule per flag: rules for one syscall are OR'ed, the args of one rule are AND'ed.
    for (const flag of CLONE_NAMESPACE_FLAGS) {
      syscalls.push({
        names: ['clone'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: EPERM,
        args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
      });
    }
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return { defaultAction: 'SCMP_ACT_ALLOW', architectures: architectures(arch), syscalls };
}
