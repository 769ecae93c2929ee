// `runc create` in a private mount namespace (runtime/private-mounts.ts, the shim's --detach-mount /
// --keep-mount): the containers directory is a self-bind of its own, each create detaches it and
// /run/netns and keeps only the container's rootfs, the netns it joins and its bind sources. Checked
// for every network mode, a tty, a bind into another container's rootfs (kept), a bind containing
// the data root (no private namespace, as before), a daemon restart with running containers (the
// bind is not stacked) and the daemon's stop (nothing of the data root left mounted). Each create
// starts from the daemon's template namespace (runtime/mount-template.ts), which holds no container's
// mounts; a volume mounted after the template was made is still the one the container gets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { inspectContainer, runDetached } from '../helpers/containers.js';
import { mountsUnder } from '../../src/kernel/mounts.js';
import { pidAlive } from '../../src/kernel/process.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'mntns' });
});
after(async () => {
  await sb?.down();
});

const T = { timeoutMs: 30_000 };
const dataRoot = (): string => `/var/lib/redes/${sb.name}`;
const containersDir = (): string => `${dataRoot()}/containers`;
const FALLBACK_LOG = "runc create runs in the daemon's mount namespace";
/** The shim's template path failed (it then copies the daemon's namespace), or there is no template. */
const NO_TEMPLATE_LOG = /instead of the template|no mount template/;
const ids: Record<string, string> = {};

async function mountinfoOf(id: string): Promise<string[]> {
  const pid = (await inspectContainer(sb, id)).State.Pid;
  assert.ok(pid > 0, `container ${id} has a pid`);
  return (await readFile(`/proc/${pid}/mountinfo`, 'utf8')).split('\n').filter(Boolean);
}

/** The daemon's template holder (`redes-shim mount-template`): a child of the daemon. */
async function templateHolder(): Promise<number | undefined> {
  const daemon = await sb.daemonPid();
  for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (Number(stat.split(') ')[1]?.split(' ')[1]) === daemon && cmd.includes('mount-template')) return Number(pid);
  }
  return undefined;
}

/** Mounts of the containers directory itself (the self-bind), in the machine's mount table. */
async function selfBinds(): Promise<number> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.split(' ')[4] === containersDir()).length;
}

test('every network mode and a tty start; each namespace holds no other container\'s rootfs or netns', async () => {
  await sb.docker(['network', 'create', 'u1'], T);
  ids.a = await runDetached(sb, ['--name', 'a1', 'busybox', 'sleep', '600']);
  ids.u = await runDetached(sb, ['--name', 'u1c', '--net', 'u1', 'busybox', 'sleep', '600']);
  ids.j = await runDetached(sb, ['--name', 'j1', '--net', 'container:a1', 'busybox', 'sleep', '600']);
  ids.h = await runDetached(sb, ['--name', 'h1', '--net', 'host', 'busybox', 'sleep', '600']);
  ids.n = await runDetached(sb, ['--name', 'n1', '--net', 'none', 'busybox', 'sleep', '600']);
  ids.t = await runDetached(sb, ['-t', '--name', 't1', 'busybox', 'sh']);
  assert.equal(await selfBinds(), 1);
  // --network container: joined a1's namespace (another container's file under /run/netns was kept)
  const ipOf = async (c: string): Promise<string> => (await sb.docker(['exec', c, 'ip', '-o', '-4', 'addr', 'show', 'eth0'], T)).stdout.split(/\s+/)[3] ?? '';
  assert.match(await ipOf('a1'), /^172\.17\./);
  assert.equal(await ipOf('j1'), await ipOf('a1'));
  assert.equal((await sb.docker(['exec', 'n1', 'ls', '/sys/class/net'], T)).stdout.trim(), 'lo');
  assert.equal((await sb.docker(['exec', 'u1c', 'nslookup', 'u1c', '127.0.0.11'], { ...T, allowFail: true })).code, 0);
  assert.equal((await sb.docker(['exec', 't1', 'tty'], { ...T, allowFail: true })).code, 1, 'exec without -t has no tty');
  assert.equal((await sb.docker(['exec', 't1', 'sh', '-c', 'tty < /proc/1/fd/0'], T)).stdout, '/dev/pts/0\n');
  for (const [key, id] of Object.entries(ids)) {
    const info = await mountinfoOf(id);
    const others = Object.values(ids).filter((o) => o !== id);
    const foreign = info.filter((l) => others.some((o) => l.includes(o)) || l.split(' ')[4]?.startsWith('/run/netns'));
    assert.deepEqual(foreign, [], `container ${key}`);
  }
  const log = await readFile(`/run/redes/${sb.name}/redesd.log`, 'utf8');
  assert.ok(!log.includes(FALLBACK_LOG), 'the private mount namespace was made for every create');
  assert.doesNotMatch(log, NO_TEMPLATE_LOG, 'every create started from the template');
  // The template holds none of the containers' mounts: neither a rootfs nor a netns file.
  const holder = await templateHolder();
  assert.ok(holder, 'the daemon holds a template namespace');
  const template = (await readFile(`/proc/${holder}/mountinfo`, 'utf8')).split('\n').filter(Boolean);
  assert.deepEqual(template.filter((l) => l.split(' ')[4]?.startsWith(containersDir()) || l.split(' ')[4]?.startsWith('/run/netns')), []);
});

