// The embedded DNS end to end with the docker CLI: resolv.conf contents, names (container name,
// alias, shared alias, short id, hostname, name.network), PTR, scoping across networks, changes on
// connect/disconnect/rename/removal, forwarding to the world's DNS (UDP and TCP), internal networks,
// an unreachable upstream (SERVFAIL within the budget), and the default bridge (no embedded DNS).
// One sandbox for the file; the tests run in order and build on each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '../helpers/sandbox.js';
import { containerNetns, inspectContainer, runDetached } from '../helpers/containers.js';
import { dnsQuery } from '../helpers/dns-probe.js';

let sb: Sandbox;
before(async () => {
  sb = await startSandbox(undefined, { prefix: 'dns' });
});
after(() => sb?.down());

const T = { timeoutMs: 20_000 };
const ns: Record<string, string> = {};
const ip: Record<string, string> = {};

async function runOn(name: string, args: string[]): Promise<void> {
  const id = await runDetached(sb, ['--name', name, ...args]);
  ns[name] = containerNetns(sb, id);
}

const addrOf = async (name: string, net: string): Promise<string> => (await inspectContainer(sb, name)).NetworkSettings.Networks[net]?.IPAddress ?? '';
const a = async (from: string, name: string): Promise<string[]> => (await dnsQuery(ns[from] as string, name)).answers.sort();

test('containers on a user network get 127.0.0.11 with ndots:0; the default bridge keeps the host resolver', async () => {
  await sb.docker(['network', 'create', '--subnet', '10.31.0.0/24', 'red1']);
  await sb.docker(['network', 'create', '--subnet', '10.32.0.0/24', 'red2']);
  await runOn('c1', ['--network', 'red1', '--network-alias', 'web', '--hostname', 'host-c1', 'busybox', 'sleep', '3600']);
  await runOn('c2', ['--network', 'red1', '--network-alias', 'web', 'busybox', 'sleep', '3600']);
  ip.c1 = await addrOf('c1', 'red1');
  ip.c2 = await addrOf('c2', 'red1');
  assert.equal((await sb.docker(['exec', 'c1', 'cat', '/etc/resolv.conf'], T)).stdout, 'nameserver 127.0.0.11\noptions ndots:0\n');
  const r = await sb.docker(['run', '--rm', 'busybox', 'cat', '/etc/resolv.conf'], T);
  assert.match(r.stdout, /^nameserver 203\.0\.113\.1$/m);
  assert.doesNotMatch(r.stdout, /127\.0\.0\.11/);
  const opts = await sb.docker(['run', '--rm', '--network', 'red1', '--dns-search', 'corp.test', '--dns-option', 'timeout:2', 'busybox', 'cat', '/etc/resolv.conf'], T);
  assert.equal(opts.stdout, 'nameserver 127.0.0.11\nsearch corp.test\noptions ndots:0 timeout:2\n');
});

test('name, alias, short id, hostname and name.network resolve; a shared alias gives every address in turn', async () => {
  await runOn('q1', ['--network', 'red1', 'busybox', 'sleep', '3600']);
  const c1 = await inspectContainer(sb, 'c1');
  assert.deepEqual(c1.NetworkSettings.Networks.red1?.DNSNames, ['c1', 'web', c1.Id.slice(0, 12), 'host-c1']);
  for (const n of ['c1', 'C1', c1.Id.slice(0, 12), 'host-c1', 'c1.red1', 'c1.']) assert.deepEqual(await a('q1', n), [ip.c1], n);
  assert.deepEqual(await a('q1', 'web'), [ip.c1, ip.c2].sort());
  const first = new Set<string>();
  for (let i = 0; i < 4; i++) first.add((await dnsQuery(ns.q1 as string, 'web')).answers[0] as string);
  assert.equal(first.size, 2, 'round robin: each address comes first in turn');
  const aaaa = await dnsQuery(ns.q1 as string, 'c1', { type: 'AAAA' });
  assert.deepEqual([aaaa.rcode, aaaa.answers], ['NOERROR', []], 'a local name without IPv6 is not NXDOMAIN');
  const nl = await sb.docker(['exec', 'q1', 'nslookup', 'c2'], T);
  assert.match(nl.stdout, new RegExp(`Address: ${ip.c2?.replace(/\./g, '\\.')}`));
});

test('PTR of a container address answers name.network', async () => {
  const rev = (ip.c2 as string).split('.').reverse().join('.') + '.in-addr.arpa';
  const r = await dnsQuery(ns.q1 as string, rev, { type: 'PTR' });
  assert.deepEqual([r.rcode, r.answers], ['NOERROR', ['c2.red1']]);
});

