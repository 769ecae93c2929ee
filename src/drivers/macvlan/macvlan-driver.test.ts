// The macvlan driver against the real kernel, in throwaway namespaces `mvt<8 hex>-*`: a host `-h`
// whose `eth1` is a veth into a lan `-l` (198.51.100.1/24), and containers `-c1`, `-c2`. The driver
// acts in `-h` (its hostNetns option), so the machine's root namespace is never touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { run } from '../../kernel/run.js';
import { ipJson, type IpAddr } from '../../kernel/ip.js';
import { netnsAdd, netnsDelete, nsenterArgv } from '../../kernel/netns.js';
import type { DriverNetwork, EndpointSpec } from '../driver.js';
import type { MacvlanOptions } from './options.js';
import { MacvlanDriver } from './macvlan-driver.js';
import { OWNER_ALIAS } from './options.js';
import { answersWithin } from '../../util/index.js';

interface Lab {
  host: string;
  lan: string;
  c1: string;
  c2: string;
}

async function lab(t: { after: (fn: () => Promise<void>) => void }): Promise<Lab> {
  const p = `mvt${randomBytes(4).toString('hex')}`;
  const l: Lab = { host: `${p}-h`, lan: `${p}-l`, c1: `${p}-c1`, c2: `${p}-c2` };
  t.after(async () => {
    for (const ns of Object.values(l)) await netnsDelete(ns);
  });
  for (const ns of Object.values(l)) await netnsAdd(ns);
  await run(['ip', '-n', l.host, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'p0', 'netns', l.lan]);
  await run(['ip', '-n', l.lan, 'addr', 'add', '198.51.100.1/24', 'dev', 'p0']);
  await run(['ip', '-n', l.lan, 'link', 'set', 'p0', 'up']);
  await run(['ip', '-n', l.host, 'link', 'set', 'eth1', 'up']);
  return l;
}

const ID = (c: string): string => c.repeat(64);

const net = (id: string, raw: Record<string, string>, v4 = { subnet: '198.51.100.0/24', gateway: '198.51.100.1', auxAddresses: {} }): DriverNetwork<MacvlanOptions> => ({
  id,
  name: `mv-${id.slice(0, 4)}`,
  internal: false,
  enableIPv4: true,
  enableIPv6: false,
  options: new MacvlanDriver().parseOptions(raw).options,
  ipv4: v4,
});

/** An endpoint's identity; the test gives the addresses. */
const ep = (ifname: string): Pick<EndpointSpec, 'id' | 'container' | 'ifname'> => ({ id: `e-${ifname}`, container: { id: 'c'.repeat(64), name: 'c', aliases: [] }, ifname });

/** One echo request, one second for its reply: enough to say a peer that must stay unreachable is. */
async function ping(ns: string, to: string, family: '-4' | '-6' = '-4'): Promise<boolean> {
  const r = await run(nsenterArgv(ns, ['busybox', 'ping', family, '-c', '1', '-W', '1', to]), { allowFailure: true, timeoutMs: 5000 });
  return r.code === 0;
}

/** Whether `to` answers within 10 s, asked once a second: one lost ARP request or echo is no verdict. */
const reaches = (ns: string, to: string, family: '-4' | '-6' = '-4'): Promise<boolean> => answersWithin(() => ping(ns, to, family));

async function linkNames(ns: string): Promise<string[]> {
  return (await ipJson<IpAddr[]>(['link', 'show'], ns)).map((l) => l.ifname);
}

