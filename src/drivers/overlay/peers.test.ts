import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryClusterBackend, clusterKeys } from '../../cluster/index.js';
import type { HostWireguard } from './host-wireguard.js';
import { PeerWatch, type RemoteChange, type RemoteEndpoint } from './peers.js';

const NET = 'a'.repeat(64);
const record = (i: number): string =>
  JSON.stringify({ node: 'other', containerId: `c${i}`, name: `n${i}`, aliases: [], ipv4: `10.0.${i >> 8}.${i & 255}`, mac: `02:42:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, vtep: '198.51.100.12' });

test('peer watch: a burst of endpoint events costs a few passes; the first report is whole, later ones carry only the changes', async () => {
  const backend = new MemoryClusterBackend();
  const writer = backend.store('other');
  const calls: RemoteChange[] = [];
  const known = new Map<string, RemoteEndpoint>();
  const onRemote = (_id: string, c: RemoteChange): void => {
    calls.push(c);
    if (c.full) known.clear();
    for (const id of c.removed) known.delete(id);
    for (const e of c.set) known.set(e.endpointId, e);
  };
  // The network is not carried on this host (network() answers undefined): no kernel calls, only the report.
  const watch = new PeerWatch({ store: backend.store('me'), hostNetns: undefined, wireguard: {} as HostWireguard, network: () => undefined, onRemote });
  await writer.put(clusterKeys.endpoint(NET, 'first'), record(999), { lease: true });
  await backend.settle();
  await watch.start();
  assert.deepEqual(calls.map((c) => [c.full, c.set.length]), [[true, 1]], 'the listing is reported whole');
  await Promise.all(Array.from({ length: 200 }, (_, i) => writer.put(clusterKeys.endpoint(NET, `e${i}`), record(i), { lease: true })));
  await backend.settle();
  await watch.settled();
  assert.ok(calls.length >= 2 && calls.length < 20, `200 events made ${calls.length - 1} passes`);
  assert.ok(calls.slice(1).every((c) => !c.full), 'after the first report, deltas');
  assert.equal(calls.slice(1).reduce((n, c) => n + c.set.length, 0), 200, 'each endpoint reported once');
  assert.equal(known.size, 201);
  // A change after the burst still gets a pass of its own, with only that change.
  await writer.delete(clusterKeys.endpoint(NET, 'e0'));
  await backend.settle();
  await watch.settled();
  assert.deepEqual(calls.at(-1), { full: false, set: [], removed: ['e0'] });
  assert.equal(known.size, 200);
  // This host's own endpoints are not remote: never reported.
  await backend.store('me').put(clusterKeys.endpoint(NET, 'mine'), JSON.stringify({ ...JSON.parse(record(7)), node: 'me' }), { lease: true });
  await backend.settle();
  await watch.settled();
  assert.ok(!known.has('mine'));
  assert.equal(watch.remote(NET).length, 200);
  await watch.close();
});
