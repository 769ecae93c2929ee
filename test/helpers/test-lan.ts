/**
 * Test helper (not exported): throwaway namespaces `<prefix>-l` (a LAN bridge), `<prefix>-hN` (hosts,
 * `eth1` = 198.51.100.(10+N)/24 on the LAN) and `<prefix>-cN` (one "container" per host), plus
 * a veth from each container to a bridge of the caller's choosing. Used by the overlay kernel tests
 * and benchmarks, which never touch the machine's root namespace.
 *
 * Beware: `close()` deletes the WireGuard links first (that ends their wireguard-go), then the
 * namespaces; call it from `t.after`.
 */
import { randomBytes } from 'node:crypto';
import { ipBatch, netnsAdd, netnsDelete, nsenterArgv, run, type RunResult } from '../../src/kernel/index.js';

export interface TestLan {
  prefix: string;
  lan: string;
  hosts: string[];
  containers: string[];
  /** LAN address of host i (0-based). */
  hostAddr(i: number): string;
  /** Runs argv in namespace ns (never throws; read `code`). */
  exec(ns: string, argv: string[], timeoutMs?: number): Promise<RunResult>;
  /** Links to delete before the namespaces go (e.g. WireGuard: ns -> ifname). */
  wgLinks: Array<{ ns: string; ifname: string }>;
  close(): Promise<void>;
}

export async function makeTestLan(tag: string, hosts: number): Promise<TestLan> {
  const prefix = `${tag}${randomBytes(3).toString('hex')}`;
  const lan = `${prefix}-l`;
  const hostNs = Array.from({ length: hosts }, (_, i) => `${prefix}-h${i + 1}`);
  const ctrNs = Array.from({ length: hosts }, (_, i) => `${prefix}-c${i + 1}`);
  const all = [lan, ...hostNs, ...ctrNs];
  const wgLinks: TestLan['wgLinks'] = [];
  const close = async (): Promise<void> => {
    for (const w of wgLinks) await ipBatch([['link', 'del', 'dev', w.ifname]], w.ns).catch(() => undefined);
    for (const ns of all) await netnsDelete(ns).catch(() => undefined);
  };
  try {
    for (const ns of all) {
      await netnsAdd(ns);
      await ipBatch([['link', 'set', 'dev', 'lo', 'up']], ns);
    }
    await ipBatch([['link', 'add', 'name', 'lanbr', 'type', 'bridge'], ['link', 'set', 'dev', 'lanbr', 'up']], lan);
    for (const [i, h] of hostNs.entries()) {
      await ipBatch([['link', 'add', 'name', 'eth1', 'type', 'veth', 'peer', 'name', `p${i + 1}`, 'netns', lan]], h);
      await ipBatch([['link', 'set', 'dev', `p${i + 1}`, 'master', 'lanbr', 'up']], lan);
      await ipBatch([['addr', 'add', `198.51.100.${11 + i}/24`, 'dev', 'eth1'], ['link', 'set', 'dev', 'eth1', 'up']], h);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    prefix,
    lan,
    hosts: hostNs,
    containers: ctrNs,
    hostAddr: (i) => `198.51.100.${11 + i}`,
    exec: (ns, argv, timeoutMs = 10_000) => run(nsenterArgv(ns, argv), { allowFailure: true, timeoutMs }),
    wgLinks,
    close,
  };
}

/** Plugs container namespace `ctr` into `bridge` of `host` as eth0 with `ip`/24 and `mac`. */
export async function plugContainer(host: string, bridge: string, ctr: string, spec: { ip: string; mac: string; mtu: number; hostIf: string }): Promise<void> {
  const mtu = String(spec.mtu);
  await ipBatch(
    [
      ['link', 'add', 'name', spec.hostIf, 'mtu', mtu, 'type', 'veth', 'peer', 'name', 'eth0', 'address', spec.mac, 'mtu', mtu, 'netns', ctr],
      ['link', 'set', 'dev', spec.hostIf, 'master', bridge, 'up'],
    ],
    host,
  );
  await ipBatch([['addr', 'add', spec.ip, 'dev', 'eth0'], ['link', 'set', 'dev', 'eth0', 'up']], ctr);
}
