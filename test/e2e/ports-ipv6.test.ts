// IPv6 on bridge networks end to end: `--ipv6 --subnet 2001:db8:1::/64` gives dual-stack endpoints,
// `-p 8080:80` publishes on :: too and is reachable from the world over IPv6 (and from the host and
// the container itself), outbound IPv6 is masqueraded, the world cannot reach a container's v6
// address directly, two v6 networks are isolated, and our bridges ignore router advertisements.
// The sandbox uplink is IPv4 only: this file gives it 2001:db8:ff::2 (host) / ::1 (world) itself.
// One sandbox for the file; the tests run in order and build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { containerNetns, inspectContainer, ipIn, runDetached, waitFor } from '../helpers/containers.js';
import { run } from '../../src/kernel/run.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { containerReaches } from '../helpers/reach.js';

let sb: Sandbox;
const HOST4 = '203.0.113.2';
const HOST6 = '2001:db8:ff::2';
const WORLD6 = '2001:db8:ff::1';
const T = { timeoutMs: 20_000 };
const HTTPD = ['sh', '-c', 'mkdir -p /www && echo hi-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www'];

before(async () => {
  sb = await startSandbox(undefined, { prefix: 'prt6' });
  // nodad: the addresses are usable at once (duplicate detection would hold them for a second).
  await sb.exec(['ip', 'addr', 'add', `${HOST6}/64`, 'dev', 'eth0', 'nodad']);
  await sb.world(['ip', 'addr', 'add', `${WORLD6}/64`, 'dev', 'uplink', 'nodad']);
});
after(() => sb?.down());

