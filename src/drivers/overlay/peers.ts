/**
 * The watch that keeps this host's data plane in step with the cluster: it lists `endpoints/`, then
 * watches it from the listing's revision, and for each overlay network this host carries programs
 * one static FDB + neighbour entry per remote endpoint (kernel/vxlan.ts) and, for encrypted
 * networks, one WireGuard peer per remote host; entries whose record is gone (removed, or expired
 * with a dead host's lease) are removed.
 *
 * Use: `new PeerWatch({...}).start()` once the first network is set up; `reconcile(net)` after a
 * network is (re)made; `settled()` waits until every event seen is in the kernel.
 *
 * Beware: changes are applied one at a time, in order, on one promise chain; each network's state
 * starts from what the kernel holds (`listPeers`), so a restart neither duplicates nor leaks entries.
 * A network waiting for its pass is queued once: the events of a burst (60 containers starting over
 * the cluster) cost one kernel update per pass, not one per event.
 */
import { performance } from 'node:perf_hooks';
import type { ClusterStore, StoreWatch, WatchEvent } from '../../cluster/index.js';
import { listPeers, programPeers, type OverlayPeer } from '../../kernel/index.js';
import { logger } from '../../util/index.js';
import type { DriverNetwork } from '../driver.js';
import type { HostWireguard } from './host-wireguard.js';
import type { OverlayOptions } from './options.js';
import { vxlanName } from './options.js';
import { parseEndpointRecord, type EndpointRecord } from './records.js';

const log = logger.child({ component: 'overlay-peers' });

/** A container of another host, as DNS needs it. */
export interface RemoteEndpoint {
  endpointId: string;
  node: string;
  name: string;
  aliases: readonly string[];
  containerId: string;
  ipv4?: string;
  ipv6?: string;
}

export interface PeerWatchDeps {
  store: ClusterStore;
  hostNetns: string | undefined;
  wireguard: HostWireguard;
  /** The network if this host carries it (set up), else undefined: its endpoints are only remembered. */
  network: (id: string) => DriverNetwork<OverlayOptions> | undefined;
  onRemote?: (networkId: string, endpoints: readonly RemoteEndpoint[]) => void;
}

/** Every endpoint record of the cluster (`clusterKeys.endpointsOf(net)` for each network). */
const ENDPOINTS = 'endpoints/';

const peerKey = (p: OverlayPeer): string => `${p.ip}|${p.mac}|${p.vtep}`;

export class PeerWatch {
  /** networkId -> endpointId -> record, for every endpoint of the cluster. */
  private readonly records = new Map<string, Map<string, EndpointRecord>>();
  /** networkId -> what the kernel holds for it (peerKey -> peer). */
  private readonly programmed = new Map<string, Map<string, OverlayPeer>>();
  private chain: Promise<void> = Promise.resolve();
  /** Networks queued for programming and not started yet: a burst of events costs one pass. */
  private readonly queued = new Set<string>();
  private handle: StoreWatch | undefined;
  /** Trace (log level trace): networkId -> [wall clock of the first event not yet programmed, events since]. */
  private readonly pending = new Map<string, [number, number]>();

  constructor(private readonly deps: PeerWatchDeps) {}

  async start(): Promise<void> {
    const { items, revision } = await this.deps.store.list(ENDPOINTS);
    for (const it of items) this.apply({ type: 'put', key: it.key, value: it.value, revision: it.modRevision });
    const nets = new Set([...this.records.keys()]);
    this.handle = await this.deps.store.watch(ENDPOINTS, revision, (ev) => {
      const net = this.apply(ev);
      if (!net) return;
      if (log.isLevelEnabled('trace')) {
        const p = this.pending.get(net);
        if (p) p[1]++;
        else this.pending.set(net, [Date.now(), 1]);
      }
      this.enqueue(net);
    });
    for (const n of nets) this.enqueue(n);
    await this.settled();
  }

  /**
   * Programs one network from scratch against the kernel (after it was made or re-made); `empty`:
   * its VXLAN device was just created, so the kernel holds nothing to list first.
   */
  reconcile(networkId: string, opts: { empty?: boolean } = {}): Promise<void> {
    if (opts.empty) this.programmed.set(networkId, new Map());
    else this.programmed.delete(networkId);
    this.enqueue(networkId);
    return this.settled();
  }

