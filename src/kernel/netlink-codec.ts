/**
 * rtnetlink messages as bytes (pure): headers, attributes (nested ones too), addresses, and the
 * parsing of replies and errors. kernel/netlink.ts sends them through the addon.
 *
 * Use: `message(RTM.NEWLINK, FLAGS.CREATE, ifinfo({ index: 0 }), [attr(IFLA.IFNAME, strz('x'))])`.
 * Beware: host byte order (little endian on every machine this runs on) for the kernel's structs,
 * network order for addresses; attribute lengths count the header but not the padding.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const RTM = { NEWLINK: 16, DELLINK: 17, GETLINK: 18, NEWADDR: 20, DELADDR: 21, GETADDR: 22, NEWROUTE: 24, NEWNEIGH: 28, DELNEIGH: 29 } as const;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
/** Request flags: every request asks for an ack. */
export const FLAGS = { REQUEST: 0x1, ACK: 0x4, DUMP: 0x300, REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400 } as const;
export const IFLA = { ADDRESS: 1, IFNAME: 3, MTU: 4, MASTER: 10, LINKINFO: 18, NET_NS_FD: 28 } as const;
export const IFLA_INFO = { KIND: 1, DATA: 2, SLAVE_KIND: 4, SLAVE_DATA: 5 } as const;
export const VETH_INFO_PEER = 1;
export const IFLA_BRPORT_MODE = 4;
export const IFA = { ADDRESS: 1, LOCAL: 2 } as const;
export const IFA_F_NODAD = 0x02;
export const RTA = { OIF: 4, GATEWAY: 5 } as const;
export const NDA = { DST: 1, LLADDR: 2 } as const;
export const NUD_PERMANENT = 0x80;
export const NTF_SELF = 0x02;
export const IFF_UP = 0x1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_BRIDGE = 7;

export interface Attr {
  type: number;
  value: Buffer | readonly Attr[];
}

export const attr = (type: number, value: Buffer | readonly Attr[]): Attr => ({ type, value });
export const strz = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf8');
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
export const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);

const align4 = (n: number): number => (n + 3) & ~3;

export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const value = Buffer.isBuffer(a.value) ? a.value : encodeAttrs(a.value);
    const head = Buffer.alloc(4);
    head.writeUInt16LE(4 + value.length, 0);
    head.writeUInt16LE(a.type, 2);
    parts.push(head, value, Buffer.alloc(align4(value.length) - value.length));
  }
  return Buffer.concat(parts);
}

let seq = 1;

/** One request: the netlink header (REQUEST|ACK plus `flags`), the family header, the attributes. */
export function message(type: number, flags: number, header: Buffer, attrs: readonly Attr[] = []): Buffer {
  const body = Buffer.concat([header, Buffer.alloc(align4(header.length) - header.length), encodeAttrs(attrs)]);
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + body.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(FLAGS.REQUEST | FLAGS.ACK | flags, 6);
  h.writeUInt32LE((seq = (seq + 1) >>> 0), 8);
  return Buffer.concat([h, body]);
}

/** struct ifinfomsg. */
export function ifinfo(o: { index?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(o.index ?? 0, 4);
  b.writeUInt32LE(o.flags ?? 0, 8);
  b.writeUInt32LE(o.change ?? 0, 12);
  return b;
}

/** struct ifaddrmsg. */
export function ifaddr(o: { family: number; prefixlen: number; flags?: number; scope?: number; index: number }): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(o.family, 0);
  b.writeUInt8(o.prefixlen, 1);
  b.writeUInt8(o.flags ?? 0, 2);
  b.writeUInt8(o.scope ?? 0, 3);
  b.writeUInt32LE(o.index, 4);
  return b;
}

/** struct ndmsg of a permanent entry (`nud permanent`; with NTF_SELF, the device's own forwarding table). */
export function ndmsg(family: number, index: number, flags = 0): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt16LE(NUD_PERMANENT, 8);
  b.writeUInt8(flags, 10);
  return b;
}

/** struct rtmsg of a unicast route in the main table, as `ip route` makes it (protocol boot). */
export function rtmsg(family: number, dstLen: number): Buffer {
  return Buffer.from([family, dstLen, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0]);
}

/** An address in network order, and its family. */
export function ipBytes(ip: string): { family: number; bytes: Buffer } {
  if (isIPv4(ip)) return { family: AF_INET, bytes: Buffer.from(ip.split('.').map(Number)) };
  if (!isIPv6(ip) || ip.includes('.')) throw new Error(`netlink: not an address ${JSON.stringify(ip)}`);
  const [head = '', tail] = ip.split('::');
  const words = (s: string): number[] => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const hi = words(head);
  const lo = tail === undefined ? [] : words(tail);
  const all = [...hi, ...new Array<number>(8 - hi.length - lo.length).fill(0), ...lo];
  const b = Buffer.alloc(16);
  all.forEach((w, i) => b.writeUInt16BE(w, i * 2));
  return { family: AF_INET6, bytes: b };
}

/** `aa:bb:cc:dd:ee:ff` as 6 bytes. */
export function macBytes(mac: string): Buffer {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) throw new Error(`netlink: not a MAC address ${JSON.stringify(mac)}`);
  return Buffer.from(mac.split(':').map((x) => parseInt(x, 16)));
}

export interface Reply {
  type: number;
  flags: number;
  /** The sequence number of the request it answers. */
  seq: number;
  /** The bytes after the netlink header. */
  body: Buffer;
}

export function parseReplies(buf: Buffer): Reply[] {
  const out: Reply[] = [];
  for (let off = 0; off + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) break;
    out.push({ type: buf.readUInt16LE(off + 4), flags: buf.readUInt16LE(off + 6), seq: buf.readUInt32LE(off + 8), body: buf.subarray(off + 16, off + len) });
    off += align4(len);
  }
  return out;
}

/** Attributes of a body that starts with a family header of `headerLen` bytes, by type (the first of each). */
export function parseAttrs(body: Buffer, headerLen: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let off = align4(headerLen); off + 4 <= body.length; ) {
    const len = body.readUInt16LE(off);
    const type = body.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > body.length) break;
    if (!out.has(type)) out.set(type, body.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

/** An NLMSG_ERROR reply: errno (0 = ack) and the kernel's extended message when it gave one. */
export function parseError(r: Reply): { errno: number; text?: string } {
  const errno = -r.body.readInt32LE(0) || 0;
  if (!(r.flags & 0x200) || r.body.length < 20) return { errno };
  // NLM_F_ACK_TLVS: the request (only its header when NLM_F_CAPPED) comes before the attributes.
  const echoed = r.flags & 0x100 ? 16 : r.body.readUInt32LE(4);
  const msg = parseAttrs(r.body.subarray(4 + align4(echoed)), 0).get(1);
  return msg ? { errno, text: msg.toString('utf8').replace(/\0+$/, '') } : { errno };
}