test('names are scoped to shared networks', async () => {
  await runOn('other', ['--network', 'red2', 'busybox', 'sleep', '3600']);
  assert.deepEqual(await a('other', 'c1'), [], 'red2 does not see red1');
  assert.notEqual((await dnsQuery(ns.other as string, 'c1')).rcode, 'NOERROR');
  assert.deepEqual(await a('q1', 'other'), []);
});

test('connect, disconnect, rename and removal change the answers at once', async () => {
  await sb.docker(['network', 'connect', '--alias', 'bridgehead', 'red2', 'c1'], T);
  const c1red2 = await addrOf('c1', 'red2');
  assert.deepEqual(await a('other', 'c1'), [c1red2]);
  assert.deepEqual(await a('other', 'bridgehead'), [c1red2]);
  assert.deepEqual(await a('c1', 'other'), [await addrOf('other', 'red2')], 'the connected container sees its new peers');
  await sb.docker(['network', 'disconnect', 'red2', 'c1'], T);
  assert.deepEqual(await a('other', 'c1'), []);
  await sb.docker(['rename', 'c2', 'c2new'], T);
  assert.deepEqual(await a('q1', 'c2new'), [ip.c2]);
  assert.deepEqual(await a('q1', 'c2'), []);
  await sb.docker(['rm', '-f', 'c2new'], T);
  assert.deepEqual(await a('q1', 'web'), [ip.c1]);
});

test('a default-bridge container joining a user network switches to the embedded DNS', async () => {
  await runOn('b1', ['busybox', 'sleep', '3600']);
  assert.doesNotMatch((await sb.docker(['exec', 'b1', 'cat', '/etc/resolv.conf'], T)).stdout, /127\.0\.0\.11/);
  await sb.docker(['network', 'connect', 'red1', 'b1'], T);
  assert.match((await sb.docker(['exec', 'b1', 'cat', '/etc/resolv.conf'], T)).stdout, /^nameserver 127\.0\.0\.11$/m);
  assert.deepEqual(await a('b1', 'c1'), [ip.c1]);
});

test('other names go to the world DNS, over UDP and TCP', async () => {
  for (const tcp of [false, true]) {
    const r = await dnsQuery(ns.q1 as string, 'world.test', { tcp });
    assert.deepEqual([r.rcode, r.answers], ['NOERROR', ['203.0.113.1']], tcp ? 'tcp' : 'udp');
  }
  assert.match((await sb.docker(['exec', 'q1', 'nslookup', 'world.test'], T)).stdout, /Address: 203\.0\.113\.1/);
});

test('an internal network resolves peers and forwards nothing', async () => {
  await sb.docker(['network', 'create', '--internal', 'inside'], T);
  await runOn('in1', ['--network', 'inside', 'busybox', 'sleep', '3600']);
  await runOn('in2', ['--network', 'inside', 'busybox', 'sleep', '3600']);
  assert.deepEqual(await a('in2', 'in1'), [await addrOf('in1', 'inside')]);
  const r = await dnsQuery(ns.in2 as string, 'world.test');
  assert.deepEqual([r.rcode, r.answers], ['SERVFAIL', []]);
  // Semantics, not speed: well under the 1 s upstream budget means nothing was forwarded (a fixed
  // 200 ms bound failed at load 20).
  assert.ok(r.ms < 900, `answered without waiting for an upstream (${r.ms} ms)`);
});

test('an unreachable upstream gives SERVFAIL within the timeout', async () => {
  await runOn('lost', ['--network', 'red1', '--dns', '203.0.113.77', 'busybox', 'sleep', '3600']);
  const r = await dnsQuery(ns.lost as string, 'world.test');
  assert.equal(r.rcode, 'SERVFAIL');
  assert.ok(r.ms >= 900 && r.ms < 5000, `SERVFAIL after the 1 s budget, not never (${r.ms} ms)`);
  assert.deepEqual(await a('lost', 'c1'), [ip.c1], 'local names still answer');
});

test('--link on a user network is an alias only the linking container resolves', async () => {
  await runOn('linker', ['--network', 'red1', '--link', 'c1:db', 'busybox', 'sleep', '3600']);
  assert.deepEqual(await a('linker', 'db'), [ip.c1]);
  assert.deepEqual(await a('q1', 'db'), []);
  assert.equal((await sb.docker(['inspect', '-f', '{{json .HostConfig.Links}}', 'linker'], T)).stdout.trim(), 'null');
});

test('the default bridge does not resolve container names', async () => {
  await runOn('b2', ['busybox', 'sleep', '3600']);
  const r = await sb.docker(['exec', 'b2', 'nslookup', 'b1'], { ...T, allowFail: true });
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stdout, /Name:\s+b1/);
});
