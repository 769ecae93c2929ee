// The overlay driver against the real kernel and the in-memory cluster store: three "hosts"
// (namespaces on one LAN, kernel/test-lan.ts), one driver per host acting in its namespace, one
// container namespace per host. Checks reachability by address, the records other hosts see, lease
// expiry of a dead host, its restart with the same addresses, a lease lost while a host runs on (its
// endpoint whose address was taken meanwhile is not published again), and clean removal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryClusterBackend, clusterKeys } from '../../../src/cluster/index.js';
import { listOwnedLinks, listPeers } from '../../../src/kernel/vxlan.js';
import { run } from '../../../src/kernel/run.js';
import { nsenterArgv } from '../../../src/kernel/netns.js';
import { listWireguardPeers } from '../../../src/kernel/wireguard.js';
import { makeTestLan, type TestLan } from '../../helpers/test-lan.js';
import { answersWithin } from '../../helpers/reach.js';
import type { DriverNetwork, LostEndpoint } from '../../../src/drivers/driver.js';
import { wireguardIfname } from '../../../src/drivers/overlay/host-wireguard.js';
import { OWNER_ALIAS, vxlanName, type OverlayOptions } from '../../../src/drivers/overlay/options.js';
import { ERR_NOT_SWARM_MANAGER, OverlayDriver } from '../../../src/drivers/overlay/overlay-driver.js';

const NET_ID = 'c0ffee'.padEnd(64, '1');

interface Host {
  driver: OverlayDriver;
  ns: string;
  ctr: string;
  dataDir: string;
  node: string;
}

