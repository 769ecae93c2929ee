/**
 * Links, addresses and routes changed in-process over rtnetlink (the netns-socket addon's netlink
 * sockets, native/netlink.c) instead of spawning `ip`: a spawn costs the daemon's main thread a fork
 * (about 3 ms quiet, tens of ms on a loaded machine), a netlink request a few microseconds. Used on
 * the hot paths (container start, stop, connect, disconnect); `ip -batch` stays for the rest.
 *
 * Use: `await addVethPort({ hostIfname, bridge, mtu, peer: { ifname: 'eth0', mac, netns } })`, then
 * `configureLink(netns, 'eth0', { addresses, gateways })`; `tombstoneLink` + `deleteLink` to remove.
 * Every call acts in the daemon's namespace, or in named namespace `netns` (its /run/netns file).
 *
 * Beware: requests run synchronously on the main thread (the kernel answers them at once), except
 * `deleteLink`, which runs on libuv's thread pool because unregistering a veth waits for RCU.
 * Errors are NetlinkError with the errno (`EEXIST`, `EXFULL`...) and ip's wording of it.
 */
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { formatIpBytes } from '../util/index.js';
import { netnsPath } from './netns.js';
import {
  AF_INET, AF_INET6, attr, encodeAttrs, FLAGS, IFA, IFA_F_NODAD, ifaddr, IFF_UP, ifinfo, IFLA, IFLA_BRPORT_MODE, IFLA_INFO, ipBytes, macBytes, message, NLMSG_ERROR,
  parseAttrs, parseError, parseReplies, RTA, rtmsg, RTM, strz, u32, u8, VETH_INFO_PEER, type Reply,
} from './netlink-codec.js';

interface Addon {
  netlinkOpen(nsPath: string): number;
  netlinkTalk(fd: number, msg: Buffer): Buffer;
  netlinkTalkAsync(fd: number, msg: Buffer): Promise<Buffer>;
  strerror(errno: number): string;
  procSysNetSet(nsPath: string, key: string, value: string): boolean | null;
}

let addon: Addon | undefined;
function load(): Addon {
  // dist/src/kernel/netlink.js → dist/netns-socket.node
  addon ??= createRequire(import.meta.url)('../../netns-socket.node') as Addon;
  return addon;
}

/** The C library's text for an errno ("File exists"). */
export const errnoText = (errno: number): string => load().strerror(errno);

export class NetlinkError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
    text?: string,
  ) {
    super(`${op} failed: ${errnoText(errno)}${text ? `: ${text}` : ''}`);
    this.name = 'NetlinkError';
  }
}

/** errno values the callers tell apart. */
export const ERRNO = { ENOENT: 2, EEXIST: 17, ENODEV: 19, EADDRNOTAVAIL: 99, EXFULL: 54 } as const;

/** Requests sent in one talk with the kernel: their acks (a copy of each request) fit any receive buffer. */
const BATCH = 64;

/** A netlink socket in the daemon's namespace or in named namespace `netns`; close it when done. */
export class Rtnl {
  private constructor(readonly fd: number) {}

  static open(netns?: string): Rtnl {
    return new Rtnl(load().netlinkOpen(netns ? netnsPath(netns) : ''));
  }

  static with<T>(netns: string | undefined, fn: (nl: Rtnl) => T): T {
    const nl = Rtnl.open(netns);
    try {
      return fn(nl);
    } finally {
      closeSync(nl.fd);
    }
  }

  /** Sends one request; returns its replies, or throws the kernel's error. */
  request(op: string, msg: Buffer): Reply[] {
    return checked(op, parseReplies(load().netlinkTalk(this.fd, msg)));
  }

  /**
   * Sends many requests, BATCH to a talk; returns each one's errno (0: done), in order. The kernel
   * goes on after a request fails, so one error does not stop the others.
   */
  requestEach(msgs: readonly Buffer[]): number[] {
    const errnos: number[] = [];
    for (let i = 0; i < msgs.length; i += BATCH) {
      const chunk = msgs.slice(i, i + BATCH);
      const acks = new Map<number, number>();
      for (const r of parseReplies(load().netlinkTalk(this.fd, Buffer.concat(chunk)))) {
        if (r.type === NLMSG_ERROR) acks.set(r.seq, parseError(r).errno);
      }
      errnos.push(...chunk.map((m) => acks.get(m.readUInt32LE(8)) ?? 0));
    }
    return errnos;
  }

  linkIndex(name: string): number {
    const reply = this.request(`ip link show ${name}`, message(RTM.GETLINK, 0, ifinfo(), [attr(IFLA.IFNAME, strz(name))]));
    const link = reply.find((r) => r.type === RTM.NEWLINK);
    if (!link) throw new NetlinkError(`ip link show ${name}`, ERRNO.ENODEV);
    return link.body.readInt32LE(4);
  }

