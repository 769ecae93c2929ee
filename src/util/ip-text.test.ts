import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIpAddress, formatIpBytes } from './ip-text.js';

const v6 = (words: number[]): Buffer => {
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
};

test('formatIpBytes writes netlink addresses as ip does', () => {
  assert.equal(formatIpBytes(Buffer.from([10, 0, 0, 1])), '10.0.0.1');
  assert.equal(formatIpBytes(Buffer.from([255, 255, 255, 255])), '255.255.255.255');
  assert.equal(formatIpBytes(v6([0, 0, 0, 0, 0, 0, 0, 0])), '::');
  assert.equal(formatIpBytes(v6([0, 0, 0, 0, 0, 0, 0, 1])), '::1');
  assert.equal(formatIpBytes(v6([0xfd08, 0, 0, 1, 0, 0, 0, 1])), 'fd08:0:0:1::1');
  assert.equal(formatIpBytes(v6([0x2001, 0xdb8, 0, 1, 0, 0, 0, 0])), '2001:db8:0:1::');
  assert.equal(formatIpBytes(v6([0x2001, 0xdb8, 1, 1, 1, 1, 1, 1])), '2001:db8:1:1:1:1:1:1');
  assert.equal(formatIpBytes(v6([0x2001, 0, 1, 1, 1, 1, 1, 1])), '2001:0:1:1:1:1:1:1');
  // A tie between zero runs: the first one is shortened (RFC 5952 4.2.3).
  assert.equal(formatIpBytes(v6([0x2001, 0, 0, 1, 0, 0, 1, 1])), '2001::1:0:0:1:1');
  assert.equal(formatIpBytes(v6([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001])), '::ffff:10.0.0.1');
});

test('formatIpAddress prints what formatIpBytes prints for the same address, and zones', () => {
  assert.equal(formatIpAddress(4, 0x0a000001n), '10.0.0.1');
  assert.equal(formatIpAddress(6, 0xfd080000000000010000000000000001n), 'fd08:0:0:1::1');
  assert.equal(formatIpAddress(6, 0xfe800000000000000000000000000001n, 'eth0'), 'fe80::1%eth0');
});
