/**
 * The bridge driver: one Linux bridge per network, the gateway address on it, and the network's
 * share of the firewall (masquerade, isolation, ICC), which is re-rendered for all bridge networks
 * and applied in one nft transaction after every change. Each container's port (the host end of its
 * veth) is guarded at layer 2: frames with a MAC or address that is not the endpoint's are dropped
 * (firewall/render-l2.ts); the guarded ports are kept in a `GuardBook` so a restart guards them again.
 *
 * Beware: kernel calls act in the daemon's own network namespace (its sandbox host). Bridges are
 * recognised as ours by name (`docker0`, `br-<12 hex>`, or a name a network record gives), so
 * `restore` never deletes a bridge a person made by hand with another name.
 */
import { randomBytes } from 'node:crypto';
import { addBridgeLink, configureLink, deleteLink, ensureSysctl, ipBatch, linkDetails, listLinks, setLinkMtu, tombstoneLink } from '../../kernel/index.js';
import type { FirewallEndpoint, FirewallManager, FirewallNetwork } from '../../firewall/index.js';
import { logger, conflict, forbidden } from '../../util/index.js';
import type { DriverNetwork, EndpointRef, EndpointSpec, LostEndpoint, NetworkDriver, NetworkOptions } from '../driver.js';
import { parseBridgeOptions, type BridgeOptions } from './options.js';
import { addBridgeEndpoint, delEndpoint, newHostIfname } from '../endpoint.js';

const log = logger.child({ component: 'bridge' });
/** Bridges of ours: the default, user networks' default names, and tombstones of removed ones. */
const OURS = /^(docker0|br-[0-9a-f]{12}|rdel-[0-9a-f]{8})$/;

/** A guarded bridge port as the driver keeps it (by endpoint id) so a restarted daemon guards it again. */
export interface GuardedPort extends FirewallEndpoint {
  /** Endpoint id. */
  id: string;
}

/** Where guarded ports are kept across restarts: a store collection, wired by redesd. */
export interface GuardBook {
  list(): GuardedPort[];
  put(doc: GuardedPort): void;
  delete(id: string): void;
}

/** A book that forgets everything at exit (tests). */
export function memoryGuardBook(): GuardBook {
  const m = new Map<string, GuardedPort>();
  return { list: () => [...m.values()], put: (d) => void m.set(d.id, d), delete: (id) => void m.delete(id) };
}

interface BridgeNetwork {
  net: DriverNetwork<BridgeOptions>;
  opts: BridgeOptions;
}

export class BridgeDriver implements NetworkDriver<BridgeOptions> {
  readonly name = 'bridge';
  readonly scope = 'local';
  readonly allocator = 'local';
  private readonly nets = new Map<string, BridgeNetwork>();
  /**
   * `firewall`: the daemon's manager, shared with port publishing and links (one table); `guards`:
   * the containers' bridge ports guarded at layer 2, loaded here so the first full render holds them.
   */
  constructor(
    private readonly firewall: FirewallManager,
    private readonly guards: GuardBook = memoryGuardBook(),
  ) {
    for (const g of guards.list()) firewall.loadEndpoint(g.id, portOf(g));
  }

  parseOptions(raw: Readonly<Record<string, string>>, ctx: { id: string; predefined: boolean }): { shown: Record<string, string>; options: NetworkOptions<BridgeOptions> } {
    const own = parseBridgeOptions(raw, ctx.id, ctx.predefined);
    // Docker shows the options as given; the default bridge's come with every key filled in.
    return { shown: { ...raw }, options: { attach: 'interface', icc: own.icc, publishHostIp: own.hostBindingIPv4, hostRouted: true, reserved: {}, own } };
  }

  checkPools(count: { v4: number; v6: number }): void {
    // libnetwork's bridge driver takes one pool per family (its processIPAM), after IPAM took them all.
    if (count.v4 > 1 || count.v6 > 1) throw forbidden('bridge.multiple_subnets', "bridge driver doesn't support multiple subnets");
  }

  checkCreate(net: DriverNetwork<BridgeOptions>, existing: readonly DriverNetwork<BridgeOptions>[]): void {
    const mine = net.options.own.bridgeName;
    for (const other of existing) {
      if (other.options.own.bridgeName === mine) {
        throw conflict('bridge.name_in_use', `bridge name ${mine} is already used by network ${other.name}`);
      }
    }
  }

