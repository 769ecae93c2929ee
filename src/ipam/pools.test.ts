import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_LOCAL_POOLS,
  ERR_POOLS_EXHAUSTED,
  chooseSubnet,
  deriveUlaPool,
  parseAddressPoolFlag,
  parseAddressPoolFlags,
  withUlaPool,
} from './pools.js';

const exhausted = { name: 'RedesError', kind: 'invalid-parameter', code: 'ipam.pools_exhausted', message: ERR_POOLS_EXHAUSTED };

test('default pools hand out 172.17-31 as /16s, then 192.168/16 as /20s, then run out', () => {
  const got: string[] = [];
  for (let i = 0; i < 31; i++) got.push(chooseSubnet(DEFAULT_LOCAL_POOLS, got));
  assert.deepEqual(got.slice(0, 3), ['172.17.0.0/16', '172.18.0.0/16', '172.19.0.0/16']);
  assert.equal(got[14], '172.31.0.0/16');
  assert.deepEqual(got.slice(15, 17), ['192.168.0.0/20', '192.168.16.0/20']);
  assert.equal(got[30], '192.168.240.0/20');
  assert.throws(() => chooseSubnet(DEFAULT_LOCAL_POOLS, got), exhausted);
});

test('chooseSubnet skips host routes, nameservers and other networks, whatever their size', () => {
  const cases: Array<[string[], string]> = [
    [[], '172.17.0.0/16'],
    [['172.17.0.0/24'], '172.18.0.0/16'], // a route inside the first block
    [['172.16.0.0/12'], '192.168.0.0/20'], // a route covering every 172 pool
    [['172.16.0.0/12', '192.168.0.53'], '192.168.16.0/20'], // a nameserver as a bare address
    [['172.18.0.0/16', '172.17.0.0/16'], '172.19.0.0/16'], // unsorted input
    [['172.17.0.0/16', '10.0.0.0/8', 'fd00::/8'], '172.18.0.0/16'], // other ranges and families ignored
  ];
  for (const [inUse, want] of cases) assert.equal(chooseSubnet(DEFAULT_LOCAL_POOLS, inUse), want, inUse.join(' '));
});

test('chooseSubnet finds gaps between partial overlaps', () => {
  const pools = [{ base: '10.0.0.0/16', size: 24 }];
  assert.equal(chooseSubnet(pools, ['10.0.0.0/23', '10.0.3.0/24']), '10.0.2.0/24');
  assert.equal(chooseSubnet(pools, ['10.0.0.128/25']), '10.0.1.0/24');
  assert.equal(chooseSubnet(pools, ['10.0.0.0/17', '10.0.128.0/18', '10.0.192.0/19']), '10.0.224.0/24');
  assert.throws(() => chooseSubnet(pools, ['10.0.0.0/17', '10.0.128.0/17']), exhausted);
  assert.equal(chooseSubnet([{ base: '10.0.0.0/30', size: 32 }], ['10.0.0.0/31', '10.0.0.3']), '10.0.0.2/32');
});

test('pools are used in address order and an overlapping later pool is dropped, as dockerd does', () => {
  const pools = [
    { base: '192.168.0.0/16', size: 24 },
    { base: '10.0.0.0/8', size: 16 },
    { base: '10.1.0.0/16', size: 24 },
  ];
  assert.equal(chooseSubnet(pools, []), '10.0.0.0/16');
  assert.equal(chooseSubnet(pools, ['10.0.0.0/16']), '10.1.0.0/16');
  assert.equal(chooseSubnet(pools, ['10.0.0.0/8']), '192.168.0.0/24');
  // Host bits in a base are masked away.
  assert.equal(chooseSubnet([{ base: '10.9.9.9/16', size: 24 }], []), '10.9.0.0/24');
});

test('IPv6 subnets come from the ULA pool dockerd derives from the engine id', () => {
  assert.deepEqual(deriveUlaPool(''), { base: 'fd42:98fc:1c14::/48', size: 64 });
  assert.deepEqual(deriveUlaPool('499d4bc0-b0b3-416f-b1ee-cf6486315593'), { base: 'fd62:fb69:18af::/48', size: 64 });
  const pools = withUlaPool(DEFAULT_LOCAL_POOLS, '');
  assert.equal(pools.length, DEFAULT_LOCAL_POOLS.length + 1);
  assert.equal(chooseSubnet(pools, [], 6), 'fd42:98fc:1c14::/64');
  assert.equal(chooseSubnet(pools, ['fd42:98fc:1c14::/64', '2001:db8::/32'], 6), 'fd42:98fc:1c14:1::/64');
  assert.equal(chooseSubnet(pools, ['172.17.0.0/16'], 4), '172.18.0.0/16', 'v4 choice ignores the ULA pool');
});