  setLink(op: string, index: number, o: { up?: boolean; name?: string }): void {
    const flags = o.up === undefined ? {} : { flags: o.up ? IFF_UP : 0, change: IFF_UP };
    this.request(op, message(RTM.NEWLINK, 0, ifinfo({ index, ...flags }), o.name ? [attr(IFLA.IFNAME, strz(o.name))] : []));
  }
}

function checked(op: string, replies: Reply[]): Reply[] {
  for (const r of replies) {
    if (r.type !== NLMSG_ERROR) continue;
    const { errno, text } = parseError(r);
    if (errno !== 0) throw new NetlinkError(op, errno, text);
  }
  return replies;
}

function addressMessage(index: number, cidr: string, nodad: boolean): Buffer {
  const [ip = '', len = ''] = cidr.split('/');
  const { family, bytes } = ipBytes(ip);
  const prefixlen = len === '' ? bytes.length * 8 : Number(len);
  const hdr = ifaddr({ family, prefixlen, flags: nodad ? IFA_F_NODAD : 0, index });
  return message(RTM.NEWADDR, FLAGS.CREATE | FLAGS.EXCL, hdr, [attr(IFA.LOCAL, bytes), attr(IFA.ADDRESS, bytes)]);
}

/** `ip link set IFNAME up` in `netns` (undefined: the daemon's namespace). */
export function linkUp(netns: string | undefined, ifname: string): void {
  Rtnl.with(netns, (nl) => nl.setLink(`ip link set ${ifname} up`, nl.linkIndex(ifname), { up: true }));
}

export interface VethPort {
  /** The host end's name, plugged into `bridge` and up. */
  hostIfname: string;
  /** Named namespace of the host end and the bridge (default: the daemon's own; tests use their own). */
  hostNetns?: string;
  bridge: string;
  mtu: number;
  /** The container end, made straight inside named namespace `netns` (down, no address yet). */
  peer: { ifname: string; mac: string; netns: string };
}

/**
 * `ip link add HOST mtu M master BRIDGE up type veth peer name IF address MAC mtu M netns NS` in one
 * request: the kernel creates both ends, the peer inside the namespace, and plugs the host end in;
 * if plugging fails (a full bridge: EXFULL) it removes the pair itself.
 */
export function addVethPort(v: VethPort): void {
  const nsFd = openSync(netnsPath(v.peer.netns), 'r');
  try {
    Rtnl.with(v.hostNetns, (nl) => {
      const master = nl.linkIndex(v.bridge);
      const peer = Buffer.concat([
        ifinfo(),
        // Attributes of the peer follow its ifinfomsg directly (VETH_INFO_PEER's layout).
        encodeAttrs([attr(IFLA.IFNAME, strz(v.peer.ifname)), attr(IFLA.ADDRESS, macBytes(v.peer.mac)), attr(IFLA.MTU, u32(v.mtu)), attr(IFLA.NET_NS_FD, u32(nsFd))]),
      ]);
      const linkinfo = [attr(IFLA_INFO.KIND, strz('veth')), attr(IFLA_INFO.DATA, [attr(VETH_INFO_PEER, peer)])];
      const attrs = [attr(IFLA.IFNAME, strz(v.hostIfname)), attr(IFLA.MTU, u32(v.mtu)), attr(IFLA.MASTER, u32(master)), attr(IFLA.LINKINFO, linkinfo)];
      nl.request(`ip link add ${v.hostIfname} master ${v.bridge}`, message(RTM.NEWLINK, FLAGS.CREATE | FLAGS.EXCL, ifinfo({ flags: IFF_UP, change: IFF_UP }), attrs));
    });
  } finally {
    closeSync(nsFd);
  }
}

export interface LinkConfig {
  /** CIDRs added to the link (IPv6 ones without duplicate address detection when `nodad`). */
  addresses?: readonly string[];
  nodad?: boolean;
  /**
   * IPv6 on the link (`net.ipv6.conf.IF.disable_ipv6`), set before its addresses and before it goes
   * up; undefined leaves the kernel's default. See setLinkIpv6.
   */
  ipv6?: boolean;
  /** Bring the link up (after its addresses). */
  up?: boolean;
  /** Default routes via these gateways on this link (`ip route replace default via GW dev IF`). */
  gateways?: readonly string[];
}