const url = (ip: string, port: number): string => `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}/`;
const wgetArgv = (u: string): string[] => ['timeout', '3', 'busybox', 'wget', '-q', '-O', '-', u];
async function fromWorld(u: string): Promise<string | undefined> {
  const r = await sb.world(wgetArgv(u), { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}
async function fromHost(u: string): Promise<string | undefined> {
  const r = await sb.exec(wgetArgv(u), { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}
async function fromContainer(name: string, u: string): Promise<string | undefined> {
  const r = await sb.docker(['exec', name, ...wgetArgv(u)], { allowFail: true, timeoutMs: 15_000 });
  return r.code === 0 ? r.stdout.trim() : undefined;
}
/** One echo request, two seconds for its reply: enough to say a peer that must stay unreachable is. */
const ping6 = async (name: string, ip: string): Promise<boolean> =>
  (await sb.docker(['exec', name, 'ping', '-6', '-c1', '-W2', ip], { allowFail: true, ...T })).code === 0;
const served = (probe: () => Promise<string | undefined>): Promise<string> => waitFor('an answer', async () => (await probe()) ?? false, 8_000);
const endpoint = async (name: string, net: string): Promise<{ v4: string; v6: string; gw6: string }> => {
  const ep = (await inspectContainer(sb, name)).NetworkSettings.Networks[net] as unknown as { IPAddress: string; GlobalIPv6Address: string; IPv6Gateway: string };
  return { v4: ep.IPAddress, v6: ep.GlobalIPv6Address, gw6: ep.IPv6Gateway };
};

let web6 = '';

test('--ipv6 network: dual-stack endpoints, v6 gateway, accept_ra=0 on the bridge', async () => {
  await sb.docker(['network', 'create', '--ipv6', '--subnet', '2001:db8:1::/64', 'v6a'], T);
  const net = JSON.parse((await sb.docker(['network', 'inspect', 'v6a'])).stdout)[0] as { Id: string; EnableIPv6: boolean; IPAM: { Config: Array<{ Subnet: string }> } };
  assert.equal(net.EnableIPv6, true);
  const subnets = net.IPAM.Config.map((c) => c.Subnet);
  assert.ok(subnets.includes('2001:db8:1::/64'), subnets.join(' '));
  assert.ok(subnets.some((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s)), `an IPv4 subnet too: ${subnets.join(' ')}`);
  await runDetached(sb, ['--name', 'web6', '--hostname', 'web6', '--network', 'v6a', '-p', '8080:80', 'busybox', ...HTTPD]);
  const ep = await endpoint('web6', 'v6a');
  web6 = ep.v6;
  assert.match(ep.v6, /^2001:db8:1::[0-9a-f]+$/);
  assert.equal(ep.gw6, '2001:db8:1::1');
  assert.match(ep.v4, /^\d+\.\d+\.\d+\.\d+$/);
  const bridge = `br-${net.Id.slice(0, 12)}`;
  for (const b of [bridge, 'docker0']) {
    assert.equal((await sb.exec(['cat', `/proc/sys/net/ipv6/conf/${b}/accept_ra`])).stdout.trim(), '0', `${b} accept_ra`);
  }
});

test('IPv6 is off on interfaces of IPv4-only networks, as in Docker 26.1+; on for dual-stack ones; a user sysctl turns it back on', async () => {
  await sb.docker(['network', 'create', '--subnet', '10.66.0.0/24', 'v4only'], T);
  // What a container sees: eth0's addresses by family and its disable_ipv6.
  const probe = 'for i in eth0 eth1; do [ -e /sys/class/net/$i ] || continue; echo "$i $(cat /proc/sys/net/ipv6/conf/$i/disable_ipv6) $(ip -o addr show dev $i | grep -c inet6)"; done';
  const seen = async (args: string[]): Promise<string> => (await sb.docker(['run', '--rm', ...args, 'busybox', 'sh', '-c', probe], T)).stdout.trim();
  assert.equal(await seen(['--network', 'v4only']), 'eth0 1 0', 'a user IPv4 network: off, no fe80::');
  assert.equal(await seen([]), 'eth0 1 0', 'the default bridge: off');
  // Dual stack: the global address and the kernel's link-local one.
  assert.equal(await seen(['--network', 'v6a']), 'eth0 0 2');
  // The user's own sysctl wins (runc writes it once the interface is there).
  assert.equal(await seen(['--network', 'v4only', '--sysctl', 'net.ipv6.conf.eth0.disable_ipv6=0']), 'eth0 0 1');
  // Per interface: a container on both has eth0 (v6a) on and eth1 (v4only) off; the endpoint
  // sysctls option turns one back on.
  await runDetached(sb, ['--name', 'both', '--network', 'v6a', 'busybox', 'sleep', '3600']);
  await sb.docker(['network', 'connect', 'v4only', 'both'], T);
  assert.equal((await sb.docker(['exec', 'both', 'sh', '-c', probe], T)).stdout.trim(), 'eth0 0 2\neth1 1 0');
  await sb.docker(['network', 'disconnect', 'v4only', 'both'], T);
  await sb.docker(['network', 'connect', '--driver-opt', 'com.docker.network.endpoint.sysctls=net.ipv6.conf.IFNAME.disable_ipv6=0', 'v4only', 'both'], T);
  assert.equal((await sb.docker(['exec', 'both', 'sh', '-c', probe], T)).stdout.trim(), 'eth0 0 2\neth1 0 1');
  // The kernel's view from outside agrees (no fe80:: on an IPv4-only container's eth0).
  const id = await runDetached(sb, ['--name', 'quiet4', '--network', 'v4only', 'busybox', 'sleep', '3600']);
  assert.deepEqual(await ipIn(containerNetns(sb, id), ['-6', 'addr', 'show', 'dev', 'eth0']), []);
  await sb.docker(['rm', '-f', 'both', 'quiet4'], T);
  await sb.docker(['network', 'rm', 'v4only'], T);
});

test('-p 8080:80 publishes on 0.0.0.0 and ::, reachable over v6 from the world, the host and the container itself', async () => {
  const port = (await sb.docker(['port', 'web6'])).stdout.trim().split('\n');
  assert.deepEqual(port, ['80/tcp -> 0.0.0.0:8080', '80/tcp -> [::]:8080']);
  assert.equal(await served(() => fromWorld(url(HOST6, 8080))), 'hi-web6');
  assert.equal(await fromWorld(url(HOST4, 8080)), 'hi-web6', 'and over v4');
  assert.equal(await fromHost(url(HOST6, 8080)), 'hi-web6');
  assert.equal(await fromContainer('web6', url(HOST6, 8080)), 'hi-web6', 'hairpin over v6');
  assert.equal(await fromHost('http://[::1]:8080/'), undefined, '::1 is never DNATed');
});

test('outbound IPv6 is masqueraded: the world has no route to the subnet and still answers', async () => {
  assert.ok(await containerReaches(sb, 'web6', WORLD6, { family: '-6' }), 'web6 → the world over IPv6');
});

test('the world cannot reach a container\'s v6 address directly, even with a route to the subnet', async () => {
  await sb.world(['ip', '-6', 'route', 'add', '2001:db8:1::/64', 'via', HOST6]);
  assert.equal(await fromWorld(url(web6, 80)), undefined);
  assert.equal(await fromWorld(url(HOST6, 8080)), 'hi-web6', 'the published port still works');
});

test('isolation: another v6 network reaches neither the container\'s v6 address nor its gateway', async () => {
  await sb.docker(['network', 'create', '--ipv6', '--subnet', '2001:db8:2::/64', 'v6b'], T);
  await runDetached(sb, ['--name', 'other6', '--network', 'v6b', 'busybox', 'sleep', '3600']);
  assert.match((await endpoint('other6', 'v6b')).v6, /^2001:db8:2::/);
  assert.equal(await fromContainer('other6', url(web6, 80)), undefined);
  assert.equal(await ping6('other6', '2001:db8:1::1'), false, 'the gateway of another network');
  assert.ok(await containerReaches(sb, 'other6', '2001:db8:2::1', { family: '-6' }), 'its own gateway');
  assert.equal(await served(() => fromContainer('other6', url(HOST6, 8080))), 'hi-web6', 'published ports are open to all');
});

test('after kill -9 and a restart, v6 forwarding and the v6 publication are back', async () => {
  await sb.kill9Daemon();
  await sb.exec(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=0']);
  await sb.restartDaemon();
  assert.equal((await sb.exec(['cat', '/proc/sys/net/ipv6/conf/all/forwarding'])).stdout.trim(), '1');
  assert.equal(await served(() => fromWorld(url(HOST6, 8080))), 'hi-web6');
});

test('UDP over IPv6 through a published port from the world', async () => {
  // busybox nc has no UDP server: a node listener runs in the container's netns.
  const id = await runDetached(sb, ['--name', 'udp6', '--network', 'v6a', '-p', '5353:53/udp', 'busybox', 'sleep', '3600']);
  const script = "const s=require('dgram').createSocket({type:'udp6',ipv6Only:true});s.on('message',(m,r)=>{process.stdout.write(String(m)+' '+r.family);process.exit(0)});s.bind(53);setTimeout(()=>process.exit(1),8000)";
  const listener = run(['nsenter', `--net=/run/netns/${containerNetns(sb, id)}`, process.execPath, '-e', script], { allowFailure: true, timeoutMs: 10_000 });
  let done = false;
  void listener.finally(() => { done = true; });
  while (!done) {
    await sb.world(['bash', '-c', `echo ping-udp6 > /dev/udp/${HOST6}/5353`], { allowFail: true });
    await sleep(200);
  }
  assert.match((await listener).stdout, /ping-udp6\s+IPv6/);
});

test('-p [2001:db8:ff::2]:8090:80 is reachable on that address only; -p [::1]:8091:80 never from outside', async () => {
  await runDetached(sb, ['--name', 'ex6', '--hostname', 'ex6', '--network', 'v6a', '-p', `[${HOST6}]:8090:80`, '-p', '[::1]:8091:80', 'busybox', ...HTTPD]);
  const port = (await sb.docker(['port', 'ex6'])).stdout.trim().split('\n');
  assert.deepEqual(port, [`80/tcp -> [${HOST6}]:8090`, '80/tcp -> [::1]:8091']);
  assert.equal(await served(() => fromWorld(url(HOST6, 8090))), 'hi-ex6');
  assert.equal(await fromHost(url(HOST6, 8090)), 'hi-ex6');
  assert.equal(await fromWorld(url(HOST4, 8090)), undefined, 'not on the v4 address');
  assert.equal(await fromWorld(url(HOST6, 8091)), undefined);
  // No userland proxy and no route_localnet for IPv6: ::1 can only be reserved, not forwarded.
  assert.equal(await fromHost('http://[::1]:8091/'), undefined);
  await sb.docker(['rm', '-f', 'ex6'], T);
});

test('stopping the container removes its v6 publication', async () => {
  await sb.docker(['rm', '-f', 'web6'], T);
  assert.equal(await fromWorld(url(HOST6, 8080)), undefined);
});
