// Container lifecycle end to end: stop (TERM then KILL after the timeout), kill with a signal,
// restart, rm and rm -f, --rm, and what each leaves in the kernel: after a stop or a removal no netns
// `<sandbox>-c-...`, no veth, no rootfs mount, no cgroup. Then 50 containers made and force-removed
// at once must leave nothing. One sandbox for the file; tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { mountsUnder } from '../../src/kernel/mounts.js';
import { netnsList } from '../../src/kernel/netns.js';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import {
  allContainerTraces, containerNetns, containerTraces, hostPeerOf, hostVeths, inspectContainer, lines, runDetached, waitFor,
} from '../helpers/containers.js';
import { containerReaches } from '../helpers/reach.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'ctl' });
});
after(() => sb?.down());

const T = { timeoutMs: 30_000 };
// PID 1 ignores signals it has no handler for: this one exits 143 on TERM, 10 on USR1.
const TRAPPER = ['sh', '-c', 'trap "exit 143" TERM; trap "exit 10" USR1; while :; do sleep 0.1; done'];

async function status(name: string): Promise<string> {
  return (await sb.docker(['ps', '-a', '--filter', `name=^${name}$`, '--format', '{{.Status}}'])).stdout.trim();
}

/** Netns, veth, rootfs mount and cgroups of a container that is not running: none of them may exist. */
async function assertReleased(id: string, veth: string): Promise<void> {
  assert.ok(!(await netnsList()).includes(containerNetns(sb, id)), 'netns removed');
  await waitFor(`veth ${veth} to go`, async () => !(await hostVeths(sb)).some((l) => l.ifname === veth), 5000).catch(() => undefined);
  assert.ok(!(await hostVeths(sb)).some((l) => l.ifname === veth), `veth ${veth} removed`);
  assert.deepEqual(await mountsUnder(`/var/lib/redes/${sb.name}/containers/${id}`), [], 'rootfs unmounted');
  assert.deepEqual((await containerTraces(sb, id)).filter((t) => t.startsWith('cgroup')), [], 'cgroups removed');
}

async function hostVethOf(id: string): Promise<string> {
  const peer = await hostPeerOf(sb, containerNetns(sb, id), 'eth0');
  assert.ok(peer, `container ${id} has a host veth`);
  return peer.ifname;
}

test('docker stop: TERM ignored by PID 1, KILL after -t; Exited (137); everything released', async () => {
  const id = await runDetached(sb, ['--name', 's1', 'busybox', 'sleep', '3600']);
  const veth = await hostVethOf(id);
  assert.equal((await containerTraces(sb, id)).filter((t) => t.startsWith('cgroup')).length > 0, true, 'runc made its cgroups');
  const t0 = performance.now();
  assert.equal((await sb.docker(['stop', '-t', '1', 's1'], T)).stdout, 's1\n');
  const took = performance.now() - t0;
  assert.ok(took >= 900 && took < 8000, `stop -t 1 took ${took.toFixed(0)} ms`);
  assert.match(await status('s1'), /^Exited \(137\) /);
  const c = await inspectContainer(sb, 's1');
  assert.deepEqual([c.State.Status, c.State.Running, c.State.Pid, c.State.ExitCode], ['exited', false, 0, 137]);
  assert.equal(c.NetworkSettings.IPAddress, '');
  assert.equal(c.NetworkSettings.Networks.bridge?.IPAddress, '');
  assert.notEqual(c.State.FinishedAt, '0001-01-01T00:00:00Z');
  await assertReleased(id, veth);
  // Stopping a stopped container is not an error.
  assert.equal((await sb.docker(['stop', 's1'], T)).stdout, 's1\n');
});

test('docker stop of a PID 1 that handles TERM: Exited (143) without waiting for the timeout', async () => {
  await runDetached(sb, ['--name', 's2', 'busybox', ...TRAPPER]);
  const since = (Date.now() / 1000).toFixed(3);
  const t0 = performance.now();
  // A timeout well above what a stop takes under load: waiting for it could not pass unnoticed.
  await sb.docker(['stop', '-t', '20', 's2'], T);
  const took = performance.now() - t0;
  assert.ok(took < 15_000, `stop took ${took.toFixed(0)} ms (its timeout was 20 s)`);
  assert.match(await status('s2'), /^Exited \(143\) /);
  // Nor was a SIGKILL sent after the TERM.
  const kills = await sb.docker(['events', '--since', since, '--until', (Date.now() / 1000).toFixed(3), '--filter', 'container=s2', '--filter', 'event=kill', '--format', '{{.Actor.Attributes.signal}}'], T);
  assert.equal(kills.stdout, '15\n');
});

test('docker start of a stopped container, docker restart: running again with a new pid', async () => {
  assert.equal((await sb.docker(['start', 's1'], T)).stdout, 's1\n');
  const first = await inspectContainer(sb, 's1');
  assert.equal(first.State.Running, true);
  assert.match(first.NetworkSettings.IPAddress, /^172\.17\.0\.\d+$/);
  const veth = await hostVethOf(first.Id);
  assert.equal((await sb.docker(['restart', '-t', '1', 's1'], T)).stdout, 's1\n');
  const second = await inspectContainer(sb, 's1');
  assert.equal(second.State.Running, true);
  assert.notEqual(second.State.Pid, first.State.Pid);
  assert.notEqual(second.State.StartedAt, first.State.StartedAt);
  assert.ok((await netnsList()).includes(containerNetns(sb, first.Id)));
  assert.notEqual(await hostVethOf(first.Id), veth, 'a new veth pair');
  await waitFor(`old veth ${veth} to go`, async () => !(await hostVeths(sb)).some((l) => l.ifname === veth), 5000);
  assert.ok(await containerReaches(sb, 's1', '172.17.0.1'), 's1 → its gateway');
});