  forget(networkId: string): void {
    this.programmed.delete(networkId);
  }

  remote(networkId: string): RemoteEndpoint[] {
    const me = this.deps.store.nodeId;
    return [...(this.records.get(networkId) ?? new Map<string, EndpointRecord>()).entries()]
      .filter(([, r]) => r.node !== me)
      .map(([endpointId, r]) => ({
        endpointId,
        node: r.node,
        name: r.name,
        aliases: r.aliases,
        containerId: r.containerId,
        ...(r.ipv4 ? { ipv4: r.ipv4 } : {}),
        ...(r.ipv6 ? { ipv6: r.ipv6 } : {}),
      }));
  }

  /** The hosts (node ids) with at least one endpoint on the network, as the store says now. */
  nodesOf(networkId: string): string[] {
    return [...new Set([...(this.records.get(networkId)?.values() ?? [])].map((r) => r.node))];
  }

  settled(): Promise<void> {
    return this.chain;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    await this.chain;
  }

  /** Updates the record map from one event; returns the network it touched. */
  private apply(ev: WatchEvent): string | undefined {
    const rest = ev.key.slice(ENDPOINTS.length);
    const [networkId, endpointId] = rest.split('/');
    if (!networkId || !endpointId) return undefined;
    let m = this.records.get(networkId);
    if (ev.type === 'delete') {
      m?.delete(endpointId);
      return networkId;
    }
    const rec = parseEndpointRecord(ev.value);
    if (!rec) {
      log.warn({ key: ev.key }, 'skipping a malformed endpoint record');
      return undefined;
    }
    if (!m) this.records.set(networkId, (m = new Map()));
    m.set(endpointId, rec);
    return networkId;
  }

  private enqueue(networkId: string): void {
    // A pass not started yet reads the records when it runs, so it covers this event too.
    if (this.queued.has(networkId)) return;
    this.queued.add(networkId);
    this.chain = this.chain
      .then(() => {
        this.queued.delete(networkId);
        return this.program(networkId);
      })
      .catch((e: unknown) => log.error({ err: e, network: networkId }, 'programming overlay peers failed'));
  }

  private async program(networkId: string): Promise<void> {
    const trace = log.isLevelEnabled('trace');
    const t0 = performance.now();
    const first = this.pending.get(networkId);
    this.pending.delete(networkId);
    const net = this.deps.network(networkId);
    this.deps.onRemote?.(networkId, this.remote(networkId));
    const t1 = performance.now();
    if (!net) return;
    const me = this.deps.store.nodeId;
    const vxlan = vxlanName(networkId);
    const want = new Map<string, OverlayPeer>();
    for (const r of this.records.get(networkId)?.values() ?? []) {
      if (r.node === me || !r.ipv4) continue;
      // An encrypted network's peers are reached through their tunnel address only.
      if (net.options.own.encrypted && !r.wireguard) continue;
      const p = { ip: r.ipv4, mac: r.mac, vtep: r.vtep };
      want.set(peerKey(p), p);
    }
    let have = this.programmed.get(networkId);
    if (!have) have = new Map((await listPeers(vxlan, this.deps.hostNetns)).map((p) => [peerKey(p), p]));
    const add = [...want.entries()].filter(([k]) => !have.has(k)).map(([, p]) => p);
    const del = [...have.entries()].filter(([k]) => !want.has(k)).map(([, p]) => p);
    if (net.options.own.encrypted) {
      const all = [...this.records.entries()].filter(([id]) => this.deps.network(id)?.options.own.encrypted).flatMap(([, m]) => [...m.values()]);
      await this.deps.wireguard.syncPeers(all, me);
    }
    const t2 = performance.now();
    if (add.length || del.length) await programPeers(vxlan, add, del, this.deps.hostNetns);
    this.programmed.set(networkId, want);
    if (trace && first) {
      const t3 = performance.now();
      const ms = (x: number): number => Math.round(x * 10) / 10;
      log.trace({ network: networkId.slice(0, 12), events: first[1], receivedAt: first[0], waitMs: ms(Date.now() - first[0] - (t3 - t0)), dnsMs: ms(t1 - t0), diffMs: ms(t2 - t1), kernelMs: ms(t3 - t2), add: add.length, del: del.length, records: want.size }, 'overlay pass');
    }
  }
}
