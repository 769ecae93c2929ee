import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  broadcastAddress,
  formatAddress,
  formatNetwork,
  formatPrefix,
  lastAddress,
  parseAddress,
  parsePrefix,
  prefixContains,
  prefixesOverlap,
  tryParseAddress,
  tryParsePrefix,
} from './cidr.js';

const roundTrip = (s: string): string => {
  const a = parseAddress(s);
  return formatAddress(a.family, a.addr, a.zone);
};

test('parseAddress reads IPv4 and prints it back', () => {
  assert.deepEqual(parseAddress('10.1.2.3'), { family: 4, addr: 0x0a010203n });
  assert.equal(roundTrip('0.0.0.0'), '0.0.0.0');
  assert.equal(roundTrip('255.255.255.255'), '255.255.255.255');
});

test('IPv6 prints canonically (RFC 5952, as netip)', () => {
  const cases: Array<[string, string]> = [
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // first of equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'], // the longer run wins
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['::10.0.0.1', '::a00:1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
  ];
  for (const [input, want] of cases) assert.equal(roundTrip(input), want, input);
});

test('parseAddress rejects junk with netip texts', () => {
  const cases: Array<[string, string]> = [
    ['foo', 'ParseAddr("foo"): unable to parse IP'],
    ['', 'ParseAddr(""): unable to parse IP'],
    ['1.2.3', 'ParseAddr("1.2.3"): IPv4 address too short'],
    ['1.2.3.4.5', 'ParseAddr("1.2.3.4.5"): IPv4 address too long'],
    ['10.01.0.1', 'ParseAddr("10.01.0.1"): IPv4 field has octet with leading zero'],
    ['256.0.0.1', 'ParseAddr("256.0.0.1"): IPv4 field has value >255'],
    ['1..2.3', 'ParseAddr("1..2.3"): IPv4 field must have at least one digit (at ".2.3")'],
    ['1.2.3.4x', 'ParseAddr("1.2.3.4x"): unexpected character (at "x")'],
    ['%eth0', 'ParseAddr("%eth0"): missing IPv6 address'],
    ['1::2::3', 'ParseAddr("1::2::3"): multiple :: in address (at ":3")'],
    ['12345::', 'ParseAddr("12345::"): IPv6 field has value >=2^16 (at "12345::")'],
    ['1:2:3:4:5:6:7:8:9', 'ParseAddr("1:2:3:4:5:6:7:8:9"): trailing garbage after address (at "9")'],
    ['1:2:3', 'ParseAddr("1:2:3"): address string too short'],
    ['1:2:3:4::5:6:7:8', 'ParseAddr("1:2:3:4::5:6:7:8"): the :: must expand to at least one field of zeros'],
    ['fe80::1%', 'ParseAddr("fe80::1%"): zone must be a non-empty string'],
    ['1:2', 'ParseAddr("1:2"): address string too short'],
    ['1:', 'ParseAddr("1:"): colon must be followed by more characters (at ":")'],
    ['::1.2.3', 'ParseAddr("::1.2.3"): ParseAddr("1.2.3"): IPv4 address too short (at "1.2.3")'],
    ['1:2:1.2.3.4', 'ParseAddr("1:2:1.2.3.4"): embedded IPv4 address must replace the final 2 fields of the address (at "1.2.3.4")'],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parseAddress(input), { name: 'RedesError', kind: 'invalid-parameter', message }, input);
  }
  assert.equal(tryParseAddress('nope'), undefined);
});

test('parsePrefix keeps host bits in addr and masks network', () => {
  const p = parsePrefix('10.1.2.3/16');
  assert.deepEqual(p, { family: 4, addr: 0x0a010203n, network: 0x0a010000n, bits: 16 });
  assert.equal(formatPrefix(p), '10.1.2.3/16');
  assert.equal(formatNetwork(p), '10.1.0.0/16');
  assert.equal(formatNetwork(parsePrefix('2001:DB8::1/64')), '2001:db8::/64');
  assert.equal(formatNetwork(parsePrefix('0.0.0.0/0')), '0.0.0.0/0');
  assert.equal(formatNetwork(parsePrefix('::/0')), '::/0');
});

