/**
 * The overlay driver (global scope): networks shared by every engine host of a cluster through the
 * cluster store, carried between hosts by VXLAN, optionally inside WireGuard (`--opt encrypted`).
 *
 * Per network and host: a bridge `ov-<id>` and a VXLAN device `vx-<id>` (kernel/vxlan.ts); a
 * container's veth joins the bridge. Addresses are cluster-wide (cluster-addresses.ts). A joined
 * container is published as a leased record `endpoints/<net>/<endpoint>`; every host watches
 * `endpoints/` and programs a static FDB + neighbour entry per remote container (and, for encrypted
 * networks, one WireGuard peer per remote host), removing them when the record goes, whether by
 * `docker rm` or by the lease of a dead host expiring. See peers.ts for the watch.
 *
 * Layer 2: a container's port on `ov-<id>` is guarded as on a bridge network (firewall/render-l2.ts,
 * through `deps.guard`): frames whose MAC or source address is not the endpoint's are dropped before
 * they reach the bridge, so before the VXLAN device too.
 *
 * Restart: the endpoints this host published are kept in `<dataDir>/overlay-endpoints.json` and
 * re-published at `restore`; the watch starts again from a fresh listing (its revision), and the
 * kernel's entries are reconciled against it, so nothing is missed or left over. An endpoint one of
 * whose addresses another host claimed while this engine was away (its lease ran out) is not
 * published: `restore` returns it, and the engine disconnects its container from the network.
 *
 * Lease lost while running (quorum lost, the daemon paused past the TTL): the store says `doubt` as
 * soon as a TTL passed unrenewed, and the driver takes every local endpoint's port down (its
 * container stops answering for its addresses here, the host leaves the networks' Peers); on
 * `kept` they come up again; on `replaced` each endpoint claims its addresses again (a
 * transaction: free or still its own), those that keep them come up and are published again, the
 * others stay down and are reported (`reportLost`) for the engine to disconnect. Endpoint records
 * are put with `republish: false`: only this driver publishes them again, after their claims.
 *
 * Beware: needs a cluster (`cluster()` answers undefined outside one): Docker's texts otherwise.
 * Kernel calls act in the daemon's namespace, or in `hostNetns` when given (tests).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ClusterStore, type LeaseEvent, clusterKeys } from '../../cluster/index.js';
import { renderOverlayGuard, renderOverlayGuardTeardown, type FirewallEndpoint } from '../../firewall/index.js';
import { ipBatch, ipJson, type IpAddr, nftApply, setLinkIpv6, ensureOverlayLinks, listOwnedLinks, removeOverlayLinks, VXLAN_OVERHEAD, WIREGUARD_OVERHEAD } from '../../kernel/index.js';
import { conflict, forbidden, unavailable, logger } from '../../util/index.js';
import { keepsIpv6, type DriverNetwork, type EndpointRef, type EndpointSpec, type LostEndpoint, type NetworkDriver, type NetworkOptions } from '../driver.js';
import { ClusterAddresses } from './cluster-addresses.js';
import { HostWireguard } from './host-wireguard.js';
import { bridgeName, OWNER_ALIAS, parseOverlayOptions, shownOverlayOptions, vxlanName, type OverlayOptions } from './options.js';
import { PeerWatch, type RemoteChange, type RemoteEndpoint } from './peers.js';
import type { EndpointRecord } from './records.js';

const log = logger.child({ component: 'overlay' });

/** What the driver needs of the cluster this engine is in. */
export interface OverlayCluster {
  store: ClusterStore;
  /** This host's underlay address: the VTEP of plain networks, the WireGuard endpoint. */
  advertiseAddress: string;
  /** A swarm worker may use overlay networks but not create them; absent: no roles (--cluster-store). */
  role?: 'manager' | 'worker';
}

