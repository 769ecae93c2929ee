import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { linkLocalOf, renderL2Delta, v6Hex } from './render-l2.js';
import { renderRuleset } from './render.js';

test('the link-local address is the kernel EUI-64 one of the MAC', () => {
  assert.equal(linkLocalOf('02:42:ac:11:00:02'), 'fe80::42:acff:fe11:2');
  assert.equal(linkLocalOf('00:16:3e:aa:bb:cc'), 'fe80::216:3eff:feaa:bbcc');
});

test('an IPv6 address as a 128-bit number, :: and embedded IPv4 included', () => {
  assert.equal(v6Hex('2001:db8::1'), '0x20010db8000000000000000000000001');
  assert.equal(v6Hex('::'), '0x' + '0'.repeat(32));
  assert.equal(v6Hex('::ffff:10.1.2.3'), '0x00000000000000000000ffff0a010203');
  assert.equal(v6Hex('fe80::1:2:3:4'), '0xfe800000000000000001000200030004');
});

test('an endpoint delta adds and removes its elements only, and nft takes it over the full table', () => {
  const a = { port: 'veth1111111', mac: '02:42:ac:11:00:02', ipv4: '172.17.0.2' };
  const b = { port: 'veth2222222', mac: '02:42:0a:01:01:02', ipv4: '10.1.1.2', ipv6: '2001:db8:1::2' };
  const add = renderL2Delta('redes', [b], [], [a, b]);
  assert.match(add, /^add element bridge redes l2ports \{ "veth2222222" \}$/m);
  assert.match(add, /^add element bridge redes l2na6 \{ "veth2222222" \. 0x20010db8000100000000000000000002, "veth2222222" \. 0xfe8000000000000000420afffe010102 \}$/m);
  const del = renderL2Delta('redes', [], [a], [b]);
  assert.doesNotMatch(del, /veth2222222|^add/m);
  assert.equal(renderL2Delta('redes', [], [], []), '');
  const full = renderRuleset({ table: 'redes', networks: [], endpoints: [a] });
  const r = spawnSync('unshare', ['--net', 'sh', '-c', 'nft -f - && nft -j list set bridge redes l2mac'], { input: full + add + del, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { nftables: Array<{ set?: { elem?: unknown } }> }).nftables.find((o) => o.set)?.set?.elem, [{ concat: ['veth2222222', '02:42:0a:01:01:02'] }]);
});

test('a leave keeps what another endpoint on the same port still needs, and looks at no other port', () => {
  const old = { port: 'veth3333333', mac: '02:42:0a:01:01:03', ipv4: '10.1.1.3' };
  const now = { ...old, mac: '02:42:0a:01:01:09' }; // the same port re-keyed: a new MAC, the same address
  const others = Array.from({ length: 1000 }, (_, i) => ({ port: `vethx${i}`, mac: '02:42:0a:01:01:03', ipv4: '10.1.1.3' }));
  const del = renderL2Delta('redes', [now], [old], [...others, now]);
  assert.match(del, /^delete element bridge redes l2mac \{ "veth3333333" \. 02:42:0a:01:01:03 \}$/m);
  assert.doesNotMatch(del, /^delete element bridge redes (l2ports|l2ip4) /m);
  assert.doesNotMatch(del, /vethx/);
});
