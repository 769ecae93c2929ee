import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryClusterBackend, clusterKeys } from '../../cluster/index.js';
import type { HostWireguard } from './host-wireguard.js';
import { PeerWatch, type RemoteEndpoint } from './peers.js';

const NET = 'a'.repeat(64);
const record = (i: number): string =>
  JSON.stringify({ node: 'other', containerId: `c${i}`, name: `n${i}`, aliases: [], ipv4: `10.0.${i >> 8}.${i & 255}`, mac: `02:42:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, vtep: '198.51.100.12' });

test('peer watch: a burst of endpoint events costs a few passes, and the last one sees every endpoint', async () => {
  const backend = new MemoryClusterBackend();
  const writer = backend.store('other');
  const calls: (readonly RemoteEndpoint[])[] = [];
  // The network is not carried on this host (network() answers undefined): no kernel calls, only the report.
  const watch = new PeerWatch({ store: backend.store('me'), hostNetns: undefined, wireguard: {} as HostWireguard, network: () => undefined, onRemote: (_id, eps) => calls.push(eps) });
  await watch.start();
  await Promise.all(Array.from({ length: 200 }, (_, i) => writer.put(clusterKeys.endpoint(NET, `e${i}`), record(i), { lease: true })));
  await backend.settle();
  await watch.settled();
  assert.ok(calls.length >= 1 && calls.length < 20, `200 events made ${calls.length} passes`);
  assert.equal(calls.at(-1)?.length, 200);
  // A change after the burst still gets a pass of its own.
  await writer.delete(clusterKeys.endpoint(NET, 'e0'));
  await backend.settle();
  await watch.settled();
  assert.equal(calls.at(-1)?.length, 199);
  await watch.close();
});
