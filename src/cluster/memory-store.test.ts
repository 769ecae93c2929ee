import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryClusterBackend, memoryClusterStore } from './memory-store.js';
import { clusterStoreCases } from './store.case.test.js';
import { clusterKeys, type LeaseEvent } from './store.js';

clusterStoreCases('memory', async () => {
  const backend = new MemoryClusterBackend();
  const a = backend.store('node-a');
  const b = backend.store('node-b');
  return {
    a,
    b,
    expireLease: async (nodeId) => backend.expireLease(nodeId),
    loseLease: async (nodeId) => {
      const events: LeaseEvent[] = [];
      const off = (nodeId === a.nodeId ? a : b).onLease((ev) => events.push(ev));
      await backend.loseLease(nodeId);
      off();
      return events;
    },
    cleanup: async () => {
      await a.close();
      await b.close();
    },
  };
});

test('memory store: closing a store revokes its leased keys and refuses later calls', async () => {
  const backend = new MemoryClusterBackend();
  const a = backend.store('a');
  await a.put('alive/a', '1', { lease: true });
  assert.deepEqual(backend.leasedKeys('a'), ['alive/a']);
  await a.close();
  assert.equal(backend.read('alive/a'), undefined);
  await assert.rejects(a.get('alive/a'), /closed/);
});

test('memory store: writes are counted, a refused create is not a write', async () => {
  const s = memoryClusterStore();
  await s.create('vni/1', 'n');
  await s.create('vni/1', 'n');
  await s.put('vni/2', 'n');
  assert.equal(s.backend.writes, 2);
});

test('cluster keys: every per-network prefix ends with a slash and contains its records', () => {
  assert.ok(clusterKeys.ipam('n1', '10.0.0.2').startsWith(clusterKeys.ipamOf('n1')));
  assert.ok(clusterKeys.endpoint('n1', 'e').startsWith(clusterKeys.endpointsOf('n1')));
  assert.ok(!clusterKeys.ipam('n10', '10.0.0.2').startsWith(clusterKeys.ipamOf('n1')));
  assert.equal(clusterKeys.vni(4097), 'vni/4097');
  assert.ok(clusterKeys.aliveNode('x').startsWith(clusterKeys.alive));
});