export interface OverlayDriverDeps {
  /** The cluster now, or undefined when the engine is in none (it may join one after start). */
  cluster: () => OverlayCluster | undefined;
  /** The engine's instance prefix (unique interface and table names on the machine). */
  instance: string;
  /** Where the WireGuard key and this host's published endpoints are kept. */
  dataDir: string;
  /** Act in this named namespace instead of the daemon's own (tests). */
  hostNetns?: string;
  /** Remote endpoints of a network changed (the embedded DNS answers their names): the whole list first, then deltas. */
  onRemoteEndpoints?: (networkId: string, change: RemoteChange) => void;
  /** Layer-2 anti-spoofing of container ports (the daemon's firewall manager); none: ports unguarded. */
  guard?: { setEndpoint(owner: string, ep: FirewallEndpoint | undefined): Promise<void> };
  /** The userspace WireGuard used when the kernel has no module: a name on PATH (default wireguard-go) or a path. */
  wireguardGo?: string;
}

/** A local endpoint's guard: its host port, MAC and addresses. */
const guardOf = (id: string, r: EndpointRecord): FirewallEndpoint => ({
  port: `vo${id.slice(0, 12)}`, mac: r.mac, ...(r.ipv4 ? { ipv4: r.ipv4 } : {}), ...(r.ipv6 ? { ipv6: r.ipv6 } : {}),
});

/** Docker's text for overlay work on an engine outside a swarm. */
export const ERR_NOT_SWARM_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
/** Docker's text for `network create -d overlay` on a worker. */
export const ERR_WORKER_CREATE = 'Cannot create a multi-host network from a worker node. Please create the network from a manager node.';

interface LocalEndpoint {
  networkId: string;
  record: EndpointRecord;
}

export class OverlayDriver implements NetworkDriver<OverlayOptions> {
  readonly name = 'overlay';
  readonly scope = 'global';
  readonly allocator: ClusterAddresses;
  private readonly nets = new Map<string, DriverNetwork<OverlayOptions>>();
  private readonly mtus = new Map<string, number>();
  private readonly local = new Map<string, LocalEndpoint>();
  private readonly wg: HostWireguard;
  private watch: PeerWatch | undefined;
  private loaded = false;
  private saving: Promise<void> = Promise.resolve();
  /** The queued write that has not started yet (joined by later callers). */
  private nextSave: Promise<void> | undefined;
  private readonly settingUp = new Map<string, Promise<void>>();
  /** Local endpoints whose host port is down until their claims are confirmed (lease in doubt or lost). */
  private readonly suspended = new Set<string>();
  private unfollowLease: (() => void) | undefined;
  /** Re-adoptions (restore, lease events), one at a time, in order. */
  private adopting: Promise<unknown> = Promise.resolve();
  private lostSink: ((lost: LostEndpoint[]) => Promise<void>) | undefined;

  constructor(private readonly deps: OverlayDriverDeps) {
    this.allocator = new ClusterAddresses(() => this.cluster().store);
    this.wg = new HostWireguard(
      { instance: deps.instance, dataDir: deps.dataDir, ...(deps.hostNetns ? { hostNetns: deps.hostNetns } : {}), ...(deps.wireguardGo ? { wireguardGo: deps.wireguardGo } : {}) },
      () => this.cluster(),
    );
  }

  parseOptions(raw: Readonly<Record<string, string>>, ctx: { id: string; predefined: boolean }): { shown: Record<string, string>; options: NetworkOptions<OverlayOptions> } {
    const own = parseOverlayOptions(raw, ctx.id);
    // Published ports and outbound traffic go through the host's gateway bridge, not the overlay.
    return { shown: shownOverlayOptions(raw, own), options: { attach: 'interface', icc: true, gatewayBridge: true, reserved: {}, own } };
  }

  checkPools(): void {}

  checkCreate(net: DriverNetwork<OverlayOptions>, existing: readonly DriverNetwork<OverlayOptions>[]): void {
    if (this.cluster().role === 'worker') throw forbidden('overlay.worker_create', ERR_WORKER_CREATE);
    const clash = existing.find((n) => n.id !== net.id && n.options.own.vni === net.options.own.vni);
    if (clash) throw conflict('overlay.vni_taken', `vxlan id ${net.options.own.vni} is already in use by network ${clash.name}`);
  }

  /** An encrypted network is refused here, before anything is recorded, on a host without WireGuard. */
  async precheckCreate(net: DriverNetwork<OverlayOptions>): Promise<void> {
    if (net.options.own.encrypted) await this.wg.checkSupport('create');
  }

