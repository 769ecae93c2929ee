// Global networks across engines: two NetworkControllers (two "hosts", each with its own SQLite
// store in memory) share one in-memory cluster store; a recording fake stands in for the overlay
// driver, so only the engine's part is tested here (the driver has its own kernel tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryClusterBackend, clusterKeys, type ClusterStore } from '../../cluster/index.js';
import type { DriverNetwork, LostEndpoint, NetworkDriver, NetworkOptions } from '../../drivers/index.js';
import { Store } from '../../store/index.js';
import { NetworkController } from './network-controller.js';
import { GlobalNetworks } from './global-networks.js';
import type { NetworkRecord } from './network-record.js';

class FakeGlobalDriver implements NetworkDriver<{ vni: number }> {
  readonly name = 'overlay';
  readonly scope = 'global';
  readonly allocator = 'local' as const;
  readonly calls: string[] = [];
  constructor(private readonly inCluster: () => boolean) {}
  parseOptions(raw: Readonly<Record<string, string>>): { shown: Record<string, string>; options: NetworkOptions<{ vni: number }> } {
    return { shown: { ...raw, 'com.docker.network.driver.overlay.vxlanid_list': '4097' }, options: { attach: 'interface', icc: true, reserved: {}, own: { vni: 4097 } } };
  }
  checkPools(): void {}
  checkCreate(): void {
    if (!this.inCluster()) throw new Error('This node is not a swarm manager.');
  }
  async createNetwork(n: DriverNetwork): Promise<void> {
    this.calls.push(`create ${n.name}`);
  }
  async deleteNetwork(n: DriverNetwork): Promise<void> {
    this.calls.push(`delete ${n.name}`);
  }
  async restore(): Promise<LostEndpoint[]> {
    return [];
  }
  async joinEndpoint(): Promise<{ hostIfname: string }> {
    return { hostIfname: '' };
  }
  async leaveEndpoint(): Promise<void> {}
}

function engine(cluster: () => ClusterStore | undefined): { ctl: NetworkController; driver: FakeGlobalDriver } {
  const driver = new FakeGlobalDriver(() => cluster() !== undefined);
  const ctl = new NetworkController({
    store: Store.open(':memory:'),
    drivers: new Map<string, NetworkDriver>([['overlay', driver as NetworkDriver]]),
    predefined: [],
    ipam: { pools: [{ base: '172.17.0.0/16', size: 16 }] },
    hostRoutes: async () => [],
    cluster,
  });
  return { ctl, driver };
}

test('a global network made on one engine appears on the other with scope swarm, in 10.0.0.0/8, and goes with rm', async (t) => {
  const backend = new MemoryClusterBackend();
  const s1 = backend.store('n1');
  const s2 = backend.store('n2');
  const a = engine(() => s1);
  const b = engine(() => s2);
  t.after(async () => {
    await a.ctl.close();
    await b.ctl.close();
  });
  await a.ctl.init();
  await b.ctl.init();
  const { id } = await a.ctl.create({ Name: 'ov1', Driver: 'overlay', Attachable: true });
  await backend.settle();
  await new Promise((r) => setTimeout(r, 10));
  const seen = b.ctl.resolve('ov1');
  assert.equal(seen.id, id);
  assert.equal(seen.scope, 'swarm');
  assert.equal(seen.attachable, true);
  assert.equal(seen.ipam.v4?.subnet, '10.0.0.0/24');
  assert.deepEqual(b.driver.calls, ['create ov1']);
  assert.equal(b.ctl.list('{"scope":{"swarm":true}}').length, 1);

  // The name and the subnet are taken cluster-wide, whichever engine asks.
  await assert.rejects(b.ctl.create({ Name: 'ov1', Driver: 'overlay' }), /network with name ov1 already exists/);
  const second = await b.ctl.create({ Name: 'ov2', Driver: 'overlay' });
  assert.equal(b.ctl.get(second.id)?.ipam.v4?.subnet, '10.0.1.0/24');
  await assert.rejects(a.ctl.create({ Name: 'ov3', Driver: 'overlay', IPAM: { Config: [{ Subnet: '10.0.1.0/25' }] } }), /overlaps/);

  // An endpoint on another host keeps the network: Docker's text names it.
  await s2.put(clusterKeys.endpoint(id, 'e'.repeat(64)), JSON.stringify({ name: 'web2' }), { lease: true });
  await assert.rejects(a.ctl.remove('ov1'), /network ov1 has active endpoints \(name:"web2" id:"eeeeeeeeeeee"\)/);
  backend.expireLease('n2');
  await a.ctl.remove('ov1');
  await backend.settle();
  await new Promise((r) => setTimeout(r, 10));
  assert.throws(() => b.ctl.resolve('ov1'), /network ov1 not found/);
  assert.deepEqual(b.driver.calls, ['create ov1', 'create ov2', 'delete ov1']);
});

