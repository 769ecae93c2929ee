/**
 * Swarm mode across a lab of three engines, with the stock docker CLI: Docker's answers outside a
 * swarm, init, join-token, joins as manager and worker, bad tokens, node ls, refused services, a
 * worker that leaves and rejoins as a manager, and writes that resume after the etcd leader is
 * killed. A fourth host, a worker joined through host 1, keeps working when host 1's engine and etcd
 * member are both killed (its etcd client follows the member list): its new containers get addresses
 * and answer from another manager's host. Four hosts, because losing one of three managers keeps
 * etcd's quorum while a worker is left. The lab's down (helper) checks that no etcd, namespace,
 * directory or context is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLab, type Lab } from '../helpers/lab.js';
import { containerReaches, onHost } from '../helpers/reach.js';

const NOT_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const WORKER = "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";

function status(socket: string, method: string, path: string): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: (JSON.parse(body || '{}') as { message?: string }).message ?? '' }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(200);
  }
}

/** `node ls` rows as [hostname, status, manager status], sorted by hostname. */
async function nodeRows(lab: Lab, i: number): Promise<string[][]> {
  const r = await lab.context(i, ['node', 'ls', '--format', '{{.Hostname}}|{{.Status}}|{{.ManagerStatus}}']);
  return r.stdout.trim().split('\n').map((l) => l.split('|')).sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));
}

