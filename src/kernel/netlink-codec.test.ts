import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AF_INET, AF_INET6, attr, encodeAttrs, ifinfo, ipBytes, macBytes, message, NLMSG_ERROR, parseAttrs, parseError, parseReplies, RTM, strz, u32 } from './netlink-codec.js';

test('attributes: length without padding, padded to 4 bytes, nested ones encoded inside', () => {
  const b = encodeAttrs([attr(3, strz('eth0')), attr(18, [attr(1, strz('veth'))])]);
  // IFLA_IFNAME: 4 + 5 bytes, padded to 12; LINKINFO: 4 + (4 + 5 padded to 12) = 16.
  assert.equal(b.length, 12 + 16);
  assert.equal(b.readUInt16LE(0), 9);
  assert.equal(b.readUInt16LE(2), 3);
  assert.equal(b.subarray(4, 9).toString(), 'eth0\0');
  assert.equal(b.readUInt16LE(12), 16);
  assert.equal(b.readUInt16LE(16), 9);
  const parsed = parseAttrs(b, 0);
  assert.equal(parsed.get(3)?.toString(), 'eth0\0');
  assert.equal(parseAttrs(parsed.get(18) as Buffer, 0).get(1)?.toString(), 'veth\0');
});

test('a message: header length, type, REQUEST|ACK plus the flags, then the family header', () => {
  const m = message(RTM.NEWLINK, 0x400, ifinfo({ index: 7, flags: 1, change: 1 }), [attr(4, u32(1400))]);
  assert.equal(m.readUInt32LE(0), m.length);
  assert.equal(m.length, 16 + 16 + 8);
  assert.equal(m.readUInt16LE(4), RTM.NEWLINK);
  assert.equal(m.readUInt16LE(6), 0x405);
  assert.equal(m.readInt32LE(16 + 4), 7);
  assert.equal(parseAttrs(m.subarray(16), 16).get(4)?.readUInt32LE(0), 1400);
  assert.notEqual(message(RTM.GETLINK, 0, ifinfo()).readUInt32LE(8), m.readUInt32LE(8), 'every message gets its own sequence number');
});

test('addresses and MACs in network order', () => {
  assert.deepEqual(ipBytes('10.1.2.3'), { family: AF_INET, bytes: Buffer.from([10, 1, 2, 3]) });
  assert.equal(ipBytes('fd00::1').family, AF_INET6);
  assert.equal(ipBytes('fd00::1').bytes.toString('hex'), 'fd000000000000000000000000000001');
  assert.equal(ipBytes('2001:db8:1:2:3:4:5:6').bytes.toString('hex'), '20010db8000100020003000400050006');
  assert.equal(ipBytes('::').bytes.toString('hex'), '0'.repeat(32));
  assert.throws(() => ipBytes('10.0.0'), /not an address/);
  assert.throws(() => ipBytes('::ffff:1.2.3.4'), /not an address/);
  assert.equal(macBytes('02:42:0a:00:00:02').toString('hex'), '02420a000002');
  assert.throws(() => macBytes('02:42:0a:00:00'), /not a MAC/);
});

test('replies: several per buffer; an error with the kernel\'s extended message', () => {
  const req = message(RTM.NEWADDR, 0, Buffer.alloc(8));
  const text = encodeAttrs([attr(1, strz('ipv4: Address already assigned'))]);
  const errBody = Buffer.concat([Buffer.alloc(4), req.subarray(0, 16), text]);
  errBody.writeInt32LE(-17, 0);
  const hdr = (type: number, flags: number, len: number): Buffer => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(len, 0);
    h.writeUInt16LE(type, 4);
    h.writeUInt16LE(flags, 6);
    return h;
  };
  // First an ack (errno 0), then the error, capped (only the request's header echoed) with TLVs.
  const ack = Buffer.concat([hdr(NLMSG_ERROR, 0, 36), Buffer.alloc(20)]);
  const err = Buffer.concat([hdr(NLMSG_ERROR, 0x300, 16 + errBody.length), errBody]);
  const replies = parseReplies(Buffer.concat([ack, err]));
  assert.equal(replies.length, 2);
  assert.deepEqual(parseError(replies[0] as never), { errno: 0 });
  assert.deepEqual(parseError(replies[1] as never), { errno: 17, text: 'ipv4: Address already assigned' });
});
