import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DriverNetwork } from '../../drivers/index.js';
import { allocateAddress } from '../../ipam/index.js';
import { Store } from '../../store/index.js';
import { LocalAddresses } from './local-addresses.js';

const net = (id: string, extra: Partial<DriverNetwork> = {}): DriverNetwork =>
  ({
    id,
    name: id,
    internal: false,
    enableIPv4: true,
    enableIPv6: true,
    options: {} as DriverNetwork['options'],
    ipv4: { subnet: '10.9.0.0/24', gateway: '10.9.0.1', ipRange: '10.9.0.0/25', auxAddresses: { r: '10.9.0.5' } },
    ipv6: { subnet: 'fd00:9::/120', gateway: 'fd00:9::1', auxAddresses: {} },
    ...extra,
  }) as DriverNetwork;

/** What the allocator gives with no hint: every address in use read, the walk from the bottom. */
function reference(store: Store, n: DriverNetwork, family: 4 | 6): string {
  const used = new Set(store.allocations(n.id).map((a) => a.address));
  const p = family === 4 ? n.ipv4 : n.ipv6;
  if (!p) throw new Error('no pool');
  return allocateAddress({ family, subnet: p.subnet, gateway: p.gateway, auxAddresses: p.auxAddresses, static: true, ...(p.ipRange ? { ipRange: p.ipRange } : {}) }, used);
}

test('the scan hint gives the lowest free address, as a walk from the bottom does, through releases, requests and restarts', async () => {
  const store = Store.open(':memory:');
  let ipam = new LocalAddresses(store);
  const n = net('n1');
  const live: string[] = [];
  let seed = 7;
  const rnd = (k: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % k);
  for (let i = 0; i < 400; i++) {
    const r = rnd(10);
    if (r < 3 && live.length) {
      const [owner] = live.splice(rnd(live.length), 1);
      if (r === 0) store.transaction(() => store.releaseOwner(owner as string)); // a release not through LocalAddresses (recovery, doctor)
      else await ipam.release(n, owner as string);
      continue;
    }
    if (r === 3) ipam = new LocalAddresses(store); // a daemon restart: no hints
    const want4 = reference(store, n, 4);
    const want6 = reference(store, n, 6);
    const owner = `e${i}`;
    if (r === 4) {
      // A requested address above the next free one: taken without moving the hint past a free address.
      const asked = `10.9.0.${100 + rnd(20)}`;
      if (!store.isAllocated(n.id, asked)) {
        assert.deepEqual(await ipam.allocate(n, owner, { ipv4: asked }), { ipv4: asked, ipv6: want6 });
        live.push(owner);
        continue;
      }
    }
    try {
      assert.deepEqual(await ipam.allocate(n, owner, {}), { ipv4: want4, ipv6: want6 }, `allocation #${i}`);
      live.push(owner);
    } catch (e) {
      assert.match((e as Error).message, /no available addresses/);
    }
  }
  store.close();
});

test('a network released whole forgets its hints; another network keeps its own', async () => {
  const store = Store.open(':memory:');
  const ipam = new LocalAddresses(store);
  const a = net('a');
  const b = net('b');
  for (let i = 0; i < 5; i++) await ipam.allocate(a, `a${i}`, {});
  assert.deepEqual(await ipam.allocate(b, 'b0', {}), { ipv4: '10.9.0.2', ipv6: 'fd00:9::2' });
  store.transaction(() => store.releaseNetwork('a'));
  assert.deepEqual(await ipam.allocate(a, 'a9', {}), { ipv4: '10.9.0.2', ipv6: 'fd00:9::2' });
  assert.deepEqual(await ipam.allocate(b, 'b1', {}), { ipv4: '10.9.0.3', ipv6: 'fd00:9::3' });
  store.close();
});

test('an attach checks a few addresses whatever the count already on the network', async () => {
  const store = Store.open(':memory:');
  const ipam = new LocalAddresses(store);
  const n = net('big', { ipv4: { subnet: '10.8.0.0/16', gateway: '10.8.0.1', auxAddresses: {} }, enableIPv6: false });
  delete (n as { ipv6?: unknown }).ipv6;
  for (let i = 0; i < 1000; i++) await ipam.allocate(n, `e${i}`, {});
  let lookups = 0;
  const isAllocated = store.isAllocated.bind(store);
  store.isAllocated = (id, a) => (lookups++, isAllocated(id, a));
  assert.deepEqual(await ipam.allocate(n, 'last', {}), { ipv4: '10.8.3.234' });
  assert.ok(lookups <= 2, `${lookups} lookups`);
  store.close();
});