  async createNetwork(net: DriverNetwork<OverlayOptions>): Promise<void> {
    const { store } = this.cluster();
    const vni = net.options.own.vni;
    const claimed = await store.create(clusterKeys.vni(vni), net.id);
    if (!claimed) {
      const holder = await store.get(clusterKeys.vni(vni));
      if (holder && holder.value !== net.id) throw conflict('overlay.vni_taken', `vxlan id ${vni} is already in use by network ${holder.value.slice(0, 12)}`);
    }
    try {
      await this.setUpNetwork(net);
    } catch (e) {
      await this.teardownLinks(net);
      // The creating host's failure leaves the VNI free (a mirroring host's leaves the creator's claim).
      if (claimed) await store.delete(clusterKeys.vni(vni)).catch(() => undefined);
      throw e;
    }
  }

  async deleteNetwork(net: DriverNetwork<OverlayOptions>): Promise<void> {
    this.nets.delete(net.id);
    this.mtus.delete(net.id);
    await this.teardownLinks(net);
    await this.applyGuard();
    this.watch?.forget(net.id);
    const c = this.deps.cluster();
    if (!c) return;
    // Every host runs this when the network goes: the cluster keys are removed once, idempotently.
    const holder = await c.store.get(clusterKeys.vni(net.options.own.vni));
    if (holder?.value === net.id) await c.store.delete(clusterKeys.vni(net.options.own.vni));
    for (const it of (await c.store.list(clusterKeys.ipamOf(net.id))).items) await c.store.delete(it.key);
    this.allocator.forget(net.id);
  }

  async restore(nets: readonly DriverNetwork<OverlayOptions>[]): Promise<LostEndpoint[]> {
    await this.loadLocal();
    const wanted = new Set(nets.flatMap((n) => [bridgeName(n.id), vxlanName(n.id)]));
    const orphans = (await listOwnedLinks(OWNER_ALIAS, this.deps.hostNetns)).filter((l) => !wanted.has(l.ifname));
    if (orphans.length) {
      log.info({ links: orphans.map((l) => l.ifname) }, 'removing overlay links no network owns');
      for (const l of orphans) await ipBatch([['link', 'del', 'dev', l.ifname]], this.deps.hostNetns).catch(() => undefined);
    }
    if (!this.deps.cluster()) {
      if (nets.length) log.warn({ networks: nets.map((n) => n.name) }, 'overlay networks are kept but not set up: this engine is in no cluster');
      return [];
    }
    for (const n of nets) {
      await this.setUpNetwork(n).catch((e: unknown) => log.error({ err: e, network: n.name }, 'restoring overlay network failed'));
    }
    // Containers kept running through the restart: publish their endpoints again (the old lease is gone or going).
    const { store } = this.cluster();
    this.followLease(store);
    return this.serialAdopt(() => this.adopt(store, 'while this engine was away (its lease expired)'));
  }

  reportLost(sink: (lost: LostEndpoint[]) => Promise<void>): void {
    this.lostSink = sink;
  }

  async joinEndpoint(net: DriverNetwork<OverlayOptions>, netns: string, ep: EndpointSpec): Promise<{ hostIfname: string }> {
    const { store, advertiseAddress } = this.cluster();
    if (net.options.own.encrypted) await this.wg.checkSupport('join');
    if (!this.nets.has(net.id) || this.settingUp.has(net.id)) await this.setUpNetwork(net);
    const mtu = this.mtus.get(net.id) ?? ep.mtu;
    const hostIfname = `vo${ep.id.slice(0, 12)}`;
    const ipv4 = ep.ipv4?.split('/')[0];
    const record: EndpointRecord = {
      node: store.nodeId,
      containerId: ep.container.id,
      name: ep.container.name,
      aliases: [...ep.container.aliases],
      ...(ipv4 ? { ipv4 } : {}),
      ...(ep.ipv6 ? { ipv6: ep.ipv6.split('/')[0] ?? '' } : {}),
      mac: ep.mac,
      vtep: net.options.own.encrypted ? (this.wg.info?.tunnel ?? '') : advertiseAddress,
      ...(net.options.own.encrypted && this.wg.info ? { wireguard: this.wg.info } : {}),
    };
    // The port is guarded before it exists: no frame of the container passes unchecked.
    await this.deps.guard?.setEndpoint(ep.id, guardOf(ep.id, record));
    try {
      await this.addVeth(bridgeName(net.id), netns, hostIfname, { ...ep, mtu });
    } catch (e) {
      await this.deps.guard?.setEndpoint(ep.id, undefined).catch(() => undefined);
      throw e;
    }
    try {
      this.local.set(ep.id, { networkId: net.id, record });
      await this.saveLocal();
      await store.put(clusterKeys.endpoint(net.id, ep.id), JSON.stringify(record), { lease: true, republish: false });
    } catch (e) {
      this.local.delete(ep.id);
      await this.saveLocal().catch(() => undefined);
      await ipBatch([['link', 'del', 'dev', hostIfname]], this.deps.hostNetns).catch(() => undefined);
      await this.deps.guard?.setEndpoint(ep.id, undefined).catch(() => undefined);
      throw e;
    }
    return { hostIfname };
  }

