/**
 * This host's WireGuard side of encrypted overlay networks: one interface for all of them, its key
 * (made here, kept in the data directory, only the public half leaves the host), its tunnel address
 * (claimed cluster-wide with an atomic create of `wgip/<address>`), and its peer set: every other
 * host that has an endpoint on an encrypted network this host also carries.
 *
 * Use: `await hw.ensure()` before the first encrypted network is set up; `hw.info` goes into this
 * host's endpoint records; `hw.syncPeers(records)` after each change.
 *
 * Beware: the interface name is derived from the engine's instance prefix, so it is unique on the
 * machine (wireguard-go's control sockets are shared by every namespace).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterStore } from '../../cluster/index.js';
import { formatAddress, parsePrefix } from '../../ipam/index.js';
import { ensureWireguard, generatePrivateKey, publicKeyOf, removeWireguard, syncWireguardPeers, wireguardSupport, WIREGUARD_OVERHEAD, type WireguardPeer } from '../../kernel/index.js';
import { notImplemented } from '../../util/index.js';
import { wgipKey, WGIP_PREFIX, type EndpointRecord, type WireguardInfo } from './records.js';

/** Tunnel addresses of the hosts (link-local: never routed beyond a host's WireGuard interface). */
export const TUNNEL_RANGE = '169.254.192.0/18';
export const WIREGUARD_PORT = 51820;
export const WG_ALIAS = 'redes-overlay-wg';

export const wireguardIfname = (instance: string): string => `wg-${createHash('sha256').update(instance).digest('hex').slice(0, 12)}`;

export class HostWireguard {
  info: WireguardInfo | undefined;
  private ready: Promise<WireguardInfo> | undefined;

  constructor(
    private readonly deps: { instance: string; dataDir: string; hostNetns?: string },
    private readonly store: () => { store: ClusterStore; advertiseAddress: string },
  ) {}

  get ifname(): string {
    return wireguardIfname(this.deps.instance);
  }

  /**
   * Makes the interface once (later calls share the first one's work), its MTU the underlay's minus
   * WireGuard's overhead. Throws a clear error without WireGuard.
   */
  ensure(underlayMtu = 1500): Promise<WireguardInfo> {
    this.ready ??= this.setUp(underlayMtu).catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  private async setUp(underlayMtu: number): Promise<WireguardInfo> {
    const support = await wireguardSupport(this.deps.hostNetns);
    if ('missing' in support) {
      throw notImplemented('overlay.no_wireguard', `encrypted overlay networks need WireGuard on every host, and this host has none: ${support.missing}; traffic is never sent unencrypted instead`);
    }
    const { store, advertiseAddress } = this.store();
    const privateKey = await this.privateKey();
    const tunnel = await this.claimTunnel(store);
    const range = parsePrefix(TUNNEL_RANGE);
    // The tunnel's packets travel on the underlay: each must fit in it with WireGuard's overhead, or
    // every one is fragmented (the VXLAN inside is sized to this MTU minus its own overhead).
    const mtu = underlayMtu - WIREGUARD_OVERHEAD;
    await ensureWireguard({ ifname: this.ifname, privateKey, listenPort: WIREGUARD_PORT, address: `${tunnel}/${range.bits}`, mtu, alias: WG_ALIAS }, this.deps.hostNetns);
    this.info = { publicKey: publicKeyOf(privateKey), endpoint: `${advertiseAddress}:${WIREGUARD_PORT}`, tunnel };
    return this.info;
  }

  /** Peers = the other hosts among `records` that carry WireGuard info (one entry per host). */
  async syncPeers(records: Iterable<EndpointRecord>, myNode: string): Promise<void> {
    if (!this.info) return;
    const byNode = new Map<string, WireguardPeer>();
    for (const r of records) {
      if (r.node === myNode || !r.wireguard) continue;
      byNode.set(r.node, { publicKey: r.wireguard.publicKey, endpoint: r.wireguard.endpoint, allowedIp: `${r.wireguard.tunnel}/32` });
    }
    await syncWireguardPeers(this.ifname, [...byNode.values()], this.deps.hostNetns);
  }

  async remove(): Promise<void> {
    this.ready = undefined;
    this.info = undefined;
    await removeWireguard(this.ifname, this.deps.hostNetns);
  }

  private async privateKey(): Promise<string> {
    const file = join(this.deps.dataDir, 'overlay-wireguard.key');
    const have = await readFile(file, 'utf8').catch(() => '');
    if (have.trim()) return have.trim();
    await mkdir(this.deps.dataDir, { recursive: true });
    const key = generatePrivateKey();
    await writeFile(file, `${key}\n`, { mode: 0o600 });
    return key;
  }

  /** This node's tunnel address: the one it claimed before, else the first free from a hash of its id. */
  private async claimTunnel(store: ClusterStore): Promise<string> {
    const { items } = await store.list(WGIP_PREFIX);
    const mine = items.find((i) => i.value === store.nodeId);
    if (mine) return mine.key.slice(WGIP_PREFIX.length);
    const range = parsePrefix(TUNNEL_RANGE);
    const size = 1n << BigInt(32 - range.bits);
    const start = BigInt(parseInt(createHash('sha256').update(store.nodeId).digest('hex').slice(0, 8), 16)) % (size - 2n);
    for (let i = 0n; i < size - 2n; i++) {
      const addr = formatAddress(4, range.network + 1n + ((start + i) % (size - 2n)));
      if (await store.create(wgipKey(addr), store.nodeId)) return addr;
    }
    throw new Error(`no free WireGuard tunnel address in ${TUNNEL_RANGE}`);
  }
}
