import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERR_POOL_OVERLAP, type IpamConfigEntry, type IpamContext, type IpamInput, validateIpamConfig } from './network-config.js';
import { DEFAULT_LOCAL_POOLS, ERR_POOLS_EXHAUSTED, withUlaPool } from './pools.js';

const ctx: IpamContext = {
  otherSubnets: ['172.17.0.0/16', 'fd00:1::/64'],
  pools: withUlaPool(DEFAULT_LOCAL_POOLS, ''),
  reserved: ['172.18.0.0/24'],
};
const v4 = (Config: IpamConfigEntry[], extra: Partial<IpamInput> = {}) => validateIpamConfig({ Config, ...extra }, ctx);

test('a network without IPAM config gets the next default subnet and its first host as gateway', () => {
  assert.deepEqual(validateIpamConfig({}, ctx), {
    v4: [{ family: 4, subnet: '172.19.0.0/16', gateway: '172.19.0.1', auxAddresses: {}, static: false }],
    v6: [],
  });
  const both = validateIpamConfig({ EnableIPv6: true, Config: null }, ctx);
  assert.deepEqual(both.v6, [{ family: 6, subnet: 'fd42:98fc:1c14::/64', gateway: 'fd42:98fc:1c14::1', auxAddresses: {}, static: false }]);
  assert.deepEqual(validateIpamConfig({ EnableIPv4: false, EnableIPv6: false }, ctx), { v4: [], v6: [] });
});

test('user subnets are normalised, with gateway defaulting to the first free address of the range', () => {
  const rows: Array<[IpamConfigEntry, Record<string, unknown>]> = [
    [{ Subnet: '10.1.1.0/24' }, { subnet: '10.1.1.0/24', gateway: '10.1.1.1' }],
    [{ Subnet: '10.1.1.0/24', IPRange: '10.1.1.128/25' }, { subnet: '10.1.1.0/24', ipRange: '10.1.1.128/25', gateway: '10.1.1.128' }],
    [{ Subnet: '10.1.1.0/24', IPRange: '10.1.1.252/30' }, { ipRange: '10.1.1.252/30', gateway: '10.1.1.252' }],
    [{ Subnet: '10.1.1.0/24', IPRange: '10.1.1.0/30' }, { gateway: '10.1.1.1' }],
    [{ Subnet: '10.1.1.0/24', Gateway: '10.1.1.254' }, { gateway: '10.1.1.254' }],
    [{ Subnet: '10.1.1.0/24', AuxiliaryAddresses: { host1: '10.1.1.1' }, Gateway: '10.1.1.2' }, { gateway: '10.1.1.2' }],
    [{ Subnet: '10.0.0.0/30' }, { gateway: '10.0.0.1' }],
    [{ Subnet: '10.0.0.0/31' }, { gateway: '10.0.0.0' }],
    [{ Subnet: '10.0.0.7/32' }, { gateway: '10.0.0.7' }],
  ];
  for (const [cfg, want] of rows) {
    const [pool, ...rest] = v4([cfg]).v4;
    assert.equal(rest.length, 0);
    const got: Record<string, unknown> = { ...pool };
    for (const [k, v] of Object.entries(want)) {
      assert.deepEqual(got[k], v, `${JSON.stringify(cfg)} ${k}`);
    }
    assert.equal(pool?.static, true);
  }
});

test('IPv6 gateway and auxiliary addresses are printed canonically', () => {
  const out = v4([{ Subnet: '2001:DB8::/64', Gateway: '2001:DB8::1', AuxiliaryAddresses: { r: '2001:DB8:0:0::9' } }], { EnableIPv6: true });
  assert.deepEqual(out.v6, [
    { family: 6, subnet: '2001:db8::/64', gateway: '2001:db8::1', auxAddresses: { r: '2001:db8::9' }, static: true },
  ]);
  assert.equal(out.v4[0]?.subnet, '172.19.0.0/16', 'IPv4 still chosen from the pools');
});

test('IPv6 configs are dropped without error when IPv6 is off; IPv4 configs when IPv4 is off', () => {
  const out = v4([{ Subnet: '2001:db8::/64' }]);
  assert.deepEqual(out.v6, []);
  assert.equal(out.v4[0]?.subnet, '172.19.0.0/16');
  const only6 = v4([{ Subnet: '10.9.0.0/16' }, { Subnet: '2001:db8::/64' }], { EnableIPv4: false, EnableIPv6: true });
  assert.deepEqual(only6.v4, []);
  assert.equal(only6.v6[0]?.gateway, '2001:db8::1');
});

