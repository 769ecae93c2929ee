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
 * the cluster) cost one kernel update per pass, not one per event. A pass is a delta: it looks only
 * at the endpoints whose records changed since the network's last pass (O(changes), not O(records)
 * of the network), except the first pass of a network, one after a failure, and `reconcile`. A
 * pass starts as soon as the chain is free: no timer, so a lone event is programmed at once.
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
  onRemote?: (networkId: string, change: RemoteChange) => void;
}

/**
 * A change of a network's remote endpoints: `full`: `set` is the whole list (it replaces what was
 * known); else `set` holds the endpoints added or changed and `removed` the ids of those gone.
 */
export interface RemoteChange {
  full: boolean;
  set: readonly RemoteEndpoint[];
  removed: readonly string[];
}

/** Every endpoint record of the cluster (`clusterKeys.endpointsOf(net)` for each network). */
const ENDPOINTS = 'endpoints/';

const peerKey = (p: OverlayPeer): string => `${p.ip}|${p.mac}|${p.vtep}`;

export class PeerWatch {
  /** networkId -> endpointId -> record, for every endpoint of the cluster. */
  private readonly records = new Map<string, Map<string, EndpointRecord>>();
  /** networkId -> what the kernel holds for it (peerKey -> peer). */
  private readonly programmed = new Map<string, Map<string, OverlayPeer>>();
  /** networkId -> endpointId -> the peer it asked for at the network's last pass (remote, with an address). */
  private readonly wanted = new Map<string, Map<string, OverlayPeer>>();
  /** networkId -> endpoints whose record changed since the network's last pass. */
  private readonly dirty = new Map<string, Set<string>>();
  /** Networks whose next pass looks at every record (first pass, reconcile, after a failure). */
  private readonly full = new Set<string>();
  /** Networks whose endpoints were reported whole to `onRemote` once (later reports are deltas). */
  private readonly reported = new Set<string>();
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
    for (const n of nets) {
      this.full.add(n);
      this.enqueue(n);
    }
    await this.settled();
  }

  /**
   * Programs one network from scratch against the kernel (after it was made or re-made); `empty`:
   * its VXLAN device was just created, so the kernel holds nothing to list first.
   */
  reconcile(networkId: string, opts: { empty?: boolean } = {}): Promise<void> {
    if (opts.empty) this.programmed.set(networkId, new Map());
    else this.programmed.delete(networkId);
    this.full.add(networkId);
    this.enqueue(networkId);
    return this.settled();
  }

  forget(networkId: string): void {
    this.programmed.delete(networkId);
    this.wanted.delete(networkId);
    this.full.add(networkId);
    // Its endpoints ask for no WireGuard peer any more (hosts only on this network leave the peer set).
    this.chain = this.chain
      .then(() => this.deps.wireguard.dropNetwork(networkId))
      .catch((e: unknown) => log.error({ err: e, network: networkId }, 'removing WireGuard peers of a network failed'));
  }

  remote(networkId: string): RemoteEndpoint[] {
    const me = this.deps.store.nodeId;
    return [...(this.records.get(networkId) ?? new Map<string, EndpointRecord>()).entries()].filter(([, r]) => r.node !== me).map(([id, r]) => remoteOf(id, r));
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
      if (!m?.delete(endpointId)) return undefined;
      this.touch(networkId, endpointId);
      return networkId;
    }
    const rec = parseEndpointRecord(ev.value);
    if (!rec) {
      log.warn({ key: ev.key }, 'skipping a malformed endpoint record');
      return undefined;
    }
    if (!m) this.records.set(networkId, (m = new Map()));
    m.set(endpointId, rec);
    this.touch(networkId, endpointId);
    return networkId;
  }

  private touch(networkId: string, endpointId: string): void {
    let d = this.dirty.get(networkId);
    if (!d) this.dirty.set(networkId, (d = new Set()));
    d.add(endpointId);
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

  /** The peer an endpoint's record asks this host to program, if any. */
  private peerOf(r: EndpointRecord | undefined, encrypted: boolean): OverlayPeer | undefined {
    if (!r || r.node === this.deps.store.nodeId || !r.ipv4) return undefined;
    // An encrypted network's peers are reached through their tunnel address only.
    if (encrypted && !r.wireguard) return undefined;
    return { ip: r.ipv4, mac: r.mac, vtep: r.vtep };
  }

  private async program(networkId: string): Promise<void> {
    const trace = log.isLevelEnabled('trace');
    const t0 = performance.now();
    const first = this.pending.get(networkId);
    this.pending.delete(networkId);
    const changed = this.dirty.get(networkId) ?? new Set<string>();
    this.dirty.delete(networkId);
    const net = this.deps.network(networkId);
    const isFull = this.full.has(networkId) || !this.wanted.has(networkId) || !this.programmed.has(networkId);
    this.report(networkId, changed);
    const t1 = performance.now();
    if (!net) {
      // Not carried here: its kernel state is made from every record when it is set up (reconcile).
      this.full.add(networkId);
      return;
    }
    this.full.delete(networkId);
    const encrypted = !!net.options.own.encrypted;
    const records = this.records.get(networkId) ?? new Map<string, EndpointRecord>();
    const vxlan = vxlanName(networkId);
    let wanted = this.wanted.get(networkId);
    let have = this.programmed.get(networkId);
    const add: OverlayPeer[] = [];
    const del: OverlayPeer[] = [];
    const fullPass = isFull || !wanted || !have;
    try {
      if (fullPass || !wanted || !have) {
        wanted = new Map();
        for (const [id, r] of records) {
          const p = this.peerOf(r, encrypted);
          if (p) wanted.set(id, p);
        }
        if (!have) have = new Map((await listPeers(vxlan, this.deps.hostNetns)).map((p) => [peerKey(p), p]));
        const want = new Map([...wanted.values()].map((p) => [peerKey(p), p]));
        for (const [k, p] of want) if (!have.has(k)) add.push(p);
        for (const [k, p] of have) if (!want.has(k)) del.push(p);
      } else {
        for (const id of changed) {
          const before = wanted.get(id);
          const now = this.peerOf(records.get(id), encrypted);
          if (before && now && peerKey(before) === peerKey(now)) continue;
          if (now) wanted.set(id, now);
          else wanted.delete(id);
          if (now && !have.has(peerKey(now))) add.push(now);
          if (before) del.push(before);
        }
        if (del.length) {
          // An entry another endpoint still asks for stays (two records briefly holding one peer).
          const still = new Set([...wanted.values()].map(peerKey));
          del.splice(0, del.length, ...del.filter((p) => !still.has(peerKey(p))));
        }
      }
      if (del.length) add.push(...sharing(del, wanted.values(), add));
      const t2 = performance.now();
      if (encrypted) {
        // The WireGuard peers of the nodes behind the endpoints looked at (a delta too, but on a full pass).
        const looked: Iterable<readonly [string, EndpointRecord | undefined]> = fullPass ? records : [...changed].map((id) => [id, records.get(id)] as const);
        await this.deps.wireguard.updatePeers(networkId, looked, { full: fullPass, myNode: this.deps.store.nodeId });
      }
      if (add.length || del.length) await programPeers(vxlan, add, del, this.deps.hostNetns);
      for (const p of del) have.delete(peerKey(p));
      for (const p of add) have.set(peerKey(p), p);
      this.programmed.set(networkId, have);
      this.wanted.set(networkId, wanted);
      if (trace && first) {
        const t3 = performance.now();
        const ms = (x: number): number => Math.round(x * 10) / 10;
        log.trace({ network: networkId.slice(0, 12), events: first[1], full: isFull, receivedAt: first[0], waitMs: ms(Date.now() - first[0] - (t3 - t0)), dnsMs: ms(t1 - t0), diffMs: ms(t2 - t1), kernelMs: ms(t3 - t2), add: add.length, del: del.length, peers: wanted.size }, 'overlay pass');
      }
    } catch (e) {
      // What the kernel holds is unknown now: the next pass lists it and looks at every record.
      this.programmed.delete(networkId);
      this.wanted.delete(networkId);
      this.full.add(networkId);
      throw e;
    }
  }

  /** Tells the DNS side what changed: the whole list on a full pass, else only the changed endpoints. */
  private report(networkId: string, changed: ReadonlySet<string>): void {
    const sink = this.deps.onRemote;
    if (!sink) return;
    if (!this.reported.has(networkId)) {
      this.reported.add(networkId);
      sink(networkId, { full: true, set: this.remote(networkId), removed: [] });
      return;
    }
    if (!changed.size) return;
    const me = this.deps.store.nodeId;
    const records = this.records.get(networkId);
    const set: RemoteEndpoint[] = [];
    const removed: string[] = [];
    for (const id of changed) {
      const r = records?.get(id);
      if (r && r.node !== me) set.push(remoteOf(id, r));
      else removed.push(id);
    }
    sink(networkId, { full: false, set, removed });
  }
}

