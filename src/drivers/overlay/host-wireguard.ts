/**
 * This host's WireGuard side of encrypted overlay networks: one interface for all of them, its key
 * (made here, kept in the data directory, only the public half leaves the host), its tunnel address
 * (claimed cluster-wide with an atomic create of `wgip/<address>`), and its peer set: every other
 * host that has an endpoint on an encrypted network this host also carries.
 *
 * Use: `await hw.ensure()` before the first encrypted network is set up; `hw.info` goes into this
 * host's endpoint records; `hw.updatePeers(net, changes, { full })` after each pass of an encrypted
 * network (its whole list, or the endpoints that changed), `hw.dropNetwork(net)` when it goes.
 *
 * The peer set is kept as a delta, like the FDB passes (peers.ts): each network's remote endpoints
 * are remembered by node, and a change touches only the nodes of the endpoints it names; a node's
 * peer is written (or removed) only when what it asks for differs from what was written. The first
 * change after the interface is made (or after a failed call) lists the kernel and writes the whole set.
 *
 * Beware: the interface name is derived from the engine's instance prefix, so it is unique on the
 * machine (wireguard-go's control sockets are shared by every namespace).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterStore } from '../../cluster/index.js';
import { formatAddress, parsePrefix } from '../../ipam/index.js';
import { changeWireguardPeers, ensureWireguard, wireguardIfname, generatePrivateKey, publicKeyOf, removeWireguard, syncWireguardPeers, wireguardSupport, WIREGUARD_OVERHEAD, type WireguardPeer } from '../../kernel/index.js';
import { notImplemented } from '../../util/index.js';
import { wgipKey, WGIP_PREFIX, type EndpointRecord, type WireguardInfo } from './records.js';

/** Tunnel addresses of the hosts (link-local: never routed beyond a host's WireGuard interface). */
export const TUNNEL_RANGE = '169.254.192.0/18';
export const WIREGUARD_PORT = 51820;
export const WG_ALIAS = 'redes-overlay-wg';

export { wireguardIfname };

/** How the peer set reaches the kernel (kernel/wireguard.ts; a recording fake in tests). */
export interface WireguardPeerOps {
  /** Makes the interface's peers exactly `peers` (it lists what the interface holds first). */
  sync(ifname: string, peers: readonly WireguardPeer[], netns?: string): Promise<void>;
  /** Adds or updates `set` and removes the peers keyed `remove`, in one call, without listing. */
  change(ifname: string, set: readonly WireguardPeer[], remove: readonly string[], netns?: string): Promise<void>;
}

const kernelPeerOps: WireguardPeerOps = { sync: syncWireguardPeers, change: changeWireguardPeers };

const samePeer = (a: WireguardPeer | undefined, b: WireguardPeer | undefined): boolean =>
  a?.publicKey === b?.publicKey && a?.endpoint === b?.endpoint && a?.allowedIp === b?.allowedIp;

/** The WireGuard peer an endpoint record of another host asks for, if any. */
function peerOfRecord(r: EndpointRecord | undefined, myNode: string): { node: string; peer: WireguardPeer } | undefined {
  if (!r?.wireguard || r.node === myNode) return undefined;
  return { node: r.node, peer: { publicKey: r.wireguard.publicKey, endpoint: r.wireguard.endpoint, allowedIp: `${r.wireguard.tunnel}/32` } };
}

/** The error of an encrypted network on a host without WireGuard (never plaintext, never a silent drop). */
function noWireguard(action: 'create' | 'join', missing: string): Error {
  const never = 'traffic is never sent unencrypted instead';
  if (action === 'join') return notImplemented('overlay.no_wireguard', `cannot join secure network: this host has no WireGuard: ${missing}; ${never}`);
  return notImplemented('overlay.no_wireguard', `encrypted overlay networks need WireGuard on every host, and this host has none: ${missing}; ${never}`);
}

export class HostWireguard {
  info: WireguardInfo | undefined;
  private ready: Promise<WireguardInfo> | undefined;
  /** networkId -> endpointId -> the node and peer its record asks for (remote endpoints with WireGuard info). */
  private readonly sources = new Map<string, Map<string, { node: string; peer: WireguardPeer }>>();
  /** node -> "networkId/endpointId" -> its peer: every endpoint asking for the node, latest last. */
  private readonly nodes = new Map<string, Map<string, WireguardPeer>>();
  /** node -> the peer written to the interface; meaningful only while `synced`. */
  private readonly written = new Map<string, WireguardPeer>();
  /** The interface holds `written` exactly (false: the next update lists it and writes the whole set). */
  private synced = false;
  private readonly ops: WireguardPeerOps;

  constructor(
    private readonly deps: { instance: string; dataDir: string; hostNetns?: string; peerOps?: WireguardPeerOps; wireguardGo?: string },
    private readonly store: () => { store: ClusterStore; advertiseAddress: string },
  ) {
    this.ops = deps.peerOps ?? kernelPeerOps;
  }

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