test('an engine that starts later mirrors what exists and drops what went while it was away', async (t) => {
  const backend = new MemoryClusterBackend();
  const s1 = backend.store('n1');
  const a = engine(() => s1);
  t.after(() => a.ctl.close());
  await a.ctl.init();
  await a.ctl.create({ Name: 'early', Driver: 'overlay' });
  const s2 = backend.store('n2');
  const b = engine(() => s2);
  t.after(() => b.ctl.close());
  await b.ctl.init();
  assert.equal(b.ctl.resolve('early').scope, 'swarm');
  await b.ctl.close();
  await a.ctl.remove('early');
  await b.ctl.followCluster();
  assert.throws(() => b.ctl.resolve('early'), /not found/);
});

test('outside a cluster: the driver refuses, nothing is stored', async () => {
  const a = engine(() => undefined);
  await a.ctl.init();
  await assert.rejects(a.ctl.create({ Name: 'ov', Driver: 'overlay' }), /This node is not a swarm manager/);
  assert.throws(() => a.ctl.resolve('ov'), /not found/);
});

test('two managers creating at the same moment: different subnets, and one name once', async (t) => {
  const backend = new MemoryClusterBackend();
  const s1 = backend.store('n1');
  const s2 = backend.store('n2');
  const a = engine(() => s1);
  const b = engine(() => s2);
  t.after(async () => {
    await a.ctl.close();
    await b.ctl.close();
  });
  await a.ctl.init();
  await b.ctl.init();
  // Both list the cluster before either publishes: without the claims both would take 10.0.0.0/24.
  const [x, y] = await Promise.all([a.ctl.create({ Name: 'ova', Driver: 'overlay' }), b.ctl.create({ Name: 'ovb', Driver: 'overlay' })]);
  const subnets = [a.ctl.get(x.id)?.ipam.v4?.subnet, b.ctl.get(y.id)?.ipam.v4?.subnet].sort();
  assert.deepEqual(subnets, ['10.0.0.0/24', '10.0.1.0/24']);
  const same = await Promise.allSettled([a.ctl.create({ Name: 'twin', Driver: 'overlay' }), b.ctl.create({ Name: 'twin', Driver: 'overlay' })]);
  assert.equal(same.filter((r) => r.status === 'fulfilled').length, 1);
  const lost = same.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.match(String(lost?.reason), /network with name twin already exists/);
  // Removing a network frees its name and subnet for the next create.
  const freed = a.ctl.get(x.id)?.ipam.v4?.subnet as string;
  await a.ctl.remove('ova');
  assert.equal(await s1.get(clusterKeys.networkName('ova')), undefined);
  assert.equal(await s1.get(clusterKeys.subnet(freed)), undefined);
  const again = await b.ctl.create({ Name: 'ova', Driver: 'overlay', IPAM: { Config: [{ Subnet: freed }] } });
  assert.equal(b.ctl.get(again.id)?.ipam.v4?.subnet, freed);
});

test('a claim whose network never appeared (its creator died before publishing) is taken over', async () => {
  const backend = new MemoryClusterBackend();
  const s1 = backend.store('n1');
  await s1.create(clusterKeys.networkName('ghost'), 'f'.repeat(64), { lease: true });
  const g = new GlobalNetworks(() => s1);
  const rec = { id: 'a'.repeat(64), name: 'ghost', ipam: { driver: 'default', options: null, v4: { subnet: '10.0.5.0/24', gateway: '10.0.5.1', auxAddresses: {} } } } as unknown as NetworkRecord;
  assert.equal(await g.claim(rec, 50), undefined);
  assert.equal((await s1.get(clusterKeys.networkName('ghost')))?.value, rec.id);
  assert.equal((await s1.get(clusterKeys.subnet('10.0.5.0/24')))?.value, rec.id);
  // A claim held by a network that exists is a clash; nothing is kept of a failed claim.
  await s1.put(clusterKeys.network(rec.id), '{}');
  const other = { ...rec, id: 'b'.repeat(64), name: 'other' } as NetworkRecord;
  assert.deepEqual(await g.claim(other, 50), { kind: 'subnet', subnet: '10.0.5.0/24' });
  assert.equal(await s1.get(clusterKeys.networkName('other')), undefined);
  await g.release(rec);
  assert.equal(await s1.get(clusterKeys.subnet('10.0.5.0/24')), undefined);
});
