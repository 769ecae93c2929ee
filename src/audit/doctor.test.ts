/** The doctor's rules on hand-made snapshots: a consistent pair gives nothing, each planted difference one finding. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerRecord, EndpointRecord, NetworkRecord } from '../engine/index.js';
import { diagnose, type DoctorState, type KernelView } from './doctor.js';
import { renderedChains } from './doctor-collect.js';
import { normElement, type L2Kernel } from './doctor-l2.js';
import { l2Elements, type FirewallEndpoint } from '../firewall/index.js';

const NET = 'a'.repeat(64);
const C1 = '1'.repeat(64);
const EP = 'e'.repeat(64);
const MAC = '02:42:0a:01:00:02';
const GUARD: FirewallEndpoint = { port: 'veth1234567', mac: MAC, ipv4: '10.1.0.2' };
const L2_CHAINS = new Map([['prerouting', 1], ['guard', 9]]);
const kernelL2 = (guards: FirewallEndpoint[]): L2Kernel => ({ elements: l2Elements(guards), chains: new Map(L2_CHAINS) });

function network(): NetworkRecord {
  return {
    id: NET, name: 'dn', driver: 'bridge', scope: 'local', created: '', internal: false, attachable: false, enableIPv4: true, enableIPv6: false,
    ipam: { driver: 'default', options: null, v4: { subnet: '10.1.0.0/24', gateway: '10.1.0.1', auxAddresses: {} } },
    options: {}, labels: {}, predefined: false,
    driverOptions: { attach: 'interface', icc: true, reserved: {}, own: { bridgeName: `br-${NET.slice(0, 12)}` } },
  } as NetworkRecord;
}

function endpoint(): EndpointRecord {
  return {
    networkId: NET, networkName: 'dn', endpointId: EP, ipamConfig: {}, aliases: [], links: [], macAddress: MAC, ipv4Address: '10.1.0.2', ipv4PrefixLen: 24,
    ipv4Gateway: '10.1.0.1', ipv6Address: '', ipv6PrefixLen: 0, ipv6Gateway: '', ifname: 'eth0', hostIfname: 'veth1234567', dnsNames: ['web'],
  };
}

function container(): ContainerRecord {
  return {
    id: C1, name: 'web', networkMode: 'dn', netns: `p-c-${C1.slice(0, 12)}`, endpoints: { dn: endpoint() }, dir: `/d/containers/${C1}`,
    state: { status: 'running', pid: 9, exitCode: 0, error: '', startedAt: '', finishedAt: '', oomKilled: false },
  } as unknown as ContainerRecord;
}

function consistent(): { s: DoctorState; k: KernelView } {
  const s: DoctorState = {
    prefix: 'p', containersDir: '/d/containers', containers: [container()], networks: [network()],
    allocations: [{ networkId: NET, address: '10.1.0.2', owner: EP }],
    firewall: { table: 'p', elements: { bridges: [`"br-${NET.slice(0, 12)}"`], hairpin4: [] }, chains: new Map([['forward', 2]]), portOwners: [], l2: { table: 'p', guards: [GUARD], chains: L2_CHAINS } },
    dns: new Map([[C1, [`${NET} 10.1.0.2`]]]),
  };
  const k: KernelView = {
    netns: [`p-c-${C1.slice(0, 12)}`],
    hostLinks: [
      { ifindex: 2, ifname: `br-${NET.slice(0, 12)}`, flags: [], mtu: 1500, operstate: 'UP', linkinfo: { info_kind: 'bridge' } },
      { ifindex: 3, ifname: 'veth1234567', flags: [], mtu: 1500, operstate: 'UP', master: `br-${NET.slice(0, 12)}`, linkinfo: { info_kind: 'veth' } },
    ],
    inside: new Map([[`p-c-${C1.slice(0, 12)}`, [
      { ifindex: 1, ifname: 'lo', flags: [], mtu: 65536, operstate: 'UNKNOWN', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
      { ifindex: 2, ifname: 'eth0', flags: [], mtu: 1500, operstate: 'UP', addr_info: [{ family: 'inet', local: '10.1.0.2', prefixlen: 24 }] },
    ]]]),
    nft: { tables: new Set(['inet p']), elements: new Map([['bridges', [`br-${NET.slice(0, 12)}`]], ['hairpin4', []]]), chains: new Map([['forward', 2]]), l2: kernelL2([GUARD]) },
    cgroups: [C1], mounts: [`/d/containers/${C1}/rootfs`], shims: [{ pid: 10, id: C1 }], runc: [C1], dirs: [C1],
  };
  return { s, k };
}

const kinds = (s: DoctorState, k: KernelView): string[] => diagnose(s, k).map((d) => `${d.kind} ${d.repair?.action ?? '-'}`);

test('a state and a kernel that agree give no difference', () => {
  const { s, k } = consistent();
  assert.deepEqual(diagnose(s, k), []);
});

test('kernel objects nobody owns are listed with their repair', () => {
  const { s, k } = consistent();
  k.netns = [...k.netns, 'p-c-000000000000'];
  k.hostLinks = [...k.hostLinks, { ifindex: 9, ifname: 'vethabcdef0', flags: [], mtu: 1500, operstate: 'UP', linkinfo: { info_kind: 'veth' } }, { ifindex: 10, ifname: 'br-0123456789ab', flags: [], mtu: 1500, operstate: 'UP', linkinfo: { info_kind: 'bridge' } }];
  k.cgroups = [...k.cgroups, '2'.repeat(64)];
  k.dirs = [...k.dirs, '3'.repeat(64)];
  k.shims = [...k.shims, { pid: 11, id: '4'.repeat(64) }];
  k.runc = [...k.runc, '5'.repeat(64)];
  k.mounts = [...k.mounts, `/d/containers/${'6'.repeat(64)}/rootfs`];
  assert.deepEqual(kinds(s, k).sort(), ['bridge delete-link', 'cgroup remove-cgroup', 'directory remove-dir', 'mount unmount-rootfs', 'netns delete-netns', 'runc kill-container', 'shim kill-shim', 'veth delete-link'].sort());
});

test('an address no running endpoint holds, or on a network that is gone, is released; one given twice is reported', () => {
  const { s, k } = consistent();
  s.allocations = [...s.allocations, { networkId: NET, address: '10.1.0.9', owner: 'f'.repeat(64) }, { networkId: 'b'.repeat(64), address: '10.2.0.2', owner: 'd'.repeat(64) }];
  assert.deepEqual(kinds(s, k), ['address release-owner', 'address release-owner']);
  const twin = { ...container(), id: '7'.repeat(64), name: 'twin', netns: '', networkMode: 'container:x' } as ContainerRecord;
  const { s: s2, k: k2 } = consistent();
  s2.containers = [...s2.containers, twin];
  k2.shims = [...k2.shims, { pid: 12, id: twin.id }];
  k2.mounts = [...k2.mounts, `/d/containers/${twin.id}/rootfs`];
  k2.dirs = [...k2.dirs, twin.id];
  s2.dns = new Map([...(s2.dns ?? []), [twin.id, [`${NET} 10.1.0.2`]]]);
  const found = diagnose(s2, k2);
  assert.ok(found.some((d) => d.kind === 'address' && /given twice on dn: to web and twin/.test(d.problem)), JSON.stringify(found));
});

test('interfaces and endpoints that disagree ask for a reconcile; an endpoint on a missing network is dropped', () => {
  const { s, k } = consistent();
  k.inside = new Map([[`p-c-${C1.slice(0, 12)}`, [{ ifindex: 4, ifname: 'eth1', flags: [], mtu: 1500, operstate: 'UP', addr_info: [] }]]]);
  k.hostLinks = k.hostLinks.filter((l) => l.ifname !== 'veth1234567');
  assert.deepEqual(kinds(s, k).sort(), ['interface -', 'interface -', 'interface reconcile', 'veth -'].sort());
  const { s: s2, k: k2 } = consistent();
  const stopped = { ...container(), id: '8'.repeat(64), name: 'old', state: { ...container().state, status: 'exited' }, endpoints: { gone: { ...endpoint(), networkId: 'c'.repeat(64), endpointId: '' } } } as ContainerRecord;
  s2.containers = [...s2.containers, stopped];
  k2.dirs = [...k2.dirs, stopped.id];
  assert.deepEqual(kinds(s2, k2), ['endpoint drop-endpoint']);
});

test('nft: an element too many or missing, a chain with other rules, a missing table all ask for a reload', () => {
  const { s, k } = consistent();
  k.nft = { tables: new Set(['inet p']), elements: new Map([['bridges', []], ['hairpin4', ['10.1.0.9 . 10.1.0.9']]]), chains: new Map([['forward', 3]]), l2: kernelL2([GUARD]) };
  assert.deepEqual(kinds(s, k), ['nft reload-firewall', 'nft reload-firewall', 'nft reload-firewall']);
  k.nft = { tables: new Set(), elements: new Map(), chains: new Map(), l2: kernelL2([GUARD]) };
  assert.deepEqual(kinds(s, k), ['nft reload-firewall']);
});

test('DNS: names of a stopped container are forgotten; a running container without its names is reported', () => {
  const { s, k } = consistent();
  s.dns = new Map();
  assert.deepEqual(kinds(s, k), ['dns -']);
  const { s: s2, k: k2 } = consistent();
  const stopped = { ...container(), id: '9'.repeat(64), name: 'old', state: { ...container().state, status: 'exited' } } as ContainerRecord;
  s2.containers = [...s2.containers, stopped];
  k2.dirs = [...k2.dirs, stopped.id];
  s2.dns = new Map([...(s2.dns ?? []), [stopped.id, [`${NET} 10.1.0.5`]]]);
  assert.deepEqual(kinds(s2, k2), ['dns forget-dns']);
});

test('renderedChains counts the rules of each chain of the last table block', () => {
  const script = ['table inet p {', 'set s {', 'type ipv4_addr', '}', '}', 'flush table inet p', 'table inet p {', 'chain a {', 'type filter hook input priority 0; policy accept;', 'accept', 'drop', '}', 'chain b {', '}', '}', 'table bridge p {', 'chain a {', 'drop', '}', '}'].join('\n');
  assert.deepEqual([...renderedChains(script, 'p')], [['a', 2], ['b', 0]]);
});

test('layer 2: a guard element missing or too many in the kernel, a missing chain or table ask for a reload', () => {
  const { s, k } = consistent();
  const els = new Map(l2Elements([GUARD]));
  els.set('l2ip4', ['"veth1234567" . 10.1.0.99']);
  k.nft = { ...(k.nft as NonNullable<KernelView['nft']>), l2: { elements: els, chains: new Map([['prerouting', 1]]) } };
  const found = diagnose(s, k);
  assert.deepEqual(found.map((d) => `${d.kind} ${d.object} ${d.repair?.action ?? '-'}`).sort(), [
    'l2 chain guard reload-firewall',
    'l2 l2ip4 element veth1234567 . 10.1.0.2 reload-firewall',
    'l2 l2ip4 element veth1234567 . 10.1.0.99 reload-firewall',
  ]);
  k.nft = { ...(k.nft as NonNullable<KernelView['nft']>), l2: undefined };
  delete (k.nft as { l2?: unknown }).l2;
  assert.deepEqual(kinds(s, k), ['l2 reload-firewall']);
});

test('layer 2: a firewall state that disagrees with the endpoints is reported, not "repaired" by a reload', () => {
  const { s, k } = consistent();
  const stale = { ...GUARD, mac: '02:42:0a:01:00:99' };
  (s.firewall as NonNullable<DoctorState['firewall']>).l2 = { table: 'p', guards: [stale, { port: 'vethgone000', mac: MAC }], chains: L2_CHAINS };
  k.nft = { ...(k.nft as NonNullable<KernelView['nft']>), l2: kernelL2([stale, { port: 'vethgone000', mac: MAC }]) };
  const found = diagnose(s, k);
  assert.ok(found.length > 2 && found.every((d) => d.kind === 'l2' && !d.repair), JSON.stringify(found));
  assert.ok(found.some((d) => /guarded with mac 02:42:0a:01:00:99, .* has mac 02:42:0a:01:00:02/.test(d.problem)));
  assert.ok(found.some((d) => d.object === 'port vethgone000' && /no running endpoint uses it/.test(d.problem)));
});

test('layer-2 elements compare as nft prints them (quotes dropped, IPv6 canonical)', () => {
  assert.equal(normElement('"veth1" . 2001:0db8:0:0::0002'), 'veth1 . 2001:db8::2');
  assert.equal(normElement('"veth1" . 02:42:AC:11:00:02'), 'veth1 . 02:42:AC:11:00:02');
  assert.equal(normElement('veth1 . 0x20010db8000000000000000000000002'), 'veth1 . 0x20010db8000000000000000000000002');
});
