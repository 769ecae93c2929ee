import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryClusterBackend, clusterKeys, type ClusterStore } from '../../cluster/index.js';
import type { DriverNetwork } from '../driver.js';
import { ClusterAddresses } from './cluster-addresses.js';

const net: DriverNetwork = {
  id: 'n'.repeat(64),
  name: 'ov',
  internal: false,
  enableIPv4: true,
  enableIPv6: false,
  options: { attach: 'interface', icc: true, reserved: {}, own: {} },
  ipv4: { subnet: '10.0.0.0/24', gateway: '10.0.0.1', auxAddresses: {} },
};

/** A store that yields to the event loop on every call, so that concurrent callers interleave as over a network. */
function slow(store: ClusterStore, counts: { creates: number }): ClusterStore {
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        await tick();
        if (prop === 'create') counts.creates++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

test('60 concurrent allocations over 3 hosts: no address twice, and few lost races (starts of one host never race each other)', async () => {
  const backend = new MemoryClusterBackend();
  const counts = { creates: 0 };
  const hosts = ['a', 'b', 'c'].map((n) => new ClusterAddresses(() => slow(backend.store(n), counts)));
  const got = await Promise.all(hosts.flatMap((h, hi) => Array.from({ length: 20 }, (_, i) => h.allocate(net, `ep-${hi}-${i}`, {}))));
  const ips = got.map((g) => g.ipv4);
  assert.equal(new Set(ips).size, 60);
  assert.equal(backend.list(clusterKeys.ipamOf(net.id)).items.length, 60);
  // Every lost create costs at most the other hosts' racers: well under one per allocation per host.
  assert.ok(counts.creates < 60 * 3, `${counts.creates} creates for 60 addresses`);
});

test('release frees only what the endpoint holds; a new instance (restart) finds its claims by listing', async () => {
  const backend = new MemoryClusterBackend();
  const a = new ClusterAddresses(() => backend.store('a'));
  const first = await a.allocate(net, 'ep-1', {});
  const second = await a.allocate(net, 'ep-2', {});
  assert.deepEqual([first.ipv4, second.ipv4], ['10.0.0.2', '10.0.0.3']);
  // The same endpoint asking again keeps its address.
  assert.deepEqual(await a.allocate(net, 'ep-1', {}), first);
  const restarted = new ClusterAddresses(() => backend.store('a'));
  await restarted.release(net, 'ep-1');
  assert.deepEqual(backend.list(clusterKeys.ipamOf(net.id)).items.map((i) => [i.key.split('/')[2], i.value]), [['10.0.0.3', 'ep-2']]);
  // Another host's stale view of .2 still lets it allocate; the freed address is taken again.
  assert.equal((await restarted.allocate(net, 'ep-3', {})).ipv4, '10.0.0.2');
});

test('a requested address held by another endpoint is refused with Docker text; a stale full view reads the claims again', async () => {
  const backend = new MemoryClusterBackend();
  const small: DriverNetwork = { ...net, ipv4: { subnet: '10.0.0.0/30', gateway: '10.0.0.1', auxAddresses: {} } };
  const a = new ClusterAddresses(() => backend.store('a'));
  const b = new ClusterAddresses(() => backend.store('b'));
  assert.equal((await a.allocate(small, 'ep-a', {})).ipv4, '10.0.0.2');
  await assert.rejects(b.allocate(small, 'ep-b', { ipv4: '10.0.0.2' }), /Address already in use/);
  await assert.rejects(b.allocate(small, 'ep-b', {}), /no available addresses on this pool/);
  await a.release(small, 'ep-a');
  // b's view still says .2 is taken: it lists again before calling the pool full.
  assert.equal((await b.allocate(small, 'ep-b', {})).ipv4, '10.0.0.2');
});

test('a dead host\'s addresses are free once its lease runs out; a restarted host takes its claims back, except one taken meanwhile', async () => {
  const backend = new MemoryClusterBackend();
  const a = new ClusterAddresses(() => backend.store('a'));
  const b = new ClusterAddresses(() => backend.store('b'));
  const held = [(await a.allocate(net, 'ep-1', {})).ipv4!, (await a.allocate(net, 'ep-2', {})).ipv4!];
  assert.deepEqual(held, ['10.0.0.2', '10.0.0.3']);
  // Restarted within the lease: both claims taken back, nothing lost.
  const again = new ClusterAddresses(() => backend.store('a'));
  assert.deepEqual(await again.reclaim(net.id, 'ep-1', ['10.0.0.2']), []);
  // a dies: its claims go with its lease; b may take .2 (asked for by address), then the lowest free.
  backend.expireLease('a');
  assert.deepEqual(backend.list(clusterKeys.ipamOf(net.id)).items, []);
  assert.equal((await b.allocate(net, 'ep-b', { ipv4: '10.0.0.2' })).ipv4, '10.0.0.2');
  // a comes back: .3 is claimed again for ep-2; .2 now belongs to ep-b and is reported lost.
  const back = new ClusterAddresses(() => backend.store('a'));
  assert.deepEqual(await back.reclaim(net.id, 'ep-2', ['10.0.0.3']), []);
  assert.deepEqual(await back.reclaim(net.id, 'ep-1', ['10.0.0.2']), ['10.0.0.2']);
  assert.deepEqual(backend.list(clusterKeys.ipamOf(net.id)).items.map((i) => [i.key.split('/')[2], i.value]), [['10.0.0.2', 'ep-b'], ['10.0.0.3', 'ep-2']]);
  assert.deepEqual(backend.leasedKeys('a'), [clusterKeys.ipam(net.id, '10.0.0.3')]);
});