  async leaveEndpoint(net: DriverNetwork<OverlayOptions>, netns: string, ep: EndpointRef): Promise<void> {
    await ipBatch([['link', 'del', 'dev', ep.ifname]], netns).catch(() => undefined);
    await this.deps.guard?.setEndpoint(ep.id, undefined);
    this.local.delete(ep.id);
    this.suspended.delete(ep.id);
    await this.saveLocal();
    const c = this.deps.cluster();
    if (c) await c.store.delete(clusterKeys.endpoint(net.id, ep.id));
  }

  /** The remote endpoints of a network as this host knows them (DNS, tests). */
  remoteEndpoints(networkId: string): RemoteEndpoint[] {
    return this.watch?.remote(networkId) ?? [];
  }

  /** The hosts (node ids) with an endpoint on the network, this one included: inspect's Peers. */
  peerNodes(networkId: string): string[] {
    const me = this.deps.cluster()?.store.nodeId;
    // This host is a peer through its own endpoints, as it knows them: not through a suspended one
    // (its claims are in doubt), whatever records of it the store still holds.
    const nodes = new Set((this.watch?.nodesOf(networkId) ?? []).filter((n) => n !== me));
    if (me && [...this.local].some(([id, e]) => e.networkId === networkId && !this.suspended.has(id))) nodes.add(me);
    return [...nodes];
  }

  /** Waits until every change seen so far is in the kernel, lease reactions included (tests, benchmarks). */
  async settled(): Promise<void> {
    await this.adopting.catch(() => undefined);
    await this.watch?.settled();
  }

  /** Stops the watch and following the lease; kernel objects stay (daemon stop, store gone). */
  async close(): Promise<void> {
    this.unfollowLease?.();
    this.unfollowLease = undefined;
    await this.watch?.close();
    this.watch = undefined;
  }

  /** Reacts to this host's lease (see the file's header) while `store` is the cluster's. */
  private followLease(store: ClusterStore): void {
    this.unfollowLease?.();
    this.unfollowLease = store.onLease((ev) => {
      this.serialAdopt(() => this.onLease(store, ev))
        .then((lost) => (lost.length ? this.lostSink?.(lost) : undefined))
        .catch((e: unknown) => log.error({ err: e, lease: ev.type }, 'following the lease failed'));
    });
  }

  private async onLease(store: ClusterStore, ev: LeaseEvent): Promise<LostEndpoint[]> {
    if (this.deps.cluster()?.store !== store) return [];
    if (ev.type === 'doubt') {
      log.warn({ endpoints: this.local.size }, 'lease in doubt: local overlay endpoints are down until their addresses are confirmed');
      await this.setPorts([...this.local.keys()], false);
    } else if (ev.type === 'kept') await this.setPorts([...this.suspended], true);
    else return this.adopt(store, "while this engine's lease was lost (its endpoints had expired)");
    return [];
  }

