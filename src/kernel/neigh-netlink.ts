/**
 * Static neighbour (IP -> MAC) and VXLAN forwarding (MAC -> remote VTEP) entries written over
 * rtnetlink (netlink.ts's sockets): the same kernel requests as `ip neigh replace ... nud permanent`
 * and `bridge fdb replace ... self permanent`, without starting a program.
 *
 * Use: `applyNeighbours('vx-0123', ops, netns?)`, ops `{ op: 'replace' | 'delete', kind: 'neigh' |
 * 'fdb', ... }` applied in order; throws on the first failed replace (deletes of missing entries are
 * fine).
 *
 * Beware: synchronous (a few microseconds per entry: rtnetlink answers inside sendmsg). Starting an
 * `ip` and a `bridge` process for one entry took 120-450 ms per host with the machine at load 14
 * (20-odd engines on 2 cores), which was most of a new endpoint's way to the other hosts. One socket
 * per call, opened in the namespace and closed before returning: nothing keeps a namespace alive.
 * IPv4 addresses only.
 */
import { isIPv4 } from 'node:net';
import { AF_BRIDGE, AF_INET, attr, FLAGS, ipBytes, macBytes, message, NDA, ndmsg, NTF_SELF, RTM } from './netlink-codec.js';
import { ERRNO, errnoText, NetlinkError, Rtnl } from './netlink.js';

export type NeighbourOp =
  | { op: 'replace' | 'delete'; kind: 'neigh'; ip: string; mac: string }
  | { op: 'replace' | 'delete'; kind: 'fdb'; mac: string; vtep: string };

const describe = (o: NeighbourOp): string => (o.kind === 'neigh' ? `neigh ${o.op} ${o.ip} lladdr ${o.mac}` : `fdb ${o.op} ${o.mac} dst ${o.vtep}`);

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** The RTM_NEWNEIGH / RTM_DELNEIGH request of one op on link `index`. */
function encode(o: NeighbourOp, index: number): Buffer {
  const ip = o.kind === 'neigh' ? o.ip : o.vtep;
  const withMac = o.kind === 'fdb' || o.op === 'replace';
  if (!isIPv4(ip) || (withMac && !MAC.test(o.mac))) throw new TypeError(`netlink: ${describe(o)}: needs IPv4 and MAC addresses`);
  const [type, flags] = o.op === 'replace' ? [RTM.NEWNEIGH, FLAGS.CREATE | FLAGS.REPLACE] : [RTM.DELNEIGH, 0];
  const dst = attr(NDA.DST, ipBytes(ip).bytes);
  const lladdr = withMac ? [attr(NDA.LLADDR, macBytes(o.mac))] : [];
  if (o.kind === 'fdb') return message(type, flags, ndmsg(AF_BRIDGE, index, NTF_SELF), [...lladdr, dst]);
  return message(type, flags, ndmsg(AF_INET, index), [dst, ...lladdr]);
}

/** Applies ops to the entries of `dev` (in netns `netns`, else this process's namespace). */
export function applyNeighbours(dev: string, ops: readonly NeighbourOp[], netns?: string): void {
  if (!ops.length) return;
  Rtnl.with(netns, (nl) => {
    let index: number;
    try {
      index = nl.linkIndex(dev);
    } catch (e) {
      if (!(e instanceof NetlinkError)) throw e;
      if (e.errno === ERRNO.ENODEV) throw new Error(`netlink: no device ${dev}${netns ? ` in ${netns}` : ''}`);
      throw new Error(`${dev}: ${errnoText(e.errno)}`);
    }
    const errnos = nl.requestEach(ops.map((o) => encode(o, index)));
    const bad = ops.findIndex((o, i) => {
      const e = errnos[i] ?? 0;
      return e !== 0 && !(o.op === 'delete' && e === ERRNO.ENOENT);
    });
    if (bad >= 0) throw new Error(`netlink: ${describe(ops[bad] as NeighbourOp)} dev ${dev} failed: ${errnoText(errnos[bad] ?? 0)}`);
  });
}
