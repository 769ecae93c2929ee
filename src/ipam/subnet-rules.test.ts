import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkNotHostNetwork, checkSubnetUsable } from './subnet-rules.js';

test('usable subnets pass', () => {
  for (const s of ['10.0.0.0/8', '172.17.0.0/16', '192.168.1.0/24', '10.6.0.0/31', '10.6.0.0/32', '2001:db8::/64', 'fd00::/64', 'fe80::/64']) {
    assert.doesNotThrow(() => checkSubnetUsable(s), s);
  }
});

test('IPv4 ranges no host can use are refused with 400', () => {
  for (const [s, what] of [
    ['224.0.0.0/24', /multicast/],
    ['239.1.0.0/16', /multicast/],
    ['127.0.0.0/24', /loopback/],
    ['169.254.0.0/24', /link-local/],
    ['0.0.0.0/0', /"this network"/],
    ['240.0.0.0/8', /reserved/],
  ] as const) {
    assert.throws(() => checkSubnetUsable(s), (e: Error & { kind?: string }) => e.kind === 'invalid-parameter' && what.test(e.message), s);
  }
});

test("IPv6 subnets Docker's bridge driver refuses, with its texts", () => {
  assert.throws(() => checkSubnetUsable('ff02::/64'), { message: "multicast subnet 'ff02::/64' is not allowed" });
  assert.throws(() => checkSubnetUsable('::ffff:10.0.0.0/104'), { message: "'::ffff:10.0.0.0/104' is not a valid IPv6 subnet" });
  assert.throws(() => checkSubnetUsable('fe80::/80'), { message: "'fe80::/80' clashes with the Link-Local prefix 'fe80::/64'" });
});

test("a subnet on the host's own network is refused; the engine's own networks and the default route are not in the way", () => {
  const routes = ['203.0.113.0/24', '172.17.0.0/16', '0.0.0.0/0'];
  assert.throws(() => checkNotHostNetwork('203.0.113.0/24', routes, ['172.17.0.0/16']), /overlaps 203\.0\.113\.0\/24, a network the engine's host is on/);
  assert.throws(() => checkNotHostNetwork('203.0.0.0/16', routes, []), /overlaps 203\.0\.113\.0\/24/);
  assert.doesNotThrow(() => checkNotHostNetwork('10.1.0.0/24', routes, ['172.17.0.0/16']));
  assert.doesNotThrow(() => checkNotHostNetwork('172.17.0.0/16', routes, ['172.17.0.0/16']));
});
