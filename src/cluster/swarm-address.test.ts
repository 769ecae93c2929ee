import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressToward, chooseAdvertiseAddr, splitHostPort } from './swarm-address.js';

const lab = [
  { ifname: 'eth0', address: '203.0.113.11', prefixLen: 24 },
  { ifname: 'eth1', address: '198.51.100.11', prefixLen: 24 },
];

test('advertise address: explicit address, address with port, interface name', () => {
  assert.equal(chooseAdvertiseAddr('198.51.100.11', lab), '198.51.100.11');
  assert.equal(chooseAdvertiseAddr('198.51.100.11:2377', lab), '198.51.100.11');
  assert.equal(chooseAdvertiseAddr('eth1', lab), '198.51.100.11');
  assert.throws(() => chooseAdvertiseAddr('eth9', lab), /advertise address must be a non-zero IP address or network interface/);
});

test('advertise address: automatic with one interface, Docker\'s refusal with several', () => {
  assert.equal(chooseAdvertiseAddr('', lab.slice(1)), '198.51.100.11');
  assert.equal(chooseAdvertiseAddr('0.0.0.0:2377', lab.slice(0, 1)), '203.0.113.11');
  assert.throws(
    () => chooseAdvertiseAddr('', lab),
    { message: 'could not choose an IP address to advertise since this system has multiple addresses on different interfaces (203.0.113.11 on eth0 and 198.51.100.11 on eth1)' },
  );
});

test('a joining node advertises its address on the manager\'s subnet', () => {
  assert.equal(addressToward('198.51.100.12', lab), '198.51.100.11');
  assert.equal(addressToward('203.0.113.50', lab), '203.0.113.11');
});

test('host:port splitting', () => {
  assert.deepEqual(splitHostPort('198.51.100.11:2377', 1), { host: '198.51.100.11', port: 2377 });
  assert.deepEqual(splitHostPort('198.51.100.11', 2377), { host: '198.51.100.11', port: 2377 });
  assert.throws(() => splitHostPort('a:99999', 1), /invalid port/);
});