test('docker kill: SIGKILL by default, -s USR1 reaches a handler; not running → Docker\'s error', async () => {
  const id = (await inspectContainer(sb, 's1')).Id;
  const veth = await hostVethOf(id);
  assert.equal((await sb.docker(['kill', 's1'], T)).stdout, 's1\n');
  await waitFor('s1 to exit', async () => /^Exited \(137\) /.test(await status('s1')));
  await assertReleased(id, veth);
  const again = await sb.docker(['kill', 's1'], { ...T, allowFail: true });
  assert.deepEqual([again.code, again.stderr], [1, `Error response from daemon: cannot kill container: s1: container ${id} is not running\n`]);

  await runDetached(sb, ['--name', 'kk', 'busybox', ...TRAPPER]);
  assert.equal((await sb.docker(['kill', '-s', 'USR1', 'kk'], T)).stdout, 'kk\n');
  assert.equal((await sb.docker(['wait', 'kk'], T)).stdout, '10\n');
});

test('docker rm: a running container is refused; rm -f and rm leave nothing', async () => {
  const id = await runDetached(sb, ['--name', 's3', 'busybox', 'sleep', '3600']);
  const veth = await hostVethOf(id);
  const refused = await sb.docker(['rm', 's3'], { ...T, allowFail: true });
  assert.deepEqual([refused.code, refused.stderr], [
    1, 'Error response from daemon: cannot remove container "s3": container is running: stop the container before removing or force remove\n',
  ]);
  // As dockerd: the container is named as it was asked for (an ID prefix stays a prefix; the CLI strips a leading slash).
  const byId = await sb.docker(['rm', id.slice(0, 7)], { ...T, allowFail: true });
  assert.deepEqual([byId.code, byId.stderr], [
    1, `Error response from daemon: cannot remove container "${id.slice(0, 7)}": container is running: stop the container before removing or force remove\n`,
  ]);
  const slashed = await sb.docker(['rm', '/s3'], { ...T, allowFail: true });
  assert.equal(slashed.stderr, refused.stderr);
  assert.equal((await sb.docker(['rm', '-f', 's3'], T)).stdout, 's3\n');
  await assertReleased(id, veth);
  assert.deepEqual(await containerTraces(sb, id), []);

  const ids = lines((await sb.docker(['ps', '-aq', '--no-trunc'])).stdout);
  assert.equal((await sb.docker(['rm', 's1', 's2', 'kk'], T)).stdout, 's1\ns2\nkk\n');
  for (const x of ids) assert.deepEqual(await containerTraces(sb, x), [], x);
  assert.deepEqual(await allContainerTraces(sb), []);
});

test('--rm: the container removes itself when it exits, with everything it had', async () => {
  const id = await runDetached(sb, ['--rm', '--name', 'auto', 'busybox', 'sh', '-c', 'sleep 0.3']);
  await waitFor('auto to be removed', async () => !lines((await sb.docker(['ps', '-aq', '--no-trunc'])).stdout).includes(id));
  assert.deepEqual(await containerTraces(sb, id), []);
  const gone = await sb.docker(['inspect', 'auto'], { allowFail: true });
  assert.equal(gone.code, 1);
  // Without -d, the CLI waits for the removal.
  const fg = await sb.docker(['run', '--rm', '--name', 'auto2', 'busybox', 'true'], T);
  assert.equal(fg.code, 0);
  assert.deepEqual(lines((await sb.docker(['ps', '-aq'])).stdout), []);
  assert.deepEqual(await allContainerTraces(sb), []);
});

test('no leaks: 50 containers made with docker run -d, then docker rm -f of all of them', async () => {
  const ids: string[] = [];
  const names = Array.from({ length: 50 }, (_, i) => `many${i}`);
  for (let i = 0; i < names.length; i += 5) {
    ids.push(...(await Promise.all(names.slice(i, i + 5).map((n) => runDetached(sb, ['--name', n, 'busybox', 'sleep', '3600'])))));
  }
  assert.equal(new Set(ids).size, 50);
  assert.equal(lines((await sb.docker(['ps', '-q'])).stdout).length, 50);
  const ips = lines((await sb.docker(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', ...ids])).stdout);
  assert.equal(new Set(ips).size, 50, 'every container has its own address');
  assert.equal((await hostVeths(sb)).length, 50);
  assert.equal((await netnsList()).filter((n) => n.startsWith(`${sb.name}-c-`)).length, 50);

  const rm = await sb.docker(['rm', '-f', ...names], { timeoutMs: 120_000 });
  assert.equal(lines(rm.stdout).length, 50);
  assert.deepEqual(lines((await sb.docker(['ps', '-aq'])).stdout), []);
  await waitFor('the veths to go', async () => (await hostVeths(sb)).length === 0, 10_000).catch(() => undefined);
  assert.deepEqual(await allContainerTraces(sb), []);
  for (const id of ids) assert.deepEqual(await containerTraces(sb, id), [], id);
  // Every address went back: the next container gets the first one again.
  await runDetached(sb, ['--name', 'next', 'busybox', 'sleep', '3600']);
  assert.equal((await inspectContainer(sb, 'next')).NetworkSettings.IPAddress, '172.17.0.2');
  await sb.docker(['rm', '-f', 'next'], T);
});