test('bridge mode: children with the given MAC and address reach the lan and each other; leave removes them', async (t) => {
  const l = await lab(t);
  const d = new MacvlanDriver(l.host);
  const n = net(ID('a'), { parent: 'eth1' });
  await d.restore([]);
  await d.createNetwork(n);
  const r = await d.joinEndpoint(n, l.c1, { ...ep('eth0'), mac: '02:42:c6:33:64:03', ipv4: '198.51.100.3/24', gatewayV4: '198.51.100.1', mtu: 1500 });
  assert.equal(r.hostIfname, '');
  await d.joinEndpoint(n, l.c2, { ...ep('eth0'), mac: '02:42:c6:33:64:04', ipv4: '198.51.100.4/24', ipv6: 'fd00:64::4/64', mtu: 1500 });
  await d.joinEndpoint(n, l.c1, { ...ep('eth1'), mac: '02:42:c6:33:64:05', ipv6: 'fd00:64::5/64', mtu: 1500 });
  assert.ok(await reaches(l.c1, 'fd00:64::4', '-6'), 'IPv6 between children (a second interface eth1 in c1)');
  const [eth0] = await ipJson<Array<IpAddr & { linkinfo?: { info_kind?: string; info_data?: { mode?: string } } }>>(['-details', 'addr', 'show', 'dev', 'eth0'], l.c1);
  assert.equal(eth0?.address, '02:42:c6:33:64:03');
  assert.equal(eth0?.linkinfo?.info_kind, 'macvlan');
  assert.equal(eth0?.linkinfo?.info_data?.mode, 'bridge');
  assert.deepEqual(eth0?.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), ['198.51.100.3/24']);
  const routes = await ipJson<Array<{ dst: string; gateway?: string }>>(['route', 'show', 'default'], l.c1);
  assert.equal(routes[0]?.gateway, '198.51.100.1');
  assert.ok(await reaches(l.c1, '198.51.100.1'));
  assert.ok(await reaches(l.c1, '198.51.100.4'));
  assert.ok(await reaches(l.lan, '198.51.100.3'));
  // The host's eth1 is only a parent: nothing new appears beside it.
  assert.deepEqual((await linkNames(l.host)).sort(), ['eth1', 'lo']);
  await d.leaveEndpoint(n, l.c1, { id: `e-eth0`, ifname: 'eth0' });
  await d.leaveEndpoint(n, l.c1, { id: `e-eth0`, ifname: 'eth0' }); // twice is fine
  await d.leaveEndpoint(n, l.c1, { id: `e-eth1`, ifname: 'eth1' });
  assert.deepEqual(await linkNames(l.c1), ['lo']);
  await d.deleteNetwork(n);
  assert.deepEqual((await linkNames(l.host)).sort(), ['eth1', 'lo'], 'a parent the driver did not make stays');
});

test('private mode: children reach the lan but not each other', async (t) => {
  const l = await lab(t);
  const d = new MacvlanDriver(l.host);
  const n = net(ID('b'), { parent: 'eth1', macvlan_mode: 'private' });
  await d.createNetwork(n);
  await d.joinEndpoint(n, l.c1, { ...ep('eth0'), mac: '02:42:c6:33:64:03', ipv4: '198.51.100.3/24', mtu: 1500 });
  await d.joinEndpoint(n, l.c2, { ...ep('eth0'), mac: '02:42:c6:33:64:04', ipv4: '198.51.100.4/24', mtu: 1500 });
  assert.ok(await reaches(l.c1, '198.51.100.1'));
  assert.ok(await reaches(l.c2, '198.51.100.1'));
  assert.equal(await ping(l.c1, '198.51.100.4'), false);
});

test('no parent: a private dm- bridge, children reach only each other, no default route; restore and delete clean up', async (t) => {
  const l = await lab(t);
  const d = new MacvlanDriver(l.host);
  const n = net(ID('c'), {}, { subnet: '10.77.0.0/24', gateway: '10.77.0.1', auxAddresses: {} });
  await d.createNetwork(n);
  const [dm] = await ipJson<Array<IpAddr & { ifalias?: string; linkinfo?: { info_kind?: string } }>>(['-details', 'link', 'show', 'dev', 'dm-cccccccccccc'], l.host);
  assert.equal(dm?.linkinfo?.info_kind, 'bridge');
  assert.equal(dm?.ifalias, OWNER_ALIAS);
  await d.joinEndpoint(n, l.c1, { ...ep('eth0'), mac: '02:42:0a:4d:00:02', ipv4: '10.77.0.2/24', gatewayV4: '10.77.0.1', mtu: 1500 });
  await d.joinEndpoint(n, l.c2, { ...ep('eth0'), mac: '02:42:0a:4d:00:03', ipv4: '10.77.0.3/24', mtu: 1500 });
  assert.ok(await reaches(l.c1, '10.77.0.3'));
  assert.deepEqual(await ipJson(['route', 'show', 'default'], l.c1), []);

  // A daemon restarted with the network gone from its store removes the orphan; with it, keeps it.
  const fresh = new MacvlanDriver(l.host);
  await fresh.restore([n]);
  assert.ok((await linkNames(l.host)).includes('dm-cccccccccccc'));
  await run(['ip', '-n', l.host, 'link', 'del', 'dm-cccccccccccc']);
  await fresh.restore([n]);
  assert.ok((await linkNames(l.host)).includes('dm-cccccccccccc'), 'restore recreates a missing private parent');
  await new MacvlanDriver(l.host).restore([]);
  assert.deepEqual((await linkNames(l.host)).sort(), ['eth1', 'lo']);
  // An interface of that name not made by us is never taken over.
  await run(['ip', '-n', l.host, 'link', 'add', 'dm-cccccccccccc', 'type', 'bridge']);
  await assert.rejects(fresh.createNetwork(n), /was not made by the macvlan driver/);
  await fresh.deleteNetwork(n);
  assert.ok((await linkNames(l.host)).includes('dm-cccccccccccc'));
});

