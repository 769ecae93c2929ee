import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type NormalizedPool,
  ERR_ADDRESS_IN_USE,
  ERR_NO_AVAILABLE_IPS,
  allocateAddress,
  allocateFromPools,
  macFromIPv4,
  randomMac,
} from './allocator.js';

const pool = (subnet: string, gateway: string, extra: Partial<NormalizedPool> = {}): NormalizedPool => ({
  family: subnet.includes(':') ? 6 : 4,
  subnet,
  gateway,
  auxAddresses: {},
  static: true,
  ...extra,
});

/** Allocates until the pool is full, recording each address, and returns them in order. */
function drain(p: NormalizedPool, used = new Set<string>()): string[] {
  const got: string[] = [];
  for (;;) {
    try {
      const a = allocateAddress(p, used);
      used.add(a);
      got.push(a);
    } catch (e) {
      assert.equal((e as Error).message, ERR_NO_AVAILABLE_IPS);
      return got;
    }
  }
}

const inUse = { kind: 'forbidden', code: 'ipam.address_in_use', message: ERR_ADDRESS_IN_USE };
const outside = (a: string) => ({
  kind: 'invalid-parameter',
  message: `invalid address ${a}: It does not belong to any of this network's subnets`,
});

test('addresses come lowest first, skipping network, gateway, aux and used', () => {
  const p = pool('10.1.1.0/24', '10.1.1.1', { auxAddresses: { a: '10.1.1.3' } });
  assert.equal(allocateAddress(p, new Set()), '10.1.1.2');
  assert.equal(allocateAddress(p, new Set(['10.1.1.2'])), '10.1.1.4');
  assert.equal(allocateAddress(p, new Set(['10.1.1.2', '10.1.1.4', '10.1.1.6'])), '10.1.1.5');
});

test('small IPv4 subnets: /30 runs out after one, /31 uses both ends, /32 has nothing after the gateway', () => {
  assert.deepEqual(drain(pool('10.0.0.0/30', '10.0.0.1')), ['10.0.0.2']);
  assert.deepEqual(drain(pool('10.0.0.0/31', '10.0.0.0')), ['10.0.0.1']);
  assert.deepEqual(drain(pool('10.0.0.7/32', '10.0.0.7')), []);
  assert.throws(() => allocateAddress(pool('10.0.0.0/30', '10.0.0.1'), new Set(['10.0.0.2'])), {
    kind: 'unavailable',
    code: 'ipam.pool_full',
    message: ERR_NO_AVAILABLE_IPS,
  });
});

test('an ip-range at the end of the subnet stops before the broadcast address', () => {
  const p = pool('10.1.1.0/24', '10.1.1.1', { ipRange: '10.1.1.252/30' });
  assert.deepEqual(drain(p), ['10.1.1.252', '10.1.1.253', '10.1.1.254']);
  // A requested address may still be anywhere in the subnet.
  assert.equal(allocateAddress(p, new Set(), '10.1.1.20'), '10.1.1.20');
});

test('IPv6 /64: the subnet-router anycast address is held back and output is canonical', () => {
  const p = pool('2001:db8::/64', '2001:db8::1');
  assert.equal(allocateAddress(p, new Set()), '2001:db8::2');
  assert.equal(allocateAddress(p, new Set(['2001:db8::2'])), '2001:db8::3');
  assert.equal(allocateAddress(p, new Set(), '2001:DB8:0::10'), '2001:db8::10');
  assert.throws(() => allocateAddress(p, new Set(), '2001:db8::'), inUse);
  assert.deepEqual(drain(pool('2001:db8::/126', '2001:db8::1')), ['2001:db8::2', '2001:db8::3']);
});

test('requested addresses: in use, held back, or outside the subnet', () => {
  const p = pool('10.1.1.0/24', '10.1.1.1', { auxAddresses: { a: '10.1.1.3' } });
  assert.equal(allocateAddress(p, new Set(), '10.1.1.50'), '10.1.1.50');
  for (const a of ['10.1.1.0', '10.1.1.1', '10.1.1.3', '10.1.1.255']) assert.throws(() => allocateAddress(p, new Set(), a), inUse, a);
  assert.throws(() => allocateAddress(p, new Set(['10.1.1.50']), '10.1.1.50'), inUse);
  for (const a of ['10.1.2.5', 'junk', '2001:db8::5']) assert.throws(() => allocateAddress(p, new Set(), a), outside(a), a);
});

