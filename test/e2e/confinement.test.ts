// Container confinement as Docker's: the seccomp allowlist generated from Docker 28's profile data
// (in the runc spec, and in force: an unprivileged user namespace is refused), `--security-opt
// seccomp=unconfined|FILE`, `no-new-privileges`, `apparmor=...` accepted on a kernel without
// AppArmor (which runs unconfined, as Docker does), and `docker info` listing only what is active.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { runDetached } from '../helpers/containers.js';

const T = { timeoutMs: 30_000 };
let sb: Sandbox;
let dir: string;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'conf' });
  dir = mkdtempSync(join(tmpdir(), 'redes-confine-'));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await sb?.down();
});

const run = (args: string[]) => sb.docker(['run', '--rm', ...args], { ...T, allowFail: true });

test('docker info lists only the active security options: seccomp, no AppArmor on this kernel', async () => {
  const apparmor = (() => {
    try {
      return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
    } catch {
      return false;
    }
  })();
  const opts = JSON.parse((await sb.docker(['info', '--format', '{{json .SecurityOptions}}'], T)).stdout) as string[];
  assert.deepEqual(opts, [...(apparmor ? ['name=apparmor'] : []), 'name=seccomp,profile=builtin']);
});

test('the default profile is an allowlist in the spec and in force', async () => {
  const id = await runDetached(sb, ['busybox', 'sleep', '60']);
  const spec = JSON.parse(readFileSync(`/var/lib/redes/${sb.name}/containers/${id}/config.json`, 'utf8')) as {
    linux: { seccomp: { defaultAction: string; defaultErrnoRet: number; syscalls: Array<{ names: string[]; action: string }> } };
  };
  assert.equal(spec.linux.seccomp.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(spec.linux.seccomp.defaultErrnoRet, 1);
  const allowed = new Set(spec.linux.seccomp.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names));
  assert.ok(allowed.has('read') && !allowed.has('unshare') && !allowed.has('keyctl'));
  await sb.docker(['rm', '-f', id], T);
  // A user namespace needs no capability, only the syscall: refused unless seccomp is off.
  const confined = await run(['busybox', 'unshare', '-U', 'true']);
  assert.equal(confined.code, 1);
  assert.match(confined.stderr, /Operation not permitted/);
  assert.equal((await run(['--security-opt', 'seccomp=unconfined', 'busybox', 'unshare', '-U', 'true'])).code, 0);
});

test('a seccomp profile FILE is applied; no-new-privileges and apparmor=NAME are taken', async () => {
  const file = join(dir, 'no-mkdir.json');
  writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }));
  const r = await run(['--security-opt', `seccomp=${file}`, 'busybox', 'mkdir', '/x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /can't create directory '\/x': Operation not permitted/);
  assert.match((await run(['--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status'])).stdout, /NoNewPrivs:\s+1/);
  assert.equal((await run(['--security-opt', 'apparmor=unconfined', 'busybox', 'true'])).code, 0);
  const bad = await run(['--security-opt', 'writable-cgroups=maybe', 'busybox', 'true']);
  assert.match(bad.stderr, /invalid --security-opt 2: "writable-cgroups=maybe"|not supported/);
});