test('errors: missing parent (create and join), VLAN parent on a kernel without 802.1q, passthru alone', async (t) => {
  const l = await lab(t);
  const d = new MacvlanDriver(l.host);
  await assert.rejects(d.createNetwork(net(ID('d'), { parent: 'eth9' })), { message: 'invalid subinterface vlan name eth9, example formatting is eth0.10' });
  await assert.rejects(d.createNetwork(net(ID('d'), { parent: 'eth9.10' })), { message: '-o parent interface was not found on the host: eth9' });
  const vlan = await d.createNetwork(net(ID('d'), { parent: 'eth1.10' })).then(() => 'made', (e: Error) => e.message);
  if (vlan === 'made') {
    // A kernel with 802.1q: the sub-interface is ours and goes with the network.
    assert.ok((await linkNames(l.host)).includes('eth1.10'));
    await d.deleteNetwork(net(ID('d'), { parent: 'eth1.10' }));
    assert.ok(!(await linkNames(l.host)).includes('eth1.10'));
  } else {
    assert.match(vlan, /^failed to create eth1\.10 vlan link: this kernel has no 802\.1q VLAN support/);
    assert.deepEqual((await linkNames(l.host)).sort(), ['eth1', 'lo']);
  }
  const n = net(ID('e'), { parent: 'eth1' });
  await d.createNetwork(n);
  await run(['ip', '-n', l.host, 'link', 'set', 'eth1', 'name', 'eth7']);
  await assert.rejects(d.joinEndpoint(n, l.c1, { ...ep('eth0'), mac: '02:42:c6:33:64:03', ipv4: '198.51.100.3/24', mtu: 1500 }), {
    message: 'the requested parent interface eth1 was not found on the Docker host',
  });
  assert.deepEqual(await linkNames(l.c1), ['lo']);
  const p = net(ID('f'), { parent: 'eth7', macvlan_mode: 'passthru' });
  await d.createNetwork(p);
  await d.joinEndpoint(p, l.c1, { ...ep('eth0'), mac: '02:42:c6:33:64:03', ipv4: '198.51.100.3/24', mtu: 1500 });
  await assert.rejects(d.joinEndpoint(p, l.c2, { ...ep('eth0'), mac: '02:42:c6:33:64:04', ipv4: '198.51.100.4/24', mtu: 1500 }), /failed to create the macvlan port: /);
  assert.ok(await reaches(l.c1, '198.51.100.1'));
});

interface Route {
  dst: string;
  dev?: string;
  prefsrc?: string;
}