test('a volume mounted after the template is made is the one the container writes to', async () => {
  await sb.docker(['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', 'tv1'], T);
  // The tmpfs is mounted for the container's start (and unmounted after its last user): well after the template.
  await runDetached(sb, ['--name', 'tv1c', '-v', 'tv1:/v', 'busybox', 'sh', '-c', 'echo on-tmpfs > /v/f; sleep 600']);
  const mountpoint = (await sb.docker(['volume', 'inspect', '-f', '{{.Mountpoint}}', 'tv1'], T)).stdout.trim();
  assert.ok((await mountsUnder(mountpoint)).length > 0, 'the volume is mounted while the container runs');
  // Seen from the machine's namespace, where the tmpfs is: the container wrote to it, not beneath it.
  let seen = '';
  for (let i = 0; seen === '' && i < 100; i++) seen = await readFile(join(mountpoint, 'f'), 'utf8').catch(async () => (await sleep(50), ''));
  assert.equal(seen, 'on-tmpfs\n');
  await sb.docker(['rm', '-f', 'tv1c'], T);
  const log = await readFile(`/run/redes/${sb.name}/redesd.log`, 'utf8');
  assert.ok(!log.includes(FALLBACK_LOG));
  assert.doesNotMatch(log, NO_TEMPLATE_LOG);
  await sb.docker(['volume', 'rm', 'tv1'], T);
});

test('a bind into another container\'s rootfs is kept; one containing the data root gets the whole tree', async () => {
  await sb.docker(['exec', 'a1', 'sh', '-c', 'echo marker > /etc/marker'], T);
  const kept = await sb.docker(['run', '--rm', '-v', `${containersDir()}/${ids.a}/rootfs/etc:/aetc:ro`, 'busybox', 'cat', '/aetc/marker'], T);
  assert.equal(kept.stdout, 'marker\n');
  // The source contains the detached directory: that container's runc runs in the daemon's namespace.
  const whole = await sb.docker(['run', '--rm', '-v', `${dataRoot()}:/dr:ro`, 'busybox', 'cat', `/dr/containers/${ids.a}/rootfs/etc/marker`], T);
  assert.equal(whole.stdout, 'marker\n');
  const log = await readFile(`/run/redes/${sb.name}/redesd.log`, 'utf8');
  assert.ok(!log.includes(FALLBACK_LOG), 'no warning: leaving out the private namespace there is a choice, not a failure');
});

test('docker cp and export of a container created in a private namespace', async () => {
  await sb.docker(['exec', 'a1', 'sh', '-c', 'echo from-cp-test > /cpfile'], T);
  const dir = await mkdtemp(join(tmpdir(), 'redes-e2e-mntns-'));
  try {
    await sb.docker(['cp', 'a1:/cpfile', join(dir, 'cpfile')], T);
    assert.equal(await readFile(join(dir, 'cpfile'), 'utf8'), 'from-cp-test\n');
    await sb.docker(['export', '-o', join(dir, 'a1.tar'), 'a1'], T);
    assert.ok((await readFile(join(dir, 'a1.tar'))).includes('from-cp-test'), 'the export holds the file written in the container');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a restarted daemon re-adopts the containers and does not stack a second bind', async () => {
  const before = (await inspectContainer(sb, 'a1')).State.Pid;
  const oldHolder = await templateHolder();
  assert.ok(oldHolder);
  await sb.kill9Daemon();
  for (let i = 0; (await pidAlive(oldHolder)) && i < 100; i++) await sleep(50);
  assert.ok(!(await pidAlive(oldHolder)), 'the template holder ends with the daemon killed -9');
  await sb.restartDaemon();
  assert.ok(await templateHolder(), 'the restarted daemon holds a new template');
  assert.equal((await inspectContainer(sb, 'a1')).State.Pid, before);
  assert.equal(await selfBinds(), 1);
  ids.k = await runDetached(sb, ['--name', 'k1', '--net', 'container:a1', 'busybox', 'sleep', '600']);
  assert.equal((await sb.docker(['exec', 'k1', 'cat', '/etc/hostname'], T)).code, 0);
  assert.deepEqual((await mountinfoOf(ids.k)).filter((l) => l.includes(ids.a ?? 'none')), []);
});

test('the daemon\'s stop leaves nothing mounted under the data root once the containers are gone', async () => {
  await sb.docker(['rm', '-f', 'a1', 'u1c', 'j1', 'h1', 'n1', 't1', 'k1'], T);
  const pid = await sb.daemonPid();
  assert.ok(pid);
  const holder = await templateHolder();
  assert.ok(holder);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; (await pidAlive(pid)) && i < 300; i++) await sleep(50);
  assert.ok(!(await pidAlive(pid)), 'the daemon stopped');
  assert.deepEqual(await mountsUnder(dataRoot()), []);
  for (let i = 0; (await pidAlive(holder)) && i < 100; i++) await sleep(50);
  assert.ok(!(await pidAlive(holder)), 'the template holder is gone, and with it the last hold on the namespace');
});