test('several subnets of one family are all kept, in order', () => {
  const out = v4([{ Subnet: '10.1.0.0/24' }, { Subnet: '10.2.0.0/24' }]);
  assert.deepEqual(out.v4.map((p) => p.subnet), ['10.1.0.0/24', '10.2.0.0/24']);
});

const invalidConfig = (detail: string) => ({
  name: 'RedesError',
  kind: 'invalid-parameter',
  code: 'ipam.invalid_config',
  message: `invalid network config:\n${detail}`,
});

test('ValidateIPAM errors carry dockerd 28 texts, one per problem', () => {
  const cases: Array<[IpamConfigEntry[], string, boolean?]> = [
    [[{ Subnet: 'foo' }], 'invalid subnet foo: invalid CIDR block notation'],
    [[{ Gateway: '10.0.0.1' }], 'invalid subnet : invalid CIDR block notation'],
    [[{ Subnet: '10.1.1.0/33' }], 'invalid subnet 10.1.1.0/33: invalid CIDR block notation'],
    [[{ Subnet: '10.01.1.0/24' }], 'invalid subnet 10.01.1.0/24: invalid CIDR block notation'],
    [[{ Subnet: '10.10.10.0/8' }], 'invalid subnet 10.10.10.0/8: it should be 10.0.0.0/8'],
    [[{ Subnet: '2001:DB8::1/64' }], 'invalid subnet 2001:db8::1/64: it should be 2001:db8::/64', true],
    [[{ Subnet: '10.0.0.0/8', IPRange: 'x' }], 'invalid ip-range x: invalid CIDR block notation'],
    [[{ Subnet: '10.10.10.0/24', IPRange: '10.0.0.0/8' }], 'invalid ip-range 10.0.0.0/8: CIDR block is bigger than its parent subnet 10.10.10.0/24'],
    [[{ Subnet: '10.0.0.0/8', IPRange: '10.10.10.0/16' }], 'invalid ip-range 10.10.10.0/16: it should be 10.10.0.0/16'],
    [[{ Subnet: '10.0.0.0/8', IPRange: '11.0.0.0/16' }], "invalid ip-range 11.0.0.0/16: parent subnet 10.0.0.0/8 doesn't contain ip-range"],
    [[{ Subnet: '10.0.0.0/8', IPRange: '2001:db8::/64' }], 'invalid ip-range 2001:db8::/64: parent subnet is an IPv4 block'],
    [[{ Subnet: '10.1.1.0/24', Gateway: '10.2.0.1' }], "invalid gateway 10.2.0.1: parent subnet 10.1.1.0/24 doesn't contain this address"],
    [[{ Subnet: '10.1.1.0/24', Gateway: '1001.10.5.3' }], 'invalid gateway 1001.10.5.3: invalid address'],
    [[{ Subnet: '2001:db8::/64', Gateway: '10.0.0.1' }], 'invalid gateway 10.0.0.1: parent subnet is an IPv6 block', true],
    [[{ Subnet: '10.1.1.0/24', AuxiliaryAddresses: { a: '10.9.9.9' } }], "invalid auxiliary address a: parent subnet 10.1.1.0/24 doesn't contain this address"],
    [[{ Subnet: '10.1.1.0/24', AuxiliaryAddresses: { a: 'dummy' } }], 'invalid auxiliary address a: invalid address'],
    [
      [{ Subnet: '10.0.0.0/8', IPRange: '192.168.0.1/24', Gateway: '192.168.0.1', AuxiliaryAddresses: { DefaultGatewayIPv4: '192.168.0.1' } }],
      [
        '* invalid ip-range 192.168.0.1/24: it should be 192.168.0.0/24',
        "* invalid ip-range 192.168.0.1/24: parent subnet 10.0.0.0/8 doesn't contain ip-range",
        "* invalid gateway 192.168.0.1: parent subnet 10.0.0.0/8 doesn't contain this address",
        "* invalid auxiliary address DefaultGatewayIPv4: parent subnet 10.0.0.0/8 doesn't contain this address",
      ].join('\n'),
    ],
    [[{ Subnet: 'a' }, { Subnet: 'b' }], '* invalid subnet a: invalid CIDR block notation\n* invalid subnet b: invalid CIDR block notation'],
    // A bad IPv6 subnet string is reported even with IPv6 off: the family is unknown until it parses.
    [[{ Subnet: '2001:db8::/129' }], 'invalid subnet 2001:db8::/129: invalid CIDR block notation'],
  ];
  for (const [Config, detail, ipv6] of cases) {
    assert.throws(() => v4(Config, { EnableIPv6: ipv6 ?? false }), invalidConfig(detail), detail);
  }
  // Problems in an IPv6 entry are not looked at while IPv6 is off.
  assert.doesNotThrow(() => v4([{ Subnet: '2001:db8::1/64', Gateway: '10.0.0.1' }]));
});

