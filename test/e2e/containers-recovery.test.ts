// Containers survive their daemon: after kill -9 and a restart, running containers are still running
// with the same addresses and pids (and are still managed: exec, stop, rm), while a container that
// exited while the daemon was down shows as Exited with its own exit code and has its network
// released. One sandbox for the file; it is removed with containers still running in it, which
// `down` must clean up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { netnsList } from '../../src/kernel/netns.js';
import { pidAlive } from '../../src/kernel/process.js';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import {
  containerNetns, hostPeerOf, hostVeths, inspectContainer, ipIn, lines, runDetached, v4ByLink, waitFor, type ContainerInspect,
} from '../helpers/containers.js';
import { containerReaches } from '../helpers/reach.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'ctv' });
});
after(() => sb?.down());

const T = { timeoutMs: 30_000 };
const before1: Record<string, ContainerInspect> = {};
let exitedVeth = '';

test('setup: two containers on a user network, one on the bridge that will exit while the daemon is down', async () => {
  await sb.docker(['network', 'create', 'red_prueba1', '--subnet', '10.1.1.0/24', '--gateway', '10.1.1.254']);
  await runDetached(sb, ['--name', 'alpha', '--network', 'red_prueba1', '--ip', '10.1.1.10', 'busybox', 'sleep', '3600']);
  await runDetached(sb, ['--name', 'beta', '--network', 'red_prueba1', 'busybox', 'sleep', '3600']);
  // Exits 7 on USR1 (PID 1 only gets signals it handles).
  await runDetached(sb, ['--name', 'exiter', 'busybox', 'sh', '-c', 'trap "exit 7" USR1; echo ready; while :; do sleep 0.1; done']);
  for (const n of ['alpha', 'beta', 'exiter']) before1[n] = await inspectContainer(sb, n);
  assert.equal(before1.beta?.NetworkSettings.Networks.red_prueba1?.IPAddress, '10.1.1.1');
  assert.ok(await containerReaches(sb, 'alpha', '10.1.1.1'));
  exitedVeth = (await hostPeerOf(sb, containerNetns(sb, before1.exiter?.Id ?? ''), 'eth0'))?.ifname ?? '';
  assert.match(exitedVeth, /^veth/);
});

test('kill -9 the daemon; x exits meanwhile; restart: a and b run on, x is Exited (7)', async () => {
  const oldPid = await sb.kill9Daemon();
  const xPid = before1.exiter?.State.Pid ?? 0;
  assert.ok(xPid > 0);
  process.kill(xPid, 'SIGUSR1');
  await waitFor(`x (pid ${xPid}) to exit`, async () => !(await pidAlive(xPid)), 5000);
  // The containers do not need the daemon: a still reaches b.
  const nsA = containerNetns(sb, before1.alpha?.Id ?? '');
  assert.deepEqual(v4ByLink(await ipIn(nsA, ['addr', 'show'])), { lo: ['127.0.0.1/8'], eth0: ['10.1.1.10/24'] });

  const newPid = await sb.restartDaemon();
  assert.notEqual(newPid, oldPid);
  const ps = lines((await sb.docker(['ps', '--format', '{{.Names}}'])).stdout).sort();
  assert.deepEqual(ps, ['alpha', 'beta']);
  for (const n of ['alpha', 'beta']) {
    const c = await inspectContainer(sb, n);
    const was = before1[n];
    assert.ok(was);
    assert.equal(c.State.Running, true, n);
    assert.equal(c.State.Pid, was.State.Pid, `${n} keeps its pid`);
    assert.equal(c.State.StartedAt, was.State.StartedAt, n);
    assert.deepEqual(c.NetworkSettings.Networks, was.NetworkSettings.Networks, `${n} keeps its endpoint`);
  }
  assert.ok(await containerReaches(sb, 'alpha', '10.1.1.1'), 'a → b after the restart');
  assert.ok(await containerReaches(sb, 'beta', '10.1.1.10'), 'b → a after the restart');
  assert.ok(await containerReaches(sb, 'alpha', 'beta'), 'a → b by name: the embedded DNS answers again after the restart');

  const x = await inspectContainer(sb, 'exiter');
  assert.deepEqual([x.State.Status, x.State.Running, x.State.ExitCode, x.State.Pid], ['exited', false, 7, 0]);
  assert.match((await sb.docker(['ps', '-a', '--filter', 'name=^exiter$', '--format', '{{.Status}}'])).stdout, /^Exited \(7\) /);
  assert.equal(x.NetworkSettings.Networks.bridge?.IPAddress, '');
  assert.ok(!(await netnsList()).includes(containerNetns(sb, x.Id)), 'x\'s netns is released');
  await waitFor(`x's veth ${exitedVeth} to go`, async () => !(await hostVeths(sb)).some((l) => l.ifname === exitedVeth), 5000).catch(() => undefined);
  assert.ok(!(await hostVeths(sb)).some((l) => l.ifname === exitedVeth), 'x\'s veth is gone');
  assert.equal((await sb.docker(['logs', 'exiter'], T)).stdout, 'ready\n');
});

test('re-adopted containers are managed: exec, a new container gets a free address, wait, stop, rm', async () => {
  assert.equal((await sb.docker(['exec', 'alpha', 'hostname'], T)).stdout, `${before1.alpha?.Id.slice(0, 12)}\n`);
  await runDetached(sb, ['--name', 'gamma', '--network', 'red_prueba1', 'busybox', 'sleep', '3600']);
  assert.equal((await inspectContainer(sb, 'gamma')).NetworkSettings.Networks.red_prueba1?.IPAddress, '10.1.1.2', 'IPAM remembers a and b');
  // docker wait on a re-adopted container returns when it stops.
  const waiting = sb.docker(['wait', 'beta'], T);
  assert.equal((await sb.docker(['stop', '-t', '1', 'beta'], T)).stdout, 'beta\n');
  assert.equal((await waiting).stdout, '137\n');
  assert.ok(!(await netnsList()).includes(containerNetns(sb, before1.beta?.Id ?? '')));
  assert.equal((await sb.docker(['rm', 'beta', 'exiter'], T)).stdout, 'beta\nexiter\n');
  assert.ok(await containerReaches(sb, 'alpha', '10.1.1.2'), 'a → c');
});

test('a second kill -9 and restart with nothing changed keeps everything; down cleans running containers', async () => {
  const before2 = await inspectContainer(sb, 'alpha');
  await sb.kill9Daemon();
  await sb.restartDaemon();
  assert.deepEqual(await inspectContainer(sb, 'alpha'), before2);
  assert.deepEqual(lines((await sb.docker(['ps', '--format', '{{.Names}}'])).stdout).sort(), ['alpha', 'gamma']);
});
