import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerRecord } from '../containers/container-types.js';
import type { NetworkRecord } from '../networks/network-record.js';
import { exposedPorts, LinkRules, type LinkRule } from './link-rules.js';

function rec(id: string, ip: string, extra: { links?: string[]; exposed?: string[]; running?: boolean } = {}): ContainerRecord {
  return {
    id, name: id,
    state: { status: extra.running === false ? 'exited' : 'running' },
    config: { ExposedPorts: Object.fromEntries((extra.exposed ?? []).map((k) => [k, {}])) },
    hostConfig: { Links: extra.links ?? null },
    endpoints: { bridge: { networkId: 'net', ipv4Address: ip } },
  } as unknown as ContainerRecord;
}

function setup(icc: boolean) {
  const all = new Map<string, ContainerRecord>();
  const fw = { calls: [] as Array<[string, readonly LinkRule[]]>, state: new Map<string, readonly LinkRule[]>() };
  const firewall = {
    setLinks: async (o: string, r: readonly LinkRule[]) => void (fw.calls.push([o, r]), fw.state.set(o, r)),
    removeLinks: async (o: string) => void (fw.calls.push([o, []]), fw.state.delete(o)),
  };
  const containers = {
    resolve: (t: string) => all.get(t) ?? (() => { throw new Error('nope'); })(),
    list: () => [...all.values()],
  };
  const net = { id: 'net', driverOptions: { attach: 'interface', icc, reserved: {}, own: {} } } as unknown as NetworkRecord;
  const rules = new LinkRules({ firewall, containers, networks: { get: () => net } });
  return { all, fw, rules };
}

test('exposed ports: proto default tcp, ranges expanded, junk skipped', () => {
  assert.deepEqual(exposedPorts({ '80/tcp': {}, '53/udp': {}, '7000-7001/sctp': {}, 'x': {}, '90': {} }), [
    // '90' is an integer-like key: JavaScript lists it first.
    { proto: 'tcp', port: 90 }, { proto: 'tcp', port: 80 }, { proto: 'udp', port: 53 }, { proto: 'sctp', port: 7000 }, { proto: 'sctp', port: 7001 },
  ]);
});

test('a parent gets its targets\' exposed ports; a target restart moves them; stop and ICC on clear them', async () => {
  const { all, fw, rules } = setup(false);
  all.set('b', rec('b', '172.17.0.2', { exposed: ['80/tcp', '53/udp'] }));
  const a = rec('a', '172.17.0.3', { links: ['/b:/a/web'] });
  all.set('a', a);
  await rules.parentStarting(a);
  assert.deepEqual(fw.state.get('a'), [
    { src: '172.17.0.3', dst: '172.17.0.2', proto: 'tcp', port: 80 },
    { src: '172.17.0.3', dst: '172.17.0.2', proto: 'udp', port: 53 },
  ]);
  const b = all.get('b') as ContainerRecord;
  await rules.targetChanged(b, true); // b stops: its address may go to someone else
  assert.deepEqual(fw.state.get('a'), []);
  all.set('b', rec('b', '172.17.0.9', { exposed: ['80/tcp'] }));
  await rules.targetChanged(all.get('b') as ContainerRecord);
  assert.deepEqual(fw.state.get('a'), [{ src: '172.17.0.3', dst: '172.17.0.9', proto: 'tcp', port: 80 }]);
  await rules.parentGone('a');
  assert.equal(fw.state.has('a'), false);
  const n = fw.calls.length;
  await rules.targetChanged(all.get('b') as ContainerRecord);
  assert.equal(fw.calls.length, n, 'a parent that stopped gets nothing back');

  const on = setup(true);
  on.all.set('b', rec('b', '172.17.0.2', { exposed: ['80/tcp'] }));
  await on.rules.parentStarting(a);
  assert.deepEqual(on.fw.state.get('a'), [], 'ICC on: nothing to allow');
});