test('parsePrefix rejects junk with netip.ParsePrefix texts', () => {
  const cases: Array<[string, string]> = [
    ['foo', `netip.ParsePrefix("foo"): no '/'`],
    ['10.1.1.0/33', 'netip.ParsePrefix("10.1.1.0/33"): prefix length out of range'],
    ['::/129', 'netip.ParsePrefix("::/129"): prefix length out of range'],
    ['1.2.3/8', 'netip.ParsePrefix("1.2.3/8"): ParseAddr("1.2.3"): IPv4 address too short'],
    ['10.0.0.0/024', 'netip.ParsePrefix("10.0.0.0/024"): bad bits after slash: "024"'],
    ['10.0.0.0/+8', 'netip.ParsePrefix("10.0.0.0/+8"): bad bits after slash: "+8"'],
    ['10.0.0.0/', 'netip.ParsePrefix("10.0.0.0/"): bad bits after slash: ""'],
    ['10.0.0.0/99999999999999999999', 'netip.ParsePrefix("10.0.0.0/99999999999999999999"): bad bits after slash: "99999999999999999999"'],
    ['10.0.0.0/4294967296', 'netip.ParsePrefix("10.0.0.0/4294967296"): prefix length out of range'],
    ['10.00.0.0/16', 'netip.ParsePrefix("10.00.0.0/16"): ParseAddr("10.00.0.0"): IPv4 field has octet with leading zero'],
    ['fe80::%eth0/64', 'netip.ParsePrefix("fe80::%eth0/64"): IPv6 zones cannot be present in a prefix'],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parsePrefix(input), { kind: 'invalid-parameter', code: 'ipam.parse', message }, input);
  }
  assert.ok(tryParsePrefix('10.0.0.0/0'));
  assert.equal(tryParsePrefix('x'), undefined);
});

test('containment and overlap stay within one family', () => {
  const net = parsePrefix('10.1.0.0/16');
  assert.equal(prefixContains(net, parseAddress('10.1.255.255')), true);
  assert.equal(prefixContains(net, parseAddress('10.2.0.0')), false);
  assert.equal(prefixContains(parsePrefix('::/0'), parseAddress('10.1.0.1')), false);
  assert.equal(prefixContains(parsePrefix('fe80::/64'), parseAddress('fe80::1%eth0')), false, 'zoned addresses are in no prefix');
  assert.equal(prefixesOverlap(net, parsePrefix('10.0.0.0/8')), true);
  assert.equal(prefixesOverlap(net, parsePrefix('10.1.255.0/24')), true);
  assert.equal(prefixesOverlap(net, parsePrefix('10.2.0.0/16')), false);
  assert.equal(prefixesOverlap(parsePrefix('::/0'), parsePrefix('0.0.0.0/0')), false);
  assert.equal(prefixesOverlap(parsePrefix('fd00::/8'), parsePrefix('fd12::/64')), true);
});

test('a broadcast address follows RFC 3021 for /31 and /32, and IPv6 has none', () => {
  const rows: Array<[string, string | undefined]> = [
    ['10.0.0.0/24', '10.0.0.255'],
    ['10.0.0.0/30', '10.0.0.3'],
    ['10.0.0.0/31', undefined],
    ['10.0.0.7/32', undefined],
    ['2001:db8::/64', undefined],
    ['2001:db8::5/128', undefined],
  ];
  for (const [s, bcast] of rows) {
    const p = parsePrefix(s);
    const b = broadcastAddress(p);
    assert.equal(b === undefined ? undefined : formatAddress(p.family, b), bcast, s);
  }
  assert.equal(formatAddress(4, lastAddress(parsePrefix('10.0.0.0/8'))), '10.255.255.255');
});