async function setup(t: { after: (fn: () => Promise<void>) => void }, hosts: number): Promise<{ lan: TestLan; backend: MemoryClusterBackend; hs: Host[]; dir: string; make: (i: number) => OverlayDriver }> {
  const lan = await makeTestLan('ovd', hosts);
  const dir = await mkdtemp(join(tmpdir(), `${lan.prefix}-`));
  const backend = new MemoryClusterBackend();
  const hs: Host[] = [];
  const make = (i: number): OverlayDriver => {
    const store = backend.store(`node-${i + 1}`);
    const ns = lan.hosts[i] ?? '';
    return new OverlayDriver({ cluster: () => ({ store, advertiseAddress: lan.hostAddr(i) }), instance: `${lan.prefix}h${i + 1}`, dataDir: join(dir, `h${i + 1}`), hostNetns: ns });
  };
  for (let i = 0; i < hosts; i++) {
    const driver = make(i);
    hs.push({ driver, ns: lan.hosts[i] ?? '', ctr: lan.containers[i] ?? '', dataDir: join(dir, `h${i + 1}`), node: `node-${i + 1}` });
    lan.wgLinks.push({ ns: lan.hosts[i] ?? '', ifname: wireguardIfname(`${lan.prefix}h${i + 1}`) });
  }
  t.after(async () => {
    for (const h of hs) await h.driver.close();
    await lan.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { lan, backend, hs, dir, make };
}

function overlayNet(driver: OverlayDriver, raw: Record<string, string> = {}, id = NET_ID): DriverNetwork<OverlayOptions> {
  const { options } = driver.parseOptions(raw, { id, predefined: false });
  return { id, name: 'ov1', internal: false, enableIPv4: true, enableIPv6: false, options, ipv4: { subnet: '10.0.9.0/24', gateway: '10.0.9.1', auxAddresses: {} } };
}

async function join1(h: Host, net: DriverNetwork<OverlayOptions>, n: number): Promise<{ ip: string; epId: string }> {
  const epId = `${String(n).repeat(12)}`.padEnd(64, 'e');
  const { ipv4 } = await h.driver.allocator.allocate(net, epId, {});
  assert.ok(ipv4);
  const mac = `02:42:0a:00:09:${(Number(ipv4.split('.')[3])).toString(16).padStart(2, '0')}`;
  await h.driver.joinEndpoint(net, h.ctr, { id: epId, container: { id: `c${n}`.padEnd(64, '0'), name: `web${n}`, aliases: [`alias${n}`] }, ifname: 'eth0', mac, ipv4: `${ipv4}/24`, mtu: 1500 });
  return { ip: ipv4, epId };
}

/** One echo request, one second for its reply: enough to say a peer that must stay unreachable is. */
async function ping(ns: string, to: string): Promise<boolean> {
  return (await run(nsenterArgv(ns, ['busybox', 'ping', '-c', '1', '-W', '1', to]), { allowFailure: true, timeoutMs: 5000 })).code === 0;
}

/** Whether `to` answers from `ns`, asked once a second for up to 10 s (one lost packet is no verdict). */
const reaches = (ns: string, to: string, withinMs?: number): Promise<boolean> => answersWithin(() => ping(ns, to), withinMs);

test('three hosts: containers reach each other; a dead host expires everywhere and comes back with its addresses', async (t) => {
  const { hs, backend, make } = await setup(t, 3);
  const net = overlayNet(hs[0]!.driver);
  for (const h of hs) await h.driver.restore([]);
  for (const h of hs) await h.driver.createNetwork(net);
  assert.equal(backend.read(clusterKeys.vni(net.options.own.vni))?.value, NET_ID);
  const eps = await Promise.all(hs.map((h, i) => join1(h, net, i + 1)));
  assert.equal(new Set(eps.map((e) => e.ip)).size, 3, 'three distinct addresses');
  for (const h of hs) await h.driver.settled();
  // MTU: underlay 1500 - 50.
  const [c1link] = JSON.parse((await run(['ip', '-n', hs[0]!.ctr, '-json', 'link', 'show', 'dev', 'eth0'])).stdout) as Array<{ mtu: number }>;
  assert.equal(c1link?.mtu, 1450);
  for (const [i, h] of hs.entries()) {
    for (const [j, e] of eps.entries()) if (i !== j) assert.ok(await reaches(h.ctr, e.ip), `c${i + 1} -> ${e.ip}`);
  }
  assert.deepEqual(hs[0]!.driver.remoteEndpoints(NET_ID).map((r) => r.name).sort(), ['web2', 'web3']);
  assert.deepEqual(hs[0]!.driver.remoteEndpoints(NET_ID).find((r) => r.name === 'web3')?.aliases, ['alias3']);

  // kill -9 of host 3: its watch stops, its lease runs out.
  await hs[2]!.driver.close();
  backend.expireLease('node-3');
  await backend.settle();
  for (const h of hs.slice(0, 2)) await h.driver.settled();
  assert.deepEqual((await listPeers(vxlanName(NET_ID), hs[0]!.ns)).map((p) => p.ip), [eps[1]!.ip]);
  assert.equal(await ping(hs[0]!.ctr, eps[2]!.ip), false);

  // Restarted from its data dir, it publishes its running container again: same address, reachable.
  const again = make(2);
  hs[2]!.driver = again;
  await again.restore([net]);
  await backend.settle();
  for (const h of hs) await h.driver.settled();
  assert.deepEqual((await listPeers(vxlanName(NET_ID), hs[0]!.ns)).map((p) => p.ip).sort(), [eps[1]!.ip, eps[2]!.ip].sort());
  assert.ok(await reaches(hs[0]!.ctr, eps[2]!.ip));
  assert.ok(await reaches(hs[2]!.ctr, eps[0]!.ip), 'the restarted host programmed the others again');
  assert.equal((await listPeers(vxlanName(NET_ID), hs[2]!.ns)).length, 2, 'nothing duplicated on the restarted host');

  // docker rm on host 2: released and unprogrammed everywhere.
  await hs[1]!.driver.leaveEndpoint(net, hs[1]!.ctr, { id: eps[1]!.epId, ifname: 'eth0' });
  await hs[1]!.driver.allocator.release(net, eps[1]!.epId);
  await backend.settle();
  for (const h of hs) await h.driver.settled();
  assert.deepEqual((await listPeers(vxlanName(NET_ID), hs[0]!.ns)).map((p) => p.ip), [eps[2]!.ip]);
  assert.equal(backend.read(clusterKeys.ipam(NET_ID, eps[1]!.ip)), undefined);

  for (const [i, h] of hs.entries()) {
    if (i !== 1) await h.driver.leaveEndpoint(net, h.ctr, { id: eps[i]!.epId, ifname: 'eth0' });
    await h.driver.deleteNetwork(net);
    assert.deepEqual(await listOwnedLinks(OWNER_ALIAS, h.ns), []);
  }
  assert.equal(backend.read(clusterKeys.vni(net.options.own.vni)), undefined);
  assert.deepEqual(backend.list('ipam/').items, []);
});

test('60 concurrent allocations over 3 hosts: no address twice', async () => {
  const backend = new MemoryClusterBackend();
  const drivers = [1, 2, 3].map((i) => {
    const store = backend.store(`node-${i}`);
    return new OverlayDriver({ cluster: () => ({ store, advertiseAddress: `198.51.100.${10 + i}` }), instance: `x${i}`, dataDir: '/nonexistent' });
  });
  const net = overlayNet(drivers[0]!);
  const got = await Promise.all(Array.from({ length: 60 }, (_, i) => drivers[i % 3]!.allocator.allocate(net, `ep${String(i).padStart(2, '0')}`.padEnd(64, '0'), {})));
  const ips = got.map((g) => g.ipv4);
  assert.equal(new Set(ips).size, 60);
  assert.equal(backend.list(clusterKeys.ipamOf(NET_ID)).items.length, 60);
  await assert.rejects(drivers[1]!.allocator.allocate(net, 'other'.padEnd(64, '0'), { ipv4: ips[0] }), /Address already in use/);
  // The same endpoint asking again for its own address gets it (a retried start).
  assert.deepEqual(await drivers[0]!.allocator.allocate(net, 'ep0'.padEnd(64, '0'), { ipv4: ips[0] }), { ipv4: ips[0] });
});

test('outside a cluster: Docker\'s swarm text; a VNI held by another network is refused', async () => {
  const d = new OverlayDriver({ cluster: () => undefined, instance: 'x', dataDir: '/nonexistent' });
  const net = overlayNet(d);
  assert.throws(() => d.checkCreate(net, []), (e: Error) => e.message === ERR_NOT_SWARM_MANAGER);
  await assert.rejects(d.createNetwork(net), (e: Error) => e.message === ERR_NOT_SWARM_MANAGER);
  const backend = new MemoryClusterBackend();
  const store = backend.store('n1');
  const c = new OverlayDriver({ cluster: () => ({ store, advertiseAddress: '198.51.100.11' }), instance: 'x', dataDir: '/nonexistent' });
  const other = overlayNet(c, { 'com.docker.network.driver.overlay.vxlanid_list': '5000' }, 'b'.repeat(64));
  const mine = overlayNet(c, { 'com.docker.network.driver.overlay.vxlanid_list': '5000' });
  assert.throws(() => c.checkCreate(mine, [other]), /vxlan id 5000 is already in use by network ov1/);
  await store.create(clusterKeys.vni(5000), 'b'.repeat(64));
  await assert.rejects(c.createNetwork(mine), /vxlan id 5000 is already in use by network bbbbbbbbbbbb/);
});

test('encrypted: VXLAN inside WireGuard, guard table for the VNI, peers follow the hosts; no WireGuard is a clear error', async (t) => {
  const { hs, backend } = await setup(t, 2);
  const net = overlayNet(hs[0]!.driver, { encrypted: '' });
  for (const h of hs) await h.driver.createNetwork(net);
  const eps = await Promise.all(hs.map((h, i) => join1(h, net, i + 1)));
  await backend.settle();
  for (const h of hs) await h.driver.settled();
  const [c1link] = JSON.parse((await run(['ip', '-n', hs[0]!.ctr, '-json', 'link', 'show', 'dev', 'eth0'])).stdout) as Array<{ mtu: number }>;
  assert.equal(c1link?.mtu, 1390, '1500 - 50 (VXLAN) - 60 (WireGuard)');
  // The first packet waits for a WireGuard handshake, whose lost initiation is resent only after 5 s.
  assert.ok(await reaches(hs[0]!.ctr, eps[1]!.ip, 15_000));
  const wgIf = wireguardIfname(`${hs[0]!.ns.slice(0, -3)}h1`);
  const [wgLink] = JSON.parse((await run(['ip', '-n', hs[0]!.ns, '-json', 'link', 'show', 'dev', wgIf])).stdout) as Array<{ mtu: number }>;
  assert.equal(wgLink?.mtu, 1440, 'the tunnel: 1500 - 60 (WireGuard), so VXLAN of 1390 + 50 fits unfragmented');
  const peers = await listWireguardPeers(wgIf, hs[0]!.ns);
  assert.equal(peers.length, 1);
  assert.equal(peers[0]?.endpoint, '198.51.100.12:51820');
  const guard = JSON.stringify(await run(nsenterArgv(hs[0]!.ns, ['nft', '-j', 'list', 'ruleset'])).then((r) => r.stdout));
  assert.match(guard, new RegExp(String(net.options.own.vni)));
  assert.match(guard, /encrypted overlay VNIs arrive through WireGuard only/);

  // Host 2 dies: it leaves host 1's peer set.
  await hs[1]!.driver.close();
  backend.expireLease('node-2');
  await backend.settle();
  await hs[0]!.driver.settled();
  assert.deepEqual(await listWireguardPeers(wgIf, hs[0]!.ns), []);

  // No WireGuard on a host: a clear error, nothing made.
  const store = backend.store('node-9');
  const path = process.env.PATH;
  const noWg = new OverlayDriver({ cluster: () => ({ store, advertiseAddress: '198.51.100.11' }), instance: `${hs[0]!.ns}x`, dataDir: join(hs[0]!.dataDir, 'x'), hostNetns: hs[0]!.ns });
  // A PATH with the usual tools but neither wg nor wireguard-go: a host without WireGuard.
  const bin = join(hs[0]!.dataDir, 'bin');
  await mkdir(bin, { recursive: true });
  for (const tool of ['ip', 'bridge', 'nft', 'nsenter']) {
    const where = (await run(['sh', '-c', 'command -v "$0"', tool])).stdout.trim();
    await symlink(where, join(bin, tool));
  }
  const dNet = overlayNet(noWg, { encrypted: '' }, 'd'.repeat(64));
  process.env.PATH = bin;
  try {
    await assert.rejects(noWg.precheckCreate(dNet), /encrypted overlay networks need WireGuard on every host, and this host has none: the wg program/);
    await assert.rejects(noWg.createNetwork(dNet), /encrypted overlay networks need WireGuard on every host, and this host has none: the wg program/);
    const ep = { id: 'e'.repeat(64), container: { id: 'f'.repeat(64), name: 'x', aliases: [] }, ifname: 'eth0', mac: '02:42:0a:00:00:99', ipv4: '10.0.0.99/24', mtu: 1500 };
    await assert.rejects(noWg.joinEndpoint(dNet, hs[0]!.ctr, ep), /cannot join secure network: this host has no WireGuard: the wg program/);
  } finally {
    process.env.PATH = path;
  }
  // The failed create left its VNI free; a plain network needs no WireGuard.
  assert.equal(await store.get(clusterKeys.vni(dNet.options.own.vni)), undefined);
  await noWg.precheckCreate(overlayNet(noWg, {}, 'c'.repeat(64)));
  assert.deepEqual((await listOwnedLinks(OWNER_ALIAS, hs[0]!.ns)).map((l) => l.ifname).sort(), [`ov-${NET_ID.slice(0, 12)}`, `vx-${NET_ID.slice(0, 12)}`].sort());
});

test('changes are applied as deltas; an address that moved to another container keeps its entry when the old record goes', async (t) => {
  const { hs, backend } = await setup(t, 1);
  const h = hs[0]!;
  const net = overlayNet(h.driver);
  await h.driver.restore([]);
  await h.driver.createNetwork(net);
  const other = backend.store('node-9');
  const rec = (ip: string, mac: string): string => JSON.stringify({ node: 'node-9', containerId: mac.replace(/:/g, ''), name: `n${mac.slice(-2)}`, aliases: [], ipv4: ip, mac, vtep: '198.51.100.99' });
  const step = async (fn: () => Promise<void>): Promise<void> => {
    await fn();
    await backend.settle();
    await h.driver.settled();
  };
  const peers = async (): Promise<string[]> => (await listPeers(vxlanName(NET_ID), h.ns)).map((p) => `${p.ip} ${p.mac}`).sort();
  await step(() => other.put(clusterKeys.endpoint(NET_ID, 'a'), rec('10.0.9.50', '02:42:0a:00:09:aa'), { lease: true }));
  await step(() => other.put(clusterKeys.endpoint(NET_ID, 'x'), rec('10.0.9.60', '02:42:0a:00:09:cc'), { lease: true }));
  assert.deepEqual(await peers(), ['10.0.9.50 02:42:0a:00:09:aa', '10.0.9.60 02:42:0a:00:09:cc']);
  // Endpoint b gets a's address before a's record is gone (two hosts' events in that order).
  await step(() => other.put(clusterKeys.endpoint(NET_ID, 'b'), rec('10.0.9.50', '02:42:0a:00:09:bb'), { lease: true }));
  await step(() => other.delete(clusterKeys.endpoint(NET_ID, 'a')));
  assert.deepEqual(await peers(), ['10.0.9.50 02:42:0a:00:09:bb', '10.0.9.60 02:42:0a:00:09:cc']);
  // A record rewritten with another MAC replaces its entry; removal clears it.
  await step(() => other.put(clusterKeys.endpoint(NET_ID, 'x'), rec('10.0.9.60', '02:42:0a:00:09:dd'), { lease: true }));
  assert.deepEqual(await peers(), ['10.0.9.50 02:42:0a:00:09:bb', '10.0.9.60 02:42:0a:00:09:dd']);
  await step(() => other.delete(clusterKeys.endpoint(NET_ID, 'x')));
  assert.deepEqual(await peers(), ['10.0.9.50 02:42:0a:00:09:bb']);
  assert.deepEqual(h.driver.remoteEndpoints(NET_ID).map((r) => r.ipv4), ['10.0.9.50']);
  await step(() => other.delete(clusterKeys.endpoint(NET_ID, 'b')));
  assert.deepEqual(await peers(), []);
  await h.driver.deleteNetwork(net);
});

test('a lease lost while the engine runs: ports down on doubt, up when kept; when replaced, the endpoint whose address another host took stays down, unpublished, and is reported lost, the others are claimed and published again', async (t) => {
  const { hs, backend } = await setup(t, 2);
  const [h1, h2] = [hs[0]!, hs[1]!];
  const a = overlayNet(h1.driver);
  const bId = 'b0b'.padEnd(64, '2');
  const b = { ...overlayNet(h1.driver, {}, bId), name: 'ov2', ipv4: { subnet: '10.0.8.0/24', gateway: '10.0.8.1', auxAddresses: {} } };
  const lost: LostEndpoint[] = [];
  h1.driver.reportLost(async (l) => void lost.push(...l));
  for (const h of hs) await h.driver.restore([]);
  for (const h of hs) for (const n of [a, b]) await h.driver.createNetwork(n);
  // Each container on both networks (eth0 on a, eth1 on b).
  const joinBoth = async (h: Host, n: number): Promise<{ a: { ip: string; epId: string }; b: { ip: string; epId: string } }> => {
    const out: Record<string, { ip: string; epId: string }> = {};
    for (const [net, ifname, tag] of [[a, 'eth0', 'a'], [b, 'eth1', 'b']] as const) {
      const epId = `${tag}${n}`.padEnd(64, 'e');
      const { ipv4 } = await h.driver.allocator.allocate(net, epId, {});
      assert.ok(ipv4);
      const mac = `02:42:0a:00:0${tag === 'a' ? 9 : 8}:${Number(ipv4.split('.')[3]).toString(16).padStart(2, '0')}`;
      await h.driver.joinEndpoint(net, h.ctr, { id: epId, container: { id: `c${n}`.padEnd(64, '0'), name: `web${n}`, aliases: [] }, ifname, mac, ipv4: `${ipv4}/24`, mtu: 1500 });
      out[tag] = { ip: ipv4, epId };
    }
    return { a: out.a!, b: out.b! };
  };
  const e1 = await joinBoth(h1, 1);
  await joinBoth(h2, 2);
  const settle = async (): Promise<void> => {
    await backend.settle();
    for (const h of hs) await h.driver.settled();
  };
  await settle();
  const portState = async (epId: string): Promise<string> => (JSON.parse((await run(['ip', '-n', h1.ns, '-json', 'link', 'show', 'dev', `vo${epId.slice(0, 12)}`])).stdout) as Array<{ flags: string[] }>)[0]!.flags.includes('UP') ? 'up' : 'down';
  assert.ok(await reaches(h2.ctr, e1.a.ip));
  assert.deepEqual(h1.driver.peerNodes(NET_ID).sort(), ['node-1', 'node-2']);

  // Doubt: host 1 stops answering for its addresses and is no peer any more; kept: back as before.
  backend.tellLease('node-1', { type: 'doubt' });
  await settle();
  assert.deepEqual([await portState(e1.a.epId), await portState(e1.b.epId)], ['down', 'down']);
  assert.equal(await ping(h2.ctr, e1.a.ip), false);
  assert.deepEqual(h1.driver.peerNodes(NET_ID), ['node-2']);
  backend.tellLease('node-1', { type: 'kept' });
  await settle();
  assert.deepEqual([await portState(e1.a.epId), await portState(e1.b.epId)], ['up', 'up']);
  assert.ok(await reaches(h2.ctr, e1.a.ip));
  assert.equal(lost.length, 0, "nothing lost while the lease was kept");

  // Lost: host 1's keys expire; meanwhile another host takes e1's address on a (claim and record).
  const taker = backend.store('node-9');
  const takerRecord = JSON.stringify({ node: 'node-9', containerId: 't'.padEnd(64, '0'), name: 'taker', aliases: [], ipv4: e1.a.ip, mac: '02:42:0a:00:09:99', vtep: '198.51.100.99' });
  await backend.loseLease('node-1', async () => {
    assert.equal(await taker.create(clusterKeys.ipam(NET_ID, e1.a.ip), 'taker', { lease: true }), true);
    await taker.put(clusterKeys.endpoint(NET_ID, 'taker'), takerRecord, { lease: true });
  });
  await settle();
  assert.deepEqual(lost.map((l) => [l.networkId, l.endpointId]), [[NET_ID, e1.a.epId]]);
  assert.equal(lost[0]?.reason, `address ${e1.a.ip} was claimed by another host while this engine's lease was lost (its endpoints had expired)`);
  // One holder of each address: the taker's claim and record stand, e1's record on a is not published again.
  assert.equal(backend.read(clusterKeys.ipam(NET_ID, e1.a.ip))?.value, 'taker');
  assert.equal(backend.read(clusterKeys.endpoint(NET_ID, e1.a.epId)), undefined);
  assert.equal(await portState(e1.a.epId), 'down', 'the lost endpoint stays down until the engine disconnects it');
  assert.deepEqual(h1.driver.peerNodes(NET_ID).sort(), ['node-2', 'node-9']);
  // The endpoint on b kept its address: claimed again on the new lease, published, up, reachable.
  assert.equal(backend.read(clusterKeys.ipam(bId, e1.b.ip))?.value, e1.b.epId);
  assert.ok(backend.leasedKeys('node-1').includes(clusterKeys.endpoint(bId, e1.b.epId)));
  assert.equal(await portState(e1.b.epId), 'up');
  assert.ok(await reaches(h2.ctr, e1.b.ip));
  assert.ok(h1.driver.peerNodes(bId).includes('node-1'));
  // Host 2 knows e1 on b again and the taker on a, nothing of e1 on a.
  assert.deepEqual((await listPeers(vxlanName(NET_ID), h2.ns)).map((p) => `${p.ip} ${p.mac}`), [`${e1.a.ip} 02:42:0a:00:09:99`]);
  assert.deepEqual((await listPeers(vxlanName(bId), h2.ns)).map((p) => p.ip), [e1.b.ip]);

  // The engine disconnects it: interface gone, nothing of the taker's released.
  await h1.driver.leaveEndpoint(a, h1.ctr, { id: e1.a.epId, ifname: 'eth0' });
  await h1.driver.allocator.release(a, e1.a.epId);
  assert.equal(backend.read(clusterKeys.ipam(NET_ID, e1.a.ip))?.value, 'taker');
  assert.equal((await run(['ip', '-n', h1.ns, 'link', 'show', 'dev', `vo${e1.a.epId.slice(0, 12)}`], { allowFailure: true })).code, 1);
});