  private serialAdopt<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.adopting.catch(() => undefined).then(fn);
    this.adopting = next;
    return next;
  }

  /**
   * Claims each local endpoint's addresses again (a transaction each: free, or still its own), then
   * brings the ports of those that keep them up and publishes them; returns the others (another
   * host claimed an address meanwhile: `why`), whose ports stay down until the engine disconnects them.
   */
  private async adopt(store: ClusterStore, why: string): Promise<LostEndpoint[]> {
    const kept: Array<[string, LocalEndpoint]> = [];
    const lost: LostEndpoint[] = [];
    for (const [id, ep] of [...this.local]) {
      const net = this.nets.get(ep.networkId);
      if (!net) continue;
      const taken = await this.allocator.reclaim(ep.networkId, id, [ep.record.ipv4, ep.record.ipv6].filter((a): a is string => !!a));
      // Left meanwhile: its release may have run before this claim, which must not outlive it.
      if (this.local.get(id) !== ep) await this.allocator.release(net, id);
      else if (!taken.length) kept.push([id, ep]);
      else {
        // Never published: two containers would hold one address on the overlay.
        const what = taken.length > 1 ? `addresses ${taken.join(', ')} were` : `address ${taken.join('')} was`;
        lost.push({ networkId: ep.networkId, endpointId: id, reason: `${what} claimed by another host ${why}` });
      }
    }
    await this.setPorts(lost.map((l) => l.endpointId), false);
    // Up whatever state they were left in (a daemon killed while they were down comes back here).
    await this.setPorts(kept.map(([id]) => id), true);
    for (const [id, ep] of kept) {
      const key = clusterKeys.endpoint(ep.networkId, id);
      await store.put(key, JSON.stringify(ep.record), { lease: true, republish: false });
      if (this.local.get(id) !== ep) await store.deleteIf(key, JSON.stringify(ep.record));
    }
    return lost;
  }

  /** Sets local endpoints' host ports up or down, in one batch that goes on past a port gone (its container ended). */
  private async setPorts(ids: readonly string[], up: boolean): Promise<void> {
    if (!ids.length) return;
    const cmds = ids.map((id) => ['link', 'set', 'dev', `vo${id.slice(0, 12)}`, up ? 'up' : 'down']);
    await ipBatch(cmds, this.deps.hostNetns, { force: true }).catch((e: unknown) => log.warn({ err: (e as Error).message, up }, 'setting some overlay ports failed'));
    for (const id of ids) {
      if (up) this.suspended.delete(id);
      else if (this.local.has(id)) this.suspended.add(id);
    }
  }

  private cluster(): OverlayCluster {
    const c = this.deps.cluster();
    if (!c) throw unavailable('overlay.not_in_swarm', ERR_NOT_SWARM_MANAGER);
    return c;
  }

  /**
   * Sets a network up once at a time: a container joining while the network is still being set up
   * (just mirrored from another host, WireGuard starting) waits for that set-up instead of racing it.
   */
  private setUpNetwork(net: DriverNetwork<OverlayOptions>): Promise<void> {
    const running = this.settingUp.get(net.id);
    if (running) return running;
    const p = this.setUpNetworkNow(net).finally(() => this.settingUp.delete(net.id));
    this.settingUp.set(net.id, p);
    return p;
  }

  /** Kernel objects of one network on this host (WireGuard first when encrypted), and the watch. */
  private async setUpNetworkNow(net: DriverNetwork<OverlayOptions>): Promise<void> {
    const { store, advertiseAddress } = this.cluster();
    const own = net.options.own;
    const underlay = await this.underlayMtu(advertiseAddress);
    let local = advertiseAddress;
    let overhead = VXLAN_OVERHEAD;
    if (own.encrypted) {
      local = (await this.wg.ensure(underlay)).tunnel;
      overhead += WIREGUARD_OVERHEAD;
    }
    const mtu = own.mtu ?? underlay - overhead;
    const { vxlanCreated } = await ensureOverlayLinks({ bridge: bridgeName(net.id), vxlan: vxlanName(net.id), vni: own.vni, local, mtu, alias: OWNER_ALIAS }, this.deps.hostNetns);
    this.nets.set(net.id, net);
    this.mtus.set(net.id, mtu);
    if (own.encrypted) await this.applyGuard();
    if (!this.watch) {
      this.watch = new PeerWatch({
        store,
        hostNetns: this.deps.hostNetns,
        wireguard: this.wg,
        network: (id) => this.nets.get(id),
        ...(this.deps.onRemoteEndpoints ? { onRemote: this.deps.onRemoteEndpoints } : {}),
      });
      await this.watch.start();
    } else {
      await this.watch.reconcile(net.id, { empty: vxlanCreated });
    }
  }

  private async teardownLinks(net: DriverNetwork<OverlayOptions>): Promise<void> {
    await removeOverlayLinks({ bridge: bridgeName(net.id), vxlan: vxlanName(net.id) }, this.deps.hostNetns);
  }

  /** The guard table: encrypted VNIs only through WireGuard; removed when none is left. */
  private async applyGuard(): Promise<void> {
    const vnis = [...this.nets.values()].filter((n) => n.options.own.encrypted).map((n) => n.options.own.vni);
    const script = vnis.length ? renderOverlayGuard({ table: this.deps.instance, wireguardIf: this.wg.ifname, encryptedVnis: vnis }) : renderOverlayGuardTeardown(this.deps.instance);
    await nftApply(script, this.deps.hostNetns);
    if (!vnis.length && this.wg.info) await this.wg.remove();
  }

  /** MTU of the interface holding the advertise address (1500 when it cannot be found). */
  private async underlayMtu(address: string): Promise<number> {
    const addrs = await ipJson<IpAddr[]>(['-4', 'addr', 'show'], this.deps.hostNetns).catch(() => [] as IpAddr[]);
    return addrs.find((l) => l.addr_info.some((a) => a.local === address))?.mtu ?? 1500;
  }

  private async addVeth(bridge: string, netns: string, hostIfname: string, ep: EndpointSpec): Promise<void> {
    const mtu = String(ep.mtu);
    await ipBatch(
      [
        ['link', 'add', 'name', hostIfname, 'mtu', mtu, 'type', 'veth', 'peer', 'name', ep.ifname, 'address', ep.mac, 'mtu', mtu, 'netns', netns],
        ['link', 'set', 'dev', hostIfname, 'master', bridge, 'up'],
      ],
      this.deps.hostNetns,
    );
    try {
      const inside: string[][] = [];
      if (ep.ipv4) inside.push(['addr', 'add', ep.ipv4, 'dev', ep.ifname]);
      if (ep.ipv6) inside.push(['addr', 'add', ep.ipv6, 'dev', ep.ifname, 'nodad']);
      inside.push(['link', 'set', 'dev', ep.ifname, 'up']);
      setLinkIpv6(netns, ep.ifname, keepsIpv6(ep));
      // The overlay has no router on this host: a default route would lead nowhere (see README).
      await ipBatch(inside, netns);
    } catch (e) {
      await ipBatch([['link', 'del', 'dev', hostIfname]], this.deps.hostNetns).catch(() => undefined);
      throw e;
    }
  }

  private get localFile(): string {
    return join(this.deps.dataDir, 'overlay-endpoints.json');
  }

  private async loadLocal(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    const text = await readFile(this.localFile, 'utf8').catch(() => '');
    if (!text) return;
    try {
      for (const [id, ep] of Object.entries(JSON.parse(text) as Record<string, LocalEndpoint>)) this.local.set(id, ep);
      // Containers kept running through a restart: their ports are guarded again.
      for (const [id, ep] of this.local) await this.deps.guard?.setEndpoint(id, guardOf(id, ep.record));
    } catch (e) {
      log.error({ err: e, file: this.localFile }, 'unreadable overlay endpoint file: endpoints of running containers are not re-published');
    }
  }

  /**
   * Writes the file of this host's endpoints. Writes are serialised and coalesced: callers arriving
   * while a write waits share it (it reads the map when it starts), so a burst of N joins costs about
   * two writes, not N queued ones (20 concurrent starts on one host waited up to 14 s here for theirs).
   */
  private saveLocal(): Promise<void> {
    if (this.nextSave) return this.nextSave;
    const write = async (): Promise<void> => {
      this.nextSave = undefined;
      const text = JSON.stringify(Object.fromEntries(this.local));
      await mkdir(this.deps.dataDir, { recursive: true });
      const tmp = `${this.localFile}.${process.pid}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, this.localFile);
    };
    const next = this.saving.catch(() => undefined).then(write);
    this.nextSave = next;
    this.saving = next;
    return next;
  }
}

/** Docker refuses `docker run --net` on an overlay made without `--attachable`. */
export function checkAttachable(net: { name: string; attachable: boolean }): void {
  if (!net.attachable) throw forbidden('overlay.not_attachable', `Could not attach to network ${net.name}: rpc error: code = PermissionDenied desc = network ${net.name} not manually attachable`);
}
