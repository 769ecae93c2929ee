import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsRecords } from '../dns/index.js';
import { remoteDnsSink } from './overlay-wiring.js';

const NET = 'n'.repeat(64);
const ep = (id: string, name: string, ipv4: string): { endpointId: string; node: string; name: string; aliases: string[]; containerId: string; ipv4: string } => ({ endpointId: id, node: 'other', name, aliases: [], containerId: id.repeat(12), ipv4 });

test('remote DNS sink: a whole list replaces the network\'s; changed, new and gone endpoints are followed, unchanged ones left alone', () => {
  const records = new DnsRecords();
  const sink = remoteDnsSink(records, () => 'ov');
  const full = (set: ReturnType<typeof ep>[]) => ({ full: true, set, removed: [] });
  sink(NET, full([ep('a', 'web', '10.0.0.2'), ep('b', 'db', '10.0.0.3')]));
  assert.deepEqual(records.lookup([NET], 'web')?.v4, ['10.0.0.2']);
  const dbBefore = records.endpointsOf('remote:b');
  sink(NET, full([ep('b', 'db', '10.0.0.3'), ep('c', 'cache', '10.0.0.4'), ep('a', 'web', '10.0.0.9')]));
  assert.deepEqual(records.lookup([NET], 'web')?.v4, ['10.0.0.9'], 'a changed address is followed');
  assert.deepEqual(records.lookup([NET], 'cache')?.v4, ['10.0.0.4']);
  assert.equal(records.endpointsOf('remote:b'), dbBefore, 'an unchanged endpoint is not written again');
  sink(NET, full([ep('c', 'cache', '10.0.0.4')]));
  assert.equal(records.lookup([NET], 'web'), undefined);
  assert.equal(records.lookup([NET], 'db'), undefined);
  assert.deepEqual(records.lookup([NET], 'cache')?.v4, ['10.0.0.4']);
});

test('remote DNS sink: a delta writes its endpoints and drops the removed ones, leaving the rest alone', () => {
  const records = new DnsRecords();
  const sink = remoteDnsSink(records, () => 'ov');
  sink(NET, { full: true, set: [ep('a', 'web', '10.0.0.2'), ep('b', 'db', '10.0.0.3')], removed: [] });
  const dbBefore = records.endpointsOf('remote:b');
  sink(NET, { full: false, set: [ep('c', 'cache', '10.0.0.4'), ep('a', 'web', '10.0.0.9')], removed: [] });
  assert.deepEqual(records.lookup([NET], 'web')?.v4, ['10.0.0.9']);
  assert.deepEqual(records.lookup([NET], 'cache')?.v4, ['10.0.0.4']);
  assert.equal(records.endpointsOf('remote:b'), dbBefore, 'an endpoint outside the delta is untouched');
  sink(NET, { full: false, set: [], removed: ['a', 'zz'] });
  assert.equal(records.lookup([NET], 'web'), undefined);
  assert.deepEqual(records.lookup([NET], 'db')?.v4, ['10.0.0.3']);
  // A whole list after deltas still removes what it does not hold.
  sink(NET, { full: true, set: [ep('b', 'db', '10.0.0.3')], removed: [] });
  assert.equal(records.lookup([NET], 'cache'), undefined);
  assert.deepEqual(records.lookup([NET], 'db')?.v4, ['10.0.0.3']);
});
