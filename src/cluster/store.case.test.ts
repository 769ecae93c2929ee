/**
 * The behaviour every ClusterStore shares, as one suite run against each implementation
 * (memory-store.test.ts, etcd-store.test.ts).
 *
 * Use: `clusterStoreCases('memory', async () => ({ a, b, expireLease, cleanup }))` where a and b are
 * two hosts' stores of one cluster.
 *
 * Beware: each case gets a fresh cluster from `open`, so keys never leak between cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterStore, LeaseEvent, WatchEvent } from './store.js';

export interface StoreHarness {
  a: ClusterStore;
  b: ClusterStore;
  /** Makes the lease of nodeId run out now (the host died). */
  expireLease(nodeId: string): Promise<void>;
  /** Makes the lease of nodeId be lost while its host runs on; resolves with the lease events its store told, up to `replaced`. */
  loseLease(nodeId: string): Promise<LeaseEvent[]>;
  cleanup(): Promise<void>;
}

/** Waits until `events` holds n items (watch delivery is asynchronous). */
async function waitFor(events: WatchEvent[], n: number): Promise<void> {
  const until = Date.now() + 5000;
  while (events.length < n) {
    if (Date.now() > until) throw new Error(`expected ${n} events, got ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function clusterStoreCases(name: string, open: () => Promise<StoreHarness>): void {
  const withStores = (title: string, body: (h: StoreHarness) => Promise<void>): void => {
    test(`${name} store: ${title}`, async () => {
      const h = await open();
      try {
        await body(h);
      } finally {
        await h.cleanup();
      }
    });
  };

  withStores('put, get and delete round-trip, missing keys are undefined', async ({ a, b }) => {
    assert.equal(await a.get('nodes/x'), undefined);
    await a.put('nodes/x', '{"n":1}');
    const got = await b.get('nodes/x');
    assert.equal(got?.value, '{"n":1}');
    assert.equal(got?.key, 'nodes/x');
    assert.ok((got?.modRevision ?? 0) > 0);
    await b.delete('nodes/x');
    assert.equal(await a.get('nodes/x'), undefined);
    await b.delete('nodes/x');
  });

  withStores('list returns keys under a prefix only, sorted, with the revision read at', async ({ a }) => {
    await a.put('networks/n2', '2');
    await a.put('networks/n1', '1');
    await a.put('networks-x', 'no');
    await a.put('ipam/n1/10.0.0.2', 'e');
    const { items, revision } = await a.list('networks/');
    assert.deepEqual(items.map((i) => [i.key, i.value]), [['networks/n1', '1'], ['networks/n2', '2']]);
    assert.ok(revision >= Math.max(...items.map((i) => i.modRevision)));
  });

  withStores('create succeeds once; a second create of the key is refused from any host', async ({ a, b }) => {
    assert.equal(await a.create('ipam/n1/10.0.0.2', 'ep-a'), true);
    assert.equal(await b.create('ipam/n1/10.0.0.2', 'ep-b'), false);
    assert.equal((await b.get('ipam/n1/10.0.0.2'))?.value, 'ep-a');
  });

  withStores('deleteIf removes a key only while it holds the given value', async ({ a, b }) => {
    assert.equal(await a.create('ipam/n1/10.0.0.2', 'ep-a'), true);
    assert.equal(await b.deleteIf('ipam/n1/10.0.0.2', 'ep-b'), false);
    assert.equal((await a.get('ipam/n1/10.0.0.2'))?.value, 'ep-a');
    assert.equal(await b.deleteIf('ipam/n1/10.0.0.2', 'ep-a'), true);
    assert.equal(await a.get('ipam/n1/10.0.0.2'), undefined);
    assert.equal(await a.deleteIf('ipam/n1/10.0.0.2', 'ep-a'), false);
  });

  withStores('claim creates, takes over a key holding the same value, refuses another; a leased claim goes with the lease', async ({ a, b, expireLease }) => {
    assert.equal(await a.claim('ipam/n1/10.0.0.2', 'ep-a', { lease: true }), true);
    assert.equal(await a.claim('ipam/n1/10.0.0.2', 'ep-a', { lease: true }), true);
    assert.equal(await b.claim('ipam/n1/10.0.0.2', 'ep-b', { lease: true }), false);
    assert.equal((await b.get('ipam/n1/10.0.0.2'))?.value, 'ep-a');
    // A plain key holding the value is taken over (tied to b's lease from now on).
    await a.put('ipam/n1/10.0.0.3', 'ep-x');
    assert.equal(await b.claim('ipam/n1/10.0.0.3', 'ep-x', { lease: true }), true);
    await expireLease(a.nodeId);
    assert.equal(await b.get('ipam/n1/10.0.0.2'), undefined);
    assert.equal((await b.get('ipam/n1/10.0.0.3'))?.value, 'ep-x', 'the taken-over key is b\'s now, not a\'s');
  });

  withStores('racing creates of the same keys never both win', async ({ a, b }) => {
    const keys = Array.from({ length: 20 }, (_, i) => `ipam/n1/10.0.0.${i + 2}`);
    const results = await Promise.all(keys.flatMap((k) => [a.create(k, 'a'), b.create(k, 'b')]));
    for (let i = 0; i < keys.length; i++) assert.equal(Number(results[2 * i]) + Number(results[2 * i + 1]), 1);
  });

  withStores('a watch from a listing revision sees later changes in order, not earlier ones', async ({ a, b }) => {
    await a.put('endpoints/n1/old', 'x');
    const { revision } = await b.list('endpoints/n1/');
    const events: WatchEvent[] = [];
    const w = await b.watch('endpoints/n1/', revision, (ev) => events.push(ev));
    await a.put('endpoints/n1/e1', 'v1');
    await a.put('endpoints/n2/other', 'skip');
    await a.delete('endpoints/n1/old');
    await waitFor(events, 2);
    await w.close();
    assert.deepEqual(events.map((e) => [e.type, e.key]), [['put', 'endpoints/n1/e1'], ['delete', 'endpoints/n1/old']]);
    const [first, second] = events;
    assert.ok(first?.type === 'put' && first.value === 'v1');
    assert.ok(second && first.revision > revision && second.revision > first.revision);
  });

  withStores('a watch from an older revision replays what happened since', async ({ a, b }) => {
    const { revision } = await a.list('vni/');
    await a.create('vni/4097', 'n1');
    await a.put('vni/4098', 'n2');
    const events: WatchEvent[] = [];
    const w = await b.watch('vni/', revision, (ev) => events.push(ev));
    await waitFor(events, 2);
    await w.close();
    assert.deepEqual(events.map((e) => e.key), ['vni/4097', 'vni/4098']);
  });

  withStores('a closed watch delivers nothing more', async ({ a, b }) => {
    const { revision } = await a.list('nodes/');
    const events: WatchEvent[] = [];
    const w = await b.watch('nodes/', revision, (ev) => events.push(ev));
    await a.put('nodes/1', 'x');
    await waitFor(events, 1);
    await w.close();
    await a.put('nodes/2', 'y');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(events.length, 1);
  });

  withStores('leased keys vanish when their host lease expires; others stay', async ({ a, b, expireLease }) => {
    const { revision } = await b.list('endpoints/');
    const events: WatchEvent[] = [];
    const w = await b.watch('endpoints/', revision, (ev) => events.push(ev));
    await a.put('endpoints/n1/ea', 'a', { lease: true });
    assert.equal(await a.create('endpoints/n1/ea2', 'a2', { lease: true }), true);
    await a.put('endpoints/n1/plain', 'p');
    await b.put('endpoints/n1/eb', 'b', { lease: true });
    await expireLease(a.nodeId);
    await waitFor(events, 6);
    await w.close();
    const deleted = events.filter((e) => e.type === 'delete').map((e) => e.key).sort();
    assert.deepEqual(deleted, ['endpoints/n1/ea', 'endpoints/n1/ea2']);
    assert.equal((await b.get('endpoints/n1/plain'))?.value, 'p');
    assert.equal((await b.get('endpoints/n1/eb'))?.value, 'b');
  });

  withStores('a lease lost while the host runs is replaced: its keys claimed again unless another host took one, keys put with republish: false left to their writer', async ({ a, b, expireLease, loseLease }) => {
    await a.put('alive/a', '1', { lease: true });
    assert.equal(await a.create('ipam/n1/10.0.0.2', 'ep-a', { lease: true }), true);
    assert.equal(await a.claim('ipam/n1/10.0.0.3', 'ep-a3', { lease: true }), true);
    await a.put('endpoints/n1/ep-a', '{"ip":"10.0.0.2"}', { lease: true, republish: false });
    await a.put('plain/a', 'p');
    // Another host holds one of a's addresses now (as it may once a's lease ran out).
    await b.delete('ipam/n1/10.0.0.2');
    assert.equal(await b.create('ipam/n1/10.0.0.2', 'ep-b', { lease: true }), true);
    const events = await loseLease(a.nodeId);
    assert.deepEqual(events, [{ type: 'doubt' }, { type: 'replaced', taken: ['ipam/n1/10.0.0.2'] }]);
    assert.equal((await b.get('ipam/n1/10.0.0.2'))?.value, 'ep-b', 'the other host keeps what it took');
    assert.equal((await b.get('ipam/n1/10.0.0.3'))?.value, 'ep-a3');
    assert.equal((await b.get('alive/a'))?.value, '1');
    assert.equal(await b.get('endpoints/n1/ep-a'), undefined, 'not republished by the store');
    assert.equal((await b.get('plain/a'))?.value, 'p');
    // What was claimed again hangs off the new lease.
    await expireLease(a.nodeId);
    assert.equal(await b.get('ipam/n1/10.0.0.3'), undefined);
    assert.equal(await b.get('alive/a'), undefined);
    assert.equal((await b.get('ipam/n1/10.0.0.2'))?.value, 'ep-b');
  });

  withStores('the two hosts have distinct node ids', async ({ a, b }) => {
    assert.ok(a.nodeId.length > 0);
    assert.notEqual(a.nodeId, b.nodeId);
  });
}