  /**
   * Throws the user's error when this host has no WireGuard: before a network is created here
   * (nothing is recorded then) and before a container joins (no address is taken then). Docker says
   * "cannot join secure network: ..." when a host lacks IPsec; a create gets a sentence of its own.
   */
  async checkSupport(action: 'create' | 'join'): Promise<void> {
    if (this.info) return;
    const support = await wireguardSupport(this.deps.hostNetns, this.deps.wireguardGo);
    if ('missing' in support) throw noWireguard(action, support.missing);
  }

  private async setUp(underlayMtu: number): Promise<WireguardInfo> {
    const support = await wireguardSupport(this.deps.hostNetns, this.deps.wireguardGo);
    if ('missing' in support) throw noWireguard('create', support.missing);
    const { store, advertiseAddress } = this.store();
    const privateKey = await this.privateKey();
    const tunnel = await this.claimTunnel(store);
    const range = parsePrefix(TUNNEL_RANGE);
    // The tunnel's packets travel on the underlay: each must fit in it with WireGuard's overhead, or
    // every one is fragmented (the VXLAN inside is sized to this MTU minus its own overhead).
    const mtu = underlayMtu - WIREGUARD_OVERHEAD;
    await ensureWireguard({ ifname: this.ifname, privateKey, listenPort: WIREGUARD_PORT, address: `${tunnel}/${range.bits}`, mtu, alias: WG_ALIAS }, this.deps.hostNetns, this.deps.wireguardGo);
    this.info = { publicKey: publicKeyOf(privateKey), endpoint: `${advertiseAddress}:${WIREGUARD_PORT}`, tunnel };
    return this.info;
  }

  /**
   * One network's remote endpoints changed: `changes` holds [endpointId, record or undefined when
   * gone]; `full`: they are the network's whole list (what it had before is replaced). Writes only
   * the peers of the nodes those endpoints belong to, and only when they differ from what was
   * written. Before the interface exists, the changes are only remembered.
   */
  async updatePeers(networkId: string, changes: Iterable<readonly [string, EndpointRecord | undefined]>, opts: { full: boolean; myNode: string }): Promise<void> {
    let src = this.sources.get(networkId);
    const touched = new Set<string>();
    if (opts.full && src) {
      for (const [id, s] of src) this.unsource(s.node, `${networkId}/${id}`, touched);
      src.clear();
    }
    for (const [id, r] of changes) {
      const key = `${networkId}/${id}`;
      const was = src?.get(id);
      if (was) {
        this.unsource(was.node, key, touched);
        src?.delete(id);
      }
      const now = peerOfRecord(r, opts.myNode);
      if (!now) continue;
      if (!src) this.sources.set(networkId, (src = new Map()));
      src.set(id, now);
      let m = this.nodes.get(now.node);
      if (!m) this.nodes.set(now.node, (m = new Map()));
      m.set(key, now.peer);
      touched.add(now.node);
    }
    if (src && !src.size) this.sources.delete(networkId);
    await this.write(touched);
  }

  /** A network this host no longer carries: its endpoints ask for no peer any more. */
  async dropNetwork(networkId: string): Promise<void> {
    await this.updatePeers(networkId, [], { full: true, myNode: '' });
  }

  /** The peer a node asks for now: its latest endpoint's (all of a node's records carry the same info). */
  private wantOf(node: string): WireguardPeer | undefined {
    const m = this.nodes.get(node);
    return m && m.size ? [...m.values()].at(-1) : undefined;
  }

  private unsource(node: string, key: string, touched: Set<string>): void {
    const m = this.nodes.get(node);
    if (!m?.delete(key)) return;
    if (!m.size) this.nodes.delete(node);
    touched.add(node);
  }

  /** Writes the peers of `touched` nodes that differ (everything, listed first, when not in sync). */
  private async write(touched: ReadonlySet<string>): Promise<void> {
    if (!this.info) return;
    try {
      if (!this.synced) {
        this.written.clear();
        for (const node of this.nodes.keys()) {
          const p = this.wantOf(node);
          if (p) this.written.set(node, p);
        }
        await this.ops.sync(this.ifname, [...this.written.values()], this.deps.hostNetns);
        this.synced = true;
        return;
      }
      const set: WireguardPeer[] = [];
      const remove: string[] = [];
      for (const node of touched) {
        const want = this.wantOf(node);
        const have = this.written.get(node);
        if (samePeer(want, have)) continue;
        if (have && have.publicKey !== want?.publicKey) remove.push(have.publicKey);
        if (want) set.push(want);
      }
      if (!set.length && !remove.length) return;
      for (const node of touched) {
        const want = this.wantOf(node);
        if (want) this.written.set(node, want);
        else this.written.delete(node);
      }
      await this.ops.change(this.ifname, set, remove, this.deps.hostNetns);
    } catch (e) {
      // What the interface holds is unknown now: the next update lists it and writes the whole set.
      this.synced = false;
      throw e;
    }
  }

  async remove(): Promise<void> {
    this.ready = undefined;
    this.info = undefined;
    this.synced = false;
    this.written.clear();
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