/** Addresses, state and default routes of link `ifname` in `netns`, in that order, as one `ip -batch` would. */
export function configureLink(netns: string | undefined, ifname: string, c: LinkConfig): void {
  if (c.ipv6 !== undefined) setLinkIpv6(netns, ifname, c.ipv6);
  Rtnl.with(netns, (nl) => {
    const index = nl.linkIndex(ifname);
    for (const cidr of c.addresses ?? []) {
      nl.request(`ip addr add ${cidr} dev ${ifname}`, addressMessage(index, cidr, (c.nodad ?? false) && cidr.includes(':')));
    }
    if (c.up) nl.setLink(`ip link set ${ifname} up`, index, { up: true });
    for (const gw of c.gateways ?? []) {
      const { family, bytes } = ipBytes(gw);
      const msg = message(RTM.NEWROUTE, FLAGS.CREATE | FLAGS.REPLACE, rtmsg(family, 0), [attr(RTA.GATEWAY, bytes), attr(RTA.OIF, u32(index))]);
      nl.request(`ip route replace default via ${gw} dev ${ifname}`, msg);
    }
  });
}

/**
 * Turns IPv6 on or off on link `ifname` of `netns` (its `disable_ipv6`), in-process. Off, the link
 * has no link-local address and joins no multicast group, so it sends no DAD, router solicitation or
 * MLD report: on a bridge of 1,000 ports each of those is flooded to every port (measured: ~19,000
 * input-backlog drops a second with IPv6 on, none off). A kernel without IPv6 has no such file:
 * turning it off is then already done, turning it on throws.
 */
export function setLinkIpv6(netns: string | undefined, ifname: string, on: boolean): void {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(ifname) || ifname === '.' || ifname === '..') throw new Error(`bad interface name ${JSON.stringify(ifname)}`);
  const done = load().procSysNetSet(netns ? netnsPath(netns) : '', `ipv6/conf/${ifname}/disable_ipv6`, on ? '0' : '1');
  if (done === null && on) throw new NetlinkError(`sysctl net.ipv6.conf.${ifname}.disable_ipv6=0`, ERRNO.ENOENT);
}

/**
 * Takes link `ifname` in `netns` down, removes its addresses and renames it `tomb` (the cheap half
 * of a delete: the name is free and no traffic passes). Throws ENODEV when the link is missing.
 */
export function tombstoneLink(netns: string | undefined, ifname: string, tomb: string): void {
  Rtnl.with(netns, (nl) => {
    const index = nl.linkIndex(ifname);
    nl.setLink(`ip link set ${ifname} down`, index, { up: false });
    const dump = nl.request(`ip addr show dev ${ifname}`, message(RTM.GETADDR, FLAGS.DUMP, ifaddr({ family: 0, prefixlen: 0, index: 0 })));
    for (const r of dump) {
      if (r.type !== RTM.NEWADDR || r.body.readUInt32LE(4) !== index) continue;
      const a = parseAttrs(r.body, 8);
      const attrs = [IFA.LOCAL, IFA.ADDRESS].flatMap((t) => (a.has(t) ? [attr(t, a.get(t) as Buffer)] : []));
      const hdr = Buffer.from(r.body.subarray(0, 8));
      try {
        nl.request(`ip addr del dev ${ifname}`, message(RTM.DELADDR, 0, hdr, attrs));
      } catch (e) {
        // Deleting an IPv4 primary address takes its secondaries with it.
        if (!(e instanceof NetlinkError && e.errno === ERRNO.EADDRNOTAVAIL)) throw e;
      }
    }
    nl.setLink(`ip link set ${ifname} name ${tomb}`, index, { name: tomb });
  });
}

/** `ip link del IFNAME` in `netns`, off the main thread (a veth delete waits for RCU). */
export async function deleteLink(netns: string | undefined, ifname: string): Promise<void> {
  const nl = Rtnl.open(netns);
  const op = `ip link del ${ifname}`;
  try {
    const msg = message(RTM.DELLINK, 0, ifinfo(), [attr(IFLA.IFNAME, strz(ifname))]);
    checked(op, parseReplies(await load().netlinkTalkAsync(nl.fd, msg)));
  } finally {
    closeSync(nl.fd);
  }
}

/** `ip link set dev IF type bridge_slave hairpin on` for each bridge port named (in `netns`, default the daemon's). */
export function setHairpin(ifnames: readonly string[], netns?: string): void {
  if (!ifnames.length) return;
  Rtnl.with(netns, (nl) => {
    for (const name of ifnames) {
      const linkinfo = [attr(IFLA_INFO.SLAVE_KIND, strz('bridge')), attr(IFLA_INFO.SLAVE_DATA, [attr(IFLA_BRPORT_MODE, u8(1))])];
      nl.request(`ip link set dev ${name} type bridge_slave hairpin on`, message(RTM.NEWLINK, 0, ifinfo({ index: nl.linkIndex(name) }), [attr(IFLA.LINKINFO, linkinfo)]));
    }
  });
}

