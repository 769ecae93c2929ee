// The macvlan driver end to end with the docker CLI, in a sandbox with a lan (`redes sandbox up
// --lan`: the host's eth1 sits on `<name>-lan`, 198.51.100.0/24, whose peer .1 serves HTTP). The
// seed's commands with the subnet adapted, reachability in bridge and private mode, the lan peer
// reaching containers, the host not reaching them (macvlan's documented limit) unless the network
// has a host shim (-o redes.macvlan.host_shim), Docker's errors, kill -9 recovery, the parent-less
// network, and rm leaving no link. Tests run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/kernel/run.js';
import { netnsList, nsenterArgv } from '../../src/kernel/netns.js';
import { startSandbox, type IpLink, type Sandbox } from '../helpers/sandbox.js';
import { containerNetns, inspectContainer, ipIn, runDetached, v4ByLink, type IpRoute } from '../helpers/containers.js';
import { answersWithin } from '../helpers/reach.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'mvl', lan: true });
});
after(() => sb?.down());

const T = { timeoutMs: 30_000 };
const ids: Record<string, string> = {};
let hostLinksBefore: string[] = [];

interface NetworkInspect {
  Id: string;
  Driver: string;
  Internal: boolean;
  Options: Record<string, string>;
  IPAM: { Config: Array<{ Subnet: string; Gateway?: string }> };
  Containers: Record<string, { Name: string; IPv4Address: string; MacAddress: string }>;
}

async function inspectNetwork(name: string): Promise<NetworkInspect> {
  const [n] = JSON.parse((await sb.docker(['network', 'inspect', name])).stdout) as NetworkInspect[];
  assert.ok(n);
  return n;
}

/** One echo request from a container, one second for its reply: enough to say a peer must stay unreachable. */
async function ping(from: string, to: string, family: '-4' | '-6' = '-4'): Promise<number> {
  return (await sb.docker(['exec', from, 'ping', family, '-c1', '-W1', to], { timeoutMs: 15_000, allowFail: true })).code;
}

async function lanPing(to: string): Promise<number> {
  const r = await run(nsenterArgv(`${sb.name}-lan`, ['busybox', 'ping', '-c1', '-W1', to]), { allowFailure: true, timeoutMs: 10_000 });
  return r.code;
}

/** Whether `to` answers `from`, asked once a second for up to 10 s: one lost packet is no verdict. */
const reaches = (from: string, to: string, family: '-4' | '-6' = '-4'): Promise<boolean> => answersWithin(async () => (await ping(from, to, family)) === 0);
/** Whether `to` answers the lan peer, asked the same way. */
const lanReaches = (to: string): Promise<boolean> => answersWithin(async () => (await lanPing(to)) === 0);

async function wgetLan(from: string): Promise<string> {
  return (await sb.docker(['exec', from, 'sh', '-c', 'timeout 5 wget -qO- http://198.51.100.1/'], T)).stdout;
}

