// Containers on each kind of network end to end: --net=none, --net=host, --net=container:, user
// bridge networks with --ip/--network-alias/--mac-address, reachability between containers of one
// network and isolation between networks, and the way out to the world. Kernel state is read in
// each container's netns. One sandbox for the file; the tests run in order and build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { netnsList, pidInNetns } from '../../src/kernel/netns.js';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import {
  containerNetns, hostPeerOf, hostVeths, inspectContainer, ipIn, runDetached, v4ByLink, waitFor, type IpRoute,
} from '../helpers/containers.js';
import { containerReaches } from '../helpers/reach.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'ctn' });
});
after(() => sb?.down());

const T = { timeoutMs: 20_000 };
const ids = { c1: '', a: '', b: '', c: '', net1: '', net2: '' };

async function ping(from: string, to: string): Promise<number> {
  return (await sb.docker(['exec', from, 'ping', '-c1', '-W2', to], { timeoutMs: 15_000, allowFail: true })).code;
}

test('--net=none: a netns with only lo, Networks.none, no address', async () => {
  ids.c1 = await runDetached(sb, ['--name', 'c1', 'busybox', 'sleep', '3600']);
  const once = await sb.docker(['run', '--rm', '--net=none', 'busybox', 'ip', '-o', 'link'], T);
  assert.match(once.stdout, /^1: lo: /);
  assert.equal(once.stdout.trim().split('\n').length, 1, once.stdout);

  const id = await runDetached(sb, ['--name', 'nonet', '--net=none', 'busybox', 'sleep', '3600']);
  const c = await inspectContainer(sb, 'nonet');
  assert.equal(c.HostConfig.NetworkMode, 'none');
  assert.deepEqual(Object.keys(c.NetworkSettings.Networks), ['none']);
  assert.equal(c.NetworkSettings.IPAddress, '');
  assert.equal(c.NetworkSettings.Networks.none?.IPAddress, '');
  const ns = containerNetns(sb, id);
  assert.deepEqual(v4ByLink(await ipIn(ns, ['addr', 'show'])), { lo: ['127.0.0.1/8'] });
  assert.deepEqual(await ipIn<IpRoute[]>(ns, ['route', 'show']), []);
  await sb.docker(['rm', '-f', 'nonet'], T);
  assert.ok(!(await netnsList()).includes(ns), `netns ${ns} removed`);
});

test('--net=host: the sandbox host eth0 203.0.113.2, no netns of its own', async () => {
  const once = await sb.docker(['run', '--rm', '--net=host', 'busybox', 'ip', 'addr', 'show', 'eth0'], T);
  assert.match(once.stdout, /inet 203\.0\.113\.2\/24 /);
  const id = await runDetached(sb, ['--name', 'hostc', '--net=host', 'busybox', 'sleep', '3600']);
  const c = await inspectContainer(sb, 'hostc');
  assert.equal(c.HostConfig.NetworkMode, 'host');
  assert.deepEqual(Object.keys(c.NetworkSettings.Networks), ['host']);
  assert.equal(c.NetworkSettings.IPAddress, '');
  assert.ok(await pidInNetns(c.State.Pid, sb.name), 'the container runs in the sandbox host netns');
  assert.ok(!(await netnsList()).includes(containerNetns(sb, id)));
  // The host's world is reachable directly.
  const world = await sb.docker(['exec', 'hostc', 'sh', '-c', 'timeout 5 wget -qO- http://203.0.113.1/'], T);
  assert.equal(world.stdout, 'hello from world\n');
  await sb.docker(['rm', '-f', 'hostc'], T);
});

test('--net=container:c1 shares c1\'s netns: same ip addr, Networks {}, NetworkMode container:<id>', async () => {
  const mine = (await sb.docker(['exec', 'c1', 'ip', 'addr'], T)).stdout;
  const theirs = await sb.docker(['run', '--rm', '--net=container:c1', 'busybox', 'ip', 'addr'], T);
  assert.equal(theirs.stdout, mine);
  assert.match(mine, /inet 172\.17\.0\.2\/16 /);

  const id = await runDetached(sb, ['--name', 'shared', '--net=container:c1', 'busybox', 'sleep', '3600']);
  const c = await inspectContainer(sb, 'shared');
  assert.equal(c.HostConfig.NetworkMode, `container:${ids.c1}`);
  assert.deepEqual(c.NetworkSettings.Networks, {});
  assert.equal(c.NetworkSettings.IPAddress, '');
  assert.ok(await pidInNetns(c.State.Pid, containerNetns(sb, ids.c1)), 'shared runs in c1\'s netns');
  assert.ok(!(await netnsList()).includes(containerNetns(sb, id)), 'no netns of its own');
  // c1's address is shared's own.
  assert.ok(await containerReaches(sb, 'shared', '172.17.0.2'), "shared → c1's address, its own");
  await sb.docker(['rm', '-f', 'shared'], T);
  assert.ok((await netnsList()).includes(containerNetns(sb, ids.c1)), 'removing shared keeps c1\'s netns');
  assert.equal((await inspectContainer(sb, 'c1')).State.Running, true);
});