/** A link as `ip -details addr show dev NAME` shows it: its kind (`bridge`, `veth`...), MTU and addresses. */
export interface LinkDetails {
  index: number;
  /** IFLA_INFO_KIND; undefined for a device without one (a physical NIC, lo). */
  kind: string | undefined;
  mtu: number;
  /** `address/prefixlen`, IPv6 written as `ip` writes it (RFC 5952). */
  addresses: string[];
}

/** The link named `ifname` in `netns` (undefined: the daemon's), or undefined when there is none. */
export function linkDetails(netns: string | undefined, ifname: string): LinkDetails | undefined {
  return Rtnl.with(netns, (nl) => {
    let reply: Reply[];
    try {
      reply = nl.request(`ip link show ${ifname}`, message(RTM.GETLINK, 0, ifinfo(), [attr(IFLA.IFNAME, strz(ifname))]));
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === ERRNO.ENODEV) return undefined;
      throw e;
    }
    const link = reply.find((r) => r.type === RTM.NEWLINK);
    if (!link) return undefined;
    const index = link.body.readInt32LE(4);
    const a = parseAttrs(link.body, 16);
    const info = a.get(IFLA.LINKINFO);
    const kind = info ? parseAttrs(info, 0).get(IFLA_INFO.KIND)?.toString('utf8').replace(/\0+$/, '') : undefined;
    const dump = nl.request(`ip addr show dev ${ifname}`, message(RTM.GETADDR, FLAGS.DUMP, ifaddr({ family: 0, prefixlen: 0, index: 0 })));
    const addresses: string[] = [];
    for (const r of dump) {
      if (r.type !== RTM.NEWADDR || r.body.readUInt32LE(4) !== index) continue;
      const aa = parseAttrs(r.body, 8);
      const bytes = aa.get(IFA.LOCAL) ?? aa.get(IFA.ADDRESS);
      if (bytes) addresses.push(`${formatIpBytes(bytes)}/${r.body.readUInt8(1)}`);
    }
    return { index, kind, mtu: a.get(IFLA.MTU)?.readUInt32LE(0) ?? 0, addresses };
  });
}

/** `ip link add NAME mtu MTU type bridge` in the daemon's namespace (or `netns`); EEXIST when the name is taken. */
export function addBridgeLink(name: string, mtu: number, netns?: string): void {
  Rtnl.with(netns, (nl) => {
    const attrs = [attr(IFLA.IFNAME, strz(name)), attr(IFLA.MTU, u32(mtu)), attr(IFLA.LINKINFO, [attr(IFLA_INFO.KIND, strz('bridge'))])];
    nl.request(`ip link add ${name} type bridge`, message(RTM.NEWLINK, FLAGS.CREATE | FLAGS.EXCL, ifinfo(), attrs));
  });
}

/** `ip link set dev NAME mtu MTU`. */
export function setLinkMtu(netns: string | undefined, name: string, mtu: number): void {
  Rtnl.with(netns, (nl) => {
    nl.request(`ip link set dev ${name} mtu ${mtu}`, message(RTM.NEWLINK, 0, ifinfo({ index: nl.linkIndex(name) }), [attr(IFLA.MTU, u32(mtu))]));
  });
}

const RTM_GETROUTE = 26;
const RT_TABLE_MAIN = 254;
const RTA_DST = 1;
const RTA_TABLE = 15;
const RTM_F_CLONED = 0x200;
const RTN_MULTICAST = 5;

/**
 * The destinations of the main routing table (IPv4, then IPv6) as CIDRs, as `ip route show` and
 * `ip -6 route show` list them, less default routes, IPv6 link-local (fe80::/10) and multicast ones.
 */
export function routePrefixes(netns?: string): string[] {
  return Rtnl.with(netns, (nl) => {
    const out: string[] = [];
    for (const family of [AF_INET, AF_INET6]) {
      const hdr = Buffer.alloc(12);
      hdr.writeUInt8(family, 0);
      for (const r of nl.request(`ip route show`, message(RTM_GETROUTE, FLAGS.DUMP, hdr))) {
        if (r.type !== RTM.NEWROUTE || r.body.length < 12) continue;
        const dstLen = r.body.readUInt8(1);
        const a = parseAttrs(r.body, 12);
        const table = a.get(RTA_TABLE)?.readUInt32LE(0) ?? r.body.readUInt8(4);
        if (table !== RT_TABLE_MAIN || r.body.readUInt8(7) === RTN_MULTICAST || r.body.readUInt32LE(8) & RTM_F_CLONED) continue;
        const dst = a.get(RTA_DST);
        if (!dst || dstLen === 0) continue;
        if (family === AF_INET6 && dst[0] === 0xfe && (dst[1] ?? 0) >> 6 === 2) continue;
        out.push(`${formatIpBytes(dst)}/${dstLen}`);
      }
    }
    return out;
  });
}