async function errorOf(args: string[]): Promise<string> {
  const r = await sb.docker(args, { ...T, allowFail: true });
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail`);
  return r.stderr.trim();
}

/** Names of the sandbox host's links, and of its macvlan links (there should never be one). */
const hostLinks = async (): Promise<string[]> => (await sb.ipJson<IpLink[]>(['link', 'show'])).map((l) => l.ifname).sort();
const hostMacvlans = async (): Promise<string[]> => (await sb.ipJson<IpLink[]>(['link', 'show', 'type', 'macvlan'])).map((l) => l.ifname);

test("the seed's commands: a macvlan network on eth1 and a container at 198.51.100.3", async () => {
  hostLinksBefore = await hostLinks();
  assert.ok(hostLinksBefore.includes('eth1'));
  const created = await sb.docker(['network', 'create', '-d', 'macvlan', '--subnet=198.51.100.0/24', '--gateway=198.51.100.1', '-o', 'parent=eth1', 'mired_vmaclan'], T);
  ids.net = created.stdout.trim();
  ids.c3 = (await sb.docker(['container', 'run', '--net=mired_vmaclan', '--ip=198.51.100.3', '-itd', 'busybox', '/bin/sh'], T)).stdout.trim();
  assert.match(ids.c3, /^[0-9a-f]{64}$/);
  ids.c4 = await runDetached(sb, ['--name', 'm4', '--net=mired_vmaclan', '--ip=198.51.100.4', 'busybox', 'sleep', '3600']);

  const n = await inspectNetwork('mired_vmaclan');
  assert.equal(n.Driver, 'macvlan');
  assert.deepEqual(n.Options, { parent: 'eth1' });
  assert.deepEqual(n.IPAM.Config, [{ Subnet: '198.51.100.0/24', Gateway: '198.51.100.1' }]);
  assert.deepEqual(Object.keys(n.Containers).sort(), [ids.c3, ids.c4].sort());
  assert.equal(n.Containers[ids.c4 ?? '']?.IPv4Address, '198.51.100.4/24');

  const c = await inspectContainer(sb, ids.c3);
  const ep = c.NetworkSettings.Networks.mired_vmaclan;
  assert.equal(ep?.IPAddress, '198.51.100.3');
  assert.equal(ep?.Gateway, '198.51.100.1');
  const ns = containerNetns(sb, ids.c3);
  const [eth0] = await ipIn<Array<IpLink & { address: string; linkinfo?: { info_kind?: string; info_data?: { mode?: string } } }>>(ns, ['-details', 'addr', 'show', 'dev', 'eth0']);
  assert.equal(eth0?.linkinfo?.info_kind, 'macvlan');
  assert.equal(eth0?.linkinfo?.info_data?.mode, 'bridge');
  assert.equal(eth0?.address, ep?.MacAddress, 'the child has the MAC the engine shows');
  assert.deepEqual(v4ByLink(await ipIn(ns, ['addr', 'show'])), { lo: ['127.0.0.1/8'], eth0: ['198.51.100.3/24'] });
  // An IPv4-only network: IPv6 is off on the child (no fe80::), as Docker does.
  assert.deepEqual(await ipIn(ns, ['-6', 'addr', 'show', 'dev', 'eth0']), []);
  const routes = await ipIn<IpRoute[]>(ns, ['route', 'show', 'default']);
  assert.equal(routes[0]?.gateway, '198.51.100.1');
  // No bridge, veth or macvlan appears in the engine's host: the children live in the containers only.
  assert.deepEqual(await hostLinks(), hostLinksBefore);
});

test('bridge mode: containers reach the lan peer (HTTP) and each other; the lan peer reaches them; the host does not', async () => {
  assert.equal(await wgetLan('m4'), 'hello from lan\n');
  assert.equal(await wgetLan(ids.c3 ?? ''), 'hello from lan\n');
  assert.ok(await reaches('m4', '198.51.100.3'), 'm4 → c3');
  assert.ok(await reaches(ids.c3 ?? '', '198.51.100.4'), 'c3 → m4');
  assert.ok(await lanReaches('198.51.100.3'), 'lan → c3');
  assert.ok(await lanReaches('198.51.100.4'), 'lan → m4');
  // Documented macvlan behaviour: frames the parent sends never reach its own children.
  const fromHost = await sb.exec(['busybox', 'ping', '-c1', '-W1', '198.51.100.3'], { allowFail: true });
  assert.notEqual(fromHost.code, 0, 'the engine host cannot reach a macvlan container directly');
});

test("Docker's errors: missing parent, VLAN parent without 802.1q, overlapping subnet, passthru, bad mode, address outside the subnet", async () => {
  assert.match(await errorOf(['network', 'create', '-d', 'macvlan', '--subnet=10.20.0.0/24', '-o', 'parent=eth9', 'bad1']), /invalid subinterface vlan name eth9, example formatting is eth0\.10$/);
  assert.match(await errorOf(['network', 'create', '-d', 'macvlan', '--subnet=10.20.0.0/24', '-o', 'parent=eth1.10', 'bad2']), /failed to create eth1\.10 vlan link: this kernel has no 802\.1q VLAN support/);
  assert.match(await errorOf(['network', 'create', '-d', 'macvlan', '--subnet=198.51.100.128/25', '-o', 'parent=eth1', 'bad3']), /invalid pool request: Pool overlaps with other one on this address space$/);
  assert.match(await errorOf(['network', 'create', '-d', 'macvlan', '--subnet=10.20.0.0/24', '-o', 'parent=eth1', '-o', 'macvlan_mode=passthru', 'bad4']), new RegExp(`cannot use mode passthru, macvlan network ${ids.net} is already using parent interface eth1$`));
  assert.match(await errorOf(['network', 'create', '-d', 'macvlan', '-o', 'parent=eth1', '-o', 'macvlan_mode=l3', 'bad5']), /requested macvlan mode 'l3' is not valid, 'bridge' mode is the macvlan driver default$/);
  assert.match(await errorOf(['run', '-d', '--net=mired_vmaclan', '--ip=10.9.9.9', 'busybox', 'true']), /invalid address 10\.9\.9\.9: It does not belong to any of this network's subnets/);
  // A second macvlan network on the same parent with another subnet is fine.
  await sb.docker(['network', 'create', '-d', 'macvlan', '--subnet=10.20.0.0/24', '-o', 'parent=eth1', 'mv_other'], T);
  await sb.docker(['network', 'rm', 'mv_other'], T);
  const names = (await sb.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter(Boolean).sort();
  assert.deepEqual(names, ['bridge', 'host', 'mired_vmaclan', 'none']);
  assert.deepEqual(await hostLinks(), hostLinksBefore, 'failed creates leave no link');
});

test('kill -9 the daemon and restart: the containers keep working, and a new one joins', async () => {
  await sb.kill9Daemon();
  assert.ok(await lanReaches('198.51.100.3'), 'the data path does not need the daemon');
  await sb.restartDaemon();
  assert.ok(await reaches('m4', '198.51.100.3'));
  assert.equal(await wgetLan('m4'), 'hello from lan\n');
  ids.c5 = await runDetached(sb, ['--name', 'm5', '--net=mired_vmaclan', '--mac-address', '02:00:5e:10:00:05', 'busybox', 'sleep', '3600']);
  const ep5 = (await inspectContainer(sb, 'm5')).NetworkSettings.Networks.mired_vmaclan;
  const ip5 = ep5?.IPAddress ?? '';
  assert.equal(ep5?.MacAddress, '02:00:5e:10:00:05');
  const [eth0] = await ipIn<Array<IpLink & { address: string }>>(containerNetns(sb, ids.c5), ['link', 'show', 'dev', 'eth0']);
  assert.equal(eth0?.address, '02:00:5e:10:00:05', '--mac-address is the child MAC');
  assert.match(ip5, /^198\.51\.100\.\d+$/);
  assert.ok(!['198.51.100.1', '198.51.100.3', '198.51.100.4'].includes(ip5), `m5 got a free address (${ip5})`);
  assert.ok(await reaches('m5', '198.51.100.4'));
  assert.ok(await lanReaches(ip5));
  assert.deepEqual(await hostLinks(), hostLinksBefore);
});

test('rm leaves no link and no namespace; the network is removed', async () => {
  await sb.docker(['rm', '-f', ids.c3 ?? '', 'm4', 'm5'], T);
  for (const id of [ids.c3, ids.c4, ids.c5]) assert.ok(!(await netnsList()).includes(containerNetns(sb, id ?? '')));
  assert.deepEqual(await hostMacvlans(), []);
  await sb.docker(['network', 'rm', 'mired_vmaclan'], T);
  assert.deepEqual(await hostLinks(), hostLinksBefore);
  assert.notEqual(await lanPing('198.51.100.3'), 0);
});

test('private mode: containers reach the lan peer but not each other', async () => {
  await sb.docker(['network', 'create', '-d', 'macvlan', '--subnet=198.51.100.0/24', '--gateway=198.51.100.1', '-o', 'parent=eth1', '-o', 'macvlan_mode=private', 'mv_private'], T);
  assert.deepEqual((await inspectNetwork('mv_private')).Options, { parent: 'eth1', macvlan_mode: 'private' });
  await runDetached(sb, ['--name', 'p1', '--net=mv_private', '--ip=198.51.100.11', 'busybox', 'sleep', '3600']);
  await runDetached(sb, ['--name', 'p2', '--net=mv_private', '--ip=198.51.100.12', 'busybox', 'sleep', '3600']);
  assert.equal(await wgetLan('p1'), 'hello from lan\n');
  assert.equal(await wgetLan('p2'), 'hello from lan\n');
  assert.ok(await lanReaches('198.51.100.12'));
  assert.notEqual(await ping('p1', '198.51.100.12'), 0, 'p1 must not reach p2');
  await sb.docker(['rm', '-f', 'p1', 'p2'], T);
  await sb.docker(['network', 'rm', 'mv_private'], T);
  assert.deepEqual(await hostLinks(), hostLinksBefore);
});

test('no parent: a private dm- parent; containers reach each other only; it goes with the network', async () => {
  const id = (await sb.docker(['network', 'create', '-d', 'macvlan', '--subnet=10.30.0.0/24', 'mv_noparent'], T)).stdout.trim();
  const dm = `dm-${id.slice(0, 12)}`;
  assert.deepEqual((await inspectNetwork('mv_noparent')).Options, {});
  assert.ok((await hostLinks()).includes(dm));
  await runDetached(sb, ['--name', 'i1', '--net=mv_noparent', 'busybox', 'sleep', '3600']);
  await runDetached(sb, ['--name', 'i2', '--net=mv_noparent', 'busybox', 'sleep', '3600']);
  const ip2 = (await inspectContainer(sb, 'i2')).NetworkSettings.Networks.mv_noparent?.IPAddress ?? '';
  assert.ok(await reaches('i1', ip2));
  assert.notEqual(await ping('i1', '198.51.100.1'), 0, 'nothing outside the network');
  assert.deepEqual(await ipIn(containerNetns(sb, (await inspectContainer(sb, 'i1')).Id), ['route', 'show', 'default']), []);
  // The private parent survives a daemon crash and restart.
  await sb.kill9Daemon();
  await sb.restartDaemon();
  assert.ok(await reaches('i2', (await inspectContainer(sb, 'i1')).NetworkSettings.Networks.mv_noparent?.IPAddress ?? ''));
  await sb.docker(['rm', '-f', 'i1', 'i2'], T);
  await sb.docker(['network', 'rm', 'mv_noparent'], T);
  assert.deepEqual(await hostLinks(), hostLinksBefore);
});

test('dual stack: --ipv6 gives each child an IPv6 address of the subnet, and they reach each other over it', async () => {
  await sb.docker(['network', 'create', '-d', 'macvlan', '--ipv6', '--subnet=10.40.0.0/24', '--subnet=fd00:40::/64', '-o', 'parent=eth1', 'mv_six'], T);
  await runDetached(sb, ['--name', 's1', '--net=mv_six', 'busybox', 'sleep', '3600']);
  await runDetached(sb, ['--name', 's2', '--net=mv_six', '--ip6=fd00:40::22', 'busybox', 'sleep', '3600']);
  const ep1 = (await inspectContainer(sb, 's1')).NetworkSettings.Networks.mv_six as { GlobalIPv6Address?: string } | undefined;
  assert.match(ep1?.GlobalIPv6Address ?? '', /^fd00:40::/);
  const s1 = await inspectContainer(sb, 's1');
  const v6routes = await ipIn<IpRoute[]>(containerNetns(sb, s1.Id), ['-6', 'route', 'show', 'default']);
  assert.equal(v6routes[0]?.gateway, 'fd00:40::1', 'IPv6 default route via the network gateway');
  assert.equal((await sb.docker(['exec', 's1', 'cat', '/proc/sys/net/ipv6/conf/eth0/disable_ipv6'], T)).stdout.trim(), '0', 'IPv6 stays on for a dual-stack child');
  assert.ok(await reaches('s1', 'fd00:40::22', '-6'), 's1 → s2 over IPv6');
  await sb.docker(['rm', '-f', 's1', 's2'], T);
  await sb.docker(['network', 'rm', 'mv_six'], T);
  assert.deepEqual(await hostLinks(), hostLinksBefore);
});

test('host shim: -o redes.macvlan.host_shim lets the engine host ping and fetch HTTP from containers; rm and kill -9 keep it right', async () => {
  const K = 'redes.macvlan.host_shim';
  const HTTPD = ['sh', '-c', 'mkdir -p /www && echo hi-shim > /www/index.html && exec httpd -f -p 80 -h /www'];
  const hostPing = async (to: string): Promise<number> => (await sb.exec(['busybox', 'ping', '-c1', '-W1', to], { allowFail: true, timeoutMs: 10_000 })).code;
  const hostReaches = (to: string): Promise<boolean> => answersWithin(async () => (await hostPing(to)) === 0);
  const hostGet = async (to: string): Promise<string> => {
    for (let i = 0; ; i++) {
      const r = await sb.exec(['timeout', '5', 'busybox', 'wget', '-qO-', `http://${to}/`], { allowFail: true, timeoutMs: 10_000 });
      if (r.code === 0 || i >= 20) return r.stdout;
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  const shimRoutes = async (dev: string): Promise<string[]> => (await sb.ipJson<IpRoute[]>(['route', 'show', 'dev', dev])).map((r) => r.dst).sort();
  // Bad shim addresses fail the create and leave nothing.
  assert.match(await errorOf(['network', 'create', '-d', 'macvlan', '--subnet=198.51.100.0/24', '--gateway=198.51.100.1', '-o', 'parent=eth1', '-o', `${K}=198.51.100.1`, 'bad_shim']), /is the network's gateway$/);
  assert.match(await errorOf(['network', 'create', '-d', 'macvlan', '--subnet=198.51.100.0/24', '--gateway=198.51.100.1', '-o', 'parent=eth1', '-o', `${K}=198.51.100.2`, 'bad_shim']), /198\.51\.100\.2 is already an address of the host \(on eth1\)$/);
  assert.deepEqual(await hostLinks(), hostLinksBefore);

  // The engine reserves the shim address in IPAM by itself (shown as an aux address), so no container is given it.
  const id = (
    await sb.docker(['network', 'create', '-d', 'macvlan', '--subnet=198.51.100.0/24', '--gateway=198.51.100.1', '-o', 'parent=eth1', '-o', `${K}=198.51.100.254`, 'mv_shim'], T)
  ).stdout.trim();
  const shim = `mvs-${id.slice(0, 8)}`;
  assert.deepEqual((await inspectNetwork('mv_shim')).Options, { parent: 'eth1', [K]: '198.51.100.254' });
  const auxOut = await sb.docker(['network', 'inspect', '-f', '{{json (index .IPAM.Config 0).AuxiliaryAddresses}}', 'mv_shim'], T);
  assert.equal(auxOut.stdout.trim(), '{"host_shim":"198.51.100.254"}');
  assert.deepEqual(v4ByLink(await sb.ipJson(['addr', 'show', 'dev', shim])), { [shim]: ['198.51.100.254/32'] });
  await runDetached(sb, ['--name', 'h1', '--net=mv_shim', '--ip=198.51.100.21', 'busybox', ...HTTPD]);
  await runDetached(sb, ['--name', 'h2', '--net=mv_shim', 'busybox', 'sleep', '3600']);
  const ip2 = (await inspectContainer(sb, 'h2')).NetworkSettings.Networks.mv_shim?.IPAddress ?? '';
  assert.deepEqual(await shimRoutes(shim), ['198.51.100.21', ip2].sort(), 'a /32 route per container, nothing else');
  assert.ok(await hostReaches('198.51.100.21'), 'host → h1 through the shim');
  assert.ok(await hostReaches(ip2), 'host → h2 through the shim');
  assert.equal(await hostGet('198.51.100.21'), 'hi-shim\n', 'host fetches HTTP from h1');
  assert.ok(await hostReaches('198.51.100.1'), 'the host still reaches the lan peer through eth1');
  assert.ok(await lanReaches('198.51.100.21'), 'lan → h1');
  assert.equal(await wgetLan('h1'), 'hello from lan\n');
  assert.ok(await reaches('h2', '198.51.100.21'));
  await sb.docker(['rm', '-f', 'h2'], T);
  assert.deepEqual(await shimRoutes(shim), ['198.51.100.21'], 'rm drops the container route');

  await sb.kill9Daemon();
  assert.ok(await hostReaches('198.51.100.21'), 'the shim does not need the daemon');
  await sb.restartDaemon();
  assert.equal(await hostGet('198.51.100.21'), 'hi-shim\n');
  await runDetached(sb, ['--name', 'h3', '--net=mv_shim', 'busybox', 'sleep', '3600']);
  const ip3 = (await inspectContainer(sb, 'h3')).NetworkSettings.Networks.mv_shim?.IPAddress ?? '';
  assert.ok(await hostReaches(ip3), 'a container started after the restart is reached too');

  await sb.docker(['rm', '-f', 'h1', 'h3'], T);
  assert.deepEqual(await shimRoutes(shim), []);
  await sb.docker(['network', 'rm', 'mv_shim'], T);
  assert.deepEqual(await hostLinks(), hostLinksBefore, 'network rm removes the shim');
  assert.deepEqual(await sb.ipJson<IpRoute[]>(['route', 'show', '198.51.100.21/32']), []);
  assert.notEqual(await hostPing('198.51.100.21'), 0);
});
