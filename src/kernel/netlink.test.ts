/**
 * The netlink calls against the kernel, in throwaway namespaces of ours (a "host" one with a bridge
 * and a "container" one), never the caller's own: what `ip` shows afterwards, and the errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ipBatch, ipJson, type IpAddr, type IpRoute } from './ip.js';
import {
  addBridgeLink, addVethPort, configureLink, deleteLink, ERRNO, linkDetails, linkUp, NetlinkError, routePrefixes, setHairpin, setLinkIpv6, setLinkMtu, tombstoneLink,
} from './netlink.js';
import { netnsAdd, netnsDelete, nsenterArgv } from './netns.js';
import { run } from './run.js';

/** What `ip` says routePrefixes should answer (the daemon read it this way before netlink). */
async function listRoutePrefixes(netns?: string): Promise<string[]> {
  const v4 = await ipJson<IpRoute[]>(['-4', 'route', 'show'], netns);
  const v6 = await ipJson<IpRoute[]>(['-6', 'route', 'show'], netns);
  const out: string[] = [];
  for (const r of v4) if (r.dst !== 'default') out.push(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
  for (const r of v6) {
    if (r.dst === 'default' || r.dst.startsWith('fe80:') || r.dst.startsWith('multicast')) continue;
    out.push(r.dst.includes('/') ? r.dst : `${r.dst}/128`);
  }
  return out;
}

const tmp = (): string => `rtnl${randomBytes(4).toString('hex')}`;

/** A "host" namespace with bridge br0 up and a "container" one, both removed after test t. */
async function hostAndContainer(t: { after: (fn: () => Promise<void>) => void }): Promise<{ host: string; ctr: string }> {
  const host = tmp();
  const ctr = tmp();
  t.after(async () => {
    await netnsDelete(ctr);
    await netnsDelete(host);
  });
  await netnsAdd(host);
  await netnsAdd(ctr);
  await ipBatch([['link', 'add', 'br0', 'type', 'bridge'], ['link', 'set', 'br0', 'up']], host);
  return { host, ctr };
}

test('a veth port: made into the bridge and up, its peer configured inside, renamed and deleted', async (t) => {
  const { host, ctr } = await hostAndContainer(t);
  linkUp(ctr, 'lo');
  addVethPort({ hostIfname: 'vethtest', hostNetns: host, bridge: 'br0', mtu: 1400, peer: { ifname: 'eth0', mac: '02:42:0a:09:00:02', netns: ctr } });
  configureLink(ctr, 'eth0', { addresses: ['10.9.0.2/24', 'fd09::2/64'], nodad: true, up: true, gateways: ['10.9.0.1', 'fd09::1'] });
  setHairpin(['vethtest'], host);

  const [port] = await ipJson<Array<IpAddr & { master?: string; linkinfo?: { info_slave_data?: { hairpin?: boolean } } }>>(['-details', 'addr', 'show', 'dev', 'vethtest'], host);
  assert.equal(port?.master, 'br0');
  assert.equal(port?.mtu, 1400);
  assert.ok(port?.flags.includes('UP'));
  assert.equal(port?.linkinfo?.info_slave_data?.hairpin, true);
  const inside = await ipJson<IpAddr[]>(['addr', 'show'], ctr);
  const eth0 = inside.find((l) => l.ifname === 'eth0');
  assert.equal(eth0?.address, '02:42:0a:09:00:02');
  assert.ok(eth0?.flags.includes('UP'));
  assert.ok(inside.find((l) => l.ifname === 'lo')?.flags.includes('UP'));
  const addrs = (eth0?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
  assert.ok(addrs.includes('10.9.0.2/24') && addrs.includes('fd09::2/64'), addrs.join(' '));
  assert.deepEqual((await ipJson<IpRoute[]>(['-4', 'route', 'show', 'default'], ctr)).map((r) => `${r.gateway} ${r.dev}`), ['10.9.0.1 eth0']);
  assert.deepEqual((await ipJson<IpRoute[]>(['-6', 'route', 'show', 'default'], ctr)).map((r) => `${r.gateway} ${r.dev}`), ['fd09::1 eth0']);

  // Errors carry the errno and say what was asked.
  const dup = (() => { try { addVethPort({ hostIfname: 'vethtest', hostNetns: host, bridge: 'br0', mtu: 1500, peer: { ifname: 'eth1', mac: '02:42:0a:09:00:03', netns: ctr } }); } catch (e) { return e; } })();
  assert.ok(dup instanceof NetlinkError && dup.errno === ERRNO.EEXIST, String(dup));
  assert.match((dup as Error).message, /^ip link add vethtest master br0 failed: File exists/);
  assert.throws(() => configureLink(ctr, 'eth0', { addresses: ['10.9.0.2/24'] }), /ip addr add 10\.9\.0\.2\/24 dev eth0 failed: File exists/);
  assert.throws(() => linkUp(ctr, 'nope'), (e: unknown) => e instanceof NetlinkError && e.errno === ERRNO.ENODEV);

  tombstoneLink(ctr, 'eth0', 'rdeltest');
  const tomb = (await ipJson<IpAddr[]>(['addr', 'show'], ctr)).find((l) => l.ifname === 'rdeltest');
  assert.ok(tomb && !tomb.flags.includes('UP'), 'renamed and down');
  assert.deepEqual(tomb.addr_info, [], 'no address left');
  await deleteLink(ctr, 'rdeltest');
  assert.deepEqual((await ipJson<IpAddr[]>(['link', 'show'], ctr)).map((l) => l.ifname), ['lo']);
  assert.deepEqual((await ipJson<IpAddr[]>(['link', 'show'], host)).map((l) => l.ifname).sort(), ['br0', 'lo'], 'the host end went with the pair');
  await assert.rejects(deleteLink(ctr, 'rdeltest'), (e: unknown) => e instanceof NetlinkError && e.errno === ERRNO.ENODEV);
});

test('IPv6 off on a link before it goes up: no link-local address, disable_ipv6 1 in its own namespace only', async (t) => {
  const { host, ctr } = await hostAndContainer(t);
  addVethPort({ hostIfname: 'vethv4', hostNetns: host, bridge: 'br0', mtu: 1500, peer: { ifname: 'eth0', mac: '02:42:0a:0a:00:02', netns: ctr } });
  addVethPort({ hostIfname: 'vethv6', hostNetns: host, bridge: 'br0', mtu: 1500, peer: { ifname: 'eth1', mac: '02:42:0a:0a:00:03', netns: ctr } });
  configureLink(ctr, 'eth0', { addresses: ['10.10.0.2/24'], ipv6: false, up: true });
  configureLink(ctr, 'eth1', { addresses: ['10.11.0.2/24', 'fd0b::2/64'], ipv6: true, nodad: true, up: true });
  const sysctl = async (key: string, netns: string): Promise<string> => (await run(nsenterArgv(netns, ['cat', `/proc/sys/net/${key}`]))).stdout.trim();
  assert.equal(await sysctl('ipv6/conf/eth0/disable_ipv6', ctr), '1');
  assert.equal(await sysctl('ipv6/conf/eth1/disable_ipv6', ctr), '0');
  assert.equal(await sysctl('ipv6/conf/default/disable_ipv6', ctr), '0', 'only the link, not the namespace default');
  const inside = await ipJson<IpAddr[]>(['addr', 'show'], ctr);
  const families = (name: string): string[] => (inside.find((l) => l.ifname === name)?.addr_info ?? []).map((a) => `${a.family} ${a.local}`);
  assert.deepEqual(families('eth0'), ['inet 10.10.0.2'], 'no fe80:: on the IPv4-only link');
  assert.ok(families('eth1').some((a) => a.startsWith('inet6 fe80::')), families('eth1').join(' '));
  assert.ok(inside.find((l) => l.ifname === 'eth0')?.flags.includes('UP'));
  // Asked again: nothing to write; on again: the kernel gives the link its link-local address.
  setLinkIpv6(ctr, 'eth0', false);
  setLinkIpv6(ctr, 'eth0', true);
  assert.equal(await sysctl('ipv6/conf/eth0/disable_ipv6', ctr), '0');
  // A missing link: off is a no-op (as with a kernel without IPv6), on is an error; names are checked.
  setLinkIpv6(ctr, 'eth9', false);
  assert.throws(() => setLinkIpv6(ctr, 'eth9', true), (e: unknown) => e instanceof NetlinkError && e.errno === ERRNO.ENOENT);
  assert.throws(() => setLinkIpv6(ctr, '../all', false), /bad interface name/);
  assert.throws(() => setLinkIpv6(ctr, '..', false), /bad interface name/);
});

test('a bridge: made, read back as ip shows it, its MTU changed; a missing link reads as undefined', async (t) => {
  const host = tmp();
  t.after(() => netnsDelete(host));
  await netnsAdd(host);
  assert.equal(linkDetails(host, 'brtest'), undefined);
  addBridgeLink('brtest', 1450, host);
  assert.throws(() => addBridgeLink('brtest', 1450, host), (e: unknown) => e instanceof NetlinkError && e.errno === ERRNO.EEXIST);
  configureLink(host, 'brtest', { addresses: ['10.8.0.1/24', 'fd08:0:0:1::1/64', '2001:db8:0:0:1:0:0:1/48'], nodad: true, up: true });
  setLinkMtu(host, 'brtest', 1400);
  const got = linkDetails(host, 'brtest');
  const [shown] = await ipJson<IpAddr[]>(['-details', 'addr', 'show', 'dev', 'brtest'], host);
  assert.equal(got?.kind, 'bridge');
  assert.equal(shown?.linkinfo?.info_kind, 'bridge');
  assert.equal(got?.mtu, 1400);
  assert.equal(shown?.mtu, 1400);
  // The same addresses as ip prints them (its link-local fe80:: too once the bridge is up).
  assert.deepEqual([...(got?.addresses ?? [])].sort(), (shown?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`).sort());
  assert.ok(got?.addresses.includes('fd08:0:0:1::1/64') && got.addresses.includes('2001:db8::1:0:0:1/48'), got?.addresses.join(' '));
  assert.equal(linkDetails(host, 'lo')?.kind, undefined);
});

test('routePrefixes lists the main table as ip route show does, less defaults, link-local and multicast', async (t) => {
  const host = tmp();
  t.after(() => netnsDelete(host));
  await netnsAdd(host);
  addBridgeLink('brr', 1500, host);
  configureLink(host, 'brr', { addresses: ['10.7.0.1/24', 'fd07::1/64'], nodad: true, up: true });
  await ipBatch([
    ['route', 'add', '10.70.0.0/16', 'via', '10.7.0.9'],
    ['route', 'add', '10.71.0.5', 'dev', 'brr'],
    ['route', 'add', 'blackhole', '10.72.0.0/15'],
    ['route', 'add', 'default', 'via', '10.7.0.9'],
    ['route', 'add', 'fd70::/48', 'via', 'fd07::9'],
    ['route', 'add', 'default', 'via', 'fd07::9'],
    ['route', 'add', '10.73.0.0/16', 'via', '10.7.0.9', 'table', '100'],
  ], host);
  const mine = routePrefixes(host);
  assert.deepEqual([...mine].sort(), [...(await listRoutePrefixes(host))].sort());
  for (const want of ['10.7.0.0/24', '10.70.0.0/16', '10.71.0.5/32', '10.72.0.0/15', 'fd07::/64', 'fd70::/48']) assert.ok(mine.includes(want), `${want} in ${mine.join(' ')}`);
  assert.ok(!mine.some((r) => r.startsWith('10.73.') || r.startsWith('fe80') || r.startsWith('ff')), mine.join(' '));
});