test('host shim: the host reaches children through mvs-<id> (a /32 route each), the lan still does; leave, restore and delete clean up', async (t) => {
  const l = await lab(t);
  await run(['ip', '-n', l.host, 'addr', 'add', '198.51.100.2/24', 'dev', 'eth1']);
  const d = new MacvlanDriver(l.host);
  const k = 'redes.macvlan.host_shim';
  const n = net(ID('9'), { parent: 'eth1', [k]: '198.51.100.254' });
  await assert.rejects(d.createNetwork(net(ID('8'), { parent: 'eth1', [k]: '198.51.100.2' })), { message: `${k} 198.51.100.2 is already an address of the host (on eth1)` });
  assert.deepEqual((await linkNames(l.host)).sort(), ['eth1', 'lo']);
  await d.createNetwork(n);
  const [shim] = await ipJson<Array<IpAddr & { ifalias?: string; linkinfo?: { info_kind?: string; info_data?: { mode?: string } } }>>(['-details', 'addr', 'show', 'dev', 'mvs-99999999'], l.host);
  assert.equal(shim?.linkinfo?.info_kind, 'macvlan');
  assert.equal(shim?.linkinfo?.info_data?.mode, 'bridge');
  assert.equal(shim?.ifalias, 'redes-macvlan-shim');
  assert.deepEqual(shim?.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`), ['198.51.100.254/32']);
  await d.joinEndpoint(n, l.c1, { ...ep('eth0'), mac: '02:42:c6:33:64:03', ipv4: '198.51.100.3/24', gatewayV4: '198.51.100.1', mtu: 1500 });
  await d.joinEndpoint(n, l.c2, { ...ep('eth0'), mac: '02:42:c6:33:64:04', ipv4: '198.51.100.4/24', mtu: 1500 });
  const shimRoutes = async (): Promise<string[]> => (await ipJson<Route[]>(['route', 'show', 'dev', 'mvs-99999999'], l.host)).map((r) => `${r.dst} src ${r.prefsrc}`).sort();
  assert.deepEqual(await shimRoutes(), ['198.51.100.3 src 198.51.100.254', '198.51.100.4 src 198.51.100.254']);
  // The parent keeps its on-link route for the rest of the segment.
  assert.ok((await ipJson<Route[]>(['route', 'show', 'dev', 'eth1'], l.host)).some((r) => r.dst === '198.51.100.0/24'));
  assert.ok(await reaches(l.host, '198.51.100.3'), 'host → c1 through the shim');
  assert.ok(await reaches(l.host, '198.51.100.4'), 'host → c2 through the shim');
  assert.ok(await reaches(l.host, '198.51.100.1'), 'host → lan still through eth1');
  assert.ok(await reaches(l.lan, '198.51.100.3'), 'lan → c1');
  assert.ok(await reaches(l.c1, '198.51.100.4'));
  // The shim address itself is never given to a container.
  await assert.rejects(d.joinEndpoint(n, l.c2, { ...ep('eth1'), mac: '02:42:c6:33:64:fe', ipv4: '198.51.100.254/24', mtu: 1500 }), { kind: 'forbidden', message: /is the host shim of network/ });
  assert.deepEqual(await linkNames(l.c2), ['lo', 'eth0']);
  await d.leaveEndpoint(n, l.c2, { id: `e-eth0`, ifname: 'eth0' });
  assert.deepEqual(await shimRoutes(), ['198.51.100.3 src 198.51.100.254']);
  assert.equal(await ping(l.host, '198.51.100.4'), false);

  // Restart: a surviving shim keeps its routes; a deleted one is re-made; an unowned one is removed.
  await new MacvlanDriver(l.host).restore([n]);
  assert.deepEqual(await shimRoutes(), ['198.51.100.3 src 198.51.100.254']);
  assert.ok(await reaches(l.host, '198.51.100.3'));
  await run(['ip', '-n', l.host, 'link', 'del', 'mvs-99999999']);
  const fresh = new MacvlanDriver(l.host);
  await fresh.restore([n]);
  assert.ok((await linkNames(l.host)).includes('mvs-99999999'));
  await fresh.joinEndpoint(n, l.c2, { ...ep('eth0'), mac: '02:42:c6:33:64:04', ipv4: '198.51.100.4/24', mtu: 1500 });
  assert.ok(await reaches(l.host, '198.51.100.4'), 'a re-made shim routes containers that join');
  await fresh.leaveEndpoint(n, l.c2, { id: `e-eth0`, ifname: 'eth0' });
  await run(['ip', '-n', l.host, 'link', 'del', 'mvs-99999999']);
  await fresh.joinEndpoint(n, l.c2, { ...ep('eth0'), mac: '02:42:c6:33:64:04', ipv4: '198.51.100.4/24', mtu: 1500 });
  assert.ok(await reaches(l.host, '198.51.100.4'), 'a join re-makes a shim deleted by hand');
  await new MacvlanDriver(l.host).restore([]);
  assert.deepEqual((await linkNames(l.host)).sort(), ['eth1', 'lo']);
  await fresh.restore([n]);
  await fresh.deleteNetwork(n);
  assert.deepEqual((await linkNames(l.host)).sort(), ['eth1', 'lo']);
  assert.deepEqual(await ipJson<Route[]>(['route', 'show', '198.51.100.4/32'], l.host), []);
});