test('swarm across three engines: init, join as manager and worker, bad tokens, node ls, leader loss, a worker that loses its join manager', { timeout: 420_000 }, async (t) => {
  const lab = await startLab(t, { hosts: 4 });
  const [h1, , h3] = lab.hosts;
  assert.ok(h1 && h3);
  const L = lab.name;

  // Outside a swarm: Docker's 503s (docker-py's teardown accepts nothing else).
  assert.deepEqual(await status(h1.socket, 'GET', '/nodes'), { status: 503, message: NOT_MANAGER });
  assert.deepEqual(await status(h1.socket, 'GET', '/swarm'), { status: 503, message: NOT_MANAGER });
  assert.deepEqual(await status(h1.socket, 'POST', '/swarm/leave?force=1'), { status: 503, message: 'This node is not part of a swarm' });
  const svc = await lab.context(1, ['service', 'ls'], { allowFail: true });
  assert.equal(svc.code, 1);
  assert.equal(svc.stderr.trim(), `Error response from daemon: ${NOT_MANAGER}`);
  assert.equal((await lab.context(1, ['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim(), 'inactive');

  // init: the hosts have two interfaces, so Docker's refusal, then init with an address.
  const auto = await lab.context(1, ['swarm', 'init'], { allowFail: true });
  assert.equal(auto.code, 1);
  assert.match(auto.stderr, /could not choose an IP address to advertise since this system has multiple addresses on different interfaces \(203\.0\.113\.11 on eth0 and 198\.51\.100\.11 on eth1\)/);
  const init = await lab.context(1, ['swarm', 'init', '--advertise-addr', lab.lanAddr(1)], { timeoutMs: 60_000 });
  const m = /^Swarm initialized: current node \(([0-9a-z]{25})\) is now a manager\.\n\nTo add a worker to this swarm, run the following command:\n\n {4}docker swarm join --token (SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}) 198\.51\.100\.11:2377\n\nTo add a manager to this swarm, run 'docker swarm join-token manager' and follow the instructions\.\n\n?$/.exec(init.stdout);
  assert.ok(m, init.stdout);
  const workerToken = (await lab.context(1, ['swarm', 'join-token', '-q', 'worker'])).stdout.trim();
  assert.equal(workerToken, m[2]);
  const managerToken = (await lab.context(1, ['swarm', 'join-token', '-q', 'manager'])).stdout.trim();
  assert.notEqual(managerToken, workerToken);
  const again = await lab.context(1, ['swarm', 'init', '--advertise-addr', lab.lanAddr(1)], { allowFail: true });
  assert.match(again.stderr, /This node is already part of a swarm\. Use "docker swarm leave" to leave this swarm and join another one\./);

  // Bad tokens on host 3: malformed, wrong secret, a CA digest that is not this cluster's.
  const join3 = (token: string) => lab.context(3, ['swarm', 'join', '--token', token, `${lab.lanAddr(1)}:2377`], { allowFail: true, timeoutMs: 60_000 });
  const bad = await join3('SWMTKN-1-nonsense');
  assert.equal(bad.stderr.trim(), 'Error response from daemon: invalid join token');
  const wrongSecret = await join3(`${workerToken.slice(0, -25)}${'a'.repeat(25)}`);
  assert.equal(wrongSecret.stderr.trim(), 'Error response from daemon: rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster');
  const wrongCa = await join3(`SWMTKN-1-${'0'.repeat(49)}1-${workerToken.slice(-25)}`);
  assert.match(wrongCa.stderr.trim(), /^Error response from daemon: remote CA does not match fingerprint\. Expected: 0+1$/);
  assert.equal((await lab.context(3, ['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim(), 'inactive');

  // Joins with the tokens `join-token -q` printed.
  assert.equal((await lab.context(2, ['swarm', 'join', '--token', managerToken, `${lab.lanAddr(1)}:2377`], { timeoutMs: 60_000 })).stdout.trim(), 'This node joined a swarm as a manager.');
  assert.equal((await join3(workerToken)).stdout.trim(), 'This node joined a swarm as a worker.');
  assert.deepEqual(await nodeRows(lab, 1), [[`${L}-1`, 'Ready', 'Leader'], [`${L}-2`, 'Ready', 'Reachable'], [`${L}-3`, 'Ready', '']]);
  assert.deepEqual(await nodeRows(lab, 2), await nodeRows(lab, 1));
  const self = await lab.context(2, ['node', 'ls', '--filter', 'role=manager', '--format', '{{.Self}} {{.Hostname}}']);
  assert.match(self.stdout, new RegExp(`^true ${L}-2$`, 'm'));
  const info3 = await lab.context(3, ['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeAddr}} {{len .Swarm.RemoteManagers}}']);
  assert.equal(info3.stdout.trim(), 'active false 198.51.100.13 2');
  const workerLs = await lab.context(3, ['node', 'ls'], { allowFail: true });
  assert.equal(workerLs.stderr.trim(), `Error response from daemon: ${WORKER}`);
  const managerSvc = await lab.context(1, ['service', 'create', 'busybox'], { allowFail: true });
  assert.match(managerSvc.stderr, /services are not supported by redes/);
  assert.deepEqual(await status(h1.socket, 'GET', '/secrets'), { status: 501, message: (await status(h1.socket, 'GET', '/secrets')).message });
  const inspect3 = await lab.context(1, ['node', 'inspect', `${L}-3`, '--format', '{{.Spec.Role}} {{.Status.State}} {{.Status.Addr}}']);
  assert.equal(inspect3.stdout.trim(), 'worker ready 198.51.100.13');

  // A manager may not leave without --force; the worker leaves, shows Down, is removed, rejoins as manager.
  const leave1 = await lab.context(1, ['swarm', 'leave'], { allowFail: true });
  assert.match(leave1.stderr, /You are attempting to leave the swarm on a node that is participating as a manager\. Removing this node leaves 1 managers out of 2\./);
  assert.equal((await lab.context(3, ['swarm', 'leave'])).stdout.trim(), 'Node left the swarm.');
  assert.deepEqual((await nodeRows(lab, 1))[2], [`${L}-3`, 'Down', '']);
  assert.equal((await lab.context(1, ['node', 'rm', `${L}-3`])).stdout.trim(), `${L}-3`);
  assert.equal((await join3(managerToken)).stdout.trim(), 'This node joined a swarm as a manager.');
  assert.deepEqual((await nodeRows(lab, 1)).map((r) => r[2]), ['Leader', 'Reachable', 'Reachable']);

  // Host 4 joins as a worker through host 1 only; an overlay network and a container on host 2 wait for it.
  assert.equal((await lab.context(4, ['swarm', 'join', '--token', workerToken, `${lab.lanAddr(1)}:2377`], { timeoutMs: 60_000 })).stdout.trim(), 'This node joined a swarm as a worker.');
  await lab.context(1, ['network', 'create', '-d', 'overlay', '--attachable', 'wk']);
  await lab.context(2, ['run', '-d', '--name', 'm2', '--net', 'wk', 'busybox', 'sleep', '600'], { timeoutMs: 60_000 });
  await waitFor('wk listed on host 4', 10_000, async () => (await lab.context(4, ['network', 'ls', '-q', '--filter', 'name=wk'])).stdout.trim() !== '');

  // Kill the etcd leader (host 1's member) and host 1's engine: a write through another manager goes through again.
  const leaderPid = Number((await readFile(`/run/redes/${L}1/etcd.pid`, 'utf8')).trim());
  process.kill(leaderPid, 'SIGKILL');
  await h1.kill9Daemon();
  const deadline = Date.now() + 20_000;
  let rotated = '';
  while (!rotated) {
    const r = await lab.context(2, ['swarm', 'join-token', '--rotate', '-q', 'worker'], { allowFail: true, timeoutMs: 20_000 });
    if (r.code === 0) rotated = r.stdout.trim();
    else if (Date.now() > deadline) assert.fail(`writes did not resume after the leader was killed: ${r.stderr}`);
    else await sleep(200);
  }
  assert.notEqual(rotated, workerToken);
  const leaders = (await nodeRows(lab, 2)).filter((r) => r[2] === 'Leader').map((r) => r[0]);
  assert.equal(leaders.length, 1);
  assert.notEqual(leaders[0], `${L}-1`);

  // The worker joined through host 1, whose engine and member are dead: its new containers still get
  // addresses from the store and are reachable from host 2's container, by address and by name.
  await lab.context(4, ['run', '-d', '--name', 'w4', '--net', 'wk', 'busybox', 'sleep', '600'], { timeoutMs: 90_000 });
  const w4 = (await lab.context(4, ['inspect', '-f', '{{.NetworkSettings.Networks.wk.IPAddress}}', 'w4'])).stdout.trim();
  const m2 = (await lab.context(2, ['inspect', '-f', '{{.NetworkSettings.Networks.wk.IPAddress}}', 'm2'])).stdout.trim();
  assert.match(w4, /^10\.0\.\d+\.\d+$/);
  assert.notEqual(w4, m2);
  await waitFor('m2 reaches w4 across hosts', 20_000, async () => (await lab.context(2, ['exec', 'm2', 'ping', '-c1', '-W2', w4], { allowFail: true })).code === 0);
  assert.ok(await containerReaches(onHost(lab, 2), 'm2', 'w4'), 'm2 pings w4 by name');
  await lab.down();
});
