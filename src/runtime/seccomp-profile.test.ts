import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultSeccompProfile, loadSeccompProfile, resolveSeccomp, type SeccompProfile } from './seccomp-profile.js';
import { DEFAULT_CAPABILITIES } from './oci-defaults.js';

const dir = fileURLToPath(new URL('../../../src/runtime/seccomp/', import.meta.url));

test('the data file is the one its README names (no hand edits)', () => {
  const sha = createHash('sha256').update(readFileSync(`${dir}docker-default.json`)).digest('hex');
  assert.match(readFileSync(`${dir}README.md`, 'utf8'), new RegExp(`SHA-256 \\| \`${sha}\``));
});

const names = (p: SeccompProfile | undefined, action = 'SCMP_ACT_ALLOW'): Set<string> =>
  new Set((p?.syscalls ?? []).filter((r) => r.action === action && !r.args?.length).flatMap((r) => r.names));

test('the default profile on x86-64: an allowlist with the sub-architectures, gated by capabilities', () => {
  const p = defaultSeccompProfile(DEFAULT_CAPABILITIES, { arch: 'x64', kernel: '6.1.0' });
  assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(p.defaultErrnoRet, 1);
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const allowed = names(p);
  for (const n of ['read', 'write', 'execve', 'arch_prctl', 'modify_ldt', 'ptrace', 'chroot']) assert.ok(allowed.has(n), n);
  for (const n of ['mount', 'unshare', 'setns', 'keyctl', 'add_key', 'bpf', 'reboot', 'init_module', 'kexec_load', 'open_by_handle_at', 'arm_fadvise64_64', 'clock_settime', 'io_uring_setup']) assert.ok(!allowed.has(n), n);
  // personality: only Docker's five values; socket: anything but AF_VSOCK (40).
  const personality = (p.syscalls ?? []).filter((r) => r.names.includes('personality')).map((r) => r.args?.[0]?.value);
  assert.deepEqual(personality, [0, 8, 131072, 131080, 4294967295]);
  assert.deepEqual((p.syscalls ?? []).find((r) => r.names.includes('socket'))?.args, [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }]);
  assert.ok((p.syscalls ?? []).some((r) => r.names.includes('clone') && r.args?.[0]?.index === 0 && r.args[0].value === 2114060288));
  assert.deepEqual((p.syscalls ?? []).find((r) => r.names.includes('clone3'))?.errnoRet, 38);
});

test('capabilities, architecture and kernel version pick the rules', () => {
  const admin = defaultSeccompProfile([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_TIME'], { arch: 'x64', kernel: '6.1.0' });
  for (const n of ['mount', 'unshare', 'setns', 'clone', 'clone3', 'clock_settime']) assert.ok(names(admin).has(n), n);
  assert.ok(!(admin.syscalls ?? []).some((r) => r.action === 'SCMP_ACT_ERRNO'), 'clone3 ENOSYS only without CAP_SYS_ADMIN');
  const arm = defaultSeccompProfile(DEFAULT_CAPABILITIES, { arch: 'arm64', kernel: '6.1.0' });
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.ok(names(arm).has('arm_fadvise64_64') && !names(arm).has('arch_prctl'));
  const old = defaultSeccompProfile(DEFAULT_CAPABILITIES, { arch: 'x64', kernel: '4.4.0' });
  assert.ok(!names(old).has('ptrace'), 'ptrace needs kernel 4.8 without CAP_SYS_PTRACE');
});

test('a custom profile: name, includes/excludes, Docker errors', () => {
  const p = resolveSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'mkdir', names: [], action: 'SCMP_ACT_ERRNO', excludes: { caps: ['CAP_CHOWN'] } }] }, [], { arch: 'x64' });
  assert.deepEqual(p, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  assert.equal(loadSeccompProfile('{}', []), undefined, 'no default action and no rules: seccomp off');
  assert.throws(() => loadSeccompProfile('{nope', []), /^RedesError: Decoding seccomp profile failed: /);
  assert.throws(() => loadSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":null}]}', []), /both 'architectures' and 'archMap'/);
});