test('a /16 with sixty thousand used addresses gives the first free one after them', () => {
  const p = pool('10.5.0.0/16', '10.5.0.1');
  const used = new Set<string>();
  for (let i = 2; i < 60002; i++) used.add(`10.5.${i >> 8}.${i & 255}`);
  // Its speed is a benchmark's business (bench/), not a test's: tests assert no timings.
  for (let k = 0; k < 5; k++) assert.equal(allocateAddress(p, used), '10.5.234.98');
  assert.equal(allocateAddress(p, new Set(['10.9.0.2'])), '10.5.0.2', 'addresses outside the subnet do not matter');
});

test('allocateFromPools moves to the next pool when one is full, then fails as dockerd does', () => {
  const pools = [pool('10.0.0.0/30', '10.0.0.1'), pool('10.0.1.0/30', '10.0.1.1'), pool('2001:db8::/64', '2001:db8::1')];
  const net = { name: 'mynet', id: 'abc123' };
  assert.equal(allocateFromPools(pools, new Set(), { family: 4, network: net }), '10.0.0.2');
  assert.equal(allocateFromPools(pools, new Set(['10.0.0.2']), { family: 4, network: net }), '10.0.1.2');
  assert.equal(allocateFromPools(pools, new Set(), { family: 6, network: net }), '2001:db8::2');
  assert.throws(() => allocateFromPools(pools, new Set(['10.0.0.2', '10.0.1.2']), { family: 4, network: net }), {
    kind: 'internal',
    code: 'ipam.network_full',
    message: "no available IPv4 addresses on this network's address pools: mynet (abc123)",
  });
  assert.throws(() => allocateFromPools([], new Set(), { family: 6, network: net }), {
    message: "no available IPv6 addresses on this network's address pools: mynet (abc123)",
  });
});

test('allocateFromPools gives a requested address from the pool whose subnet holds it', () => {
  const pools = [pool('10.0.0.0/30', '10.0.0.1'), pool('10.0.1.0/24', '10.0.1.1')];
  const net = { name: 'n', id: 'i' };
  assert.equal(allocateFromPools(pools, new Set(), { family: 4, requested: '10.0.1.9', network: net }), '10.0.1.9');
  assert.throws(() => allocateFromPools(pools, new Set(['10.0.1.9']), { family: 4, requested: '10.0.1.9', network: net }), inUse);
  assert.throws(() => allocateFromPools(pools, new Set(), { family: 4, requested: '10.0.2.1', network: net }), outside('10.0.2.1'));
  assert.throws(() => allocateFromPools(pools, new Set(), { family: 4, requested: 'x', network: net }), outside('x'));
});

test('MAC addresses: 02:42 plus the IPv4 address, or random unicast and locally administered', () => {
  assert.equal(macFromIPv4('172.17.0.2'), '02:42:ac:11:00:02');
  assert.equal(macFromIPv4('10.255.0.1'), '02:42:0a:ff:00:01');
  assert.throws(() => macFromIPv4('2001:db8::1'), { kind: 'invalid-parameter' });
  assert.equal(randomMac(() => new Uint8Array([0xff, 1, 2, 3, 4, 0xab])), 'fe:01:02:03:04:ab');
  assert.equal(randomMac(() => new Uint8Array([0x00, 0, 0, 0, 0, 0])), '02:00:00:00:00:00');
  for (let i = 0; i < 50; i++) {
    const mac = randomMac();
    assert.match(mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const first = parseInt(mac.slice(0, 2), 16);
    assert.equal(first & 0x03, 0x02, mac);
  }
});

test('scanFrom starts the walk higher with the same result; below the range it is the range start', () => {
  const p = pool('10.5.0.0/24', '10.5.0.1', { ipRange: '10.5.0.128/25' });
  const used = new Set(['10.5.0.128', '10.5.0.129', '10.5.0.131']);
  assert.equal(allocateAddress(p, used), '10.5.0.130');
  assert.equal(allocateAddress(p, used, undefined, 0x0a050082n), '10.5.0.130'); // 10.5.0.130 itself
  assert.equal(allocateAddress(p, used, undefined, 0x0a050083n), '10.5.0.132'); // the caller vouches 130 is taken
  assert.equal(allocateAddress(p, used, undefined, 0x0a050001n), '10.5.0.130'); // below the range
  assert.equal(allocateAddress(p, used, '10.5.0.7', 0x0a0500f0n), '10.5.0.7'); // ignored with a requested address
  assert.throws(() => allocateAddress(p, used, undefined, 0x0a050100n), { message: ERR_NO_AVAILABLE_IPS });
});
