import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { run } from './run.js';
import { netnsAdd, netnsDelete } from './netns.js';
import { applyNeighbours } from './neigh-netlink.js';

const tmpName = (): string => `rtnl${randomBytes(4).toString('hex')}`;

async function entries(ns: string): Promise<{ neigh: string[]; fdb: string[] }> {
  const neigh = JSON.parse((await run(['ip', '-n', ns, '-json', 'neigh', 'show', 'dev', 'vx0'])).stdout || '[]') as Array<{ dst: string; lladdr: string; state: string[] }>;
  const fdb = JSON.parse((await run(['bridge', '-n', ns, '-json', 'fdb', 'show', 'dev', 'vx0'])).stdout || '[]') as Array<{ mac: string; dst?: string; state?: string }>;
  return {
    neigh: neigh.map((n) => `${n.dst} ${n.lladdr} ${n.state.join(',')}`).sort(),
    fdb: fdb.filter((f) => f.dst).map((f) => `${f.mac} ${f.dst} ${f.state ?? ''}`).sort(),
  };
}

test('entries are replaced and deleted in the given namespace, as ip neigh / bridge fdb would', async (t) => {
  const ns = tmpName();
  t.after(() => netnsDelete(ns));
  await netnsAdd(ns);
  await run(['ip', '-n', ns, 'link', 'add', 'name', 'vx0', 'type', 'vxlan', 'id', '42', 'local', '198.51.100.1', 'dstport', '4789', 'nolearning', 'proxy']);
  const before = await readlink('/proc/thread-self/ns/net');
  applyNeighbours('vx0', [
    { op: 'replace', kind: 'neigh', ip: '10.9.0.2', mac: '02:42:0a:09:00:02' },
    { op: 'replace', kind: 'fdb', mac: '02:42:0a:09:00:02', vtep: '198.51.100.2' },
    { op: 'replace', kind: 'neigh', ip: '10.9.0.3', mac: '02:42:0a:09:00:03' },
    { op: 'replace', kind: 'fdb', mac: '02:42:0a:09:00:03', vtep: '198.51.100.3' },
  ], ns);
  assert.equal(await readlink('/proc/thread-self/ns/net'), before, 'back in our own namespace');
  assert.deepEqual(await entries(ns), {
    neigh: ['10.9.0.2 02:42:0a:09:00:02 PERMANENT', '10.9.0.3 02:42:0a:09:00:03 PERMANENT'],
    fdb: ['02:42:0a:09:00:02 198.51.100.2 permanent', '02:42:0a:09:00:03 198.51.100.3 permanent'],
  });
  // Replace moves an address to another MAC; deleting what is already gone is fine.
  applyNeighbours('vx0', [
    { op: 'replace', kind: 'neigh', ip: '10.9.0.3', mac: '02:42:0a:09:00:04' },
    { op: 'delete', kind: 'neigh', ip: '10.9.0.2', mac: '02:42:0a:09:00:02' },
    { op: 'delete', kind: 'fdb', mac: '02:42:0a:09:00:02', vtep: '198.51.100.2' },
    { op: 'delete', kind: 'fdb', mac: '02:42:0a:09:00:02', vtep: '198.51.100.2' },
  ], ns);
  assert.deepEqual(await entries(ns), { neigh: ['10.9.0.3 02:42:0a:09:00:04 PERMANENT'], fdb: ['02:42:0a:09:00:03 198.51.100.3 permanent'] });
  // More entries than one netlink message chunk.
  const many = Array.from({ length: 150 }, (_, i) => ({ op: 'replace' as const, kind: 'fdb' as const, mac: `02:77:00:00:00:${i.toString(16).padStart(2, '0')}`, vtep: '198.51.100.9' }));
  applyNeighbours('vx0', many, ns);
  assert.equal((await entries(ns)).fdb.length, 151);
});

test('a missing device, a missing namespace or a bad address is an error that names it', async (t) => {
  const ns = tmpName();
  t.after(() => netnsDelete(ns));
  await netnsAdd(ns);
  const op = { op: 'replace', kind: 'neigh', ip: '10.9.0.2', mac: '02:42:0a:09:00:02' } as const;
  assert.throws(() => applyNeighbours('vx0', [op], ns), /no device vx0 in rtnl/);
  assert.throws(() => applyNeighbours('vx0', [op], 'rtnl-missing'), /rtnl-missing: No such file/);
  await run(['ip', '-n', ns, 'link', 'add', 'name', 'vx0', 'type', 'vxlan', 'id', '42', 'local', '198.51.100.1', 'dstport', '4789']);
  assert.throws(() => applyNeighbours('vx0', [{ ...op, mac: 'zz:42:0a:09:00:02' }], ns), /IPv4 and MAC addresses/);
  assert.throws(() => applyNeighbours('vx0', [{ ...op, ip: 'fe80::1' }], ns), /IPv4 and MAC addresses/);
  // The kernel refuses a multicast MAC as a unicast forwarding entry: the errno is reported.
  assert.throws(() => applyNeighbours('vx0', [{ op: 'replace', kind: 'fdb', mac: '01:00:5e:00:00:01', vtep: '198.51.100.2' }], ns), /fdb replace 01:00:5e:00:00:01 .* failed/);
});
