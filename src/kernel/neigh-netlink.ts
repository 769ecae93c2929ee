/**
 * Static neighbour (IP -> MAC) and VXLAN forwarding (MAC -> remote VTEP) entries written over
 * rtnetlink by the netlink-neigh addon (native/netlink-neigh.c, built by scripts/build-addon.sh into
 * dist/netlink-neigh.node): the same kernel requests as `ip neigh replace ... nud permanent` and
 * `bridge fdb replace ... self permanent`, without starting a program.
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
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { netnsPath } from './netns.js';

interface Addon {
  open(nsPath: string): number;
  linkIndex(fd: number, ifname: string): number;
  apply(fd: number, ifindex: number, ops: ReadonlyArray<readonly [number, string, string?]>): number[];
}

let addon: Addon | undefined;

function load(): Addon {
  if (!addon) {
    // dist/src/kernel/neigh-netlink.js → dist/netlink-neigh.node
    const require = createRequire(import.meta.url);
    addon = require('../../netlink-neigh.node') as Addon;
  }
  return addon;
}

export type NeighbourOp =
  | { op: 'replace' | 'delete'; kind: 'neigh'; ip: string; mac: string }
  | { op: 'replace' | 'delete'; kind: 'fdb'; mac: string; vtep: string };

const ENOENT = 2;
const ERRNO_TEXT: Record<number, string> = { 1: 'Operation not permitted', 2: 'No such file or directory', 17: 'File exists', 19: 'No such device', 22: 'Invalid argument', 95: 'Operation not supported' };

function encode(o: NeighbourOp): readonly [number, string, string?] {
  const del = o.op === 'delete' ? 2 : 0;
  return o.kind === 'neigh' ? (del ? [2, o.ip] : [0, o.ip, o.mac]) : [1 + del, o.mac, o.vtep];
}

const describe = (o: NeighbourOp): string => (o.kind === 'neigh' ? `neigh ${o.op} ${o.ip} lladdr ${o.mac}` : `fdb ${o.op} ${o.mac} dst ${o.vtep}`);

/** Applies ops to the entries of `dev` (in netns `netns`, else this process's namespace). */
export function applyNeighbours(dev: string, ops: readonly NeighbourOp[], netns?: string): void {
  if (!ops.length) return;
  const a = load();
  const fd = a.open(netns ? netnsPath(netns) : '');
  try {
    const index = a.linkIndex(fd, dev);
    if (index < 0) throw new Error(`netlink: no device ${dev}${netns ? ` in ${netns}` : ''}`);
    const errs = a.apply(fd, index, ops.map(encode));
    const bad = ops.findIndex((o, i) => {
      const e = errs[i] ?? 0;
      return e !== 0 && !(o.op === 'delete' && e === ENOENT);
    });
    if (bad >= 0) {
      const e = errs[bad] ?? 0;
      throw new Error(`netlink: ${describe(ops[bad] as NeighbourOp)} dev ${dev} failed: ${ERRNO_TEXT[e] ?? `errno ${e}`}`);
    }
  } finally {
    closeSync(fd);
  }
}