  async createNetwork(net: DriverNetwork<BridgeOptions>): Promise<void> {
    const b = this.toBridge(net);
    let created = false;
    this.nets.set(net.id, b);
    // Rules match the bridge by name, so they can be applied while the device is being made.
    const [bridge, rules] = await Promise.allSettled([this.ensureBridge(b), this.applyFirewall()]);
    if (bridge.status === 'fulfilled') created = bridge.value;
    if (bridge.status === 'rejected' || rules.status === 'rejected') {
      this.nets.delete(net.id);
      // Only a bridge this call made is removed: an existing device is never ours to delete.
      if (created) await this.removeBridge(b.opts.bridgeName).catch(() => undefined);
      // Also when the rules failed: the firewall state named the network and must forget it again.
      await this.applyFirewall().catch(() => undefined);
      throw bridge.status === 'rejected' ? bridge.reason : (rules as PromiseRejectedResult).reason;
    }
  }

  async deleteNetwork(net: DriverNetwork<BridgeOptions>): Promise<void> {
    const b = this.nets.get(net.id) ?? this.toBridge(net);
    this.nets.delete(net.id);
    // Independent kernel changes: the bridge delete waits on RCU (tens of ms), so overlap them.
    await Promise.all([this.applyFirewall(), this.removeBridge(b.opts.bridgeName)]);
  }

  async restore(nets: readonly DriverNetwork<BridgeOptions>[]): Promise<LostEndpoint[]> {
    await ensureSysctl('net/ipv4/ip_forward', '1');
    if (nets.some((n) => n.enableIPv6)) await ensureSysctl('net/ipv6/conf/all/forwarding', '1');
    this.nets.clear();
    for (const net of nets) this.nets.set(net.id, this.toBridge(net));
    const wanted = new Set([...this.nets.values()].map((b) => b.opts.bridgeName));
    const links = await listLinks();
    // A guarded port whose veth is gone (its container's namespace went while the daemon was down).
    const present = new Set(links.map((l) => l.ifname));
    for (const g of this.guards.list()) {
      if (present.has(g.port)) continue;
      this.guards.delete(g.id);
      this.firewall.loadEndpoint(g.id, undefined);
    }
    const orphans = links.filter((l) => l.linkinfo?.info_kind === 'bridge' && OURS.test(l.ifname) && !wanted.has(l.ifname));
    if (orphans.length) {
      log.info({ bridges: orphans.map((l) => l.ifname) }, 'removing bridges no network owns');
      await ipBatch(orphans.map((l) => ['link', 'del', l.ifname]));
    }
    for (const b of this.nets.values()) {
      // One broken network (say, its device name taken by something else meanwhile) must not keep the
      // daemon from starting; it is reported and the others are restored.
      await this.ensureBridge(b).catch((e: unknown) => log.error({ err: e, network: b.net.name }, 'restoring bridge failed'));
    }
    await this.applyFirewall();
    return [];
  }

  async joinEndpoint(net: DriverNetwork<BridgeOptions>, netns: string, ep: EndpointSpec): Promise<{ hostIfname: string }> {
    const b = this.nets.get(net.id) ?? this.toBridge(net);
    const hostIfname = newHostIfname();
    // The port is guarded before it exists: no frame of the container ever passes unchecked.
    const guard: GuardedPort = { id: ep.id, port: hostIfname, mac: ep.mac, ...(ep.ipv4 ? { ipv4: ep.ipv4.split('/')[0] } : {}), ...(ep.ipv6 ? { ipv6: ep.ipv6.split('/')[0] } : {}) };
    this.guards.put(guard);
    try {
      await this.firewall.setEndpoint(ep.id, portOf(guard));
      await addBridgeEndpoint(b.opts.bridgeName, netns, hostIfname, { ...ep, mtu: b.opts.mtu });
    } catch (e) {
      await this.unguard(ep.id).catch(() => undefined);
      throw e;
    }
    return { hostIfname };
  }

  async leaveEndpoint(_net: DriverNetwork<BridgeOptions>, netns: string, ep: EndpointRef): Promise<void> {
    // The container's end is down and renamed before its port stops being guarded.
    await delEndpoint(netns, ep.ifname);
    await this.unguard(ep.id);
  }

  async retainEndpoints(live: ReadonlySet<string>): Promise<void> {
    const stale = this.guards.list().filter((g) => !live.has(g.id));
    if (!stale.length) return;
    log.info({ ports: stale.map((g) => g.port) }, 'dropping layer-2 guards of endpoints no running container has');
    for (const g of stale) {
      this.guards.delete(g.id);
      this.firewall.loadEndpoint(g.id, undefined);
    }
    await this.applyFirewall();
  }