test('a user network with --ip, --network-alias, --mac-address: inspect and kernel', async () => {
  ids.net1 = (await sb.docker(['network', 'create', 'red_prueba1', '--subnet', '10.1.1.0/24', '--gateway', '10.1.1.254'])).stdout.trim();
  ids.net2 = (await sb.docker(['network', 'create', 'red_prueba2', '--subnet', '192.168.10.0/24', '--gateway', '192.168.10.254'])).stdout.trim();
  ids.a = await runDetached(sb, [
    '--name', 'alpha', '--network', 'red_prueba1', '--ip', '10.1.1.10', '--network-alias', 'web', '--mac-address', '02:42:0a:01:01:aa',
    'busybox', 'sleep', '3600',
  ]);
  const c = await inspectContainer(sb, 'alpha');
  assert.equal(c.HostConfig.NetworkMode, 'red_prueba1');
  assert.deepEqual(Object.keys(c.NetworkSettings.Networks), ['red_prueba1']);
  // The top-level (deprecated) address fields are only for the default bridge.
  assert.equal(c.NetworkSettings.IPAddress, '');
  const ep = c.NetworkSettings.Networks.red_prueba1;
  assert.ok(ep);
  assert.equal(ep.NetworkID, ids.net1);
  assert.match(ep.EndpointID, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    { ip: ep.IPAddress, gw: ep.Gateway, len: ep.IPPrefixLen, mac: ep.MacAddress, ipam: ep.IPAMConfig, aliases: ep.Aliases, dns: ep.DNSNames },
    {
      ip: '10.1.1.10', gw: '10.1.1.254', len: 24, mac: '02:42:0a:01:01:aa', ipam: { IPv4Address: '10.1.1.10' },
      aliases: ['web'], dns: ['alpha', 'web', ids.a.slice(0, 12)],
    },
  );
  const ns = containerNetns(sb, ids.a);
  const inside = await ipIn(ns, ['addr', 'show']);
  assert.deepEqual(v4ByLink(inside), { lo: ['127.0.0.1/8'], eth0: ['10.1.1.10/24'] });
  assert.equal(inside.find((l) => l.ifname === 'eth0')?.address, '02:42:0a:01:01:aa');
  const routes = await ipIn<IpRoute[]>(ns, ['route', 'show']);
  assert.ok(routes.some((r) => r.dst === 'default' && r.gateway === '10.1.1.254' && r.dev === 'eth0'), JSON.stringify(routes));
  assert.equal((await hostPeerOf(sb, ns, 'eth0'))?.master, `br-${ids.net1.slice(0, 12)}`);
});

test('two containers on one user network reach each other; on different networks they do not', async () => {
  ids.b = await runDetached(sb, ['--name', 'beta', '--network', 'red_prueba1', 'busybox', 'sleep', '3600']);
  ids.c = await runDetached(sb, ['--name', 'gamma', '--network', 'red_prueba2', 'busybox', 'sleep', '3600']);
  assert.equal((await inspectContainer(sb, 'beta')).NetworkSettings.Networks.red_prueba1?.IPAddress, '10.1.1.1');
  assert.equal((await inspectContainer(sb, 'gamma')).NetworkSettings.Networks.red_prueba2?.IPAddress, '192.168.10.1');
  assert.deepEqual(v4ByLink(await ipIn(containerNetns(sb, ids.c), ['addr', 'show'])), { lo: ['127.0.0.1/8'], eth0: ['192.168.10.1/24'] });

  assert.ok(await containerReaches(sb, 'alpha', '10.1.1.1'), 'a → b');
  assert.ok(await containerReaches(sb, 'beta', '10.1.1.10'), 'b → a');
  assert.ok(await containerReaches(sb, 'alpha', '10.1.1.254'), 'a → its gateway');
  assert.notEqual(await ping('gamma', '10.1.1.10'), 0, 'c (red_prueba2) must not reach a (red_prueba1)');
  assert.notEqual(await ping('alpha', '192.168.10.1'), 0, 'a (red_prueba1) must not reach c (red_prueba2)');
  assert.notEqual(await ping('c1', '10.1.1.10'), 0, 'c1 (bridge) must not reach a (red_prueba1)');
});

test('containers reach the world through masquerade', async () => {
  for (const name of ['alpha', 'gamma', 'c1']) {
    const r = await sb.docker(['exec', name, 'sh', '-c', 'timeout 5 wget -qO- http://203.0.113.1/'], { timeoutMs: 15_000, allowFail: true });
    assert.deepEqual([r.code, r.stdout], [0, 'hello from world\n'], `${name}: ${r.stderr}`);
  }
});

test('docker rm -f of everything leaves no container netns and no veth', async () => {
  await sb.docker(['rm', '-f', 'alpha', 'beta', 'gamma', 'c1'], T);
  assert.deepEqual((await netnsList()).filter((n) => n.startsWith(`${sb.name}-c-`)), []);
  // Deleting a netns frees its veth pairs asynchronously: give the kernel a moment.
  await waitFor('the veths to go', async () => (await hostVeths(sb)).length === 0, 5000).catch(() => undefined);
  assert.deepEqual((await hostVeths(sb)).map((l) => l.ifname), []);
  await sb.docker(['network', 'rm', 'red_prueba1', 'red_prueba2'], T);
});
