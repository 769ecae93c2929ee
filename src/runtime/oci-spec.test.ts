import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CAPABILITIES } from './oci-defaults.js';
import { buildOciSpec, effectiveCapabilities, type OciSpecInput } from './oci-spec.js';

const base: OciSpecInput = {
  rootfs: '/var/lib/redes/rootfs/abc',
  args: ['sh'],
  hostname: 'abc',
  network: { netnsPath: '/run/netns/redes-abc' },
  cgroupsPath: '/redes/abc',
  host: { capabilities: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN'], nofile: { soft: 1024, hard: 20000 } },
};

test('a default container gets Docker capabilities, namespaces and the netns by path', () => {
  const spec = buildOciSpec(base);
  assert.deepEqual(spec.process.capabilities?.bounding, [...DEFAULT_CAPABILITIES]);
  assert.deepEqual(spec.process.capabilities?.inheritable, []);
  assert.equal(spec.process.noNewPrivileges, false);
  assert.deepEqual(spec.linux.namespaces, [
    { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' },
    { type: 'network', path: '/run/netns/redes-abc' },
  ]);
  assert.deepEqual(spec.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 }]);
  assert.deepEqual(spec.process.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=abc']);
  assert.ok(spec.linux.maskedPaths.includes('/proc/kcore'));
  assert.ok(spec.linux.readonlyPaths.includes('/proc/sys'));
  assert.equal(spec.linux.sysctl?.['net.ipv4.ip_unprivileged_port_start'], '0');
  assert.equal(spec.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'), true);
  assert.equal(spec.linux.resources.devices?.[0]?.allow, false);
  assert.equal(spec.linux.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(spec.process.apparmorProfile, undefined, 'no AppArmor on the host: no profile named');
});

test('host networking leaves out the network namespace and the netns sysctls', () => {
  const spec = buildOciSpec({ ...base, network: 'host' });
  assert.equal(spec.linux.namespaces.some((n) => n.type === 'network'), false);
  assert.equal(spec.linux.sysctl, undefined);
});

test('cap-add and cap-drop follow Docker, ALL included, and are cut to what the host has', () => {
  assert.deepEqual(effectiveCapabilities({ ...base, capDrop: ['all'], capAdd: ['net_admin'] }), ['CAP_NET_ADMIN']);
  const added = effectiveCapabilities({ ...base, capAdd: ['NET_ADMIN', 'SYS_TIME'] }); // host lacks SYS_TIME
  assert.ok(added.includes('CAP_NET_ADMIN') && !added.includes('CAP_SYS_TIME'));
  assert.ok(!effectiveCapabilities({ ...base, capDrop: ['CAP_CHOWN'] }).includes('CAP_CHOWN'));
  assert.throws(() => effectiveCapabilities({ ...base, capAdd: ['FOO'] }), /unknown capability: "CAP_FOO"/);
  assert.equal(effectiveCapabilities({ ...base, capAdd: ['ALL'] }).length, base.host?.capabilities.length);
});

test('the seccomp allowlist follows the capabilities: CAP_SYS_ADMIN allows mount and namespaces', () => {
  const allowed = (p: ReturnType<typeof buildOciSpec>['linux']['seccomp'], name: string): boolean =>
    (p?.syscalls ?? []).some((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(name) && !r.args?.length);
  const plain = buildOciSpec(base).linux.seccomp;
  assert.ok(allowed(plain, 'read') && !allowed(plain, 'mount') && !allowed(plain, 'unshare') && !allowed(plain, 'keyctl'));
  assert.ok(plain?.syscalls?.some((r) => r.names.includes('clone3') && r.errnoRet === 38));
  assert.ok(plain?.syscalls?.some((r) => r.names.includes('clone') && r.args?.[0]?.op === 'SCMP_CMP_MASKED_EQ'));
  const admin = buildOciSpec({ ...base, capAdd: ['SYS_ADMIN'] }).linux.seccomp;
  assert.ok(allowed(admin, 'mount') && allowed(admin, 'clone') && allowed(admin, 'unshare'));
  assert.ok(!admin?.syscalls?.some((r) => r.names.includes('clone3') && r.action === 'SCMP_ACT_ERRNO'));
});

test('seccomp=unconfined, a custom profile (even privileged), and AppArmor when the host has it', () => {
  assert.equal(buildOciSpec({ ...base, seccomp: 'unconfined' }).linux.seccomp, undefined);
  const json = JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  assert.deepEqual(buildOciSpec({ ...base, privileged: true, seccomp: { json } }).linux.seccomp, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  const host = { ...(base.host as NonNullable<OciSpecInput['host']>), apparmorDefault: 'redes-default' };
  assert.equal(buildOciSpec({ ...base, host }).process.apparmorProfile, 'redes-default');
  assert.equal(buildOciSpec({ ...base, host, privileged: true }).process.apparmorProfile, 'unconfined');
  assert.equal(buildOciSpec({ ...base, host, apparmor: 'mine' }).process.apparmorProfile, 'mine');
});

test('privileged: every host capability, no seccomp, no masked paths, all devices', () => {
  const spec = buildOciSpec({ ...base, privileged: true });
  assert.deepEqual([...(spec.process.capabilities?.effective ?? [])].sort(), [...(base.host?.capabilities ?? [])].sort());
  assert.equal(spec.linux.seccomp, undefined);
  assert.deepEqual(spec.linux.maskedPaths, []);
  assert.deepEqual(spec.linux.readonlyPaths, []);
  assert.deepEqual(spec.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  assert.equal(spec.mounts.find((m) => m.destination === '/sys')?.options?.includes('rw'), true);
});

test('generated /etc files and binds are mounted after the defaults, parents first', () => {
  const spec = buildOciSpec({
    ...base,
    readonlyRootfs: true,
    etcFiles: { hosts: '/s/hosts', resolvConf: '/s/resolv.conf' },
    binds: [{ source: '/v/b', destination: '/data/sub' }, { source: '/v/a', destination: '/data', readonly: true }],
  });
  const tail = spec.mounts.slice(-4).map((m) => [m.destination, m.source, m.options?.at(-1)]);
  assert.deepEqual(tail, [
    ['/data', '/v/a', 'ro'],
    ['/data/sub', '/v/b', 'rw'],
    ['/etc/hosts', '/s/hosts', 'ro'],
    ['/etc/resolv.conf', '/s/resolv.conf', 'ro'],
  ]);
  assert.equal(spec.root.readonly, true);
});

test('env keeps the container values in place of the daemon defaults; tty adds TERM', () => {
  const spec = buildOciSpec({ ...base, tty: true, env: ['PATH=/bin', 'A=1'] });
  assert.deepEqual(spec.process.env, ['PATH=/bin', 'HOSTNAME=abc', 'TERM=xterm', 'A=1']);
  assert.equal(spec.process.terminal, true);
});

test('bad input is refused with a clear message', () => {
  assert.throws(() => buildOciSpec({ ...base, cgroupsPath: 'redes/abc' }), /must be absolute/);
  assert.throws(() => buildOciSpec({ ...base, ulimits: [{ name: 'bogus', soft: 1, hard: 1 }] }), /invalid ulimit type: bogus/);
  assert.throws(() => buildOciSpec({ ...base, binds: [{ source: '/x', destination: 'rel' }] }), /must be absolute/);
});

test('shared host namespaces are left out, and the hostname with the UTS one', () => {
  const spec = buildOciSpec({ ...base, hostNamespaces: ['pid', 'uts', 'ipc'] });
  assert.deepEqual(spec.linux.namespaces.map((n) => n.type), ['mount', 'network']);
  assert.equal(spec.hostname, '');
  assert.equal(spec.mounts.find((m) => m.destination === '/dev/shm')?.source, '/dev/shm');
});