  private async unguard(id: string): Promise<void> {
    this.guards.delete(id);
    await this.firewall.setEndpoint(id, undefined);
  }

  private toBridge(net: DriverNetwork<BridgeOptions>): BridgeNetwork {
    return { net, opts: net.options.own };
  }

  /**
   * Creates the bridge if missing and makes its addresses, MTU and state what the network says.
   * Returns true when it created the device. An existing device that is not a bridge is refused.
   * Over netlink (no `ip` process: a spawn costs the daemon a fork on every network create).
   */
  private async ensureBridge(b: BridgeNetwork): Promise<boolean> {
    const name = b.opts.bridgeName;
    const link = linkDetails(undefined, name);
    if (link && link.kind !== 'bridge') {
      throw forbidden('bridge.not_a_bridge', `existing interface ${name} is not a bridge`);
    }
    if (!link) addBridgeLink(name, b.opts.mtu);
    try {
      if (link && link.mtu !== b.opts.mtu) setLinkMtu(undefined, name, b.opts.mtu);
      if (b.net.ipv6) {
        // Router advertisements must never configure our bridges (CVE-2020-13401): accept_ra is set
        // before any v6 address exists; v4-only bridges set it after, in passing.
        await ensureSysctl(`net/ipv6/conf/${name}/accept_ra`, '0');
        await ensureSysctl(`net/ipv6/conf/${name}/disable_ipv6`, '0');
        // A network made after start needs v6 routing too (`restore` sets it only for networks it finds).
        await ensureSysctl('net/ipv6/conf/all/forwarding', '1');
      }
      const have = new Set(link?.addresses ?? []);
      const addresses: string[] = [];
      for (const fam of [b.net.ipv4, b.net.ipv6]) {
        if (!fam) continue;
        const cidr = `${fam.gateway}/${fam.subnet.split('/')[1] ?? ''}`;
        if (!have.has(cidr)) addresses.push(cidr);
      }
      configureLink(undefined, name, { addresses, nodad: true, up: true });
      // The host reaches ports published on 127.0.0.1 through the bridge; the firewall's guard chain
      // drops every other packet for 127.0.0.0/8 that did not come from lo (CVE-2020-8558).
      await ensureSysctl(`net/ipv4/conf/${name}/route_localnet`, '1');
      if (!b.net.ipv6) await ensureSysctl(`net/ipv6/conf/${name}/accept_ra`, '0').catch(() => undefined);
    } catch (e) {
      // A bridge this call made goes again: a failed create leaves nothing behind.
      if (!link) await this.removeBridge(name).catch(() => undefined);
      throw e;
    }
    return !link;
  }

  /** Deletes the bridge device; a missing device, or one that is not a bridge, is left alone. */
  private async removeBridge(name: string): Promise<void> {
    // A delete by name does not check the type, so look first.
    if (linkDetails(undefined, name)?.kind !== 'bridge') return;
    // Unregistering a device waits for the kernel (RCU, 40-50 ms here). The bridge is taken down,
    // stripped of its addresses and renamed to a tombstone at once, which frees its name and stops
    // all traffic, and the slow delete finishes in the background (off the main thread);
    // `restore` removes any tombstone a crash left behind.
    const tomb = `rdel-${randomBytes(4).toString('hex')}`;
    tombstoneLink(undefined, name, tomb);
    void deleteLink(undefined, tomb).catch((e: unknown) => log.warn({ err: e, tomb }, 'deleting bridge failed'));
  }

  private async applyFirewall(): Promise<void> {
    const networks: FirewallNetwork[] = [...this.nets.values()].map((b) => ({
      id: b.net.id,
      bridge: b.opts.bridgeName,
      subnetsV4: b.net.ipv4 ? [b.net.ipv4.subnet] : [],
      subnetsV6: b.net.ipv6 ? [b.net.ipv6.subnet] : [],
      gatewaysV4: b.net.ipv4 ? [b.net.ipv4.gateway] : [],
      gatewaysV6: b.net.ipv6 ? [b.net.ipv6.gateway] : [],
      internal: b.net.internal,
      masquerade: b.opts.masquerade,
      icc: b.opts.icc,
    }));
    await this.firewall.setNetworks(networks);
  }
}

function portOf(g: GuardedPort): FirewallEndpoint {
  return { port: g.port, mac: g.mac, ...(g.ipv4 ? { ipv4: g.ipv4 } : {}), ...(g.ipv6 ? { ipv6: g.ipv6 } : {}) };
}