test('a subnet overlapping another network or another entry is forbidden', () => {
  const overlap = { kind: 'forbidden', code: 'ipam.pool_overlap', message: ERR_POOL_OVERLAP };
  assert.equal(ERR_POOL_OVERLAP, 'invalid pool request: Pool overlaps with other one on this address space');
  assert.throws(() => v4([{ Subnet: '172.17.5.0/24' }]), overlap);
  assert.throws(() => v4([{ Subnet: '172.0.0.0/8', IPRange: '172.1.0.0/16' }]), overlap);
  assert.throws(() => v4([{ Subnet: '10.0.0.0/16' }, { Subnet: '10.0.128.0/24' }]), overlap);
  assert.throws(() => v4([{ Subnet: 'fd00:1::/48' }], { EnableIPv6: true }), overlap);
  // Host routes only steer the automatic choice.
  assert.equal(v4([{ Subnet: '172.18.0.0/24' }]).v4[0]?.subnet, '172.18.0.0/24');
});

test("a gateway or auxiliary address on a held-back address fails with dockerd's text, as the client's error", () => {
  const cases: Array<[IpamConfigEntry, string, string]> = [
    [{ Subnet: '10.1.1.0/24', Gateway: '10.1.1.0' }, 'ipam.gateway_in_use', 'failed to allocate gateway (10.1.1.0): Address already in use'],
    [{ Subnet: '10.1.1.0/24', Gateway: '10.1.1.255' }, 'ipam.gateway_in_use', 'failed to allocate gateway (10.1.1.255): Address already in use'],
    [{ Subnet: '2001:db8::/64', Gateway: '2001:db8::' }, 'ipam.gateway_in_use', 'failed to allocate gateway (2001:db8::): Address already in use'],
    [{ Subnet: '2001:db8::/128' }, 'ipam.gateway_unavailable', 'failed to allocate gateway (): no available addresses on this pool'],
    [{ Subnet: '10.1.1.0/24', IPRange: '10.1.1.0/32' }, 'ipam.gateway_unavailable', 'failed to allocate gateway (): no available addresses on this pool'],
    [
      { Subnet: '10.1.1.0/24', AuxiliaryAddresses: { a: '10.1.1.1' } },
      'ipam.aux_in_use',
      'failed to allocate secondary ip address (a:10.1.1.1): Address already in use',
    ],
    [
      { Subnet: '10.1.1.0/24', AuxiliaryAddresses: { a: '10.1.1.9', b: '10.1.1.9' } },
      'ipam.aux_in_use',
      'failed to allocate secondary ip address (b:10.1.1.9): Address already in use',
    ],
    [
      { Subnet: '10.1.1.0/24', AuxiliaryAddresses: { bc: '10.1.1.255' } },
      'ipam.aux_in_use',
      'failed to allocate secondary ip address (bc:10.1.1.255): Address already in use',
    ],
  ];
  for (const [cfg, code, message] of cases) {
    assert.throws(() => v4([cfg], { EnableIPv6: true }), { kind: 'invalid-parameter', code, message }, message);
  }
});

test('no free default pool is an invalid-parameter error with dockerd 28 text', () => {
  const none: IpamContext = { otherSubnets: [], pools: [{ base: '10.0.0.0/24', size: 24 }], reserved: ['10.0.0.1'] };
  assert.throws(() => validateIpamConfig({}, none), { kind: 'invalid-parameter', message: ERR_POOLS_EXHAUSTED });
  assert.throws(() => validateIpamConfig({ EnableIPv6: true, Config: [{ Subnet: '10.1.0.0/16' }] }, { ...none, reserved: [] }), {
    message: ERR_POOLS_EXHAUSTED,
  });
});