test('withUlaPool adds nothing when an IPv6 pool is configured, but an IPv4-mapped one does not count', () => {
  const v6 = [{ base: '2001:db8::/56', size: 64 }];
  assert.deepEqual(withUlaPool(v6, 'x'), v6);
  assert.equal(withUlaPool([{ base: '::ffff:10.0.0.0/104', size: 120 }], 'x').length, 2);
});

test('chooseSubnet without any pool of the family reports exhaustion', () => {
  assert.throws(() => chooseSubnet(DEFAULT_LOCAL_POOLS, [], 6), exhausted);
});

test('parseAddressPoolFlag reads dockerd flag values', () => {
  assert.deepEqual(parseAddressPoolFlag('base=10.10.0.0/16,size=24'), { base: '10.10.0.0/16', size: 24 });
  assert.deepEqual(parseAddressPoolFlag('SIZE=24,Base=10.10.0.0/16'), { base: '10.10.0.0/16', size: 24 });
  assert.deepEqual(parseAddressPoolFlag('"base=2001:DB8::/56","size=64"'), { base: '2001:db8::/56', size: 64 });
  assert.deepEqual(parseAddressPoolFlag('size=+24'), { base: '', size: 24 }, 'Atoi takes a sign; the base is checked later');
});

test('parseAddressPoolFlag rejects bad values with dockerd texts', () => {
  const cases: Array<[string, string]> = [
    ['base10.0.0.0/8', "invalid field 'base10.0.0.0/8' must be a key=value pair"],
    ['base=10.0.0.0,size=24', 'invalid base prefix "10.0.0.0": netip.ParsePrefix("10.0.0.0"): no \'/\''],
    ['base=10.0.0.0/33', 'invalid base prefix "10.0.0.0/33": netip.ParsePrefix("10.0.0.0/33"): prefix length out of range'],
    [
      'base=10.0.0.0/8,size=abc',
      'invalid size value: "base=10.0.0.0/8,size=abc" (must be integer): strconv.Atoi: parsing "abc": invalid syntax',
    ],
    ['base=10.0.0.0/8,Foo=1', "unexpected key 'foo' in 'Foo=1'"],
    [
      'size=99999999999999999999',
      'invalid size value: "size=99999999999999999999" (must be integer): strconv.Atoi: parsing "99999999999999999999": value out of range',
    ],
    ['', 'EOF'],
    ['base=1"0', 'parse error on line 1, column 7: bare " in non-quoted field'],
    ['"base=10.0.0.0/8"x', 'parse error on line 1, column 18: extraneous or missing " in quoted-field'],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parseAddressPoolFlag(value), { kind: 'invalid-parameter', code: 'ipam.bad_pool_flag', message }, value);
  }
});

test('parseAddressPoolFlags rejects incomplete or inconsistent pools as dockerd does at start', () => {
  assert.deepEqual(parseAddressPoolFlags(['base=10.0.0.0/8,size=24']), [{ base: '10.0.0.0/8', size: 24 }]);
  const cases: Array<[string[], string]> = [
    [['base=10.0.0.0/8'], 'network at index 0 (&{10.0.0.0/8 0}) is not in canonical form'],
    [['base=10.0.0.0/8,size=24', 'size=24'], 'network at index 1 (&{invalid Prefix 24}) is not in canonical form'],
    [['base=10.0.0.0/16,size=8'], 'network at index 0 (&{10.0.0.0/16 8}) has a smaller prefix (/16) than the target size of that pool (/8)'],
    [['base=10.0.0.0/16,size=33'], 'network at index 0 (&{10.0.0.0/16 33}) has a target size (/33) longer than an IPv4 address'],
  ];
  for (const [values, tail] of cases) {
    assert.throws(
      () => parseAddressPoolFlags(values),
      { kind: 'invalid-parameter', code: 'ipam.bad_pool', message: `could not construct local address space: ${tail}` },
      values.join(' '),
    );
  }
});