function remoteOf(endpointId: string, r: EndpointRecord): RemoteEndpoint {
  return {
    endpointId,
    node: r.node,
    name: r.name,
    aliases: r.aliases,
    containerId: r.containerId,
    ...(r.ipv4 ? { ipv4: r.ipv4 } : {}),
    ...(r.ipv6 ? { ipv6: r.ipv6 } : {}),
  };
}

/**
 * Wanted peers that a delete would take down with it: the kernel keys a neighbour entry by IP and a
 * forwarding entry by MAC and VTEP, so deleting a stale peer also removes the entry of a live one
 * sharing its IP (an address that moved to another container) or its MAC and VTEP. They are written
 * again after the deletes (unless already being added).
 */
function sharing(del: readonly OverlayPeer[], wanted: Iterable<OverlayPeer>, adding: readonly OverlayPeer[]): OverlayPeer[] {
  const ips = new Set(del.map((p) => p.ip));
  const fdbs = new Set(del.map((p) => `${p.mac}|${p.vtep}`));
  const added = new Set(adding.map(peerKey));
  const out = new Map<string, OverlayPeer>();
  for (const p of wanted) {
    const k = peerKey(p);
    if (!added.has(k) && (ips.has(p.ip) || fdbs.has(`${p.mac}|${p.vtep}`))) out.set(k, p);
  }
  return [...out.values()];
}
